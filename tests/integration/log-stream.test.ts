/**
 * The live log stream (logStream) over graphql-ws: filters, replay after a reconnect, the bounded
 * per-client buffer and its drop notice, and delivery of entries written by another gateway process
 * through Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApp, ADMIN_PASSWORD, type TestApp } from '../helpers/test-app.js';
import { login } from '../helpers/http.js';
import { REDIS_URL } from '../helpers/env.js';
import type { LogStreamSubscription } from '../generated/operations.js';

const WAIT = { timeout: 10_000, interval: 50 };
type StreamEvent = LogStreamSubscription['logStream'];

const STREAM = `subscription LogStream($level: LogLevel, $minLevel: LogLevel, $module: String, $search: String, $afterId: Int) {
  logStream(level: $level, minLevel: $minLevel, module: $module, search: $search, afterId: $afterId) {
    dropped replayed entry { id level module message requestId }
  }
}`;

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp({ LOG_STREAM_BUFFER: '20', LOG_STREAM_REPLAY_LIMIT: '3' });
  admin = (await login(t.url)).access_token;
});
afterAll(async () => {
  await t?.close();
});
// Each test starts with no live subscriber left over from the one before.
afterEach(async () => {
  await subscribers(0);
});

/** A subscriber that records every event; `raw` is its socket, so a test can stop reading from it. */
function subscribe(url: string, token: string, variables: Record<string, unknown>) {
  const events: StreamEvent[] = [];
  const errors: unknown[] = [];
  let raw: WebSocket | undefined;
  class RecordingSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      raw = this as WebSocket;
    }
  }
  const client: Client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: RecordingSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const done = new Promise<void>((resolve) => {
    client.subscribe<LogStreamSubscription>(
      { query: STREAM, variables },
      { next: (v) => (v.errors ? errors.push(v.errors) : events.push(v.data!.logStream)), error: (e) => (errors.push(e), resolve()), complete: resolve },
    );
  });
  return {
    events,
    errors,
    done,
    socket: () => raw!,
    messages: () => events.map((e) => e.entry.message),
    close: () => client.dispose(),
  };
}

async function write(entries: Array<[level: 'info' | 'warn' | 'error', module: string, message: string]>) {
  for (const [level, module, message] of entries) t.app.deps.logger[level]({ module }, message);
  await t.app.deps.logSink.flush();
}

/** Waits until the broadcaster has `n` live subscribers (the server registered them). */
async function subscribers(n: number) {
  await vi.waitFor(() => expect(t.app.deps.logStream.size).toBe(n), WAIT);
}

