/**
 * Rate limiters on rate-limiter-flexible: Redis-backed (shared by every replica) when REDIS_URL is
 * set, in-process only without Redis.
 *
 * Redis unavailable: the in-process limiter takes over at once (each replica then counts on its own,
 * so the effective limit is per replica until Redis is back; counts made meanwhile are not carried
 * over). Nothing waits for Redis: while its connection is not ready, commands are not even tried
 * (ioredis would hold them in its offline queue until a reconnect attempt), and a command that fails
 * anyway falls back through rate-limiter-flexible's insurance limiter.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitError } from './errors.js';

export interface LimiterSpec {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
}

export class Limiter {
  private readonly memory: RateLimiterMemory;
  private readonly shared?: RateLimiterRedis;
  constructor(
    readonly spec: LimiterSpec,
    private readonly redis?: Redis,
  ) {
    this.memory = new RateLimiterMemory({ keyPrefix: spec.keyPrefix, points: spec.points, duration: spec.durationSeconds });
    this.shared = redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: spec.keyPrefix,
          points: spec.points,
          duration: spec.durationSeconds,
          insuranceLimiter: this.memory,
          rejectIfRedisNotReady: true,
        })
      : undefined;
  }

  private get impl(): RateLimiterAbstract {
    return this.shared && this.redis?.status === 'ready' ? this.shared : this.memory;
  }

  /** Spends one point for `key`; throws RateLimitError (with Retry-After seconds) when exhausted. */
  async consume(key: string, message = '请求过于频繁'): Promise<{ remaining: number; resetSeconds: number }> {
    try {
      const res = await this.impl.consume(key);
      return { remaining: res.remainingPoints, resetSeconds: Math.ceil(res.msBeforeNext / 1000) };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        throw new RateLimitError(message, Math.max(1, Math.ceil(err.msBeforeNext / 1000)), this.spec.points);
      }
      throw err;
    }
  }

  /** Throws when `key` is already exhausted, without spending a point. */
  async check(key: string, message = '请求过于频繁'): Promise<void> {
    const res = await this.impl.get(key).catch(() => null);
    if (res && res.consumedPoints >= this.spec.points) {
      throw new RateLimitError(message, Math.max(1, Math.ceil(res.msBeforeNext / 1000)), this.spec.points);
    }
  }

  async reset(key: string): Promise<void> {
    await this.impl.delete(key).catch(() => {});
  }
}
