/**
 * A short-lived cache for computed figures (dashboard, statistics). Two layers:
 *  - Redis (when configured), shared by every replica, entries expire after `ttlMs`;
 *  - in-process, at most `localTtlMs` old, which also makes concurrent requests for the same figure
 *    share one computation (no stampede on a cold key).
 * Values must be JSON-safe. A Redis outage only makes the cache colder, never fails or slows a
 * request: while the connection is not ready, Redis is skipped (commands would wait in ioredis' offline
 * queue for a reconnect attempt first).
 */
import type { Redis } from 'ioredis';

export class FigureCache {
  private readonly local = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly redis: Redis | undefined,
    private readonly prefix: string,
    private readonly ttlMs: number,
    /** With Redis, the local layer is kept briefer so every replica sees a recomputed figure soon. */
    private readonly localTtlMs = redis ? Math.min(1000, ttlMs) : ttlMs,
  ) {}

  get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return compute();
    const hit = this.local.get(key);
    if (hit && Date.now() - hit.at < this.localTtlMs) return hit.value as Promise<T>;
    const value = this.load(key, compute);
    this.local.set(key, { at: Date.now(), value });
    value.catch(() => this.local.delete(key));
    return value;
  }

  private get shared(): Redis | undefined {
    return this.redis?.status === 'ready' ? this.redis : undefined;
  }

  private async load<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const stored = await this.shared?.get(this.prefix + key).catch(() => null);
    if (stored !== undefined && stored !== null) return JSON.parse(stored) as T;
    const value = await compute();
    await this.shared?.set(this.prefix + key, JSON.stringify(value), 'PX', this.ttlMs).catch(() => {});
    return value;
  }

  /** Forgets every figure, here and in Redis (after a bulk change, and for cold measurements). */
  async clear(): Promise<void> {
    this.local.clear();
    const redis = this.shared;
    if (!redis) return;
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${this.prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys).catch(() => {});
  }
}
