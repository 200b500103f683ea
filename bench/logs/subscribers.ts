/**
 * The subscriber side of bench/logs' fan-out, in its own process so receiving never competes with
 * the server for its event loop. Opens N connections (graphql-ws `logStream` or plain WebSocket),
 * prints "ready" once all are open, records when each entry arrives on each connection, and prints
 * one JSON line: received count and latency percentiles (ms from the entry's createdAt, when it was
 * stored and published; loggedP99 from its timestamp, when the logger was called).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const opts = JSON.parse(process.argv[2]!) as { mode: 'graphql' | 'bare'; url: string; token?: string; subscribers: number; entries: number };
const expected = opts.subscribers * opts.entries;
const latencies: number[] = [];
const sinceLogged: number[] = [];
let received = 0;
let lastArrival = Date.now();

function record(createdAt: string, timestamp: string): void {
  const now = Date.now();
  latencies.push(now - Date.parse(createdAt));
  sinceLogged.push(now - Date.parse(timestamp));
  received++;
  lastArrival = now;
}

const closers: Array<() => unknown> = [];
const opened: Array<Promise<void>> = [];
for (let i = 0; i < opts.subscribers; i++) {
  if (opts.mode === 'graphql') {
    const client = createClient({ url: opts.url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${opts.token}` }, retryAttempts: 0, lazy: false });
    opened.push(new Promise((resolve, reject) => {
      client.on('connected', () => resolve());
      client.on('closed', (e) => reject(new Error(`closed: ${(e as { code?: number }).code}`)));
    }));
    client.subscribe<{ logStream: { entry: { createdAt: string; timestamp: string } } }>(
      { query: 'subscription { logStream(module: "bench_fanout") { dropped entry { id timestamp createdAt message } } }' },
      { next: (v) => v.data && record(v.data.logStream.entry.createdAt, v.data.logStream.entry.timestamp), error: (e) => process.stderr.write(`subscription error: ${JSON.stringify(e)}\n`), complete: () => {} },
    );
    closers.push(() => client.dispose());
  } else {
    const ws = new WebSocket(opts.url);
    opened.push(new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }));
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as { createdAt: string; timestamp: string };
      record(e.createdAt, e.timestamp);
    });
    closers.push(() => ws.close());
  }
}
await Promise.all(opened);
process.stdout.write('ready\n');
const readyAt = Date.now();
const cpuStart = process.cpuUsage();

// Done when everything arrived, or nothing arrived for 10 s after the first entry, or after 2 minutes
// (what is missing then is lost).
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    if (received >= expected || (received > 0 && Date.now() - lastArrival > 10_000) || Date.now() - readyAt > 120_000) {
      clearInterval(timer);
      resolve();
    }
  }, 50);
});
for (const close of closers) close();
latencies.sort((a, b) => a - b);
sinceLogged.sort((a, b) => a - b);
const pct = (p: number, sample = latencies) => sample[Math.min(sample.length - 1, Math.ceil((p / 100) * sample.length) - 1)] ?? NaN;
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(JSON.stringify({ received, expected, p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? NaN, loggedP99: pct(99, sinceLogged), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }) + '\n');
process.exit(0);
