import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { MINT, type GraphQLResponse, type TestApp, type TestUser } from '../harness.js';

/**
 * The pieces of the authorization matrix: who calls, the world each row runs in, what a row
 * expects, and how a row is run and judged. The table itself is in authorization-matrix.test.ts.
 */

// ---------------------------------------------------------------------------------------------
// Callers

export const CALLERS = [
  'OWNER_USER',
  'TEAM_OWNER',
  'TEAM_MEMBER',
  'OUTSIDER',
  'ADMIN',
  'TOKEN_WITH',
  'TOKEN_WITHOUT',
  'ANONYMOUS',
] as const;
export type Caller = (typeof CALLERS)[number];

export type Person = 'owner' | 'teamOwner' | 'member' | 'member2' | 'outsider' | 'admin' | 'newcomer';

export interface Account {
  user: TestUser;
  /** The global id, usr_<uuid>. */
  id: string;
}

export interface ApiToken {
  id: string;
  secret: string;
}

/**
 * Everything one row needs, seeded through the API:
 * - owner (OWNER_USER): an OWNER of the team, holds tokens.*; owns `personal`, `teamToken`,
 *   `tokenWith` (['tokens.*']), `tokenWithout` ([]) and, through tokenWith, `child`;
 * - teamOwner (TEAM_OWNER): the team's other OWNER; member and member2: MEMBERs;
 * - outsider: signed in, no relation; admin: a signed-in administrator;
 * - newcomer: signed in once, in no team (the one addTeamMember adds).
 */
export interface World {
  people: Record<Person, Account>;
  teamId: string;
  personal: ApiToken;
  teamToken: ApiToken;
  child: ApiToken;
  tokenWith: ApiToken;
  tokenWithout: ApiToken;
  /** A recorded verification (of `personal`), in the shared world only: for reportUsage. */
  verificationId?: string;
}

const PERSON_OF: Record<Exclude<Caller, 'ANONYMOUS'>, Person> = {
  OWNER_USER: 'owner',
  TEAM_OWNER: 'teamOwner',
  TEAM_MEMBER: 'member',
  OUTSIDER: 'outsider',
  ADMIN: 'admin',
  TOKEN_WITH: 'owner',
  TOKEN_WITHOUT: 'owner',
};

/** What the caller sends as Bearer; undefined for ANONYMOUS. */
export function credentialOf(w: World, caller: Caller): string | undefined {
  if (caller === 'ANONYMOUS') return undefined;
  if (caller === 'TOKEN_WITH') return w.tokenWith.secret;
  if (caller === 'TOKEN_WITHOUT') return w.tokenWithout.secret;
  return w.people[PERSON_OF[caller]].user.jwt;
}

/** The person behind the caller (an API token's owner); null for ANONYMOUS. */
export function personOf(w: World, caller: Caller): Account | null {
  return caller === 'ANONYMOUS' ? null : w.people[PERSON_OF[caller]];
}

// ---------------------------------------------------------------------------------------------
// Seeding

async function account(t: TestApp, session: { permissions?: string[]; admin?: boolean } = {}): Promise<Account> {
  const user = await t.user(session);
  const response = await t.gql(`{ viewer { id } }`, {}, { token: user.jwt });
  if (!response.data?.viewer?.id) throw new Error(`sign-in failed: ${JSON.stringify(response.body)}`);
  return { user, id: response.data.viewer.id };
}

async function mint(t: TestApp, bearer: string, input: Record<string, unknown>): Promise<ApiToken> {
  const response = await t.gql(MINT, { input: { expiresInDays: 30, ...input } }, { token: bearer });
  const result = response.data?.mintToken;
  if (result?.__typename !== 'MintTokenPayload') throw new Error(`seeding mint failed: ${JSON.stringify(response.body)}`);
  return { id: result.token.id, secret: result.secret };
}

async function send(t: TestApp, bearer: string, query: string, variables: Record<string, unknown>, field: string) {
  const response = await t.gql(query, variables, { token: bearer });
  const result = response.data?.[field];
  if (!result || 'message' in result) throw new Error(`seeding ${field} failed: ${JSON.stringify(response.body)}`);
  return result;
}

const CREATE_TEAM = `mutation($input: CreateTeamInput!) { createTeam(input: $input) { __typename ... on Error { message } ... on CreateTeamPayload { team { id } } } }`;
const ADD_MEMBER = `mutation($input: AddTeamMemberInput!) { addTeamMember(input: $input) { __typename ... on Error { message } } }`;

