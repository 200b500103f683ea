/**
 * The sync writer appends change-log and version rows in one of two ways (account-writer.ts): staged
 * and appended with row triggers off when the gateway's database session may (a superuser here),
 * or directly with every trigger when it may not, or when those tables carry a trigger of their own.
 * Two instances of the same PostgreSQL server go through the same steps (add, modify, drop, re-create),
 * one of them with a user trigger on account_versions during its syncs (which forces the direct
 * way): their change logs, versions, accounts and account figures must be the same, and the user
 * trigger must have seen every version row written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { mayAppendWithoutRowTriggers } from '../../src/services/sync/row-trigger-bypass.js';

let t: TestApp;
let admin: string;
const P = prefix();
const PASSWORD = registerSecret('Pg-Paths-Secret-9');
let staged: number;
let direct: number;

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}gw LOGIN NOSUPERUSER PASSWORD '${PASSWORD}'`);
    for (const n of ['a', 'b', 'c']) await c.query(`CREATE ROLE ${P}${n} LOGIN`);
  });
  await pgAdmin(async (c) => {
    await c.query(`CREATE TABLE versions_seen (account_id int)`);
    await c.query(`CREATE FUNCTION note_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO versions_seen VALUES (NEW.account_id); RETURN NULL; END $$`);
  }, t.databaseUrl);
  const reg = (name: string) => registerInstance(t, { name: `${P}${name}`, dbType: 'postgresql', port: 5432, database: 'postgres', username: `${P}collector`, password: PASSWORD });
  staged = await reg('staged');
  direct = await reg('direct');
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
});

const db = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => pgAdmin((c) => c.query<T>(sql, params), t.databaseUrl);

async function sync(instanceId: number) {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.status, JSON.stringify(res.body.data)).toBe('completed');
}

/** Syncs both instances: the direct one with a user trigger on account_versions. */
async function syncBoth() {
  await sync(staged);
  await db(`CREATE TRIGGER note_version AFTER INSERT ON account_versions FOR EACH ROW EXECUTE FUNCTION note_version()`);
  try {
    await sync(direct);
  } finally {
    await db(`DROP TRIGGER note_version ON account_versions`);
  }
}

/** What an instance's sync wrote for this test's roles, without ids and times. */
async function written(instanceId: number) {
  const like = `${P}%`;
  const log = await db(
    `SELECT l.username, l.change_type, l.message, l.privilege_diff, l.other_diff, l.session_id IS NOT NULL AS has_session
       FROM account_change_log l WHERE l.instance_id = $1 AND l.username LIKE $2 ORDER BY l.username, l.id`,
    [instanceId, like],
  );
  const versions = await db(
    `SELECT v.username, v.change_type, v.is_deleted, v.is_superuser, v.role_attributes, v.valid_to IS NULL AS open,
            v.account_id = a.id AS own_account, v.valid_from = a.last_change_time OR v.valid_to IS NOT NULL AS consistent
       FROM account_versions v JOIN current_account_sync_data a ON a.id = v.account_id
      WHERE v.instance_id = $1 AND v.username LIKE $2 ORDER BY v.username, v.valid_from`,
    [instanceId, like],
  );
  const accounts = await db(
    `SELECT username, is_deleted, last_change_type, role_attributes FROM current_account_sync_data WHERE instance_id = $1 AND username LIKE $2 ORDER BY username`,
    [instanceId, like],
  );
  const figures = await db(
    `SELECT (f.total - (SELECT count(*) FROM current_account_sync_data a WHERE a.instance_id = f.instance_id AND NOT a.is_deleted))::int AS total_off,
            (f.deleted - (SELECT count(*) FROM current_account_sync_data a WHERE a.instance_id = f.instance_id AND a.is_deleted))::int AS deleted_off
       FROM account_figures f WHERE f.instance_id = $1`,
    [instanceId],
  );
  return { log: log.rows, versions: versions.rows, accounts: accounts.rows, figures: figures.rows };
}

describe('sync history, staged (row triggers off) and direct', () => {
  it('chooses the staged way only for a session that may and where no user trigger would be skipped', async () => {
    const ask = async (url: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return await mayAppendWithoutRowTriggers(c);
      } finally {
        await c.end();
      }
    };
    expect(await ask(t.databaseUrl)).toBe(true); // the tests' gateway connects as a superuser
    const asGw = new URL(t.databaseUrl);
    asGw.username = `${P}gw`;
    asGw.password = PASSWORD;
    expect(await ask(asGw.toString())).toBe(false);
    await db(`CREATE TRIGGER note_version AFTER INSERT ON account_versions FOR EACH ROW EXECUTE FUNCTION note_version()`);
    try {
      expect(await ask(t.databaseUrl)).toBe(false);
    } finally {
      await db(`DROP TRIGGER note_version ON account_versions`);
    }
  });

  it('writes the same change log, versions, accounts and figures either way', async () => {
    await syncBoth(); // a, b, c and the collector added
    await pgAdmin((c) => c.query(`ALTER ROLE ${P}a CREATEDB`));
    await syncBoth(); // a modified
    await pgAdmin((c) => c.query(`DROP ROLE ${P}b`));
    await syncBoth(); // b deleted
    await pgAdmin((c) => c.query(`CREATE ROLE ${P}b LOGIN CREATEROLE`));
    await syncBoth(); // b restored
    await syncBoth(); // nothing

    const s = await written(staged);
    const d = await written(direct);
    expect(s).toEqual(d);
    const kind = (c: string) => c.replace(/^modify_.*/, 'modify');
    expect(s.log.map((r) => `${r.username.slice(P.length)} ${kind(r.change_type)}`)).toEqual([
      'a add', 'a modify', 'b add', 'b delete', 'b restore', 'c add', 'collector add', 'gw add',
    ]);
    expect(s.versions).toHaveLength(s.log.length); // one per change
    expect(s.versions.filter((v) => v.open)).toHaveLength(s.accounts.length); // one open per account
    expect(s.versions.every((v) => v.own_account && v.consistent)).toBe(true);
    expect(s.figures).toEqual([{ total_off: 0, deleted_off: 0 }]);

    // The direct way kept the user trigger: it saw every version row of the direct instance, and
    // the staged instance was never synced while it existed.
    const seenOf = async (instanceId: number) =>
      (await db<{ n: number }>(`SELECT count(*)::int AS n FROM versions_seen s JOIN current_account_sync_data a ON a.id = s.account_id WHERE a.instance_id = $1`, [instanceId])).rows[0]!.n;
    const versionsOf = async (instanceId: number) =>
      (await db<{ n: number }>(`SELECT count(*)::int AS n FROM account_versions WHERE instance_id = $1`, [instanceId])).rows[0]!.n;
    expect(await seenOf(direct)).toBeGreaterThanOrEqual(s.versions.length);
    expect(await seenOf(direct)).toBe(await versionsOf(direct));
    expect(await seenOf(staged)).toBe(0);
  });
});
