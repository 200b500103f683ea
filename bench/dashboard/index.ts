/**
 * bench/dashboard: /api/overview and /api/charts (30 days) over 1,000 instances, 1,000,000 accounts,
 * 1,000,000 log rows and 10,000 sync sessions (issue 9).
 *
 *  - cold: the figure cache is cleared before every request; the baseline is the very SQL the
 *    gateway sent for that request (captured once), replayed in parallel with bare `pg`;
 *  - warm: cached figures; the baseline is a bare node:http server answering with the same JSON
 *    read from Redis.
 * p50/p95 over sequential requests. Targets: cold p95 < 300 ms, warm p95 < 10 ms. Exits 1 when missed.
 *
 *   npm run bench -- dashboard        BENCH_ACCOUNTS=200000 npm run bench -- dashboard
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Cleanup } from '../lib/scratch.js';
import { percentile, startBenchGateway, timeSequential } from '../lib/gateway.js';
import { fmt, printTable } from '../lib/table.js';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1_000_000);
const LOGS = Number(process.env.BENCH_LOG_ROWS ?? 1_000_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const COLD_TARGET = 300;
const WARM_TARGET = 10;

const cleanup = new Cleanup();
const failures: string[] = [];

async function seed(pool: pg.Pool): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => pool.query(sql, params);
  await q(
    `INSERT INTO instances (name, db_type, host, port, is_active, connection_status, environment)
     SELECT 'bench-' || g, (ARRAY['postgresql','mysql','sqlserver','oracle'])[1 + g % 4], 'db-' || g || '.example', 5432,
            g % 10 <> 0, (ARRAY['reachable','unreachable','unknown'])[1 + g % 3], (ARRAY['production','staging','development'])[1 + g % 3]
       FROM generate_series(1, $1::int) g`,
    [INSTANCES],
  );
  await q(
    `INSERT INTO current_account_sync_data (instance_id, db_type, username, is_superuser, is_active, is_locked, is_deleted, last_change_time)
     SELECT i.id, i.db_type, 'user_' || g, g % 50 = 0, g % 7 <> 0, g % 13 = 0, g % 97 = 0, now() - (g % 30) * interval '1 day'
       FROM generate_series(1, $1::int) g JOIN instances i ON i.name = 'bench-' || (1 + g % $2::int)`,
    [ACCOUNTS, INSTANCES],
  );
  await q(
    `INSERT INTO unified_logs ("timestamp", level, module, message, created_at)
     SELECT ts, (CASE WHEN g % 100 < 80 THEN 'INFO' WHEN g % 100 < 92 THEN 'WARNING' WHEN g % 100 < 99 THEN 'ERROR' ELSE 'CRITICAL' END)::"LogLevel",
            (ARRAY['auth','account_sync','instances','scheduler','system'])[1 + g % 5], 'bench entry ' || g, ts
       FROM (SELECT g, now() - random() * interval '30 days' AS ts FROM generate_series(1, $1::int) g) s`,
    [LOGS],
  );
  await q(
    `INSERT INTO sync_sessions (session_id, sync_type, status, created_at, started_at, completed_at, total_instances, successful_instances, failed_instances)
     SELECT md5('s' || g), 'scheduled_task', (ARRAY['completed','completed','completed','failed','cancelled'])[1 + g % 5]::"SyncSessionStatus",
            ts, ts, ts + interval '5 seconds', 10, 9, 1
       FROM (SELECT g, now() - random() * interval '30 days' AS ts FROM generate_series(1, $1::int) g) s`,
    [SESSIONS],
  );
  await q(
    `INSERT INTO account_change_log (instance_id, db_type, username, change_type, change_time)
     SELECT a.instance_id, a.db_type, a.username, (ARRAY['add','modify_privilege','modify_other','delete','restore'])[1 + a.id % 5],
            now() - random() * interval '30 days'
       FROM current_account_sync_data a WHERE a.id % 10 = 0`,
  );
  await q(`INSERT INTO account_classifications (name, priority) SELECT 'bench-class-' || g, g FROM generate_series(1, 8) g`);
  // As a classification batch writes them (whalefall.auto_classify): assignments made outside a batch
  // would mark each of their accounts for re-classification, 333k row updates the figures never see.
  await q(
    `WITH batch AS (SELECT set_config('whalefall.auto_classify', 'on', true))
     INSERT INTO account_classification_assignments (account_id, classification_id, created_at, updated_at, is_active)
     SELECT a.id, c.id, now() - (a.id % 60) * interval '1 day', now() - (a.id % 20) * interval '1 day', a.id % 11 <> 0
       FROM current_account_sync_data a JOIN account_classifications c ON c.name = 'bench-class-' || (1 + a.id % 8)
      CROSS JOIN batch
      WHERE a.id % 3 = 0`,
  );
  // A steady-state database: autovacuum has run (visibility map set, so index-only scans work).
  await q('VACUUM ANALYZE');
}

interface Captured {
  text: string;
  values?: unknown[];
}

/** Records the SQL this process sends while `fn` runs (the gateway is in this process). */
async function captureSql(fn: () => Promise<unknown>): Promise<Captured[]> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  const seen: Captured[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown];
    if (typeof first === 'string') seen.push({ text: first, values: Array.isArray(second) ? second : undefined });
    else if (first && typeof first === 'object' && 'text' in first) seen.push({ text: first.text, values: first.values });
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return seen;
}

