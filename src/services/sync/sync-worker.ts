/**
 * The per-instance sync queue. A session's records are its units of work: every gateway replica runs
 * a SyncWorker that takes pending records off `sync_instance_records` (UPDATE … FOR UPDATE SKIP
 * LOCKED, the same locking the scheduler's job store uses), so a session started on one replica is
 * worked on by all of them, and nothing is lost when the one that started it stops: its pending
 * records stay queued for the others (or for itself after a restart).
 *
 *  - Up to SYNC_CONCURRENCY records at a time per replica. Two replicas never sync the same instance
 *    at once: the record's run holds the instance's advisory lock (sync-service.ts).
 *  - Woken at once when a session is created (in process, and through pub/sub on the others), and
 *    every SYNC_POLL_MS in case a wake-up was missed.
 *  - A running record carries a heartbeat; one whose heartbeat is older than SYNC_STALE_SECONDS
 *    (its replica died) is failed by whichever replica notices, and its session settles normally.
 *  - stop(): take nothing new, let the running records finish.
 */
import { processNode } from '../../lib/process-node.js';
import type { AppDeps } from '../../deps.js';
import { runRecord, settleSession, type ClaimedRecord } from './sync-service.js';

const CLAIM_SQL = `
UPDATE sync_instance_records r
   SET status = 'running', started_at = now(), heartbeat_at = now(), node = $1
 WHERE r.id = (
   SELECT q.id FROM sync_instance_records q JOIN sync_sessions s ON s.session_id = q.session_id
    WHERE q.status = 'pending' AND s.status = 'running'
    ORDER BY q.id
    LIMIT 1
    FOR UPDATE OF q SKIP LOCKED)
RETURNING r.id, r.session_id AS "sessionId", r.instance_id AS "instanceId", r.instance_name AS "instanceName"`;

const REAP_SQL = `
UPDATE sync_instance_records
   SET status = 'failed', completed_at = now(),
       error_message = '执行该同步的网关进程已停止响应 (' || COALESCE(node, '?') || ')，已标记为失败'
 WHERE status = 'running' AND COALESCE(heartbeat_at, started_at, created_at) < now() - $1::int * interval '1 second'
RETURNING id, session_id AS "sessionId", instance_id AS "instanceId", instance_name AS "instanceName"`;

const UNSETTLED_SQL = `
SELECT s.session_id FROM sync_sessions s
 WHERE s.settled_at IS NULL AND s.updated_at < now() - $1::int * interval '1 second'
   AND NOT EXISTS (SELECT 1 FROM sync_instance_records r WHERE r.session_id = s.session_id AND r.status IN ('pending', 'running'))
 LIMIT 100`;

export class SyncWorker {
  /** This process in `sync_instance_records.node`. */
  readonly node = processNode();
  private readonly active = new Map<number, Promise<void>>();
  private claiming = false;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastHeartbeat = 0;
  private unsubscribe?: () => void;

  constructor(private readonly deps: AppDeps) {}

  private get cfg() {
    return this.deps.config;
  }

  start(): void {
    const onWork = () => this.poke();
    this.deps.pubsub.target.addEventListener('sync.work', onWork);
    this.unsubscribe = () => this.deps.pubsub.target.removeEventListener('sync.work', onWork);
    this.timer = setInterval(() => void this.tick(), this.cfg.syncPollMs);
    this.timer.unref();
    this.poke();
  }

  /** Records this replica is running now. */
  get running(): number {
    return this.active.size;
  }

  /** Takes pending records while a slot is free. Re-entrant: a poke during a claim pass runs another pass. */
  poke(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    void (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && this.active.size < this.cfg.syncConcurrency) {
            const rec = await this.claim();
            if (!rec) break;
            this.run(rec);
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.deps.logger.warn({ module: 'account_sync', error: (err as Error).message }, `领取同步任务失败: ${(err as Error).message}`);
      } finally {
        this.claiming = false;
      }
    })();
  }

  private async claim(): Promise<ClaimedRecord | undefined> {
    const { rows } = await this.deps.pool.query<ClaimedRecord>(CLAIM_SQL, [this.node]);
    return rows[0];
  }

  private run(rec: ClaimedRecord): void {
    const done = runRecord(this.deps, rec)
      .catch((err: Error) => this.deps.logger.error({ module: 'account_sync', session_id: rec.sessionId, instance_id: rec.instanceId, err }, `同步记录执行异常: ${err.message}`))
      .finally(() => {
        this.active.delete(rec.id);
        this.poke();
      });
    this.active.set(rec.id, done);
  }

  /** Heartbeat of this replica's records, failing the records of replicas that stopped, and a poll. */
  private async tick(): Promise<void> {
    try {
      const heartbeatEvery = Math.max(1000, (this.cfg.syncStaleSeconds * 1000) / 4);
      if (this.active.size && Date.now() - this.lastHeartbeat >= heartbeatEvery) {
        this.lastHeartbeat = Date.now();
        await this.deps.pool.query('UPDATE sync_instance_records SET heartbeat_at = now() WHERE id = ANY($1::int[]) AND status = \'running\'', [[...this.active.keys()]]);
      }
      const { rows } = await this.deps.pool.query<ClaimedRecord>(REAP_SQL, [this.cfg.syncStaleSeconds]);
      for (const rec of rows) {
        this.deps.logger.warn(
          { module: 'account_sync', session_id: rec.sessionId, instance_id: rec.instanceId, stale_seconds: this.cfg.syncStaleSeconds },
          `同步记录的执行进程已停止响应，已标记为失败: ${rec.instanceName ?? rec.instanceId}`,
        );
      }
      // Sessions whose records all ended but that nobody settled (the settling replica died).
      const { rows: unsettled } = await this.deps.pool.query<{ session_id: string }>(UNSETTLED_SQL, [this.cfg.syncStaleSeconds]);
      const sessions = new Set([...rows.map((r) => r.sessionId), ...unsettled.map((r) => r.session_id)]);
      for (const sessionId of sessions) await settleSession(this.deps, sessionId);
    } catch (err) {
      this.deps.logger.warn({ module: 'account_sync', error: (err as Error).message }, `同步队列维护失败: ${(err as Error).message}`);
    }
    this.poke();
  }

  /** Takes nothing new; resolves when this replica's running records have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.active.values()]);
  }
}
