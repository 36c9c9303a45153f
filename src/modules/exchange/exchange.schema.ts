import { builder } from '../../builder.js';
import { ValidationError } from '../../errors/errors.js';
import type { ExchangedToken } from './token-exchange.js';

const ExchangeTokenInput = builder.inputType('ExchangeTokenInput', {
  fields: (t) => ({
    token: t.string({ required: true, description: 'The API token to exchange.' }),
    serverId: t.string({ description: 'Required for a token bound to a server; becomes the JWT audience.' }),
  }),
});

const ExchangeTokenPayload = builder.objectRef<ExchangedToken>('ExchangeTokenPayload').implement({
  fields: (t) => ({
    jwt: t.exposeString('jwt', {
      description: 'EdDSA-signed; verify with /.well-known/jwks.json. Claims: sub (owner), token_id, team_id, permissions.',
    }),
    tokenType: t.string({ resolve: () => 'Bearer' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationField('exchangeToken', (t) =>
  t.field({
    type: ExchangeTokenPayload,
    description: 'Trades a valid API token for a short-lived JWT for offline verification. The token is the credential.',
    args: { input: t.arg({ type: ExchangeTokenInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'ExchangeTokenResult' } },
    resolve: (_root, { input }, ctx) =>
      ctx.exchange.exchange(input.token, {
        serverId: input.serverId,
        clientIp: ctx.request.clientIp,
        endpoint: ctx.request.endpoint,
        method: ctx.request.method,
        userAgent: ctx.request.userAgent,
      }),
  }),
);
