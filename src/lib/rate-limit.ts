/**
 * Rate limiters on rate-limiter-flexible: Redis-backed (shared by every replica) when REDIS_URL is
 * set, with an in-process limiter as insurance when Redis fails; in-process only without Redis.
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
  private readonly impl: RateLimiterAbstract;
  constructor(
    readonly spec: LimiterSpec,
    redis?: Redis,
  ) {
    const memory = new RateLimiterMemory({ keyPrefix: spec.keyPrefix, points: spec.points, duration: spec.durationSeconds });
    this.impl = redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: spec.keyPrefix,
          points: spec.points,
          duration: spec.durationSeconds,
          insuranceLimiter: memory,
          rejectIfRedisNotReady: true,
        })
      : memory;
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
