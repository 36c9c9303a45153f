import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { RateLimitedError, ValidationError } from '../modules/common/errors.js';
import { leakedStrings } from '../modules/token/leak-reports.js';
import { factsOf, HttpError, parseJson, plainRoute, readBody, sendJson } from '../http/plain-http.js';
import type { RequestFacts } from '../authenticate.js';

export interface LeakRouteDependencies {
  config: Config;
  logger: Logger;
  /** Revokes whatever live tokens the strings are, as the anonymous "leak-report" actor. */
  report: (strings: unknown[], request: RequestFacts) => Promise<{ received: number }>;
}

const BODY_LIMIT = 1024 * 1024;

/** POST /v1/leaks: unauthenticated, same answer whatever was found. */
export function leakRoutes(deps: LeakRouteDependencies) {
  const report = async (req: IncomingMessage, res: ServerResponse) => {
    const strings = leakedStrings(parseJson(await readBody(req, BODY_LIMIT)));
    if (!strings) {
      throw new HttpError(400, 'BAD_REQUEST', 'Send {"tokens": ["km_...", ...]} or [{"token": "km_...", "type", "url", "source"}, ...]');
    }
    try {
      sendJson(res, 202, await deps.report(strings, factsOf(req, deps.config.trustProxyHops)));
    } catch (error) {
      if (error instanceof RateLimitedError) {
        throw new HttpError(429, 'RATE_LIMITED', error.message, { 'retry-after': String(error.retryAfterSeconds) });
      }
      if (error instanceof ValidationError) throw new HttpError(400, 'BAD_REQUEST', error.message);
      throw error;
    }
  };
  return { 'POST /v1/leaks': plainRoute(deps.logger, report) };
}