describe('logStream', () => {
  it('delivers only entries matching level, module and keyword, with the search semantics', async () => {
    const sub = subscribe(t.url, admin, { level: 'WARNING', module: 'FX_STREAM', search: 'needle' });
    try {
      await subscribers(1);
      await write([
        ['warn', 'fx_stream', 'a NEEDLE one'],
        ['info', 'fx_stream', 'needle at info'],
        ['warn', 'other', 'needle elsewhere'],
        ['warn', 'fx_stream', 'only hay'],
        ['error', 'fx_stream', 'needle at error'],
        ['warn', 'fx_stream_sub', 'needle last'],
      ]);
      await vi.waitFor(() => expect(sub.messages()).toContain('needle last'), WAIT);
      expect(sub.messages()).toEqual(['a NEEDLE one', 'needle last']);
      expect(sub.events.every((e) => !e.replayed && e.dropped === 0)).toBe(true);
    } finally {
      await sub.close();
    }
  });

  it('minLevel delivers that level and above', async () => {
    const sub = subscribe(t.url, admin, { minLevel: 'WARNING', module: 'fx_min' });
    try {
      await subscribers(1);
      await write([
        ['info', 'fx_min', 'info'],
        ['warn', 'fx_min', 'warning'],
        ['error', 'fx_min', 'error'],
      ]);
      await vi.waitFor(() => expect(sub.messages()).toEqual(['warning', 'error']), WAIT);
    } finally {
      await sub.close();
    }
  });

  it('a reconnecting client with its last id gets what it missed from the database, then live entries', async () => {
    const first = subscribe(t.url, admin, { module: 'fx_replay' });
    await subscribers(1);
    await write([['info', 'fx_replay', 'seen']]);
    await vi.waitFor(() => expect(first.messages()).toEqual(['seen']), WAIT);
    const lastId = first.events[0]!.entry.id;
    await first.close();
    await subscribers(0);

    await write([
      ['info', 'fx_replay', 'missed 1'],
      ['info', 'other', 'not mine'],
      ['info', 'fx_replay', 'missed 2'],
    ]);
    const again = subscribe(t.url, admin, { module: 'fx_replay', afterId: lastId });
    try {
      await vi.waitFor(() => expect(again.messages()).toEqual(['missed 1', 'missed 2']), WAIT);
      expect(again.events.map((e) => e.replayed)).toEqual([true, true]);
      await subscribers(1);
      await write([['info', 'fx_replay', 'live']]);
      await vi.waitFor(() => expect(again.messages()).toEqual(['missed 1', 'missed 2', 'live']), WAIT);
      expect(again.events[2]).toMatchObject({ replayed: false, dropped: 0 });
      const ids = again.events.map((e) => e.entry.id);
      expect(new Set(ids).size).toBe(3);
    } finally {
      await again.close();
    }
  });

  it('replays at most LOG_STREAM_REPLAY_LIMIT entries and reports the rest as dropped', async () => {
    await write([['info', 'fx_cap', 'before']]);
    const [{ id: before }] = (await t.app.deps.prisma.unifiedLog.findMany({ where: { module: 'fx_cap' }, select: { id: true } })) as [{ id: number }];
    await write(Array.from({ length: 7 }, (_, i) => ['info', 'fx_cap', `missed ${i}`] as ['info', string, string]));
    const sub = subscribe(t.url, admin, { module: 'fx_cap', afterId: before });
    try {
      await vi.waitFor(() => expect(sub.events.length).toBe(3), WAIT);
      await subscribers(1);
      await write([['info', 'fx_cap', 'live']]);
      await vi.waitFor(() => expect(sub.messages()).toEqual(['missed 0', 'missed 1', 'missed 2', 'live']), WAIT);
      expect(sub.events[3]).toMatchObject({ replayed: false, dropped: 4 });
    } finally {
      await sub.close();
    }
  });

  it('a client that stops reading loses the oldest entries, is told how many, and never holds up the others', async () => {
    const fast = subscribe(t.url, admin, { module: 'fx_slow' });
    const slow = subscribe(t.url, admin, { module: 'fx_slow' });
    try {
      await subscribers(2);
      await write([['info', 'fx_slow', 'warm-up']]);
      await vi.waitFor(() => expect(slow.messages()).toEqual(['warm-up']), WAIT);
      slow.socket().pause(); // the client stops reading: the server's socket buffers fill, then its queue

      // Big entries fill the kernel's socket buffers quickly (~9 KB each, 3,000 of them: ~27 MB).
      const body = 'x'.repeat(9000);
      const total = 3000;
      for (let i = 0; i < total; i += 100) {
        await write(Array.from({ length: 100 }, (_, j) => ['info', 'fx_slow', `${i + j} ${body}`] as ['info', string, string]));
      }
      await vi.waitFor(() => expect(fast.events.length).toBe(total + 1), { timeout: 60_000, interval: 100 });
      expect(fast.events.every((e) => e.dropped === 0)).toBe(true);

      slow.socket().resume();
      await vi.waitFor(() => expect(slow.messages().at(-1)).toMatch(/^2999 /), { timeout: 60_000, interval: 100 });
      const dropped = slow.events.reduce((n, e) => n + e.dropped, 0);
      expect(dropped).toBeGreaterThan(0);
      // Every entry is accounted for: received, or counted as dropped on the entry after the gap.
      expect(slow.events.length - 1 + dropped).toBe(total);
      const seq = slow.events.slice(1).map((e) => Number(e.entry.message.split(' ')[0]));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    } finally {
      await fast.close();
      await slow.close();
    }
  }, 120_000);

  it('refuses anonymous connections and roles without view', async () => {
    const anon = createClient({ url: t.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    const code = await new Promise<number>((resolve) => {
      anon.on('closed', (e) => resolve((e as { code: number }).code));
      anon.subscribe({ query: STREAM }, { next: () => {}, error: () => {}, complete: () => {} });
    });
    await anon.dispose();
    expect(code).toBe(4403);
  });

  it('rejects bad arguments before streaming', async () => {
    const sub = subscribe(t.url, admin, { afterId: -1 });
    await sub.done;
    expect(JSON.stringify(sub.errors)).toMatch(/afterId|VALIDATION|BAD_USER_INPUT/);
    await sub.close();
  });
});

describe('logStream across gateway processes (Redis)', () => {
  let other: ChildProcess | undefined;
  afterAll(() => {
    other?.kill('SIGTERM');
  });

  it('delivers an entry written by another gateway process', async () => {
    const sub = subscribe(t.url, admin, { module: 'auth', search: '登录成功' });
    await subscribers(1);
    const root = process.cwd();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    other = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: t.databaseUrl,
        REDIS_URL,
        REDIS_KEY_PREFIX: t.redisPrefix,
        JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
        CREDENTIAL_ENCRYPTION_KEY: '5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee0001',
        WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
        SCHEDULER_ENABLED: 'false',
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      },
      stdio: 'ignore',
    });
    try {
      const otherUrl = `http://127.0.0.1:${port}`;
      await vi.waitFor(async () => expect((await fetch(`${otherUrl}/health`)).status).toBe(200), { timeout: 60_000, interval: 100 });
      // This process logs no login while subscribed: whatever arrives was written by the other one.
      expect(sub.messages()).toEqual([]);
      await login(otherUrl, 'admin', ADMIN_PASSWORD);
      await vi.waitFor(() => expect(sub.messages()).toEqual(['用户登录成功']), { timeout: 20_000, interval: 100 });
      const row = await t.app.deps.prisma.unifiedLog.findUniqueOrThrow({ where: { id: sub.events[0]!.entry.id } });
      expect(row).toMatchObject({ module: 'auth', message: '用户登录成功' });
    } finally {
      await sub.close();
      other.kill('SIGTERM');
    }
  }, 90_000);
});
