/**
 * Second destination of the pino logger: every event at INFO and above becomes a row in
 * `unified_logs` (SPEC §2.13) and is published for live subscribers. Rows are buffered and written
 * in batches (100 rows or every FLUSH_INTERVAL_MS) so logging never adds a query to a request.
 */
import { Writable } from 'node:stream';
import type pg from 'pg';
import type { LogLevel } from '../generated/prisma/enums.js';
import { redactDeep } from '../lib/redact.js';

/** A new entry is written (and reaches live subscribers) this soon; entries arriving meanwhile share
 * the insert. Short, because live tails wait on it (bench/logs: fan-out latency). */
const FLUSH_DELAY_MS = 20;
/** Safety net: also flush (and retry after a failed write) on this period. */
const FLUSH_INTERVAL_MS = 250;
const FLUSH_SIZE = 100;
/** While the database is not attached (start-up) or down, keep at most this many rows (the oldest go). */
const MAX_BUFFER = 10_000;
/** After a failed write, retries wait this long, doubling up to RETRY_MAX_MS while the database stays away. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

const PINO_LEVELS: Record<number, LogLevel> = { 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
/** pino bookkeeping fields that are not part of the event's context. */
const RESERVED = new Set(['level', 'time', 'msg', 'module', 'err', 'pid', 'hostname', 'service', 'v']);

export interface LogRow {
  timestamp: Date;
  level: LogLevel;
  module: string;
  message: string;
  traceback: string | null;
  context: Record<string, unknown> | null;
  userId: number | null;
  requestId: string | null;
  instanceId: number | null;
}

export interface PersistedLog extends LogRow {
  id: number;
  createdAt: Date;
}

export function rowFromPinoLine(line: string): LogRow | undefined {
  if (line.includes('"access_log":true')) return undefined; // cheaper than parsing every access line
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  const level = PINO_LEVELS[obj.level as number];
  if (!level) return undefined; // DEBUG/TRACE are never persisted
  if (obj.access_log === true) return undefined; // per-request access lines go to stdout only
  const context: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!RESERVED.has(k)) context[k] = v;
  const err = obj.err as { message?: string; stack?: string; type?: string } | undefined;
  if (err?.message) context.error = err.message;
  const intOf = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= 2_147_483_647 ? v : null);
  return {
    userId: intOf(obj.current_user_id) ?? intOf(obj.user_id),
    requestId: typeof obj.request_id === 'string' ? obj.request_id.slice(0, 64) : null,
    instanceId: intOf(obj.instance_id),
    timestamp: new Date(typeof obj.time === 'number' ? obj.time : Date.now()),
    level,
    module: typeof obj.module === 'string' && obj.module ? obj.module.slice(0, 100) : 'app',
    message: String(obj.msg ?? '').slice(0, 10_000),
    traceback: err?.stack ? String(err.stack).slice(0, 20_000) : null,
    context: Object.keys(context).length ? (redactDeep(context) as Record<string, unknown>) : null,
  };
}

