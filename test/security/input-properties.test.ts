import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import fc from 'fast-check';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.js';
import { createTeam, createTestApp, mintToken, resourceServer, userId, type TestApp, type TestUser } from '../harness.js';

/**
 * Property tests over every mutation's input, the query arguments and the plain REST routes: any
 * input, however hostile, is answered with a success or a typed refusal (a member of the result
 * union, or a GraphQL error with a known code, or a JSON error below HTTP 500), never a masked
 * "Unexpected error."; a refusal changes nothing; text PostgreSQL cannot store is refused naming
 * the field; a resource server's request metadata is cleaned rather than refused; and a clientIp
 * that is not an address is refused, recording nothing.
 *
 * A failure prints fast-check's counterexample (ids of the fixtures appear as ⟪name⟫ there) and
 * the request as sent, with the full response.
 */

// -----------------------------------------------------------------------------------------------
// Budgets: the whole file runs in well under 90 s on PGlite.

/** PROPERTY_RUNS_FACTOR=10 (say) for a longer soak; the time limits grow with it. */
const FACTOR = Math.max(1, Number(process.env.PROPERTY_RUNS_FACTOR) || 1);
const RUNS = Object.fromEntries(
  Object.entries({ mutation: 40, poison: 25, query: 35, cursor: 30, rest: 40, metadata: 30, clientIp: 25 }).map(([key, runs]) => [key, runs * FACTOR]),
) as Record<'mutation' | 'poison' | 'query' | 'cursor' | 'rest' | 'metadata' | 'clientIp', number>;
const TEST_TIMEOUT = 60_000 * FACTOR;
/** fast-check stops generating (and shrinking) after this, so one failing property cannot eat the file's time. */
const TIME_LIMIT = 15_000 * FACTOR;

const TYPED_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  'QUERY_TOO_DEEP',
  'TOO_MANY_ALIASES',
  'QUERY_TOO_LARGE',
  'TOO_MANY_DIRECTIVES',
]);
const ERROR_MEMBERS = new Set(['ValidationError', 'ConflictError', 'NotFoundError', 'ForbiddenError', 'RateLimitedError']);
const METADATA_LIMITS = { endpoint: 512, method: 16, user_agent: 512 } as const;

// -----------------------------------------------------------------------------------------------
// The world: fixtures, rebuilt after any call that may have changed them (a revocation, a rotation,
// a role change...), so that every run meets live tokens and a team the caller owns.

interface Secretful {
  id: string;
  secret: string;
  prefix: string;
}

interface World {
  self: TestUser;
  selfId: string;
  member: TestUser;
  memberId: string;
  admin: TestUser;
  /** Runs revokeAllMyTokens, and is the user adminRevokeUserTokens may offboard. */
  throwaway: TestUser;
  throwawayId: string;
  rs: { user: TestUser; secret: string };
  teamId: string;
  /** A team deleteTeam may delete. */
  scratchTeamId: string;
  personal: Secretful;
  teamToken: Secretful;
  verificationId: string;
  dirty: boolean;
}

let t: TestApp;
let w: World;
let base: string;
let ipCounter = 0;

/** A fresh client address: leak reports are limited per address. */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

async function signIn(session: { permissions?: string[]; admin?: boolean } = {}): Promise<{ user: TestUser; id: string }> {
  const user = await t.user(session);
  return { user, id: await userId(t, user) };
}

async function mintFixture(owner: TestUser, input: Record<string, unknown>): Promise<Secretful> {
  const minted = await mintToken(t, owner.jwt, { name: `fixture ${randomUUID()}`, permissions: ['tools.read'], ...input });
  if (minted?.__typename !== 'MintTokenPayload') throw new Error(`fixture mint failed: ${JSON.stringify(minted)}`);
  return { id: minted.token.id, secret: minted.secret, prefix: minted.token.prefix };
}

/** The tokens and teams the properties aim at, made anew. */
async function rebuildTargets(): Promise<void> {
  const team = await createTeam(t, w.self, `Fixture ${randomUUID()}`, [{ user: w.member }]);
  const scratch = await createTeam(t, w.self, `Scratch ${randomUUID()}`);
  w.teamId = team.id;
  w.scratchTeamId = scratch.id;
  w.personal = await mintFixture(w.self, {});
  w.teamToken = await mintFixture(w.self, { teamId: team.id });
  const verified = await gql(
    `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { valid verificationId } }`,
    { input: { token: w.personal.secret } },
    w.self.jwt,
  );
  if (!verified.body?.data?.verifyToken?.valid) throw new Error(`fixture verification failed: ${verified.text}`);
  w.verificationId = verified.body.data.verifyToken.verificationId;
  w.dirty = false;
}

async function ensureWorld(): Promise<void> {
  if (w.dirty) await rebuildTargets();
}

/** Fixture values are written ⟪name⟫ in generated inputs and resolved when a run sends them. */
const SENTINELS = {
  personalId: () => w.personal.id,
  teamTokenId: () => w.teamToken.id,
  personalSecret: () => w.personal.secret,
  teamSecret: () => w.teamToken.secret,
  personalPrefix: () => w.personal.prefix,
  teamId: () => w.teamId,
  scratchTeamId: () => w.scratchTeamId,
  selfId: () => w.selfId,
  memberId: () => w.memberId,
  throwawayId: () => w.throwawayId,
  selfEmail: () => w.self.email,
  memberEmail: () => w.member.email,
  throwawayEmail: () => w.throwaway.email,
  verificationId: () => w.verificationId,
} as const;
type SentinelName = keyof typeof SENTINELS;
const S = (name: SentinelName) => `⟪${name}⟫`;

function resolveSentinels(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(/⟪(\w+)⟫/g, (whole, name: string) => (name in SENTINELS ? SENTINELS[name as SentinelName]() : whole));
  }
  if (Array.isArray(value)) return value.map(resolveSentinels);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolveSentinels(inner)]));
  }
  return value;
}

// -----------------------------------------------------------------------------------------------
// Sending and judging

interface Sent {
  status: number;
  text: string;
  body: any;
}

type Caller = 'self' | 'member' | 'admin' | 'throwaway' | 'anonymous';

function bearerOf(caller: Caller): string | undefined {
  switch (caller) {
    case 'self':
      return w.self.jwt;
    case 'member':
      return w.member.jwt;
    case 'admin':
      return w.admin.jwt;
    case 'throwaway':
      return w.throwaway.jwt;
    case 'anonymous':
      return undefined;
  }
}

/** Like t.gql, but keeps the raw text, so that a body that is not JSON is a finding, not a crash. */
async function gql(query: string, variables: Record<string, unknown> | undefined, bearer?: string, headers: Record<string, string> = {}): Promise<Sent> {
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
  if (bearer) all.authorization = `Bearer ${bearer}`;
  const response = await t.app.yoga.fetch('http://keymint.test/graphql', {
    method: 'POST',
    headers: all,
    body: JSON.stringify(variables === undefined ? { query } : { query, variables }),
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body };
}

/** Why a GraphQL answer is not a typed outcome; empty when it is. */
function untypedGraphQL(sent: Sent, field: string | null, members: ReadonlySet<string> | null): string[] {
  const problems: string[] = [];
  if (sent.status >= 500) problems.push(`HTTP ${sent.status}`);
  if (!sent.body || typeof sent.body !== 'object') return [...problems, 'the body is not JSON'];
  const errors: any[] = Array.isArray(sent.body.errors) ? sent.body.errors : [];
  for (const error of errors) {
    const code = error?.extensions?.code;
    if (error?.message === 'Unexpected error.') problems.push(`"Unexpected error." (code ${String(code)})`);
    else if (typeof code !== 'string' || !TYPED_CODES.has(code)) problems.push(`error code ${String(code)}: ${String(error?.message)}`);
  }
  if (errors.length === 0) {
    if (!sent.body.data) problems.push('neither data nor errors');
    else if (field && members) {
      const typename = sent.body.data[field]?.__typename;
      if (!members.has(typename)) problems.push(`${field} is ${String(typename)}, not one of ${[...members].join(', ')}`);
    }
  }
  return problems;
}

/** With PROPERTY_STATS=1, what each property's runs came to, printed at the end: to see that inputs get past validation too. */
const stats = new Map<string, Map<string, number>>();
function tally(property: string, outcome: string): void {
  const counts = stats.get(property) ?? new Map<string, number>();
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  stats.set(property, counts);
}
function outcomeOf(sent: Sent, field: string | null): string {
  if (hasErrors(sent)) return String(sent.body.errors[0]?.extensions?.code);
  const result = field ? sent.body?.data?.[field] : undefined;
  return String(result?.__typename ?? (sent.body?.data ? 'data' : sent.status));
}

function hasErrors(sent: Sent): boolean {
  return Array.isArray(sent.body?.errors) && sent.body.errors.length > 0;
}

/** Strings shortened for messages: a 2 MB body must not drown the counterexample. */
function show(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'string' && inner.length > 1_000 ? `${inner.slice(0, 400)}…(${inner.length} chars in all)…${inner.slice(-100)}` : inner,
  );
}

function fail(problems: string[], request: unknown, response: unknown): never {
  throw new Error(`${problems.join('; ')}\nREQUEST: ${show(request)}\nRESPONSE: ${show(response)}`);
}

// -----------------------------------------------------------------------------------------------
// What changed: counts, and digests of the rows a refused mutation could touch.

