import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import pg from 'pg';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { closedPort, mariaRoot, pgAdmin, prefix, registerInstance, silentListener } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';
import { randomUUID } from 'node:crypto';
import { afterRecordChange, settleSession } from '../../src/services/sync/sync-service.js';

let t: TestApp;
let admin: string;
const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Sync-Secret-9');
const MY_PASSWORD = registerSecret('My-Sync-Secret-9');
let managedDb: { url: string; drop: () => Promise<void> };
let pgInstance: number;
let myInstance: number;

beforeAll(async () => {
  t = await startTestApp({ SYNC_CONCURRENCY: '2' });
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  const dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}readers NOLOGIN`);
    await c.query(`CREATE ROLE ${P}app LOGIN CREATEDB CONNECTION LIMIT 5 PASSWORD 'x' IN ROLE ${P}readers`);
    await c.query(`CREATE ROLE ${P}gone LOGIN`);
  });
  await pgAdmin(async (c) => {
    await c.query('CREATE TABLE orders (id int)');
    await c.query(`GRANT SELECT, INSERT ON orders TO ${P}app`);
    await c.query(`GRANT CONNECT ON DATABASE "${dbName}" TO ${P}app`);
  }, managedDb.url);
  await mariaRoot(async (c) => {
    await c.query(`CREATE DATABASE ${P}shop`);
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${MY_PASSWORD}'`);
    await c.query(`GRANT SELECT ON mysql.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`CREATE USER '${P}dba'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO '${P}dba'@'%' WITH GRANT OPTION`);
    await c.query(`CREATE USER '${P}web'@'10.%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT, INSERT, CREATE ROUTINE ON \`${P}shop\`.* TO '${P}web'@'10.%'`);
    await c.query(`CREATE USER '${P}locked'@'%' IDENTIFIED BY 'x' ACCOUNT LOCK`);
  });
  pgInstance = await registerInstance(t, { name: `${P}pg`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
  myInstance = await registerInstance(t, { name: `${P}my`, dbType: 'mysql', port: 3306, username: `${P}collector`, password: MY_PASSWORD });
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname DESC`, [`${P}%`]);
    await managedDb?.drop();
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
  await mariaRoot(async (c) => {
    const [rows] = await c.query<any[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE ?`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP USER ?@?`, [r.User, r.Host]);
    await c.query(`DROP DATABASE IF EXISTS ${P}shop`);
  }).catch(() => {});
});

async function syncAndWait(instanceId: number) {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

async function accountsOf(instanceId: number, extra = '') {
  const res = await call(t.url, 'GET', `/api/accounts?instance_id=${instanceId}&search=${P}&per_page=100${extra}`, { token: admin });
  expect(res.status).toBe(200);
  return new Map<string, any>(res.body.data.map((a: any) => [a.username, a]));
}

async function changeCount(instanceId: number) {
  return t.app.deps.prisma.accountChangeLog.count({ where: { instanceId } });
}

describe('PostgreSQL sync', () => {
  it('stores roles with attributes, memberships and privileges in the unified model', async () => {
    const session = await syncAndWait(pgInstance);
    expect(session).toMatchObject({ status: 'completed', sync_type: 'manual_single', total_instances: 1, successful_instances: 1 });
    expect(session.instance_records[0]).toMatchObject({ status: 'completed' });
    expect(session.instance_records[0].accounts_created).toBeGreaterThanOrEqual(4);
    const acc = await accountsOf(pgInstance);
    const app = acc.get(`${P}app`);
    expect(app).toMatchObject({ is_superuser: false, is_active: true, is_locked: false, db_type: 'postgresql', last_change_type: 'add' });
    expect(app.permissions.predefined_roles).toEqual([`${P}readers`]);
    expect(app.permissions.role_attributes).toMatchObject({ can_create_db: true, can_login: true, connection_limit: 5, can_super: false });
    const dbName = new URL(managedDb.url).pathname.slice(1);
    expect(app.permissions.database_privileges[dbName]).toEqual(expect.arrayContaining(['CONNECT', 'INSERT', 'SELECT']));
    expect(acc.get(`${P}collector`).is_superuser).toBe(true);
    expect(acc.get(`${P}readers`)).toMatchObject({ is_active: false, is_locked: true });
    const inst = await t.app.deps.prisma.instance.findUniqueOrThrow({ where: { id: pgInstance } });
    expect(inst.mainVersion).toMatch(/^\d+\.\d+$/);
    expect(inst.connectionStatus).toBe('reachable');
    expect(inst.lastSyncAt).not.toBeNull();
  });

  it('writes nothing on a re-sync without changes', async () => {
    const before = await changeCount(pgInstance);
    const rowsBefore = await t.app.deps.prisma.currentAccount.findMany({ where: { instanceId: pgInstance }, orderBy: { id: 'asc' } });
    const session = await syncAndWait(pgInstance);
    expect(session.instance_records[0]).toMatchObject({ accounts_created: 0, accounts_updated: 0, accounts_deleted: 0 });
    expect(await changeCount(pgInstance)).toBe(before);
    const rowsAfter = await t.app.deps.prisma.currentAccount.findMany({ where: { instanceId: pgInstance }, orderBy: { id: 'asc' } });
    expect(rowsAfter).toEqual(rowsBefore);
  });

  it('records privilege changes, other changes, deletes and restores with structured diffs', async () => {
    await pgAdmin(async (c) => {
      await c.query(`ALTER ROLE ${P}app NOCREATEDB CREATEROLE`);
      await c.query(`REVOKE ${P}readers FROM ${P}app`);
      await c.query(`DROP ROLE ${P}gone`);
    });
    await syncAndWait(pgInstance);
    const changes = await call(t.url, 'GET', `/api/account-changes?instance_id=${pgInstance}&per_page=100`, { token: admin });
    const byUser = (u: string) => changes.body.data.filter((c: any) => c.username === u);
    const appChange = byUser(`${P}app`).find((c: any) => c.change_type === 'modify_privilege');
    expect(appChange.privilege_diff.role_attributes).toEqual({
      added: { can_create_db: false, can_create_role: true },
      removed: { can_create_db: true, can_create_role: false },
    });
    expect(appChange.privilege_diff.predefined_roles).toEqual({ added: [], removed: [`${P}readers`] });
    expect(byUser(`${P}gone`).map((c: any) => c.change_type)).toContain('delete');
    const gone = (await accountsOf(pgInstance, '&include_deleted=true')).get(`${P}gone`);
    expect(gone).toMatchObject({ is_deleted: true, last_change_type: 'delete' });
    expect(gone.deleted_time).not.toBeNull();
    expect((await accountsOf(pgInstance)).has(`${P}gone`)).toBe(false);

    await pgAdmin((c) => c.query(`CREATE ROLE ${P}gone LOGIN`));
    await syncAndWait(pgInstance);
    const back = (await accountsOf(pgInstance)).get(`${P}gone`);
    expect(back).toMatchObject({ is_deleted: false, last_change_type: 'restore', id: gone.id });
    // The account's own history, through GraphQL.
    const hist = await gql(t.url, 'query H($a: ID) { accountChanges(accountId: $a) { totalCount edges { node { changeType diff } } } }', { a: String(gone.id) }, admin);
    expect(hist.body.data.accountChanges.edges.map((e: any) => e.node.changeType)).toEqual(['restore', 'delete', 'add']);
  });
});

describe('MariaDB sync', () => {
  it('parses grants per scope, GRANT OPTION, CREATE ROUTINE, hosts and locks', async () => {
    await syncAndWait(myInstance);
    const acc = await accountsOf(myInstance);
    const dba = acc.get(`${P}dba@%`);
    expect(dba).toMatchObject({ is_superuser: true, host: '%' });
    expect(dba.permissions.global_privileges).toEqual(expect.arrayContaining(['ALL PRIVILEGES', 'GRANT OPTION']));
    const web = acc.get(`${P}web@10.%`);
    expect(web.permissions.database_privileges[`${P}shop`]).toEqual(['CREATE ROUTINE', 'INSERT', 'SELECT']);
    expect(web.permissions.global_privileges).toEqual(['USAGE']);
    expect(acc.get(`${P}locked@%`)).toMatchObject({ is_locked: true, is_active: false });
    // SHOW GRANTS prints password hashes (IDENTIFIED BY PASSWORD '*…'): they are never stored or served.
    const collector = acc.get(`${P}collector@127.0.0.1`);
    expect(JSON.stringify(collector)).toContain("IDENTIFIED BY PASSWORD '<redacted>'");
    const [[{ hash }]] = await mariaRoot((c) => c.query<any[]>(`SELECT authentication_string AS hash FROM mysql.user WHERE User = ? AND Host = '127.0.0.1'`, [`${P}collector`]));
    expect(hash).toMatch(/^\*[0-9A-F]{40}$/);
    const stored = await t.app.deps.prisma.currentAccount.findMany({ where: { instanceId: myInstance } });
    expect(JSON.stringify(stored)).not.toContain(hash);
    expect(JSON.stringify([...acc.values()])).not.toContain(hash);
    // Filters: GraphQL can ask for superusers only.
    const su = await gql(t.url, 'query S($i: ID) { accounts(instanceId: $i, isSuperuser: true, search: "' + P + '") { totalCount edges { node { username privileges instance { id } } } } }', { i: String(myInstance) }, admin);
    expect(su.body.data.accounts.edges.map((e: any) => e.node.username)).toEqual([`${P}dba@%`]);
  });

  it('reads accounts whose names hold quotes, backslashes and statement separators', async () => {
    const odd = `${P}o'b\\r; SELECT 1`;
    await mariaRoot(async (c) => {
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY 'x'`, [odd]);
      await c.query(`GRANT SELECT ON \`${P}shop\`.* TO ?@'%'`, [odd]);
    });
    await syncAndWait(myInstance);
    const acc = await accountsOf(myInstance);
    expect(acc.get(`${odd}@%`)?.permissions.database_privileges).toEqual({ [`${P}shop`]: ['SELECT'] });
    expect(acc.get(`${P}dba@%`)).toMatchObject({ is_superuser: true });
  });

  it('reports a revoke as a privilege change', async () => {
    await mariaRoot((c) => c.query(`REVOKE INSERT ON \`${P}shop\`.* FROM '${P}web'@'10.%'`));
    await syncAndWait(myInstance);
    const row = await t.app.deps.prisma.accountChangeLog.findFirst({ where: { instanceId: myInstance, username: `${P}web@10.%`, changeType: 'modify_privilege' } });
    expect(row!.privilegeDiff).toEqual({ database_privileges: { added: {}, removed: { [`${P}shop`]: ['INSERT'] } } });
    expect(row!.message).toContain('移除数据库权限: INSERT');
  });
});

