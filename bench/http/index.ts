/**
 * bench/http: the users list (20 rows) through the gateway's REST route and its GraphQL field,
 * against a bare node:http server that runs the same SQL with pg (same pool size) and writes the same
 * JSON. One run, one load generator (autocannon, separate process), same settings for all three.
 * Target (issue 3): REST and GraphQL each at least 50% of the bare server's throughput.
 *
 *   npm run bench -- http          BENCH_DURATION=30 npm run bench -- http
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2), BENCH_CONNECTIONS
 * (default 10), BENCH_USERS (seeded rows, default 200), BENCH_PG_ADMIN_URL, BENCH_REDIS_URL.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { loadOptionsFromEnv, measure, type LoadResult, type LoadTarget } from '../lib/load.js';
import { BENCH_REDIS_URL, Cleanup, createBenchDatabase } from '../lib/scratch.js';
import { fmt, printTable } from '../lib/table.js';

const TARGET_RATIO = 0.5;
const PER_PAGE = 20;
const POOL_SIZE = 10; // the gateway's DATABASE_POOL_SIZE default, used for both servers
const SEED_USERS = Number(process.env.BENCH_USERS ?? 200);
const ADMIN_PASSWORD = 'BenchAdmin12345';
const GRAPHQL_QUERY = `{ users(perPage: ${PER_PAGE}) { totalCount edges { node { id username role email isActive lastLogin createdAt updatedAt } } } }`;

/** The statements the gateway's users list issues (Prisma findMany + count, run in parallel). */
const LIST_SQL =
  'SELECT id, username, role, email, is_active, last_login, created_at, updated_at FROM users ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2';
const COUNT_SQL = 'SELECT count(*) FROM users';

type Measured = LoadResult & { cpuUsPerReq: number };

interface UserRow {
  id: number;
  username: string;
  role: string;
  email: string | null;
  is_active: boolean;
  last_login: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The baseline: node:http + pg, no framework, same envelope as GET /api/users. */
function startBareServer(pool: pg.Pool): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/api/users') {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end('{"status":"error"}');
      return;
    }
    Promise.all([pool.query<UserRow>(LIST_SQL, [PER_PAGE, 0]), pool.query<{ count: string }>(COUNT_SQL)]).then(
      ([list, count]) => {
        const total = Number(count.rows[0]!.count);
        const body = JSON.stringify({
          status: 'success',
          success: true,
          data: list.rows.map((u) => ({
            id: u.id,
            username: u.username,
            role: u.role,
            email: u.email,
            is_active: u.is_active,
            last_login: u.last_login ? u.last_login.toISOString() : null,
            created_at: u.created_at.toISOString(),
            updated_at: u.updated_at.toISOString(),
          })),
          pagination: { page: 1, per_page: PER_PAGE, total, pages: total === 0 ? 0 : Math.ceil(total / PER_PAGE) },
          message: '操作成功',
        });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ status: 'error', message: err.message }));
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
}