/** A fresh world: new users, a team made with createTeam + addTeamMember, and their tokens. */
export async function seedWorld(t: TestApp): Promise<World> {
  // Signing in is one upsert per user, with no transaction: safe to do at once.
  const [owner, teamOwner, member, member2, outsider, admin, newcomer] = await Promise.all([
    account(t, { permissions: ['tokens.*'] }),
    account(t),
    account(t),
    account(t),
    account(t),
    account(t, { admin: true }),
    account(t),
  ]);
  const people: Record<Person, Account> = { owner, teamOwner, member, member2, outsider, admin, newcomer };
  const created = await send(t, owner.user.jwt, CREATE_TEAM, { input: { name: `Matrix ${randomUUID()}` } }, 'createTeam');
  const teamId: string = created.team.id;
  for (const [who, role] of [
    ['teamOwner', 'OWNER'],
    ['member', 'MEMBER'],
    ['member2', 'MEMBER'],
  ] as const) {
    await send(t, owner.user.jwt, ADD_MEMBER, { input: { teamId, email: people[who].user.email, role } }, 'addTeamMember');
  }
  const jwt = owner.user.jwt;
  const personal = await mint(t, jwt, { name: 'personal' });
  const teamToken = await mint(t, jwt, { name: 'team token', teamId });
  const tokenWith = await mint(t, jwt, { name: 'with tokens.*', permissions: ['tokens.*'], expiresInDays: 60 });
  const tokenWithout = await mint(t, jwt, { name: 'without', permissions: [], expiresInDays: 60 });
  // Minted by the API token itself: a descendant of tokenWith.
  const child = await mint(t, tokenWith.secret, { name: 'child of tokenWith' });
  return { people, teamId, personal, teamToken, child, tokenWith, tokenWithout };
}

const SNAPSHOT = /* GraphQL */ `
  query Snapshot($team: ID!) {
    tokens(includeInactive: true, first: 100) { edges { node { ...T } } }
    team(id: $team) {
      name slug
      members { role user { id } }
      tokens(includeInactive: true, first: 100) { edges { node { ...T owner { id } } } }
    }
  }
  fragment T on Token { id name description status permissions expiresAt revocation { reason revokedBy } }
`;

/** What the owner sees of the world: their tokens, the team, its members and its tokens. */
export async function snapshot(t: TestApp, w: World): Promise<unknown> {
  const response = await t.gql(SNAPSHOT, { team: w.teamId }, { token: w.people.owner.user.jwt });
  if (response.errors) throw new Error(`snapshot failed: ${JSON.stringify(response.body)}`);
  return response.data;
}

// ---------------------------------------------------------------------------------------------
// Ids

export type IdType = 'Token' | 'Team' | 'User' | 'Verification' | 'Email' | 'Secret';

/** A well-formed id of the same type that names nothing (for a secret: like `real`, with its prefix). */
export function randomIdOf(type: IdType, real = ''): string {
  const uuid = randomUUID();
  switch (type) {
    case 'Secret':
      return generateSecret(real.slice(0, Math.max(0, real.lastIndexOf('_'))) || 'km').secret;
    case 'Token':
      return `tok_${uuid}`;
    case 'Team':
      return `team_${uuid}`;
    case 'User':
      return `usr_${uuid}`;
    case 'Verification':
      return uuid;
    case 'Email':
      return `nobody-${uuid}@example.com`;
  }
}

/** Ids that cannot be one of `type`: garbage, and the real id's uuid under another type's prefix. */
export function malformedIdsOf(type: IdType, real: string): string[] {
  const uuid = real.slice(real.indexOf('_') + 1);
  switch (type) {
    case 'Token':
      return ['garbage', 'tok_not-a-uuid', `team_${uuid}`];
    case 'Team':
      return ['garbage', 'team_not-a-uuid', `tok_${uuid}`];
    case 'User':
      return ['garbage', 'usr_not-a-uuid', `tok_${uuid}`];
    case 'Verification':
      return ['garbage'];
    case 'Email':
      return ['not-an-email'];
    case 'Secret':
      return ['not-a-token'];
  }
}

function getPath(value: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], value);
}

