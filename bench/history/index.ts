/**
 * bench/history: point-in-time account queries (issue 11) on one MySQL instance with 10,000 accounts
 * and 1,000,000 change-log rows (100 changes per account over 100 days, each with its account
 * version, as the account writer leaves them), seeded with SQL in a scratch database.
 *
 * Measured through the gateway (REST /api/instances/{id}/accounts-at, 100 rows a page) at random
 * past moments, sequentially: the whole list, "who could INSERT on database shop", "who was
 * superuser", and a classification rule expression. Baseline, in the same run: the very SQL the
 * gateway sent for that query (captured once), replayed with bare `pg` at the same moments.
 * Target: every query's p95 < 500 ms. Exits 1 when missed.
 *
 *   npm run bench -- history        BENCH_ACCOUNTS=2000 BENCH_CHANGES_PER_ACCOUNT=50 npm run bench -- history
 */
import pg from 'pg';
import { Cleanup } from '../lib/scratch.js';
import { percentile, startBenchGateway, timeSequential } from '../lib/gateway.js';
import { fmt, printTable } from '../lib/table.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const PER_ACCOUNT = Number(process.env.BENCH_CHANGES_PER_ACCOUNT ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const TARGET_MS = 500;
const DAY_MS = 86_400_000;

const cleanup = new Cleanup();
const failures: string[] = [];

/**
 * Account a, version k (0 ≤ k < PER_ACCOUNT) starts on day k at second a of that day; the last is
 * open. State varies with (a, k): INSERT on shop every third version, ALL PRIVILEGES globally now
 * and then (superuser), a granted role, a dropped period every 37th version.
 */
