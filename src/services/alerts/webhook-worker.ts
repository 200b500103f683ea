/**
 * The webhook sender. Deliveries are a durable queue in `webhook_deliveries` that every replica's
 * WebhookWorker takes from (UPDATE … FOR UPDATE SKIP LOCKED, as the sync queue does), so nothing is
 * lost on a restart and two replicas never make the same attempt: taking a delivery increments its
 * attempt number and leases it to this replica until the attempt's timeout (plus a margin) has passed.
 *
 *  - Woken at once when alerts are queued on this replica, by a timer when a retry it scheduled falls
 *    due, and every WEBHOOK_POLL_MS for everything else (other replicas' work, missed wake-ups).
 *  - Each attempt: POST with the signature headers, WEBHOOK_TIMEOUT_MS, no redirects followed,
 *    internal addresses refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES (webhook-url.ts). A 2xx
 *    answer succeeds; anything else is retried after WEBHOOK_RETRY_BASE_MS × 2^(attempt−1) (at most
 *    one hour) until WEBHOOK_MAX_ATTEMPTS, then the delivery is `failed`. A refused address or an
 *    unreadable secret fails it at once (retrying cannot help).
 *  - Every attempt is a row of the delivery log (webhook_delivery_attempts).
 *  - A lease that expired (its replica died mid-attempt) makes the delivery due again; the next
 *    attempt has the next number. Receivers see at-least-once delivery and dedupe on
 *    X-WhaleFall-Delivery.
 */
import { processNode } from '../../lib/process-node.js';
import http from 'node:http';
import https from 'node:https';
import type { AppDeps } from '../../deps.js';
import { endpointSecret, signBody } from './webhook-service.js';
import { guardedLookup, InternalAddressError, isInternalAddress } from './webhook-url.js';

/** Attempts running at once per replica. */
const CONCURRENCY = 4;
/** The longest wait between two attempts. */
const MAX_RETRY_DELAY_MS = 3_600_000;
/** Lease beyond the attempt's own timeout, before another replica may take the delivery over. */
const LEASE_MARGIN_MS = 30_000;
/** Characters of the receiver's answer kept in the delivery log. */
const RESPONSE_EXCERPT = 1000;

const CLAIM_SQL = `
UPDATE webhook_deliveries d
   SET status = 'delivering', attempts = d.attempts + 1, locked_by = $1,
       locked_until = now() + $2::int * interval '1 millisecond', updated_at = now()
 WHERE d.id = (
   SELECT q.id FROM webhook_deliveries q JOIN webhook_endpoints e ON e.id = q.endpoint_id
    WHERE e.is_enabled
      AND ((q.status = 'pending' AND q.next_attempt_at <= now())
        OR (q.status = 'delivering' AND q.locked_until < now() AND q.attempts < q.max_attempts))
    ORDER BY q.next_attempt_at, q.id
    LIMIT 1
    FOR UPDATE OF q SKIP LOCKED)
RETURNING d.id, d.delivery_id AS "deliveryId", d.endpoint_id AS "endpointId", d.event, d.payload,
          d.attempts, d.max_attempts AS "maxAttempts"`;

/** A replica died during the last allowed attempt: nothing is left to try. */
const REAP_SQL = `
UPDATE webhook_deliveries
   SET status = 'failed', completed_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now(),
       last_error = COALESCE(last_error || '; ', '') || '最后一次投递时网关进程停止响应 (' || COALESCE(locked_by, '?') || ')'
 WHERE status = 'delivering' AND locked_until < now() AND attempts >= max_attempts
RETURNING id`;

interface Claimed {
  id: number;
  deliveryId: string;
  endpointId: number;
  event: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
}

interface Outcome {
  statusCode?: number;
  responseBody?: string;
  error?: string;
  /** Retrying cannot help (refused address, unreadable secret). */
  permanent?: boolean;
}

export function retryDelayMs(baseMs: number, attempt: number): number {
  return Math.min(baseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
}

/** POSTs `body`; resolves with the answer's status (any), rejects on network errors and timeout. */
export function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, allowPrivate: boolean): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || isInternalAddress(host))) {
    return Promise.reject(new InternalAddressError(`${host} is an internal address`));
  }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(allowPrivate),
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < RESPONSE_EXCERPT) text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.slice(0, RESPONSE_EXCERPT) }));
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`超时 (${timeoutMs} ms)`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