function withPath(value: Record<string, unknown>, path: string, replacement: unknown): Record<string, unknown> {
  const copy = structuredClone(value);
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = replacement;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Expectations

export type Expectation =
  /** The operation does its work (the case's `ok` check says what that means). */
  | { kind: 'ok' }
  /** Hidden or absent: `{ data: { field: null } }`, no errors entry. */
  | { kind: 'null' }
  /** Hidden or absent, for a list: the case's `isEmpty` holds. */
  | { kind: 'empty' }
  /** A NotFoundError member of the result union: hidden or absent. */
  | { kind: 'notFound'; message: string }
  /** A ForbiddenError member of the result union. */
  | { kind: 'forbidden'; message: string }
  /** A ValidationError member of the result union. */
  | { kind: 'validation'; message: string }
  /** A GraphQL error with extensions.code FORBIDDEN (HTTP 403): fields without a result union. */
  | { kind: 'forbiddenError'; message: string }
  /** No credentials: a GraphQL error with extensions.code UNAUTHENTICATED (HTTP 401). */
  | { kind: 'unauthenticated' };

/** A cell whose correct value `src/` does not give yet: run apart, under KNOWN BUGS. */
export interface KnownBug {
  bug: string;
  expected: Expectation;
}
export type Cell = Expectation | KnownBug;

export const isKnownBug = (cell: Cell): cell is KnownBug => 'bug' in cell;

export const OK: Expectation = { kind: 'ok' };
export const NULL: Expectation = { kind: 'null' };
export const EMPTY: Expectation = { kind: 'empty' };
export const UNAUTHENTICATED: Expectation = { kind: 'unauthenticated' };
export const notFound = (message: string): Expectation => ({ kind: 'notFound', message });
export const forbidden = (message: string): Expectation => ({ kind: 'forbidden', message });
export const validation = (message: string): Expectation => ({ kind: 'validation', message });
export const forbiddenError = (message: string): Expectation => ({ kind: 'forbiddenError', message });
export const knownBug = (bug: string, expected: Expectation): KnownBug => ({ bug, expected });

export const TOKEN_NOT_FOUND = 'Token not found';
export const TEAM_NOT_FOUND = 'Team not found';
export const NO_SUCH_MEMBER = 'No such member in this team';
export const ADMIN_ONLY = 'Administrators only';
export const SESSION_ONLY = 'This needs a signed-in user, not an API token';
export const OWNERS_ONLY = 'Only the team’s owners may do this';
export const SEE_NOT_CHANGE = 'You may see this token but not change it';
export const OWNER_ROTATES =
  "Only the token's owner (or an API token of its own lineage holding tokens.update) may rotate it: a new secret would act as the owner. Team owners and administrators may revoke it instead.";
export const VERIFIER_ONLY = "Verifying tokens needs the 'tokens.verify' permission (an API token must name it in its own list)";
export const MINTS_FOR_OWN_OWNER = 'An API token mints only for its own owner';
export const needs = (permission: string) =>
  `This API token may not do this: its own permissions must include '${permission}'`;

/**
 * Refusals that depend only on the caller (checked before any object is looked at): the answer
 * must be the same whatever id is sent.
 */
const CALLER_LEVEL = new Set([
  ADMIN_ONLY,
  SESSION_ONLY,
  VERIFIER_ONLY,
  ...['tokens.create', 'tokens.read', 'tokens.update', 'tokens.revoke'].map(needs),
]);

/** The NotFoundError that means "no such object" for each kind of id. */
const MISSING: Record<IdType, string> = {
  Token: TOKEN_NOT_FOUND,
  Team: TEAM_NOT_FOUND,
  User: NO_SUCH_MEMBER,
  Verification: 'No verification with this id',
  Email: 'No user with this email',
  Secret: 'not applicable',
};

/**
 * Which other ids must get a byte-for-byte identical answer: every answer that hides the object
 * named by the slot, and every refusal that depends only on the caller (at the root field).
 */
function comparedIds(e: Expectation, slot: IdType, response: GraphQLResponse): { random: boolean; malformed: boolean } {
  const atRoot = (response.errors?.[0]?.path?.length ?? 1) === 1;
  switch (e.kind) {
    case 'null':
    case 'empty':
    case 'unauthenticated':
      return { random: true, malformed: true };
    case 'notFound':
      return e.message === MISSING[slot] ? { random: true, malformed: true } : { random: false, malformed: false };
    case 'forbidden':
      // Checked once the ids have parsed: the same for any well-formed id.
      if (e.message === MINTS_FOR_OWN_OWNER) return { random: true, malformed: false };
      return CALLER_LEVEL.has(e.message) && atRoot ? { random: true, malformed: true } : { random: false, malformed: false };
    case 'forbiddenError':
      return CALLER_LEVEL.has(e.message) && atRoot ? { random: true, malformed: true } : { random: false, malformed: false };
    case 'validation':
      // The same for any well-formed id; a malformed one may be refused earlier, differently.
      return { random: true, malformed: false };
    case 'ok':
      return { random: false, malformed: false };
  }
}

export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'ok':
      return 'success';
    case 'null':
      return 'null';
    case 'empty':
      return 'empty list';
    case 'unauthenticated':
      return 'UNAUTHENTICATED';
    case 'forbiddenError':
      return 'FORBIDDEN error';
    case 'notFound':
      return `NotFoundError "${e.message}"`;
    case 'forbidden':
      return `ForbiddenError "${e.message}"`;
    case 'validation':
      return `ValidationError "${e.message}"`;
  }
}