interface Snapshot {
  tokens: number;
  revocations: number;
  audit_events: number;
  usage_events: number;
  teams: number;
  team_members: number;
  retired_secrets: number;
  tokens_digest: string;
  teams_digest: string;
  members_digest: string;
}

async function snapshot(): Promise<Snapshot> {
  await t.app.usage.flush();
  const rows = await t.orm.em.getConnection().execute<Snapshot[]>(`select
      (select count(*)::int from tokens) as tokens,
      (select count(*)::int from revocations) as revocations,
      (select count(*)::int from audit_events) as audit_events,
      (select count(*)::int from usage_events) as usage_events,
      (select count(*)::int from teams) as teams,
      (select count(*)::int from team_members) as team_members,
      (select count(*)::int from retired_secrets) as retired_secrets,
      (select md5(coalesce(string_agg(x::text, '|' order by x.id), '')) from tokens x) as tokens_digest,
      (select md5(coalesce(string_agg(x::text, '|' order by x.id), '')) from teams x) as teams_digest,
      (select md5(coalesce(string_agg(x::text, '|' order by x.team_id, x.user_id), '')) from team_members x) as members_digest`);
  return rows[0]!;
}

function changed(before: Snapshot, after: Snapshot, keys: (keyof Snapshot)[]): string[] {
  return keys.filter((key) => before[key] !== after[key]).map((key) => `${key} changed from ${before[key]} to ${after[key]}`);
}

const ALL_KEYS: (keyof Snapshot)[] = [
  'tokens',
  'revocations',
  'audit_events',
  'usage_events',
  'teams',
  'team_members',
  'retired_secrets',
  'tokens_digest',
  'teams_digest',
  'members_digest',
];

// -----------------------------------------------------------------------------------------------
// Arbitraries: hostile values

const TEN_K = 'a'.repeat(10_000);
const HOSTILE_CONSTANTS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(64),
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  'ok\ud83d',
  TEN_K,
  `${'é'.repeat(600)}`,
  '%00',
  '%',
  '_',
  '\\',
  '\\u0000',
  '\\x00',
  "'; drop table tokens; --",
  ';',
  'a;b',
  'x; select 1',
  '" or 1=1 --',
  "' or ''='",
  '$1',
  '?',
  '😀',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈'.repeat(40),
  '\u202eevil\u202c',
  '\u200f\u200e',
  '\u200b',
  '\ufeff',
  '\uffff',
  '\u{10ffff}',
  '\r\n',
  '\n',
  '\t',
  '\u0007\u001b[31m',
  '\u007f\u0085\u009f',
  '\u2028\u2029',
  'Z̴̢̧͓̦̥̈́̑͊a̸l̷g̶o̵',
  '${jndi:ldap://example.com/a}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '*',
  '**',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'NaN',
  '-1',
  '1e309',
  '0x7fffffff',
  'tok_',
  'km_',
  'km_' + 'A'.repeat(49),
  'Bearer x',
];

const graphemes = fc.string({ unit: 'grapheme', maxLength: 40 });
const binary = fc.string({ unit: 'binary', maxLength: 40 });
const POISON_CHARS = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff'] as const;
/** Text PostgreSQL cannot hold: a NUL or an unpaired surrogate somewhere in an otherwise ordinary string. */
const poisoned = fc
  .tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom(...POISON_CHARS), fc.string({ unit: 'grapheme', maxLength: 12 }))
  .map(([before, poison, after]) => `${before}${poison}${after}`);

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_CONSTANTS) },
  { weight: 2, arbitrary: graphemes },
  { weight: 2, arbitrary: binary },
  { weight: 1, arbitrary: poisoned },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 60, maxLength: 700 }) },
);

const hostileInt: fc.Arbitrary<number> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0,
      -0,
      1,
      -1,
      2,
      7,
      30,
      100,
      101,
      365,
      366,
      367,
      599,
      600,
      1000,
      1001,
      36500,
      2_592_000,
      2_592_001,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 32,
      2 ** 53,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      1e21,
      1e308,
      -1e308,
      Number.MIN_VALUE,
      0.5,
      1.5,
      -0.0001,
    ),
  },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 400 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

const validName = /^[_A-Za-z][_0-9A-Za-z]*$/;
const keyArb = fc.oneof(fc.constantFrom('bogus', '__proto__', 'constructor', 'secret', 'admin', 'revokedAt', 'ownerId', 'id'), fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,10}$/));

/** A value of the wrong type for wherever it goes. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  hostileInt,
  hostileString,
  fc.array(fc.oneof(hostileInt, hostileString, fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(keyArb, fc.oneof(hostileInt, hostileString, fc.constant(null)), { maxKeys: 3 }),
);

const uuid = fc.uuid();
const MALFORMED_IDS = [
  '',
  'garbage',
  'tok_',
  'tok_not-a-uuid',
  'tok_\u0000',
  'team_',
  'usr_',
  '_',
  '__',
  'tok__',
  `tok_${'-'.repeat(36)}`,
  `tok_${'0'.repeat(36)}`,
  `tok_${'f'.repeat(32)}`,
  'tok_00000000-0000-0000-0000-000000000000',
  'team_00000000-0000-0000-0000-000000000000',
  'usr_00000000-0000-0000-0000-000000000000',
  'TOK_00000000-0000-0000-0000-000000000000',
  'tok_{00000000-0000-0000-0000-000000000000}',
  'tok_00000000-0000-0000-0000-0000000000000',
  'node_00000000-0000-0000-0000-000000000000',
];

function idArb(reals: SentinelName[]): fc.Arbitrary<string> {
  const real = fc.constantFrom(...reals.map(S));
  return fc.oneof(
    { weight: 5, arbitrary: real },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('tok', 'team', 'usr', 'x', '', 'Token'), uuid).map(([prefix, id]) => `${prefix}_${id}`) },
    { weight: 1, arbitrary: uuid },
    { weight: 2, arbitrary: fc.constantFrom(...MALFORMED_IDS) },
    // A real id, then junk: it must not be mistaken for the real one.
    { weight: 1, arbitrary: fc.tuple(real, fc.constantFrom('\u0000', '\ud800', ' ', '%00', 'X', '0', '\n')).map(([id, junk]) => id + junk) },
    { weight: 1, arbitrary: fc.tuple(real).map(([id]) => id.toUpperCase()) },
    { weight: 1, arbitrary: hostileString },
  );
}

const dateArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0000-01-01T00:00:00Z',
      '0000-01-01T00:00:00+23:59',
      '9999-12-31T23:59:59Z',
      '9999-12-31T23:59:59.999999999-23:59',
      '+275760-09-13T00:00:00Z',
      '-271821-04-20T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T00:00:00',
      '2026-01-01',
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      'garbage',
      '',
      'now',
      '1e20',
      'Infinity',
    ),
  },
  { weight: 2, arbitrary: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()) },
  { weight: 2, arbitrary: fc.integer({ min: -30, max: 800 }).map((days) => new Date(Date.now() + days * 86_400_000).toISOString()) },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileInt },
);

const ipArb = fc.oneof(
  fc.constantFrom('203.0.113.7', '10.0.0.0/8', '::1', '2001:db8::/32', '::ffff:10.0.0.1', '0.0.0.0/0', '::/0', '[::1]', 'fe80::1%eth0', '1.2.3.4/33', '1.2.3', '999.1.1.1', '127.1', '0x7f.0.0.1', '1.2.3.4/-1'),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, bits]) => `${ip}/${bits}`),
);

const permissionArb = fc.oneof(
  fc.constantFrom('*', 'tools.read', 'tools.*', 'tokens.verify', 'tokens.*', 'tokens.read', 'admin.*', 'Tools.Read', 'tools.', '.read', 'a.b.c', 'tools read'),
  fc.stringMatching(/^[a-z]{1,8}\.([a-z]{1,8}|\*)$/),
);

const emailArb = (reals: SentinelName[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...reals.map(S)) },
    { weight: 1, arbitrary: fc.constantFrom(...reals.map(S)).map((email) => ` ${email.toUpperCase()} `) },
    { weight: 2, arbitrary: fc.emailAddress() },
    { weight: 1, arbitrary: fc.constantFrom('%', '_', '%@%', '*@example.com', 'a@b', '@', 'a;b@example.com', 'nobody@example.com\u0000') },
  );

const secretArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(S('personalSecret'), S('teamSecret')) },
  { weight: 1, arbitrary: fc.constantFrom(S('personalSecret'), S('teamSecret')).map((secret) => `${secret}x`) },
  { weight: 1, arbitrary: fc.constantFrom(S('personalSecret'), S('teamSecret')).map((secret) => secret.slice(0, -1)) },
  { weight: 2, arbitrary: fc.stringMatching(/^km_[A-Za-z0-9]{40,52}$/) },
  { weight: 1, arbitrary: fc.constantFrom('km_', 'km_' + 'A'.repeat(600), 'KM_abc', 'xx_' + 'A'.repeat(49)) },
);

const timeArb = fc.oneof(
  fc.constantFrom('09:00', '00:00', '23:59', '24:00', '23:60', '9:00', '09:00:00', '-1:00', '12:5', ''),
  fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
);

const timeZoneArb = fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+14', 'Not/AZone', 'utc', '+01:00', 'Europe/../../etc', 'Local');

/** Plausible values by field name (the leaf's name; list elements share their list's), so that some inputs get past validation. */
function plausible(field: string, mutation: string): fc.Arbitrary<unknown> | undefined {
  switch (field) {
    case 'id':
      return mutation === 'deleteTeam' ? idArb(['scratchTeamId']) : idArb(['personalId', 'teamTokenId']);
    case 'teamId':
      if (mutation === 'deleteTeam') return idArb(['scratchTeamId']);
      return idArb(['teamId']);
    case 'tokenId':
      return idArb(['personalId', 'teamTokenId']);
    case 'userId':
    case 'ownerId':
    case 'actorId':
      return idArb(['selfId', 'memberId', 'throwawayId']);
    case 'email':
      return emailArb(['selfEmail', 'memberEmail', 'throwawayEmail']);
    case 'userEmail':
      return mutation === 'adminRevokeUserTokens' ? emailArb(['throwawayEmail']) : emailArb(['selfEmail', 'memberEmail', 'throwawayEmail']);
    case 'token':
    case 'tokens':
      return secretArb;
    case 'expectedPrefix':
      return fc.oneof(fc.constant(S('personalPrefix')), fc.constant(`${S('personalPrefix')}x`), fc.constantFrom('km_', ''));
    case 'verificationId':
      return fc.oneof(fc.constant(S('verificationId')), fc.constant(S('verificationId').toUpperCase()), uuid);
    case 'name':
      return fc.oneof(fc.constant('ok name'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 70 }), fc.constant(' '.repeat(3)));
    case 'description':
    case 'reason':
      return fc.oneof(fc.constant('a reason'), fc.string({ unit: 'grapheme', maxLength: 520 }));
    case 'permissions':
    case 'requiredPermissions':
      return permissionArb;
    case 'ipRestrictions':
    case 'clientIp':
      return ipArb;
    case 'tags':
    case 'tag':
      return fc.oneof(fc.constantFrom('ai', 'ci', 'x'.repeat(33)), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 34 }));
    case 'serverId':
      return fc.oneof(fc.constantFrom('mcp-prod', 'keymint', 'x'.repeat(129)), fc.string({ unit: 'grapheme', maxLength: 130 }));
    case 'timeZone':
      return timeZoneArb;
    case 'startTime':
    case 'endTime':
      return timeArb;
    case 'expiresInDays':
    case 'days':
      return fc.integer({ min: -1, max: 400 });
    case 'gracePeriodSeconds':
      return fc.integer({ min: -1, max: 2_592_001 });
    case 'statusCode':
      return fc.integer({ min: 0, max: 700 });
    case 'responseTimeMs':
      return fc.oneof(fc.double({ min: -1, max: 90_000_000, noNaN: true }), fc.constant(42));
    case 'requestsPerMinute':
    case 'requestsPerHour':
    case 'requestsPerDay':
    case 'maxTotalRequests':
    case 'first':
    case 'limit':
      return fc.integer({ min: -1, max: 1_000_001 });
    case 'expiresAt':
    case 'since':
    case 'until':
      return dateArb;
    case 'after':
      return cursorArb;
    case 'search':
      return fc.oneof(fc.constantFrom('fixture', 'km_', '%', '_', '\\', '%_\\'), graphemes);
    default:
      return undefined;
  }
}

