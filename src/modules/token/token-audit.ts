import type { Token } from './token.entity.js';
import type { TokenFields } from './token-fields.js';

/** A token as the target of an audit event, with whose it is (who may read the event). */
export function auditTarget(token: { id: string; ownerId: string; teamId: string | null }) {
  return { targetType: 'TOKEN' as const, targetId: token.id, tokenId: token.id, ownerId: token.ownerId, teamId: token.teamId };
}

/** The same, for a token entity. */
export function auditTargetOf(token: Token) {
  return auditTarget({ id: token.id, ownerId: token.owner.id, teamId: token.team?.id ?? null });
}

/** What a new token was given, for its TOKEN_MINTED event (never the secret or its digest). */
export function mintedFields(token: Token): Record<string, unknown> {
  return {
    name: token.name,
    description: token.description,
    permissions: token.permissions,
    serverId: token.serverId,
    ipRestrictions: token.ipRestrictions,
    timeRestrictions: token.timeRestrictions,
    usageLimits: token.usageLimits,
    tags: token.tags,
    expiresAt: token.expiresAt,
    parentId: token.parent?.id ?? null,
  };
}

/** Each changed field, from and to. */
export function diff(token: Token, fields: TokenFields): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(fields)) {
    const from = token[key as keyof TokenFields];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}