describe('sync sessions', () => {
  it('runs a session over three instances where one is unreachable: the others still complete', async () => {
    const dead = await registerInstance(t, { name: `${P}dead`, dbType: 'postgresql', port: await closedPort(), username: 'x', password: 'y' });
    const res = await call(t.url, 'POST', '/account-sync/sync-all?wait=true', { token: admin, json: { instance_ids: [pgInstance, myInstance, dead] } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'failed', sync_type: 'manual_batch', total_instances: 3, successful_instances: 2, failed_instances: 1, progress_percentage: 100 });
    const errors = await call(t.url, 'GET', `/api/sessions/${res.body.data.session_id}/error-logs`, { token: admin });
    expect(errors.body.data.error_count).toBe(1);
    expect(errors.body.data.error_records[0]).toMatchObject({ instance_id: dead, status: 'failed' });
    expect(errors.body.data.error_records[0].error_message).toMatch(/连接被拒绝/);
    expect(JSON.stringify(res.body)).not.toContain(PG_PASSWORD);
    const list = await call(t.url, 'GET', '/sync_sessions/api/sessions?status=failed', { token: admin });
    expect(list.body.data.map((s: any) => s.session_id)).toContain(res.body.data.session_id);
    const stats = await call(t.url, 'GET', '/sync_sessions/api/statistics', { token: admin });
    expect(stats.body.data.failed_sessions).toBeGreaterThanOrEqual(1);
    await t.app.deps.logSink.flush();
    const log = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'account_sync', context: { path: ['session_id'], equals: res.body.data.session_id }, level: 'WARNING', message: { startsWith: '同步会话结束' } } });
    expect(log?.context).toMatchObject({ failed_instances: 1, successful_instances: 2 });
  });

  it('keeps a settled session as settled: a record\'s recount landing after the settle changes nothing', async () => {
    // Two records ending together: the one that ends last settles the session while the other's
    // progress recount (read before the last one ended) may still be on its way to the database.
    const dead = await registerInstance(t, { name: `${P}late`, dbType: 'postgresql', port: await closedPort(), username: 'x', password: 'y' });
    await t.app.deps.prisma.instance.update({ where: { id: dead }, data: { isActive: false } }); // no worker takes it
    const sessionId = randomUUID();
    const { records } = await t.app.deps.prisma.syncSession.create({
      data: {
        sessionId,
        syncType: 'manual_batch',
        totalInstances: 2,
        records: { create: [{ instanceId: dead, status: 'failed' }, { instanceId: pgInstance, status: 'completed' }] },
      },
      include: { records: true },
    });
    await settleSession(t.app.deps, sessionId);
    const settled = await t.app.deps.prisma.syncSession.findUniqueOrThrow({ where: { sessionId } });
    expect(settled).toMatchObject({ status: 'failed', successfulInstances: 1, failedInstances: 1 });
    expect(settled.settledAt).not.toBeNull();
    await afterRecordChange(t.app.deps, sessionId, records[0]!.id);
    expect(await t.app.deps.prisma.syncSession.findUniqueOrThrow({ where: { sessionId } })).toEqual(settled);
  });

  it('cancels a session: instances not yet started are skipped and the status stays cancelled', async () => {
    const hang = await silentListener();
    try {
      const slow = await registerInstance(t, { name: `${P}slow`, dbType: 'postgresql', port: hang.port, username: 'x', password: 'y', connectTimeoutMs: 1500 });
      const slow2 = await registerInstance(t, { name: `${P}slow2`, dbType: 'postgresql', port: hang.port, username: 'x', password: 'y', connectTimeoutMs: 1500 });
      const started = await call(t.url, 'POST', '/api/sync-all', { token: admin, json: { instance_ids: [slow, slow2, pgInstance, myInstance] } });
      expect(started.status).toBe(202);
      const id = started.body.data.session_id;
      const cancel = await call(t.url, 'POST', `/api/sessions/${id}/cancel`, { token: admin });
      expect(cancel.status).toBe(200);
      expect(cancel.body.data.status).toBe('cancelled');
      const again = await call(t.url, 'POST', `/api/sessions/${id}/cancel`, { token: admin });
      expect(again.status).toBe(409);
      // Settled: the two records that had started end (they fail on the hanging server).
      const done = await vi.waitFor(
        async () => {
          const r = await call(t.url, 'GET', `/api/sessions/${id}`, { token: admin });
          expect(r.body.data.instance_records.every((x: any) => !['pending', 'running'].includes(x.status))).toBe(true);
          return r;
        },
        { timeout: 20_000, interval: 200 },
      );
      expect(done.body.data.status).toBe('cancelled');
      const statuses = done.body.data.instance_records.map((r: any) => r.status);
      expect(statuses.filter((s: string) => s === 'cancelled').length).toBe(2); // SYNC_CONCURRENCY=2: two had started
    } finally {
      await hang.close();
    }
  });

  it('streams every state transition to a graphql-ws subscriber', async () => {
    const client = createClient({ url: t.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { token: admin }, retryAttempts: 0 });
    try {
      const started = await gql(t.url, 'mutation S($i: ID!) { syncInstanceAccounts(instanceId: $i) { id status } }', { i: String(pgInstance) }, admin);
      const id = started.body.data.syncInstanceAccounts.id;
      const events: any[] = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription P($id: ID!) { syncSessionProgress(sessionId: $id) { sessionId status instanceStatus progressPercentage } }', variables: { id } },
          { next: (v) => events.push(v.data?.syncSessionProgress), error: reject, complete: resolve },
        );
      });
      expect(events[0].sessionId).toBe(id); // the current state comes first
      expect(events.at(-1)).toMatchObject({ status: 'completed', progressPercentage: 100 });
      const session = await gql(t.url, 'query Q($id: ID!) { syncSession(id: $id) { status records { status added } } }', { id }, admin);
      expect(session.body.data.syncSession.status).toBe('completed');
    } finally {
      await client.dispose();
    }
  });

  it('never lets two replicas sync the same instance at once', async () => {
    const hang = await silentListener();
    const second = await startTestApp({ DATABASE_URL: t.databaseUrl, REDIS_KEY_PREFIX: t.redisPrefix, JWT_SECRET: 'test-secret-that-is-long-enough-0123456789' }).catch(() => undefined);
    try {
      const target = await registerInstance(t, { name: `${P}locked-target`, dbType: 'postgresql', port: hang.port, username: 'x', password: 'y', connectTimeoutMs: 1500 });
      const other = second ?? t;
      const [a, b] = await Promise.all([
        call(t.url, 'POST', `/api/instances/${target}/sync?wait=true`, { token: admin }),
        call(other.url, 'POST', `/api/instances/${target}/sync?wait=true`, { token: admin }),
      ]);
      const messages = [a, b].map((r) => JSON.stringify(r.body.data?.instance_records?.[0]?.error_message ?? r.body));
      expect(messages.some((m) => /另一个同步任务/.test(m)), messages.join(' | ')).toBe(true);
      expect(messages.some((m) => /连接超时/.test(m)), messages.join(' | ')).toBe(true);
    } finally {
      await hang.close();
      await second?.close();
    }
  });

  // A second gateway starts and stops inside the test: generous time on a loaded machine.
  it('queues per-instance work that every replica takes, and finishes a session whose starting replica stopped', { timeout: 90_000 }, async () => {
    const hang = await silentListener();
    const second = await startTestApp({ DATABASE_URL: t.databaseUrl, REDIS_KEY_PREFIX: t.redisPrefix, JWT_SECRET: 'test-secret-that-is-long-enough-0123456789', SYNC_CONCURRENCY: '1' });
    let secondOpen = true;
    try {
      const slow = [];
      for (const n of [1, 2, 3]) slow.push(await registerInstance(t, { name: `${P}queued-${n}`, dbType: 'postgresql', port: hang.port, username: 'x', password: 'y', connectTimeoutMs: 1500 }));
      const started = await call(second.url, 'POST', '/api/sync-all', { token: admin, json: { instance_ids: [...slow, pgInstance] } });
      expect(started.status).toBe(202);
      const id = started.body.data.session_id;
      // The starting replica stops while its own record runs: what it has not taken stays queued.
      await vi.waitFor(async () => {
        const r = await call(t.url, 'GET', `/api/sessions/${id}`, { token: admin });
        expect(r.body.data.instance_records.some((x: any) => x.status === 'running')).toBe(true);
      }, { timeout: 10_000, interval: 50 });
      await second.close();
      secondOpen = false;
      const done = await vi.waitFor(async () => {
        const r = await call(t.url, 'GET', `/api/sessions/${id}`, { token: admin });
        expect(r.body.data.settled_at).not.toBeNull();
        return r.body.data;
      }, { timeout: 30_000, interval: 200 });
      const records = done.instance_records as any[];
      expect(records.map((r) => r.status).sort()).toEqual(['completed', 'failed', 'failed', 'failed']);
      expect(records.find((r) => r.instance_id === pgInstance).status).toBe('completed');
      expect(done.status).toBe('failed'); // some instances failed; none was lost or left running
      // Both replicas took part: the records name two different gateway processes.
      expect(new Set(records.map((r) => r.node)).size).toBe(2);
    } finally {
      await hang.close();
      if (secondOpen) await second.close();
    }
  });

  it('fails the records of a replica that stopped responding, and settles their session', async () => {
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    const id = '00000000-0000-4000-8000-00000000dead';
    try {
      // What a replica that died mid-sync leaves behind: a running record whose heartbeat stopped.
      await db.query(`INSERT INTO sync_sessions (session_id, sync_type, status, total_instances) VALUES ($1, 'manual_single', 'running', 1)`, [id]);
      await db.query(
        `INSERT INTO sync_instance_records (session_id, instance_id, instance_name, status, started_at, node, heartbeat_at)
         VALUES ($1, $2, 'dead', 'running', now() - interval '2 hours', 'dead-host:1:abcdef', now() - interval '2 hours')`,
        [id, pgInstance],
      );
      const done = await vi.waitFor(async () => {
        const r = await call(t.url, 'GET', `/api/sessions/${id}`, { token: admin });
        expect(r.body.data.settled_at).not.toBeNull();
        return r.body.data;
      }, { timeout: 15_000, interval: 200 });
      expect(done.status).toBe('failed');
      expect(done.failed_instances).toBe(1);
      expect(done.instance_records[0].status).toBe('failed');
      expect(done.instance_records[0].error_message).toMatch(/停止响应.*dead-host:1:abcdef/);
    } finally {
      await db.end();
    }
  });

  it('guards sync operations: view may read, only update may start or cancel', async () => {
    const user = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'GET', '/api/sessions', { token: user.token })).status).toBe(200);
    expect((await call(t.url, 'POST', `/api/instances/${pgInstance}/sync`, { token: user.token })).status).toBe(403);
    expect((await call(t.url, 'POST', '/account-sync/sync-all', { token: user.token, json: {} })).status).toBe(403);
    expect((await call(t.url, 'GET', '/api/sessions/not-a-uuid', { token: admin })).status).toBe(400);
    expect((await call(t.url, 'GET', '/api/sessions/00000000-0000-4000-8000-000000000000', { token: admin })).status).toBe(404);
    expect((await call(t.url, 'POST', '/api/instances/999999/sync', { token: admin })).status).toBe(404);
    expect((await call(t.url, 'POST', '/account-sync/sync-all', { token: admin, json: { db_type: 'db2' } })).status).toBe(400);
  });
});
