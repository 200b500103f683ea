/**
 * Embedded mode (no DATABASE_URL, PGlite): Agenda runs on the embedded PostgreSQL with polling instead
 * of LISTEN/NOTIFY, fires on time, and keeps job states across a restart on the same data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { call, login } from '../helpers/http.js';
import { ADMIN_PASSWORD } from '../helpers/test-app.js';
import { addProbe, waitFor } from '../helpers/scheduler-helpers.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-emb-sched-'));
let current: App | undefined;
afterAll(async () => {
  await current?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ app: App; url: string }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    SCHEDULER_PROCESS_EVERY_MS: '200',
    SCHEDULER_LOCK_LIFETIME_MS: '5000',
  });
  const app = await buildApp(config, { stdout: null });
  current = app;
  addProbe(app.deps.scheduler!);
  return { app, url: await app.start(0) };
}

describe('scheduler on the embedded PostgreSQL', () => {
  it('fires jobs on time and keeps their states across a restart', { timeout: 90_000 }, async () => {
    const first = await start();
    expect(first.app.deps.embeddedDatabase).toBe(true);
    expect(first.app.deps.scheduler!.backend).toBe('postgres');
    const admin = (await login(first.url)).access_token;
    const created = await call(first.url, 'POST', '/api/jobs', { token: admin, json: { id: 'emb-fire', name: 'fire', task_type: 'probe', schedule: '*/2 * * * * *' } });
    expect(created.status).toBe(201);
    const shown = created.body.data.next_run_time;
    const paused = await call(first.url, 'POST', '/api/jobs', { token: admin, json: { id: 'emb-paused', name: 'paused', task_type: 'probe', schedule: '* * * * * *', paused: true } });
    expect(paused.body.data.status).toBe('paused');

    const runs = async (url: string, token: string, id: string) => (await call(url, 'GET', `/api/jobs/${id}/runs?per_page=100`, { token })).body.data as any[];
    const before = await waitFor(async () => {
      const r = (await runs(first.url, admin, 'emb-fire')).filter((x) => x.status !== 'running');
      return r.length >= 3 && r;
    }, 15_000);
    expect(before.map((r) => r.scheduled_for)).toContain(shown);
    for (const r of before) {
      expect(r.status).toBe('success');
      expect(new Date(r.started_at).getTime() - new Date(r.scheduled_for).getTime()).toBeLessThan(2000); // generous: CI shares 2 cores
    }
    await first.app.stop();

    const second = await start();
    const token = (await login(second.url)).access_token;
    const jobs = (await call(second.url, 'GET', '/api/jobs?per_page=100', { token })).body.data as any[];
    expect(jobs.map((j) => j.id).sort()).toEqual(['cleanup_logs', 'emb-fire', 'emb-paused', 'sync_accounts']);
    expect(jobs.find((j) => j.id === 'emb-paused')).toMatchObject({ status: 'paused', next_run_time: null });
    const restartedAt = Date.now();
    const after = await waitFor(async () => {
      const r = await runs(second.url, token, 'emb-fire');
      return r.some((x) => new Date(x.started_at).getTime() > restartedAt) && r;
    }, 15_000);
    const fires = after.filter((r) => r.status !== 'skipped').map((r) => r.scheduled_for);
    expect(new Set(fires).size).toBe(fires.length);
    expect(await runs(second.url, token, 'emb-paused')).toEqual([]);
  });
});
