import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApp, type App } from '../src/app.js';
import { loadConfig, type Config, type Env } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createOrm, type DatabaseTarget } from '../src/db/orm.js';
import { migrate } from '../src/db/migrate.js';
import { signSession, type SessionToSign } from '../src/auth/session-signer.js';
import type { Clock } from '../src/clock.js';

/**
 * One Keymint per test file, on its own database: an in-memory PGlite by default, or a fresh
 * database on the PostgreSQL server named by TEST_DATABASE_URL (dropped afterwards). Tests seed
 * their own users, so they do not depend on each other's data or order.
 */

export const TEST_SECRET = 'test-session-secret-that-is-long-enough-for-hs256';

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
  body: any;
}

export interface TestUser {
  subject: string;
  email: string;
  jwt: string;
}

export interface TestApp {
  app: App;
  orm: MikroORM;
  config: Config;
  target: DatabaseTarget;
  /** Sends a GraphQL operation in-process through yoga.fetch. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, auth?: { token?: string; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  /** A new user with a signed session. */
  user(session?: Partial<SessionToSign>): Promise<TestUser>;
  /** The app on a real socket (started on first use, closed with the app): its base URL. */
  listen(): Promise<string>;
  /** Counts the SQL statements sent while `fn` runs. */
  countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Partial<Env>;
  /** The app's clock; a testClock() (test/support/test-clock.ts) lets the test move time. The real time by default. */
  clock?: Clock;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWT_SECRET: TEST_SECRET,
    ...options.env,
  });
  const database = await createTestDatabase(config.statementTimeoutMs);
  let recording: string[] | null = null;
  let server: Server | null = null;
  let baseUrl: Promise<string> | null = null;
  const orm = await createOrm(database.target, {
    onQuery: (sql) => recording?.push(sql),
  });
  await migrate(orm, database.target);
  const app = createApp({
    config,
    orm,
    logger: createLogger(config),
    clock: options.clock,
    sessionSecret: config.auth.jwtSecret,
  });

  return {
    app,
    orm,
    config,
    target: database.target,
    async gql(query, variables, auth = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...auth.headers };
      if (auth.token) headers.authorization = `Bearer ${auth.token}`;
      const response = await app.yoga.fetch('http://keymint.test/graphql', {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = await response.json();
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, body };
    },
    async user(session = {}) {
      const id = randomUUID();
      const subject = session.subject ?? `test|${id}`;
      const email = session.email ?? `user-${id}@example.com`;
      const jwt = await signSession(TEST_SECRET, { ...session, subject, email });
      return { subject, email, jwt };
    },
    listen() {
      baseUrl ??= new Promise<string>((resolve) => {
        server = createServer(app.handle);
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`));
      });
      return baseUrl;
    },
    async countStatements(fn) {
      recording = [];
      try {
        const result = await fn();
        return { result, statements: recording };
      } finally {
        recording = null;
      }
    },
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server!.close(resolve));
      }
      await app.close();
      await orm.close(true);
      await database.drop();
    },
  };
}

async function createTestDatabase(statementTimeoutMs: number): Promise<{ target: DatabaseTarget; drop: () => Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { target: { kind: 'embedded' }, drop: async () => {} };

  const name = `keymint_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'server', url: url.toString(), poolMax: 5, statementTimeoutMs },
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

/** Shorthand for the mint mutation with the fields most tests read back. */
export const MINT = /* GraphQL */ `
  mutation Mint($input: MintTokenInput!) {
    mintToken(input: $input) {
      __typename
      ... on MintTokenPayload {
        secret
        token { id name description prefix status permissions serverId ipRestrictions tags
          timeRestrictions { daysOfWeek startTime endTime timeZone }
          usageLimits { requestsPerMinute requestsPerHour requestsPerDay maxTotalRequests }
          owner { id email } team { id name } revocation { revokedAt revokedBy reason }
          createdAt expiresAt lastUsedAt usageCount }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`;

export async function mintToken(t: TestApp, jwt: string, input: Record<string, unknown>) {
  const response = await t.gql(MINT, { input: { expiresInDays: 30, ...input } }, { token: jwt });
  return response.data?.mintToken;
}

export const UPDATE = /* GraphQL */ `
  mutation Update($input: UpdateTokenInput!) {
    updateToken(input: $input) {
      __typename
      ... on UpdateTokenPayload {
        token { id name description status permissions serverId ipRestrictions tags expiresAt
          timeRestrictions { daysOfWeek startTime endTime timeZone }
          usageLimits { requestsPerMinute requestsPerHour requestsPerDay maxTotalRequests } }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`;

export const REVOKE = /* GraphQL */ `
  mutation Revoke($input: RevokeTokenInput!) {
    revokeToken(input: $input) {
      __typename
      ... on RevokeTokenPayload { token { id status revocation { revokedAt revokedBy reason } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`;

export async function updateToken(t: TestApp, jwt: string, input: Record<string, unknown>) {
  return (await t.gql(UPDATE, { input }, { token: jwt })).data?.updateToken;
}

export async function revokeToken(t: TestApp, jwt: string, input: Record<string, unknown>) {
  return (await t.gql(REVOKE, { input }, { token: jwt })).data?.revokeToken;
}

/** The database id behind a global id such as `tok_<uuid>`. */
export function dbId(globalId: string): string {
  return globalId.slice(globalId.indexOf('_') + 1);
}

/** A token id that is well-formed but belongs to nothing. */
export function randomTokenId(): string {
  return `tok_${randomUUID()}`;
}

export const VERIFY = /* GraphQL */ `
  mutation Verify($input: VerifyTokenInput!) {
    verifyToken(input: $input) {
      valid outcome verificationId tokenId prefix name permissions ownerId teamId expiresAt remaining retryAfterSeconds
    }
  }
`;

/**
 * A resource server: a user allowed to verify tokens, and the API token it verifies with,
 * whose own list names tokens.verify (an empty list would not).
 */
export async function resourceServer(t: TestApp): Promise<{ user: TestUser; secret: string }> {
  const user = await t.user({ permissions: ['tokens.verify'] });
  const minted = await mintToken(t, user.jwt, { name: 'resource server', permissions: ['tokens.verify'] });
  return { user, secret: minted.secret };
}

export async function verifyToken(t: TestApp, callerToken: string, input: Record<string, unknown>) {
  const response = await t.gql(VERIFY, { input }, { token: callerToken });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.verifyToken;
}

export const TEAM_FIELDS = /* GraphQL */ `id name slug createdAt viewerRole members { user { id email } role joinedAt }`;

/** Runs a team mutation and returns its result member (payload or error). */
export async function teamMutation(t: TestApp, jwt: string, mutation: string, input: Record<string, unknown>, selection = '') {
  const query = `mutation($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) {
    ${mutation}(input: $input) {
      __typename
      ${selection}
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }`;
  const response = await t.gql(query, { input }, { token: jwt });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data[mutation];
}

/** A team created through the API, with its owner and any extra members added by email. */
export async function createTeam(t: TestApp, owner: TestUser, name: string, members: { user: TestUser; role?: 'OWNER' | 'MEMBER' }[] = []) {
  const created = await teamMutation(t, owner.jwt, 'createTeam', { name }, '... on CreateTeamPayload { team { id name slug } }');
  if (created.__typename !== 'CreateTeamPayload') throw new Error(JSON.stringify(created));
  const teamId: string = created.team.id;
  for (const { user, role } of members) {
    // A user exists once they have signed in.
    await t.gql(`{ viewer { id } }`, {}, { token: user.jwt });
    const added = await teamMutation(t, owner.jwt, 'addTeamMember', { teamId, email: user.email, role: role ?? 'MEMBER' });
    if (added.__typename !== 'AddTeamMemberPayload') throw new Error(JSON.stringify(added));
  }
  return { id: teamId, slug: created.team.slug as string };
}

export async function userId(t: TestApp, user: TestUser): Promise<string> {
  return (await t.gql(`{ viewer { id } }`, {}, { token: user.jwt })).data.viewer.id;
}

/**
 * A team written straight into the database, members and roles included, for tests that need a
 * team without going through the team mutations. Returns its global id.
 */
export async function seedTeam(t: TestApp, name: string, members: { user: TestUser; role: 'OWNER' | 'MEMBER' }[]): Promise<string> {
  const id = randomUUID();
  const connection = t.orm.em.getConnection();
  await connection.execute(`insert into teams (id, name, slug, created_at) values (?, ?, ?, now())`, [
    id,
    name,
    `${name.toLowerCase()}-${id.slice(0, 8)}`,
  ]);
  for (const member of members) {
    const memberId = (await userId(t, member.user)).slice('usr_'.length);
    await connection.execute(`insert into team_members (team_id, user_id, role, joined_at) values (?, ?, ?, now())`, [id, memberId, member.role]);
  }
  return `team_${id}`;
}
