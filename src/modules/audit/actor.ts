import type { Principal } from '../../auth/principal.js';
import type { ActorMethod } from './audit-event.entity.js';

/** Who is acting, and from where: what every audit event records about its author. */
export interface Actor {
  method: ActorMethod;
  userId: string | null;
  /** For revocations' revokedBy: the user's email, or "leak-report". */
  label: string;
  email: string | null;
  tokenId: string | null;
  clientIp: string | null;
  userAgent: string | null;
}

export function actorOf(principal: Principal, request: { clientIp: string | null; userAgent: string | null }): Actor {
  return {
    method: principal.authMethod,
    userId: principal.user.id,
    label: principal.user.email,
    email: principal.user.email,
    tokenId: principal.token?.id ?? null,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
  };
}

/** Whoever reports a leaked token: anyone, unauthenticated. */
export function anonymousActor(request: { clientIp: string | null; userAgent: string | null }, label = 'leak-report'): Actor {
  return {
    method: 'ANONYMOUS',
    userId: null,
    label,
    email: null,
    tokenId: null,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
  };
}
