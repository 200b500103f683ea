/**
 * A managed instance dying in the middle of its sync: the instance is reached through a TCP proxy
 * that cuts every connection (and refuses new ones) the moment the adapter sends its second catalog
 * query. That instance's record fails with a connection-lost error, the other instance of the session
 * is synced, the session completes, and nothing of the half-read catalog is written: the failed
 * instance's stored accounts and change history stay exactly as the previous sync left them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { createManagedPostgres, pgAdmin, registerInstance } from '../helpers/managed.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

let t: TestApp;
let token: string;
let managed: Awaited<ReturnType<typeof createManagedPostgres>>;
let proxy: TcpProxy;
let steady: number;
let dying: number;

beforeAll(async () => {
  t = await startTestApp({ SYNC_CONCURRENCY: '2' });
  token = (await login(t.url)).access_token;
  managed = await createManagedPostgres(3);
  registerSecret(managed.password);
  const port = Number(new URL(PG_ADMIN_URL).port || 5432);
  proxy = await startTcpProxy({ targetPort: port });
  const creds = { dbType: 'postgresql', database: managed.database, username: managed.username, password: managed.password };
  steady = await registerInstance(t, { name: `${managed.prefix}steady`, port, ...creds });
  dying = await registerInstance(t, { name: `${managed.prefix}dying`, port: proxy.port, ...creds });
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await managed?.drop();
});

async function syncBoth() {
  const res = await call(t.url, 'POST', '/api/sync-all?wait=true', { token, json: { instance_ids: [steady, dying] } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** What the gateway stores about an instance's accounts and their history (raw rows, compared whole). */
async function storedState(instanceId: number) {
  const prisma = t.app.deps.prisma;
  const [accounts, changes, instance] = await Promise.all([
    prisma.currentAccount.findMany({ where: { instanceId }, orderBy: { id: 'asc' } }),
    prisma.accountChangeLog.findMany({ where: { instanceId }, orderBy: { id: 'asc' } }),
    prisma.instance.findUniqueOrThrow({ where: { id: instanceId }, select: { lastSyncAt: true, syncCount: true } }),
  ]);
  return { accounts, changes, instance };
}

/**
 * How the two roles changed on the server look in an instance's stored accounts (the server is shared
 * with other test files, whose roles come and go: counts would not be stable, these two are).
 */
async function changed(instanceId: number) {
  const state = async (name: string) => {
    const row = await t.app.deps.prisma.currentAccount.findFirst({ where: { instanceId, username: `${managed.prefix}${name}` } });
    return !row ? 'absent' : row.isDeleted ? 'deleted' : 'present';
  };
  return { newcomer: await state('newcomer'), role0: await state('role0') };
}

describe('a managed instance dying mid-sync', () => {
  it('fails that record with a connection-lost error, completes the session, and writes nothing half-read', { timeout: 90_000 }, async () => {
    const first = await syncBoth();
    expect(first).toMatchObject({ status: 'completed', successful_instances: 2 });
    const before = await storedState(dying);
    expect(before.accounts.length).toBeGreaterThanOrEqual(4);

    // The server changes; the next sync would record a delete and an add for both instances.
    await pgAdmin(async (c) => {
      await c.query(`DROP ROLE ${managed.prefix}role0`);
      await c.query(`CREATE ROLE ${managed.prefix}newcomer LOGIN`);
    });
    // Dies right after the first catalog query (roles were read, memberships never arrive).
    let cuts = 0;
    proxy.cutWhen = (chunk, direction) => direction === 'up' && chunk.includes('pg_auth_members') && ++cuts > 0;

    const session = await syncBoth();
    expect(cuts).toBe(1);
    expect(session).toMatchObject({ status: 'failed', total_instances: 2, successful_instances: 1, failed_instances: 1, progress_percentage: 100 });
    expect(session.completed_at).not.toBeNull();
    const byInstance = new Map<number, any>(session.instance_records.map((r: any) => [r.instance_id, r]));
    expect(byInstance.get(steady)).toMatchObject({ status: 'completed' });
    expect(await changed(steady)).toEqual({ newcomer: 'present', role0: 'deleted' });
    expect(byInstance.get(dying)).toMatchObject({ status: 'failed' });
    expect(byInstance.get(dying).error_message).toMatch(/^数据库连接问题: 连接中断 \(127\.0\.0\.1:\d+\)/);
    expect(byInstance.get(dying).completed_at).not.toBeNull();

    // Nothing of the half-read catalog reached the failed instance's accounts or history.
    const after = await storedState(dying);
    expect(await changed(dying)).toEqual({ newcomer: 'absent', role0: 'present' });
    expect(after.accounts).toEqual(before.accounts);
    expect(after.changes).toEqual(before.changes);
    expect(after.instance).toEqual(before.instance);
    const inst = await call(t.url, 'GET', `/api/instances/${dying}`, { token });
    expect(inst.body.data.connection_status).toBe('unreachable');

    // The instance comes back: the next session syncs it, changes included.
    proxy.cutWhen = undefined;
    await proxy.resume();
    const again = await syncBoth();
    expect(again).toMatchObject({ status: 'completed', successful_instances: 2 });
    const healed = new Map<number, any>(again.instance_records.map((r: any) => [r.instance_id, r]));
    expect(healed.get(dying)).toMatchObject({ status: 'completed' });
    expect(await changed(dying)).toEqual({ newcomer: 'present', role0: 'deleted' });
  });
});
