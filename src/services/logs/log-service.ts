/** Unified log: search, statistics, recent entries and retention cleanup. Cleanup deletes in bounded
 * batches so a large purge never holds one long transaction over the table every request writes to. */
import type { AppDeps } from '../../deps.js';
import type { AuthUser } from '../../auth/permissions.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { LogLevel } from '../../generated/prisma/enums.js';
import { ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { pageOf, windowOf, type ListQuery, type Page } from '../../lib/pagination.js';
import type { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { likeLiteral } from '../../lib/like.js';

/** Default retention of the scheduled cleanup (SPEC §3.10 LOG_RETENTION_DAYS). */
export const DEFAULT_LOG_RETENTION_DAYS = 30;
const DELETE_BATCH = 10_000;

export async function cleanupLogs(deps: AppDeps, days: number, actor: AuthUser | null): Promise<{ deletedCount: number; cutoff: Date }> {
  if (!Number.isInteger(days) || days < 1) throw new ValidationError('days 必须是不小于 1 的整数', { errors: [{ field: 'days', message: 'days 必须是不小于 1 的整数' }] });
  const cutoff = new Date(Date.now() - days * 86_400_000);
  let deletedCount = 0;
  for (;;) {
    const n = await deps.prisma.$executeRaw`
      DELETE FROM unified_logs WHERE id IN (SELECT id FROM unified_logs WHERE "timestamp" < ${cutoff} LIMIT ${DELETE_BATCH})`;
    deletedCount += n;
    if (n < DELETE_BATCH) break;
  }
  deps.logger.info(
    { module: 'system', event: 'logs_cleaned', days, deleted_count: deletedCount, cutoff: cutoff.toISOString(), actor_id: actor?.id ?? null },
    `Successfully deleted ${deletedCount} log entries older than ${days} days`,
  );
  return { deletedCount, cutoff };
}


export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

export interface LogFilter {
  level?: LogLevel;
  module?: string;
  search?: string;
  userId?: number;
  instanceId?: number;
  requestId?: string;
  startDate?: Date;
  endDate?: Date;
}

/** Default search window when no dates are given (SPEC §3.10): the last 24 hours. */
const DEFAULT_WINDOW_MS = 86_400_000;

export function logWhere(f: LogFilter, defaultWindow = true): Prisma.UnifiedLogWhereInput {
  const start = f.startDate ?? (defaultWindow && !f.endDate ? new Date(Date.now() - DEFAULT_WINDOW_MS) : undefined);
  return {
    ...(f.level ? { level: f.level } : {}),
    ...(f.module ? { module: { contains: likeLiteral(f.module), mode: 'insensitive' } } : {}),
    // ILIKE on message uses the trigram index (unified_logs_message_trgm_idx).
    ...(f.search ? { message: { contains: likeLiteral(f.search), mode: 'insensitive' } } : {}),
    ...(f.userId ? { userId: f.userId } : {}),
    ...(f.instanceId ? { instanceId: f.instanceId } : {}),
    ...(f.requestId ? { requestId: f.requestId } : {}),
    ...(start || f.endDate ? { timestamp: { ...(start ? { gte: start } : {}), ...(f.endDate ? { lte: f.endDate } : {}) } } : {}),
  };
}

export type LogRow = Prisma.UnifiedLogGetPayload<object>;

export async function searchLogs(deps: AppDeps, q: ListQuery & LogFilter): Promise<Page<LogRow>> {
  const where = logWhere(q);
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.unifiedLog.findMany({ where, orderBy: [{ [q.sort]: q.order }, { id: q.order }], skip: w.offset, take: w.limit }),
    deps.prisma.unifiedLog.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export async function getLog(deps: AppDeps, id: number): Promise<LogRow> {
  const row = await deps.prisma.unifiedLog.findUnique({ where: { id } });
  if (!row) throw new ResourceNotFoundError('日志不存在', { id });
  return row;
}

export async function logModules(deps: AppDeps): Promise<Array<{ module: string; count: number }>> {
  const rows = await deps.prisma.unifiedLog.groupBy({ by: ['module'], _count: { _all: true }, orderBy: { module: 'asc' } });
  return rows.map((r) => ({ module: r.module, count: r._count._all }));
}

/** Recent entries for polling clients: after an id (exclusive) or since a time, oldest first. */
export async function recentLogs(deps: AppDeps, q: { afterId?: number; since?: Date; level?: LogLevel; limit: number }): Promise<LogRow[]> {
  if (q.afterId === undefined && !q.since) {
    const rows = await deps.prisma.unifiedLog.findMany({ where: q.level ? { level: q.level } : {}, orderBy: { id: 'desc' }, take: q.limit });
    return rows.reverse();
  }
  return deps.prisma.unifiedLog.findMany({
    where: { ...(q.afterId !== undefined ? { id: { gt: q.afterId } } : {}), ...(q.since ? { timestamp: { gte: q.since } } : {}), ...(q.level ? { level: q.level } : {}) },
    orderBy: { id: 'asc' },
    take: q.limit,
  });
}

export async function recentErrors(deps: AppDeps, hours: number, limit: number): Promise<LogRow[]> {
  return deps.prisma.unifiedLog.findMany({
    where: { level: { in: ['ERROR', 'CRITICAL'] }, timestamp: { gte: new Date(Date.now() - hours * 3_600_000) } },
    orderBy: { id: 'desc' },
    take: limit,
  });
}

export interface LogStatistics {
  totalLogs: number;
  byLevel: Record<string, number>;
  topModules: Array<{ module: string; count: number }>;
  errorCount: number;
  warningCount: number;
  errorRate: number;
  buckets: Array<{ start: string; total: number; errors: number; warnings: number; byLevel: Record<string, number> }>;
  bucket: 'hour' | 'day';
  start: string;
  end: string;
}

const HOUR_MS = 3_600_000;

/**
 * Counts over [start, end]: by level, top modules, and zero-filled UTC hour or day buckets.
 *
 * One statement. Whole hours inside the range come from unified_log_counts (kept exact by triggers),
 * only the partial hours at either end are counted in unified_logs itself: a month of a million
 * entries costs a few hundred rollup rows, not a million-row scan (bench/dashboard).
 */
export async function logStatistics(deps: AppDeps, q: { startDate?: Date; endDate?: Date; hours?: number; bucket?: 'hour' | 'day' }): Promise<LogStatistics> {
  const end = q.endDate ?? new Date();
  const start = q.startDate ?? new Date(end.getTime() - (q.hours ?? 24) * 3_600_000);
  const bucket = q.bucket ?? (end.getTime() - start.getTime() > 3 * 86_400_000 ? 'day' : 'hour');
  // Whole hours [fullStart, fullEnd); raw rows for [start, fullStart) and [fullEnd, end].
  const fullStart = new Date(Math.ceil(start.getTime() / HOUR_MS) * HOUR_MS);
  const fullEnd = new Date(Math.max(fullStart.getTime(), Math.floor(end.getTime() / HOUR_MS) * HOUR_MS));
  const rows = await deps.prisma.$queryRaw<Array<{ b: Date | null; level: string | null; module: string | null; n: number }>>`
    WITH parts AS (
      SELECT "hour" AS t, level, module, "count" AS n FROM unified_log_counts WHERE "hour" >= ${fullStart} AND "hour" < ${fullEnd}
      UNION ALL
      SELECT "timestamp", level, module, 1 FROM unified_logs
       WHERE ("timestamp" >= ${start} AND "timestamp" < ${fullStart} AND "timestamp" <= ${end})
          OR ("timestamp" >= ${fullEnd} AND "timestamp" >= ${start} AND "timestamp" <= ${end})
    )
    SELECT date_trunc(${bucket}, t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS b, level::text AS level, NULL::text AS module, sum(n)::int AS n
      FROM parts GROUP BY 1, 2
    UNION ALL
    SELECT NULL, NULL, module, sum(n)::int FROM parts GROUP BY module`;
  const levels = new Map<string, number>();
  const modules: Array<{ module: string; count: number }> = [];
  const series = new Map<number, { levels: Record<string, number> }>();
  for (const r of rows) {
    if (r.module !== null) {
      modules.push({ module: r.module, count: r.n });
      continue;
    }
    levels.set(r.level!, (levels.get(r.level!) ?? 0) + r.n);
    const t = new Date(r.b!).getTime();
    if (!series.has(t)) series.set(t, { levels: {} });
    series.get(t)!.levels[r.level!] = r.n;
  }
  modules.sort((a, b) => b.count - a.count || a.module.localeCompare(b.module));
  const byLevel: Record<string, number> = Object.fromEntries(LOG_LEVELS.map((l) => [l, 0]));
  for (const [l, n] of levels) byLevel[l] = n;
  const totalLogs = Object.values(byLevel).reduce((a, b) => a + b, 0);
  const errorCount = byLevel.ERROR! + byLevel.CRITICAL!;
  const step = bucket === 'hour' ? 3_600_000 : 86_400_000;
  const buckets: LogStatistics['buckets'] = [];
  for (let t = Math.floor(start.getTime() / step) * step; t <= end.getTime(); t += step) {
    const levelsAt: Record<string, number> = Object.fromEntries(LOG_LEVELS.map((l) => [l, series.get(t)?.levels[l] ?? 0]));
    buckets.push({
      start: new Date(t).toISOString(),
      total: Object.values(levelsAt).reduce((a, b) => a + b, 0),
      errors: levelsAt.ERROR! + levelsAt.CRITICAL!,
      warnings: levelsAt.WARNING!,
      byLevel: levelsAt,
    });
  }
  return {
    totalLogs,
    byLevel,
    topModules: modules.slice(0, 10),
    errorCount,
    warningCount: byLevel.WARNING!,
    errorRate: totalLogs ? Math.round((errorCount / totalLogs) * 10_000) / 100 : 0,
    buckets,
    bucket,
    start: start.toISOString(),
    end: end.toISOString(),
  };
}

const EXPORT_BATCH = 5000;

/** An exported entry as PostgreSQL formats it: timestamps as UTC ISO strings, context as JSON text. */
export interface LogExportRow {
  id: number;
  timestamp: string;
  level: string;
  module: string;
  message: string;
  traceback: string | null;
  context: string | null;
  user_id: number | null;
  request_id: string | null;
  instance_id: number | null;
  created_at: string;
}

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const EXPORT_COLUMNS = `id, to_char("timestamp" AT TIME ZONE 'UTC', ${ISO_UTC}) AS "timestamp", level::text AS level, module, message,
  traceback, context::text AS context, user_id, request_id, instance_id, to_char(created_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS created_at`;

/** `contains` for ILIKE: the user's text matched literally, as in logWhere. */
const containsPattern = (s: string) => `%${likeLiteral(s)}%`;

/**
 * The same filter as logWhere(f, false), as SQL for the export (plain pg, see below). `p` renders a
 * value: a bind parameter, or (COPY takes no parameters) a quoted literal.
 */
function logFilterSql(f: LogFilter, p: (v: string | number | Date) => string): string {
  const c: string[] = [];
  if (f.level) c.push(`level = ${p(f.level)}::"LogLevel"`);
  if (f.module) c.push(`module ILIKE ${p(containsPattern(f.module))}`);
  if (f.search) c.push(`message ILIKE ${p(containsPattern(f.search))}`);
  if (f.userId) c.push(`user_id = ${p(f.userId)}`);
  if (f.instanceId) c.push(`instance_id = ${p(f.instanceId)}`);
  if (f.requestId) c.push(`request_id = ${p(f.requestId)}`);
  if (f.startDate) c.push(`"timestamp" >= ${p(f.startDate)}`);
  if (f.endDate) c.push(`"timestamp" <= ${p(f.endDate)}`);
  return c.length ? c.join(' AND ') : 'TRUE';
}

/**
 * Matching entries newest first, in keyset batches (id < last seen), so an export of millions of
 * rows holds one batch in memory at a time, never the whole result. Plain pg with the columns
 * formatted by PostgreSQL: through the ORM, turning each row into objects and back into text made
 * the export a tenth of COPY's speed (bench/logs).
 */
export async function* exportLogBatches(deps: AppDeps, filter: LogFilter, limit: number): AsyncGenerator<LogExportRow[]> {
  let before: number | undefined;
  let left = limit;
  while (left > 0) {
    const params: unknown[] = [];
    const where = logFilterSql(filter, (v) => `$${params.push(v)}`);
    const keyset = before === undefined ? '' : ` AND id < $${params.push(before)}`;
    const take = Math.min(EXPORT_BATCH, left);
    const { rows } = await deps.pool.query<LogExportRow>(
      `SELECT ${EXPORT_COLUMNS} FROM unified_logs WHERE ${where}${keyset} ORDER BY id DESC LIMIT $${params.push(take)}`,
      params,
    );
    if (rows.length) yield rows;
    if (rows.length < take) return;
    left -= rows.length;
    before = rows[rows.length - 1]!.id;
  }
}

/** A text column for a spreadsheet: a leading = + - @ tab or CR is neutralised with a quote (as csvSafe). */
const spreadsheetSafe = (col: string) => `CASE WHEN left(${col}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || ${col} ELSE ${col} END`;

const CSV_COLUMNS = `id, to_char("timestamp" AT TIME ZONE 'UTC', ${ISO_UTC}) AS "timestamp", level, ${spreadsheetSafe('module')} AS module,
  ${spreadsheetSafe('message')} AS message, ${spreadsheetSafe('traceback')} AS traceback, context, user_id,
  ${spreadsheetSafe('request_id')} AS request_id, instance_id, to_char(created_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS created_at`;

/**
 * The CSV export as PostgreSQL writes it (COPY … TO STDOUT, header included), newest first. The
 * database formats and quotes the CSV; the gateway only streams it, with backpressure, so memory
 * stays flat and throughput is close to COPY's own (bench/logs). The caller releases the connection
 * when the stream ends (with the error, if any: a COPY cut short leaves it unusable).
 */
export async function exportLogsCsv(deps: AppDeps, filter: LogFilter, limit: number): Promise<{ stream: Readable; release: (err?: Error) => void }> {
  const client = await deps.pool.connect();
  const literal = (v: string | number | Date) => (typeof v === 'number' ? String(v) : client.escapeLiteral(v instanceof Date ? v.toISOString() : v));
  const sql = `COPY (SELECT ${CSV_COLUMNS} FROM unified_logs WHERE ${logFilterSql(filter, literal)} ORDER BY id DESC LIMIT ${Number(limit)})
    TO STDOUT WITH (FORMAT csv, HEADER)`;
  // Exempt from DATABASE_QUERY_TIMEOUT_MS: COPY runs as long as the client takes to read (backpressure).
  // pg reads the deadline from the query object; this is the longest timer Node accepts.
  const stream = client.query(Object.assign(copyTo(sql), { query_timeout: 2_147_483_647 }));
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err ?? undefined);
  };
  return { stream, release };
}