async function seed(pool: pg.Pool, base: Date): Promise<number> {
  const q = (sql: string, params: unknown[] = []) => pool.query(sql, params);
  const inst = await q(
    `INSERT INTO instances (name, db_type, host, port, history_since) VALUES ('bench-history', 'mysql', 'db.example', 3306, $1) RETURNING id`,
    [base],
  );
  const id = inst.rows[0].id as number;
  const at = `($2::timestamptz + k * interval '1 day' + a * interval '1 second')`;
  const state = `
      (a + k) % 3 = 0 AS writer, (a * 7 + k) % 41 = 0 AS superuser, (a + k) % 5 = 0 AS has_role, k % 37 = 36 AS deleted`;
  // The current row of each account: its last version's state.
  await q(
    `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_active, is_locked, is_deleted,
            global_privileges, database_privileges, type_specific, last_change_type, last_change_time, last_sync_time)
     SELECT $1, 'mysql', 'u' || a || '@%', '%', s.superuser, true, false, s.deleted,
            CASE WHEN s.superuser THEN '["ALL PRIVILEGES"]'::jsonb ELSE '["USAGE"]'::jsonb END,
            jsonb_build_object('shop', CASE WHEN s.writer THEN '["INSERT","SELECT"]'::jsonb ELSE '["SELECT"]'::jsonb END),
            jsonb_build_object('roles', CASE WHEN s.has_role THEN '["app_writer"]'::jsonb ELSE '[]'::jsonb END, 'host', '%'),
            'modify_privilege', ${at}, now()
       FROM generate_series(1, $3::int) a, LATERAL (SELECT $4::int - 1 AS k) kk, LATERAL (SELECT ${state}) s`,
    [id, base, ACCOUNTS, PER_ACCOUNT],
  );
  await q(
    `INSERT INTO account_versions (account_id, instance_id, db_type, valid_from, valid_to, change_type, username, host, is_superuser, is_active, is_locked,
            is_deleted, global_privileges, database_privileges, type_specific)
     SELECT c.id, $1, 'mysql', ${at}, CASE WHEN k < $4 - 1 THEN ${at.replace('k *', '(k + 1) *')} END,
            CASE WHEN k = 0 THEN 'add' WHEN s.deleted THEN 'delete' WHEN (k - 1) % 37 = 36 THEN 'restore' ELSE 'modify_privilege' END,
            c.username, '%', s.superuser, true, false, s.deleted,
            CASE WHEN s.superuser THEN '["ALL PRIVILEGES"]'::jsonb ELSE '["USAGE"]'::jsonb END,
            jsonb_build_object('shop', CASE WHEN s.writer THEN '["INSERT","SELECT"]'::jsonb ELSE '["SELECT"]'::jsonb END),
            jsonb_build_object('roles', CASE WHEN s.has_role THEN '["app_writer"]'::jsonb ELSE '[]'::jsonb END, 'host', '%')
       FROM generate_series(1, $3::int) a
       JOIN current_account_sync_data c ON c.instance_id = $1 AND c.username = 'u' || a || '@%'
       CROSS JOIN generate_series(0, $4::int - 1) k, LATERAL (SELECT ${state}) s`,
    [id, base, ACCOUNTS, PER_ACCOUNT],
  );
  await q(
    `INSERT INTO account_change_log (instance_id, account_id, db_type, username, change_type, change_time, message, privilege_diff, other_diff)
     SELECT v.instance_id, v.account_id, 'mysql', v.username, v.change_type, v.valid_from, 'bench',
            '{"database_privileges": {"added": {"shop": ["INSERT"]}, "removed": {}}}'::jsonb, '{}'::jsonb
       FROM account_versions v WHERE v.instance_id = $1`,
    [id],
  );
  await q('VACUUM ANALYZE');
  return id;
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

try {
  const gw = await startBenchGateway(cleanup);
  const pool = new pg.Pool({ connectionString: gw.databaseUrl, max: 4 });
  cleanup.add('close baseline pool', () => pool.end());
  const now = Date.now();
  const base = new Date(now - (PER_ACCOUNT + 1) * DAY_MS);
  process.stdout.write(`seeding 1 instance, ${fmt.int(ACCOUNTS)} accounts, ${fmt.int(ACCOUNTS * PER_ACCOUNT)} versions and change-log rows…\n`);
  const s0 = performance.now();
  const instanceId = await seed(pool, base);
  const counts = await pool.query(`SELECT (SELECT count(*) FROM account_change_log)::int AS changes, (SELECT count(*) FROM account_versions)::int AS versions`);
  process.stdout.write(`seeded in ${((performance.now() - s0) / 1000).toFixed(1)} s: ${fmt.int(counts.rows[0].changes)} change-log rows, ${fmt.int(counts.rows[0].versions)} versions\n\n`);

  // The same random moments for every query and for the baseline.
  let seedRand = 42;
  const rand = () => ((seedRand = (seedRand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const moments = Array.from({ length: RUNS + 5 }, () => new Date(base.getTime() + rand() * (now - base.getTime())));

  const auth = { headers: { authorization: `Bearer ${gw.token}` } };
  const get = async (path: string) => {
    const res = await fetch(gw.url + path, auth);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${body.slice(0, 300)}`);
    return JSON.parse(body) as { data: unknown[]; pagination: { total: number } };
  };
  const rule = JSON.stringify({ operator: 'OR', conditions: [{ field: 'is_superuser', op: 'is', value: true }, { field: 'roles', op: 'has', value: 'app_writer' }] });
  const kinds = [
    ['all accounts', ''],
    ['could INSERT on shop', '&privilege=INSERT&database=shop'],
    ['was superuser', '&is_superuser=true'],
    ['rule: superuser OR role', `&rule=${encodeURIComponent(rule)}`],
  ] as const;

  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  for (const [name, filter] of kinds) {
    const path = (at: Date) => `/api/instances/${instanceId}/accounts-at?at=${at.toISOString()}&per_page=100${filter}`;
    // Baseline: the statements the gateway sends for this query (minus the instance lookup, which
    // is the same for all), replayed with bare pg, `at` replaced by each moment.
    const sql = (await captureSql(() => get(path(moments[0]!)))).filter((c) => /account_versions/.test(c.text));
    const totals: number[] = [];
    const gwMs = await timeSequential(RUNS, 5, async (i) => {
      const body = await get(path(moments[i % moments.length]!));
      totals.push(body.pagination.total);
    });
    const bareMs = await timeSequential(RUNS, 5, async (i) => {
      const at = moments[i % moments.length]!;
      let ids: string[] = [];
      for (const c of sql) {
        const values = c.values?.map((v, j) => (j === 1 && v instanceof Date ? at : v));
        // The rule path reads the page's rows by version id after filtering: replay with real ids.
        const res = await pool.query(c.text, /ANY\(\$1::bigint\[\]\)/.test(c.text) ? [ids] : values);
        if (res.rows[0] && 'vid' in res.rows[0]) ids = res.rows.slice(0, 100).map((r) => r.vid as string);
      }
    });
    const p95 = percentile(gwMs, 95);
    const base95 = percentile(bareMs, 95);
    const ok = p95 < TARGET_MS;
    if (!ok) failures.push(`${name}: p95 ${p95.toFixed(1)} ms ≥ ${TARGET_MS} ms`);
    const avgTotal = totals.reduce((a, b) => a + b, 0) / Math.max(1, totals.length);
    rows.push([name, fmt.int(avgTotal), percentile(gwMs, 50).toFixed(1), p95.toFixed(1), percentile(bareMs, 50).toFixed(1), base95.toFixed(1), fmt.ratio(p95 / base95), `< ${TARGET_MS}`, ok ? 'PASS' : 'FAIL']);
    summary[name] = { gw_p50_ms: percentile(gwMs, 50), gw_p95_ms: p95, bare_p50_ms: percentile(bareMs, 50), bare_p95_ms: base95, avg_matches: avgTotal, pass: ok };
  }
  process.stdout.write(`${RUNS} sequential requests per query at random moments of ${PER_ACCOUNT} days (ms); baseline = the same SQL on bare pg; ratio = gateway p95 / baseline p95\n`);
  printTable(['query (100 rows a page)', 'avg matches', 'gw p50', 'gw p95', 'bare p50', 'bare p95', 'ratio', 'target', ''], rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left']);
  process.stdout.write(
    `BENCH_RESULT ${JSON.stringify({ bench: 'history', accounts: ACCOUNTS, change_log_rows: counts.rows[0].changes, versions: counts.rows[0].versions, runs: RUNS, target_p95_ms: TARGET_MS, queries: summary, pass: failures.length === 0 })}\n`,
  );
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
