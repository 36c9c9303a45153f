import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../harness.js';
import {
  ADMIN_ONLY,
  CALLERS,
  MINTS_FOR_OWN_OWNER,
  NO_SUCH_MEMBER,
  EMPTY,
  NULL,
  OK,
  OWNERS_ONLY,
  SEE_NOT_CHANGE,
  OWNER_ROTATES,
  SESSION_ONLY,
  TEAM_NOT_FOUND,
  TOKEN_NOT_FOUND,
  UNAUTHENTICATED,
  VERIFIER_ONLY,
  forbidden,
  forbiddenError,
  needs,
  notFound,
  personOf,
  randomIdOf,
  rowsOf,
  runRow,
  seedWorld,
  validation,
  type Caller,
  type Case,
  type Expectation,
  type Cell,
  type OkCheck,
  type World,
} from './matrix-helpers.js';

/**
 * The authorization matrix: every root field that takes an id, run as each kind of caller, against
 * what the rules say. An answer that hides an object must be, byte for byte (but the id), the
 * answer for an id that names nothing; a refused mutation changes nothing; and a root field added
 * to the schema without being listed here fails the first test.
 *
 * A cell src/ got wrong can be marked knownBug(...) while it is being fixed: it then runs apart,
 * as it.fails (SECURITY_STRICT=1 runs it as a plain test). None is marked today.
 */

let t: TestApp;
let shared: World;

beforeAll(async () => {
  t = await createTestApp();
  shared = await seedWorld(t);
  // A recorded verification, for reportUsage: a resource server checks the owner's personal token.
  const server = await t.user({ permissions: ['tokens.verify'] });
  const verified = await t.gql(
    `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { valid verificationId } }`,
    { input: { token: shared.personal.secret } },
    { token: server.jwt },
  );
  if (!verified.data?.verifyToken?.valid) throw new Error(`verification failed: ${JSON.stringify(verified.body)}`);
  shared.verificationId = verified.data.verifyToken.verificationId;
});
afterAll(async () => t?.close());

// -----------------------------------------------------------------------------------------------
// Every root field, with the object ids it takes (as paths into its arguments). Adding a field or
// an id argument without listing it here fails the first test; every id listed here must be the
// one varied by at least one case below.

const ROOT_FIELDS: Record<string, string[]> = {
  'Query.adminTokens': ['teamId'],
  'Query.auditEvents': ['filter.actorId', 'filter.teamId', 'filter.tokenId'],
  'Query.node': ['id'],
  'Query.team': ['id'],
  'Query.teams': [],
  'Query.token': ['id'],
  'Query.tokens': [],
  'Query.tokensExpiringSoon': [],
  'Query.viewer': [],
  'Mutation.addTeamMember': ['input.teamId'],
  'Mutation.adminRevokeToken': ['input.id'],
  'Mutation.adminRevokeUserTokens': [],
  'Mutation.createTeam': [],
  'Mutation.deleteTeam': ['input.id', 'input.teamId'],
  'Mutation.exchangeToken': [],
  'Mutation.mintToken': ['input.ownerId', 'input.teamId'],
  'Mutation.removeTeamMember': ['input.teamId', 'input.userId'],
  'Mutation.reportLeakedTokens': [],
  'Mutation.reportUsage': ['input.verificationId'],
  'Mutation.revokeAllMyTokens': [],
  'Mutation.revokeToken': ['input.id'],
  'Mutation.rotateToken': ['input.id'],
  'Mutation.updateTeamMemberRole': ['input.teamId', 'input.userId'],
  'Mutation.updateToken': ['input.id'],
  'Mutation.verifyToken': [],
  'Subscription.tokenEvents': [],
};

// -----------------------------------------------------------------------------------------------
// Documents

const TOKEN = `query($id: ID!) { token(id: $id) { id name } }`;
const NODE_TOKEN = `query($id: ID!) { node(id: $id) { __typename id ... on Token { name usage { totalRequests } } } }`;
const NODE_TEAM = `query($id: ID!) { node(id: $id) { __typename id ... on Team { name } } }`;
const NODE_TEAM_USAGE = `query($id: ID!) { node(id: $id) { __typename id ... on Team { usage { totalRequests } } } }`;
const NODE_USER = `query($id: ID!) { node(id: $id) { __typename id } }`;
const TEAM = `query($id: ID!) { team(id: $id) { id name members { role user { id } } } }`;
const TEAM_TOKENS = `query($id: ID!) { team(id: $id) { id tokens(includeInactive: true) { edges { node { id } } } } }`;
const ADMIN_TOKENS = `query($teamId: ID) { adminTokens(teamId: $teamId, includeInactive: true) { totalCount } }`;
const VIEWER = `{ viewer { id authMethod } }`;
const TEAMS = `{ teams { id } }`;
const TOKENS = `{ tokens(includeInactive: true) { totalCount } }`;
const EXPIRING = `{ tokensExpiringSoon(days: 366) { id } }`;
const AUDIT = `query($filter: AuditEventFilter) { auditEvents(filter: $filter) { totalCount edges { node { action } } } }`;

const union = (field: string, inputType: string, payload: string) =>
  `mutation($input: ${inputType}!) { ${field}(input: $input) { __typename ... on Error { message } ${payload} } }`;

