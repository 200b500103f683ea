/**
 * Unified log REST (SPEC §4.8): flat paths of the API document and /unified-logs/api/…. The flat
 * /api/statistics is log statistics; the flat /api/health stays system health (log health lives at
 * /unified-logs/api/health only).
 */
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/logs.js';
import type { LogExportRow, LogRow, LogStatistics } from '../services/logs/log-service.js';
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
    series: s.buckets.map((b) => ({ start: b.start, total: b.total, errors: b.errors, warnings: b.warnings, by_level: b.byLevel })),
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


type Export = Awaited<ReturnType<typeof ops.exportLogsOp.run>>;

/** Streams the export with backpressure (memory stays flat whatever its size). */
async function streamExport(res: Response, out: Export): Promise<void> {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  res.setHeader('Content-Type', out.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename=logs_export_${stamp}.${out.format}`);
  if (out.format === 'csv') {
    try {
      await pipeline(out.csv.stream, res);
      out.csv.release();
    } catch (err) {
      out.csv.release(err as Error); // the client went away or the query failed: drop the connection
      if (!res.destroyed) res.destroy();
    }
    return;
  }
  const write = async (chunk: string) => {
    if (!res.write(chunk)) await once(res, 'drain');
  };
  await write('[');
  let first = true;
  for await (const batch of out.batches) {
    if (res.destroyed) return; // client went away: stop reading
    const parts = batch.map((r) => JSON.stringify({ ...r, context: r.context === null ? null : JSON.parse(r.context) }));
    await write(`${first ? '' : ','}\n${parts.join(',\n')}`);
    first = false;
  }
  res.end('\n]\n');
}

export function logRoutes(deps: AppDeps): Router {
  const r = Router();
  r.get(both('export'), rest(deps, ops.exportLogsOp, queryInput, (res, out) => streamExport(res, out)));
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
