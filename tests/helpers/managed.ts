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

/**
 * A managed PostgreSQL to sync: a throwaway database on the shared server with a few uniquely
 * prefixed roles (one a superuser to log in with). `drop` removes the database and every role.
 */
export async function createManagedPostgres(roles = 3): Promise<{ database: string; username: string; password: string; prefix: string; drop: () => Promise<void> }> {
  const { createScratchDatabase } = await import('../../src/db/scratch-database.js');
  const p = prefix();
  const password = `Managed-${randomBytes(6).toString('hex')}`;
  const db = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${p}collector LOGIN SUPERUSER PASSWORD '${password}'`);
    for (let i = 0; i < roles; i++) await c.query(`CREATE ROLE ${p}role${i} LOGIN`);
  });
  return {
    database: new URL(db.url).pathname.slice(1),
    username: `${p}collector`,
    password,
    prefix: p,
    drop: async () => {
      await db.drop().catch(() => {});
      await pgAdmin(async (c) => {
        const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${p}%`]);
        for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
      }).catch(() => {});
    },
  };
}

/** Registers a credential and an instance through the REST API (works against any gateway process). */
export async function registerInstanceViaApi(
  url: string,
  token: string,
  opts: { name: string; dbType: string; port: number; database?: string; username: string; password: string; connectTimeoutMs?: number },
): Promise<number> {
  const { call } = await import('./http.js');
  const cred = await call(url, 'POST', '/api/credentials', {
    token,
    json: { name: `${opts.name}-cred`, credential_type: 'database', db_type: opts.dbType, username: opts.username, password: opts.password },
  });
  if (cred.status !== 201) throw new Error(`credential: ${cred.status} ${JSON.stringify(cred.body)}`);
  const inst = await call(url, 'POST', '/api/instances', {
    token,
    json: {
      name: opts.name,
      db_type: opts.dbType,
      host: '127.0.0.1',
      port: opts.port,
      database_name: opts.database ?? null,
      credential_id: cred.body.data.id,
      ...(opts.connectTimeoutMs ? { connection_options: { connectTimeoutMs: opts.connectTimeoutMs } } : {}),
    },
  });
  if (inst.status !== 201) throw new Error(`instance: ${inst.status} ${JSON.stringify(inst.body)}`);
  return inst.body.data.id as number;
}