const UPDATE = union('updateToken', 'UpdateTokenInput', '... on UpdateTokenPayload { token { id name } }');
const REVOKE_PAYLOAD = '... on RevokeTokenPayload { token { id status revocation { revokedBy } } }';
const REVOKE = union('revokeToken', 'RevokeTokenInput', REVOKE_PAYLOAD);
const ROTATE = union('rotateToken', 'RotateTokenInput', '... on RotateTokenPayload { token { id } secret }');
const ADMIN_REVOKE = union('adminRevokeToken', 'AdminRevokeTokenInput', REVOKE_PAYLOAD);
const MINT = union('mintToken', 'MintTokenInput', '... on MintTokenPayload { token { id owner { id } team { id } } }');
const MEMBER_PAYLOAD = (name: string) => `... on ${name} { member { role user { id } } }`;
const ADD_MEMBER = union('addTeamMember', 'AddTeamMemberInput', MEMBER_PAYLOAD('AddTeamMemberPayload'));
const UPDATE_ROLE = union('updateTeamMemberRole', 'UpdateTeamMemberRoleInput', MEMBER_PAYLOAD('UpdateTeamMemberRolePayload'));
const REMOVE_MEMBER = union('removeTeamMember', 'RemoveTeamMemberInput', '... on RemoveTeamMemberPayload { team { id } }');
const DELETE_TEAM = union('deleteTeam', 'DeleteTeamInput', '... on DeleteTeamPayload { team { id } }');
const CREATE_TEAM = union('createTeam', 'CreateTeamInput', '... on CreateTeamPayload { team { id viewerRole } }');
const REVOKE_ALL = union('revokeAllMyTokens', 'RevokeAllMyTokensInput', '... on RevokeAllMyTokensPayload { revokedCount }');
const ADMIN_REVOKE_USER = union(
  'adminRevokeUserTokens',
  'AdminRevokeUserTokensInput',
  '... on AdminRevokeUserTokensPayload { revokedCount userEmail }',
);
const REPORT_USAGE = union('reportUsage', 'ReportUsageInput', '... on ReportUsagePayload { verificationId }');
const EXCHANGE = union('exchangeToken', 'ExchangeTokenInput', '... on ExchangeTokenPayload { jwt }');
const REPORT_LEAKS = union('reportLeakedTokens', 'ReportLeakedTokensInput', '... on ReportLeakedTokensPayload { received }');
const TOKEN_EVENTS = `subscription { tokenEvents { type tokenId } }`;
const VERIFY = `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { valid outcome } }`;

// -----------------------------------------------------------------------------------------------
// What success means, checked as the owner where it matters

type TokenName = 'personal' | 'teamToken' | 'child' | 'tokenWith' | 'tokenWithout';
const TOKEN_NAMES: TokenName[] = ['personal', 'teamToken', 'child', 'tokenWith', 'tokenWithout'];

async function statusAsOwner(w: World, token: TokenName): Promise<string | null> {
  const response = await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: w[token].id }, { token: w.people.owner.user.jwt });
  return response.data?.token?.status ?? null;
}

async function statusesAsOwner(w: World): Promise<Record<TokenName, string | null>> {
  const entries = [];
  for (const name of TOKEN_NAMES) entries.push([name, await statusAsOwner(w, name)] as const);
  return Object.fromEntries(entries) as Record<TokenName, string | null>;
}

async function teamAs(w: World, jwt: string) {
  return (await t.gql(TEAM, { id: w.teamId }, { token: jwt })).data?.team ?? null;
}

const emailOf = (w: World, caller: Caller) => personOf(w, caller)!.user.email;

/** The caller's own user id (a random one for ANONYMOUS, who has none). */
const selfId = (w: World, caller: Caller) => personOf(w, caller)?.id ?? randomIdOf('User');

const returnsToken =
  (token: TokenName) =>
  ({ w, data }: OkCheck) =>
    expect(data.id).toBe(w[token].id);

const renamed =
  (token: TokenName) =>
  async ({ w, data }: OkCheck) => {
    expect(data.token).toEqual({ id: w[token].id, name: 'renamed' });
    const seen = await t.gql(TOKEN, { id: w[token].id }, { token: w.people.owner.user.jwt });
    expect(seen.data.token.name).toBe('renamed');
  };

const revoked =
  (token: TokenName) =>
  async ({ w, caller, data }: OkCheck) => {
    expect(data.token.status).toBe('REVOKED');
    expect(data.token.revocation.revokedBy).toBe(emailOf(w, caller));
    expect(await statusAsOwner(w, token)).toBe('REVOKED');
  };

const rotated =
  (token: TokenName) =>
  async ({ w, data }: OkCheck) => {
    expect(data.token.id).toBe(w[token].id);
    expect(data.secret).not.toBe(w[token].secret);
    // The new secret authenticates as the same token.
    const viewer = await t.gql(`{ viewer { token { id } } }`, {}, { token: data.secret });
    expect(viewer.data?.viewer.token).toEqual({ id: w[token].id });
  };

const mintedInTeam =
  (owner: (w: World, caller: Caller) => string) =>
  ({ w, caller, data }: OkCheck) => {
    expect(data.token.team).toEqual({ id: w.teamId });
    expect(data.token.owner).toEqual({ id: owner(w, caller) });
  };

async function roleOf(w: World, userId: string): Promise<string | null> {
  const team = await teamAs(w, w.people.owner.user.jwt);
  return team?.members.find((m: { user: { id: string } }) => m.user.id === userId)?.role ?? null;
}

// -----------------------------------------------------------------------------------------------
// The matrix. Callers: OWNER_USER owns the target (and is an OWNER of the team), TEAM_OWNER is the
// team's other OWNER, TEAM_MEMBER a MEMBER, OUTSIDER has no relation, ADMIN a signed-in
// administrator, TOKEN_WITH / TOKEN_WITHOUT API tokens of OWNER_USER with ['tokens.*'] / [].
// Targets: `personal` and `teamToken` of OWNER_USER, and `child`, minted by TOKEN_WITH itself.

const tokenSlot = { path: 'id', type: 'Token' } as const;
const inputTokenSlot = { path: 'input.id', type: 'Token' } as const;
/** Malformed team ids have cases of their own (MALFORMED_TEAM_ID_CASES), with their answers. */
const teamSlot = { path: 'input.teamId', type: 'Team', malformed: false } as const;

const TOKEN_QUERY_CASES: Case[] = (
  [
    ['personal', { TEAM_OWNER: NULL, TOKEN_WITH: NULL }],
    ['teamToken', { TEAM_OWNER: OK, TOKEN_WITH: NULL }],
    ['child', { TEAM_OWNER: NULL, TOKEN_WITH: OK }],
  ] as const
).flatMap(([target, differs]): Case[] => [
  {
    name: `token(id) · ${target}`,
    field: 'Query.token',
    document: TOKEN,
    variables: (w) => ({ id: w[target].id }),
    slot: tokenSlot,
    mutates: false,
    expected: {
      OWNER_USER: OK,
      TEAM_MEMBER: NULL,
      OUTSIDER: NULL,
      ADMIN: OK,
      TOKEN_WITHOUT: forbiddenError(needs('tokens.read')),
      ANONYMOUS: UNAUTHENTICATED,
      ...differs,
    },
    ok: returnsToken(target),
  },
  {
    name: `node(id) · ${target} (with Token.usage)`,
    field: 'Query.node',
    document: NODE_TOKEN,
    variables: (w) => ({ id: w[target].id }),
    slot: tokenSlot,
    mutates: false,
    expected: {
      OWNER_USER: OK,
      TEAM_MEMBER: NULL,
      OUTSIDER: NULL,
      ADMIN: OK,
      // node(id) asks only that the token be visible: a token outside the lineage is absent.
      TOKEN_WITHOUT: NULL,
      ANONYMOUS: UNAUTHENTICATED,
      ...differs,
    },
    ok: ({ w, data }) => {
      expect(data).toMatchObject({ __typename: 'Token', id: w[target].id, usage: { totalRequests: expect.any(Number) } });
    },
  },
]);

