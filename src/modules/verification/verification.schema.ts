import { builder } from '../../builder.js';
import { BadUserInputError, NotFoundError, ValidationError } from '../../errors/errors.js';
import { OUTCOMES } from './verification.js';
import { viewOf, type TokenVerificationView } from './verification-view.js';
import { METADATA_LIMITS } from '../common/request-metadata.js';
import { validateUsageReport, validateVerifyInput } from './verification.input.js';
import { SANITIZED_TEXT } from '../../graphql/text-input.plugin.js';

export const VerificationOutcomeEnum = builder.enumType('VerificationOutcome', {
  description: 'Why a token was accepted or refused. Checked in this order after MALFORMED and NOT_FOUND.',
  values: OUTCOMES,
});

const VerifyTokenInput = builder.inputType('VerifyTokenInput', {
  description: 'The token a resource server received, and what it knows about the request.',
  fields: (t) => ({
    token: t.string({ required: true }),
    requiredPermissions: t.stringList({ description: 'Each must be contained in the token’s permissions.' }),
    serverId: t.string({ description: 'Required to accept a token bound to a server.' }),
    clientIp: t.string({ description: 'The client’s IPv4 or IPv6 address. Required to accept an IP-restricted token.' }),
    endpoint: t.string({
      description: `The path the client asked for. Control characters are removed; cut to ${METADATA_LIMITS.endpoint} characters.`,
      extensions: SANITIZED_TEXT,
    }),
    method: t.string({ description: `The HTTP method, cut to ${METADATA_LIMITS.method} characters.`, extensions: SANITIZED_TEXT }),
    userAgent: t.string({
      description: `The client’s user agent. Control characters are removed; cut to ${METADATA_LIMITS.userAgent} characters.`,
      extensions: SANITIZED_TEXT,
    }),
  }),
});

const TokenVerificationRef = builder.objectRef<TokenVerificationView>('TokenVerification').implement({
  description: 'The answer for one presented token. Refusals are answers too, never errors.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    outcome: t.field({ type: VerificationOutcomeEnum, resolve: (v) => v.outcome }),
    verificationId: t.exposeID('verificationId', {
      nullable: true,
      description: 'The recorded use, for reportUsage; null when no token could be identified.',
    }),
    tokenId: t.exposeID('tokenId', { nullable: true }),
    prefix: t.exposeString('prefix', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    permissions: t.exposeStringList('permissions', { description: 'What the token may do now; empty unless valid.' }),
    ownerId: t.exposeID('ownerId', { nullable: true }),
    teamId: t.exposeID('teamId', { nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    remaining: t.exposeInt('remaining', { nullable: true, description: 'Uses left under the tightest limit.' }),
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', { nullable: true }),
  }),
});

const ReportUsageInput = builder.inputType('ReportUsageInput', {
  fields: (t) => ({
    verificationId: t.id({ required: true }),
    statusCode: t.int({ required: true, description: 'The HTTP status the resource server answered with.' }),
    responseTimeMs: t.float(),
  }),
});

const ReportUsagePayload = builder.objectRef<{ verificationId: string }>('ReportUsagePayload').implement({
  fields: (t) => ({ verificationId: t.exposeID('verificationId') }),
});

builder.mutationFields((t) => ({
  verifyToken: t.field({
    type: TokenVerificationRef,
    description: 'Checks a token for a resource server and records the use. Needs tokens.verify.',
    args: { input: t.arg({ type: VerifyTokenInput, required: true }) },
    authScopes: { authenticated: true, verifier: true },
    resolve: async (_root, { input }, ctx) => {
      let request;
      try {
        request = validateVerifyInput(input);
      } catch (error) {
        if (error instanceof ValidationError) throw new BadUserInputError(error.message, 'input');
        throw error;
      }
      return viewOf(await ctx.verifier.verify(request.token, request));
    },
  }),

  reportUsage: t.field({
    type: ReportUsagePayload,
    description: 'Adds the final HTTP status and response time to a recorded verification. Needs tokens.verify.',
    args: { input: t.arg({ type: ReportUsageInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'ReportUsageResult' } },
    authScopes: { authenticated: true, verifier: true },
    resolve: async (_root, { input }, ctx) => {
      const report = validateUsageReport(input);
      const { unknown } = await ctx.usageReports.report([report]);
      if (unknown.length > 0) throw new NotFoundError('No verification with this id');
      return { verificationId: report.verificationId };
    },
  }),
}));
