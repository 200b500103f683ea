/**
 * Public health endpoints. The flat /api/health is system health (the API document's shape), and
 * /health/ its upstream path; /health/detailed adds database and Redis; readiness answers 503 while
 * the database is unreachable.
 */
import { basicHealth, detailedHealth, readiness } from '../services/health/health-service.js';
import { sendError, sendSuccess } from './envelope.js';
import { DatabaseError } from '../lib/errors.js';
import type { RouteModule } from './route-table.js';

export function healthRoutes(api: RouteModule): void {
  const { deps } = api;
  api.get(['/api/health', '/health', '/health/'], {
    summary: '系统健康检查',
    id: 'health',
    requires: 'public',
    handler: (_req, res) => sendSuccess(res, basicHealth(deps), '服务运行正常'),
  });
  api.get('/health/detailed', {
    summary: '详细健康检查 (数据库、Redis；不健康时 503)',
    id: 'healthDetailed',
    requires: 'public',
    errors: [503],
    handler: async (_req, res) => {
      const h = await detailedHealth(deps);
      const body = {
        status: h.status,
        database: h.database,
        redis: h.redis,
        timestamp: h.timestamp,
        version: h.version,
        uptime_seconds: h.uptimeSeconds,
        embedded_database: h.embeddedDatabase,
        components: {
          database: { healthy: h.components.database.healthy, status: h.components.database.status, response_time_ms: h.components.database.responseTimeMs },
          redis: { healthy: h.components.redis.healthy, status: h.components.redis.status, response_time_ms: h.components.redis.responseTimeMs },
        },
      };
      if (h.status === 'unhealthy') res.status(503).json({ status: 'error', success: false, error: 'DatabaseError', message: '数据库连接失败', code: 503, details: body });
      else sendSuccess(res, body, '详细健康检查完成');
    },
  });
  api.get(['/health/readiness', '/health/health/readiness', '/readyz'], {
    summary: '就绪检查 (数据库不可达时 503)',
    id: 'readiness',
    requires: 'public',
    errors: [503],
    handler: async (_req, res) => {
      const { ready } = await readiness(deps);
      if (ready) sendSuccess(res, { status: 'ready' }, '服务已就绪');
      else sendError(res, new DatabaseError('服务未就绪', { status: 'not_ready' }, 503));
    },
  });
  api.get(['/health/liveness', '/health/health/liveness', '/livez'], {
    summary: '存活检查',
    id: 'liveness',
    requires: 'public',
    handler: (_req, res) => sendSuccess(res, { status: 'alive' }, '服务存活'),
  });
}