/** Members and administrators see the team; an API token acts for its owner, a member. */
const TEAM_VISIBLE = {
  OWNER_USER: OK,
  TEAM_OWNER: OK,
  TEAM_MEMBER: OK,
  OUTSIDER: NULL,
  ADMIN: OK,
  TOKEN_WITH: OK,
  TOKEN_WITHOUT: OK,
  ANONYMOUS: UNAUTHENTICATED,
} as const;

const TEAM_QUERY_CASES: Case[] = [
  {
    name: 'node(id) · team',
    field: 'Query.node',
    document: NODE_TEAM,
    variables: (w) => ({ id: w.teamId }),
    slot: { path: 'id', type: 'Team' },
    mutates: false,
    expected: TEAM_VISIBLE,
    ok: ({ w, data }) => expect(data).toMatchObject({ __typename: 'Team', id: w.teamId }),
  },
  {
    name: 'team(id)',
    field: 'Query.team',
    document: TEAM,
    variables: (w) => ({ id: w.teamId }),
    slot: { path: 'id', type: 'Team', malformed: false },
    mutates: false,
    expected: TEAM_VISIBLE,
    ok: ({ w, data }) => {
      expect(data.id).toBe(w.teamId);
      expect(data.members).toHaveLength(4);
    },
  },
  {
    name: 'node(id) · team, with Team.usage (owners only)',
    field: 'Query.node',
    document: NODE_TEAM_USAGE,
    variables: (w) => ({ id: w.teamId }),
    slot: { path: 'id', type: 'Team' },
    mutates: false,
    expected: {
      ...TEAM_VISIBLE,
      TEAM_MEMBER: forbiddenError(OWNERS_ONLY),
      // Viewer.usage and Team.tokens refuse an API token without tokens.read; Team.usage does not.
      TOKEN_WITHOUT: forbiddenError(needs('tokens.read')),
    },
    ok: ({ data }) => expect(data.usage.totalRequests).toEqual(expect.any(Number)),
  },
  {
    name: 'team(id).tokens · owners see every team token, a member only their own',
    field: 'Query.team',
    document: TEAM_TOKENS,
    variables: (w) => ({ id: w.teamId }),
    slot: { path: 'id', type: 'Team', malformed: false },
    mutates: false,
    expected: { ...TEAM_VISIBLE, TOKEN_WITHOUT: forbiddenError(needs('tokens.read')) },
    ok: ({ w, caller, data }) => {
      const ids = data.tokens.edges.map((e: { node: { id: string } }) => e.node.id);
      if (caller === 'TEAM_MEMBER' || caller === 'TOKEN_WITH') expect(ids).toEqual([]);
      else expect(ids).toEqual([w.teamToken.id]);
    },
  },
  {
    name: 'node(id) · user id (User is not a Node)',
    field: 'Query.node',
    document: NODE_USER,
    variables: (w) => ({ id: w.people.member.id }),
    slot: { path: 'id', type: 'User' },
    mutates: false,
    expected: {
      ...Object.fromEntries(CALLERS.map((caller) => [caller, NULL])),
      ANONYMOUS: UNAUTHENTICATED,
    },
  },
  {
    name: 'adminTokens(teamId)',
    field: 'Query.adminTokens',
    document: ADMIN_TOKENS,
    variables: (w) => ({ teamId: w.teamId }),
    slot: { path: 'teamId', type: 'Team' },
    mutates: false,
    expected: {
      OWNER_USER: forbiddenError(ADMIN_ONLY),
      TEAM_OWNER: forbiddenError(ADMIN_ONLY),
      TEAM_MEMBER: forbiddenError(ADMIN_ONLY),
      OUTSIDER: forbiddenError(ADMIN_ONLY),
      ADMIN: OK,
      TOKEN_WITH: forbiddenError(ADMIN_ONLY),
      TOKEN_WITHOUT: forbiddenError(ADMIN_ONLY),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: ({ data }) => expect(data.totalCount).toBe(1),
  },
];

/**
 * The audit log: administrators see every event, team owners their teams', everyone the events
 * about their own tokens, an API token those about itself and its descendants. Hidden events
 * look like no events: an empty page, the same for an id that names nothing.
 */
const auditCase = (name: string, filter: (w: World) => Record<string, string>, slot: Case['slot'], differs: Partial<Record<Caller, Cell>>): Case => ({
  name: `auditEvents · ${name}`,
  field: 'Query.auditEvents',
  document: AUDIT,
  variables: (w) => ({ filter: filter(w) }),
  slot,
  mutates: false,
  isEmpty: (data) => data.totalCount === 0 && data.edges.length === 0,
  expected: {
    OWNER_USER: OK,
    TEAM_OWNER: EMPTY,
    TEAM_MEMBER: EMPTY,
    OUTSIDER: EMPTY,
    ADMIN: OK,
    TOKEN_WITH: EMPTY,
    TOKEN_WITHOUT: forbiddenError(needs('tokens.read')),
    ANONYMOUS: UNAUTHENTICATED,
    ...differs,
  },
  ok: ({ data }) => expect(data.totalCount).toBeGreaterThan(0),
});

const AUDIT_CASES: Case[] = [
  auditCase('filter.tokenId = personal', (w) => ({ tokenId: w.personal.id }), { path: 'filter.tokenId', type: 'Token' }, {}),
  auditCase('filter.tokenId = teamToken', (w) => ({ tokenId: w.teamToken.id }), { path: 'filter.tokenId', type: 'Token' }, { TEAM_OWNER: OK }),
  auditCase('filter.tokenId = child', (w) => ({ tokenId: w.child.id }), { path: 'filter.tokenId', type: 'Token' }, { TOKEN_WITH: OK }),
  auditCase('filter.teamId', (w) => ({ teamId: w.teamId }), { path: 'filter.teamId', type: 'Team' }, { TEAM_OWNER: OK }),
  // What the owner did: in the team (seen by its other owner) and to tokenWith (seen by tokenWith).
  auditCase('filter.actorId = OWNER_USER', (w) => ({ actorId: w.people.owner.id }), { path: 'filter.actorId', type: 'User' }, {
    TEAM_OWNER: OK,
    TOKEN_WITH: OK,
  }),
];

const TOKEN_MUTATION_CASES: Case[] = (
  [
    ['personal', { TEAM_OWNER: notFound(TOKEN_NOT_FOUND), TOKEN_WITH: notFound(TOKEN_NOT_FOUND) }],
    ['teamToken', { TEAM_OWNER: OK, TOKEN_WITH: notFound(TOKEN_NOT_FOUND) }],
    ['child', { TEAM_OWNER: notFound(TOKEN_NOT_FOUND), TOKEN_WITH: OK }],
  ] as const
).flatMap(([target, differs]): Case[] => [
  {
    name: `updateToken · ${target}`,
    field: 'Mutation.updateToken',
    document: UPDATE,
    variables: (w) => ({ input: { id: w[target].id, name: 'renamed' } }),
    slot: inputTokenSlot,
    okType: 'UpdateTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_MEMBER: notFound(TOKEN_NOT_FOUND),
      OUTSIDER: notFound(TOKEN_NOT_FOUND),
      // An administrator sees every token but changes only their own.
      ADMIN: forbidden(SEE_NOT_CHANGE),
      TOKEN_WITHOUT: forbidden(needs('tokens.update')),
      ANONYMOUS: UNAUTHENTICATED,
      ...differs,
    },
    ok: renamed(target),
  },
  {
    name: `revokeToken · ${target}`,
    field: 'Mutation.revokeToken',
    document: REVOKE,
    variables: (w) => ({ input: { id: w[target].id } }),
    slot: inputTokenSlot,
    okType: 'RevokeTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_MEMBER: notFound(TOKEN_NOT_FOUND),
      OUTSIDER: notFound(TOKEN_NOT_FOUND),
      ADMIN: OK,
      TOKEN_WITHOUT: forbidden(needs('tokens.revoke')),
      ANONYMOUS: UNAUTHENTICATED,
      ...differs,
    },
    ok: revoked(target),
  },
  {
    name: `rotateToken · ${target}`,
    field: 'Mutation.rotateToken',
    document: ROTATE,
    variables: (w) => ({ input: { id: w[target].id } }),
    slot: inputTokenSlot,
    okType: 'RotateTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_MEMBER: notFound(TOKEN_NOT_FOUND),
      OUTSIDER: notFound(TOKEN_NOT_FOUND),
      // A new secret acts as the owner: administrators and team owners see the token, revoke it,
      // and are refused its secret.
      ADMIN: forbidden(OWNER_ROTATES),
      TOKEN_WITHOUT: forbidden(needs('tokens.update')),
      ANONYMOUS: UNAUTHENTICATED,
      ...differs,
      ...(target === 'teamToken' ? { TEAM_OWNER: forbidden(OWNER_ROTATES) } : {}),
    },
    ok: rotated(target),
  },
]);