/** What a response amounts to, in the terms of an Expectation (plus the HTTP status). */
function observe(response: GraphQLResponse, field: string, c: Case): Record<string, unknown> {
  const error = response.errors?.[0];
  if (error) {
    const code = error.extensions?.code;
    if (code === 'UNAUTHENTICATED') return { status: response.status, kind: 'unauthenticated' };
    if (code === 'FORBIDDEN') return { status: response.status, kind: 'forbiddenError', message: error.message };
    return { status: response.status, kind: 'error', code, message: error.message };
  }
  const value = response.data?.[field];
  if (value === null) return { status: response.status, kind: 'null' };
  const typename = value?.__typename;
  if (typename === 'NotFoundError') return { status: response.status, kind: 'notFound', message: value.message };
  if (typename === 'ForbiddenError') return { status: response.status, kind: 'forbidden', message: value.message };
  if (typename === 'ValidationError') return { status: response.status, kind: 'validation', message: value.message };
  if (c.okType === undefined || typename === c.okType) return { status: response.status, kind: c.isEmpty?.(value) ? 'empty' : 'ok' };
  return { status: response.status, kind: 'unexpected', typename };
}

function statusOf(e: Expectation): number {
  if (e.kind === 'unauthenticated') return 401;
  if (e.kind === 'forbiddenError') return 403;
  return 200;
}

// ---------------------------------------------------------------------------------------------
// Cases and rows

export interface OkCheck {
  t: TestApp;
  w: World;
  caller: Caller;
  /** The root field's value. */
  data: any;
}

/** One operation on one target; run once per caller listed in `expected`. */
export interface Case {
  /** Readable name: operation · target. */
  name: string;
  /** The root field, "Query.token" or "Mutation.revokeToken". */
  field: string;
  document: string;
  variables: (w: World, caller: Caller) => Record<string, unknown>;
  /** The object id that the byte-for-byte rule varies, as a path into the variables. */
  slot?: { path: string; type: IdType; malformed?: false };
  /** The union member returned on success; none for plain fields. */
  okType?: string;
  /** Changes state when it succeeds: each row gets a fresh world, checked unchanged after a refusal. */
  mutates: boolean;
  /** For a list: whether the answer shows nothing (what hiding looks like). */
  isEmpty?: (data: any) => boolean;
  /** The answer must not depend on the id even on success (a report that cannot be used as an oracle). */
  sameAnswerForAnyId?: boolean;
  /**
   * A subscription: sent as server-sent events, judged by its first event. Where it succeeds,
   * `trigger` makes something happen (called again, with the next attempt, until an event comes).
   */
  subscription?: { trigger: (t: TestApp, w: World, attempt: number) => Promise<unknown> };
  expected: Partial<Record<Caller, Cell>>;
  /** What success must mean, beyond the result's type. */
  ok?: (check: OkCheck) => void | Promise<void>;
}

export interface Row {
  case: Case;
  caller: Caller;
  expected: Expectation;
  bug?: string;
  label: string;
}

export function rowsOf(cases: Case[]): Row[] {
  return cases.flatMap((c) =>
    CALLERS.filter((caller) => c.expected[caller] !== undefined).map((caller) => {
      const cell = c.expected[caller]!;
      const expected = isKnownBug(cell) ? cell.expected : cell;
      const bug = isKnownBug(cell) ? cell.bug : undefined;
      const label = `${bug ? `[${bug}] ` : ''}${c.name} — as ${caller} → ${describeExpectation(expected)}`;
      return { case: c, caller, expected, bug, label };
    }),
  );
}

const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));