function scalarArb(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'Int':
      return hostileInt;
    case 'Float':
      return hostileInt;
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return dateArb;
    case 'Date':
      return fc.oneof(fc.constantFrom('2026-01-01', '2026-02-30', '0000-00-00'), hostileString);
    case 'JSON':
      return fc.jsonValue({ maxDepth: 2 });
    case 'ID':
      return fc.oneof(idArb(['personalId', 'teamId', 'selfId']), hostileString);
    default:
      return hostileString;
  }
}

/**
 * How hostile a generated input is. `typed`: every value has the declared type and can be stored
 * (hostile only in content: lengths, ranges, formats, SQL, emoji, control characters), so the
 * request reaches the resolvers. `hostile`: also wrong types, nulls where none may go, unknown
 * fields, NUL and unpaired surrogates, numbers beyond Int.
 */
type Mode = 'typed' | 'hostile';

const storable = (value: unknown) => typeof value !== 'string' || (!value.includes('\u0000') && value.isWellFormed());
const isInt32 = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** A leaf value of the declared scalar type, as GraphQL would accept it. */
function typedLeaf(scalar: string, arbitrary: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  switch (scalar) {
    case 'Int':
      return arbitrary.filter(isInt32);
    case 'Float':
      return arbitrary.filter((value) => typeof value === 'number');
    case 'Boolean':
      return arbitrary.filter((value) => typeof value === 'boolean');
    case 'DateTime':
      return arbitrary.filter((value) => typeof value === 'string' && ISO_WITH_ZONE.test(value) && !Number.isNaN(Date.parse(value)));
    case 'String':
    case 'ID':
      return arbitrary.filter((value) => (typeof value === 'string' || (scalar === 'ID' && isInt32(value))) && storable(value));
    default:
      return arbitrary.filter(storable);
  }
}

/** A random value for a GraphQL input type. */
function valueArb(type: GraphQLInputType, path: string[], mutation: string, mode: Mode = 'hostile'): fc.Arbitrary<unknown> {
  const right = rightTyped(type, path, mutation, mode);
  if (mode === 'typed') return isNonNullType(type) ? right : fc.oneof({ weight: 10, arbitrary: right }, { weight: 1, arbitrary: fc.constant(null) });
  const options: fc.WeightedArbitrary<unknown>[] = [
    { weight: 14, arbitrary: right },
    { weight: 1, arbitrary: wrongType },
  ];
  if (!isNonNullType(type)) options.push({ weight: 1, arbitrary: fc.constant(null) });
  return fc.oneof(...options);
}

function rightTyped(type: GraphQLInputType, path: string[], mutation: string, mode: Mode): fc.Arbitrary<unknown> {
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) {
    const element = valueArb(nullable.ofType, path, mutation, mode);
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(element, { maxLength: 4 }) },
      // A single value where a list goes: GraphQL coerces it to a list of one.
      { weight: 1, arbitrary: element },
      // Over any documented length limit.
      { weight: 1, arbitrary: fc.array(element, { minLength: 90, maxLength: 130 }) },
    );
  }
  if (isInputObjectType(nullable)) {
    const fields = Object.values(nullable.getFields());
    const known = new Set(fields.map((field) => field.name));
    const entries = fields.map((field) => {
      const required = isNonNullType(field.type) && field.defaultValue === undefined;
      const value = valueArb(field.type, [...path, field.name], mutation, mode).map((inner) => [field.name, inner] as const);
      if (required && mode === 'typed') return value;
      return fc.option(value, { freq: required ? 15 : 2, nil: undefined });
    });
    const extras =
      mode === 'typed'
        ? fc.constant(undefined)
        : fc.option(
            fc.array(fc.tuple(keyArb.filter((key) => !known.has(key)), fc.oneof(hostileString, hostileInt, fc.constant(null))), { minLength: 1, maxLength: 2 }),
            { freq: 8, nil: undefined },
          );
    return fc.tuple(fc.tuple(...entries), extras).map(([present, extra]) =>
      Object.fromEntries([...present.filter((entry) => entry !== undefined), ...(extra ?? [])]),
    );
  }
  if (isEnumType(nullable)) {
    const names = nullable.getValues().map((value) => value.name);
    if (mode === 'typed') return fc.constantFrom(...names);
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...names) },
      { weight: 1, arbitrary: fc.constantFrom(...names).map((name) => name.toLowerCase()) },
      { weight: 1, arbitrary: fc.constantFrom('NOT_A_VALUE', '', 'true', 'null') },
      { weight: 1, arbitrary: hostileString },
    );
  }
  const scalarName = getNamedType(nullable).name;
  const scalar = scalarArb(scalarName);
  const hinted = plausible(path[path.length - 1]!, mutation);
  const leaf = hinted ? fc.oneof({ weight: 4, arbitrary: hinted }, { weight: 2, arbitrary: scalar }) : scalar;
  return mode === 'typed' ? typedLeaf(scalarName, leaf) : leaf;
}

/** The value as a GraphQL literal, for the inlined form of a request. */
function literal(value: unknown, type: GraphQLInputType | null): string {
  if (value === null || value === undefined) return 'null';
  const nullable = type ? (getNullableType(type) as GraphQLInputType) : null;
  if (Array.isArray(value)) {
    const element = nullable && isListType(nullable) ? (nullable.ofType as GraphQLInputType) : null;
    return `[${value.map((inner) => literal(inner, element)).join(', ')}]`;
  }
  if (typeof value === 'object') {
    const fields = nullable && isInputObjectType(nullable) ? nullable.getFields() : {};
    return `{${Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => `${key}: ${literal(inner, fields[key]?.type ?? null)}`)
      .join(', ')}}`;
  }
  if (typeof value === 'string') {
    const named = type ? getNamedType(type) : null;
    if (named && isEnumType(named) && validName.test(value) && !['true', 'false', 'null'].includes(value)) return value;
    // JSON's escapes are GraphQL's; a lone surrogate escape is a GraphQL syntax error, as it should be.
    return JSON.stringify(value);
  }
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : JSON.stringify(value);
  return String(value);
}

