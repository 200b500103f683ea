/**
 * buildApp(): one HTTP server on one port serving REST (Express 5), GraphQL (yoga at /graphql),
 * GraphQL subscriptions (graphql-ws on the same path) and GraphiQL with local assets. Every request
 * first passes the HTTP front (security headers, CORS, rate limits); the server's timeouts cut off
 * slow clients.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import type { Config } from './config/index.js';
import type { AppDeps } from './deps.js';
import { openDatabase } from './db/database.js';
import { createLogger } from './logging/logger.js';
import { createAppPubSub, type LogEvent } from './realtime/pubsub.js';
import { LogBroadcaster } from './realtime/log-stream.js';
import { FigureCache } from './lib/figure-cache.js';
import { Metrics } from './observability/metrics.js';
import { TokenService } from './auth/tokens.js';
import { AuthUserCache } from './auth/authenticate.js';
import { resolveJwtSecret } from './auth/jwt-secret.js';
import { resolveCredentialKey } from './auth/credential-key.js';
import { Limiter, RequestLimiter } from './lib/rate-limit.js';
import { ensureBootstrapAdmin } from './services/users/user-service.js';
import { seedDatabaseTypes } from './services/inventory/database-types.js';
import { seedClassificationDefaults } from './services/classification/classification-service.js';
import { buildYoga, GRAPHIQL_ASSETS_PATH, graphiqlAssetsDir, toGraphQLError } from './graphql/yoga.js';
import { attachGraphqlWs } from './graphql/ws.js';
import { fastPathApplies, serveFast } from './graphql/fast-path.js';
import { createHttpGuard, isGraphqlPath, readBody, sendFrontError, tooLarge } from './http/guard.js';
import { deleteExpiredSessions } from './services/auth/auth-service.js';
import { restRouter } from './rest/router.js';
import { answerClientError, errorHandler, notFoundHandler } from './rest/handler.js';
import { Scheduler } from './services/scheduler/scheduler-service.js';
import { SyncWorker } from './services/sync/sync-worker.js';
import { WebhookWorker } from './services/alerts/webhook-worker.js';
import { logAccessOnFinish, runRequestInScope } from './logging/request-context.js';

export interface App {
  deps: AppDeps;
  server: http.Server;
  /** The Express application behind every non-GraphQL request (its router stack lists the REST routes). */
  express: express.Express;
  /** Listens on `port` (default config.port; 0 = random); resolves with the base URL. */
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface BuildOptions {
  /** Where pino's stdout stream goes; null silences it (tests). */
  stdout?: NodeJS.WritableStream | null;
  /** Called with the generated admin password, once, when one is generated. */
  onGeneratedAdminPassword?: (password: string) => void;
}

