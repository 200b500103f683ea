/**
 * Auto-classification when the gateway's database role may not set session_replication_role (not a
 * superuser, no GRANT SET): the batch inserts its assignments with the per-row foreign-key checks
 * (assignment-writes.ts), and must come to the same result, incremental re-runs included.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';
import { pgAdmin } from '../helpers/managed.js';

const ROLE = `wf_plain_${randomBytes(4).toString('hex')}`;
let t: TestApp;
let admin: string;

beforeAll(async () => {
  await pgAdmin((c) => c.query(`CREATE ROLE ${ROLE} LOGIN NOSUPERUSER`));
  t = await startTestApp(
    { SCHEDULER_ENABLED: 'false', AUTO_CLASSIFY_AFTER_SYNC: 'false' },
    {
      // The gateway owns its database (it runs the migrations) but is no superuser.
      prepareDatabase: async (url) => {
        const name = new URL(url).pathname.slice(1);
        await pgAdmin((c) => c.query(`ALTER DATABASE "${name}" OWNER TO ${ROLE}`));
        await pgAdmin((c) => c.query(`ALTER SCHEMA public OWNER TO ${ROLE}`), url);
      },
      gatewayDatabaseUrl: (url) => {
        const u = new URL(url);
        u.username = ROLE;
        u.password = '';
        return u.toString();
      },
    },
  );
  admin = (await login(t.url)).access_token;
});

afterAll(async () => {
  await t?.close();
  await pgAdmin((c) => c.query(`DROP ROLE IF EXISTS ${ROLE}`)).catch(() => {});
});

it('classifies with the row checks when the role may not skip them, with the same result, and re-runs incrementally', async () => {
  const { rows: who } = await t.app.deps.pool.query(`SELECT current_user AS u, current_setting('is_superuser') AS su, has_parameter_privilege('session_replication_role', 'SET') AS may`);
  expect(who[0]).toEqual({ u: ROLE, su: 'off', may: false });

  const db = new pg.Pool({ connectionString: t.databaseUrl, max: 1 });
  try {
    const { rows: inst } = await db.query<{ id: number }>(`INSERT INTO instances (name, db_type, host, port) VALUES ('plain-pg', 'postgresql', 'h', 1) RETURNING id`);
    await db.query(
      `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active)
       SELECT $1, 'postgresql', 'acct' || g, '%', g % 10 = 0, false, true FROM generate_series(1, 3000) g`,
      [inst[0]!.id],
    );
    const cls = (await call(t.url, 'POST', '/account-classification/classifications', { token: admin, json: { name: 'plain-supers' } })).body.data.classification.id;
    const rule = await call(t.url, 'POST', '/account-classification/rules', {
      token: admin,
      json: { classification_id: cls, db_type: 'postgresql', rule_name: 'supers', rule_expression: { field: 'is_superuser', op: 'is', value: true } },
    });
    expect(rule.status).toBe(201);

    const first = await call(t.url, 'POST', '/account-classification/auto-classify', { token: admin, json: { instance_id: inst[0]!.id } });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.data.by_classification.find((c: any) => c.classification_id === cls).matched).toBe(300);
    const { rows: assigned } = await db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE a.is_superuser)::int AS supers FROM account_classification_assignments s JOIN current_account_sync_data a ON a.id = s.account_id
        WHERE s.classification_id = $1 AND s.is_active AND s.assignment_type = 'auto' AND s.batch_id = $2`,
      [cls, first.body.data.batch_id],
    );
    expect(assigned[0]).toEqual({ n: 300, supers: 300 });

    // One account stops being a superuser: only it is evaluated, and it loses the assignment.
    await db.query(`UPDATE current_account_sync_data SET is_superuser = false WHERE instance_id = $1 AND username = 'acct10'`, [inst[0]!.id]);
    const again = await call(t.url, 'POST', '/account-classification/auto-classify', { token: admin, json: { instance_id: inst[0]!.id } });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ total_accounts: 3000, total_classifications_added: 0, total_classifications_removed: 1 });
    expect(again.body.data.batch.batch_details.evaluated_accounts).toBe(1);
    expect(again.body.data.by_classification.find((c: any) => c.classification_id === cls).matched).toBe(299);
  } finally {
    await db.end();
  }
});
