import { builder } from '../../builder.js';
import { auditReach } from '../../auth/reach.js';
import { encodeGlobalId, parseGlobalId } from '../../global-id.js';
import { AUDIT_ACTIONS, type AuditEvent } from './audit-event.entity.js';
import { connectionOf, COUNT_COMPLEXITY, encodeKeysetCursor, pageArguments, pageComplexity, type ConnectionShape } from '../common/keyset-page.js';

const AuditActionEnum = builder.enumType('AuditAction', { values: AUDIT_ACTIONS });

const ActorMethodEnum = builder.enumType('AuditActorMethod', {
  values: {
    SESSION: { description: 'A signed-in user.' },
    API_TOKEN: { description: 'An API token acting for its owner.' },
    ANONYMOUS: { description: 'Nobody known, e.g. a leak report.' },
  } as const,
});

const AuditActorRef = builder.objectRef<AuditEvent>('AuditActor').implement({
  fields: (t) => ({
    userId: t.id({ nullable: true, resolve: (e) => (e.actorUserId ? encodeGlobalId('User', e.actorUserId) : null) }),
    email: t.exposeString('actorEmail', { nullable: true }),
    authMethod: t.field({ type: ActorMethodEnum, resolve: (e) => e.actorMethod }),
    tokenId: t.id({
      nullable: true,
      description: 'The API token used, when it was one.',
      resolve: (e) => (e.actorTokenId ? encodeGlobalId('Token', e.actorTokenId) : null),
    }),
    label: t.string({ description: 'Who, in one word: an email, or "anonymous".', resolve: (e) => e.actorEmail ?? 'anonymous' }),
  }),
});

const AuditTargetRef = builder.objectRef<AuditEvent>('AuditTarget').implement({
  fields: (t) => ({
    type: t.exposeString('targetType', { description: 'TOKEN or TEAM.' }),
    id: t.id({ resolve: (e) => encodeGlobalId(e.targetType === 'TOKEN' ? 'Token' : 'Team', e.targetId) }),
  }),
});

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  description: 'One management change: who did what to which token or team, when and from where.',
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.field({ type: AuditActionEnum, resolve: (e) => e.action }),
    actor: t.field({ type: AuditActorRef, resolve: (e) => e }),
    target: t.field({ type: AuditTargetRef, resolve: (e) => e }),
    at: t.expose('occurredAt', { type: 'DateTime' }),
    tokenId: t.id({ nullable: true, resolve: (e) => (e.tokenId ? encodeGlobalId('Token', e.tokenId) : null) }),
    teamId: t.id({ nullable: true, resolve: (e) => (e.teamId ? encodeGlobalId('Team', e.teamId) : null) }),
    clientIp: t.exposeString('clientIp', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    changes: t.field({ type: 'JSON', description: 'The fields that changed (never a secret).', resolve: (e) => e.changes }),
  }),
});

const AuditEventConnection = builder.connectionObject(
  {
    type: AuditEventRef,
    name: 'AuditEventConnection',
    fields: (t) => ({
      totalCount: t.int({ complexity: COUNT_COMPLEXITY, resolve: (connection) => (connection as unknown as ConnectionShape<AuditEvent>).totalCount() }),
    }),
  },
  { name: 'AuditEventEdge' },
);

const AuditFilterInput = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    action: t.field({ type: AuditActionEnum }),
    actorId: t.id(),
    tokenId: t.id(),
    teamId: t.id(),
    since: t.field({ type: 'DateTime' }),
    until: t.field({ type: 'DateTime' }),
  }),
});

const NOTHING = '00000000-0000-0000-0000-000000000000';

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    description: "Newest first. Admins see all; team owners their teams'; everyone the events about their own tokens.",
    complexity: pageComplexity,
    args: { first: t.arg.int(), after: t.arg.string(), filter: t.arg({ type: AuditFilterInput }) },
    authScopes: { authenticated: true, tokenPermission: 'tokens.read' },
    resolve: async (_root, args, ctx) => {
      const { first, after } = pageArguments(args);
      const reach = auditReach(ctx.caller());
      const f = args.filter ?? {};
      // An id of the wrong kind matches nothing, rather than being ignored.
      const filter = {
        action: f.action,
        actorId: f.actorId ? (parseGlobalId('User', f.actorId) ?? NOTHING) : null,
        tokenId: f.tokenId ? (parseGlobalId('Token', f.tokenId) ?? NOTHING) : null,
        teamId: f.teamId ? (parseGlobalId('Team', f.teamId) ?? NOTHING) : null,
        since: f.since,
        until: f.until,
      };
      const { events, hasNextPage, count } = await ctx.audit.page(reach, filter, first, after);
      const connection = connectionOf(events, (event) => encodeKeysetCursor(event.occurredAt, event.id), { hasNextPage, after }, count);
      return connection as never;
    },
  }),
);