/** Cursors: every shape that is not one this service hands out. */
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const aUuid = '5b0c3a6e-9f1d-4c2b-8a7e-1d2c3b4a5f60';
const BAD_CURSOR_SHAPES: unknown[] = [
  [1e20, 'x'],
  [-1, aUuid],
  ['a', aUuid],
  [1.5, aUuid],
  [Number.MAX_SAFE_INTEGER, aUuid],
  [253_402_300_800_000, aUuid],
  [0, aUuid.toUpperCase()],
  [0, '-'.repeat(36)],
  [0, '0'.repeat(36)],
  [0, 'f'.repeat(36)],
  [0, `${aUuid.slice(0, 35)}-`],
  [0, `-${aUuid.slice(1)}`],
  [0, aUuid.replace(/-/g, '0')],
  [0, `${aUuid.slice(0, 8)}${aUuid.slice(9)}-`],
  [0, `${aUuid}\u0000`],
  [0, `${aUuid.slice(0, 35)}\u0000`],
  [0],
  [],
  [0, aUuid, 1],
  [null, aUuid],
  [0, null],
  ['0', aUuid],
  [true, aUuid],
  [[1], aUuid],
  [0, [aUuid]],
  { at: 0, id: aUuid },
  null,
  0,
  'x',
  `[0,"${aUuid}"`,
];
const strictUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a cursor names a position this service could have handed out: [whole ms since 1970 up to 9999, a lowercase uuid]. */
function isGoodCursor(cursor: string): boolean {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isInteger(value[0]) &&
      (value[0] as number) >= 0 &&
      (value[0] as number) <= 253_402_300_799_999 &&
      typeof value[1] === 'string' &&
      strictUuid.test(value[1])
    );
  } catch {
    return false;
  }
}

const anyCursor: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BAD_CURSOR_SHAPES.map(b64)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(hostileInt, hostileString, fc.constant(null), fc.boolean()), fc.oneof(uuid, hostileString, hostileInt, fc.stringMatching(/^[0-9a-f-]{36}$/)))
      .map(b64),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(b64) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('base64url')) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 60 }) },
  { weight: 2, arbitrary: hostileString },
  // A well-formed cursor: an empty page, not an error.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 253_402_300_799_999 }), uuid).map(b64) },
);
const cursorArb: fc.Arbitrary<unknown> = anyCursor;
const badCursor = anyCursor.filter((cursor) => cursor !== '' && !isGoodCursor(cursor));

// -----------------------------------------------------------------------------------------------
// The mutations

interface MutationSpec {
  name: string;
  /** Who sends it. The destructive ones run as a throwaway user or on a scratch team. */
  callers: Caller[];
  /** A success may have changed the fixtures (they are then rebuilt before the next run). */
  dirties: boolean;
  /** A verification of a real token is a use, recorded even when it is refused. */
  verifies?: boolean;
  /** Inputs run before the random ones: the minimal counterexamples found so far. */
  examples?: unknown[];
}

const MUTATIONS: MutationSpec[] = [
  {
    name: 'mintToken',
    callers: ['self', 'self', 'self', 'member', 'anonymous'],
    dirties: false,
    // Over 50 variable errors: graphql-js adds "Too many errors processing variables", with no code.
    examples: [{ name: 'x', expiresInDays: 30, tags: Array.from({ length: 51 }, () => 1) }],
  },
  { name: 'updateToken', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'rotateToken', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'revokeToken', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'reportLeakedTokens', callers: ['anonymous', 'anonymous', 'self'], dirties: true },
  { name: 'createTeam', callers: ['self', 'self', 'anonymous'], dirties: false },
  {
    name: 'addTeamMember',
    callers: ['self', 'self', 'self', 'member', 'anonymous'],
    dirties: true,
    // A ';' in a value of a query sent through the ORM.
    examples: [{ teamId: S('teamId'), email: 'a;b@example.com', role: 'MEMBER' }],
  },
  { name: 'updateTeamMemberRole', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'removeTeamMember', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'deleteTeam', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: true },
  { name: 'adminRevokeToken', callers: ['admin', 'admin', 'admin', 'self', 'anonymous'], dirties: true },
  { name: 'adminRevokeUserTokens', callers: ['admin', 'admin', 'admin', 'self', 'anonymous'], dirties: false, examples: [{ userEmail: 'a;b@example.com' }] },
  { name: 'revokeAllMyTokens', callers: ['throwaway', 'throwaway', 'anonymous'], dirties: false },
  { name: 'verifyToken', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: false, verifies: true },
  { name: 'reportUsage', callers: ['self', 'self', 'self', 'member', 'anonymous'], dirties: false },
  { name: 'exchangeToken', callers: ['self', 'self', 'anonymous'], dirties: false, verifies: true },
];

const mutationType = schema.getMutationType()!;

function inputArgOf(mutation: string): GraphQLArgument {
  const arg = mutationType.getFields()[mutation]!.args.find((candidate) => candidate.name === 'input');
  if (!arg) throw new Error(`${mutation} takes no input`);
  return arg;
}

function memberNames(type: GraphQLOutputType): Set<string> {
  const named = getNamedType(type);
  return new Set(isUnionType(named) ? named.getTypes().map((member) => member.name) : [named.name]);
}

/** Leaf fields two levels deep (fields with arguments left out): what a client would read back. */
function leaves(type: GraphQLObjectType, depth: number): string {
  const parts: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (field.args.length > 0) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (depth > 0 && isObjectType(named)) parts.push(`${field.name} { ${leaves(named, depth - 1)} }`);
  }
  return parts.length > 0 ? parts.join(' ') : '__typename';
}

function selectionOf(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isUnionType(named)) return `{ __typename ${named.getTypes().map((member) => `... on ${member.name} { ${leaves(member, 2)} }`).join(' ')} }`;
  if (isObjectType(named)) return `{ __typename ${leaves(named, 2)} }`;
  return '';
}

interface Built {
  query: string;
  variables: Record<string, unknown> | undefined;
}

function buildMutation(name: string, input: unknown, inline: boolean): Built {
  const arg = inputArgOf(name);
  const selection = selectionOf(mutationType.getFields()[name]!.type);
  if (inline) return { query: `mutation Fuzz { ${name}(input: ${literal(input, arg.type)}) ${selection} }`, variables: undefined };
  return { query: `mutation Fuzz($input: ${String(arg.type)}) { ${name}(input: $input) ${selection} }`, variables: input === undefined ? {} : { input } };
}

/** A client address for the run: usually a fresh one (leak reports are limited per address), sometimes junk. */
const forwardedArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('fresh') },
  { weight: 1, arbitrary: fc.constantFrom('junk', 'unknown', '::1, ::1, ::1', '300.300.300.300', 'a'.repeat(2_000), '') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }) },
);

function forwardedHeader(choice: string): Record<string, string> {
  return { 'x-forwarded-for': choice === 'fresh' ? nextIp() : choice };
}

// -----------------------------------------------------------------------------------------------

beforeAll(async () => {
  t = await createTestApp({
    env: { RATE_LIMIT_MINTS_PER_MINUTE: '100000', RATE_LIMIT_CHANGES_PER_MINUTE: '100000', TRUST_PROXY: 'true' },
  });
  const [self, member, admin, throwaway] = await Promise.all([
    signIn({ permissions: ['tools.*', 'tokens.verify'] }),
    signIn({ permissions: ['tools.read'] }),
    signIn({ admin: true }),
    signIn({ permissions: ['tools.*'] }),
  ]);
  const rs = await resourceServer(t);
  w = {
    self: self.user,
    selfId: self.id,
    member: member.user,
    memberId: member.id,
    admin: admin.user,
    throwaway: throwaway.user,
    throwawayId: throwaway.id,
    rs,
    teamId: '',
    scratchTeamId: '',
    personal: { id: '', secret: '', prefix: '' },
    teamToken: { id: '', secret: '', prefix: '' },
    verificationId: '',
    dirty: true,
  };
  await rebuildTargets();
  // Something for the panic button to revoke.
  await mintFixture(w.throwaway, {});
  base = await t.listen();
});

afterAll(async () => {
  if (process.env.PROPERTY_STATS) {
    for (const [property, counts] of stats) console.log(`${property}: ${JSON.stringify(Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])))}`);
  }
  await t?.close();
});

