import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenEventBus } from './cluster/token-event-bus.js';
import type { SigningKeys } from './modules/exchange/signing-keys.js';
import type { UsageRecorder } from './modules/usage/usage-recorder.js';
import type { TokenVerifier } from './modules/verification/token-verifier.js';
import { composeServices, type AppDependencies } from './composition.js';
import { databaseProbe, readinessPlugin } from './http/readiness.js';
import { dispatch, plainRoutes } from './http/router.js';
import { createGraphQLServer, type GraphQLServer } from './http/yoga.js';

export type { AppDependencies };

/**
 * One Keymint instance: its services (composition.ts), the GraphQL server (http/yoga.ts) and
 * the plain routes before it (http/router.ts). Wiring only; tests and server.ts start here.
 */
export interface App {
  yoga: GraphQLServer;
  /** The node:http request listener: the plain routes first, then yoga. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Whether the database answers: what /readyz reports. */
  isReady: () => Promise<boolean>;
  verifier: TokenVerifier;
  usage: UsageRecorder;
  /** Token events, on this instance and (with Redis) from the others. */
  bus: TokenEventBus;
  signingKeys: SigningKeys;
  /** Ends long-lived streams (tokenEvents subscriptions): the first step of a graceful stop. */
  endStreams: () => void;
  /** Stops background work and writes what is still buffered. */
  close: () => Promise<void>;
}

export function createApp(deps: AppDependencies): App {
  const { config, orm, logger } = deps;
  const services = composeServices(deps);
  const isReady = databaseProbe(orm);
  const yoga = createGraphQLServer({
    config,
    logger,
    context: services.context,
    readiness: readinessPlugin(isReady, services.redis),
  });
  const routes = plainRoutes({
    config,
    logger,
    authenticator: services.authenticator,
    verifier: services.verifier,
    usageReports: services.usageReports,
    em: () => orm.em.fork(),
    reportLeaks: services.reportLeaks,
    signingKeys: services.signingKeys,
  });

  return {
    yoga,
    handle: dispatch(routes, yoga),
    isReady,
    verifier: services.verifier,
    usage: services.usage,
    bus: services.bus,
    signingKeys: services.signingKeys,
    endStreams: () => services.bus.endSubscriptions(),
    close: () => services.close(),
  };
}