export class UnifiedLogSink extends Writable {
  private buffer: LogRow[] = [];
  private pool?: pg.Pool;
  private onPersisted?: (rows: PersistedLog[]) => void;
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** Rows discarded because the buffer was full (database away for long, or never attached). */
  dropped = 0;
  /** Set while writes fail: when the next attempt may run, and how long the one after waits. */
  private outage?: { since: number; retryAt: number; backoffMs: number; droppedBefore: number };

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, cb: () => void): void {
    const row = rowFromPinoLine(chunk.toString());
    if (row) {
      if (this.buffer.length >= MAX_BUFFER) {
        this.buffer.shift();
        this.dropped++;
      }
      this.buffer.push(row);
      if (this.pool && this.buffer.length >= FLUSH_SIZE) void this.flush();
      else if (this.pool && !this.soon) {
        this.soon = setTimeout(() => {
          this.soon = undefined;
          void this.flush();
        }, FLUSH_DELAY_MS);
        this.soon.unref();
      }
    }
    cb();
  }

  attach(pool: pg.Pool, onPersisted?: (rows: PersistedLog[]) => void): void {
    this.pool = pool;
    this.onPersisted = onPersisted;
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Whether the last write failed (the database is away); rows are kept, bounded, and retried. */
  get failing(): boolean {
    return this.outage !== undefined;
  }

  /** Writes everything buffered so far; resolves when it is in the table (or the attempt failed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pool || this.buffer.length === 0) return;
    // While the database is away, the timers and new entries would retry every few ms: wait instead.
    if (this.outage && Date.now() < this.outage.retryAt) return;
    const batch = this.buffer.splice(0, this.buffer.length);
    const pool = this.pool;
    this.flushing = (async () => {
      try {
        const { rows } = await pool.query<InsertedRow>(INSERT_LOGS_SQL, [serializeRows(batch)]);
        if (this.outage) {
          const lost = this.dropped - this.outage.droppedBefore;
          process.stderr.write(`unified log: database writes resumed after ${Math.round((Date.now() - this.outage.since) / 1000)} s${lost ? `, ${lost} entries dropped meanwhile (buffer full)` : ''}\n`);
          this.outage = undefined;
        }
        this.onPersisted?.(rows.map(persistedLog));
      } catch (err) {
        // The database is unavailable: keep the rows for a later attempt (bounded: the oldest are
        // dropped past MAX_BUFFER) and back off. Reported on stderr once per outage, never through the
        // logger, since that would loop back here.
        const room = MAX_BUFFER - this.buffer.length;
        const keep = room > 0 ? batch.slice(-room) : [];
        this.dropped += batch.length - keep.length;
        this.buffer.unshift(...keep);
        if (!this.outage) {
          this.outage = { since: Date.now(), retryAt: 0, backoffMs: RETRY_MIN_MS, droppedBefore: this.dropped };
          process.stderr.write(`unified log: database write failed, buffering up to ${MAX_BUFFER} entries and retrying: ${causeLine(err)}\n`);
        }
        this.outage.retryAt = Date.now() + this.outage.backoffMs;
        this.outage.backoffMs = Math.min(this.outage.backoffMs * 2, RETRY_MAX_MS);
      } finally {
        this.flushing = undefined;
      }
    })();
    await this.flushing;
  }

  async detach(): Promise<void> {
    if (this.outage) this.outage.retryAt = 0; // one last attempt
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.flush().catch(() => {});
    this.pool = undefined;
  }
}

/**
 * One fixed statement for any batch size: the rows travel as one JSON document. (Prisma's
 * createManyAndReturn compiled a new query plan for every batch size: a third of the CPU of a burst
 * of scheduled fires went there.)
 */
const INSERT_LOGS_SQL = `
INSERT INTO unified_logs ("timestamp", level, module, message, traceback, context, user_id, request_id, instance_id)
SELECT r.ts, r.level::"LogLevel", r.module, r.message, r.traceback, r.context, r.user_id, r.request_id, r.instance_id
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
         AS (ts timestamptz, level text, module text, message text, traceback text, context jsonb, user_id int, request_id text, instance_id int))
       WITH ORDINALITY AS r(ts, level, module, message, traceback, context, user_id, request_id, instance_id, n)
 ORDER BY r.n
RETURNING id, "timestamp", level, module, message, traceback, context, user_id, request_id, instance_id, created_at`;

interface InsertedRow {
  id: number;
  timestamp: Date;
  level: LogLevel;
  module: string;
  message: string;
  traceback: string | null;
  context: Record<string, unknown> | null;
  user_id: number | null;
  request_id: string | null;
  instance_id: number | null;
  created_at: Date;
}

/** PostgreSQL text and jsonb cannot hold NUL characters: they are dropped. */
function serializeRows(batch: LogRow[]): string {
  return JSON.stringify(
    batch.map((r) => ({
      ts: r.timestamp.toISOString(),
      level: r.level,
      module: r.module,
      message: r.message,
      traceback: r.traceback,
      context: r.context,
      user_id: r.userId,
      request_id: r.requestId,
      instance_id: r.instanceId,
    })),
    (_key, value: unknown) => (typeof value === 'string' && value.includes('\0') ? value.replaceAll('\0', '') : value),
  );
}

function persistedLog(r: InsertedRow): PersistedLog {
  return {
    id: r.id,
    timestamp: r.timestamp,
    level: r.level,
    module: r.module,
    message: r.message,
    traceback: r.traceback,
    context: r.context,
    userId: r.user_id,
    requestId: r.request_id,
    instanceId: r.instance_id,
    createdAt: r.created_at,
  };
}

/** Prisma's messages span many lines (the invocation, a code frame): the cause is on the last one. */
function causeLine(err: unknown): string {
  const lines = String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 300);
}