describe('every mutation input', () => {
  it('covers every mutation that takes an input', () => {
    const withInput = Object.values(mutationType.getFields())
      .filter((field) => field.args.some((arg) => arg.name === 'input'))
      .map((field) => field.name)
      .sort();
    expect(MUTATIONS.map((spec) => spec.name).sort()).toEqual(withInput);
  });

  for (const spec of MUTATIONS) {
    it(
      `${spec.name}: any input is a success or a typed refusal, and a refusal changes nothing`,
      async () => {
        const arg = inputArgOf(spec.name);
        const members = memberNames(mutationType.getFields()[spec.name]!.type);
        const inputArb = fc.oneof(
          { weight: 12, arbitrary: valueArb(arg.type, [], spec.name, 'typed') },
          { weight: 8, arbitrary: valueArb(arg.type, [], spec.name, 'hostile') },
          { weight: 1, arbitrary: wrongType },
        );
        await fc.assert(
          fc.asyncProperty(inputArb, fc.boolean(), fc.constantFrom(...spec.callers), forwardedArb, async (input, inline, caller, forwarded) => {
            await ensureWorld();
            const { query, variables } = buildMutation(spec.name, resolveSentinels(input), inline);
            const headers = forwardedHeader(forwarded);
            const before = await snapshot();
            const sent = await gql(query, variables, bearerOf(caller), headers);
            const after = await snapshot();
            tally(spec.name, outcomeOf(sent, spec.name));
            const problems = untypedGraphQL(sent, spec.name, members);
            const typename: unknown = sent.body?.data?.[spec.name]?.__typename;
            const refused = hasErrors(sent) || ERROR_MEMBERS.has(typename as string);
            if (refused) {
              let keys = ALL_KEYS;
              if (spec.verifies) {
                // A refused verification of a real token is still a use (usage event, lastUsedAt); only
                // a request refused before any verification ran records nothing.
                const refusedBeforeVerifying =
                  hasErrors(sent) || String(sent.body?.data?.[spec.name]?.message ?? '').includes('cannot be stored');
                keys = ALL_KEYS.filter((key) => key !== 'tokens_digest' && (refusedBeforeVerifying || key !== 'usage_events'));
              }
              problems.push(...changed(before, after, keys).map((change) => `refused (${String(typename ?? 'errors')}) but ${change}`));
            } else if (spec.dirties) {
              w.dirty = true;
            }
            if (problems.length > 0) fail(problems, { caller, headers, query, variables }, { status: sent.status, body: sent.body ?? sent.text });
          }),
          {
            numRuns: RUNS.mutation,
            interruptAfterTimeLimit: TIME_LIMIT,
            examples: (spec.examples ?? []).map((input) => [input, false, spec.callers[0]!, 'fresh'] as [unknown, boolean, Caller, string]),
          },
        );
      },
      TEST_TIMEOUT,
    );
  }
});

// -----------------------------------------------------------------------------------------------
// Unstorable text in every text field of every mutation

interface TextPath {
  mutation: string;
  path: string[];
}

/** Every String and ID leaf under a mutation's input (list elements as index 0), except the metadata a resource server passes on. */
function textPaths(): TextPath[] {
  const out: TextPath[] = [];
  const walk = (mutation: string, type: GraphQLInputType, path: string[], sanitized: boolean) => {
    const nullable = getNullableType(type) as GraphQLInputType;
    if (isListType(nullable)) return walk(mutation, nullable.ofType, [...path, '0'], sanitized);
    if (isInputObjectType(nullable)) {
      for (const field of Object.values(nullable.getFields())) walk(mutation, field.type, [...path, field.name], Boolean(field.extensions?.sanitizedText));
      return;
    }
    const name = getNamedType(nullable).name;
    if ((name === 'String' || name === 'ID') && !sanitized) out.push({ mutation, path });
  };
  for (const spec of MUTATIONS) walk(spec.name, inputArgOf(spec.name).type, [], false);
  return out;
}

/** A valid input for the mutation (required fields only), which the poisoned field is then set into. */
function baseInput(mutation: string): Record<string, unknown> {
  switch (mutation) {
    case 'mintToken':
      return { name: `poison ${randomUUID()}`, expiresInDays: 30 };
    case 'updateToken':
    case 'rotateToken':
    case 'revokeToken':
    case 'adminRevokeToken':
      return { id: S('personalId') };
    case 'reportLeakedTokens':
      return { tokens: [] };
    case 'createTeam':
      return { name: `Poison ${randomUUID()}` };
    case 'addTeamMember':
      return { teamId: S('teamId'), email: S('throwawayEmail'), role: 'MEMBER' };
    case 'updateTeamMemberRole':
      return { teamId: S('teamId'), userId: S('memberId'), role: 'MEMBER' };
    case 'removeTeamMember':
      return { teamId: S('teamId'), userId: S('memberId') };
    case 'deleteTeam':
      return { teamId: S('scratchTeamId') };
    case 'adminRevokeUserTokens':
      return { userEmail: S('throwawayEmail') };
    case 'revokeAllMyTokens':
      return {};
    case 'verifyToken':
    case 'exchangeToken':
      return { token: S('personalSecret') };
    case 'reportUsage':
      return { verificationId: S('verificationId'), statusCode: 200 };
    default:
      throw new Error(`no base input for ${mutation}`);
  }
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  let cursor: any = copy;
  path.forEach((key, index) => {
    const last = index === path.length - 1;
    const nextIsIndex = !last && /^\d+$/.test(path[index + 1]!);
    if (last) cursor[key] = value;
    else {
      cursor[key] ??= nextIsIndex ? [] : {};
      cursor = cursor[key];
    }
  });
  return copy;
}

describe('text PostgreSQL cannot store', () => {
  const paths = textPaths();

  it('is refused in every text field of every mutation, naming the field, and changes nothing', async () => {
    // The fields of the issue are certainly among them.
    for (const expected of ['mintToken name', 'mintToken tags.0', 'updateToken description', 'createTeam name', 'addTeamMember email', 'revokeToken reason']) {
      expect(paths.map((p) => `${p.mutation} ${p.path.join('.')}`)).toContain(expected);
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), poisoned, fc.boolean(), async ({ mutation, path }, bad, inlineIfNul) => {
        fc.pre(bad.includes('\u0000') || !bad.isWellFormed());
        await ensureWorld();
        const spec = MUTATIONS.find((candidate) => candidate.name === mutation)!;
        const input = resolveSentinels(setAt(baseInput(mutation), path, bad));
        // A lone surrogate cannot be written in a GraphQL literal at all: that is a syntax error.
        const inline = inlineIfNul && bad.isWellFormed();
        const { query, variables } = buildMutation(mutation, input, inline);
        const caller = spec.callers[0]!;
        const before = await snapshot();
        const sent = await gql(query, variables, bearerOf(caller), forwardedHeader('fresh'));
        const after = await snapshot();
        const problems = untypedGraphQL(sent, mutation, memberNames(mutationType.getFields()[mutation]!.type));
        const result = sent.body?.data?.[mutation];
        const where = path.join('.');
        if (hasErrors(sent)) {
          const error = sent.body.errors[0];
          if (error?.extensions?.code !== 'BAD_USER_INPUT' || !String(error?.message).includes(where)) {
            problems.push(`expected BAD_USER_INPUT naming ${where}, got ${String(error?.extensions?.code)}: ${String(error?.message)}`);
          }
        } else if (result?.__typename !== 'ValidationError') {
          problems.push(`expected ValidationError naming ${where}, got ${String(result?.__typename)}`);
        } else if (!result.fieldErrors?.some((fieldError: { path: string[] }) => fieldError.path.join('.') === where)) {
          problems.push(`ValidationError does not name ${where}: ${show(result.fieldErrors)}`);
        }
        problems.push(...changed(before, after, ALL_KEYS).map((change) => `refused but ${change}`));
        if (problems.length > 0) {
          if (!hasErrors(sent) && result && !ERROR_MEMBERS.has(result.__typename) && spec.dirties) w.dirty = true;
          fail(problems, { caller, query, variables }, { status: sent.status, body: sent.body ?? sent.text });
        }
      }),
      { numRuns: RUNS.poison * 4, interruptAfterTimeLimit: TIME_LIMIT },
    );
  }, TEST_TIMEOUT);
});

// -----------------------------------------------------------------------------------------------
// Query arguments

interface QueryCase {
  label: string;
  caller: Caller;
  /** Where the arguments are declared. */
  owner: [string, string];
  /** The document, given the argument list ("(a: $a)" or literals) and the world. */
  wrap: (args: string) => string;
  /** Argument values run before the random ones: the minimal counterexamples found so far. */
  examples?: Record<string, unknown>[];
}

const TOKEN_PAGE = `{ totalCount edges { cursor node { id name status prefix tags } } pageInfo { endCursor hasNextPage hasPreviousPage } }`;