function connectRedis(url: string, prefix: string): { client: Redis; publisher: Redis; subscriber: Redis } {
  const opts = { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false, connectTimeout: 2000 };
  const client = new Redis(url, { ...opts, keyPrefix: undefined });
  const subscriber = new Redis(url, opts);
  // Errors surface through health checks and the insurance limiter; never crash on a Redis outage.
  for (const c of [client, subscriber]) c.on('error', () => {});
  void prefix;
  return { client, publisher: client, subscriber };
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const { logger, sink } = createLogger(config.logLevel, opts.stdout === undefined ? process.stdout : opts.stdout);
  const bootLog = (msg: string) => logger.info({ module: 'system' }, msg);
  const db = await openDatabase(config, bootLog);
  const redis = config.redisUrl ? connectRedis(config.redisUrl, config.redisKeyPrefix) : undefined;
  const pubsub = createAppPubSub(redis ? { publisher: redis.publisher, subscriber: redis.subscriber, prefix: config.redisKeyPrefix } : undefined);
  // Other replicas' events reach this one from here on (bounded: a Redis outage must not block start).
  await Promise.race([pubsub.ready, sleep(2000)]);
  sink.attach(db.pool, (rows) => {
    for (const r of rows) {
      const event: LogEvent = {
        id: r.id,
        timestamp: r.timestamp.toISOString(),
        level: r.level,
        module: r.module,
        message: r.message,
        context: r.context,
        userId: r.userId,
        instanceId: r.instanceId,
        requestId: r.requestId,
        createdAt: r.createdAt.toISOString(),
      };
      pubsub.publish('log.created', event);
    }
  });

  const tokens = new TokenService(resolveJwtSecret(config, bootLog), config.accessTokenTtl, config.refreshTokenTtl);
  const authCache = new AuthUserCache(db.prisma);
  const prefix = config.redisKeyPrefix;
  let wsConnections = () => 0; // set once the WebSocket server exists
  const metrics: Metrics = new Metrics({ pool: db.pool, liveLogSubscribers: () => deps.logStream.size, wsConnections: () => wsConnections() });
  const deps: AppDeps = {
    config,
    prisma: db.prisma,
    pool: db.pool,
    embeddedDatabase: db.embedded,
    logger,
    logSink: sink,
    pubsub,
    logStream: new LogBroadcaster(pubsub, config.logStreamBuffer, () => metrics.droppedLogEntries.inc()),
    redis: redis?.client,
    tokens,
    credentialKey: resolveCredentialKey(config, bootLog),
    authCache,
    figures: new FigureCache(redis?.client, `${prefix}figures:`, config.figureCacheTtlSeconds * 1000),
    metrics,
    limiters: {
      loginPerUser: new Limiter({ keyPrefix: `${prefix}rl:login:user`, points: config.loginLimitPerUser, durationSeconds: config.loginLimitWindow }, redis?.client),
      loginPerIp: new Limiter({ keyPrefix: `${prefix}rl:login:ip`, points: config.loginLimitPerIp, durationSeconds: config.loginLimitWindow }, redis?.client),
      api: new RequestLimiter(
        { keyPrefix: `${prefix}rl:api:`, perIp: config.apiLimitPerIp, perUser: config.apiLimitPerUser, durationSeconds: config.apiLimitWindow },
        redis?.client,
      ),
    },
    startedAt: new Date(),
  };
  // Changes to a user (disable, role, delete) must be seen by every replica's auth cache at once.
  void (async () => {
    for await (const { id } of pubsub.subscribe('user.changed')) authCache.evict(id);
  })();

  const admin = await ensureBootstrapAdmin(deps, config.adminPassword);
  await seedDatabaseTypes(db.prisma);
  await seedClassificationDefaults(deps);
  if (admin.generatedPassword) {
    (opts.onGeneratedAdminPassword ?? printGeneratedPassword)(admin.generatedPassword);
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  app.use(metrics.http());
  if (config.graphiql) app.use(GRAPHIQL_ASSETS_PATH, express.static(graphiqlAssetsDir(), { immutable: true, maxAge: '1d' }));
  app.get('/favicon.ico', (_req, res) => res.status(204).end());
  const yoga = buildYoga(deps);
  app.use(restRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps));

  const guard = createHttpGuard(deps, deps.limiters.api);
  const limits = { bodyLimit: config.bodyLimitBytes, batchLimit: config.graphqlBatchLimit };
  const graphqlFailed = (res: http.ServerResponse) => (err: Error) => {
    logger.error({ module: 'graphql', err }, 'GraphQL request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"服务器内部错误"}]}');
  };
  // In-flight HTTP requests, so a stop can let them finish; while stopping, every response closes its
  // connection, so no keep-alive client sends another request to a process that is going away.
  let inFlight = 0;
  let stopping = false;
  // GraphQL goes straight to yoga: Express adds nothing there but ~0.2 ms per request (bench/http).
  const serveGraphql = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (fastPathApplies(req)) return void serveFast(yoga, req, res, limits, (err) => toGraphQLError(err, deps)).catch(graphqlFailed(res));
    if (req.method !== 'POST') return void yoga(req, res);
    // Other POST bodies (graphql-response+json, SSE, application/graphql…) get the same size limit;
    // yoga takes a body already read from `req.body`.
    readBody(req, config.bodyLimitBytes).then((body) => {
      if (body === undefined) return sendFrontError(req, res, tooLarge(config.bodyLimitBytes));
      (req as http.IncomingMessage & { body?: Buffer }).body = body;
      void yoga(req, res);
    }, graphqlFailed(res));
  };
  const server = http.createServer(
    {
      // Slow clients (slowloris): the whole header block within headersTimeout, the whole request
      // within requestTimeout, idle keep-alive connections closed after keepAliveTimeout. Node
      // checks the first two every connectionsCheckingInterval, so that follows the shorter one.
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.http.headersTimeoutMs / 4))),
    },
    (req, res) => {
      inFlight++;
      res.once('close', () => inFlight--);
      if (stopping) res.setHeader('connection', 'close');
      runRequestInScope(req, res, config.trustProxy, () => {
        if (config.http.accessLog) logAccessOnFinish(logger, res);
        guard.handle(req, res, () => (isGraphqlPath(req.url) ? serveGraphql(req, res) : app(req, res)));
      });
    },
  );
  // Malformed or oversized request heads get an error envelope instead of a bare socket close.
  server.on('clientError', answerClientError);
  const ws = attachGraphqlWs(server, yoga as never, deps);
  wsConnections = ws.connections;

  // The scheduler starts once the server is built (its job API is served by it) and stops first.
  const scheduler = new Scheduler(deps, { databaseUrl: db.url, embedded: db.embedded });
  deps.scheduler = scheduler;
  const syncWorker = new SyncWorker(deps);
  deps.syncWorker = syncWorker;
  syncWorker.start();
  const webhookWorker = new WebhookWorker(deps);
  deps.webhookWorker = webhookWorker;
  webhookWorker.start();
  try {
    await scheduler.start();
  } catch (err) {
    await syncWorker.stop();
    await webhookWorker.stop();
    await ws.close().catch(() => {});
    await sink.detach().catch(() => {});
    if (redis) {
      redis.subscriber.disconnect();
      redis.client.disconnect();
    }
    await db.close();
    throw err;
  }

  // Finished login sessions are deleted hourly (and per user at each login); every replica may run it.
  const sessionSweeper = setInterval(() => {
    deleteExpiredSessions(db.prisma).catch((err: Error) => logger.error({ module: 'auth', err }, `清理过期登录会话失败: ${err.message}`));
  }, 3_600_000);
  sessionSweeper.unref();

  let stopped = false;
  return {
    deps,
    server,
    express: app,
    start: (port = config.port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, config.host, () => {
          const addr = server.address() as AddressInfo;
          const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
          logger.info({ module: 'system', port: addr.port, embedded_database: db.embedded, redis: Boolean(redis) }, `鲸落 gateway listening on port ${addr.port}`);
          resolve(`http://${host}:${addr.port}`);
        });
      }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      stopping = true;
      clearInterval(sessionSweeper);
      deps.limiters.api.close();
      // Everything below shares one budget; the process entry exits anyway at SHUTDOWN_TIMEOUT_MS.
      const deadline = Date.now() + config.shutdownTimeoutMs - Math.min(3000, config.shutdownTimeoutMs / 4);
      logger.info({ module: 'system', in_flight: inFlight, websockets: ws.connections() }, '停止中：不再接受新连接，等待进行中的请求');
      // 1. No new connections (the port is closed at once); idle keep-alive connections close now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Sync work: nothing new is taken; records not started stay queued for the other replicas (or
      // this one after a restart); the ones running here finish (bounded by the deadline).
      const syncStopped = Promise.race([syncWorker.stop(), sleep(Math.max(0, deadline - Date.now()))]);
      // Queued webhook deliveries stay in the table for the other replicas (or the next start).
      const webhooksStopped = webhookWorker.stop();
      // 2. Live subscriptions cannot "finish": their clients get 1001 (going away) and reconnect to
      //    another replica (a log stream with its last id, so nothing is lost). Sockets first: a
      //    subscription completed before would look like a normal end to its client.
      await ws.close().catch(() => {});
      deps.logStream.close();
      // 3. In-flight requests finish while the scheduler takes no new jobs and lets running ones end
      //    (SCHEDULER_STOP_TIMEOUT_MS), then releases its locks.
      await Promise.all([
        drainRequests(deadline),
        scheduler.stop().catch((err: Error) => logger.error({ module: 'scheduler', err }, `调度器停止失败: ${err.message}`)),
      ]);
      // 4. The sync records this process runs end (their connections need the pools below).
      await syncStopped;
      await webhooksStopped;
      // 5. Whatever is still open now is cut, then the pools close.
      server.closeAllConnections();
      await closed;
      logger.info({ module: 'system', unfinished_requests: inFlight }, '已停止');
      await sink.detach();
      if (redis) {
        redis.subscriber.disconnect();
        if (redis.client.status === 'ready') await redis.client.quit().catch(() => redis.client.disconnect());
        else redis.client.disconnect();
      }
      await db.close();
    },
  };

  async function drainRequests(deadline: number): Promise<void> {
    while (inFlight > 0 && Date.now() < deadline) {
      server.closeIdleConnections();
      await sleep(25);
    }
    server.closeIdleConnections();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function printGeneratedPassword(password: string): void {
  // Printed once to the terminal only: never through the logger, so it is not stored in unified_logs.
  process.stdout.write(
    `\n================================================================\n` +
      `  鲸落: created the first user "admin" with the password:\n      ${password}\n` +
      `  It is shown only this once. Set WHALEFALL_ADMIN_PASSWORD to choose it.\n` +
      `================================================================\n\n`,
  );
}
