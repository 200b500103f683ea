/**
 * GET /metrics: Prometheus text format. With METRICS_TOKEN set, scrapers must send it as a bearer
 * token (compared in constant time); without it the endpoint is open, for deployments that restrict
 * it at the network level instead.
 */
import { timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../lib/errors.js';
import { sendError } from './envelope.js';
import type { RouteModule } from './route-table.js';

function tokenMatches(expected: string, header: string | undefined): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function metricsRoutes(api: RouteModule): void {
  const { deps } = api;
  api.get('/metrics', {
    summary: 'Prometheus 指标 (设置 METRICS_TOKEN 时需 Bearer METRICS_TOKEN)',
    id: 'metrics',
    requires: 'public',
    metricsToken: true,
    response: 'prometheus',
    errors: [401],
    handler: async (req, res) => {
      const token = deps.config.metricsToken;
      if (token && !tokenMatches(token, req.get('authorization'))) {
        sendError(res, new AuthenticationError('需要有效的 METRICS_TOKEN'));
        return;
      }
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.end(await deps.metrics.registry.metrics());
    },
  });
}
