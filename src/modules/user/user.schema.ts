import { builder } from '../../builder.js';
import { effectivePermissions, isAdmin } from '../../auth/principal.js';
import { encodeGlobalId } from '../../global-id.js';

builder.objectType('User', {
  description: 'A person known to Keymint from their session.',
  fields: (t) => ({
    id: t.id({ resolve: (user) => encodeGlobalId('User', user.id) }),
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true }),
  }),
});

const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'How the caller authenticated.',
  values: {
    SESSION: { description: 'A session JWT from the identity provider.' },
    API_TOKEN: { description: 'A Keymint API token.' },
  } as const,
});

builder.objectType('Viewer', {
  description: 'The caller of this request.',
  fields: (t) => ({
    id: t.id({ resolve: (viewer) => encodeGlobalId('User', viewer.user.id) }),
    email: t.string({ resolve: (viewer) => viewer.user.email }),
    name: t.string({ nullable: true, resolve: (viewer) => viewer.user.name }),
    isAdmin: t.boolean({ resolve: (viewer) => isAdmin(viewer) }),
    authMethod: t.field({ type: AuthMethodEnum, resolve: (viewer) => viewer.authMethod }),
    permissions: t.stringList({
      description: 'What the caller holds now. For an API token: its own list, bounded by its owner.',
      resolve: (viewer) => effectivePermissions(viewer),
    }),
    token: t.field({
      type: 'Token',
      nullable: true,
      description: 'The API token this request authenticated with, when there is one.',
      resolve: (viewer, _args, ctx) => (viewer.token ? ctx.loaders.tokenById.load(viewer.token.id) : null),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: 'Viewer',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.caller(),
  }),
);
