/**
 * The real gateway as an OS process (`node --import tsx src/main.ts`), for what only a process can
 * show: several replicas on one database and Redis, signals, exit codes. Every process started here
 * is killed when the test process exits, whatever happened (SIGKILL on the leftovers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { PG_ADMIN_URL, REDIS_URL } from './env.js';
import { ADMIN_PASSWORD } from './test-app.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';
export const TEST_CREDENTIAL_KEY = '5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee0001';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (safe to call in afterAll whatever state the test left). */
  kill(): Promise<void>;
}

/** Environment shared by every process of a test: the same secrets, as replicas need. */
export function baseEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/root',
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    REDIS_URL,
    JWT_SECRET: TEST_JWT_SECRET,
    CREDENTIAL_ENCRYPTION_KEY: TEST_CREDENTIAL_KEY,
    WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOGIN_RATE_LIMIT_PER_IP: '1000',
    LOGIN_RATE_LIMIT_PER_USER: '1000',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Starts `src/main.ts` and resolves once it listens (the port is read from its start-up log line).
 * Rejects with the process output when it exits first or does not listen within `timeoutMs`.
 * `onOutput` sees the output so far whenever the process writes (to act on a start-up stage).
 */
export function spawnGateway(env: Record<string, string | undefined>, timeoutMs = 60_000, opts: { onOutput?: (all: string) => void } = {}): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-proc-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: baseEnv({ DATA_DIR: dataDir, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  // Keep the tail only: a busy gateway logs a lot.
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    opts.onOutput?.(out);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not listen within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onData = () => {
      const m = /"port":(\d+)[^\n]*listening/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const port = Number(m[1]);
      resolve({
        child,
        pid: child.pid!,
        port,
        url: `http://127.0.0.1:${port}`,
        output: () => out,
        exited,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${out.slice(-4000)}`));
    });
  });
}

/** A fresh database and Redis prefix for a group of processes (dropped by `drop`). */
export async function sharedStores(): Promise<{ databaseUrl: string; redisPrefix: string; drop: () => Promise<void> }> {
  const db = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_test');
  return { databaseUrl: db.url, redisPrefix: `wftest:${randomBytes(4).toString('hex')}:`, drop: db.drop };
}
