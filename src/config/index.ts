/**
 * Configuration from the environment, validated once at start. Variable names are a contract with
 * operators (see .env.example); invalid values stop the process with one clear message per problem.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
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
  API_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  SYNC_CONCURRENCY: int(1, 64).default(4),
  AUTO_CLASSIFY_AFTER_SYNC: bool.default('true'),
  LOG_STREAM_BUFFER: int(1, 100_000).default(1000),
  FIGURE_CACHE_TTL_SECONDS: int(0, 3600).default(5),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_STREAM_REPLAY_LIMIT: int(0, 1_000_000).default(10_000),
  GRAPHQL_MAX_DEPTH: int(2, 50).default(10),
  GRAPHQL_MAX_COST: int(100, 1_000_000).default(5000),
  TRUST_PROXY: bool.default('false'),
  SCHEDULER_ENABLED: bool.default('true'),
  SCHEDULER_PROCESS_EVERY_MS: int(50, 60_000).default(1000),
  SCHEDULER_LOCK_LIFETIME_MS: int(1000, 86_400_000).default(600_000),
  SCHEDULER_CONCURRENCY: int(1, 200).default(10),
  SCHEDULER_STOP_TIMEOUT_MS: int(0, 600_000).default(10_000),
  SCHEDULER_MISFIRE_GRACE_SECONDS: int(1, 86_400).default(300),
  SCHEDULER_RUN_LIMIT_PER_USER: int(1, 100_000).default(10),
  SCHEDULER_RUN_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(25_000),
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
  apiLimitWindow: number;
  syncConcurrency: number;
  /** Classify the synced instances' accounts when a sync session ends. */
  autoClassifyAfterSync: boolean;
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
  /** SIGTERM: in-flight requests and sync work get this long before the process exits anyway (ms). */
  shutdownTimeoutMs: number;
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
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
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
    apiLimitWindow: e.API_RATE_LIMIT_WINDOW_SECONDS,
    syncConcurrency: e.SYNC_CONCURRENCY,
    autoClassifyAfterSync: e.AUTO_CLASSIFY_AFTER_SYNC,
    logStreamBuffer: e.LOG_STREAM_BUFFER,
    figureCacheTtlSeconds: e.FIGURE_CACHE_TTL_SECONDS,
    metricsToken: e.METRICS_TOKEN || undefined,
    logStreamReplayLimit: e.LOG_STREAM_REPLAY_LIMIT,
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    graphqlMaxCost: e.GRAPHQL_MAX_COST,
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
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    version: '4.0.0',
  });
}