const ADMIN_MUTATION_CASES: Case[] = [
  {
    name: 'adminRevokeToken · personal',
    field: 'Mutation.adminRevokeToken',
    document: ADMIN_REVOKE,
    variables: (w) => ({ input: { id: w.personal.id } }),
    slot: inputTokenSlot,
    okType: 'RevokeTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: forbidden(ADMIN_ONLY),
      TEAM_OWNER: forbidden(ADMIN_ONLY),
      TEAM_MEMBER: forbidden(ADMIN_ONLY),
      OUTSIDER: forbidden(ADMIN_ONLY),
      ADMIN: OK,
      TOKEN_WITH: forbidden(ADMIN_ONLY),
      TOKEN_WITHOUT: forbidden(ADMIN_ONLY),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: revoked('personal'),
  },
  {
    name: "adminRevokeUserTokens · the owner's email",
    field: 'Mutation.adminRevokeUserTokens',
    document: ADMIN_REVOKE_USER,
    variables: (w) => ({ input: { userEmail: w.people.owner.user.email } }),
    slot: { path: 'input.userEmail', type: 'Email' },
    okType: 'AdminRevokeUserTokensPayload',
    mutates: true,
    expected: {
      OWNER_USER: forbidden(ADMIN_ONLY),
      TEAM_OWNER: forbidden(ADMIN_ONLY),
      TEAM_MEMBER: forbidden(ADMIN_ONLY),
      OUTSIDER: forbidden(ADMIN_ONLY),
      ADMIN: OK,
      TOKEN_WITH: forbidden(ADMIN_ONLY),
      TOKEN_WITHOUT: forbidden(ADMIN_ONLY),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: async ({ w, data }) => {
      expect(data).toMatchObject({ revokedCount: TOKEN_NAMES.length, userEmail: w.people.owner.user.email });
      expect(Object.values(await statusesAsOwner(w))).toEqual(TOKEN_NAMES.map(() => 'REVOKED'));
    },
  },
];

const mintInput = (extra: Record<string, unknown>) => ({ input: { name: 'minted by the matrix', expiresInDays: 30, ...extra } });

const MINT_CASES: Case[] = [
  {
    name: 'mintToken · teamId',
    field: 'Mutation.mintToken',
    document: MINT,
    variables: (w) => mintInput({ teamId: w.teamId }),
    slot: { path: 'input.teamId', type: 'Team' },
    okType: 'MintTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_OWNER: OK,
      TEAM_MEMBER: OK,
      OUTSIDER: notFound(TEAM_NOT_FOUND),
      // An administrator sees the team but is not a member: no team token of their own there.
      ADMIN: notFound(TEAM_NOT_FOUND),
      TOKEN_WITH: validation("a token minted by an API token belongs to its parent's team"),
      TOKEN_WITHOUT: forbidden(needs('tokens.create')),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: mintedInTeam((w, caller) => personOf(w, caller)!.id),
  },
  {
    name: 'mintToken · teamId + ownerId of another member',
    field: 'Mutation.mintToken',
    document: MINT,
    variables: (w) => mintInput({ teamId: w.teamId, ownerId: w.people.member2.id }),
    slot: { path: 'input.teamId', type: 'Team' },
    okType: 'MintTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_OWNER: OK,
      TEAM_MEMBER: forbidden('Only team owners mint tokens on behalf of a member'),
      OUTSIDER: notFound(TEAM_NOT_FOUND),
      ADMIN: notFound(TEAM_NOT_FOUND),
      TOKEN_WITH: forbidden(MINTS_FOR_OWN_OWNER),
      TOKEN_WITHOUT: forbidden(needs('tokens.create')),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: mintedInTeam((w) => w.people.member2.id),
  },
  {
    name: 'mintToken · teamId + ownerId of a signed-in non-member',
    field: 'Mutation.mintToken',
    document: MINT,
    variables: (w) => mintInput({ teamId: w.teamId, ownerId: w.people.newcomer.id }),
    slot: { path: 'input.ownerId', type: 'User' },
    okType: 'MintTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: notFound(NO_SUCH_MEMBER),
      TEAM_OWNER: notFound(NO_SUCH_MEMBER),
      TEAM_MEMBER: forbidden('Only team owners mint tokens on behalf of a member'),
      OUTSIDER: notFound(TEAM_NOT_FOUND),
    },
  },
  {
    name: 'mintToken · ownerId without teamId',
    field: 'Mutation.mintToken',
    document: MINT,
    variables: (w) => mintInput({ ownerId: w.people.member2.id }),
    slot: { path: 'input.ownerId', type: 'User' },
    okType: 'MintTokenPayload',
    mutates: true,
    expected: {
      OWNER_USER: validation('ownerId is for team tokens: give teamId too'),
      TEAM_OWNER: validation('ownerId is for team tokens: give teamId too'),
      TEAM_MEMBER: validation('ownerId is for team tokens: give teamId too'),
      OUTSIDER: validation('ownerId is for team tokens: give teamId too'),
      ADMIN: validation('ownerId is for team tokens: give teamId too'),
      TOKEN_WITH: forbidden(MINTS_FOR_OWN_OWNER),
      TOKEN_WITHOUT: forbidden(needs('tokens.create')),
      ANONYMOUS: UNAUTHENTICATED,
    },
  },
];

