import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SigningKeys } from '../modules/exchange/signing-keys.js';
import { leakRoutes, type LeakRouteDependencies } from '../routes/leak.routes.js';
import { verificationRoutes, type VerificationRouteDependencies } from '../routes/verification.routes.js';
import { sendJson } from './json-response.js';
import { pathOf, plainRoute } from './plain-http.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** "METHOD /path" to its handler. */
export type PlainRoutes = Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>;

export interface PlainRouteDependencies extends VerificationRouteDependencies {
  reportLeaks: LeakRouteDependencies['report'];
  signingKeys: SigningKeys;
}

/**
 * The routes served on the bare node:http handler, before yoga: verification is the hot path of
 * every resource server, and costs a fraction of yoga's per-request work there.
 */
export function plainRoutes(deps: PlainRouteDependencies): PlainRoutes {
  const { config, logger } = deps;
  return {
    ...verificationRoutes(deps),
    ...leakRoutes({ config, logger, report: deps.reportLeaks }),
    'GET /.well-known/jwks.json': plainRoute(logger, async (_req, res) =>
      sendJson(res, 200, await deps.signingKeys.jwks(), { 'cache-control': 'public, max-age=60' }),
    ),
  };
}

/** The node:http request listener: a plain route when one matches method and path, else yoga. */
export function dispatch(routes: PlainRoutes, yoga: Listener): Listener {
  return (req, res) => {
    const route = routes[`${req.method} ${pathOf(req)}`];
    if (route) void route(req, res);
    else yoga(req, res);
  };
}
