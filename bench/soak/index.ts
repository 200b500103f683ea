/**
 * bench/soak: two gateway replicas (separate OS processes, `src/main.ts`) on one PostgreSQL database
 * and one Redis, under BENCH_SOAK_SECONDS (default 120) of mixed load measured after
 * BENCH_SOAK_WARMUP_SECONDS (default 30) of the same load: REST reads and writes, GraphQL queries, 200
 * live log subscribers over graphql-ws, and an account sync of a real PostgreSQL instance started 10 s
 * after the previous one ended. Figures: errors (target 0), p99 latency per request kind, and each
 * replica's memory growth over the measured window (target: within 50 MB), both as RSS and as the
 * heap retained after full collections (whalefall_heap_live_bytes, the leak indicator).
 * Baseline, measured in the same run with the same client loop: a bare node:http + pg server
 * answering the same instance-list read (p99 ratio = gateway / bare).
 *
 *   npm run bench -- soak        BENCH_SOAK_SECONDS=30 BENCH_SUBSCRIBERS=50 npm run bench -- soak
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { BENCH_PG_ADMIN_URL, BENCH_REDIS_URL, Cleanup, createBenchDatabase } from '../lib/scratch.js';
import { percentile } from '../lib/gateway.js';
import { fmt, printTable } from '../lib/table.js';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 120);
const WARMUP_SECONDS = Number(process.env.BENCH_SOAK_WARMUP_SECONDS ?? 30);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 10);
const MEMORY_TARGET_MB = 50;
const ADMIN_PASSWORD = 'BenchAdmin12345';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cleanup = new Cleanup();

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Replica {
  url: string;
  child: ChildProcess;
  rssMb: Array<{ t: number; mb: number }>;
  /** V8 heap in use and memory held outside the heap (buffers), from the replica's own /metrics. */
  heapMb: Array<{ t: number; live: number; external: number }>;
}

/** A replica as an operator runs it: `node --import tsx src/main.ts`, configured by environment. */
async function startReplica(databaseUrl: string, redisPrefix: string): Promise<Replica> {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `whalefall-soak-replica-${port}.log`);
  process.stdout.write(`replica on port ${port} logs to ${logFile}\n`);
  // BENCH_SOAK_HEAPSNAPSHOT=1: SIGUSR2 makes a replica write a heap snapshot into the temp directory
  // (taken at the end of warm-up and at the end of the load, to compare what was retained).
  const snapshots = process.env.BENCH_SOAK_HEAPSNAPSHOT === '1' ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${os.tmpdir()}`] : [];
  const child = spawn(process.execPath, [...snapshots, ...(process.env.BENCH_SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    // The replica's own log (pino JSON), kept for a look at anything that went wrong.
    stdio: ['ignore', openSync(logFile, 'w'), 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      REDIS_URL: BENCH_REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      JWT_SECRET: 'bench-soak-secret-that-is-long-enough-0123456789',
      CREDENTIAL_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'info',
      // The load comes from one client address and one user: the abuse limits would (rightly) stop it.
      LOGIN_RATE_LIMIT_PER_IP: '1000000',
      LOGIN_RATE_LIMIT_PER_USER: '1000000',
      API_RATE_LIMIT_PER_USER: '10000000',
      API_RATE_LIMIT_PER_IP: '10000000',
      AUTO_CLASSIFY_AFTER_SYNC: 'true',
    },
  });
  cleanup.add('stop replica', () => stopReplica(child));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`replica exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 600) throw new Error('replica did not become ready in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, rssMb: [], heapMb: [] };
}

