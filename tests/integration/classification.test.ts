/**
 * Account classification against accounts synced from the real PostgreSQL and MariaDB servers:
 * default classifications, rule operators and nesting, validation, previews, idempotent batches,
 * manual assignments, batch endpoints and permissions.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { mariaRoot, pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

let t: TestApp;
let admin: string;
const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Class-Secret-7');
const MY_PASSWORD = registerSecret('My-Class-Secret-7');
let managedDb: { url: string; drop: () => Promise<void> };
let pgInstance: number;
let myInstance: number;

beforeAll(async () => {
  t = await startTestApp({ SCHEDULER_ENABLED: 'false' });
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_classify');
  const dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}admin LOGIN CREATEROLE CREATEDB`);
    await c.query(`CREATE ROLE ${P}reader LOGIN IN ROLE pg_read_all_data`);
    await c.query(`CREATE ROLE ${P}writer LOGIN IN ROLE pg_read_all_data, pg_write_all_data`);
    await c.query(`CREATE ROLE ${P}plain LOGIN`);
  });
  await mariaRoot(async (c) => {
    await c.query(`CREATE DATABASE ${P}shop`);
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${MY_PASSWORD}'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`CREATE USER '${P}root'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SUPER, SELECT ON *.* TO '${P}root'@'%'`);
    await c.query(`CREATE USER '${P}granter'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}granter'@'%' WITH GRANT OPTION`);
    await c.query(`CREATE USER '${P}dropper'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT, DROP ON \`${P}shop\`.* TO '${P}dropper'@'%'`);
    await c.query(`CREATE USER '${P}ro'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT ON \`${P}shop\`.* TO '${P}ro'@'%'`);
    await c.query(`CREATE USER '${P}app'@'10.%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT, INSERT, UPDATE ON \`${P}shop\`.* TO '${P}app'@'10.%'`);
  });
  pgInstance = await registerInstance(t, { name: `${P}pg`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
  myInstance = await registerInstance(t, { name: `${P}my`, dbType: 'mysql', port: 3306, username: `${P}collector`, password: MY_PASSWORD });
  for (const id of [pgInstance, myInstance]) {
    const res = await call(t.url, 'POST', `/instances/${id}/sync?wait=true`, { token: admin });
    expect(res.body.data.status, JSON.stringify(res.body)).toBe('completed');
  }
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${P}%`]);
    await managedDb?.drop();
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
  await mariaRoot(async (c) => {
    const [rows] = await c.query<any[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE ?`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP USER ?@?`, [r.User, r.Host]);
    await c.query(`DROP DATABASE IF EXISTS ${P}shop`);
  }).catch(() => {});
});

const AC = '/account-classification';
const accountId = async (instanceId: number, username: string) =>
  (await t.app.deps.prisma.currentAccount.findFirstOrThrow({ where: { instanceId, username }, select: { id: true } })).id;

/** classification names of an account, via GraphQL Account.classifications. */
async function classesOf(instanceId: number, search: string): Promise<Record<string, string[]>> {
  const res = await gql(t.url, `query($i: ID, $s: String) { accounts(instanceId: $i, search: $s, perPage: 100) { nodes { username classifications { classificationName riskLevel assignmentType } } } }`, { i: instanceId, s: search }, admin);
  expect(res.body.errors).toBeUndefined();
  return Object.fromEntries(res.body.data.accounts.nodes.map((n: any) => [n.username, n.classifications.map((c: any) => c.classificationName).sort()]));
}

