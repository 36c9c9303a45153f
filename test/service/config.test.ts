import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { freePort } from '../support/free-port.js';
import { killProcess, serviceEnv, startScript, within } from './service-process.js';

const STRONG_SECRET = 'a-production-secret-of-at-least-32-characters';

/** Calls loadConfig and returns the ConfigError it throws (fails the test if it does not throw one). */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.port).toBe(4000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.logLevel).toBe('info');
    expect(config.database).toEqual({ url: undefined, poolMax: 10, dataDir: './.data' });
    expect(config.tokens).toEqual({ prefix: 'km', maxLifetimeDays: 365, requireExpiry: true });
    expect(config.auth.jwtSecret).toBeUndefined();
    expect(config.auth.jwksUrl).toBeUndefined();
  });

  it('reads the values it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      DATA_DIR: '/var/lib/keymint',
      DATABASE_URL: 'postgresql://keymint@db:5432/keymint',
      TOKEN_PREFIX: 'acme2',
      MAX_TOKEN_LIFETIME_DAYS: '30',
      REQUIRE_TOKEN_EXPIRY: 'no',
    });
    expect(config.port).toBe(8080);
    expect(config.database.dataDir).toBe('/var/lib/keymint');
    expect(config.database.url).toBe('postgresql://keymint@db:5432/keymint');
    expect(config.tokens).toEqual({ prefix: 'acme2', maxLifetimeDays: 30, requireExpiry: false });
  });

  it('treats a blank optional value as not set', () => {
    const config = loadConfig({ DATABASE_URL: '  ', AUTH_JWT_SECRET: '' });
    expect(config.database.url).toBeUndefined();
    expect(config.auth.jwtSecret).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MAX_TOKEN_LIFETIME_DAYS', '0'],
    ['REQUIRE_TOKEN_EXPIRY', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['AUTH_JWT_SECRET', 'short'],
    ['TOKEN_PREFIX', 'KM!'],
    ['GRAPHQL_MAX_DEPTH', '1'],
    ['GRAPHQL_MAX_COST', 'lots'],
    ['GRAPHQL_INTROSPECTION', 'sometimes'],
    ['RATE_LIMIT_MINTS_PER_MINUTE', '0'],
    ['SESSION_MAX_AGE_SECONDS', '10'],
    ['SHUTDOWN_TIMEOUT_MS', '-1'],
    ['VERIFY_STALE_IF_ERROR_MS', '-5'],
  ])('refuses %s=%s with a ConfigError naming the variable', (name, value) => {
    const error = configErrorFor({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.problems.some((problem) => problem.startsWith(`${name}:`))).toBe(true);
  });

  it('has abuse limits by default, and GraphiQL and introspection on outside production', () => {
    const config = loadConfig({});
    expect(config.graphql).toEqual({
      maxDepth: 12,
      maxAliases: 15,
      maxTokens: 3000,
      maxDirectives: 20,
      maxCost: 8000,
      introspection: true,
      graphiql: true,
      fieldSuggestions: true,
    });
    expect(config.managementRateLimits).toEqual({ mintsPerMinute: 60, changesPerMinute: 300 });
    expect(config.sessionMaxAgeSeconds).toBe(86_400);
    expect(config.verification.staleIfErrorMs).toBe(30_000);
    expect(config.statementTimeoutMs).toBe(5_000);
    expect(config.shutdownTimeoutMs).toBe(10_000);
  });

  it('lists every bad variable at once', () => {
    const error = configErrorFor({ PORT: 'abc', TOKEN_PREFIX: 'KM!' });
    expect(error.message).toContain('PORT');
    expect(error.message).toContain('TOKEN_PREFIX');
  });

  it('does not repeat a refused secret in its message', () => {
    const tooShort = 'hunter2-not-long-enough';
    const error = configErrorFor({ AUTH_JWT_SECRET: tooShort });
    expect(error.message).toContain('AUTH_JWT_SECRET');
    expect(error.message).not.toContain(tooShort);
  });

  describe('in production', () => {
    it('refuses to load without AUTH_JWT_SECRET or AUTH_JWKS_URL, naming both', () => {
      const error = configErrorFor({ NODE_ENV: 'production' });
      expect(error.message).toContain('AUTH_JWT_SECRET');
      expect(error.message).toContain('AUTH_JWKS_URL');
    });

    it('does not count a blank AUTH_JWT_SECRET as configured', () => {
      const error = configErrorFor({ NODE_ENV: 'production', AUTH_JWT_SECRET: '   ' });
      expect(error.message).toContain('AUTH_JWKS_URL');
    });

    const KEY_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

    it('loads with AUTH_JWT_SECRET alone (and the key encryption key)', () => {
      const config = loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: STRONG_SECRET, KEY_ENCRYPTION_KEY });
      expect(config.nodeEnv).toBe('production');
      expect(config.auth.jwtSecret).toBe(STRONG_SECRET);
    });

    it('turns off introspection, GraphiQL and field suggestions unless asked', () => {
      const base = { NODE_ENV: 'production', AUTH_JWT_SECRET: STRONG_SECRET, KEY_ENCRYPTION_KEY };
      expect(loadConfig(base).graphql).toMatchObject({ introspection: false, graphiql: false, fieldSuggestions: false });
      expect(loadConfig({ ...base, GRAPHQL_INTROSPECTION: 'true', GRAPHIQL: 'true' }).graphql).toMatchObject({
        introspection: true,
        graphiql: true,
        fieldSuggestions: false,
      });
    });

    it('loads with AUTH_JWKS_URL alone (and the key encryption key)', () => {
      const url = 'https://idp.example.com/.well-known/jwks.json';
      const config = loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: url, KEY_ENCRYPTION_KEY });
      expect(config.auth.jwksUrl).toBe(url);
      expect(config.auth.jwtSecret).toBeUndefined();
    });

    it('refuses to start without KEY_ENCRYPTION_KEY, naming it', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: STRONG_SECRET })).toThrow(/KEY_ENCRYPTION_KEY/);
    });

    it('refuses a KEY_ENCRYPTION_KEY that is not 32 bytes', () => {
      expect(() => loadConfig({ KEY_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/KEY_ENCRYPTION_KEY/);
    });
  });
});

describe('the service started with a bad configuration', () => {
  it('exits non-zero with a message naming the variable, before touching DATA_DIR', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'keymint-badconfig-'));
    const service = startScript(
      'src/server.ts',
      serviceEnv({ DATA_DIR: dataDir, PORT: 'abc', HOST: '127.0.0.1', NODE_ENV: 'development' }),
    );
    try {
      const exit = await within(30_000, 'exit on a bad configuration', service.exited);
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(service.stderr()).toContain('PORT');
      expect(service.stderr()).toContain('Invalid configuration');
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await killProcess(service);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start in production without session verification, and never listens', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'keymint-badconfig-'));
    const port = await freePort();
    const service = startScript(
      'src/server.ts',
      serviceEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' }),
    );
    try {
      const exit = await within(30_000, 'exit on a bad configuration', service.exited);
      expect(exit.code).toBe(1);
      expect(service.stderr()).toContain('AUTH_JWT_SECRET');
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await killProcess(service);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
