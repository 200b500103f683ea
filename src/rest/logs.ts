/**
 * Unified log REST (SPEC §4.8): flat paths of the API document and /unified-logs/api/…. The flat
 * /api/statistics is log statistics; the flat /api/health stays system health (log health lives at
 * /unified-logs/api/health only).
 */
import { once } from 'node:events';
import { Router, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { csvSafe } from '../lib/csv.js';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/logs.js';
import type { LogRow, LogStatistics } from '../services/logs/log-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { iso } from './serializers.js';

export function logJson(l: LogRow) {
  return {
    id: l.id,
    timestamp: iso(l.timestamp),
    level: l.level,
    module: l.module,
    message: l.message,
    traceback: l.traceback,
    context: l.context,
    user_id: l.userId,
    request_id: l.requestId,
    instance_id: l.instanceId,
    created_at: iso(l.createdAt),
  };
}

function statsJson(s: LogStatistics) {
  return {
    total_logs: s.totalLogs,
    level_distribution: s.byLevel,
    error_count: s.errorCount,
    warning_count: s.warningCount,
    info_count: s.byLevel.INFO,
    critical_count: s.byLevel.CRITICAL,
    error_rate: s.errorRate,
    top_modules: s.topModules,
    bucket: s.bucket,
    series: s.buckets,
    start: s.start,
    end: s.end,
  };
}

const both = (p: string) => [`/api/${p}`, `/unified-logs/api/${p}`];
/** Upstream `sort_by`/`sort_order` are aliases of `sort`/`order`. */
const searchInput = (req: Request) => {
  const q = queryInput(req);
  return { ...q, sort: q.sort ?? q.sortBy, order: q.order ?? q.sortOrder };
};

const CSV_HEADER = ['id', 'timestamp', 'level', 'module', 'message', 'traceback', 'context', 'user_id', 'request_id', 'instance_id', 'created_at'];

/** Streams rows to the client, waiting for the socket to drain so memory stays flat. */
async function streamExport(res: Response, format: 'csv' | 'json', rows: AsyncGenerator<LogRow>): Promise<void> {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename=logs_export_${stamp}.${format}`);
  const write = async (chunk: string) => {
    if (!res.write(chunk)) await once(res, 'drain');
  };
  await write(format === 'csv' ? stringify([CSV_HEADER]) : '[');
  let first = true;
  for await (const l of rows) {
    if (res.destroyed) return; // client went away: stop reading
    if (format === 'csv') {
      const j = logJson(l);
      await write(stringify([[j.id, j.timestamp, j.level, j.module, j.message, j.traceback, j.context ? JSON.stringify(j.context) : '', j.user_id, j.request_id, j.instance_id, j.created_at].map(csvSafe)]));
    } else {
      await write(`${first ? '' : ','}\n${JSON.stringify(logJson(l))}`);
    }
    first = false;
  }
  res.end(format === 'csv' ? '' : '\n]\n');
}

export function logRoutes(deps: AppDeps): Router {
  const r = Router();
  r.get(both('export'), rest(deps, ops.exportLogsOp, queryInput, (res, out) => streamExport(res, out.format, out.rows)));
  r.get(both('search'), rest(deps, ops.searchLogsOp, searchInput, (res, page) => sendPage(res, page, logJson)));
  r.get(both('statistics'), rest(deps, ops.logStatisticsOp, queryInput, (res, s) => sendSuccess(res, statsJson(s))));
  r.get(both('stats'), rest(deps, ops.logStatisticsOp, queryInput, (res, s) =>
    sendSuccess(res, { total_logs: s.totalLogs, error_logs: s.errorCount, warning_logs: s.warningCount, modules_count: s.topModules.length, time_range_hours: (Date.parse(s.end) - Date.parse(s.start)) / 3_600_000 }),
  ));
  r.get('/unified-logs/api/health', rest(deps, ops.logStatisticsOp, () => ({ hours: 1 }), (res, s) => {
    const score = 100 - Math.min(s.errorCount * 10, 50) - (s.errorRate > 10 ? 20 : 0);
    sendSuccess(res, { status: score >= 90 ? 'healthy' : score >= 70 ? 'warning' : 'critical', health_score: score, error_count: s.errorCount, error_rate: s.errorRate, total_logs: s.totalLogs, last_updated: s.end });
  }));
  r.get(both('errors'), rest(deps, ops.recentErrorsOp, queryInput, (res, rows) => sendSuccess(res, { logs: rows.map(logJson) })));
  r.get(both('modules'), rest(deps, ops.logModulesOp, () => ({}), (res, mods) => sendSuccess(res, { modules: mods.map((m) => m.module), counts: mods })));
  r.get(both('real-time'), rest(deps, ops.recentLogsOp, queryInput, (res, rows) => sendSuccess(res, { logs: rows.map(logJson), last_id: rows.at(-1)?.id ?? null })));
  r.get(both('detail/:id'), rest(deps, ops.getLogOp, (req) => ({ id: req.params.id }), (res, l) => sendSuccess(res, { log: logJson(l) })));
  r.post(both('cleanup'), rest(deps, ops.cleanupLogsOp, bodyInput, (res, out) =>
    sendSuccess(res, { deleted_count: out.deletedCount, cutoff: out.cutoff.toISOString() }, `Successfully deleted ${out.deletedCount} log entries`),
  ));
  return r;
}
