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

/** What a request may still spend in the tighter of its budgets (for the X-RateLimit-* headers). */
export interface Budget {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RequestLimiterSpec {
  keyPrefix: string;
  perIp: number;
  perUser: number;
  durationSeconds: number;
}

/**
 * INCR each key, starting its window on the first hit; returns [count, ms left] per key. Both
 * budgets of a request (client IP, user) are spent by this one script: one Redis round trip.
 */
const SPEND_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out`;

type SpendingRedis = Redis & { wfSpendBudget(numKeys: number, ...args: (string | number)[]): Promise<number[]> };

const RATE_LIMIT_MESSAGE = '请求过于频繁，请稍后再试';

/** A spent API budget: which one, and whether this is its first refusal in the window (logged once). */
export class BudgetExceededError extends RateLimitError {
  constructor(
    retryAfterSeconds: number,
    limit: number,
    readonly scope: 'ip' | 'user',
    readonly firstInWindow: boolean,
  ) {
    super(RATE_LIMIT_MESSAGE, retryAfterSeconds, limit);
  }
}

/**
 * The general API budget of every HTTP request and GraphQL operation: one point of the client IP's
 * budget and, when the request carries a valid access token, one of the user's, in fixed windows.
 * With Redis the counters are shared by every replica (one script call per request); without Redis,
 * or while Redis does not answer, they are counted in this process.
 */
export class RequestLimiter {
  private readonly redis?: SpendingRedis;
  private readonly memory = new Map<string, { n: number; resetAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly spec: RequestLimiterSpec,
    redis?: Redis,
  ) {
    if (redis) {
      if (!('wfSpendBudget' in redis)) redis.defineCommand('wfSpendBudget', { lua: SPEND_LUA });
      this.redis = redis as SpendingRedis;
    }
    // Expired in-process windows are dropped once per window, so idle clients cost no memory.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, w] of this.memory) if (w.resetAt <= now) this.memory.delete(k);
    }, spec.durationSeconds * 1000);
    this.sweeper.unref();
  }

  /** Spends one point for `ip` (and `userId`); throws RateLimitError when either budget is exhausted. */
  async consume(ip: string, userId?: number): Promise<Budget> {
    const keys = [`${this.spec.keyPrefix}ip:${ip}`];
    const limits = [this.spec.perIp];
    if (userId !== undefined) {
      keys.push(`${this.spec.keyPrefix}user:${userId}`);
      limits.push(this.spec.perUser);
    }
    const windowMs = this.spec.durationSeconds * 1000;
    let counts: number[] | undefined;
    if (this.redis && this.redis.status === 'ready') {
      counts = await this.redis.wfSpendBudget(keys.length, ...keys, windowMs).catch(() => undefined);
    }
    counts ??= this.spendInMemory(keys, windowMs);
    let budget: Budget | undefined;
    for (let i = 0; i < keys.length; i++) {
      const n = Number(counts[2 * i]);
      const resetSeconds = Math.max(1, Math.ceil(Number(counts[2 * i + 1]) / 1000));
      if (n > limits[i]!) throw new BudgetExceededError(resetSeconds, limits[i]!, i === 0 ? 'ip' : 'user', n === limits[i]! + 1);
      const remaining = limits[i]! - n;
      if (!budget || remaining < budget.remaining) budget = { limit: limits[i]!, remaining, resetSeconds };
    }
    return budget!;
  }

  private spendInMemory(keys: string[], windowMs: number): number[] {
    const now = Date.now();
    const out: number[] = [];
    for (const key of keys) {
      let w = this.memory.get(key);
      if (!w || w.resetAt <= now) {
        w = { n: 0, resetAt: now + windowMs };
        this.memory.set(key, w);
      }
      w.n++;
      out.push(w.n, w.resetAt - now);
    }
    return out;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
