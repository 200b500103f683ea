/**
 * Unified log REST (SPEC §4.8): flat paths of the API document and /unified-logs/api/…. The flat
 * /api/statistics is log statistics; the flat /api/health stays system health (log health lives at
 * /unified-logs/api/health only).
 */
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import * as ops from '../resolvers/logs.js';
import type { LogExportRow, LogRow, LogStatistics } from '../services/logs/log-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { queryInput } from './handler.js';
import type { RouteModule } from './route-table.js';
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

export function logRoutes(api: RouteModule): void {
  api.get(both('export'), {
    summary: '导出日志 (format=csv|json，流式；过滤条件同搜索，limit 默认 1000)',
    op: ops.exportLogsOp,
    from: 'query',
    response: 'csv-or-json',
    present: (res, out) => streamExport(res, out),
  });
  api.get(both('search'), {
    summary: '搜索日志 (无日期时为最近 24 小时；start_time/end_time/q/sort_by/sort_order 为别名)',
    op: ops.searchLogsOp,
    from: 'query',
    toInput: searchInput,
    response: 'page',
    present: (res, page) => sendPage(res, page, logJson),
  });
  api.get(both('statistics'), { summary: '日志统计 (按级别、模块、时间桶)', op: ops.logStatisticsOp, from: 'query', present: (res, s) => sendSuccess(res, statsJson(s)) });
  api.get(both('stats'), {
    summary: '日志统计摘要',
    id: 'logStats',
    op: ops.logStatisticsOp,
    from: 'query',
    present: (res, s) =>
      sendSuccess(res, { total_logs: s.totalLogs, error_logs: s.errorCount, warning_logs: s.warningCount, modules_count: s.topModules.length, time_range_hours: (Date.parse(s.end) - Date.parse(s.start)) / 3_600_000 }),
  });
  api.get('/unified-logs/api/health', {
    summary: '日志健康度 (最近 1 小时)',
    id: 'logHealth',
    op: ops.logStatisticsOp,
    fixed: { hours: 1 },
    present: (res, s) => {
      const score = 100 - Math.min(s.errorCount * 10, 50) - (s.errorRate > 10 ? 20 : 0);
      sendSuccess(res, { status: score >= 90 ? 'healthy' : score >= 70 ? 'warning' : 'critical', health_score: score, error_count: s.errorCount, error_rate: s.errorRate, total_logs: s.totalLogs, last_updated: s.end });
    },
  });
  api.get(both('errors'), { summary: '最近的错误日志', op: ops.recentErrorsOp, from: 'query', present: (res, rows) => sendSuccess(res, { logs: rows.map(logJson) }) });
  api.get(both('modules'), { summary: '日志模块及条数', op: ops.logModulesOp, present: (res, mods) => sendSuccess(res, { modules: mods.map((m) => m.module), counts: mods }) });
  api.get(both('real-time'), {
    summary: '最新日志 (after_id 之后)',
    op: ops.recentLogsOp,
    from: 'query',
    present: (res, rows) => sendSuccess(res, { logs: rows.map(logJson), last_id: rows.at(-1)?.id ?? null }),
  });
  api.get(both('detail/:id'), { summary: '日志详情', op: ops.getLogOp, present: (res, l) => sendSuccess(res, { log: logJson(l) }) });
  api.post(both('cleanup'), {
    summary: '删除早于 days 天的日志',
    op: ops.cleanupLogsOp,
    from: 'body',
    example: { days: 30 },
    present: (res, out) => sendSuccess(res, { deleted_count: out.deletedCount, cutoff: out.cutoff.toISOString() }, `Successfully deleted ${out.deletedCount} log entries`),
  });
}
