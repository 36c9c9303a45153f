/**
 * The SQL that Keymint sends about the `tokens` table (and its `retired_secrets`), by name. The
 * token repository runs these; a few other modules build statements of their own around them
 * (the usage flush, usage figures of an owner or a team), and take them from here, so that every
 * statement about tokens is in this file.
 */

/** Which tokens a bulk revocation takes. */
export type RevocationTarget =
  | { kind: 'token'; id: string }
  | { kind: 'tokens'; ids: readonly string[] }
  | { kind: 'descendantsOfAny'; ids: readonly string[] }
  | { kind: 'owner'; ownerId: string }
  | { kind: 'owners'; ownerIds: readonly string[] }
  | { kind: 'ownerInTeam'; ownerId: string; teamId: string }
  | { kind: 'team'; teamId: string }
  | { kind: 'lineage'; of: string };

/** A token and every token it minted, and they minted: what an API token manages. */
export const LINEAGE_CONDITION = '(id = ? or ancestor_ids @> array[?]::uuid[])';
export const lineageParams = (tokenId: string) => [tokenId, tokenId];

export function revocationCondition(target: RevocationTarget): [string, unknown[]] {
  switch (target.kind) {
    case 'token':
      return ['id = ?', [target.id]];
    case 'tokens':
      return ['id in (?)', [[...target.ids]]];
    case 'descendantsOfAny':
      return ['ancestor_ids && array[?]::uuid[]', [[...target.ids]]];
    case 'lineage':
      return [LINEAGE_CONDITION, lineageParams(target.of)];
    case 'owner':
      return ['owner_id = ?', [target.ownerId]];
    case 'owners':
      return ['owner_id in (?)', [[...target.ownerIds]]];
    case 'ownerInTeam':
      return ['owner_id = ? and team_id = ?', [target.ownerId, target.teamId]];
    case 'team':
      return ['team_id = ?', [target.teamId]];
  }
}

export const REVOKE = (condition: string) =>
  `update tokens set revoked_at = ?, updated_at = ? where revoked_at is null and ${condition}
   returning id, secret_hash, prefix, owner_id, team_id`;

export const INSERT_REVOCATIONS = (rows: number) =>
  `insert into revocations (id, token_id, revoked_at, revoked_by, reason) values ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ')}
   on conflict (token_id) do nothing`;

export const LINEAGE_IDS = `select id from tokens where ${LINEAGE_CONDITION}`;

export const LIVE_IDS_BY_SECRET_HASHES = `select t.id from tokens t where t.revoked_at is null and t.secret_hash in (?)
   union
   select t.id from retired_secrets r join tokens t on t.id = r.token_id
   where t.revoked_at is null and r.valid_until > ? and r.secret_hash in (?)`;

export const CLAMP_DESCENDANTS_EXPIRY = `update tokens as t set expires_at = ?, updated_at = ?
   from (
     select id, expires_at from tokens
     where ancestor_ids @> array[?]::uuid[] and revoked_at is null and (expires_at is null or expires_at > ?)
     for update
   ) as old
   where t.id = old.id
   returning t.id, t.prefix, t.owner_id, t.team_id, old.expires_at as previous`;

export const LOCK_AS_PARENT = `select expires_at, revoked_at from tokens where id = ? for share`;

/** Compare-and-swap on the secret itself: of two concurrent rotations, one wins. */
export const SWAP_SECRET = `update tokens set secret_hash = ?, prefix = ?, rotated_at = ?, previous_secret_expires_at = ?, updated_at = ?
   where id = ? and secret_hash = ? and revoked_at is null`;
export const END_GRACE_PERIODS = `update retired_secrets set valid_until = ? where token_id = ? and valid_until > ?`;
export const RETIRE_SECRET = `insert into retired_secrets (secret_hash, token_id, prefix, retired_at, valid_until) values (?, ?, ?, ?, ?)`;

/**
 * The lifetime quota is exact across restarts and instances: PostgreSQL moves the count in one
 * conditional UPDATE, which returns nothing once the quota is spent.
 */
export const SPEND_QUOTA = `update tokens set usage_count = usage_count + 1, last_used_at = greatest(last_used_at, ?)
   where id = ? and usage_count < ? and revoked_at is null returning usage_count`;

/** A usage flush's uses, per token: the latest use and how many uses to add to usageCount. */
export function recordUsesStatement(touches: { tokenId: string; lastUsedAt: Date; uses: number }[]): [string, unknown[][]] {
  return [
    `update tokens as t set last_used_at = greatest(t.last_used_at, v.last_used_at), usage_count = t.usage_count + v.uses
     from unnest(?::uuid[], ?::timestamptz[], ?::bigint[]) as v(id, last_used_at, uses)
     where t.id = v.id`,
    [touches.map((t) => t.tokenId), touches.map((t) => t.lastUsedAt), touches.map((t) => t.uses)],
  ];
}

/** The ids of an owner's or a team's tokens, as a subquery for statements about their usage. */
export const TOKEN_IDS_OF_OWNER = 'select id from tokens where owner_id = ?';
export const TOKEN_IDS_OF_TEAM = 'select id from tokens where team_id = ?';
