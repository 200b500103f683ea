/**
 * Managed-instance fixtures: uniquely prefixed PostgreSQL roles and MariaDB users (server-wide, so
 * always dropped afterwards), instances and credentials registered in a test gateway, and local TCP
 * endpoints that refuse or never answer (127.0.0.1 only).
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { TestApp } from './test-app.js';
import { PG_ADMIN_URL } from './env.js';

export const prefix = () => `wf${randomBytes(3).toString('hex')}_`;

export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>, url = PG_ADMIN_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function mariaRoot<T>(fn: (c: mysql.Connection) => Promise<T>, opts: { multipleStatements?: boolean } = {}): Promise<T> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '', multipleStatements: opts.multipleStatements ?? false });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Registers a credential and an instance directly (the inventory API is another module). */
export async function registerInstance(
  t: TestApp,
  opts: { name: string; dbType: string; host?: string; port: number; database?: string | null; username: string; password: string; connectTimeoutMs?: number },
): Promise<number> {
  const prisma = t.app.deps.prisma;
  const sealed = t.app.deps.credentialKey.encrypt(opts.password);
  const cred = await prisma.credential.create({
    data: { name: `${opts.name}-cred`, credentialType: 'database', dbType: opts.dbType, username: opts.username, passwordCipher: sealed.cipher, passwordKeyId: sealed.keyId },
  });
  const inst = await prisma.instance.create({
    data: {
      name: opts.name,
      dbType: opts.dbType,
      host: opts.host ?? '127.0.0.1',
      port: opts.port,
      databaseName: opts.database ?? null,
      credentialId: cred.id,
      connectionOptions: opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {},
    },
  });
  return inst.id;
}

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A listener on 127.0.0.1 that accepts connections and never says a word. */
export async function silentListener(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const so of sockets) so.destroy();
        s.close(() => r());
      }),
  };
}

/** The placeholders every script of docs/collector/ uses for the account name and its password. */
const SCRIPT_ACCOUNT = 'whalefall_monitor';
const SCRIPT_PASSWORD = 'CHANGE_ME_Strong_Passw0rd';

/**
 * The documented least-privilege script of an engine (docs/collector/<engine>.sql), exactly as
 * shipped except for its two placeholders, replaced as the script's usage notes tell a DBA to.
 */
export function collectorScript(engine: 'postgresql' | 'mysql' | 'sqlserver' | 'oracle', account: string, password: string): string {
  const text = readFileSync(new URL(`../../docs/collector/${engine}.sql`, import.meta.url), 'utf8');
  // A renamed placeholder must fail the test, not silently create the default account.
  if (!text.includes(SCRIPT_ACCOUNT) || !text.includes(SCRIPT_PASSWORD)) throw new Error(`docs/collector/${engine}.sql lost its placeholders`);
  return text.replaceAll(SCRIPT_ACCOUNT, account).replaceAll(SCRIPT_PASSWORD, password);
}
