/**
 * Live log stream for one subscriber: optionally replays what it missed (entries after the last id
 * it saw, from the database, oldest first), then delivers new entries as they are written, with the
 * same filter semantics as the log search.
 *
 * Live entries are buffered from before the replay starts, so nothing written during the replay is
 * lost; an entry seen in both is delivered once (ids at or below the last replayed id are skipped).
 */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { LogLevel } from '../../generated/prisma/enums.js';
import type { LogEvent } from '../../realtime/pubsub.js';
import type { LogSubscriber, StreamedLog } from '../../realtime/log-stream.js';
import { LOG_LEVELS, logWhere, type LogRow } from './log-service.js';

export interface LogStreamFilter {
  /** Exactly this level (as in the search). */
  level?: LogLevel;
  /** This level or more severe. */
  minLevel?: LogLevel;
  /** Module name contains this, case-insensitive (as in the search). */
  module?: string;
  /** Message contains this, case-insensitive (as in the search). */
  search?: string;
}

/** `dropped`: matching entries not delivered just before this one (slow client, or more missed than
 * a reconnect replays); `replayed`: read from the database after a reconnect. */
export type LogStreamEvent = StreamedLog;

const REPLAY_PAGE = 500;
const rank = (l: string) => LOG_LEVELS.indexOf(l as LogLevel);

export function logEventMatcher(f: LogStreamFilter): (e: LogEvent) => boolean {
  const module = f.module?.toLowerCase();
  const search = f.search?.toLowerCase();
  const min = f.minLevel ? rank(f.minLevel) : -1;
  return (e) =>
    (!f.level || e.level === f.level) &&
    rank(e.level) >= min &&
    (!module || e.module.toLowerCase().includes(module)) &&
    (!search || e.message.toLowerCase().includes(search));
}

function streamWhere(f: LogStreamFilter): Prisma.UnifiedLogWhereInput {
  const levels = f.minLevel ? LOG_LEVELS.filter((l) => rank(l) >= rank(f.minLevel!)) : undefined;
  return { AND: [logWhere({ level: f.level, module: f.module, search: f.search }, false), levels ? { level: { in: [...levels] } } : {}] };
}

export function logEventOf(r: LogRow): LogEvent {
  return {
    id: r.id,
    timestamp: r.timestamp.toISOString(),
    level: r.level,
    module: r.module,
    message: r.message,
    context: r.context as Record<string, unknown> | null,
    userId: r.userId,
    instanceId: r.instanceId,
    requestId: r.requestId,
    createdAt: r.createdAt.toISOString(),
  };
}

/**
 * An iterator rather than an async generator: a generator suspended waiting for the next live entry
 * cannot be returned from until that entry arrives, so an unsubscribe would leak the subscriber.
 * `return()` here closes it at once.
 */
class LogStream implements AsyncIterableIterator<LogStreamEvent> {
  /** Entries at or below this id were replayed (or reported as dropped): skip them live. */
  private last = 0;
  /** Entries skipped past the replay limit, reported on the first live entry. */
  private carry = 0;
  private replay?: AsyncGenerator<LogStreamEvent>;

  constructor(
    private readonly deps: AppDeps,
    private readonly live: LogSubscriber,
    private readonly filter: LogStreamFilter,
    afterId?: number,
  ) {
    if (afterId !== undefined) {
      this.last = afterId;
      this.replay = this.replayFrom();
    }
  }

  private async *replayFrom(): AsyncGenerator<LogStreamEvent> {
    const { prisma, config } = this.deps;
    const where = streamWhere(this.filter);
    const limit = config.logStreamReplayLimit;
    let replayed = 0;
    for (;;) {
      const take = Math.min(REPLAY_PAGE, limit - replayed);
      const rows = take > 0 ? await prisma.unifiedLog.findMany({ where: { AND: [where, { id: { gt: this.last } }] }, orderBy: { id: 'asc' }, take }) : [];
      for (const row of rows) {
        this.last = row.id;
        yield { entry: logEventOf(row), dropped: 0, replayed: true };
      }
      replayed += rows.length;
      if (rows.length < take) return;
      if (replayed >= limit) {
        // More was missed than we replay: skip to the present and say how much was skipped, so the
        // client can page through the gap with the search API if it needs it.
        const head = await prisma.unifiedLog.aggregate({ _max: { id: true } });
        const top = head._max.id ?? this.last;
        this.carry = await prisma.unifiedLog.count({ where: { AND: [where, { id: { gt: this.last, lte: top } }] } });
        this.last = top;
        return;
      }
    }
  }

  next(): Promise<IteratorResult<LogStreamEvent>> {
    if (this.replay) {
      return this.replay.next().then((r) => {
        if (!r.done) return r;
        this.replay = undefined;
        return this.next();
      });
    }
    // A promise chain rather than async/await: this runs once per entry per subscriber.
    return this.live.next().then((r) => this.fromLive(r));
  }

  private fromLive(r: IteratorResult<LogStreamEvent>): IteratorResult<LogStreamEvent> | Promise<IteratorResult<LogStreamEvent>> {
    if (r.done) return { value: undefined, done: true };
    if (r.value.entry.id <= this.last) return this.next();
    if (this.carry === 0) return r; // the shared object: executed once for all subscribers
    const value = { ...r.value, dropped: r.value.dropped + this.carry };
    this.carry = 0;
    return { value, done: false };
  }

  async return(): Promise<IteratorResult<LogStreamEvent>> {
    this.live.close();
    const replay = this.replay;
    this.replay = undefined;
    await replay?.return(undefined);
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Starts buffering live entries first, so nothing written during the replay falls in between. */
export function openLogStream(deps: AppDeps, f: LogStreamFilter, afterId?: number): AsyncIterableIterator<LogStreamEvent> {
  return new LogStream(deps, deps.logStream.subscribe(logEventMatcher(f)), f, afterId);
}
