/**
 * bench/scheduler: 1,000 jobs due in the same second, fired by two gateway processes sharing one
 * PostgreSQL job store. Measures the time until every job has started, duplicate runs, and fire-time
 * lateness (started_at − scheduled_for) p50/p99.
 * Targets (issue 7): all started within 5 s of the due second, p99 lateness < 2 s, 0 duplicates.
 *
 *   npx tsx bench/scheduler/index.ts          npm run bench -- scheduler
 *
 * Environment: BENCH_JOBS (default 1000), BENCH_WORKERS (default 2), BENCH_TASK_MS (work per run,
 * default 0), BENCH_LEAD_S (seconds between setup and the due second, default 15), BENCH_PG_ADMIN_URL,
 * BENCH_CPU_PROF (a directory: V8 CPU profiles of the workers); SCHEDULER_* variables apply to the gateways.
 * The workers are separate OS processes (this file with --worker); the job definitions are created
 * by an API-only gateway in this process (SCHEDULER_ENABLED=false). Scratch database created and dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { defineTaskType } from '../../src/jobs/types.js';
import type { Scheduler } from '../../src/services/scheduler/scheduler-service.js';
import { Cleanup, createBenchDatabase } from '../lib/scratch.js';
import { fmt, printTable } from '../lib/table.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const TASK_MS = Number(process.env.BENCH_TASK_MS ?? 0);
const LEAD_S = Number(process.env.BENCH_LEAD_S ?? 15);
const TARGET_ALL_STARTED_MS = 5000;
const TARGET_P99_LATENESS_MS = 2000;
const ADMIN_PASSWORD = 'BenchAdmin12345';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The benchmark's own task type: does (almost) nothing, so the figures are the scheduler's. */
const benchTask = defineTaskType({
  name: 'bench_noop',
  label: 'bench',
  description: 'benchmark task: optionally sleeps BENCH_TASK_MS',
  params: z.object({}).strict(),
  paramDocs: {},
  usesDbType: false,
  async run() {
    if (TASK_MS > 0) await new Promise((r) => setTimeout(r, TASK_MS));
    return { message: 'ok' };
  },
});

function gatewayConfig(databaseUrl: string, dataDir: string, env: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    // Scheduler settings given to the benchmark apply to its gateways (to try other values).
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SCHEDULER_') || k === 'DATABASE_POOL_SIZE')),
    ...env,
  });
}

