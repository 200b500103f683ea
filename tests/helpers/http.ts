/** Tiny HTTP and GraphQL clients over real fetch. */
import { ADMIN_PASSWORD } from './test-app.js';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Every response body a test file received, scanned for secrets after the file (secret-scan.ts). */
export const responseBodies: string[] = [];
/** Secrets a test file created (managed-instance passwords…); no response may ever contain one. */
export const knownSecrets = new Set<string>();
export function registerSecret(s: string): string {
  knownSecrets.add(s);
  return s;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.raw !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = opts.raw;
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  responseBodies.push(text);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** POST /graphql. `TData` is one of the generated operation result types (tests/generated). */
export async function gql<TData = any>(base: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await call<{ data: TData; errors: any }>(base, 'POST', '/graphql', {
    token,
    json: { query, variables },
  });
  return res;
}

export async function login(base: string, username = 'admin', password = ADMIN_PASSWORD) {
  const res = await call(base, 'POST', '/auth/login', { json: { username, password } });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { access_token: string; refresh_token: string; user: { id: number } };
}

/** Creates a user through the REST API as `adminToken` and returns a token for it. */
export async function userWithRole(base: string, adminToken: string, role: 'admin' | 'user' | 'viewer', username?: string) {
  const name = username ?? `${role}_${Math.random().toString(36).slice(2, 8)}`;
  const password = 'Passw0rdX';
  const res = await call(base, 'POST', '/api/users', { token: adminToken, json: { username: name, password, role } });
  if (res.status !== 201) throw new Error(`create ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const tokens = await login(base, name, password);
  return { id: res.body.data.id as number, username: name, password, token: tokens.access_token, refresh: tokens.refresh_token };
}

/** Polls until `fn` returns a truthy value (the unified log is written in the background). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
