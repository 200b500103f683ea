import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call as rawCall, gql as rawGql, login, registerSecret, userWithRole, type Reply } from '../helpers/http.js';
import { closedPort, mariaRoot, prefix, silentListener } from '../helpers/managed.js';
import { CredentialKey } from '../../src/lib/crypto.js';

let t: TestApp;
let admin: string;
const P = prefix();
const SECRET = registerSecret('Inv-Secret-Pass-77');
const MARIA_PASSWORD = registerSecret('Maria-Secret-88');
/** Every response body of this file, scanned at the end for secrets and ciphertext. */
const bodies: string[] = [];
const call = async (...args: Parameters<typeof rawCall>): Promise<Reply> => {
  const r = await rawCall(...args);
  bodies.push(JSON.stringify(r.body));
  return r;
};
const gql = async (...args: Parameters<typeof rawGql>) => {
  const r = await rawGql(...args);
  bodies.push(JSON.stringify(r.body));
  return r;
};

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  await mariaRoot(async (c) => {
    await c.query(`CREATE USER '${P}probe'@'127.0.0.1' IDENTIFIED BY '${MARIA_PASSWORD}'`);
  });
});
afterAll(async () => {
  await t?.close();
  await mariaRoot((c) => c.query(`DROP USER IF EXISTS '${P}probe'@'127.0.0.1'`)).catch(() => {});
});