/** Team management needs a session; non-members find no team; members may not do owners' work. */
const OWNERS_AND_ADMIN = {
  OWNER_USER: OK,
  TEAM_OWNER: OK,
  TEAM_MEMBER: forbidden(OWNERS_ONLY),
  OUTSIDER: notFound(TEAM_NOT_FOUND),
  ADMIN: OK,
  TOKEN_WITH: forbidden(SESSION_ONLY),
  TOKEN_WITHOUT: forbidden(SESSION_ONLY),
  ANONYMOUS: UNAUTHENTICATED,
} as const;

/** The same operation aimed at the caller themselves: an administrator is no member. */
const SELF = { ...OWNERS_AND_ADMIN, ADMIN: notFound(NO_SUCH_MEMBER) } as const;

const TEAM_MUTATION_CASES: Case[] = [
  {
    name: 'addTeamMember · a signed-in newcomer',
    field: 'Mutation.addTeamMember',
    document: ADD_MEMBER,
    variables: (w) => ({ input: { teamId: w.teamId, email: w.people.newcomer.user.email } }),
    slot: teamSlot,
    okType: 'AddTeamMemberPayload',
    mutates: true,
    expected: OWNERS_AND_ADMIN,
    ok: async ({ w, data }) => {
      expect(data.member).toEqual({ role: 'MEMBER', user: { id: w.people.newcomer.id } });
      expect(await roleOf(w, w.people.newcomer.id)).toBe('MEMBER');
    },
  },
  {
    name: 'updateTeamMemberRole · promote another member to OWNER',
    field: 'Mutation.updateTeamMemberRole',
    document: UPDATE_ROLE,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.member2.id, role: 'OWNER' } }),
    slot: teamSlot,
    okType: 'UpdateTeamMemberRolePayload',
    mutates: true,
    expected: OWNERS_AND_ADMIN,
    ok: async ({ w }) => expect(await roleOf(w, w.people.member2.id)).toBe('OWNER'),
  },
  {
    name: 'updateTeamMemberRole · the caller promotes themselves to OWNER',
    field: 'Mutation.updateTeamMemberRole',
    document: UPDATE_ROLE,
    variables: (w, caller) => ({ input: { teamId: w.teamId, userId: selfId(w, caller), role: 'OWNER' } }),
    slot: teamSlot,
    okType: 'UpdateTeamMemberRolePayload',
    mutates: true,
    expected: SELF,
    ok: async ({ w, caller }) => expect(await roleOf(w, selfId(w, caller))).toBe('OWNER'),
  },
  {
    name: 'updateTeamMemberRole · demote the other OWNER',
    field: 'Mutation.updateTeamMemberRole',
    document: UPDATE_ROLE,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.teamOwner.id, role: 'MEMBER' } }),
    slot: teamSlot,
    okType: 'UpdateTeamMemberRolePayload',
    mutates: true,
    expected: { OWNER_USER: OK, TEAM_MEMBER: forbidden(OWNERS_ONLY), OUTSIDER: notFound(TEAM_NOT_FOUND), ADMIN: OK },
    ok: async ({ w }) => expect(await roleOf(w, w.people.teamOwner.id)).toBe('MEMBER'),
  },
  {
    name: 'updateTeamMemberRole · userId of a signed-in non-member',
    field: 'Mutation.updateTeamMemberRole',
    document: UPDATE_ROLE,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.newcomer.id, role: 'OWNER' } }),
    slot: { path: 'input.userId', type: 'User' },
    okType: 'UpdateTeamMemberRolePayload',
    mutates: true,
    expected: {
      OWNER_USER: notFound(NO_SUCH_MEMBER),
      TEAM_OWNER: notFound(NO_SUCH_MEMBER),
      TEAM_MEMBER: forbidden(OWNERS_ONLY),
      OUTSIDER: notFound(TEAM_NOT_FOUND),
      ADMIN: notFound(NO_SUCH_MEMBER),
    },
  },
  {
    name: 'removeTeamMember · another member',
    field: 'Mutation.removeTeamMember',
    document: REMOVE_MEMBER,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.member2.id } }),
    slot: teamSlot,
    okType: 'RemoveTeamMemberPayload',
    mutates: true,
    expected: OWNERS_AND_ADMIN,
    ok: async ({ w }) => expect(await roleOf(w, w.people.member2.id)).toBeNull(),
  },
  {
    name: 'removeTeamMember · the caller removes themselves',
    field: 'Mutation.removeTeamMember',
    document: REMOVE_MEMBER,
    variables: (w, caller) => ({ input: { teamId: w.teamId, userId: selfId(w, caller) } }),
    slot: teamSlot,
    okType: 'RemoveTeamMemberPayload',
    mutates: true,
    // A member may leave: that is not an owner's work.
    expected: { ...SELF, TEAM_MEMBER: OK },
    ok: async ({ w, caller }) => {
      expect(await teamAs(w, personOf(w, caller)!.user.jwt)).toBeNull();
      if (caller === 'OWNER_USER') expect(await statusAsOwner(w, 'teamToken')).toBe('REVOKED');
    },
  },
  {
    name: 'removeTeamMember · the other OWNER',
    field: 'Mutation.removeTeamMember',
    document: REMOVE_MEMBER,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.teamOwner.id } }),
    slot: teamSlot,
    okType: 'RemoveTeamMemberPayload',
    mutates: true,
    expected: { OWNER_USER: OK, TEAM_MEMBER: forbidden(OWNERS_ONLY), OUTSIDER: notFound(TEAM_NOT_FOUND) },
    ok: async ({ w }) => expect(await roleOf(w, w.people.teamOwner.id)).toBeNull(),
  },
  {
    name: 'removeTeamMember · userId of a signed-in non-member',
    field: 'Mutation.removeTeamMember',
    document: REMOVE_MEMBER,
    variables: (w) => ({ input: { teamId: w.teamId, userId: w.people.newcomer.id } }),
    slot: { path: 'input.userId', type: 'User' },
    okType: 'RemoveTeamMemberPayload',
    mutates: true,
    expected: {
      OWNER_USER: notFound(NO_SUCH_MEMBER),
      TEAM_OWNER: notFound(NO_SUCH_MEMBER),
      TEAM_MEMBER: forbidden(OWNERS_ONLY),
      OUTSIDER: notFound(TEAM_NOT_FOUND),
      ADMIN: notFound(NO_SUCH_MEMBER),
    },
  },
  ...(['teamId', 'id'] as const).map(
    (key): Case => ({
      name: `deleteTeam · input.${key}`,
      field: 'Mutation.deleteTeam',
      document: DELETE_TEAM,
      variables: (w) => ({ input: { [key]: w.teamId } }),
      slot: { path: `input.${key}`, type: 'Team', malformed: false },
      okType: 'DeleteTeamPayload',
      mutates: true,
      expected: OWNERS_AND_ADMIN,
      ok: async ({ w }) => {
        expect(await teamAs(w, w.people.owner.user.jwt)).toBeNull();
        expect(await statusAsOwner(w, 'teamToken')).toBe('REVOKED');
      },
    }),
  ),
];

