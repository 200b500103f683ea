/**
 * `npm start` with no DATABASE_URL: the real entry point (src/main.ts) in child processes on an
 * embedded PostgreSQL under a temporary DATA_DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-emb-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url?: string;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function startGateway(extraEnv: Record<string, string> = {}): Promise<Started> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const child = spawn(path.resolve('node_modules/.bin/tsx'), ['src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const s: Started = { child, stdout: '', stderr: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  return new Promise((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      s.stdout += d.toString();
      const m = /"port":(\d+)/.exec(s.stdout);
      if (m && !s.url) {
        s.url = `http://127.0.0.1:${m[1]}`;
        resolve(s);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (s.stderr += d.toString()));
    void s.exit.then(() => resolve(s));
  });
}

describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts, prints a generated admin password once, refuses a second process, and keeps data across restarts', async () => {
    const first = await startGateway();
    expect(first.url, first.stderr).toBeDefined();
    const m = /password:\s*\n\s*(\S+)/.exec(first.stdout);
    expect(m, 'generated password banner').not.toBeNull();
    const password = m![1]!;
    expect(first.stdout).toMatch(/embedded PostgreSQL/);

    const health = await call(first.url!, 'GET', '/health/detailed');
    expect(health.body.data).toMatchObject({ database: 'connected', embedded_database: true });
    const login = await call(first.url!, 'POST', '/auth/login', { json: { username: 'admin', password } });
    expect(login.status).toBe(200);
    const created = await call(first.url!, 'POST', '/api/users', {
      token: login.body.data.access_token,
      json: { username: 'laptop_dba', password: 'Str0ngPass', role: 'user' },
    });
    expect(created.status).toBe(201);
    // Auto-classification on the one-session embedded database (it used to wait on itself forever).
    const batch = await call(first.url!, 'POST', '/account-classification/auto-classify', { token: login.body.data.access_token, json: {} });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.data).toMatchObject({ total_accounts: 0, total_classifications_added: 0 });

    // A second gateway on the same data directory is refused with a clear message.
    const second = await startGateway();
    expect(await second.exit).toBe(78);
    expect(second.stderr).toMatch(/in use by another WhaleFall process/);

    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    // Restart: same data, the same JWT secret (old tokens still valid), no new password banner.
    const again = await startGateway();
    expect(again.url, again.stderr).toBeDefined();
    expect(again.stdout).not.toMatch(/password:/);
    const me = await call(again.url!, 'GET', '/api/me', { token: login.body.data.access_token });
    expect(me.status).toBe(200);
    const relog = await call(again.url!, 'POST', '/auth/login', { json: { username: 'laptop_dba', password: 'Str0ngPass' } });
    expect(relog.status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  }, 120_000);

  it('refuses to start in production without JWT_SECRET, with a clear message', async () => {
    const s = await startGateway({ NODE_ENV: 'production', DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres' });
    expect(await s.exit).toBe(78);
    expect(s.stderr).toMatch(/JWT_SECRET: required when NODE_ENV=production/);
  });

  it('names every invalid variable at start', async () => {
    const s = await startGateway({ PORT: 'eighty', REDIS_URL: 'http://nope' });
    expect(await s.exit).toBe(78);
    expect(s.stderr).toMatch(/PORT/);
    expect(s.stderr).toMatch(/REDIS_URL/);
  });
});