/** Subscribes over server-sent events and returns the first event as if it were a response. */
async function firstEvent(
  t: TestApp,
  query: string,
  variables: Record<string, unknown>,
  bearer: string | undefined,
  trigger: ((attempt: number) => Promise<unknown>) | null,
): Promise<GraphQLResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await t.app.yoga.fetch('http://keymint.test/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 10_000;
  let text = '';
  let attempt = 0;
  let pending = reader.read();
  try {
    while (!/^data: /m.test(text)) {
      if (Date.now() > deadline) throw new Error(`no event within 10 s: ${JSON.stringify(text)}`);
      const chunk = await Promise.race([pending, sleep(250)]);
      if (chunk === null) {
        if (trigger) await trigger(attempt++);
        continue;
      }
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      pending = reader.read();
    }
  } finally {
    await reader.cancel();
  }
  const line = /^data: (.*)$/m.exec(text);
  if (!line) throw new Error(`the stream ended without an event: ${JSON.stringify(text)}`);
  const body = JSON.parse(line[1]!);
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, body };
}

const PLACEHOLDER = '<ID>';

/** The response as bytes, with one id replaced by a placeholder. */
function bytesWithout(response: GraphQLResponse, id: string): string {
  return `${response.status} ${JSON.stringify(response.body).split(id).join(PLACEHOLDER)}`;
}

const caseWorlds = new WeakMap<Case, Promise<World>>();
/** What the owner last saw of a world shared by refusals. */
const lastSeen = new WeakMap<World, unknown>();

/**
 * The world a row runs in. Reads share one world. An operation that changes state gets a fresh
 * world for each row where it succeeds, and one world per case for the rows where it is refused:
 * each refusal is checked to leave that world exactly as it found it.
 */
function worldFor(t: TestApp, row: Row, shared: World): Promise<World> {
  if (!row.case.mutates) return Promise.resolve(shared);
  if (row.expected.kind === 'ok' || row.expected.kind === 'empty') return seedWorld(t);
  let world = caseWorlds.get(row.case);
  if (!world) caseWorlds.set(row.case, (world = seedWorld(t)));
  return world;
}

/**
 * Runs one row: checks the outcome; for a refusal that must not reveal anything, compares the
 * answer with the answers for a random and for malformed ids; and after a refused mutation,
 * checks that the owner sees exactly what they saw before.
 */
export async function runRow(t: TestApp, row: Row, shared: World): Promise<void> {
  const { case: c, caller, expected } = row;
  const w = await worldFor(t, row, shared);
  // A refusal leaves the world as it was: the last refusal's "after" is this one's "before".
  const refused = expected.kind !== 'ok' && expected.kind !== 'empty';
  const before = c.mutates && refused ? (lastSeen.get(w) ?? (await snapshot(t, w))) : null;
  const bearer = credentialOf(w, caller);
  const sub = c.subscription;
  const trigger = sub && expected.kind === 'ok' ? (attempt: number) => sub.trigger(t, w, attempt) : null;
  const call = (variables: Record<string, unknown>) =>
    sub ? firstEvent(t, c.document, variables, bearer, trigger) : t.gql(c.document, variables, { token: bearer });
  const field = c.field.split('.')[1]!;

  const variables = c.variables(w, caller);
  const response = await call(variables);
  const body = JSON.stringify(response.body);
  const wanted =
    'message' in expected
      ? { status: statusOf(expected), kind: expected.kind, message: expected.message }
      : { status: statusOf(expected), kind: expected.kind };
  expect(observe(response, field, c), `${row.label}\nresponse: ${body}`).toEqual(wanted);

  if (expected.kind === 'ok') {
    await c.ok?.({ t, w, caller, data: response.data[field] });
    if (!c.sameAnswerForAnyId) return;
  }

  if (c.slot) {
    const real = getPath(variables, c.slot.path);
    if (typeof real !== 'string') throw new Error(`${row.label}: no id at ${c.slot.path}`);
    const compare = expected.kind === 'ok' ? { random: true, malformed: false } : comparedIds(expected, c.slot.type, response);
    const others = [
      ...(compare.random ? [randomIdOf(c.slot.type, real)] : []),
      ...(compare.malformed && c.slot.malformed !== false ? malformedIdsOf(c.slot.type, real) : []),
    ];
    for (const other of others) {
      const answer = await call(withPath(variables, c.slot.path, other));
      expect(
        bytesWithout(answer, other),
        `${row.label}\nthe answer for ${c.slot.path} = ${other} differs from the answer for the real ${c.slot.type} ${real}`,
      ).toBe(bytesWithout(response, real));
    }
  }

  if (before !== null) {
    const after = await snapshot(t, w);
    lastSeen.set(w, after);
    expect(after, `${row.label}\nthe refusal changed what the owner sees`).toEqual(before);
  }
}