function startBareServer(redisGet: (key: string) => Promise<string | null>, key: string): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((_req, res) => {
    redisGet(key).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body ?? '{}'),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

try {
  const gw = await startBenchGateway(cleanup, { FIGURE_CACHE_TTL_SECONDS: '3600' });
  const pool = new pg.Pool({ connectionString: gw.databaseUrl, max: 10 });
  cleanup.add('close baseline pool', () => pool.end());
  process.stdout.write(`seeding ${fmt.int(INSTANCES)} instances, ${fmt.int(ACCOUNTS)} accounts, ${fmt.int(LOGS)} log rows, ${fmt.int(SESSIONS)} sessions…\n`);
  const s0 = performance.now();
  await seed(pool);
  process.stdout.write(`seeded in ${((performance.now() - s0) / 1000).toFixed(1)} s\n\n`);

  const auth = { headers: { authorization: `Bearer ${gw.token}` } };
  const get = async (path: string) => {
    const res = await fetch(gw.url + path, auth);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${body.slice(0, 300)}`);
    return body;
  };
  const rows: string[][] = [];
  for (const [name, path, cacheKeyPrefix] of [
    ['overview', '/api/overview', 'dashboard:overview'],
    ['charts (30 days)', '/api/charts?days=30', 'dashboard:charts:'],
  ] as const) {
    // Cold: cache cleared before each request. Baseline: the same SQL, replayed with bare pg.
    await gw.app.deps.figures.clear();
    await gw.app.deps.logSink.flush();
    const sql = (await captureSql(() => get(path))).filter((q) => !/^\s*(BEGIN|COMMIT|ROLLBACK|SET|SELECT 1)\b/i.test(q.text));
    const cold = await timeSequential(RUNS, 3, async () => {
      await gw.app.deps.figures.clear();
      await get(path);
    });
    // Where the cold time goes: each statement alone, slowest first.
    const each = await Promise.all(sql.map(async (q) => {
      const t0 = performance.now();
      await pool.query(q.text, q.values);
      return { ms: performance.now() - t0, text: q.text.replace(/\s+/g, ' ').slice(0, 110) };
    }));
    for (const e of each.sort((a, b) => b.ms - a.ms).slice(0, 4)) process.stdout.write(`  ${name}: ${e.ms.toFixed(0).padStart(5)} ms  ${e.text}\n`);
    const bareCold = await timeSequential(RUNS, 3, async () => {
      await Promise.all(sql.map((q) => pool.query(q.text, q.values)));
    });
    // Warm: cached. Baseline: node:http answering with the same JSON from Redis.
    await get(path);
    const warm = await timeSequential(RUNS * 5, 10, async () => void (await get(path)));
    const redis = gw.app.deps.redis!;
    const [key] = await redis.keys(`${gw.app.deps.config.redisKeyPrefix}figures:${cacheKeyPrefix}*`);
    const bare = await startBareServer((k) => redis.get(k), key!);
    cleanup.add('close bare server', () => new Promise<void>((r) => bare.server.close(() => r())));
    const bareWarm = await timeSequential(RUNS * 5, 10, async () => void (await (await fetch(bare.url)).text()));

    const coldP95 = percentile(cold, 95);
    const warmP95 = percentile(warm, 95);
    const coldOk = coldP95 < COLD_TARGET;
    const warmOk = warmP95 < WARM_TARGET;
    if (!coldOk) failures.push(`${name}: cold p95 ${coldP95.toFixed(1)} ms ≥ ${COLD_TARGET} ms`);
    if (!warmOk) failures.push(`${name}: warm p95 ${warmP95.toFixed(1)} ms ≥ ${WARM_TARGET} ms`);
    rows.push([name, 'cold', `${sql.length} statements`, percentile(cold, 50).toFixed(1), coldP95.toFixed(1), percentile(bareCold, 95).toFixed(1), fmt.ratio(percentile(bareCold, 95) / coldP95), `< ${COLD_TARGET}`, coldOk ? 'PASS' : 'FAIL']);
    rows.push([name, 'warm', 'Redis GET', percentile(warm, 50).toFixed(1), warmP95.toFixed(1), percentile(bareWarm, 95).toFixed(1), fmt.ratio(percentile(bareWarm, 95) / warmP95), `< ${WARM_TARGET}`, warmOk ? 'PASS' : 'FAIL']);
  }
  process.stdout.write('sequential requests (ms); baseline: cold = the same SQL on bare pg, warm = node:http + Redis GET; ratio = baseline p95 / gateway p95\n');
  printTable(['endpoint', 'cache', 'baseline does', 'gw p50', 'gw p95', 'base p95', 'ratio', 'target', ''], rows, ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left']);
} catch (err) {
  failures.push(`error: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup.run();
}
if (failures.length) {
  process.stderr.write(`\nmissed:\n  ${failures.join('\n  ')}\n`);
  process.exit(1);
}
process.exit(0);
