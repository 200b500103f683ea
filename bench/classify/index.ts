/**
 * bench/classify: auto-classification of 100,000 synthetic accounts spread over the four database
 * types with 50 rules (issue 6), through POST /account-classification/auto-classify.
 *
 *  - first run: every account is new to the rules (assignments and matches written);
 *  - re-run with no change: same result, nothing to add or remove.
 * Baseline: a bare in-process loop that evaluates the same compiled predicates on the same rows,
 * already in memory (facts built and every rule evaluated, no I/O). Targets: first run < 3 s, no-change
 * re-run < 1 s. Exits 1 when missed.
 *
 *   npm run bench -- classify        BENCH_ACCOUNTS=20000 npm run bench -- classify
 */
import pg from 'pg';
import { DB_TYPES, type DbType } from '../../src/adapters/types.js';
import { CATALOGUE } from '../../src/services/classification/catalogue.js';
import { columnsFor, compileRule, factsOf, normalizeRule } from '../../src/services/classification/rule-expression.js';
import { Cleanup } from '../lib/scratch.js';
import { startBenchGateway } from '../lib/gateway.js';
import { fmt, printTable } from '../lib/table.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const RULES = 50;
const FIRST_TARGET_MS = 3000;
const RERUN_TARGET_MS = 1000;

const cleanup = new Cleanup();
const failures: string[] = [];