async function autoClassify(body: Record<string, unknown> = {}) {
  const res = await call(t.url, 'POST', `${AC}/auto-classify`, { token: admin, json: body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

describe('default classifications', () => {
  it('are seeded as system classifications with rules, and the permission catalogue is served', async () => {
    const res = await call(t.url, 'GET', `${AC}/classifications`, { token: admin });
    const byName = Object.fromEntries(res.body.data.classifications.map((c: any) => [c.name, c]));
    expect(byName['特权账户']).toMatchObject({ risk_level: 'critical', is_system: true, rules_count: 3 });
    expect(byName['只读用户']).toMatchObject({ risk_level: 'low', is_system: true });
    const perms = await call(t.url, 'GET', `${AC}/permissions/mysql`, { token: admin });
    expect(perms.body.data.permissions.global_privileges.map((p: any) => p.name)).toContain('SUPER');
    expect(perms.body.data.fields.map((f: any) => f.name)).toContain('database_privileges');
    expect((await call(t.url, 'GET', `${AC}/permissions/mongodb`, { token: admin })).status).toBe(400);
  });

  it('classify synced accounts as a DBA would expect', async () => {
    const batch = await autoClassify();
    expect(batch.batch.status).toBe('completed');
    expect(batch.total_accounts).toBeGreaterThanOrEqual(11);
    const pg = await classesOf(pgInstance, P);
    expect(pg[`${P}collector`]).toEqual(['特权账户']);
    expect(pg[`${P}admin`]).toEqual(['风险账户']);
    expect(pg[`${P}reader`]).toEqual(['只读用户']);
    expect(pg[`${P}writer`]).toEqual([]);
    expect(pg[`${P}plain`]).toEqual([]);
    const my = await classesOf(myInstance, P);
    expect(my[`${P}root@%`]).toEqual(['特权账户']);
    expect(my[`${P}granter@%`]).toEqual(['敏感账户']);
    expect(my[`${P}dropper@%`]).toEqual(['风险账户']);
    expect(my[`${P}ro@%`]).toEqual(['只读用户']);
    expect(my[`${P}app@10.%`]).toEqual([]);
  });
});

describe('rules', () => {
  let classId: number;
  beforeAll(async () => {
    const res = await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}custom`, risk_level: 'high', color: '#123456' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    classId = res.body.data.classification.id;
  });

  const preview = async (dbType: string, expr: unknown) => {
    const res = await call(t.url, 'POST', `${AC}/rules/preview`, { token: admin, json: { db_type: dbType, rule_expression: expr, per_page: 100 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.data.map((a: any) => a.username).filter((u: string) => u.startsWith(P)).sort();
  };

  it.each([
    ['has', 'mysql', { field: 'global_privileges', op: 'has', value: 'super' }, ['root@%']],
    ['has on a per-database map', 'mysql', { field: 'database_privileges', op: 'has', value: 'DROP' }, ['dropper@%']],
    ['has_all', 'mysql', { field: 'database_privileges', op: 'has_all', value: ['SELECT', 'INSERT', 'UPDATE'] }, ['app@10.%']],
    ['has_any', 'mysql', { field: 'global_privileges', op: 'has_any', value: ['SUPER', 'GRANT OPTION'] }, ['granter@%', 'root@%']],
    ['string matches', 'mysql', { field: 'host', op: 'matches', value: '10.*' }, ['app@10.%']],
    [
      'nested AND/OR with has_none',
      'mysql',
      {
        operator: 'AND',
        conditions: [
          { operator: 'OR', conditions: [{ field: 'database_privileges', op: 'has', value: 'SELECT' }, { field: 'global_privileges', op: 'has', value: 'SUPER' }] },
          { field: 'database_privileges', op: 'has_none', value: ['INSERT', 'DROP'] },
        ],
      },
      ['ro@%', 'root@%'],
    ],
    ['not', 'postgresql', { operator: 'AND', conditions: [{ field: 'username', op: 'matches', value: `${P}*` }, { not: { field: 'role_attributes', op: 'has_any', value: ['can_super', 'can_create_role'] } }] }, ['plain', 'reader', 'writer']],
    ['boolean is', 'postgresql', { operator: 'AND', conditions: [{ field: 'is_superuser', op: 'is', value: true }, { field: 'username', op: 'matches', value: `${P}*` }] }, ['collector']],
    ['role membership', 'postgresql', { field: 'predefined_roles', op: 'has', value: 'pg_write_all_data' }, ['writer']],
    ['SPEC form, AND', 'mysql', { type: 'mysql_permissions', global_privileges: ['SELECT', 'GRANT OPTION'], operator: 'AND' }, ['granter@%']],
    ['SPEC form with exclusion', 'mysql', { type: 'mysql_permissions', global_privileges: ['SELECT'], exclude_privileges: ['SUPER', 'GRANT OPTION'] }, ['collector@127.0.0.1']],
    ['legacy string', 'postgresql', 'role_attributes.can_create_role', ['admin']],
  ])('%s', async (_name, dbType, expr, expected) => {
    expect(await preview(dbType, expr)).toEqual(expected.map((u) => P + u).sort());
  });

  it.each([
    [{ field: 'global_privileges', op: 'has', value: 'SUPR' }, 'rule_expression.value', 'SUPR'],
    [{ operator: 'AND', conditions: [{ field: 'nope', op: 'has', value: 'x' }] }, 'rule_expression.conditions[0].field', 'nope'],
    [{ operator: 'XOR', conditions: [] }, 'rule_expression.operator', 'operator'],
    [{ operator: 'OR', conditions: [{ field: 'is_superuser', op: 'has', value: true }] }, 'rule_expression.conditions[0].op', 'is'],
    [{ type: 'mysql_permissions', operator: 'OR' }, 'rule_expression', '没有任何条件'],
    [{ type: 'postgresql_permissions', role_attributes: ['can_super'] }, 'rule_expression.type', 'mysql_permissions'],
    [{ type: 'mysql_permissions', database_privileges: ['SELECT', 'FLY'] }, 'rule_expression.database_privileges.value[1]', 'FLY'],
  ])('rejects %j naming the bad part', async (expr, field, words) => {
    const res = await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: classId, db_type: 'mysql', rule_name: 'bad', rule_expression: expr } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('ValidationError');
    expect(res.body.details.errors[0].field).toBe(field);
    expect(res.body.message).toContain(words);
  });

  it('saves a rule, lists it, shows its matched accounts, and logs the change', async () => {
    const res = await call(t.url, 'POST', `${AC}/rules`, {
      token: admin,
      json: { classification_id: classId, db_type: 'mysql', rule_name: 'apps',
        // Scoped to this file's accounts: other test files create '10.%' users on the same MariaDB.
        rule_expression: { operator: 'AND', conditions: [{ field: 'host', op: 'equals', value: '10.%' }, { field: 'username', op: 'matches', value: `${P}*` }] },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.data.rule.id;
    const list = await call(t.url, 'GET', `${AC}/rules/filter?classification_id=${classId}`, { token: admin });
    expect(list.body.data.rules.map((r: any) => r.id)).toEqual([id]);
    const matched = await call(t.url, 'GET', `${AC}/rules/${id}/matched-accounts`, { token: admin });
    // The shared server may hold other runs' 10.% users (sync, collector-rights): look at this file's own.
    expect(matched.body.data.map((a: any) => a.username).filter((u: string) => u.startsWith(P))).toEqual([`${P}app@10.%`]);
    await t.app.deps.logSink.flush();
    const logs = await t.app.deps.prisma.unifiedLog.findMany({ where: { module: 'account_classification', message: { contains: 'apps' } } });
    expect(logs.some((l) => (l.context as any)?.event === 'rule_created')).toBe(true);
  });
});

describe('auto-classify batches', () => {
  it('are idempotent, remove assignments that stop matching, and keep manual ones', async () => {
    const first = await autoClassify();
    const again = await autoClassify();
    expect(again.total_classifications_added).toBe(0);
    expect(again.total_classifications_removed).toBe(0);
    expect(again.total_classifications_kept).toBe(first.total_classifications_kept + first.total_classifications_added);

    // A manual assignment survives auto-classify, and suppresses an auto duplicate.
    const plain = await accountId(pgInstance, `${P}plain`);
    const normal = (await t.app.deps.prisma.accountClassification.findFirstOrThrow({ where: { name: '普通账户' } })).id;
    const assigned = await call(t.url, 'POST', `${AC}/assign`, { token: admin, json: { account_id: plain, classification_id: normal } });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201);
    expect((await call(t.url, 'POST', `${AC}/assign`, { token: admin, json: { account_id: plain, classification_id: normal } })).status).toBe(409);
    const reader = await accountId(pgInstance, `${P}reader`);
    const readOnly = (await t.app.deps.prisma.accountClassification.findFirstOrThrow({ where: { name: '只读用户' } })).id;
    // reader already has 只读用户 automatically: assigning it by hand conflicts, so remove the auto one first.
    const autoRow = await t.app.deps.prisma.accountClassificationAssignment.findFirstOrThrow({ where: { accountId: reader, classificationId: readOnly, isActive: true } });
    expect((await call(t.url, 'DELETE', `${AC}/assignments/${autoRow.id}`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'POST', `${AC}/assign`, { token: admin, json: { account_id: reader, classification_id: readOnly } })).status).toBe(200); // reactivated as manual
    await autoClassify();
    const active = await t.app.deps.prisma.accountClassificationAssignment.findMany({ where: { accountId: { in: [plain, reader] }, isActive: true } });
    expect(active.map((a) => [a.accountId, a.classificationId, a.assignmentType]).sort()).toEqual(
      [[plain, normal, 'manual'], [reader, readOnly, 'manual']].sort(),
    );

    // Deactivating the rule removes its auto assignments on the next run (manual ones stay).
    const rule = await t.app.deps.prisma.classificationRule.findFirstOrThrow({ where: { ruleName: 'PostgreSQL 只读' } });
    expect((await call(t.url, 'PUT', `${AC}/rules/${rule.id}`, { token: admin, json: { is_active: false } })).status).toBe(200);
    const after = await autoClassify({ instance_id: pgInstance });
    expect(after.batch.scope).toEqual({ instance_id: pgInstance, db_type: null });
    expect((await classesOf(pgInstance, `${P}reader`))[`${P}reader`]).toEqual(['只读用户']); // the manual one
    await call(t.url, 'PUT', `${AC}/rules/${rule.id}`, { token: admin, json: { is_active: true } });
  });

  it('serve batches, batch details and paginated, filtered matches (the assignments a batch made) at both paths', async () => {
    // A new classification whose rules match three accounts: the next batch assigns them.
    const cls = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}batch` } })).body.data.classification.id;
    for (const [dbType, expr] of [
      ['mysql', { field: 'global_privileges', op: 'has_any', value: ['SUPER', 'GRANT OPTION'] }],
      ['postgresql', { field: 'role_attributes', op: 'has', value: 'can_super' }],
    ] as const) {
      const res = await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: cls, db_type: dbType, rule_name: `${dbType}-top`, rule_expression: expr } });
      expect(res.status).toBe(201);
    }
    const { batch_id, total_classifications_added } = await autoClassify({ batch_type: 'api' });
    expect(total_classifications_added).toBeGreaterThanOrEqual(3);
    const list = await call(t.url, 'GET', '/api/batches?per_page=2', { token: admin });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ status: 'success', pagination: { page: 1, per_page: 2 } });
    expect(list.body.data[0].batch_id).toBe(batch_id);
    expect(list.body.pagination.total).toBeGreaterThanOrEqual(3);
    const one = await call(t.url, 'GET', `/account-classification/api/batches/${batch_id}`, { token: admin });
    expect(one.body.data.batch).toMatchObject({ batch_id, batch_type: 'api', status: 'completed' });
    expect(one.body.data.batch.total_accounts).toBeGreaterThan(one.body.data.batch.matched_accounts);
    expect(one.body.data.batch.batch_details.by_classification.find((c: any) => c.classification_id === cls).matched).toBeGreaterThanOrEqual(3);

    const mine = await call(t.url, 'GET', `/api/batches/${batch_id}/matches?classification_id=${cls}&instance_id=${myInstance}&per_page=1`, { token: admin });
    expect(mine.status).toBe(200);
    expect(mine.body.pagination.total).toBeGreaterThanOrEqual(2);
    expect(mine.body.data).toHaveLength(1);
    // The server has other users too (root, other tests'): look at this file's own.
    const all100 = await call(t.url, 'GET', `/api/batches/${batch_id}/matches?classification_id=${cls}&instance_id=${myInstance}&per_page=100`, { token: admin });
    expect(all100.body.data.map((m: any) => m.account_name).filter((n: string) => n.startsWith(P)).sort()).toEqual([`${P}granter@%`, `${P}root@%`]);
    expect(mine.body.data[0]).toMatchObject({ classification_name: `${P}batch`, instance_id: myInstance, instance_type: 'mysql', rule_name: 'mysql-top' });
    const pgOnly = await call(t.url, 'GET', `/account-classification/api/batches/${batch_id}/matches?classification_id=${cls}&db_type=postgresql`, { token: admin });
    expect(pgOnly.body.data.map((m: any) => m.account_name)).toContain(`${P}collector`);
    expect(pgOnly.body.data.every((m: any) => m.instance_type === 'postgresql')).toBe(true);
    expect((await call(t.url, 'GET', '/api/batches/00000000-0000-4000-8000-000000000000', { token: admin })).status).toBe(404);
    expect((await call(t.url, 'GET', '/api/batches/not-a-uuid', { token: admin })).status).toBe(400);
    expect((await call(t.url, 'GET', `/api/batches/${batch_id}/matches?per_page=101`, { token: admin })).status).toBe(400);

    const g = await gql(t.url, `query($id: String!) { classificationBatch(id: $id) { batchId status matches(perPage: 2) { totalCount nodes { accountName classificationName ruleName } } } }`, { id: batch_id }, admin);
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.classificationBatch.matches.nodes).toHaveLength(2);
    const all = await call(t.url, 'GET', `/api/batches/${batch_id}/matches?per_page=1`, { token: admin });
    expect(g.body.data.classificationBatch.matches.totalCount).toBe(all.body.pagination.total);
    expect(all.body.pagination.total).toBe(total_classifications_added);
  });

  it('run after each sync session for the instances it synced (AUTO_CLASSIFY_AFTER_SYNC)', async () => {
    const sync = await call(t.url, 'POST', `/instances/${pgInstance}/sync?wait=true`, { token: admin });
    expect(sync.body.data.status).toBe('completed');
    // The replica that settles the session starts the batch right after it.
    const latest = await vi.waitFor(async () => {
      const r = await call(t.url, 'GET', '/api/batches?batch_type=after_sync&per_page=1', { token: admin });
      expect(r.body.data[0]).toMatchObject({ batch_type: 'after_sync', status: 'completed', scope: { instance_ids: [pgInstance] } });
      return r;
    }, { timeout: 10_000, interval: 100 });
    expect(new Date(latest.body.data[0].started_at).getTime()).toBeGreaterThanOrEqual(new Date(sync.body.data.started_at).getTime());
  });

  it('remove the auto assignments of accounts that were deleted on the server', async () => {
    const plain = await accountId(pgInstance, `${P}plain`);
    const cls = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}logins` } })).body.data.classification.id;
    await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: cls, db_type: 'postgresql', rule_name: 'plain', rule_expression: { field: 'username', op: 'equals', value: `${P}plain` } } });
    await autoClassify({ instance_id: pgInstance });
    const active = () => t.app.deps.prisma.accountClassificationAssignment.count({ where: { accountId: plain, classificationId: cls, isActive: true } });
    expect(await active()).toBe(1);
    await pgAdmin((c) => c.query(`DROP ROLE ${P}plain`));
    const sync = await call(t.url, 'POST', `/instances/${pgInstance}/sync?wait=true`, { token: admin }); // classifies after the sync
    expect(sync.body.data.status).toBe('completed');
    expect(await active()).toBe(0);
  });

  it('settle in one batch: a manual assignment stands for its classification, an inactive classification and a deleted account lose their auto ones', async () => {
    const { pool, prisma } = t.app.deps;
    const mix = (
      await pool.query<{ id: number }>(
        `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active)
         SELECT $1, 'postgresql', $2 || g, '%', false, false, true FROM generate_series(1, 3) g ORDER BY g RETURNING id`,
        [pgInstance, `${P}mix`],
      )
    ).rows.map((r) => r.id);
    const classes: number[] = [];
    for (const name of ['mixa', 'mixb']) {
      const id = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}${name}` } })).body.data.classification.id;
      await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: id, db_type: 'postgresql', rule_name: name, rule_expression: { field: 'username', op: 'matches', value: `${P}mix*` } } });
      classes.push(id);
    }
    const [clsA, clsB] = classes as [number, number];
    const active = async () =>
      (await prisma.accountClassificationAssignment.findMany({ where: { accountId: { in: mix }, isActive: true }, orderBy: [{ accountId: 'asc' }, { classificationId: 'asc' }] })).map((r) => [mix.indexOf(r.accountId), r.classificationId === clsA ? 'A' : 'B', r.assignmentType]);

    // The first account is assigned A by hand: the batch adds B only there, A and B elsewhere.
    expect((await call(t.url, 'POST', `${AC}/assign`, { token: admin, json: { account_id: mix[0], classification_id: clsA } })).status).toBe(201);
    const first = await autoClassify({ instance_id: pgInstance });
    expect(await active()).toEqual([[0, 'A', 'manual'], [0, 'B', 'auto'], [1, 'A', 'auto'], [1, 'B', 'auto'], [2, 'A', 'auto'], [2, 'B', 'auto']]);
    expect(first.by_classification.filter((c: any) => classes.includes(c.classification_id)).map((c: any) => c.matched)).toEqual([3, 3]);

    // B switched off (its rules are no longer evaluated, so its auto assignments no longer match),
    // the last account deleted on its server and the first one too (its manual assignment stays).
    await prisma.accountClassification.update({ where: { id: clsB }, data: { isActive: false } });
    await pool.query('UPDATE current_account_sync_data SET is_deleted = true WHERE id = ANY($1::int[])', [[mix[0], mix[2]]]);
    const before = await autoClassify({ instance_id: pgInstance });
    expect(await active()).toEqual([[0, 'A', 'manual'], [1, 'A', 'auto']]);
    expect(before.total_classifications_added).toBe(0);
    expect(before.total_classifications_removed).toBeGreaterThanOrEqual(4); // B of all three, A of the last (others' too)
    const again = await autoClassify({ instance_id: pgInstance });
    expect(again.total_classifications_removed).toBe(0);
    expect(again.total_classifications_added).toBe(0);
    await pool.query('DELETE FROM current_account_sync_data WHERE id = ANY($1::int[])', [mix]);
    await prisma.accountClassification.deleteMany({ where: { id: { in: classes } } });
  });

  it('re-evaluate only the accounts changed since the last batch (by sync, by hand, or by the clock), with the same figures', async () => {
    const { pool, prisma } = t.app.deps;
    // Four accounts; the last one's password expired a day ago less 4 seconds: a rule "expired more
    // than a day ago" starts matching it 4 seconds from now, with nothing else changing.
    const ids = (
      await pool.query<{ id: number }>(
        `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active, password_expires_at)
         SELECT $1, 'postgresql', $2 || g, '%', false, false, true, CASE WHEN g = 4 THEN now() - interval '1 day' + interval '4 seconds' END
           FROM generate_series(1, 4) g ORDER BY g RETURNING id`,
        [pgInstance, `${P}inc`],
      )
    ).rows.map((r) => r.id);
    const crossesAt = Date.now() + 4000;
    const classes: number[] = [];
    for (const [name, expr] of [
      ['inc', { field: 'username', op: 'matches', value: `${P}inc*` }],
      ['aging', { field: 'password_expires_at', op: 'older_than_days', value: 1 }],
    ] as const) {
      const id = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}${name}` } })).body.data.classification.id;
      expect((await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: id, db_type: 'postgresql', rule_name: name, rule_expression: expr } })).status).toBe(201);
      classes.push(id);
    }
    const [inc, aging] = classes as [number, number];
    const figures = (b: any) => ({ total: b.total_accounts, matched: b.matched_accounts, by: [...b.by_classification].sort((x: any, y: any) => x.classification_id - y.classification_id) });
    const mine = async () =>
      (await prisma.accountClassificationAssignment.findMany({ where: { accountId: { in: ids }, isActive: true }, orderBy: [{ accountId: 'asc' }, { classificationId: 'asc' }] })).map((r) => [
        ids.indexOf(r.accountId) + 1,
        r.classificationId === inc ? 'inc' : 'aging',
        r.assignmentType,
      ]);

    // New rules: every account is evaluated.
    const first = await autoClassify({ instance_id: pgInstance });
    expect(first.batch.batch_details.evaluated_accounts).toBe(first.total_accounts);
    expect(await mine()).toEqual([[1, 'inc', 'auto'], [2, 'inc', 'auto'], [3, 'inc', 'auto'], [4, 'inc', 'auto']]);

    // Nothing changed: nothing evaluated (but the accounts earlier tests assigned by hand), the same figures.
    const manualHolders = async () =>
      Number(
        (
          await pool.query(
            `SELECT count(DISTINCT s.account_id) AS n FROM account_classification_assignments s JOIN current_account_sync_data a ON a.id = s.account_id
              WHERE s.is_active AND s.assignment_type = 'manual' AND a.instance_id = $1 AND NOT a.is_deleted`,
            [pgInstance],
          )
        ).rows[0].n,
      );
    const same = await autoClassify({ instance_id: pgInstance });
    expect(same.batch.batch_details.evaluated_accounts).toBe(await manualHolders());
    expect(figures(same)).toEqual(figures(first));
    expect(same).toMatchObject({ total_classifications_added: 0, total_classifications_removed: 0, total_classifications_kept: first.total_classifications_kept + first.total_classifications_added });

    // An account changed (as a sync writes it): only that one is evaluated.
    await pool.query(`UPDATE current_account_sync_data SET username = $2 WHERE id = $1`, [ids[1], `${P}renamed2`]);
    const renamed = await autoClassify({ instance_id: pgInstance });
    expect(renamed.batch.batch_details.evaluated_accounts).toBe(1 + (await manualHolders()));
    expect(renamed.total_classifications_removed).toBe(1);
    expect(await mine()).toEqual([[1, 'inc', 'auto'], [3, 'inc', 'auto'], [4, 'inc', 'auto']]);

    // An auto assignment removed by hand comes back; a manual one keeps its account evaluated.
    const auto1 = await prisma.accountClassificationAssignment.findFirstOrThrow({ where: { accountId: ids[0], classificationId: inc, isActive: true } });
    expect((await call(t.url, 'DELETE', `${AC}/assignments/${auto1.id}`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'POST', `${AC}/assign`, { token: admin, json: { account_id: ids[2], classification_id: aging } })).status).toBe(201);
    const byHand = await autoClassify({ instance_id: pgInstance });
    expect(byHand.batch.batch_details.evaluated_accounts).toBeGreaterThanOrEqual(2);
    expect(byHand.total_classifications_added).toBe(1);
    expect(await mine()).toEqual([[1, 'inc', 'auto'], [3, 'inc', 'auto'], [3, 'aging', 'manual'], [4, 'inc', 'auto']]);
    const manualOnly = await autoClassify({ instance_id: pgInstance });
    expect(manualOnly.total_classifications_added + manualOnly.total_classifications_removed).toBe(0);
    expect(figures(manualOnly)).toEqual(figures(byHand));

    // The clock alone: the fourth account's expiry passes the rule's age; it is evaluated and matches.
    await new Promise((r) => setTimeout(r, Math.max(0, crossesAt - Date.now() + 500)));
    const aged = await autoClassify({ instance_id: pgInstance });
    expect(aged.total_classifications_added).toBe(1);
    expect(await mine()).toEqual([[1, 'inc', 'auto'], [3, 'inc', 'auto'], [3, 'aging', 'manual'], [4, 'inc', 'auto'], [4, 'aging', 'auto']]);
    expect(aged.by_classification.find((c: any) => c.classification_id === aging).matched).toBe(1); // rule matches: the manual one does not match

    // A mark ahead of the database's transaction ids (restored into another cluster): all evaluated again.
    await pool.query(`UPDATE classification_watermarks SET since_xid = '999999999999'::xid8 WHERE instance_id = $1`, [pgInstance]);
    const restored = await autoClassify({ instance_id: pgInstance });
    expect(restored.batch.batch_details.evaluated_accounts).toBe(restored.total_accounts);
    expect(figures(restored)).toEqual(figures(aged));

    await pool.query('DELETE FROM current_account_sync_data WHERE id = ANY($1::int[])', [ids]);
    await prisma.accountClassification.deleteMany({ where: { id: { in: classes } } });
  });

  it('insert assignments that the foreign keys still cover: a deleted account takes them along, a deleted classification too', async () => {
    // Accounts loaded behind the gateway's back (as a bulk load would), matched by a new rule.
    const pool = t.app.deps.pool;
    const ghosts = (
      await pool.query<{ id: number }>(
        `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active)
         SELECT $1, 'postgresql', $2 || g, '%', false, false, true FROM generate_series(1, 3) g RETURNING id`,
        [pgInstance, `${P}ghost`],
      )
    ).rows.map((r) => r.id);
    const cls = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}ghosts` } })).body.data.classification.id;
    await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: cls, db_type: 'postgresql', rule_name: 'ghosts', rule_expression: { field: 'username', op: 'matches', value: `${P}ghost*` } } });
    const batch = await autoClassify({ instance_id: pgInstance });
    const rows = () => pool.query<{ account_id: number; batch_id: string }>('SELECT account_id, batch_id FROM account_classification_assignments WHERE classification_id = $1 ORDER BY account_id', [cls]);
    expect((await rows()).rows).toEqual(ghosts.map((id) => ({ account_id: id, batch_id: batch.batch_id })));

    // ON DELETE CASCADE from the account, and from the classification, as the constraints say.
    await pool.query('DELETE FROM current_account_sync_data WHERE id = $1', [ghosts[0]]);
    expect((await rows()).rows.map((r) => r.account_id)).toEqual(ghosts.slice(1));
    const { rows: fks } = await pool.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'account_classification_assignments'::regclass AND contype = 'f' AND convalidated ORDER BY 1`,
    );
    expect(fks.map((f) => f.conname)).toEqual([
      'account_classification_assignments_account_id_fkey',
      'account_classification_assignments_assigned_by_fkey',
      'account_classification_assignments_classification_id_fkey',
    ]);
    expect((await call(t.url, 'DELETE', `${AC}/classifications/${cls}?cascade=true`, { token: admin })).status).toBe(200);
    expect((await rows()).rows).toEqual([]);
    await pool.query('DELETE FROM current_account_sync_data WHERE id = ANY($1::int[])', [ghosts]);
  });

  it('hold a delete of accounts while a batch runs (its cascade then takes the new assignments), and start no batch while one is uncommitted', async () => {
    const pool = t.app.deps.pool;
    const [victim] = (
      await pool.query<{ id: number }>(
        `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active) VALUES ($1, 'postgresql', $2, '%', false, false, true) RETURNING id`,
        [pgInstance, `${P}victim`],
      )
    ).rows.map((r) => r.id);
    // What a running batch holds: its advisory lock, exclusively.
    const batchSide = await pool.connect();
    try {
      await batchSide.query('BEGIN');
      await batchSide.query('SELECT pg_advisory_xact_lock($1)', [0x636c6173]);
      const deleting = pool.query('DELETE FROM current_account_sync_data WHERE id = $1', [victim]);
      await vi.waitFor(
        async () => {
          const { rows } = await pool.query(`SELECT wait_event FROM pg_stat_activity WHERE query LIKE 'DELETE FROM current_account_sync_data%' AND state = 'active'`);
          expect(rows.map((r) => r.wait_event)).toEqual(['advisory']);
        },
        { timeout: 5000, interval: 50 },
      );
      await batchSide.query('COMMIT');
      expect((await deleting).rowCount).toBe(1);
    } finally {
      batchSide.release();
    }
    // A delete not yet committed: the batch refuses to start rather than assign accounts going away.
    const deleter = await pool.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM current_account_sync_data WHERE id = -1');
      const res = await call(t.url, 'POST', `${AC}/auto-classify`, { token: admin, json: { instance_id: pgInstance } });
      expect(res.status).toBe(409);
    } finally {
      await deleter.query('ROLLBACK');
      deleter.release();
    }
  });

  it('logs each batch start and end', async () => {
    const { batch_id } = await autoClassify();
    await t.app.deps.logSink.flush();
    const rows = await t.app.deps.prisma.unifiedLog.findMany({ where: { module: 'account_classification' } });
    const events = rows.filter((r) => (r.context as any)?.batch_id === batch_id).map((r) => (r.context as any).event);
    expect(events.sort()).toEqual(['batch_completed', 'batch_started']);
  });
});

describe('classification management', () => {
  it('refuses to delete system classifications, needs cascade when rules exist, validates input', async () => {
    const sys = (await t.app.deps.prisma.accountClassification.findFirstOrThrow({ where: { name: '特权账户' } })).id;
    expect((await call(t.url, 'DELETE', `${AC}/classifications/${sys}`, { token: admin })).status).toBe(422);
    const c = (await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}temp` } })).body.data.classification;
    await call(t.url, 'POST', `${AC}/rules`, { token: admin, json: { classification_id: c.id, db_type: 'oracle', rule_name: 'dba', rule_expression: { field: 'roles', op: 'has', value: 'DBA' } } });
    expect((await call(t.url, 'DELETE', `${AC}/classifications/${c.id}`, { token: admin })).status).toBe(422);
    const del = await call(t.url, 'DELETE', `${AC}/classifications/${c.id}?cascade=true`, { token: admin });
    expect(del.status).toBe(200);
    expect(del.body.data).toEqual({ deleted_rules: 1, deleted_assignments: 0 });
    expect((await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: `${P}custom` } })).status).toBe(409);
    expect((await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: 'x', risk_level: 'extreme' } })).status).toBe(400);
    expect((await call(t.url, 'POST', `${AC}/classifications`, { token: admin, json: { name: 'x', color: 'red' } })).status).toBe(400);
  });

  it('GraphQL creates classifications and rules, previews, and auto-classifies', async () => {
    const created = await gql(t.url, `mutation($n: String!) { createClassification(input: { name: $n, riskLevel: "low" }) { id name isSystem } }`, { n: `${P}gql` }, admin);
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data.createClassification.id;
    const rule = await gql(
      t.url,
      `mutation($c: ID!, $e: JSON!) { createClassificationRule(classificationId: $c, dbType: "postgresql", ruleName: "writers", ruleExpression: $e) { id dbType } }`,
      { c: id, e: { field: 'predefined_roles', op: 'has', value: 'pg_write_all_data' } },
      admin,
    );
    expect(rule.body.errors).toBeUndefined();
    const bad = await gql(t.url, `mutation($c: ID!) { createClassificationRule(classificationId: $c, dbType: "postgresql", ruleName: "x", ruleExpression: { field: "role_attributes", op: "has", value: "can_fly" }) { id } }`, { c: id }, admin);
    expect(bad.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
    const batch = await gql(t.url, `mutation($i: ID) { autoClassify(instanceId: $i) { batchId status totalAccounts } }`, { i: pgInstance }, admin);
    expect(batch.body.errors).toBeUndefined();
    expect(batch.body.data.autoClassify.status).toBe('completed');
    expect((await classesOf(pgInstance, `${P}writer`))[`${P}writer`]).toEqual([`${P}gql`]);
    const acc = await accountId(myInstance, `${P}app@10.%`);
    const assigned = await gql(t.url, `mutation($a: ID!, $c: ID!) { assignClassification(accountId: $a, classificationId: $c) { assignmentType classificationName } }`, { a: acc, c: id }, admin);
    expect(assigned.body.errors).toBeUndefined();
    expect(assigned.body.data.assignClassification).toEqual({ assignmentType: 'manual', classificationName: `${P}gql` });
  });

  it('checks permissions: viewers see nothing, users read but cannot change, anonymous gets 401', async () => {
    const viewer = await userWithRole(t.url, admin, 'viewer');
    const user = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'GET', '/api/batches')).status).toBe(401);
    expect((await call(t.url, 'GET', '/api/batches', { token: viewer.token })).status).toBe(403);
    expect((await call(t.url, 'GET', '/api/batches', { token: user.token })).status).toBe(200);
    expect((await call(t.url, 'POST', `${AC}/auto-classify`, { token: user.token, json: {} })).status).toBe(403);
    expect((await call(t.url, 'POST', `${AC}/classifications`, { token: user.token, json: { name: 'nope' } })).status).toBe(403);
    const g = await gql(t.url, '{ classifications { id } }', {}, viewer.token);
    expect(g.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});