const QUERY_CASES: QueryCase[] = [
  { label: 'tokens', caller: 'self', owner: ['Query', 'tokens'], wrap: (a) => `tokens${a} ${TOKEN_PAGE}`, examples: [{ after: b64([0, '-'.repeat(36)]) }, { tag: ';' }, { search: 'a;b' }] },
  { label: 'adminTokens', caller: 'admin', owner: ['Query', 'adminTokens'], wrap: (a) => `adminTokens${a} ${TOKEN_PAGE}`, examples: [{ after: b64([0, 'f'.repeat(36)]) }, { userEmail: 'a;b@example.com' }] },
  {
    label: 'auditEvents',
    caller: 'self',
    owner: ['Query', 'auditEvents'],
    wrap: (a) => `auditEvents${a} { totalCount edges { cursor node { id action at changes clientIp userAgent target { type id } } } pageInfo { endCursor } }`,
    // Instants before year 1 or after 9999 (UTC) are valid DateTimes, but not timestamps PostgreSQL
    // accepts the way PGlite is sent them.
    examples: [
      { filter: { since: '0000-01-01T00:00:00Z' } },
      // 9999-12-31T23:59:59.999999999-23:59 is in the year 10000, UTC.
      { filter: { until: '9999-12-31T23:59:59.999999999-23:59' } },
      { after: b64([0, '0'.repeat(36)]) },
    ],
  },
  { label: 'auditEvents (admin)', caller: 'admin', owner: ['Query', 'auditEvents'], wrap: (a) => `auditEvents${a} { totalCount edges { cursor } }` },
  { label: 'token', caller: 'self', owner: ['Query', 'token'], wrap: (a) => `token${a} { id name status usage { totalRequests } }` },
  { label: 'node', caller: 'self', owner: ['Query', 'node'], wrap: (a) => `node${a} { __typename id }` },
  { label: 'team', caller: 'self', owner: ['Query', 'team'], wrap: (a) => `team${a} { id name members { role user { id } } }` },
  { label: 'tokensExpiringSoon', caller: 'self', owner: ['Query', 'tokensExpiringSoon'], wrap: (a) => `tokensExpiringSoon${a} { id expiresAt }` },
  { label: 'viewer.usage', caller: 'self', owner: ['Viewer', 'usage'], wrap: (a) => `viewer { usage${a} { totalRequests successRate daily { date } } }` },
  {
    label: 'usage.topEndpoints',
    caller: 'self',
    owner: ['UsageStats', 'topEndpoints'],
    wrap: (a) => `viewer { usage(days: 30) { topEndpoints${a} { endpoint count } } }`,
  },
  {
    label: 'token.usage',
    caller: 'self',
    owner: ['Token', 'usage'],
    wrap: (a) => `token(id: ${JSON.stringify(w.personal.id)}) { usage${a} { totalRequests } }`,
  },
  {
    label: 'team.tokens',
    caller: 'self',
    owner: ['Team', 'tokens'],
    wrap: (a) => `team(id: ${JSON.stringify(w.teamId)}) { tokens${a} ${TOKEN_PAGE} }`,
    examples: [{ after: b64([0, aUuid.replace(/-/g, '0')]) }],
  },
  {
    label: 'team.usage',
    caller: 'self',
    owner: ['Team', 'usage'],
    wrap: (a) => `team(id: ${JSON.stringify(w.teamId)}) { usage${a} { totalRequests } }`,
  },
  {
    label: 'team.tokensExpiringSoon',
    caller: 'self',
    owner: ['Team', 'tokensExpiringSoon'],
    wrap: (a) => `team(id: ${JSON.stringify(w.teamId)}) { tokensExpiringSoon${a} { id } }`,
  },
];

function argsOf([typeName, fieldName]: [string, string]): readonly GraphQLArgument[] {
  const type = schema.getType(typeName) as GraphQLObjectType;
  return type.getFields()[fieldName]!.args;
}

/** Values for a field's arguments: required ones always, the others sometimes. */
function argValuesArb(queryCase: QueryCase): fc.Arbitrary<Record<string, unknown>> {
  const args = argsOf(queryCase.owner);
  const hintFor = (arg: GraphQLArgument) => {
    if (queryCase.label === 'node' && arg.name === 'id') return idArb(['personalId', 'teamTokenId', 'teamId', 'selfId']);
    if (queryCase.label === 'team' && arg.name === 'id') return idArb(['teamId', 'scratchTeamId']);
    return fc.oneof(valueArb(arg.type, [arg.name], queryCase.label, 'typed'), valueArb(arg.type, [arg.name], queryCase.label, 'hostile'));
  };
  const entries = args.map((arg) =>
    fc.option(
      hintFor(arg).map((value) => [arg.name, value] as const),
      { freq: isNonNullType(arg.type) ? 20 : 2, nil: undefined },
    ),
  );
  return fc.tuple(...entries).map((present) => Object.fromEntries(present.filter((entry) => entry !== undefined)));
}

function buildQuery(queryCase: QueryCase, values: Record<string, unknown>, inline: boolean): Built {
  const args = argsOf(queryCase.owner);
  const given = args.filter((arg) => arg.name in values);
  if (given.length === 0) return { query: `query Fuzz { ${queryCase.wrap('')} }`, variables: undefined };
  if (inline) {
    const list = given.map((arg) => `${arg.name}: ${literal(values[arg.name], arg.type)}`).join(', ');
    return { query: `query Fuzz { ${queryCase.wrap(`(${list})`)} }`, variables: undefined };
  }
  const declarations = given.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const list = given.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return { query: `query Fuzz(${declarations}) { ${queryCase.wrap(`(${list})`)} }`, variables: Object.fromEntries(given.map((arg) => [arg.name, values[arg.name]])) };
}

describe('query arguments', () => {
  it('covers every root query field that takes arguments', () => {
    const withArgs = Object.values(schema.getQueryType()!.getFields())
      .filter((field) => field.args.length > 0)
      .map((field) => field.name);
    const covered = new Set(QUERY_CASES.filter((c) => c.owner[0] === 'Query').map((c) => c.owner[1]));
    expect(withArgs.filter((name) => !covered.has(name))).toEqual([]);
  });

  for (const queryCase of QUERY_CASES) {
    it(
      `${queryCase.label}: any arguments are answered or refused with a typed error`,
      async () => {
        await fc.assert(
          fc.asyncProperty(argValuesArb(queryCase), fc.boolean(), async (values, inline) => {
            await ensureWorld();
            const { query, variables } = buildQuery(queryCase, resolveSentinels(values) as Record<string, unknown>, inline);
            const sent = await gql(query, variables, bearerOf(queryCase.caller), forwardedHeader('fresh'));
            tally(queryCase.label, outcomeOf(sent, null));
            const problems = untypedGraphQL(sent, null, null);
            if (problems.length > 0) fail(problems, { caller: queryCase.caller, query, variables }, { status: sent.status, body: sent.body ?? sent.text });
          }),
          {
            numRuns: RUNS.query,
            interruptAfterTimeLimit: TIME_LIMIT,
            examples: (queryCase.examples ?? []).map((values) => [values, false] as [Record<string, unknown>, boolean]),
          },
        );
      },
      TEST_TIMEOUT,
    );
  }

  const PAGED = QUERY_CASES.filter((queryCase) => argsOf(queryCase.owner).some((arg) => arg.name === 'after'));

  it('a bad cursor of any shape is BAD_USER_INPUT', async () => {
    expect(PAGED.map((c) => c.label)).toEqual(expect.arrayContaining(['tokens', 'adminTokens', 'auditEvents', 'team.tokens']));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PAGED), badCursor, fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }), fc.boolean(), async (queryCase, after, first, inline) => {
        await ensureWorld();
        const { query, variables } = buildQuery(queryCase, first === undefined ? { after } : { after, first }, inline);
        const sent = await gql(query, variables, bearerOf(queryCase.caller));
        const problems = untypedGraphQL(sent, null, null);
        const codes = (sent.body?.errors ?? []).map((error: any) => error?.extensions?.code);
        if (!codes.includes('BAD_USER_INPUT') && !codes.includes('GRAPHQL_PARSE_FAILED')) {
          problems.push(`expected BAD_USER_INPUT for cursor ${show(Buffer.from(after, 'base64url').toString('utf8'))}, got ${show(codes)}`);
        }
        // A lone surrogate in an inlined cursor cannot even be parsed: only that may be a parse error.
        if (codes.includes('GRAPHQL_PARSE_FAILED') && !(inline && !after.isWellFormed())) problems.push('unexpected parse failure');
        if (problems.length > 0) fail(problems, { caller: queryCase.caller, query, variables }, { status: sent.status, body: sent.body ?? sent.text });
      }),
      {
        numRuns: RUNS.cursor * 2,
        interruptAfterTimeLimit: TIME_LIMIT,
        // 36 characters of hex digits and dashes that are no uuid.
        examples: [[PAGED.find((c) => c.label === 'tokens')!, b64([0, '-'.repeat(36)]), undefined, false]],
      },
    );
  }, TEST_TIMEOUT);

  it('text PostgreSQL cannot store is BAD_USER_INPUT naming the argument', async () => {
    const targets: { queryCase: QueryCase; path: string[] }[] = [];
    for (const queryCase of QUERY_CASES) {
      for (const arg of argsOf(queryCase.owner)) {
        const nullable = getNullableType(arg.type);
        if (isInputObjectType(nullable)) {
          for (const field of Object.values(nullable.getFields())) {
            if (['String', 'ID'].includes(getNamedType(field.type).name)) targets.push({ queryCase, path: [arg.name, field.name] });
          }
        } else if (['String', 'ID'].includes(getNamedType(arg.type).name)) targets.push({ queryCase, path: [arg.name] });
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), poisoned, async ({ queryCase, path }, bad) => {
        fc.pre(bad.includes('\u0000') || !bad.isWellFormed());
        await ensureWorld();
        const values: Record<string, unknown> = path.length === 1 ? { [path[0]!]: bad } : { [path[0]!]: { [path[1]!]: bad } };
        const { query, variables } = buildQuery(queryCase, values, false);
        const sent = await gql(query, variables, bearerOf(queryCase.caller));
        const problems = untypedGraphQL(sent, null, null);
        const error = sent.body?.errors?.[0];
        if (error?.extensions?.code !== 'BAD_USER_INPUT' || !String(error?.message).includes(path.join('.'))) {
          problems.push(`expected BAD_USER_INPUT naming ${path.join('.')}, got ${String(error?.extensions?.code)}: ${String(error?.message)}`);
        }
        if (problems.length > 0) fail(problems, { caller: queryCase.caller, query, variables }, { status: sent.status, body: sent.body ?? sent.text });
      }),
      {
        numRuns: RUNS.poison * 2,
        interruptAfterTimeLimit: TIME_LIMIT,
        examples: [[targets.find((target) => target.queryCase.label === 'node')!, '\u0000']],
      },
    );
  }, TEST_TIMEOUT);
});

