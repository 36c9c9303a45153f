import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor } from './actor.js';
import type { AuditAction } from './audit-event.entity.js';
import { sanitizeText } from '../../text.js';
import { METADATA_LIMITS } from '../common/request-metadata.js';

export interface AuditEntry {
  action: AuditAction;
  targetType: 'TOKEN' | 'TEAM';
  targetId: string;
  tokenId?: string | null;
  ownerId?: string | null;
  teamId?: string | null;
  changes?: Record<string, unknown>;
}

/**
 * Writes audit events through the entity manager of the change's own transaction, so that a
 * change and its record commit or fail together.
 */
export async function writeAudit(tx: EntityManager, actor: Actor, at: Date, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const columns =
    'id, occurred_at, action, actor_user_id, actor_email, actor_method, actor_token_id, target_type, target_id, token_id, owner_id, team_id, client_ip, user_agent, changes';
  await tx.getConnection().execute(
    `insert into audit_events (${columns}) values ${entries.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ')}`,
    entries.flatMap((entry) => [
      randomUUID(),
      at,
      entry.action,
      actor.userId,
      actor.email,
      actor.method,
      actor.tokenId,
      entry.targetType,
      entry.targetId,
      entry.tokenId ?? null,
      entry.ownerId ?? null,
      entry.teamId ?? null,
      sanitizeText(actor.clientIp, METADATA_LIMITS.clientIp),
      sanitizeText(actor.userAgent, METADATA_LIMITS.userAgent),
      JSON.stringify(entry.changes ?? {}),
    ]),
    'run',
    tx.getTransactionContext(),
  );
}
