/** Everything a request or job needs from the running process, built once by buildApp(). */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from './config/index.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { Logger } from './logging/logger.js';
import type { UnifiedLogSink } from './logging/unified-log-sink.js';
import type { Limiter } from './lib/rate-limit.js';
import type { PubSub } from './realtime/pubsub.js';
import type { LogBroadcaster } from './realtime/log-stream.js';
import type { FigureCache } from './lib/figure-cache.js';
import type { Metrics } from './observability/metrics.js';
import type { TokenService } from './auth/tokens.js';
import type { AuthUserCache } from './auth/authenticate.js';
import type { CredentialKey } from './lib/crypto.js';
import type { Scheduler } from './services/scheduler/scheduler-service.js';
import type { SyncWorker } from './services/sync/sync-worker.js';

export interface AppDeps {
  config: Config;
  prisma: PrismaClient;
  pool: pg.Pool;
  embeddedDatabase: boolean;
  logger: Logger;
  logSink: UnifiedLogSink;
  pubsub: PubSub;
  /** Fans new log entries out to live subscribers, each with a bounded buffer. */
  logStream: LogBroadcaster;
  redis?: Redis;
  tokens: TokenService;
  /** Seals and opens stored instance credentials (AES-256-GCM). */
  credentialKey: CredentialKey;
  authCache: AuthUserCache;
  /** Dashboard and statistics figures, cached briefly (Redis when configured). */
  figures: FigureCache;
  /** Prometheus metrics of this process (GET /metrics). */
  metrics: Metrics;
  limiters: { loginPerUser: Limiter; loginPerIp: Limiter; api: Limiter };
  startedAt: Date;
  /** The job scheduler (Agenda); set by buildApp once its job store is connected. */
  scheduler?: Scheduler;
  /** Runs sync session records with the other replicas; set by buildApp. */
  syncWorker?: SyncWorker;
}
