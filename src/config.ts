import { z } from 'zod';

/**
 * The one place that reads process.env. Everything else receives a parsed `Config`,
 * so a bad value stops start-up here, with a message naming the variable.
 */

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'expected one of true, false, 1, 0, yes, no',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().min(1).default('./.data'),

  AUTH_JWT_SECRET: optionalString.pipe(
    z.string().min(32, 'must be at least 32 characters (256 bits) for HS256').optional(),
  ),
  AUTH_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_CLAIM_PERMISSIONS: z.string().min(1).default('permissions'),
  AUTH_CLAIM_ADMIN: z.string().min(1).default('admin'),

  TOKEN_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,7}$/, 'expected 1-8 lowercase letters or digits, starting with a letter')
    .default('km'),
  MAX_TOKEN_LIFETIME_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  REQUIRE_TOKEN_EXPIRY: booleanFlag.default(true),

  SERVER_ID: z.string().trim().min(1).max(128).default('keymint'),
  KEY_ENCRYPTION_KEY: optionalString.pipe(
    z
      .string()
      .refine((value) => Buffer.from(value, 'base64').length === 32, 'expected 32 bytes, base64-encoded (openssl rand -base64 32)')
      .optional(),
  ),
  EXCHANGED_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  REDIS_URL: optionalString.pipe(z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional()),
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2})$/, 'expected true, false, or the number of proxies in front of Keymint')
    .default('false')
    .transform((value) => (value === 'true' ? 1 : value === 'false' ? 0 : Number(value))),
  VERIFY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
  VERIFY_CACHE_MAX: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  VERIFY_NEGATIVE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  USAGE_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  USAGE_FLUSH_BATCH: z.coerce.number().int().min(1).max(10_000).default(1_000),
  USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  VERIFY_STALE_IF_ERROR_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),

  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  SESSION_MAX_AGE_SECONDS: z.coerce.number().int().min(60).max(31 * 86_400).default(86_400),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),

  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1_000).default(15),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(3_000),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1_000).default(20),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).max(10_000_000).default(8_000),
  GRAPHQL_INTROSPECTION: booleanFlag.optional(),
  GRAPHIQL: booleanFlag.optional(),

  RATE_LIMIT_MINTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  RATE_LIMIT_CHANGES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(300),
  RATE_LIMIT_LEAK_REPORTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(20),
});

/** The environment variables Keymint reads, as strings (what process.env holds). */
export type Env = Partial<Record<keyof z.input<typeof envSchema>, string>>;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  database: { url?: string; poolMax: number; dataDir: string };
  auth: {
    jwtSecret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    permissionsClaim: string;
    adminClaim: string;
  };
  tokens: {
    prefix: string;
    maxLifetimeDays: number;
    requireExpiry: boolean;
  };
  /** This instance's own server id: tokens bound to another server cannot call Keymint. */
  serverId: string;
  /** Shared state across instances (rate limits, live revocation); in memory without it. */
  redisUrl?: string;
  exchange: {
    /** Encrypts the private signing keys at rest (32 bytes). */
    keyEncryptionKey?: Buffer;
    /** Lifetime of the JWTs exchangeToken issues. */
    ttlSeconds: number;
  };
  /** How many reverse proxies to trust for X-Forwarded-For (0: use the socket's address). */
  trustProxyHops: number;
  verification: {
    cacheTtlMs: number;
    cacheMax: number;
    negativeTtlMs: number;
    /** How long past its TTL a cached verification still answers while the database is unreachable (0: never). */
    staleIfErrorMs: number;
  };
  /** Bounds every statement a request sends to PostgreSQL. */
  statementTimeoutMs: number;
  /** Session JWTs living longer than this (exp - iat) are refused. */
  sessionMaxAgeSeconds: number;
  /** SIGTERM to exit: drain, finish in-flight requests, flush usage. */
  shutdownTimeoutMs: number;
  graphql: {
    maxDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxDirectives: number;
    /** Largest admitted cost: lists count as their page size times what they select. */
    maxCost: number;
    /** Off in production unless GRAPHQL_INTROSPECTION=true; on elsewhere unless false. */
    introspection: boolean;
    /** Off in production unless GRAPHIQL=true; on elsewhere unless false. */
    graphiql: boolean;
    /** "Did you mean" hints: off in production, where they would map the schema for a stranger. */
    fieldSuggestions: boolean;
  };
  /** Leak reports from one client address (they need no credentials). */
  leakReportsPerMinute: number;
  /** Per caller (a user or an API token), across instances with Redis. */
  managementRateLimits: {
    mintsPerMinute: number;
    changesPerMinute: number;
  };
  usage: {
    flushIntervalMs: number;
    flushBatch: number;
    retentionDays: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    throw new ConfigError([
      'AUTH_JWT_SECRET or AUTH_JWKS_URL: session verification must be configured when NODE_ENV=production',
    ]);
  }
  if (e.NODE_ENV === 'production' && !e.KEY_ENCRYPTION_KEY) {
    throw new ConfigError(['KEY_ENCRYPTION_KEY: required when NODE_ENV=production (32 bytes, base64: openssl rand -base64 32)']);
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX, dataDir: e.DATA_DIR },
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      permissionsClaim: e.AUTH_CLAIM_PERMISSIONS,
      adminClaim: e.AUTH_CLAIM_ADMIN,
    },
    tokens: {
      prefix: e.TOKEN_PREFIX,
      maxLifetimeDays: e.MAX_TOKEN_LIFETIME_DAYS,
      requireExpiry: e.REQUIRE_TOKEN_EXPIRY,
    },
    serverId: e.SERVER_ID,
    redisUrl: e.REDIS_URL,
    exchange: {
      keyEncryptionKey: e.KEY_ENCRYPTION_KEY ? Buffer.from(e.KEY_ENCRYPTION_KEY, 'base64') : undefined,
      ttlSeconds: e.EXCHANGED_TOKEN_TTL_SECONDS,
    },
    trustProxyHops: e.TRUST_PROXY,
    verification: {
      cacheTtlMs: e.VERIFY_CACHE_TTL_MS,
      cacheMax: e.VERIFY_CACHE_MAX,
      negativeTtlMs: e.VERIFY_NEGATIVE_TTL_MS,
      staleIfErrorMs: e.VERIFY_STALE_IF_ERROR_MS,
    },
    statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    sessionMaxAgeSeconds: e.SESSION_MAX_AGE_SECONDS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    graphql: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxCost: e.GRAPHQL_MAX_COST,
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
      graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
      fieldSuggestions: e.NODE_ENV !== 'production',
    },
    leakReportsPerMinute: e.RATE_LIMIT_LEAK_REPORTS_PER_MINUTE,
    managementRateLimits: {
      mintsPerMinute: e.RATE_LIMIT_MINTS_PER_MINUTE,
      changesPerMinute: e.RATE_LIMIT_CHANGES_PER_MINUTE,
    },
    usage: {
      flushIntervalMs: e.USAGE_FLUSH_INTERVAL_MS,
      flushBatch: e.USAGE_FLUSH_BATCH,
      retentionDays: e.USAGE_RETENTION_DAYS,
    },
  };
}
