/**
 * Configuration from the environment, validated once at start. Variable names are a contract with
 * operators (see .env.example); invalid values stop the process with one clear message per problem.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** Unset or empty: undefined (the default depends on NODE_ENV). */
const optionalBool = z.preprocess((v) => (v === '' ? undefined : v), bool.optional());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must start with ${protocols.join(' or ')}`,
    });

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(5001),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']),
  DATA_DIR: z.string().default('./data'),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5000),
  DATABASE_QUERY_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
  DATABASE_STARTUP_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.-]*$/).default('whalefall:'),
  MONGODB_URL: optionalUrl(['mongodb://', 'mongodb+srv://']),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ACCESS_TOKEN_EXPIRES: int(60, 86_400).default(3600),
  JWT_REFRESH_TOKEN_EXPIRES: int(300, 90 * 86_400).default(2_592_000),
  WHALEFALL_ADMIN_PASSWORD: z.string().optional(),
  CREDENTIAL_ENCRYPTION_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOGIN_RATE_LIMIT_PER_USER: int(1, 1_000_000).default(10),
  LOGIN_RATE_LIMIT_PER_IP: int(1, 1_000_000).default(50),
  LOGIN_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(300),
  API_RATE_LIMIT_PER_USER: int(1, 10_000_000).default(3000),
  API_RATE_LIMIT_PER_IP: int(1, 10_000_000).default(6000),
  API_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  HTTP_BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(20_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  HTTP_ACCESS_LOG: bool.default('true'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean))
    .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
      message: 'comma-separated origins like https://dba.example.com (scheme://host[:port]), or *',
    }),
  SYNC_CONCURRENCY: int(1, 64).default(4),
  SYNC_POLL_MS: int(100, 60_000).default(2000),
  SYNC_STALE_SECONDS: int(5, 86_400).default(60),
  AUTO_CLASSIFY_AFTER_SYNC: bool.default('true'),
  STALE_ACCOUNT_DAYS: int(1, 36_500).default(90),
  LOG_STREAM_BUFFER: int(1, 100_000).default(1000),
  FIGURE_CACHE_TTL_SECONDS: int(0, 3600).default(5),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_STREAM_REPLAY_LIMIT: int(0, 1_000_000).default(10_000),
  GRAPHQL_MAX_DEPTH: int(2, 50).default(10),
  GRAPHQL_MAX_COST: int(100, 1_000_000).default(5000),
  GRAPHQL_MAX_ALIASES: int(1, 1000).default(20),
  GRAPHQL_MAX_TOKENS: int(50, 100_000).default(1000),
  GRAPHQL_MAX_DIRECTIVES: int(1, 1000).default(50),
  GRAPHQL_BATCH_LIMIT: int(0, 100).default(0),
  GRAPHQL_EXECUTION_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  GRAPHQL_INTROSPECTION: optionalBool,
  GRAPHQL_GRAPHIQL: optionalBool,
  TRUST_PROXY: bool.default('false'),
  SCHEDULER_ENABLED: bool.default('true'),
  SCHEDULER_PROCESS_EVERY_MS: int(50, 60_000).default(1000),
  SCHEDULER_LOCK_LIFETIME_MS: int(1000, 86_400_000).default(600_000),
  SCHEDULER_CONCURRENCY: int(1, 200).default(32),
  SCHEDULER_STOP_TIMEOUT_MS: int(0, 600_000).default(10_000),
  SCHEDULER_MISFIRE_GRACE_SECONDS: int(1, 86_400).default(300),
  SCHEDULER_RUN_LIMIT_PER_USER: int(1, 100_000).default(10),
  SCHEDULER_RUN_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  WEBHOOK_MAX_ATTEMPTS: int(1, 20).default(6),
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(10_000),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOK_POLL_MS: int(100, 600_000).default(5000),
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: bool.default('false'),
  SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(25_000),
  GC_HEAP_GROWING_PERCENT: int(0, 300).default(50),
});

export type Config = Readonly<{
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  databasePoolSize: number;
  /** Bound on opening a platform database connection and on waiting for a pooled one (ms). */
  databaseConnectTimeoutMs: number;
  /** Client-side deadline of one platform database query (ms, 0 = none): a server that stops answering fails the request. */
  databaseQueryTimeoutMs: number;
  /** How long start-up waits for an unreachable platform database before giving up (ms, 0 = no wait). */
  databaseStartupTimeoutMs: number;
  redisUrl?: string;
  redisKeyPrefix: string;
  mongodbUrl?: string;
  jwtSecret?: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  adminPassword?: string;
  credentialEncryptionKey?: string;
  logLevel: string;
  loginLimitPerUser: number;
  loginLimitPerIp: number;
  loginLimitWindow: number;
  apiLimitPerUser: number;
  apiLimitPerIp: number;
  apiLimitWindow: number;
  /** Largest JSON/form body (REST) and GraphQL request body, in bytes; larger ones get 413. */
  bodyLimitBytes: number;
  /** Slow-client protection of the HTTP server (slowloris): time to receive headers / the whole request, idle keep-alive. */
  http: Readonly<{ headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; accessLog: boolean }>;
  /** Origins allowed by CORS (browser clients on other origins); empty = same-origin only, ['*'] = any. */
  corsOrigins: readonly string[];
  syncConcurrency: number;
  /** How often a replica looks for queued sync work it was not told about, and heartbeats its own. */
  syncPollMs: number;
  /** A running sync record without a heartbeat for this long belongs to a dead replica: failed. */
  syncStaleSeconds: number;
  /** Classify the synced instances' accounts when a sync session ends. */
  autoClassifyAfterSync: boolean;
  /** Age in days beyond which the built-in stale classification flags an account ("STALE_ACCOUNT_DAYS" in rules). */
  staleAccountDays: number;
  /** How long dashboard figures are cached (0 = not cached). */
  figureCacheTtlSeconds: number;
  /** Bearer token required by GET /metrics (open when unset). */
  metricsToken?: string;
  /** Entries buffered per live log subscriber before the oldest are dropped. */
  logStreamBuffer: number;
  /** Most missed entries replayed to a reconnecting log subscriber; beyond it they are reported as dropped. */
  logStreamReplayLimit: number;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  graphqlMaxAliases: number;
  graphqlMaxTokens: number;
  graphqlMaxDirectives: number;
  /** Operations per batched GraphQL request (a JSON array); 0 = batching refused. */
  graphqlBatchLimit: number;
  /** A query or mutation still running after this many ms is answered with a TIMEOUT error and stopped. */
  graphqlExecutionTimeoutMs: number;
  /** Schema introspection (__schema, __type); default off in production. */
  graphqlIntrospection: boolean;
  /** GraphiQL at /graphql for browsers; default off in production. */
  graphiql: boolean;
  trustProxy: boolean;
  scheduler: Readonly<{
    enabled: boolean;
    processEveryMs: number;
    lockLifetimeMs: number;
    concurrency: number;
    stopTimeoutMs: number;
    misfireGraceSeconds: number;
    runLimitPerUser: number;
    runLimitWindowSeconds: number;
  }>;
  webhooks: Readonly<{
    /** Attempts per delivery, the first included. */
    maxAttempts: number;
    /** Delay before the 2nd attempt; each later one doubles it (capped at one hour). */
    retryBaseMs: number;
    /** Per attempt: connect, send and receive the answer. */
    timeoutMs: number;
    /** How often a replica looks for due deliveries it was not woken for. */
    pollMs: number;
    /** Allow URLs that are or resolve to loopback/private/link-local addresses (SSRF guard off). */
    allowPrivateAddresses: boolean;
  }>;
  /** SIGTERM: in-flight requests and sync work get this long before the process exits anyway (ms). */
  shutdownTimeoutMs: number;
  /** V8's heap growing factor as a percentage over the live heap (0 = V8's own heuristic): see src/main.ts. */
  gcHeapGrowingPercent: number;
  version: string;
}>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  const production = e.NODE_ENV === 'production';
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    databaseStartupTimeoutMs: e.DATABASE_STARTUP_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    mongodbUrl: e.MONGODB_URL,
    jwtSecret: e.JWT_SECRET,
    accessTokenTtl: e.JWT_ACCESS_TOKEN_EXPIRES,
    refreshTokenTtl: e.JWT_REFRESH_TOKEN_EXPIRES,
    adminPassword: e.WHALEFALL_ADMIN_PASSWORD || undefined,
    credentialEncryptionKey: e.CREDENTIAL_ENCRYPTION_KEY || undefined,
    logLevel: e.LOG_LEVEL,
    loginLimitPerUser: e.LOGIN_RATE_LIMIT_PER_USER,
    loginLimitPerIp: e.LOGIN_RATE_LIMIT_PER_IP,
    loginLimitWindow: e.LOGIN_RATE_LIMIT_WINDOW_SECONDS,
    apiLimitPerUser: e.API_RATE_LIMIT_PER_USER,
    apiLimitPerIp: e.API_RATE_LIMIT_PER_IP,
    apiLimitWindow: e.API_RATE_LIMIT_WINDOW_SECONDS,
    bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
    http: Object.freeze({
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      accessLog: e.HTTP_ACCESS_LOG,
    }),
    corsOrigins: Object.freeze([...e.CORS_ORIGINS]),
    syncConcurrency: e.SYNC_CONCURRENCY,
    syncPollMs: e.SYNC_POLL_MS,
    syncStaleSeconds: e.SYNC_STALE_SECONDS,
    autoClassifyAfterSync: e.AUTO_CLASSIFY_AFTER_SYNC,
    staleAccountDays: e.STALE_ACCOUNT_DAYS,
    logStreamBuffer: e.LOG_STREAM_BUFFER,
    figureCacheTtlSeconds: e.FIGURE_CACHE_TTL_SECONDS,
    metricsToken: e.METRICS_TOKEN || undefined,
    logStreamReplayLimit: e.LOG_STREAM_REPLAY_LIMIT,
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    graphqlMaxCost: e.GRAPHQL_MAX_COST,
    graphqlMaxAliases: e.GRAPHQL_MAX_ALIASES,
    graphqlMaxTokens: e.GRAPHQL_MAX_TOKENS,
    graphqlMaxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    graphqlBatchLimit: e.GRAPHQL_BATCH_LIMIT,
    graphqlExecutionTimeoutMs: e.GRAPHQL_EXECUTION_TIMEOUT_MS,
    graphqlIntrospection: e.GRAPHQL_INTROSPECTION ?? !production,
    graphiql: e.GRAPHQL_GRAPHIQL ?? !production,
    trustProxy: e.TRUST_PROXY,
    scheduler: Object.freeze({
      enabled: e.SCHEDULER_ENABLED,
      processEveryMs: e.SCHEDULER_PROCESS_EVERY_MS,
      lockLifetimeMs: e.SCHEDULER_LOCK_LIFETIME_MS,
      concurrency: e.SCHEDULER_CONCURRENCY,
      stopTimeoutMs: e.SCHEDULER_STOP_TIMEOUT_MS,
      misfireGraceSeconds: e.SCHEDULER_MISFIRE_GRACE_SECONDS,
      runLimitPerUser: e.SCHEDULER_RUN_LIMIT_PER_USER,
      runLimitWindowSeconds: e.SCHEDULER_RUN_LIMIT_WINDOW_SECONDS,
    }),
    webhooks: Object.freeze({
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      pollMs: e.WEBHOOK_POLL_MS,
      allowPrivateAddresses: e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
    }),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    gcHeapGrowingPercent: e.GC_HEAP_GROWING_PERCENT,
    version: '4.0.0',
  });
}