export class WebhookWorker {
  readonly node = processNode();
  private readonly active = new Map<number, Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private claiming = false;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: AppDeps) {}

  private get cfg() {
    return this.deps.config.webhooks;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.cfg.pollMs);
    this.timer.unref();
    this.poke();
  }

  /** Attempts this replica is making now. */
  get running(): number {
    return this.active.size;
  }

  /** Takes due deliveries while a slot is free. Re-entrant like SyncWorker.poke(). */
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
          while (!this.stopped && this.active.size < CONCURRENCY) {
            const { rows } = await this.deps.pool.query<Claimed>(CLAIM_SQL, [this.node, this.cfg.timeoutMs + LEASE_MARGIN_MS]);
            const d = rows[0];
            if (!d) break;
            const done = this.attempt(d)
              .catch((err: Error) => this.deps.logger.error({ module: 'alerts', delivery_id: d.deliveryId, err }, `Webhook 投递异常: ${err.message}`))
              .finally(() => {
                this.active.delete(d.id);
                this.poke();
              });
            this.active.set(d.id, done);
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.deps.logger.warn({ module: 'alerts', error: (err as Error).message }, `领取 Webhook 投递失败: ${(err as Error).message}`);
      } finally {
        this.claiming = false;
      }
    })();
  }

  private async tick(): Promise<void> {
    try {
      const { rows } = await this.deps.pool.query<{ id: number }>(REAP_SQL);
      if (rows.length) this.deps.logger.warn({ module: 'alerts', delivery_ids: rows.map((r) => r.id) }, `${rows.length} 个 Webhook 投递在最后一次尝试时中断，已标记为失败`);
    } catch (err) {
      this.deps.logger.warn({ module: 'alerts', error: (err as Error).message }, `Webhook 队列维护失败: ${(err as Error).message}`);
    }
    this.poke();
  }

  /** One attempt of one delivery, recorded in the delivery log. */
  private async attempt(d: Claimed): Promise<void> {
    const { deps } = this;
    const endpoint = await deps.prisma.webhookEndpoint.findUnique({ where: { id: d.endpointId } });
    const started = new Date();
    let outcome: Outcome | undefined;
    if (!endpoint) {
      outcome = { error: 'Webhook 已删除', permanent: true };
    } else {
      let secret: string | null | undefined;
      try {
        secret = endpointSecret(deps, endpoint);
      } catch (err) {
        outcome = { error: `无法解密签名密钥: ${(err as Error).message}`, permanent: true };
      }
      outcome ??= await this.send(endpoint.url, d, secret ?? null);
    }
    const finished = new Date();
    const ok = outcome.statusCode !== undefined && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const retry = !ok && !outcome.permanent && d.attempts < d.maxAttempts;
    const delay = retry ? retryDelayMs(this.cfg.retryBaseMs, d.attempts) : 0;
    const nextRetryAt = retry ? new Date(finished.getTime() + delay) : null;
    const error = ok ? null : (outcome.error ?? `HTTP ${outcome.statusCode}`);
    const status = ok ? 'succeeded' : retry ? 'pending' : 'failed';

    const client = await deps.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at, finished_at, duration_ms, success, status_code, error, response_body, next_retry_at, node)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
        [d.id, d.attempts, started, finished, finished.getTime() - started.getTime(), ok, outcome.statusCode ?? null, error, outcome.responseBody ?? null, nextRetryAt, this.node],
      );
      // Only while this replica still holds the lease: after it expired the delivery may be another's.
      await client.query(
        `UPDATE webhook_deliveries
            SET status = $3::text, last_status_code = $4::int, last_error = $5::text, next_attempt_at = COALESCE($6::timestamptz, next_attempt_at),
                completed_at = CASE WHEN $3::text IN ('succeeded', 'failed') THEN now() ELSE NULL END,
                locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND status = 'delivering'`,
        [d.id, this.node, status, outcome.statusCode ?? null, error, nextRetryAt],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }

    if (retry && !this.stopped) {
      const t = setTimeout(() => {
        this.retryTimers.delete(t);
        this.poke();
      }, delay);
      t.unref();
      this.retryTimers.add(t);
    }
    const fields = { module: 'alerts', delivery_id: d.deliveryId, webhook_id: d.endpointId, attempt: d.attempts, status_code: outcome.statusCode, error };
    if (ok) deps.logger.info(fields, `Webhook 投递成功: ${endpoint?.name} (第 ${d.attempts} 次)`);
    else if (!retry) deps.logger.warn(fields, `Webhook 投递失败，不再重试: ${endpoint?.name ?? d.endpointId} (${d.attempts} 次): ${error}`);
  }

  private async send(url: string, d: Claimed, secret: string | null): Promise<Outcome> {
    const headers: Record<string, string> = {
      'user-agent': `WhaleFall-Webhook/${this.deps.config.version}`,
      'x-whalefall-event': d.event,
      'x-whalefall-delivery': d.deliveryId,
      'x-whalefall-timestamp': String(Math.floor(Date.now() / 1000)),
      'x-whalefall-attempt': String(d.attempts),
    };
    if (secret) headers['x-whalefall-signature'] = signBody(secret, d.payload);
    try {
      const res = await postJson(url, d.payload, headers, this.cfg.timeoutMs, this.cfg.allowPrivateAddresses);
      return { statusCode: res.status, responseBody: res.body };
    } catch (err) {
      if (err instanceof InternalAddressError) return { error: `拒绝投递到内网地址: ${err.message}`, permanent: true };
      const e = err as NodeJS.ErrnoException;
      return { error: e.code ? `${e.code}: ${e.message}` : e.message };
    }
  }

  /** Takes nothing new; resolves when this replica's running attempts have been recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    await Promise.allSettled([...this.active.values()]);
  }
}