/** Privilege-ish JSON per type, varied by g so rules match different subsets. */
async function seed(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO instances (name, db_type, host, port) SELECT 'cls-' || t || '-' || n, t, 'h', 1
       FROM unnest(ARRAY['mysql','postgresql','sqlserver','oracle']) t, generate_series(1, 5) n`,
  );
  const pick = (arr: readonly string[], expr: string) => `(ARRAY[${arr.map((v) => `'${v}'`).join(',')}])[1 + (${expr}) % ${arr.length}]`;
  const values = (t: DbType, field: string) => CATALOGUE[t].find((f) => f.name === field)!.values!.slice(0, 24);
  await pool.query(
    `INSERT INTO current_account_sync_data (instance_id, db_type, username, host, is_superuser, is_locked, is_active,
        global_privileges, database_privileges, role_attributes, predefined_roles, server_roles, database_roles, database_permissions,
        oracle_roles, system_privileges)
     SELECT i.id, i.db_type, 'u' || g, CASE WHEN g % 3 = 0 THEN '10.%' ELSE '%' END, g % 97 = 0, g % 11 = 0, g % 11 <> 0,
        CASE WHEN i.db_type = 'mysql' THEN jsonb_build_array(${pick(values('mysql', 'global_privileges'), 'g')}, ${pick(values('mysql', 'global_privileges'), 'g / 7')}) END,
        CASE WHEN i.db_type = 'mysql' THEN jsonb_build_object('app', jsonb_build_array(${pick(values('mysql', 'database_privileges'), 'g / 3')}, 'SELECT')) END,
        CASE WHEN i.db_type = 'postgresql' THEN jsonb_build_object('can_super', g % 50 = 0, 'can_create_role', g % 20 = 0, 'can_create_db', g % 5 = 0, 'can_login', true) END,
        CASE WHEN i.db_type = 'postgresql' THEN jsonb_build_array(${pick(values('postgresql', 'predefined_roles'), 'g')}) END,
        CASE WHEN i.db_type = 'sqlserver' THEN jsonb_build_array(${pick(values('sqlserver', 'server_roles'), 'g')}) END,
        CASE WHEN i.db_type = 'sqlserver' THEN jsonb_build_object('sales', jsonb_build_array(${pick(values('sqlserver', 'database_roles'), 'g / 5')})) END,
        CASE WHEN i.db_type = 'sqlserver' THEN jsonb_build_object('sales', jsonb_build_array(${pick(values('sqlserver', 'database_privileges'), 'g / 3')})) END,
        CASE WHEN i.db_type = 'oracle' THEN jsonb_build_array(${pick(values('oracle', 'roles'), 'g')}) END,
        CASE WHEN i.db_type = 'oracle' THEN jsonb_build_array(${pick(values('oracle', 'system_privileges'), 'g')}, ${pick(values('oracle', 'system_privileges'), 'g / 11')}) END
       FROM generate_series(1, $1::int) g
       JOIN instances i ON i.name = 'cls-' || (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + g % 4] || '-' || (1 + g % 5)`,
    [ACCOUNTS],
  );
  // A steady state before measuring, as a database in service is: the seeded rows vacuumed (else
  // autovacuum wakes up on them during the first run) and the seeding's dirty pages flushed (else
  // a checkpoint it triggered writes them out meanwhile).
  await pool.query('VACUUM ANALYZE');
  await pool.query('CHECKPOINT');
}

/** 50 rules over the four types: single names, any/all lists, and nested groups with exclusions. */
function ruleSet(): Array<{ dbType: DbType; expr: unknown }> {
  const listField: Record<DbType, string> = { mysql: 'global_privileges', postgresql: 'predefined_roles', sqlserver: 'server_roles', oracle: 'system_privileges' };
  const mapField: Record<DbType, string> = { mysql: 'database_privileges', postgresql: 'role_attributes', sqlserver: 'database_roles', oracle: 'roles' };
  const out: Array<{ dbType: DbType; expr: unknown }> = [];
  for (let i = 0; out.length < RULES; i++) {
    const dbType = DB_TYPES[i % 4]!;
    const lv = CATALOGUE[dbType].find((f) => f.name === listField[dbType])!.values!;
    const mv = CATALOGUE[dbType].find((f) => f.name === mapField[dbType])!.values!;
    const a = lv[i % lv.length]!;
    const b = lv[(i * 7 + 3) % lv.length]!;
    const m = mv[i % mv.length]!;
    const shapes = [
      { field: listField[dbType], op: 'has', value: a },
      { field: listField[dbType], op: 'has_any', value: [a, b] },
      { operator: 'AND', conditions: [{ field: listField[dbType], op: 'has', value: a }, { field: mapField[dbType], op: 'has_none', value: [m] }] },
      { operator: 'OR', conditions: [{ field: mapField[dbType], op: 'has', value: m }, { operator: 'AND', conditions: [{ field: 'is_locked', op: 'is', value: true }, { not: { field: listField[dbType], op: 'has', value: b } }] }] },
    ];
    out.push({ dbType, expr: shapes[Math.floor(i / 4) % shapes.length] });
  }
  return out;
}

try {
  const gw = await startBenchGateway(cleanup, { AUTO_CLASSIFY_AFTER_SYNC: 'false' });
  const pool = new pg.Pool({ connectionString: gw.databaseUrl, max: 4 });
  cleanup.add('close pool', () => pool.end());
  process.stdout.write(`seeding ${fmt.int(ACCOUNTS)} accounts over 4 database types…\n`);
  await seed(pool);

  // Exactly 50 active rules: the defaults are switched off, ten classifications get five rules each.
  const prisma = gw.app.deps.prisma;
  await prisma.classificationRule.updateMany({ data: { isActive: false } });
  const rules = ruleSet();
  for (let c = 0; c < 10; c++) {
    const cls = await prisma.accountClassification.create({ data: { name: `bench-${c}`, priority: c } });
    for (const [j, r] of rules.slice(c * 5, c * 5 + 5).entries()) {
      normalizeRule(r.dbType, r.expr);
      await prisma.classificationRule.create({ data: { classificationId: cls.id, dbType: r.dbType, ruleName: `r${c}-${j}`, ruleExpression: r.expr as object } });
    }
  }

  const run = async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/account-classification/auto-classify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { data?: Record<string, number> };
    if (res.status !== 200) throw new Error(`auto-classify: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return { ms: performance.now() - t0, d: body.data! };
  };
  const first = await run();
  const rerun = await run();
  process.stdout.write(`phases (ms): first ${JSON.stringify(first.d.phases_ms)}, re-run ${JSON.stringify(rerun.d.phases_ms)}\n`);

  // Baseline: the same rows in memory, the same compiled predicates, nothing else.
  const compiled = rules.map((r) => ({ dbType: r.dbType, p: compileRule(r.dbType, normalizeRule(r.dbType, r.expr)) }));
  const rows: Array<{ dbType: DbType; row: Record<string, unknown> }> = [];
  for (const t of DB_TYPES) {
    const { rows: rs } = await pool.query(`SELECT id, ${columnsFor(t).join(', ')} FROM current_account_sync_data WHERE db_type = $1`, [t]);
    for (const row of rs) rows.push({ dbType: t, row });
  }
  const b0 = performance.now();
  let hits = 0;
  for (const { dbType, row } of rows) {
    const facts = factsOf(dbType, row);
    for (const c of compiled) if (c.dbType === dbType && c.p(facts)) hits++;
  }
  const bareMs = performance.now() - b0;

  const firstOk = first.ms < FIRST_TARGET_MS && first.d.total_accounts === ACCOUNTS;
  const rerunOk = rerun.ms < RERUN_TARGET_MS && rerun.d.total_classifications_added === 0 && rerun.d.total_classifications_removed === 0;
  if (!firstOk) failures.push(`first run ${first.ms.toFixed(0)} ms (target < ${FIRST_TARGET_MS}), ${first.d.total_accounts} accounts`);
  if (!rerunOk) failures.push(`no-change re-run ${rerun.ms.toFixed(0)} ms (target < ${RERUN_TARGET_MS}), added ${rerun.d.total_classifications_added}, removed ${rerun.d.total_classifications_removed}`);
  process.stdout.write(`\n${fmt.int(ACCOUNTS)} accounts, ${RULES} rules; ${fmt.int(hits)} (account, rule) hits in the bare loop; ratio = bare loop ms / run ms\n`);
  printTable(
    ['run', 'ms', 'accounts', 'matched accounts', 'added', 'removed', 'kept', 'bare loop ms', 'ratio', 'target', ''],
    [
      ['first', first.ms.toFixed(0), fmt.int(first.d.total_accounts!), fmt.int(first.d.matched_accounts!), fmt.int(first.d.total_classifications_added!), fmt.int(first.d.total_classifications_removed!), fmt.int(first.d.total_classifications_kept!), bareMs.toFixed(0), fmt.ratio(bareMs / first.ms), `< ${FIRST_TARGET_MS}`, firstOk ? 'PASS' : 'FAIL'],
      ['no-change re-run', rerun.ms.toFixed(0), fmt.int(rerun.d.total_accounts!), fmt.int(rerun.d.matched_accounts!), fmt.int(rerun.d.total_classifications_added!), fmt.int(rerun.d.total_classifications_removed!), fmt.int(rerun.d.total_classifications_kept!), bareMs.toFixed(0), fmt.ratio(bareMs / rerun.ms), `< ${RERUN_TARGET_MS}`, rerunOk ? 'PASS' : 'FAIL'],
    ],
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
} catch (err) {
  failures.push(`error: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup.run();
}
if (failures.length) {
  process.stderr.write(`\nmissed:\n  ${failures.join('\n  ')}\n`);
  process.exit(1);
}
process.exit(0);
