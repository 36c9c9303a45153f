import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { RequestAuthenticator } from '../request/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { requireVerifier } from '../auth/scopes.js';
import { UnauthenticatedError } from '../errors/errors.js';
import type { UsageReports } from '../modules/usage/usage-reports.js';
import type { TokenVerifier } from '../modules/verification/token-verifier.js';
import { viewOf } from '../modules/verification/verification-view.js';
import {
  MAX_USAGE_REPORTS,
  validateUsageReport,
  validateVerifyInput,
} from '../modules/verification/verification.input.js';
import { sendJson } from '../http/json-response.js';
import { factsOf, parseJson, plainRoute, readBody } from '../http/plain-http.js';
import { HttpError } from '../http/rest-errors.js';

export interface VerificationRouteDependencies {
  config: Config;
  logger: Logger;
  authenticator: RequestAuthenticator;
  verifier: TokenVerifier;
  usageReports: UsageReports;
  /** A fresh entity manager, only for a session caller's user lookup. */
  em: () => EntityManager;
}

const VERIFY_BODY_LIMIT = 16 * 1024;
const USAGE_BODY_LIMIT = 512 * 1024;

/**
 * POST /v1/verify, POST /oauth/introspect and POST /v1/usage, for resource servers. The caller
 * authenticates like any other (session or API token, in the Authorization header only) and must
 * hold `tokens.verify`.
 */
export function verificationRoutes(deps: VerificationRouteDependencies) {
  const authorizeVerifier = async (req: IncomingMessage): Promise<Principal> => {
    // Servers call these routes with a header. A cookie would let any page a browser opens spend
    // the signed-in user's power (a cross-site form needs no preflight), so cookies are ignored.
    const facts = { ...factsOf(req, deps.config.trustProxyHops), cookie: null };
    const { principal, failure } = await deps.authenticator.authenticate(facts, deps.em);
    if (!principal) throw new UnauthenticatedError(failure);
    requireVerifier(principal);
    return principal;
  };

  const verify = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, VERIFY_BODY_LIMIT);
    await authorizeVerifier(req);
    const input = asObject(parseJson(body));
    const request = validateVerifyInput(input);
    const view = viewOf(await deps.verifier.verify(request.token, request));
    // Object.assign rather than `{ ...view, token }`: a property added after a spread is slow on V8.
    sendJson(res, 200, Object.assign(view, { token: view.tokenId ? { id: view.tokenId, prefix: view.prefix, name: view.name } : null }));
  };

  // RFC 7662: a form with `token=`; anything not active is {active:false} and nothing more.
  const introspect = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, VERIFY_BODY_LIMIT);
    await authorizeVerifier(req);
    const type = req.headers['content-type'] ?? '';
    const token = type.includes('application/json')
      ? asObject(parseJson(body)).token
      : new URLSearchParams(body).get('token');
    if (typeof token !== 'string' || token === '') {
      throw new HttpError('invalid_request', 'The form must carry token=<the token to introspect>');
    }
    const verification = await deps.verifier.verify(token);
    const snapshot = verification.token;
    if (!verification.valid || !snapshot) {
      sendJson(res, 200, { active: false }, { 'cache-control': 'no-store' });
      return;
    }
    const view = viewOf(verification);
    sendJson(
      res,
      200,
      {
        active: true,
        scope: verification.permissions.join(' '),
        sub: view.ownerId,
        client_id: view.tokenId,
        token_type: 'Bearer',
        iat: Math.floor(snapshot.createdAt / 1000),
        ...(snapshot.expiresAt !== null ? { exp: Math.floor(snapshot.expiresAt / 1000) } : {}),
      },
      { 'cache-control': 'no-store' },
    );
  };

  const report = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, USAGE_BODY_LIMIT);
    await authorizeVerifier(req);
    const parsed = parseJson(body);
    const items = Array.isArray(parsed) ? parsed : asObject(parsed).reports;
    if (!Array.isArray(items) || items.length > MAX_USAGE_REPORTS) {
      throw new HttpError('BAD_REQUEST', `Send a list of at most ${MAX_USAGE_REPORTS} reports: [{verificationId, statusCode, responseTimeMs}]`);
    }
    const reports = items.map((item, index) => validateUsageReport(asObject(item), [String(index)]));
    // The same check as the reportUsage mutation: a report about no recorded verification changes
    // nothing. A batch is not refused for one such id; the answer names them.
    const { unknown } = await deps.usageReports.report(reports);
    sendJson(res, 202, { accepted: reports.length, unknown });
  };

  return {
    'POST /v1/verify': plainRoute(deps.logger, verify),
    'POST /oauth/introspect': plainRoute(deps.logger, introspect),
    'POST /v1/usage': plainRoute(deps.logger, report),
  };
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError('BAD_REQUEST', 'The body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