/**
 * Verifying needs tokens.verify: an administrator holds everything, and tokens.* contains it, for
 * OWNER_USER's session and for TOKEN_WITH (whose own list names tokens.*). A team role grants
 * nothing outside the team.
 */
const VERIFIERS = {
  OWNER_USER: OK,
  TEAM_OWNER: forbiddenError(VERIFIER_ONLY),
  TEAM_MEMBER: forbiddenError(VERIFIER_ONLY),
  OUTSIDER: forbiddenError(VERIFIER_ONLY),
  ADMIN: OK,
  TOKEN_WITH: OK,
  TOKEN_WITHOUT: forbiddenError(VERIFIER_ONLY),
  ANONYMOUS: UNAUTHENTICATED,
} as const;

/** Operations that take no object id (or, for reportUsage, a verification's): only who calls decides. */
const CALLER_ONLY_CASES: Case[] = [
  {
    name: 'viewer',
    field: 'Query.viewer',
    document: VIEWER,
    variables: () => ({}),
    mutates: false,
    expected: { ...Object.fromEntries(CALLERS.map((caller) => [caller, OK])), ANONYMOUS: UNAUTHENTICATED },
    ok: ({ w, caller, data }) => expect(data.id).toBe(personOf(w, caller)!.id),
  },
  {
    name: 'teams',
    field: 'Query.teams',
    document: TEAMS,
    variables: () => ({}),
    mutates: false,
    expected: { ...Object.fromEntries(CALLERS.map((caller) => [caller, OK])), ANONYMOUS: UNAUTHENTICATED },
    ok: ({ w, caller, data }) => expect(data).toEqual(caller === 'OUTSIDER' || caller === 'ADMIN' ? [] : [{ id: w.teamId }]),
  },
  {
    name: 'tokens',
    field: 'Query.tokens',
    document: TOKENS,
    variables: () => ({}),
    mutates: false,
    expected: {
      ...Object.fromEntries(CALLERS.map((caller) => [caller, OK])),
      TOKEN_WITHOUT: forbiddenError(needs('tokens.read')),
      ANONYMOUS: UNAUTHENTICATED,
    },
    // An API token lists itself and its descendants only.
    ok: ({ caller, data }) => {
      if (caller === 'TOKEN_WITH') expect(data.totalCount).toBe(2);
    },
  },
  {
    name: 'tokensExpiringSoon',
    field: 'Query.tokensExpiringSoon',
    document: EXPIRING,
    variables: () => ({}),
    mutates: false,
    expected: {
      ...Object.fromEntries(CALLERS.map((caller) => [caller, OK])),
      TOKEN_WITHOUT: forbiddenError(needs('tokens.read')),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: ({ w, caller, data }) => {
      const ids = data.map((token: { id: string }) => token.id);
      // An API token sees its lineage only; the owner sees their own tokens.
      if (caller === 'TOKEN_WITH') expect(ids.sort()).toEqual([w.tokenWith.id, w.child.id].sort());
      else if (caller === 'OWNER_USER') expect(ids).toContain(w.personal.id);
      else expect(ids).not.toContain(w.personal.id);
    },
  },
  {
    // Anyone may report a leak, even without credentials; the answer is the same whatever was found.
    name: 'reportLeakedTokens · the personal secret',
    field: 'Mutation.reportLeakedTokens',
    document: REPORT_LEAKS,
    variables: (w) => ({ input: { tokens: [w.personal.secret] } }),
    slot: { path: 'input.tokens.0', type: 'Secret' },
    okType: 'ReportLeakedTokensPayload',
    mutates: true,
    sameAnswerForAnyId: true,
    expected: Object.fromEntries(CALLERS.map((caller) => [caller, OK])),
    ok: async ({ w }) => expect(await statusAsOwner(w, 'personal')).toBe('REVOKED'),
  },
  {
    // The token in the input is the credential: whoever holds it may exchange it, signed in or not.
    name: 'exchangeToken · the personal secret',
    field: 'Mutation.exchangeToken',
    document: EXCHANGE,
    variables: (w) => ({ input: { token: w.personal.secret } }),
    okType: 'ExchangeTokenPayload',
    mutates: false,
    expected: Object.fromEntries(CALLERS.map((caller) => [caller, OK])),
    ok: ({ data }) => expect(data.jwt.split('.')).toHaveLength(3),
  },
  {
    name: 'createTeam',
    field: 'Mutation.createTeam',
    document: CREATE_TEAM,
    variables: () => ({ input: { name: `Another ${randomIdOf('Team')}` } }),
    okType: 'CreateTeamPayload',
    mutates: true,
    expected: {
      OWNER_USER: OK,
      TEAM_OWNER: OK,
      TEAM_MEMBER: OK,
      OUTSIDER: OK,
      ADMIN: OK,
      TOKEN_WITH: forbidden(SESSION_ONLY),
      TOKEN_WITHOUT: forbidden(SESSION_ONLY),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: ({ data }) => expect(data.team.viewerRole).toBe('OWNER'),
  },
  {
    name: 'revokeAllMyTokens',
    field: 'Mutation.revokeAllMyTokens',
    document: REVOKE_ALL,
    variables: () => ({ input: {} }),
    okType: 'RevokeAllMyTokensPayload',
    mutates: true,
    expected: {
      ...Object.fromEntries(CALLERS.map((caller) => [caller, OK])),
      TOKEN_WITHOUT: forbidden(needs('tokens.revoke')),
      ANONYMOUS: UNAUTHENTICATED,
    },
    ok: async ({ w, caller, data }) => {
      const statuses = await statusesAsOwner(w);
      if (caller === 'OWNER_USER') {
        expect(data.revokedCount).toBe(TOKEN_NAMES.length);
        expect(Object.values(statuses)).toEqual(TOKEN_NAMES.map(() => 'REVOKED'));
      } else if (caller === 'TOKEN_WITH') {
        // Itself and its descendants, never its owner's other tokens.
        expect(data.revokedCount).toBe(2);
        expect(statuses).toEqual({ personal: 'ACTIVE', teamToken: 'ACTIVE', child: 'REVOKED', tokenWith: 'REVOKED', tokenWithout: 'ACTIVE' });
      } else {
        // Someone else's panic button touches none of the owner's tokens.
        expect(data.revokedCount).toBe(0);
        expect(Object.values(statuses)).toEqual(TOKEN_NAMES.map(() => 'ACTIVE'));
      }
    },
  },
  {
    name: 'verifyToken · the personal token',
    field: 'Mutation.verifyToken',
    document: VERIFY,
    variables: (w) => ({ input: { token: w.personal.secret } }),
    mutates: false,
    expected: VERIFIERS,
    ok: ({ data }) => expect(data).toEqual({ valid: true, outcome: 'VALID' }),
  },
  {
    // Every token's revocations, instance-wide, for gateways: a verifier's stream. The event here
    // comes from the owner revoking one of the world's tokens once the stream is open.
    name: 'tokenEvents (subscription)',
    field: 'Subscription.tokenEvents',
    document: TOKEN_EVENTS,
    variables: () => ({}),
    mutates: true,
    subscription: {
      trigger: (t, w, attempt) =>
        t.gql(REVOKE, { input: { id: w[TOKEN_NAMES[attempt % TOKEN_NAMES.length]!].id } }, { token: w.people.owner.user.jwt }),
    },
    expected: VERIFIERS,
    ok: ({ w, data }) => {
      expect(data.type).toBe('REVOKED');
      expect(TOKEN_NAMES.map((name) => w[name].id)).toContain(data.tokenId);
    },
  },
  {
    name: 'reportUsage · a recorded verification',
    field: 'Mutation.reportUsage',
    document: REPORT_USAGE,
    variables: (w) => ({ input: { verificationId: w.verificationId, statusCode: 200 } }),
    slot: { path: 'input.verificationId', type: 'Verification' },
    okType: 'ReportUsagePayload',
    mutates: false,
    expected: VERIFIERS,
    ok: ({ w, data }) => expect(data.verificationId).toBe(w.verificationId),
  },
];

/** A malformed team id must never reach SQL through the team scopes: it names no team. */
const B1 = (expected: Expectation) => ({ OWNER_USER: expected, OUTSIDER: expected });
const MALFORMED_TEAM_ID_CASES: Case[] = [
  ...['garbage', 'team_not-a-uuid'].map(
    (id): Case => ({
      name: `team(id) · malformed id "${id}"`,
      field: 'Query.team',
      document: TEAM,
      variables: () => ({ id }),
      mutates: false,
      expected: B1(NULL),
    }),
  ),
  {
    // A member sends the database uuid without its prefix: the scope finds the team, the resolver does not.
    name: 'team(id) · the bare uuid of the team',
    field: 'Query.team',
    document: TEAM,
    variables: (w) => ({ id: w.teamId.slice('team_'.length) }),
    mutates: false,
    expected: { OWNER_USER: NULL, OUTSIDER: NULL },
  },
  {
    name: 'addTeamMember · malformed teamId',
    field: 'Mutation.addTeamMember',
    document: ADD_MEMBER,
    variables: (w) => ({ input: { teamId: 'garbage', email: w.people.newcomer.user.email } }),
    mutates: true,
    expected: B1(notFound(TEAM_NOT_FOUND)),
  },
  {
    name: 'updateTeamMemberRole · malformed teamId',
    field: 'Mutation.updateTeamMemberRole',
    document: UPDATE_ROLE,
    variables: (w) => ({ input: { teamId: 'garbage', userId: w.people.member2.id, role: 'OWNER' } }),
    mutates: true,
    expected: B1(notFound(TEAM_NOT_FOUND)),
  },
  {
    name: 'removeTeamMember · malformed teamId',
    field: 'Mutation.removeTeamMember',
    document: REMOVE_MEMBER,
    variables: (w) => ({ input: { teamId: 'garbage', userId: w.people.member2.id } }),
    mutates: true,
    expected: B1(notFound(TEAM_NOT_FOUND)),
  },
  {
    name: 'deleteTeam · malformed teamId',
    field: 'Mutation.deleteTeam',
    document: DELETE_TEAM,
    variables: () => ({ input: { teamId: 'garbage' } }),
    mutates: true,
    expected: B1(notFound(TEAM_NOT_FOUND)),
  },
  {
    name: 'deleteTeam · no id at all',
    field: 'Mutation.deleteTeam',
    document: DELETE_TEAM,
    variables: () => ({ input: {} }),
    mutates: true,
    expected: B1(validation('teamId is required')),
  },
];

const CASES: Case[] = [
  ...TOKEN_QUERY_CASES,
  ...TEAM_QUERY_CASES,
  ...AUDIT_CASES,
  ...TOKEN_MUTATION_CASES,
  ...ADMIN_MUTATION_CASES,
  ...MINT_CASES,
  ...TEAM_MUTATION_CASES,
  ...CALLER_ONLY_CASES,
  ...MALFORMED_TEAM_ID_CASES,
];

const ROWS = rowsOf(CASES);

// -----------------------------------------------------------------------------------------------

const INTROSPECTION = /* GraphQL */ `
  {
    __schema {
      queryType { name }
      mutationType { name }
      subscriptionType { name }
      types { name kind fields { name args { name type { ...Ref } } } inputFields { name type { ...Ref } } }
    }
  }
  fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
`;

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface SchemaType {
  name: string;
  kind: string;
  fields: { name: string; args: { name: string; type: TypeRef }[] }[] | null;
  inputFields: { name: string; type: TypeRef }[] | null;
}

const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);

/** The served root fields, each with the paths of the ID-typed values among its arguments. */
async function servedRootFields(): Promise<Record<string, string[]>> {
  const response = await t.gql(INTROSPECTION);
  expect(response.errors).toBeUndefined();
  const schema = response.data.__schema;
  const types = new Map<string, SchemaType>(schema.types.map((type: SchemaType) => [type.name, type]));
  const idPaths = (prefix: string, type: TypeRef, seen: Set<string>): string[] => {
    const base = named(type);
    if (base.name === 'ID') return [prefix];
    const input = types.get(base.name ?? '');
    if (base.kind !== 'INPUT_OBJECT' || !input || seen.has(input.name)) return [];
    return input.inputFields!.flatMap((f) => idPaths(`${prefix}.${f.name}`, f.type, new Set([...seen, input.name])));
  };
  const fields: Record<string, string[]> = {};
  const roots = [schema.queryType, schema.mutationType, schema.subscriptionType].filter(Boolean).map((r: { name: string }) => r.name);
  for (const root of roots) {
    for (const field of types.get(root)!.fields!) {
      fields[`${root}.${field.name}`] = field.args.flatMap((arg) => idPaths(arg.name, arg.type, new Set())).sort();
    }
  }
  return fields;
}

describe('the matrix covers every operation', () => {
  it('lists exactly the served root fields, with exactly the ids each takes', async () => {
    expect(await servedRootFields()).toEqual(ROOT_FIELDS);
  });

  it('runs every root field as every caller, and varies every id argument', () => {
    for (const field of Object.keys(ROOT_FIELDS)) {
      const full = CASES.filter((c) => c.field === field && CALLERS.every((caller) => c.expected[caller] !== undefined));
      expect(full.length, `${field}: no case runs it as all ${CALLERS.length} callers`).toBeGreaterThan(0);
      for (const path of ROOT_FIELDS[field]!) {
        const varied = CASES.some((c) => c.field === field && c.slot?.path === path);
        expect(varied, `${field}: no case varies ${path} (the byte-for-byte rule)`).toBe(true);
      }
    }
    for (const c of CASES) expect(Object.keys(ROOT_FIELDS), `${c.name}: unknown field`).toContain(c.field);
  });
});

describe('authorization matrix', () => {
  for (const row of ROWS.filter((r) => !r.bug)) {
    it(row.label, () => runRow(t, row, shared));
  }
});

/**
 * Bugs the matrix found, kept as regression tests:
 * B1  a team id that is not `team_<uuid>` reached SQL through the team scopes (server error);
 * B2  node(id) with a `usr_` id answered an error entry instead of null;
 * B3  Token.team showed the team to a former member through their old team token;
 * B4  Team.usage did not ask for tokens.read from an API token.
 */
describe('known bugs and fixed ones', () => {
  const itBug = process.env.SECURITY_STRICT ? it : it.fails;
  for (const row of ROWS.filter((r) => r.bug)) {
    itBug(row.label, () => runRow(t, row, shared));
  }

  it('[B3] Token.team shows a team to someone who is no longer a member of it', async () => {
    const w = await seedWorld(t);
    const member = w.people.member.user.jwt;
    const minted = await t.gql(MINT, mintInput({ teamId: w.teamId }), { token: member });
    const tokenId = minted.data.mintToken.token.id;
    const removed = await t.gql(REMOVE_MEMBER, { input: { teamId: w.teamId, userId: w.people.member.id } }, { token: w.people.owner.user.jwt });
    expect(removed.data.removeTeamMember.__typename).toBe('RemoveTeamMemberPayload');
    expect(await teamAs(w, member)).toBeNull();
    // Their revoked team token is still theirs to see, but the team (and its members) is not.
    const seen = await t.gql(`query($id: ID!) { token(id: $id) { status team { id members { user { id } } } } }`, { id: tokenId }, { token: member });
    expect(seen.body).toEqual({ data: { token: { status: 'REVOKED', team: null } } });
  });
});
