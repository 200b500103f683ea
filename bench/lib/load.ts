/**
 * Load generation with autocannon, run as a separate process (its own event loop and CPU) so the
 * load generator never competes with the server under test for the same thread. Every target gets
 * the same settings; a warm-up run precedes the measured one and is discarded.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface LoadTarget {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  /** Seconds of discarded load before the measured run (0 = none). */
  warmupSeconds: number;
}

export interface LoadResult {
  name: string;
  /** Mean requests per second over the measured run (autocannon's per-second samples). */
  rps: number;
  /** Completed requests in the measured run. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  durationSeconds: number;
}

/** The fields of autocannon's --json output that are read here. */
interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export function loadOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoadOptions {
  const num = (name: string, def: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    connections: num('BENCH_CONNECTIONS', 10),
    durationSeconds: num('BENCH_DURATION', 10),
    warmupSeconds: num('BENCH_WARMUP', 2),
  };
}

function autocannonOnce(target: LoadTarget, connections: number, durationSeconds: number): Promise<AutocannonJson> {
  const args = [autocannonBin, '--json', '--no-progress', '-c', String(connections), '-d', String(durationSeconds), '-m', target.method ?? 'GET'];
  for (const [k, v] of Object.entries(target.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (target.body !== undefined) args.push('-b', target.body);
  args.push(target.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon (${target.name}) exited with ${code}: ${err.trim()}`));
      const line = out.trim().split('\n').filter(Boolean).pop();
      try {
        resolve(JSON.parse(line ?? '') as AutocannonJson);
      } catch {
        reject(new Error(`autocannon (${target.name}) printed no JSON result: ${out.slice(0, 500)} ${err.slice(0, 500)}`));
      }
    });
  });
}

/** Called around the measured run only (not the warm-up), e.g. to sample the server's CPU time. */
export interface MeasureHooks {
  beforeMeasured?(): void;
  afterMeasured?(): void;
}

export async function measure(target: LoadTarget, opts: LoadOptions, hooks: MeasureHooks = {}): Promise<LoadResult> {
  if (opts.warmupSeconds > 0) await autocannonOnce(target, opts.connections, opts.warmupSeconds);
  hooks.beforeMeasured?.();
  const r = await autocannonOnce(target, opts.connections, opts.durationSeconds);
  hooks.afterMeasured?.();
  return {
    name: target.name,
    rps: r.requests.average,
    requests: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    durationSeconds: r.duration,
  };
}
