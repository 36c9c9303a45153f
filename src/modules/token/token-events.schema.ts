import { Repeater } from 'graphql-yoga';
import { builder } from '../../builder.js';
import { encodeGlobalId } from '../../global-id.js';
import type { TokenEvent } from './token-events.js';

const TokenEventTypeEnum = builder.enumType('TokenEventType', {
  values: {
    REVOKED: { description: 'The token no longer verifies.' },
    ROTATED: { description: 'The secret with `prefix` was replaced (it may live on for a grace period).' },
    UPDATED: { description: 'What the token may do changed.' },
  } as const,
});

const TokenEventRef = builder.objectRef<TokenEvent>('TokenEvent').implement({
  description: 'A change a gateway with its own cache must act on at once.',
  fields: (t) => ({
    type: t.field({ type: TokenEventTypeEnum, resolve: (e) => e.type }),
    tokenId: t.id({ resolve: (e) => encodeGlobalId('Token', e.tokenId) }),
    prefix: t.exposeString('prefix'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

builder.subscriptionField('tokenEvents', (t) =>
  t.field({
    type: TokenEventRef,
    description: 'Revocations, rotations and updates of every token, as they happen (server-sent events). Needs tokens.verify.',
    authScopes: { authenticated: true, verifier: true },
    subscribe: (_root, _args, ctx) =>
      new Repeater<TokenEvent>(async (push, stop) => {
        // The stream also ends when the process shuts down, so that its connection can close.
        const unsubscribe = ctx.tokenEventSource.subscribe(
          (event) => void push(event),
          () => stop(),
        );
        await stop;
        unsubscribe();
      }),
    resolve: (event) => event,
  }),
);
