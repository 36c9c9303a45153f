import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { leakedStrings } from '../modules/token/leak-reports.js';
import { sendJson } from '../http/json-response.js';
import { factsOf, parseJson, plainRoute, readBody } from '../http/plain-http.js';
import { HttpError } from '../http/rest-errors.js';
import type { RequestFacts } from '../request/authenticate.js';

export interface LeakRouteDependencies {
  config: Config;
  logger: Logger;
  /** Revokes whatever live tokens the strings are, as the anonymous "leak-report" actor. */
  report: (strings: unknown[], request: RequestFacts) => Promise<{ received: number }>;
}

const BODY_LIMIT = 1024 * 1024;

/**
 * POST /v1/leaks: unauthenticated, same answer whatever was found. Too many strings is a
 * ValidationError, too many reports a RateLimitedError: plainRoute answers them like any refusal.
 */
export function leakRoutes(deps: LeakRouteDependencies) {
  const report = async (req: IncomingMessage, res: ServerResponse) => {
    const strings = leakedStrings(parseJson(await readBody(req, BODY_LIMIT)));
    if (!strings) {
      throw new HttpError('BAD_REQUEST', 'Send {"tokens": ["km_...", ...]} or [{"token": "km_...", "type", "url", "source"}, ...]');
    }
    sendJson(res, 202, await deps.report(strings, factsOf(req, deps.config.trustProxyHops)));
  };
  return { 'POST /v1/leaks': plainRoute(deps.logger, report) };
}
