/** Health, readiness and liveness (SPEC §3.12). No check needs authentication or reveals secrets. */
import type { AppDeps } from '../../deps.js';

const CHECK_TIMEOUT_MS = 2000;

export interface ComponentHealth {
  healthy: boolean;
  status: 'connected' | 'disconnected' | 'not_configured';
  responseTimeMs: number | null;
  error?: string;
}

async function timed(check: () => Promise<unknown>): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
    ]);
    return { healthy: true, status: 'connected', responseTimeMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    return { healthy: false, status: 'disconnected', responseTimeMs: null, error: (err as Error).message.slice(0, 200) };
  }
}

export function checkDatabase(deps: AppDeps): Promise<ComponentHealth> {
  return timed(() => deps.pool.query('SELECT 1'));
}

export async function checkRedis(deps: AppDeps): Promise<ComponentHealth> {
  if (!deps.redis) return { healthy: true, status: 'not_configured', responseTimeMs: null };
  // Reconnecting: a PING would only wait in ioredis' offline queue.
  if (deps.redis.status !== 'ready') return { healthy: false, status: 'disconnected', responseTimeMs: null, error: `redis ${deps.redis.status}` };
  return timed(() => deps.redis!.ping());
}

export function basicHealth(deps: AppDeps) {
  return { status: 'healthy' as const, timestamp: Date.now() / 1000, version: deps.config.version };
}

export async function detailedHealth(deps: AppDeps) {
  const [database, redis] = await Promise.all([checkDatabase(deps), checkRedis(deps)]);
  // Redis is optional: without it the gateway still serves one replica correctly, so it degrades.
  const status = !database.healthy ? 'unhealthy' : !redis.healthy ? 'degraded' : 'healthy';
  return {
    status,
    database: database.status,
    redis: redis.status,
    timestamp: new Date().toISOString(),
    version: deps.config.version,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
    embeddedDatabase: deps.embeddedDatabase,
    components: { database, redis },
  };
}

export async function readiness(deps: AppDeps): Promise<{ ready: boolean; database: ComponentHealth }> {
  const database = await checkDatabase(deps);
  return { ready: database.healthy, database };
}
