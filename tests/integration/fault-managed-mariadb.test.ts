/**
 * A MariaDB instance dying in the middle of its catalog read, after the sync has already begun
 * writing: the MySQL adapter hands over each batch of accounts as its grants arrive, and the writer
 * writes it while the next batches are read. The read fails; the record fails with a connection-lost
 * error and nothing of what was written meanwhile stays (one transaction, rolled back). Once the
 * instance is back, the next sync writes everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { mariaRoot, prefix, registerInstance } from '../helpers/managed.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const P = prefix();
const PASSWORD = registerSecret('My-Fault-Secret-5');
/** 50 SHOW GRANTS batches of 50 (mysql.ts), read on up to four connections: more than one chunk (2,000) of the writer. */
const USERS = 2500;
let t: TestApp;
let token: string;
let proxy: TcpProxy;
let instance: number;

beforeAll(async () => {
  t = await startTestApp({ AUTO_CLASSIFY_AFTER_SYNC: 'false' });
  token = (await login(t.url)).access_token;
  await mariaRoot(
    async (c) => {
      await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
      const creates = Array.from({ length: USERS }, (_, i) => `CREATE USER '${P}u${i}'@'%' IDENTIFIED BY 'x'; GRANT SELECT ON \`${P}db${i % 7}\`.* TO '${P}u${i}'@'%'`);
      for (let i = 0; i < creates.length; i += 500) await c.query(creates.slice(i, i + 500).join('; '));
    },
    { multipleStatements: true },
  );
  proxy = await startTcpProxy({ targetPort: 3306 });
  instance = await registerInstance(t, { name: `${P}my`, dbType: 'mysql', port: proxy.port, username: `${P}collector`, password: PASSWORD });
});

afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await mariaRoot(async (c) => {
    const [rows] = await c.query<any[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE ?`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP USER ?@?`, [r.User, r.Host]);
  }).catch(() => {});
});

async function sync() {
  const res = await call(t.url, 'POST', `/api/instances/${instance}/sync?wait=true`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

const stored = () => t.app.deps.prisma.currentAccount.count({ where: { instanceId: instance, username: { startsWith: P } } });

describe('a MariaDB instance dying mid-read while its first batches are being written', () => {
  it('fails the record and leaves nothing written; the next sync writes everything', { timeout: 90_000 }, async () => {
    // The rights probe is the first SHOW GRANTS, then one per batch: the 47th goes up after at least
    // 42 batches (2,100 accounts) came back and were handed over, so the writer has sent its first
    // chunk of 2,000 by then.
    let grants = 0;
    proxy.cutWhen = (chunk, direction) => direction === 'up' && chunk.includes('SHOW GRANTS FOR') && ++grants >= 47;
    const failed = await sync();
    expect(grants).toBeGreaterThanOrEqual(47);
    expect(failed.status).toBe('failed');
    expect(failed.instance_records[0].error_message).toMatch(/^数据库连接问题: 连接中断/);
    expect(await stored()).toBe(0);
    expect(await t.app.deps.prisma.accountChangeLog.count({ where: { instanceId: instance } })).toBe(0);
    expect(await t.app.deps.prisma.accountVersion.count({ where: { instanceId: instance } })).toBe(0);
    expect((await t.app.deps.prisma.instance.findUniqueOrThrow({ where: { id: instance } })).syncCount).toBe(0);

    proxy.cutWhen = undefined;
    await proxy.resume();
    const healed = await sync();
    expect(healed.status).toBe('completed');
    expect(await stored()).toBe(USERS + 1);
    const u7 = await t.app.deps.prisma.currentAccount.findFirstOrThrow({ where: { instanceId: instance, username: `${P}u7@%` } });
    expect(u7.databasePrivileges).toEqual({ [`${P}db0`]: ['SELECT'] });
    expect(await t.app.deps.prisma.accountChangeLog.count({ where: { instanceId: instance, username: { startsWith: P } } })).toBe(USERS + 1);
  });
});
