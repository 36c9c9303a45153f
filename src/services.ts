import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { AuditTrail } from './modules/audit/audit-trail.js';
import type { Actor } from './modules/audit/actor.js';
import { TeamService } from './modules/team/team.service.js';
import type { TokenEventSink } from './modules/token/token-events.js';
import { TokenService } from './modules/token/token.service.js';
import { TokenRevocation } from './modules/token/token-revocation.js';

/**
 * The services that act for someone, built for one unit of work (a request, a leak report): the
 * one place where they are constructed. The long-lived services (verifier, usage recorder, event
 * bus, signing keys) are built once, in the composition root (composition.ts), which hands this factory
 * what they share.
 */
export interface ActingServices {
  tokens: TokenService;
  /** Revocations of many tokens at once: the panic button, offboarding, leak reports. */
  revocations: TokenRevocation;
  teams: TeamService;
  audit: AuditTrail;
}

export interface ActingServiceDependencies {
  config: Config;
  clock: Clock;
  /** Where token changes go once committed: this instance's caches, other instances, subscribers. */
  tokenEvents: TokenEventSink;
}

export type ActingServiceFactory = (em: EntityManager, actor: Actor) => ActingServices;

export function actingServices(deps: ActingServiceDependencies): ActingServiceFactory {
  return (em, actor) => {
    const revocations = new TokenRevocation(em, deps.clock, actor, deps.tokenEvents);
    const tokens = new TokenService({ em, clock: deps.clock, settings: deps.config.tokens, actor, events: deps.tokenEvents, revocation: revocations });
    return { tokens, revocations, teams: new TeamService(em, deps.clock, revocations, actor), audit: new AuditTrail(em) };
  };
}
