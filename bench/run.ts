/**
 * Runs the benchmarks of bench/<name>/index.ts one after another, each in its own process
 * (`npx tsx bench/<name>/index.ts`, output straight to the terminal). `npm run bench -- http` runs
 * only the named ones. Exits non-zero when any benchmark fails (including a missed target).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);

const available = readdirSync(benchDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'lib' && existsSync(path.join(benchDir, d.name, 'index.ts')))
  .map((d) => d.name)
  .sort();

const requested = process.argv.slice(2).filter((a) => a !== '--');
const unknown = requested.filter((n) => !available.includes(n));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (available: ${available.join(', ') || 'none'})\n`);
  process.exit(2);
}
const selected = requested.length ? requested : available;

function runOne(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', path.join('bench', name, 'index.ts')], { cwd: root, stdio: 'inherit' });
    child.once('error', (err) => {
      process.stderr.write(`bench ${name}: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
  });
}

// Children receive Ctrl-C themselves (same process group) and clean up: wait for the current one,
// then stop instead of starting the next.
let interrupted = false;
process.on('SIGINT', () => (interrupted = true));
process.on('SIGTERM', () => (interrupted = true));

const failed: string[] = [];
for (const name of selected) {
  if (interrupted) {
    failed.push(`${name} (not run: interrupted)`);
    continue;
  }
  process.stdout.write(`\n=== bench/${name} ===\n`);
  const code = await runOne(name);
  if (code !== 0) failed.push(`${name} (exit ${code})`);
}
if (failed.length) {
  process.stderr.write(`\nfailed: ${failed.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(`\nall ${selected.length} benchmark(s) passed\n`);