/** Worker process: a full gateway that runs jobs until told to stop on stdin. */
async function worker(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-sched-'));
  const app = await buildApp(gatewayConfig(process.env.DATABASE_URL!, dataDir), { stdout: null });
  app.deps.scheduler!.registerTaskType(benchTask);
  await app.start(0);
  process.stdout.write(`READY ${app.deps.scheduler!.node}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'STOP') break;
  }
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

function startWorker(databaseUrl: string): Promise<{ child: ChildProcess; node: string }> {
  // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each worker there.
  const prof = process.env.BENCH_CPU_PROF;
  const [cmd, args] = prof
    ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--import', 'tsx', fileURLToPath(import.meta.url), '--worker']]
    : [path.join(root, 'node_modules/.bin/tsx'), [fileURLToPath(import.meta.url), '--worker']];
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ child, node: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.stdin!.write('STOP\n');
  });
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A daily cron whose fire today is `at` (UTC), to the second: 1,000 "nightly" jobs due together. */
function cronAt(at: Date): string {
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  try {
    process.stdout.write(`bench/scheduler: ${JOBS} jobs due in the same second, ${WORKERS} gateway processes, ${TASK_MS} ms of work per run\n`);
    const db = await createBenchDatabase('whalefall_bench_sched');
    cleanup.add('drop scratch database', db.drop);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-sched-'));
    cleanup.add('remove data dir', () => rmSync(dataDir, { recursive: true, force: true }));

    // 1. An API-only gateway (migrates the database, creates the job definitions, runs nothing).
    const api = await buildApp(gatewayConfig(db.url, dataDir, { SCHEDULER_ENABLED: 'false' }), { stdout: null });
    cleanup.add('stop API gateway', api.stop);
    const scheduler: Scheduler = api.deps.scheduler!;
    scheduler.registerTaskType(benchTask);

    // 2. The job-running gateways, each its own process.
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(db.url)));
    for (const w of workers) cleanup.add('stop worker', () => stopWorker(w.child));
    process.stdout.write(`workers ready: ${workers.map((w) => w.node).join(', ')}\n`);

    // 3. The jobs, all due at the same second.
    const due = new Date(Math.ceil((Date.now() + LEAD_S * 1000) / 1000) * 1000);
    const schedule = cronAt(due);
    const { parseScheduleText } = await import('../../src/services/scheduler/schedule.js');
    const createdAt = Date.now();
    const ids = Array.from({ length: JOBS }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(
        ids.slice(i, i + 25).map((id) => scheduler.createJob({ id, name: id, taskType: 'bench_noop', schedule: parseScheduleText(schedule) }, null)),
      );
    }
    const createMs = Date.now() - createdAt;
    process.stdout.write(`created ${JOBS} jobs in ${fmt.int(createMs)} ms, all due at ${due.toISOString()} (cron "${schedule}")\n`);
    if (Date.now() > due.getTime() - 1000) throw new Error(`job creation took too long for the lead time; raise BENCH_LEAD_S (now ${LEAD_S})`);

    // 4. Wait for the fires (or give up 60 s after the due second).
    const prisma = api.deps.prisma;
    const deadline = due.getTime() + 60_000;
    for (;;) {
      const n = await prisma.jobRun.count({ where: { taskType: 'bench_noop', status: { not: 'running' } } });
      if (n >= JOBS || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 2000)); // late duplicates, if any, would show up here

    // 5. Figures.
    const runs = await prisma.jobRun.findMany({
      where: { taskType: 'bench_noop' },
      select: { jobId: true, status: true, scheduledFor: true, startedAt: true, finishedAt: true, node: true },
    });
    const executed = runs.filter((r) => r.status !== 'skipped');
    const jobsStarted = new Set(executed.map((r) => r.jobId)).size;
    const duplicates = executed.length - jobsStarted;
    const skipped = runs.length - executed.length;
    const failed = executed.filter((r) => r.status !== 'success').length;
    const lateness = executed.map((r) => r.startedAt.getTime() - r.scheduledFor!.getTime()).sort((a, b) => a - b);
    const lastStart = Math.max(...executed.map((r) => r.startedAt.getTime()));
    const allStartedMs = jobsStarted === JOBS ? lastStart - due.getTime() : Infinity;
    const lastFinish = Math.max(...executed.map((r) => r.finishedAt?.getTime() ?? 0));
    const perNode = new Map<string, number>();
    for (const r of executed) perNode.set(r.node ?? '?', (perNode.get(r.node ?? '?') ?? 0) + 1);

    process.stdout.write('\n');
    printTable(
      ['figure', 'value'],
      [
        ['jobs', fmt.int(JOBS)],
        ['jobs started', fmt.int(jobsStarted)],
        ['time until all started (from the due second)', Number.isFinite(allStartedMs) ? `${fmt.int(allStartedMs)} ms` : 'not all started'],
        ['time until all finished', `${fmt.int(lastFinish - due.getTime())} ms`],
        ['duplicate runs', fmt.int(duplicates)],
        ['skipped / failed runs', `${skipped} / ${failed}`],
        ['lateness p50', `${fmt.int(percentile(lateness, 50))} ms`],
        ['lateness p99', `${fmt.int(percentile(lateness, 99))} ms`],
        ['lateness max', `${fmt.int(lateness[lateness.length - 1] ?? NaN)} ms`],
        ...[...perNode.entries()].map(([node, n]) => [`runs on ${node}`, fmt.int(n)]),
      ],
      ['left', 'right'],
    );
    // Starts per 250 ms after the due second, per gateway: shows how the burst drained.
    const buckets = new Map<number, Map<string, number>>();
    for (const r of executed) {
      const b = Math.floor((r.startedAt.getTime() - due.getTime()) / 250);
      const m = buckets.get(b) ?? new Map<string, number>();
      m.set(r.node ?? '?', (m.get(r.node ?? '?') ?? 0) + 1);
      buckets.set(b, m);
    }
    const nodes = [...perNode.keys()];
    process.stdout.write('\nstarts per 250 ms after the due second:\n');
    printTable(
      ['from ms', ...nodes.map((n, i) => `gateway ${i + 1}`)],
      [...buckets.keys()].sort((a, b) => a - b).map((b) => [String(b * 250), ...nodes.map((n) => String(buckets.get(b)!.get(n) ?? 0))]),
      ['right', ...nodes.map(() => 'right' as const)],
    );
    const verdicts = [
      { name: `all ${JOBS} started within ${TARGET_ALL_STARTED_MS / 1000} s`, pass: allStartedMs <= TARGET_ALL_STARTED_MS, value: Number.isFinite(allStartedMs) ? `${fmt.int(allStartedMs)} ms` : `${jobsStarted} started` },
      { name: `p99 lateness < ${TARGET_P99_LATENESS_MS / 1000} s`, pass: percentile(lateness, 99) < TARGET_P99_LATENESS_MS, value: `${fmt.int(percentile(lateness, 99))} ms` },
      { name: '0 duplicates', pass: duplicates === 0, value: String(duplicates) },
    ];
    process.stdout.write('\n');
    for (const v of verdicts) process.stdout.write(`${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${v.value}\n`);
    const summary = {
      bench: 'scheduler',
      jobs: JOBS,
      workers: WORKERS,
      task_ms: TASK_MS,
      create_ms: createMs,
      jobs_started: jobsStarted,
      all_started_ms: Number.isFinite(allStartedMs) ? allStartedMs : null,
      duplicates,
      skipped,
      failed,
      lateness_p50_ms: percentile(lateness, 50),
      lateness_p99_ms: percentile(lateness, 99),
      lateness_max_ms: lateness[lateness.length - 1] ?? null,
      per_node: Object.fromEntries(perNode),
      pass: verdicts.every((v) => v.pass),
    };
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(summary)}\n`);
    return summary.pass ? 0 : 1;
  } finally {
    await cleanup.run();
  }
}

if (process.argv.includes('--worker')) {
  worker().catch((err) => {
    process.stderr.write(`bench worker failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
} else {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bench/scheduler failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