function stopReplica(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Heap figures of a replica from the Prometheus default metrics it serves. */
async function heapSample(url: string): Promise<{ live: number; external: number } | null> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1024 / 1024;
  const live = read('whalefall_heap_live_bytes');
  return Number.isNaN(live) ? null : { live, external: read('whalefall_nodejs_external_memory_bytes') };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function api(url: string, method: string, p: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

type Kind = 'rest read' | 'rest write' | 'graphql' | 'sync start';

class Stats {
  readonly latencies = new Map<Kind, number[]>();
  errors = 0;
  readonly errorSamples: string[] = [];
  record(kind: Kind, ms: number, ok: boolean, what: string): void {
    if (!this.latencies.has(kind)) this.latencies.set(kind, []);
    this.latencies.get(kind)!.push(ms);
    if (!ok) {
      this.errors++;
      if (this.errorSamples.length < 10) this.errorSamples.push(what);
    }
  }
}

/** One client loop: the same mix against the replicas in turn, until `until`. */
async function worker(n: number, replicas: Replica[], token: string, until: number, stats: Stats, credentialId: number): Promise<void> {
  let i = n;
  while (Date.now() < until) {
    const r = replicas[i % replicas.length]!;
    const step = i++ % 10;
    const t0 = performance.now();
    let kind: Kind = 'rest read';
    let res: { status: number; body: any };
    try {
      if (step < 5) {
        const paths = ['/api/instances?per_page=20', '/api/search?per_page=20', '/api/overview', '/api/accounts?per_page=20', '/api/sessions?per_page=10'];
        res = await api(r.url, 'GET', paths[step]!, token);
      } else if (step < 8) {
        kind = 'graphql';
        res = await api(r.url, 'POST', '/graphql', token, { query: '{ instances(first: 20) { totalCount edges { node { id name dbType } } } me { username } }' });
        if (res.body?.errors) res.status = 599;
      } else {
        kind = 'rest write';
        const name = `soak-${randomBytes(5).toString('hex')}`;
        res = await api(r.url, 'POST', '/api/instances', token, { name, db_type: 'mysql', host: '10.0.0.1', port: 3306, credential_id: credentialId });
        if (res.status === 201) {
          const id = res.body.data.id;
          const upd = await api(replicas[(i + 1) % replicas.length]!.url, 'PUT', `/api/instances/${id}`, token, { description: 'soak' });
          const del = upd.status === 200 ? await api(r.url, 'DELETE', `/api/instances/${id}`, token) : upd;
          res = del.status === 200 ? res : del;
        }
      }
    } catch (err) {
      res = { status: 0, body: (err as Error).message };
    }
    const ok = res.status >= 200 && res.status < 300;
    stats.record(kind, performance.now() - t0, ok, `${kind} ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
}

/** The baseline: a bare node:http + pg server answering the same read as GET /api/instances. */
async function baselineP99(databaseUrl: string): Promise<{ p99: number; p50: number; n: number }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const server = http.createServer(async (_req, res) => {
    const { rows } = await pool.query('SELECT id, name, db_type, host, port FROM instances WHERE deleted_at IS NULL ORDER BY id LIMIT 20');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, data: rows }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const lat: number[] = [];
  const until = Date.now() + BASELINE_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        await api(url, 'GET', '/', null);
        lat.push(performance.now() - t0);
      }
    }),
  );
  await new Promise((r) => server.close(r));
  await pool.end();
  return { p99: percentile(lat, 99), p50: percentile(lat, 50), n: lat.length };
}

async function main(): Promise<number> {
  try {
    process.stdout.write(`bench/soak: 2 replicas, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured mixed load (${WORKERS} client loops), ${SUBSCRIBERS} live subscribers, a sync every 10 s\n`);
    const db = await createBenchDatabase('whalefall_bench_soak');
    cleanup.add('drop scratch database', db.drop);
    const prefix = `wfsoak:${randomBytes(4).toString('hex')}:`;
    // One after the other: the first applies the migrations.
    const a = await startReplica(db.url, prefix);
    const b = await startReplica(db.url, prefix);
    const replicas = [a, b];
    const login = await api(a.url, 'POST', '/auth/login', null, { username: 'admin', password: ADMIN_PASSWORD });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    const token = login.body.data.access_token as string;

    // The managed instance the syncs read: the local PostgreSQL server itself.
    const pgUrl = new URL(BENCH_PG_ADMIN_URL);
    const cred = await api(a.url, 'POST', '/api/credentials', token, { name: 'soak-pg', credential_type: 'database', db_type: 'postgresql', username: pgUrl.username || 'postgres', password: pgUrl.password || 'unused-trust' });
    if (cred.status !== 201) throw new Error(`credential: ${cred.status} ${JSON.stringify(cred.body)}`);
    const managed = await api(a.url, 'POST', '/api/instances', token, { name: 'soak-managed-pg', db_type: 'postgresql', host: pgUrl.hostname, port: Number(pgUrl.port || 5432), database_name: 'postgres', credential_id: cred.body.data.id });
    if (managed.status !== 201) throw new Error(`instance: ${managed.status} ${JSON.stringify(managed.body)}`);

    // 200 live log subscribers, half on each replica.
    let delivered = 0;
    const clients: Client[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const r = replicas[i % 2]!;
      const client = createClient({ url: r.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: false });
      clients.push(client);
      client.subscribe({ query: 'subscription { logStream(minLevel: INFO) { dropped entry { id } } }' }, { next: () => void delivered++, error: () => {}, complete: () => {} });
    }
    cleanup.add('close subscribers', async () => {
      for (const c of clients) await c.dispose();
    });

    const stats = new Stats();
    const started = Date.now();
    const until = started + (WARMUP_SECONDS + SECONDS) * 1000;
    // Memory of each replica, every second.
    const sampler = setInterval(() => {
      const t = (Date.now() - started) / 1000;
      for (const r of replicas) {
        if (!r.child.pid || r.child.exitCode !== null) continue;
        r.rssMb.push({ t, mb: rssMb(r.child.pid) });
        if (Math.round(t) % 5 === 0) void heapSample(r.url).then((h) => h && r.heapMb.push({ t, ...h }));
      }
    }, 1000);
    const snapshot = () => {
      if (process.env.BENCH_SOAK_HEAPSNAPSHOT === '1') for (const r of replicas) r.child.kill('SIGUSR2');
    };
    const warmSnapshot = setTimeout(snapshot, WARMUP_SECONDS * 1000);
    // A sync of the managed instance on alternating replicas, 10 s after the previous one ended (an
    // instance is never synced twice at once: a sync started while one runs is refused by design).
    let syncs = 0;
    const syncLoop = (async () => {
      while (Date.now() < until) {
        const r = replicas[syncs++ % 2]!;
        const t0 = performance.now();
        const res = await api(r.url, 'POST', `/api/instances/${managed.body.data.id}/sync`, token).catch((e: Error) => ({ status: 0, body: e.message }));
        stats.record('sync start', performance.now() - t0, res.status === 202 || res.status === 200, `sync ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        const sessionId = res.body?.data?.session_id;
        while (sessionId && Date.now() < until) {
          const s = await api(r.url, 'GET', `/api/sessions/${sessionId}`, token).catch(() => null);
          if (!s || !['pending', 'running'].includes(s.body?.data?.status)) break;
          await new Promise((r2) => setTimeout(r2, 500));
        }
        await new Promise((r2) => setTimeout(r2, 10_000));
      }
    })();
    await Promise.all([...Array.from({ length: WORKERS }, (_, n) => worker(n, replicas, token, until, stats, cred.body.data.id)), syncLoop]);
    clearInterval(sampler);
    clearTimeout(warmSnapshot);
    snapshot();
    const sessions = await api(a.url, 'GET', '/api/sessions?per_page=100', token);
    const syncFailures = ((sessions.body?.data ?? []) as any[]).filter((s) => s.status === 'failed').length;

    const base = await baselineP99(db.url);

    const growth = replicas.map((r) => {
      const after = r.rssMb.filter((s) => s.t >= WARMUP_SECONDS);
      const first = after.slice(0, 5).reduce((x, s) => x + s.mb, 0) / Math.max(1, Math.min(5, after.length));
      const last = after.slice(-5).reduce((x, s) => x + s.mb, 0) / Math.max(1, Math.min(5, after.length));
      const heap = r.heapMb.filter((s) => s.t >= WARMUP_SECONDS);
      const avg = (xs: typeof heap, k: 'live' | 'external') => xs.reduce((x, s) => x + s[k], 0) / Math.max(1, xs.length);
      const h0 = heap.slice(0, 2);
      const h1 = heap.slice(-2);
      return {
        start: first,
        end: last,
        growth: last - first,
        peak: Math.max(...r.rssMb.map((s) => s.mb)),
        heapStart: avg(h0, 'live'),
        heapGrowth: avg(h1, 'live') - avg(h0, 'live'),
        externalGrowth: avg(h1, 'external') - avg(h0, 'external'),
      };
    });
    const rows = [...stats.latencies].map(([kind, l]) => [kind, fmt.int(l.length), percentile(l, 50).toFixed(1), percentile(l, 99).toFixed(1), kind === 'rest read' ? `${(percentile(l, 99) / base.p99).toFixed(2)}×` : '']);
    process.stdout.write('\n');
    printTable(['requests', 'count', 'p50 ms', 'p99 ms', 'p99 / bare http+pg'], [...rows, ['bare node:http + pg (baseline)', fmt.int(base.n), base.p50.toFixed(1), base.p99.toFixed(1), '1.00×']], ['left', 'right', 'right', 'right', 'right']);
    process.stdout.write('\n');
    printTable(
      ['replica', 'RSS after warm-up MB', 'RSS at end MB', 'growth MB', 'peak MB', 'live heap after warm-up MB', 'live heap growth MB', 'external growth MB'],
      growth.map((g, i) => [`replica ${i + 1}`, g.start.toFixed(0), g.end.toFixed(0), g.growth.toFixed(1), g.peak.toFixed(0), g.heapStart.toFixed(0), g.heapGrowth.toFixed(1), g.externalGrowth.toFixed(1)]),
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    );
    process.stdout.write(`\nerrors: ${stats.errors}${stats.errorSamples.length ? `\n  ${stats.errorSamples.join('\n  ')}` : ''}\n`);
    process.stdout.write(`live entries delivered to ${SUBSCRIBERS} subscribers: ${fmt.int(delivered)}; sync sessions started: ${syncs}, failed: ${syncFailures}\n`);
    const verdicts = [
      { name: '0 errors', pass: stats.errors === 0 && syncFailures === 0, value: `${stats.errors} request errors, ${syncFailures} failed syncs` },
      ...growth.map((g, i) => ({ name: `replica ${i + 1} RSS flat within ${MEMORY_TARGET_MB} MB after warm-up`, pass: g.growth <= MEMORY_TARGET_MB, value: `${g.growth.toFixed(1)} MB` })),
      ...growth.map((g, i) => ({ name: `replica ${i + 1} live heap flat within ${MEMORY_TARGET_MB} MB after warm-up`, pass: g.heapGrowth <= MEMORY_TARGET_MB, value: `${g.heapGrowth.toFixed(1)} MB` })),
      { name: 'subscribers received live entries', pass: delivered > 0, value: fmt.int(delivered) },
    ];
    process.stdout.write('\n');
    for (const v of verdicts) process.stdout.write(`${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${v.value}\n`);
    const all = [...stats.latencies.values()].flat();
    process.stdout.write(
      `BENCH_RESULT ${JSON.stringify({ bench: 'soak', seconds: SECONDS, subscribers: SUBSCRIBERS, requests: all.length, errors: stats.errors, sync_failures: syncFailures, p99_ms: percentile(all, 99), baseline_p99_ms: base.p99, memory_growth_mb: growth.map((g) => Number(g.growth.toFixed(1))), live_heap_growth_mb: growth.map((g) => Number(g.heapGrowth.toFixed(1))), pass: verdicts.every((v) => v.pass) })}\n`,
    );
    return verdicts.every((v) => v.pass) ? 0 : 1;
  } finally {
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench/soak failed: ${(err as Error).stack ?? err}\n`);
    void cleanup.run().finally(() => process.exit(1));
  },
);
