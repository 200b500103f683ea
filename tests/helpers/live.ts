/** graphql-ws subscribers for tests: the live log stream and sync session progress, recorded. */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Watcher<T> {
  events: T[];
  errors: unknown[];
  /** Resolves when the server acknowledged the connection (the subscription is being set up). */
  connected: Promise<void>;
  /** Resolves with the WebSocket close event once the socket closes (for whatever reason). */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves when the subscription completes or fails. */
  done: Promise<void>;
  dispose(): Promise<void>;
}

export function watch<T>(url: string, token: string, query: string, variables: Record<string, unknown>, field: string): Watcher<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  let onConnected!: () => void;
  let onClosed!: (e: { code: number; reason: string }) => void;
  const connected = new Promise<void>((r) => (onConnected = r));
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  const client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {}, // reported through `closed`
    on: {
      connected: () => onConnected(),
      closed: (e) => {
        const ev = e as { code?: number; reason?: string };
        onClosed({ code: ev.code ?? 0, reason: String(ev.reason ?? '') });
      },
    },
  });
  const done = new Promise<void>((resolve) => {
    client.subscribe<Record<string, T>>(
      { query, variables },
      {
        next: (v) => (v.errors ? errors.push(v.errors) : events.push(v.data![field]!)),
        error: (e) => {
          errors.push(e);
          resolve();
        },
        complete: resolve,
      },
    );
  });
  return { events, errors, connected, closed, done, dispose: () => Promise.resolve(client.dispose()) };
}

export interface LogStreamEvent {
  dropped: number;
  replayed: boolean;
  entry: { id: number; level: string; module: string; message: string };
}

const LOG_STREAM = `subscription S($module: String) { logStream(module: $module) { dropped replayed entry { id level module message } } }`;

export function watchLogs(url: string, token: string, module: string): Watcher<LogStreamEvent> & { messages(): string[] } {
  const w = watch<LogStreamEvent>(url, token, LOG_STREAM, { module }, 'logStream');
  return Object.assign(w, { messages: () => w.events.map((e) => e.entry.message) });
}