async function credential(name: string, username = 'postgres', password = SECRET, dbType = 'postgresql') {
  const res = await call(t.url, 'POST', '/api/credentials', { token: admin, json: { name, credential_type: 'database', db_type: dbType, username, password } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data.id as number;
}

describe('credentials', () => {
  it('creates, lists, reads, updates, toggles and deletes without ever returning the password', async () => {
    const id = await credential(`${P}c1`);
    const got = await call(t.url, 'GET', `/credentials/api/credentials/${id}`, { token: admin });
    expect(got.body.data).toMatchObject({ name: `${P}c1`, credential_type: 'database', db_type: 'postgresql', username: 'postgres', password: '********', is_active: true });
    const row = await t.app.deps.prisma.credential.findUniqueOrThrow({ where: { id } });
    expect(row.passwordCipher).not.toContain(SECRET);
    expect(t.app.deps.credentialKey.decrypt(row.passwordCipher, row.passwordKeyId)).toBe(SECRET);
    const list = await call(t.url, 'GET', `/api/credentials?search=${P}&db_type=postgresql`, { token: admin });
    expect(list.body.pagination.total).toBe(1);
    const upd = await call(t.url, 'PUT', `/api/credentials/${id}`, { token: admin, json: { description: 'ops', password: '' } });
    expect(upd.body.data.description).toBe('ops');
    expect(t.app.deps.credentialKey.decrypt((await t.app.deps.prisma.credential.findUniqueOrThrow({ where: { id } })).passwordCipher, row.passwordKeyId)).toBe(SECRET);
    expect((await call(t.url, 'POST', `/api/credentials/${id}/toggle`, { token: admin })).body.data.is_active).toBe(false);
    expect((await call(t.url, 'DELETE', `/api/credentials/${id}`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'GET', `/api/credentials/${id}`, { token: admin })).status).toBe(404);
    // The name is free again after deletion.
    await credential(`${P}c1`);
  });

  it('refuses duplicates and deleting a credential that an instance uses', async () => {
    const id = await credential(`${P}c2`);
    expect((await call(t.url, 'POST', '/api/credentials', { token: admin, json: { name: `${P}c2`, username: 'u', password: 'p' } })).status).toBe(409);
    await call(t.url, 'POST', '/api/instances', { token: admin, json: { name: `${P}uses-c2`, db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: id } });
    const del = await call(t.url, 'DELETE', `/api/credentials/${id}`, { token: admin });
    expect(del.status).toBe(409);
    expect(del.body.message).toMatch(/1 个实例使用/);
  });

  it('works through GraphQL with the fixed names and no password field', async () => {
    const res = await gql(t.url, 'mutation C($i: CreateCredentialInput!) { createCredential(input: $i) { id name username passwordMasked } }', { i: { name: `${P}g1`, credentialType: 'database', dbType: 'mysql', username: 'root', password: SECRET, description: 'x' } }, admin);
    expect(res.body.data.createCredential).toMatchObject({ name: `${P}g1`, passwordMasked: '********' });
    const bad = await gql(t.url, '{ credentials { edges { node { password } } } }', {}, admin);
    expect(bad.body.errors[0].message).toMatch(/Cannot query field "password"/);
    const list = await gql(t.url, `{ credentials(search: "${P}g1") { totalCount edges { node { id dbType } } } }`, {}, admin);
    expect(list.body.data.credentials.totalCount).toBe(1);
  });
});

describe('instances', () => {
  it('creates with tags and options, lists with filters, updates, soft-deletes', async () => {
    const cred = await credential(`${P}ic`);
    const created = await call(t.url, 'POST', '/instances/create', {
      token: admin,
      json: { name: `${P}db1`, db_type: 'postgresql', host: 'db1.example.internal', port: 5432, credential_id: cred, environment: 'testing', tag_names: 'wenzhou, core', connection_options: { tls: true, connectTimeoutMs: 3000 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const inst = created.body.data;
    expect(inst).toMatchObject({ name: `${P}db1`, environment: 'testing', connection_status: 'unknown', connection_options: { tls: true, connectTimeoutMs: 3000 }, credential: { id: cred, password: '********' } });
    expect(inst.tags.map((x: any) => x.name).sort()).toEqual(['core', 'wenzhou']);
    const filtered = await call(t.url, 'GET', `/api/instances?search=${P}db1&tag=core&environment=testing&db_type=postgresql`, { token: admin });
    expect(filtered.body.pagination.total).toBe(1);
    const none = await call(t.url, 'GET', `/api/instances?search=${P}db1&connection_status=reachable`, { token: admin });
    expect(none.body.pagination.total).toBe(0);
    const upd = await call(t.url, 'PUT', `/api/instances/${inst.id}`, { token: admin, json: { port: 6432, tags: ['core'] } });
    expect(upd.body.data).toMatchObject({ port: 6432 });
    expect(upd.body.data.tags.map((x: any) => x.name)).toEqual(['core']);
    expect((await call(t.url, 'DELETE', `/api/instances/${inst.id}`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'GET', `/api/instances/${inst.id}`, { token: admin })).status).toBe(404);
    const row = await t.app.deps.prisma.instance.findUniqueOrThrow({ where: { id: inst.id } });
    expect(row).toMatchObject({ status: 'deleted', isActive: false });
    expect(row.deletedAt).not.toBeNull();
    // Unique name (among live instances) — free again after the soft delete.
    expect((await call(t.url, 'POST', '/api/instances', { token: admin, json: { name: `${P}db1`, db_type: 'mysql', host: '10.0.0.1', port: 3306 } })).status).toBe(201);
    expect((await call(t.url, 'POST', '/api/instances', { token: admin, json: { name: `${P}db1`, db_type: 'mysql', host: '10.0.0.1', port: 3306 } })).status).toBe(409);
  });

  it.each([
    [{ db_type: 'postgresql', host: 'h', port: 5432 }, 'name'],
    [{ name: 'x1', db_type: 'db2', host: 'h', port: 5432 }, 'db_type'],
    [{ name: 'x2', db_type: 'mysql', host: 'http://evil/', port: 3306 }, 'host'],
    [{ name: 'x3', db_type: 'mysql', host: 'has space', port: 3306 }, 'host'],
    [{ name: 'x4', db_type: 'mysql', host: 'h', port: 70000 }, 'port'],
    [{ name: 'x5', db_type: 'mysql', host: 'h', port: 'abc' }, 'port'],
    [{ name: 'x6', db_type: 'mysql', host: 'h', port: 3306, credential_id: 999999 }, 'credential_id'],
    [{ name: 'x7', db_type: 'mysql', host: 'h', port: 3306, environment: 'moon' }, 'environment'],
    [{ name: 'x8', db_type: 'oracle', host: 'h', port: 1521, connection_options: { oracleConnectAs: 'tns' } }, 'connection_options.oracle_connect_as'],
  ])('rejects %j naming %s', async (json, field) => {
    const res = await call(t.url, 'POST', '/api/instances', { token: admin, json });
    expect(res.status).toBe(400);
    expect(res.body.details.errors.map((e: any) => e.field)).toContain(field);
  });

  it('works through GraphQL with the fixed names', async () => {
    const res = await gql(t.url, 'mutation C($i: CreateInstanceInput!) { createInstance(input: $i) { id name dbType port tags { name } connectionStatus } }', { i: { name: `${P}gdb`, dbType: 'mysql', host: '127.0.0.1', port: 3306, tags: ['gql'] } }, admin);
    expect(res.body.errors).toBeUndefined();
    const id = res.body.data.createInstance.id;
    const one = await gql(t.url, 'query I($id: ID!) { instance(id: $id) { name accountCount credential { id } } }', { id }, admin);
    expect(one.body.data.instance).toMatchObject({ name: `${P}gdb`, accountCount: 0, credential: null });
    const list = await gql(t.url, `{ instances(dbType: "mysql", search: "${P}gdb") { totalCount edges { node { id } } pageInfo { hasNextPage } } }`, {}, admin);
    expect(list.body.data.instances.totalCount).toBe(1);
    const upd = await gql(t.url, 'mutation U($id: ID!) { updateInstance(id: $id, input: { port: 3307 }) { port } }', { id }, admin);
    expect(upd.body.data.updateInstance.port).toBe(3307);
    const del = await gql(t.url, 'mutation D($id: ID!) { deleteInstance(id: $id) }', { id }, admin);
    expect(del.body.data.deleteInstance).toBe(id);
  });
});

describe('connection tests with the real drivers', () => {
  async function instanceWith(name: string, dbType: string, port: number, username: string, password: string, database?: string, timeout?: number) {
    const cred = await credential(`${name}-cred`, username, password, dbType);
    const res = await call(t.url, 'POST', '/api/instances', {
      token: admin,
      json: { name, db_type: dbType, host: '127.0.0.1', port, credential_id: cred, database_name: database, connection_options: timeout ? { connectTimeoutMs: timeout } : undefined },
    });
    return res.body.data.id as number;
  }

  it('succeeds against PostgreSQL and records version and reachability', async () => {
    const id = await instanceWith(`${P}pg-ok`, 'postgresql', 5432, 'postgres', 'any');
    const res = await call(t.url, 'POST', `/api/instances/${id}/test`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ success: true, failure_kind: null });
    expect(res.body.data.version).toMatch(/^\d+\.\d+/);
    const inst = (await call(t.url, 'GET', `/api/instances/${id}`, { token: admin })).body.data;
    expect(inst).toMatchObject({ connection_status: 'reachable' });
    expect(inst.last_connected).not.toBeNull();
    expect(inst.main_version).toMatch(/^\d+\.\d+$/);
    // The upstream GET path answers the same way.
    expect((await call(t.url, 'GET', `/instances/api/instances/${id}/test`, { token: admin })).body.data.success).toBe(true);
  });

  it('succeeds against MariaDB and detects its version; a wrong password is auth_failed', async () => {
    const ok = await instanceWith(`${P}my-ok`, 'mysql', 3306, `${P}probe`, MARIA_PASSWORD);
    const good = await gql(t.url, 'mutation T($id: ID!) { testInstanceConnection(id: $id) { success message version } }', { id: String(ok) }, admin);
    expect(good.body.data.testInstanceConnection).toMatchObject({ success: true });
    expect(good.body.data.testInstanceConnection.version).toMatch(/^10\.\d+/);
    const bad = await instanceWith(`${P}my-bad`, 'mysql', 3306, `${P}probe`, 'wrong-password-1');
    const res = await call(t.url, 'POST', `/api/instances/${bad}/test`, { token: admin });
    expect(res.body.data).toMatchObject({ success: false, failure_kind: 'auth_failed' });
    expect(res.body.data.message).toContain(`${P}probe`);
    expect((await t.app.deps.prisma.instance.findUniqueOrThrow({ where: { id: bad } })).connectionStatus).toBe('unreachable');
  });

  it('names an unknown database, a closed port and a silent server (timeout within the bound)', async () => {
    const unknownDb = await instanceWith(`${P}pg-nodb`, 'postgresql', 5432, 'postgres', 'x', `${P}nope`);
    expect((await call(t.url, 'POST', `/api/instances/${unknownDb}/test`, { token: admin })).body.data.failure_kind).toBe('unknown_database');
    const closed = await instanceWith(`${P}closed`, 'mysql', await closedPort(), 'u', 'p');
    expect((await call(t.url, 'POST', `/api/instances/${closed}/test`, { token: admin })).body.data.failure_kind).toBe('refused');
    const hang = await silentListener();
    try {
      for (const dbType of ['postgresql', 'mysql', 'sqlserver', 'oracle']) {
        const id = await instanceWith(`${P}silent-${dbType}`, dbType, hang.port, 'u', 'p', undefined, 1000);
        const started = Date.now();
        const res = await call(t.url, 'POST', `/api/instances/${id}/test`, { token: admin });
        expect(res.body.data, dbType).toMatchObject({ success: false, failure_kind: 'timeout' });
        expect(Date.now() - started).toBeLessThan(10_000);
      }
    } finally {
      await hang.close();
    }
    for (const dbType of ['sqlserver', 'oracle']) {
      const id = await instanceWith(`${P}closed-${dbType}`, dbType, await closedPort(), 'u', 'p');
      expect((await call(t.url, 'POST', `/api/instances/${id}/test`, { token: admin })).body.data.failure_kind, dbType).toBe('refused');
    }
  });

  it('honours the TLS option: servers without TLS answer tls_unavailable (PostgreSQL and MariaDB here run without TLS)', async () => {
    for (const [dbType, port, username, password] of [['postgresql', 5432, 'postgres', 'x'], ['mysql', 3306, `${P}probe`, MARIA_PASSWORD]] as const) {
      const res = await call(t.url, 'POST', '/api/test-connection', { token: admin, json: { db_type: dbType, host: '127.0.0.1', port, username, password, connection_options: { tls: true } } });
      expect(res.body.data, dbType).toMatchObject({ success: false, failure_kind: 'tls_unavailable' });
    }
  });

  it('tests unsaved parameters with inline credentials or a saved credential, persisting nothing', async () => {
    const before = await t.app.deps.prisma.instance.count();
    const inline = await call(t.url, 'POST', '/api/test-connection', { token: admin, json: { db_type: 'mysql', host: '127.0.0.1', port: 3306, username: `${P}probe`, password: MARIA_PASSWORD } });
    expect(inline.body.data.success).toBe(true);
    const cred = await credential(`${P}adhoc`, 'postgres', 'x');
    const saved = await call(t.url, 'POST', '/instances/api/test-connection', { token: admin, json: { db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred } });
    expect(saved.body.data.success).toBe(true);
    const missing = await call(t.url, 'POST', '/api/test-connection', { token: admin, json: { db_type: 'mysql', host: '127.0.0.1', port: 3306 } });
    expect(missing.status).toBe(400);
    expect(await t.app.deps.prisma.instance.count()).toBe(before);
    await t.app.deps.logSink.flush();
    const leaked = await t.app.deps.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM unified_logs WHERE context::text LIKE ${'%' + MARIA_PASSWORD + '%'} OR message LIKE ${'%' + MARIA_PASSWORD + '%'}`;
    expect(leaked[0]!.n).toBe(0);
  });

  it('reports statistics including reachability and versions', async () => {
    const s = (await call(t.url, 'GET', '/instances/api/statistics', { token: admin })).body.data;
    expect(s.total_instances).toBe(s.active_instances + s.inactive_instances);
    expect(s.reachable_instances).toBeGreaterThanOrEqual(2);
    expect(s.unreachable_instances).toBeGreaterThanOrEqual(1);
    expect(s.db_type_stats.map((x: any) => x.db_type)).toEqual(expect.arrayContaining(['mysql', 'postgresql']));
  });
});

describe('database types', () => {
  it('serves the four seeded types at flat and prefixed paths, and form options', async () => {
    for (const path of ['/api/list', '/database-types/api/list', '/api/active', '/database-types/api/active']) {
      const res = await call(t.url, 'GET', path, { token: admin });
      expect(res.body.data.map((x: any) => [x.name, x.default_port])).toEqual([['mysql', 3306], ['postgresql', 5432], ['sqlserver', 1433], ['oracle', 1521]]);
    }
    const f = (await call(t.url, 'GET', '/api/form-options', { token: admin })).body.data;
    expect(f.types[0]).toMatchObject({ value: 'mysql', text: 'MySQL', default_port: 3306 });
    expect(f.environments).toEqual(['production', 'development', 'testing']);
    expect(f.credentials.length).toBeGreaterThan(0);
    expect(f.credentials[0]).not.toHaveProperty('password');
    const g = await gql(t.url, '{ databaseTypes { name defaultPort displayName } }', {}, admin);
    expect(g.body.data.databaseTypes).toHaveLength(4);
  });
});

describe('permissions on inventory', () => {
  it('lets a user read and test but not change anything', async () => {
    const u = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'GET', '/api/instances', { token: u.token })).status).toBe(200);
    for (const [m, p, json] of [
      ['POST', '/api/instances', { name: 'n', db_type: 'mysql', host: 'h', port: 1 }],
      ['PUT', '/api/instances/1', { port: 2 }],
      ['DELETE', '/api/instances/1', undefined],
      ['POST', '/api/credentials', { name: 'n', username: 'u', password: 'p' }],
      ['PUT', '/api/credentials/1', { name: 'n2' }],
      ['DELETE', '/api/credentials/1', undefined],
      ['POST', '/api/credentials/1/toggle', undefined],
      ['POST', '/instances/batch-create', { instances: [{ name: 'n', db_type: 'mysql', host: 'h', port: 1 }] }],
      ['POST', '/instances/batch-delete', { instance_ids: [1] }],
    ] as const) {
      expect((await call(t.url, m, p, { token: u.token, json })).status, `${m} ${p}`).toBe(403);
      expect((await call(t.url, m, p, { json })).status, `${m} ${p}`).toBe(401);
    }
  });
});

describe('secrets', () => {
  it('no response in this file contained a password or ciphertext', async () => {
    const ciphers = (await t.app.deps.prisma.credential.findMany({ select: { passwordCipher: true } })).map((c) => c.passwordCipher);
    const all = bodies.join('\n');
    for (const secret of [SECRET, MARIA_PASSWORD, ...ciphers]) expect(all.includes(secret), secret.slice(0, 6)).toBe(false);
  });
});

describe('credential encryption', () => {
  it('round-trips, uses a fresh nonce per value, detects tampering and a wrong key', () => {
    const k = CredentialKey.parse(CredentialKey.generate());
    const a = k.encrypt('s3cret');
    const b = k.encrypt('s3cret');
    expect(a.cipher).not.toBe(b.cipher);
    expect(k.decrypt(a.cipher, a.keyId)).toBe('s3cret');
    const raw = Buffer.from(a.cipher, 'base64url');
    raw[raw.length - 20]! ^= 1;
    expect(() => k.decrypt(raw.toString('base64url'), a.keyId)).toThrow(/failed authentication/);
    const other = CredentialKey.parse('ab'.repeat(32));
    expect(() => other.decrypt(a.cipher, a.keyId)).toThrow(/sealed with key/);
    expect(() => CredentialKey.parse('too-short')).toThrow(/32 bytes/);
  });
});

describe('key rotation', () => {
  it('re-encrypts every secret under the new key in one transaction, and rolls back on a bad secret', async () => {
    const { rotateCredentialKey } = await import('../../src/services/inventory/rotate-key.js');
    const prisma = t.app.deps.prisma;
    const oldKey = t.app.deps.credentialKey;
    const newKey = CredentialKey.parse(CredentialKey.generate());
    const id = await credential(`${P}rot`, 'u', 'Rotate-Me-1');
    const res = await rotateCredentialKey(prisma, oldKey, newKey);
    expect(res.rotated).toBeGreaterThan(0);
    const row = await prisma.credential.findUniqueOrThrow({ where: { id } });
    expect(row.passwordKeyId).toBe(newKey.id);
    expect(newKey.decrypt(row.passwordCipher, row.passwordKeyId)).toBe('Rotate-Me-1');
    // Idempotent: a second run skips what is already rotated.
    expect((await rotateCredentialKey(prisma, oldKey, newKey)).rotated).toBe(0);
    // A secret that cannot be opened aborts the whole rotation.
    const third = CredentialKey.parse(CredentialKey.generate());
    await prisma.credential.update({ where: { id }, data: { passwordCipher: 'garbage', passwordKeyId: newKey.id } });
    await expect(rotateCredentialKey(prisma, newKey, third)).rejects.toThrow();
    expect((await prisma.credential.count({ where: { passwordKeyId: third.id } }))).toBe(0);
  });
});

describe('batch create, batch delete and export', () => {
  it('creates from JSON and CSV; one bad row reports per-row errors and writes nothing', async () => {
    const before = await t.app.deps.prisma.instance.count();
    const bad = await call(t.url, 'POST', '/instances/batch-create', {
      token: admin,
      json: { instances: [
        { name: `${P}b1`, db_type: 'mysql', host: '10.1.0.1', port: 3306 },
        { name: `${P}b2`, db_type: 'mysql', host: '10.1.0.2', port: 99999 },
        { name: `${P}b1`, db_type: 'mysql', host: '10.1.0.3', port: 3306 },
      ] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.rows.map((r: any) => [r.row, r.errors[0].field])).toEqual([[2, 'port'], [3, 'name']]);
    expect(await t.app.deps.prisma.instance.count()).toBe(before);

    const ok = await call(t.url, 'POST', '/api/instances/batch-create', { token: admin, json: { instances: [{ name: `${P}b1`, db_type: 'mysql', host: '10.1.0.1', port: 3306, tags: 'batch' }] } });
    expect(ok.status).toBe(201);
    const csv = `name,db_type,host,port,environment,tags\n${P}c1,postgresql,10.2.0.1,5432,testing,"batch,csv"\n${P}c2,oracle,10.2.0.2,1521,,\n`;
    const fromCsv = await call(t.url, 'POST', '/instances/batch-create', { token: admin, raw: csv, headers: { 'content-type': 'text/csv' } });
    expect(fromCsv.status, JSON.stringify(fromCsv.body)).toBe(201);
    expect(fromCsv.body.data.created).toBe(2);
    const badCsv = await call(t.url, 'POST', '/instances/batch-create', { token: admin, raw: `name,db_type,hots\nx,mysql,h\n`, headers: { 'content-type': 'text/csv' } });
    expect(badCsv.status).toBe(400);
    expect(badCsv.body.message).toMatch(/未知的 CSV 列: hots/);
  });

  it('exports CSV with formula cells neutralised, and batch-deletes', async () => {
    await call(t.url, 'POST', '/api/instances', { token: admin, json: { name: `${P}formula`, db_type: 'mysql', host: '10.3.0.1', port: 3306, description: '=HYPERLINK("http://evil")' } });
    const res = await fetch(`${t.url}/instances/export?search=${P}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename=instances_export_\d+\.csv/);
    const text = await res.text();
    expect(text.split('\n')[0]).toMatch(/^name,db_type,host,port/);
    expect(text).toContain(`'=HYPERLINK`);
    const ids = (await call(t.url, 'GET', `/api/instances?search=${P}b&per_page=100`, { token: admin })).body.data.map((i: any) => i.id);
    const del = await call(t.url, 'POST', '/instances/batch-delete', { token: admin, json: { instance_ids: [...ids, 999999] } });
    expect(del.body.data).toEqual({ deleted: ids, not_found: [999999] });
    expect((await call(t.url, 'POST', '/instances/batch-delete', { token: admin, json: { instance_ids: [] } })).status).toBe(400);
  });
});

describe('a busy database', () => {
  it('answers 503 in the error envelope when a write outlives its transaction timeout, and leaves the row as it was', { timeout: 30_000 }, async () => {
    const cred = await credential(`${P}busy-cred`);
    const created = await call(t.url, 'POST', '/api/instances', { token: admin, json: { name: `${P}busy`, db_type: 'mysql', host: '10.0.0.9', port: 3306, credential_id: cred } });
    expect(created.status).toBe(201);
    const id = created.body.data.id as number;
    // Another session holds the row past the 5 s interactive-transaction timeout of the update.
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT id FROM instances WHERE id = $1 FOR UPDATE', [id]);
      const put = call(t.url, 'PUT', `/api/instances/${id}`, { token: admin, json: { description: 'late' } });
      await new Promise((r) => setTimeout(r, 6000));
      await other.query('COMMIT');
      const res = await put;
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body).toEqual({ status: 'error', success: false, error: 'DatabaseError', message: '数据库繁忙，请稍后重试', code: 503, details: {} });
    } finally {
      await other.end();
    }
    const after = await call(t.url, 'GET', `/api/instances/${id}`, { token: admin });
    expect(after.body.data.description ?? null).toBeNull();
  });
});