// -----------------------------------------------------------------------------------------------
// REST routes, over a real socket

type RestRoute = '/v1/verify' | '/oauth/introspect' | '/v1/usage' | '/v1/leaks';
type Auth = 'none' | 'resource-server' | 'session' | 'no-permission' | 'garbage' | 'fake-token' | 'basic' | 'huge' | 'lowercase-scheme';

function authorizationOf(auth: Auth): string | undefined {
  switch (auth) {
    case 'none':
      return undefined;
    case 'resource-server':
      return `Bearer ${w.rs.secret}`;
    case 'session':
      return `Bearer ${w.self.jwt}`;
    case 'no-permission':
      return `Bearer ${w.member.jwt}`;
    case 'garbage':
      return 'Bearer garbage';
    case 'fake-token':
      return `Bearer km_${'A'.repeat(49)}`;
    case 'basic':
      return 'Basic dXNlcjpwYXNz';
    case 'huge':
      return `Bearer ${'A'.repeat(7_000)}`;
    case 'lowercase-scheme':
      return `bearer ${w.rs.secret}`;
  }
}

const jsonStrings = fc.oneof(hostileString, secretArb);
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileInt,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(keyArb, fc.constantFrom('token', 'tokens', 'verificationId', 'statusCode', 'reports', 'clientIp')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const verifyShaped = fc.record(
  {
    token: fc.oneof(jsonStrings, wrongType),
    requiredPermissions: fc.oneof(fc.array(fc.oneof(permissionArb, hostileString), { maxLength: 3 }), wrongType, fc.array(permissionArb, { minLength: 101, maxLength: 102 })),
    serverId: fc.oneof(hostileString, wrongType),
    clientIp: fc.oneof(ipArb, hostileString, wrongType),
    endpoint: fc.oneof(hostileString, wrongType),
    method: fc.oneof(hostileString, wrongType),
    userAgent: fc.oneof(hostileString, wrongType),
  },
  { requiredKeys: [] },
);

const usageItem = fc.record(
  { verificationId: fc.oneof(uuid, hostileString, wrongType, fc.constant(S('verificationId'))), statusCode: fc.oneof(hostileInt, wrongType), responseTimeMs: fc.oneof(hostileInt, wrongType) },
  { requiredKeys: [] },
);

const NUL_EVERYWHERE = JSON.stringify({
  token: 'km_\u0000',
  tokens: ['\u0000', 'km_\u0000'],
  requiredPermissions: ['\u0000'],
  serverId: '\u0000',
  clientIp: '\u0000',
  endpoint: '\u0000',
  method: '\u0000',
  userAgent: '\u0000',
  verificationId: '\u0000',
  statusCode: 200,
  reports: [{ verificationId: '\u0000', statusCode: 200 }],
});

const HUGE = `{"token":"${'a'.repeat(2 * 1024 * 1024)}"}`;

function bodyArb(route: RestRoute): fc.Arbitrary<string> {
  const common: fc.WeightedArbitrary<string>[] = [
    { weight: 3, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 2, arbitrary: fc.oneof(hostileString, fc.string({ unit: 'binary', maxLength: 200 })) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[', '{"token":', 'null', '""', '0', '{"token":"x"}{"token":"y"}', NUL_EVERYWHERE, '\u0000', '\ufeff{}') },
    { weight: 1, arbitrary: fc.constant(HUGE) },
  ];
  const specific: Record<RestRoute, fc.Arbitrary<string>> = {
    '/v1/verify': verifyShaped.map((value) => JSON.stringify(resolveLater(value))),
    '/oauth/introspect': fc.oneof(
      fc.oneof(jsonStrings, fc.constant('')).map((token) => new URLSearchParams({ token: resolveLater(token) as string }).toString()),
      fc.oneof(jsonStrings, wrongType).map((token) => JSON.stringify({ token: resolveLater(token) })),
      fc.constantFrom('token=%ZZ%00%', 'token=%00', 'token=&token=x', 'token', '=', '&&&', `token=${'%41'.repeat(6_000)}`),
    ),
    '/v1/usage': fc.oneof(
      fc.array(usageItem, { maxLength: 4 }).map((items) => JSON.stringify(resolveLater(items))),
      fc.array(usageItem, { maxLength: 3 }).map((items) => JSON.stringify({ reports: resolveLater(items) })),
      fc.constant(JSON.stringify(Array.from({ length: 1_001 }, () => ({ verificationId: aUuid, statusCode: 200 })))),
    ),
    '/v1/leaks': fc.oneof(
      fc.array(hostileString, { maxLength: 5 }).map((tokens) => JSON.stringify({ tokens })),
      fc.array(fc.record({ token: fc.oneof(hostileString, wrongType), type: hostileString, url: hostileString, source: hostileString }, { requiredKeys: [] }), { maxLength: 3 }).map((items) =>
        JSON.stringify(items),
      ),
      fc.constant(JSON.stringify({ tokens: Array.from({ length: 1_001 }, (_, index) => `km_${index}`) })),
      fc.constant(JSON.stringify({ tokens: 'km_x' })),
    ),
  };
  return fc.oneof({ weight: 5, arbitrary: specific[route] }, ...common);
}

/** Sentinels inside REST bodies are resolved when the body is built: the verified token is the fixture's, as of that run. */
function resolveLater(value: unknown): unknown {
  return resolveSentinels(value);
}

const contentTypeArb = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/json, text/html',
  'application/json; charset=latin1',
  '',
);

/** Junk a client can still send: HTTP header values are visible ASCII, spaces and tabs. */
const headerJunk = fc
  .oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), fc.constantFrom('', ' ', 'a'.repeat(8_000), '\t', '1.2.3.4, junk, ::1', '"; drop table tokens; --'))
  .filter((value) => /^[\t\x20-\x7e]*$/.test(value));

interface RestRequest {
  route: RestRoute;
  auth: Auth;
  contentType: string;
  body: string;
  forwarded: string;
  userAgent: string | undefined;
}

type RestAnswer = { status: number; text: string; body: any } | { failure: string };

/**
 * One request on a connection of its own (node:http, no keep-alive): whether a client reuses a
 * connection after a 413 is the client's business, and must not make these properties flaky.
 */
function post(route: RestRoute, headers: Record<string, string>, body: string | Buffer[]): Promise<RestAnswer> {
  const url = new URL(route, base);
  return new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => resolve({ failure: `response broken off: ${String(error)}` }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed });
      });
    });
    req.on('error', (error) => resolve({ failure: `no response: ${String(error)}` }));
    if (typeof body === 'string') req.end(body);
    else {
      // Streamed (chunked): the size is only known while reading.
      for (const chunk of body) req.write(chunk);
      req.end();
    }
  });
}

function sendRest(request: RestRequest): Promise<RestAnswer> {
  const headers: Record<string, string> = { 'content-type': request.contentType, 'content-length': String(Buffer.byteLength(request.body)) };
  const authorization = authorizationOf(request.auth);
  if (authorization) headers.authorization = authorization;
  headers['x-forwarded-for'] = request.forwarded === 'fresh' ? nextIp() : request.forwarded;
  if (request.userAgent !== undefined) headers['user-agent'] = request.userAgent;
  return post(request.route, headers, request.body);
}

function untypedRest(answer: RestAnswer): string[] {
  if ('failure' in answer) return [answer.failure];
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  // Node's HTTP parser answers 431 (headers over its 16 KB limit) before any Keymint code runs.
  if (answer.status === 431) return problems;
  if (!answer.body || typeof answer.body !== 'object') problems.push(`HTTP ${answer.status} with a body that is not a JSON object`);
  else if (answer.status >= 400 && typeof answer.body.error !== 'string') problems.push(`HTTP ${answer.status} without an "error" string`);
  if (answer.body?.error === 'INTERNAL_SERVER_ERROR') problems.push('{"error":"INTERNAL_SERVER_ERROR"}');
  return problems;
}

describe('REST routes', () => {
  const routes: RestRoute[] = ['/v1/verify', '/oauth/introspect', '/v1/usage', '/v1/leaks'];
  for (const route of routes) {
    it(
      `POST ${route}: any body and headers get a status below 500 and, when refused, a JSON error`,
      async () => {
        const auths: Auth[] =
          route === '/v1/leaks'
            ? ['none', 'none', 'garbage', 'resource-server']
            : ['resource-server', 'resource-server', 'resource-server', 'session', 'none', 'no-permission', 'garbage', 'fake-token', 'basic', 'huge', 'lowercase-scheme'];
        const requestArb = fc.record({
          route: fc.constant(route),
          auth: fc.constantFrom(...auths),
          contentType: route === '/oauth/introspect' ? fc.oneof(fc.constant('application/x-www-form-urlencoded'), contentTypeArb) : fc.oneof(fc.constant('application/json'), contentTypeArb),
          body: bodyArb(route),
          forwarded: fc.oneof({ weight: 6, arbitrary: fc.constant('fresh') }, { weight: 1, arbitrary: headerJunk }),
          userAgent: fc.option(headerJunk, { nil: undefined }),
        });
        await fc.assert(
          fc.asyncProperty(requestArb, async (request) => {
            await ensureWorld();
            const answer = await sendRest(request);
            tally(route, 'status' in answer ? `${answer.status} ${String(answer.body?.error ?? answer.body?.outcome ?? '')}` : 'no response');
            const problems = untypedRest(answer);
            if (problems.length > 0) fail(problems, request, answer);
          }),
          { numRuns: RUNS.rest, interruptAfterTimeLimit: TIME_LIMIT },
        );
      },
      TEST_TIMEOUT,
    );
  }

  it('a body too large for the route is 413 with a JSON error, with a content-length or streamed without one', async () => {
    for (const route of routes) {
      const fixed = await sendRest({ route, auth: 'resource-server', contentType: 'application/json', body: HUGE, forwarded: 'fresh', userAgent: undefined });
      expect(untypedRest(fixed), show({ route, answer: fixed })).toEqual([]);
      expect('status' in fixed && fixed.status).toBe(413);
      const chunk = Buffer.alloc(64 * 1024, 97);
      const streamed = await post(route, { 'content-type': 'application/json', authorization: `Bearer ${w.rs.secret}`, 'x-forwarded-for': nextIp() }, Array.from({ length: 32 }, () => chunk));
      expect(untypedRest(streamed), show({ route, streamed: true, answer: streamed })).toEqual([]);
      expect('status' in streamed && streamed.status).toBe(413);
    }
  });
});

