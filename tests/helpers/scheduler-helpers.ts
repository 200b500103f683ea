/**
 * Scheduler test helpers: fast scheduler settings, a second gateway on an existing database (a
 * "replica"), and `probe`, a task type defined in test code whose runs can be slow, fail or hang.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { defineTaskType } from '../../src/jobs/types.js';
import type { Scheduler } from '../../src/services/scheduler/scheduler-service.js';
import { REDIS_URL } from './env.js';
import { ADMIN_PASSWORD } from './test-app.js';

/** Short polling, lock lifetime and stop timeout so that takeovers and stops fit in a test. */
export const FAST_SCHEDULER_ENV = {
  SCHEDULER_PROCESS_EVERY_MS: '200',
  SCHEDULER_LOCK_LIFETIME_MS: '3000',
  SCHEDULER_STOP_TIMEOUT_MS: '5000',
};

export interface Replica {
  app: App;
  url: string;
  scheduler: Scheduler;
  close(): Promise<void>;
}

/** Another gateway process on the same database (and Redis prefix) as an existing one. */
export async function startReplica(databaseUrl: string, redisPrefix: string, env: Record<string, string | undefined> = {}): Promise<Replica> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-replica-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    LOGIN_RATE_LIMIT_PER_IP: '1000',
    LOGIN_RATE_LIMIT_PER_USER: '1000',
    // Every test client is 127.0.0.1: generous API budgets (tests of the limits set their own).
    API_RATE_LIMIT_PER_IP: '1000000',
    API_RATE_LIMIT_PER_USER: '1000000',
    ...env,
  });
  const app = await buildApp(config, { stdout: null });
  const url = await app.start(0);
  return {
    app,
    url,
    scheduler: app.deps.scheduler!,
    close: async () => {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ProbeCall {
  jobId: string;
  runId: number;
  trigger: string;
  tag?: string;
  start: number;
  end?: number;
}

/** Every probe execution in this test process, across all gateways. */
export const probeCalls: ProbeCall[] = [];
let releaseBlocked: Array<() => void> = [];

/** Lets every hanging probe run finish. */
export function releaseProbes(): void {
  for (const r of releaseBlocked) r();
  releaseBlocked = [];
}

export const probeTask = defineTaskType({
  name: 'probe',
  label: '测试探针',
  description: 'test-only task: records its calls; can sleep, fail or hang until released',
  params: z
    .object({
      sleep_ms: z.number().int().min(0).max(60_000).default(0),
      fail: z.boolean().default(false),
      hang: z.boolean().default(false),
      tag: z.string().optional(),
    })
    .strict(),
  paramDocs: { sleep_ms: 'ms to sleep', fail: 'throw', hang: 'wait for releaseProbes()', tag: 'label' },
  usesDbType: false,
  async run(ctx, p) {
    const call: ProbeCall = { jobId: ctx.jobId, runId: ctx.runId, trigger: ctx.trigger, tag: p.tag, start: Date.now() };
    probeCalls.push(call);
    if (p.sleep_ms) await new Promise((r) => setTimeout(r, p.sleep_ms));
    if (p.hang) await new Promise<void>((r) => releaseBlocked.push(r));
    call.end = Date.now();
    if (p.fail) throw new Error('probe failed on purpose');
    return { message: `probe ok${p.tag ? ` (${p.tag})` : ''}`, details: { slept_ms: p.sleep_ms } };
  },
});

export function addProbe(s: Scheduler): void {
  if (!s.registry.get('probe')) s.registerTaskType(probeTask);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