async function seedUsers(databaseUrl: string, count: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // One argon2 hash (the bootstrap admin's) for every row: hashing 200 passwords would take minutes.
    const { rows } = await client.query<{ password: string }>(`SELECT password FROM users WHERE username = 'admin'`);
    if (!rows[0]) throw new Error('the bootstrap admin was not created');
    await client.query(
      `INSERT INTO users (username, password, role, email, is_active, token_version, last_login, created_at, updated_at)
       SELECT 'bench_user_' || i, $1,
              (ARRAY['admin', 'user', 'viewer'])[1 + i % 3]::"UserRole",
              CASE WHEN i % 4 = 0 THEN NULL ELSE 'bench' || i || '@example.com' END,
              i % 5 <> 0, 0,
              CASE WHEN i % 2 = 0 THEN now() - i * interval '1 hour' END,
              now() - i * interval '1 minute', now() - i * interval '30 seconds'
       FROM generate_series(1, $2::int) AS i`,
      [rows[0].password, count],
    );
    const total = await client.query<{ count: string }>(COUNT_SQL);
    await client.query('ANALYZE users');
    return Number(total.rows[0]!.count);
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const load = loadOptionsFromEnv();
  const cleanup = new Cleanup();
  try {
    // 1. The real gateway on a scratch database and a unique Redis prefix.
    const db = await createBenchDatabase('whalefall_bench');
    cleanup.add('drop scratch database', db.drop);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-'));
    cleanup.add('remove data dir', () => rmSync(dataDir, { recursive: true, force: true }));
    const redisPrefix = `wfbench:${randomBytes(4).toString('hex')}:`;
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      DATA_DIR: dataDir,
      REDIS_URL: BENCH_REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
      WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'silent',
      ...(process.env.SCHEDULER_ENABLED ? { SCHEDULER_ENABLED: process.env.SCHEDULER_ENABLED } : {}),
      LOGIN_RATE_LIMIT_PER_IP: '1000000',
      LOGIN_RATE_LIMIT_PER_USER: '1000000',
      API_RATE_LIMIT_PER_USER: '10000000',
      API_RATE_LIMIT_PER_IP: '10000000',
    });
    const app = await buildApp(config, { stdout: null });
    cleanup.add('stop gateway', app.stop);
    cleanup.add('delete Redis keys', async () => {
      const redis = app.deps.redis;
      if (!redis) return;
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${redisPrefix}*`, count: 500 })) keys.push(...(batch as string[]));
      if (keys.length) await redis.del(...keys);
    });
    const gatewayUrl = await app.start(0);

    // 2. Seed users straight into the table.
    const total = await seedUsers(db.url, SEED_USERS);

    // 3. A token for the admin, over HTTP like any client.
    const login = await fetchJson(`${gatewayUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    const token: string = login.body.data.access_token;
    const auth = { authorization: `Bearer ${token}` };

    // 4. The bare baseline, same database, same pool size.
    const pool = new pg.Pool({ connectionString: db.url, max: POOL_SIZE });
    pool.on('error', () => {});
    cleanup.add('end bare pool', () => pool.end());
    const bare = await startBareServer(pool);
    cleanup.add('stop bare server', () => new Promise<void>((resolve) => {
      bare.server.close(() => resolve());
      bare.server.closeAllConnections();
    }));

    const targets: LoadTarget[] = [
      { name: 'bare node:http + pg', url: `${bare.url}/api/users` },
      { name: 'gateway REST', url: `${gatewayUrl}/api/users?per_page=${PER_PAGE}`, headers: auth },
      {
        name: 'gateway GraphQL',
        url: `${gatewayUrl}/graphql`,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ query: GRAPHQL_QUERY }),
      },
    ];

    // Honest comparison: the three targets must return the same rows before anything is measured.
    const [bareRes, restRes, gqlRes] = await Promise.all(
      targets.map((t) => fetchJson(t.url, { method: t.method ?? 'GET', headers: t.headers, body: t.body })),
    );
    if (bareRes!.status !== 200) throw new Error(`bare server: ${bareRes!.status} ${JSON.stringify(bareRes!.body)}`);
    if (restRes!.status !== 200) throw new Error(`gateway REST: ${restRes!.status} ${JSON.stringify(restRes!.body)}`);
    deepStrictEqual(bareRes!.body.data, restRes!.body.data, 'bare and REST users lists differ');
    deepStrictEqual(bareRes!.body.pagination, restRes!.body.pagination, 'bare and REST pagination differ');
    if (bareRes!.body.data.length !== PER_PAGE) throw new Error(`expected ${PER_PAGE} rows, got ${bareRes!.body.data.length}`);
    if (gqlRes!.status !== 200 || gqlRes!.body.errors) throw new Error(`gateway GraphQL: ${gqlRes!.status} ${JSON.stringify(gqlRes!.body)}`);
    const conn = gqlRes!.body.data?.users;
    const gqlIds = (conn?.edges ?? []).map((e: { node: { id: unknown } }) => Number(e.node.id));
    if (gqlIds.length !== PER_PAGE) throw new Error(`GraphQL returned ${gqlIds.length} nodes, expected ${PER_PAGE}`);
    deepStrictEqual(gqlIds, bareRes!.body.data.map((u: { id: number }) => u.id), 'GraphQL returns other rows than the bare server');
    if (conn.totalCount !== total) throw new Error(`GraphQL totalCount ${conn.totalCount}, expected ${total}`);

    const bytes = (b: unknown) => Buffer.byteLength(JSON.stringify(b));
    process.stdout.write(
      `users list, ${PER_PAGE} of ${total} rows; autocannon ${load.connections} connections, ${load.durationSeconds} s measured after ${load.warmupSeconds} s warm-up per target\n` +
        `node ${process.version}, ${os.cpus().length} CPU(s), pg pool ${POOL_SIZE} on both servers; bodies ${bytes(bareRes!.body)} B (bare), ${bytes(restRes!.body)} B (REST), ${bytes(gqlRes!.body)} B (GraphQL)\n\n`,
    );

    // 5. Measure, one target at a time.
    // Both servers live in this process (the load generator does not), so this process's CPU time
    // during a measured run is what the server under test spent: a steadier figure than req/s on a
    // shared machine, and the one that shows where the gateway's time goes.
    const results: Measured[] = [];
    for (const t of targets) {
      process.stdout.write(`measuring ${t.name}…\n`);
      let cpu0 = process.cpuUsage();
      let cpu = { user: 0, system: 0 };
      const r = await measure(t, load, { beforeMeasured: () => (cpu0 = process.cpuUsage()), afterMeasured: () => (cpu = process.cpuUsage(cpu0)) });
      results.push({ ...r, cpuUsPerReq: r.requests > 0 ? (cpu.user + cpu.system) / r.requests : 0 });
    }

    // 6. Report.
    const [base, rest, gql] = results as [Measured, Measured, Measured];
    const ratio = (r: LoadResult) => (base.rps > 0 ? r.rps / base.rps : 0);
    process.stdout.write('\n');
    printTable(
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx/errors', 'server CPU µs/req', 'vs bare'],
      results.map((r) => [r.name, fmt.int(r.rps), fmt.ms(r.p50Ms), fmt.ms(r.p99Ms), `${r.non2xx}/${r.errors}`, fmt.int(r.cpuUsPerReq), fmt.ratio(ratio(r))]),
      ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    );
    const clean = results.every((r) => r.non2xx === 0 && r.errors === 0 && r.requests > 0);
    const verdicts = [rest, gql].map((r) => ({ name: r.name, ratio: ratio(r), pass: clean && ratio(r) >= TARGET_RATIO }));
    process.stdout.write('\n');
    for (const v of verdicts) {
      process.stdout.write(`${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${fmt.ratio(v.ratio)} of bare throughput (target ≥ ${fmt.ratio(TARGET_RATIO)})\n`);
    }
    if (!clean) process.stdout.write('FAIL  some responses were non-2xx or errors: the figures are not comparable\n');

    const round = (n: number) => Math.round(n * 100) / 100;
    const summary = {
      bench: 'http',
      rows: PER_PAGE,
      total_rows: total,
      connections: load.connections,
      duration_s: load.durationSeconds,
      warmup_s: load.warmupSeconds,
      target_ratio: TARGET_RATIO,
      targets: Object.fromEntries(
        results.map((r, i) => [
          ['bare', 'rest', 'graphql'][i]!,
          { rps: round(r.rps), requests: r.requests, p50_ms: r.p50Ms, p99_ms: r.p99Ms, mean_ms: round(r.meanMs), cpu_us_per_req: Math.round(r.cpuUsPerReq), non2xx: r.non2xx, errors: r.errors, ratio: round(ratio(r)) },
        ]),
      ),
      pass: verdicts.every((v) => v.pass),
    };
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(summary)}\n`);
    return summary.pass ? 0 : 1;
  } finally {
    // 7. Always: gateway, bare server and pool stopped, scratch database dropped.
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench/http failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