// -----------------------------------------------------------------------------------------------
// Verification metadata: cleaned and cut, never refused; a clientIp that is not an address is refused.

const controlChar = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((code) => String.fromCharCode(code));
const metadataChar = fc.oneof(
  { weight: 3, arbitrary: controlChar },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', '\udfff', '😀', '\u202e', '\u2028') },
);
const metadataArb = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: metadataChar, maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: metadataChar, minLength: 500, maxLength: 700 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '\u0000',
      'GET\u0000',
      '\u0000'.repeat(600),
      Array.from({ length: 0xa0 }, (_, code) => String.fromCharCode(code)).join(''),
      `/path\r\nSet-Cookie: a=b`,
      TEN_K,
      '😀'.repeat(600),
      `${'x'.repeat(511)}😀`,
    ),
  },
);
const metadataRecord = fc.record({ endpoint: metadataArb, method: metadataArb, userAgent: metadataArb }, { requiredKeys: [] });

/** The token only this part verifies: nothing else touches it. */
let metadataTarget: Secretful;

async function storedMetadata(verificationId: string): Promise<Record<'endpoint' | 'method' | 'user_agent', string | null> | undefined> {
  await t.app.usage.flush();
  const rows = await t.orm.em
    .getConnection()
    .execute<Record<'endpoint' | 'method' | 'user_agent', string | null>[]>(`select endpoint, method, user_agent from usage_events where id = ?`, [verificationId]);
  return rows[0];
}

/** What is wrong with the stored metadata, given what was sent. */
function metadataProblems(sent: { endpoint?: string; method?: string; userAgent?: string }, stored: Record<string, string | null> | undefined): string[] {
  if (!stored) return ['no usage event recorded for the verification'];
  const problems: string[] = [];
  const given: Record<keyof typeof METADATA_LIMITS, string | undefined> = { endpoint: sent.endpoint, method: sent.method, user_agent: sent.userAgent };
  for (const column of Object.keys(METADATA_LIMITS) as (keyof typeof METADATA_LIMITS)[]) {
    const value = stored[column];
    const input = given[column];
    const cleaned = (input ?? '').toWellFormed().replace(/\p{Cc}/gu, '');
    if (value === null || value === undefined) {
      if (cleaned !== '') problems.push(`${column} was dropped, though ${show(cleaned.slice(0, 40))} was left after cleaning`);
      continue;
    }
    if (/\p{Cc}/u.test(value)) problems.push(`${column} keeps control characters: ${show(value)}`);
    if (!value.isWellFormed()) problems.push(`${column} keeps an unpaired surrogate`);
    if (Array.from(value).length > METADATA_LIMITS[column]) problems.push(`${column} has ${Array.from(value).length} characters, over ${METADATA_LIMITS[column]}`);
    if (!cleaned.startsWith(value) || value === '') problems.push(`${column} ${show(value)} is not the start of the cleaned input`);
  }
  return problems;
}

const VERIFY_DOC = `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { valid outcome verificationId } }`;

const notAnIp = fc
  .oneof(
    { weight: 2, arbitrary: fc.constantFrom('garbage', '999.1.1.1', '1.2.3', '::g', 'localhost', '1.2.3.4/24', '', ' ', '1.2.3.4, 5.6.7.8', '..', '0x7f.0.0.1', '127.1', '2130706433', '1.2.3.4\u0000', '::1\ud800', '1.2.3.4:80', `${'1'.repeat(70)}`) },
    { weight: 3, arbitrary: hostileString },
  )
  .filter((value) => {
    const zoneless = value.trim().replace(/^\[(.*)\]$/, '$1').split('%')[0]!;
    return isIP(zoneless) === 0;
  });

describe('verification metadata and clientIp', () => {
  beforeAll(async () => {
    metadataTarget = await mintFixture(w.self, { name: `metadata target ${randomUUID()}` });
  });

  it('verifyToken keeps endpoint, method and userAgent cleaned of control characters and cut to their limits', async () => {
    await fc.assert(
      fc.asyncProperty(metadataRecord, fc.option(fc.ipV4(), { nil: undefined }), async (metadata, clientIp) => {
        const input = { token: metadataTarget.secret, ...metadata, ...(clientIp ? { clientIp } : {}) };
        const sent = await gql(VERIFY_DOC, { input }, w.self.jwt);
        const problems = untypedGraphQL(sent, null, null);
        const verification = sent.body?.data?.verifyToken;
        if (verification?.outcome !== 'VALID') problems.push(`expected VALID, got ${show(verification ?? sent.body?.errors)}`);
        else problems.push(...metadataProblems(metadata, await storedMetadata(verification.verificationId)));
        if (problems.length > 0) fail(problems, { query: VERIFY_DOC, variables: { input } }, { status: sent.status, body: sent.body ?? sent.text });
      }),
      { numRuns: RUNS.metadata, interruptAfterTimeLimit: TIME_LIMIT },
    );
  }, TEST_TIMEOUT);

  it('POST /v1/verify keeps endpoint, method and userAgent cleaned of control characters and cut to their limits', async () => {
    // Within the route's 16 KB body limit (a larger body is a 413, tested above).
    const withinLimit = metadataRecord.filter((metadata) => Buffer.byteLength(JSON.stringify(metadata)) < 16_000);
    await fc.assert(
      fc.asyncProperty(withinLimit, fc.constantFrom<Auth>('resource-server', 'session'), async (metadata, auth) => {
        const request: RestRequest = {
          route: '/v1/verify',
          auth,
          contentType: 'application/json',
          body: JSON.stringify({ token: metadataTarget.secret, ...metadata }),
          forwarded: 'fresh',
          userAgent: undefined,
        };
        const answer = await sendRest(request);
        const problems = untypedRest(answer);
        if ('status' in answer) {
          if (answer.status !== 200 || answer.body?.outcome !== 'VALID') problems.push(`expected 200 VALID, got ${answer.status} ${show(answer.body)}`);
          else problems.push(...metadataProblems(metadata, await storedMetadata(answer.body.verificationId)));
        }
        if (problems.length > 0) fail(problems, request, answer);
      }),
      { numRuns: RUNS.metadata, interruptAfterTimeLimit: TIME_LIMIT },
    );
  }, TEST_TIMEOUT);

  it('a clientIp that is not an address: verifyToken BAD_USER_INPUT and /v1/verify 400, both naming it and recording nothing', async () => {
    await fc.assert(
      fc.asyncProperty(notAnIp, fc.boolean(), async (clientIp, overRest) => {
        const input = { token: metadataTarget.secret, clientIp, endpoint: '/x' };
        const before = await snapshot();
        const problems: string[] = [];
        let request: unknown;
        let response: unknown;
        if (overRest) {
          // As a signed-in verifier: an API token caller's own request would be a recorded use.
          const rest: RestRequest = { route: '/v1/verify', auth: 'session', contentType: 'application/json', body: JSON.stringify(input), forwarded: 'fresh', userAgent: undefined };
          const answer = await sendRest(rest);
          request = rest;
          response = answer;
          problems.push(...untypedRest(answer));
          if ('status' in answer && (answer.status !== 400 || !JSON.stringify(answer.body).includes('clientIp'))) {
            problems.push(`expected 400 naming clientIp, got ${answer.status}`);
          }
        } else {
          const sent = await gql(VERIFY_DOC, { input }, w.self.jwt);
          request = { query: VERIFY_DOC, variables: { input } };
          response = { status: sent.status, body: sent.body ?? sent.text };
          problems.push(...untypedGraphQL(sent, null, null));
          const error = sent.body?.errors?.[0];
          if (error?.extensions?.code !== 'BAD_USER_INPUT' || !String(error?.message).includes('clientIp')) {
            problems.push(`expected BAD_USER_INPUT naming clientIp, got ${String(error?.extensions?.code)}: ${String(error?.message)}`);
          }
        }
        const after = await snapshot();
        problems.push(...changed(before, after, ALL_KEYS).map((change) => `refused but ${change}`));
        if (problems.length > 0) fail(problems, request, response);
      }),
      { numRuns: RUNS.clientIp * 2, interruptAfterTimeLimit: TIME_LIMIT },
    );
  }, TEST_TIMEOUT);
});
