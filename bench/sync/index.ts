/**
 * bench/sync: account sync of a PostgreSQL server with 10,000 roles and a MariaDB server with 10,000
 * users (issue 5): first sync (everything new) and an unchanged re-sync, through
 * POST /instances/{id}/sync?wait=true. Baseline: the same adapter reading the same catalogs with no
 * platform write (`fetchAccounts` alone), measured in the same run. Targets: first sync < 5 s,
 * re-sync < 2 s, each at most 3× the bare catalog read. Each figure is the median of BENCH_SYNC_ROUNDS
 * (3) interleaved rounds, each on a newly registered instance of the same server. Exits 1 when missed.
 *
 * Roles and users are server-wide: they are named wfbench_… and dropped at the end (also on Ctrl-C).
 *
 *   npm run bench -- sync        BENCH_ACCOUNTS=2000 npm run bench -- sync
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DbType } from '../../src/adapters/types.js';
import { getAdapter } from '../../src/adapters/registry.js';
import { accountFilterFor, connInfoFor } from '../../src/services/sync/connection.js';
import { BENCH_PG_ADMIN_URL, Cleanup } from '../lib/scratch.js';
import { startBenchGateway } from '../lib/gateway.js';
import { fmt, printTable } from '../lib/table.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
const FIRST_TARGET_MS = 5000;
const RESYNC_TARGET_MS = 2000;
const MAX_RATIO = 3;
/** Rounds per server (BENCH_SYNC_ROUNDS): one run of each is at the mercy of the machine's noise. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_SYNC_ROUNDS ?? 3));
const P = 'wfbench_';
const PASSWORD = 'Bench-Collector-9';

const cleanup = new Cleanup();
const failures: string[] = [];

async function createPgRoles(admin: pg.Client): Promise<void> {
  await admin.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  await admin.query(`
    DO $$ BEGIN
      FOR g IN 1..${ACCOUNTS} LOOP
        EXECUTE format('CREATE ROLE %I %s %s', '${P}r' || g, CASE WHEN g % 3 = 0 THEN 'LOGIN' ELSE 'NOLOGIN' END, CASE WHEN g % 50 = 0 THEN 'CREATEDB' ELSE '' END);
      END LOOP;
    END $$`);
  await admin.query(`DO $$ BEGIN FOR g IN 1..${ACCOUNTS} BY 10 LOOP EXECUTE format('GRANT pg_read_all_data TO %I', '${P}r' || g); END LOOP; END $$`);
}

async function dropPgRoles(): Promise<void> {
  const c = new pg.Client({ connectionString: BENCH_PG_ADMIN_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE '${P}%'`);
    for (let i = 0; i < rows.length; i += 500) await c.query(`DROP ROLE IF EXISTS ${rows.slice(i, i + 500).map((r) => `"${r.rolname}"`).join(', ')}`);
  } finally {
    await c.end();
  }
}

async function createMariaUsers(): Promise<void> {
  const c = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  try {
    await c.query(`CREATE DATABASE IF NOT EXISTS ${P}shop`);
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
    for (let i = 1; i <= ACCOUNTS; i += 200) {
      const stmts: string[] = [];
      for (let g = i; g < Math.min(i + 200, ACCOUNTS + 1); g++) {
        stmts.push(`CREATE USER '${P}u${g}'@'%' IDENTIFIED BY 'x'`);
        if (g % 4 === 0) stmts.push(`GRANT SELECT, INSERT ON \`${P}shop\`.* TO '${P}u${g}'@'%'`);
      }
      await c.query(stmts.join('; '));
    }
  } finally {
    await c.end();
  }
}

async function dropMariaUsers(): Promise<void> {
  const c = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE '${P}%'`);
    for (let i = 0; i < rows.length; i += 200) {
      await c.query(`DROP USER ${rows.slice(i, i + 200).map((r) => `'${r.User}'@'${r.Host}'`).join(', ')}`);
    }
    await c.query(`DROP DATABASE IF EXISTS ${P}shop`);
  } finally {
    await c.end();
  }
}

try {
  cleanup.add('drop MariaDB users', dropMariaUsers);
  cleanup.add('drop PostgreSQL roles', dropPgRoles);
  const gw = await startBenchGateway(cleanup, { AUTO_CLASSIFY_AFTER_SYNC: 'false' });
  process.stdout.write(`creating ${fmt.int(ACCOUNTS)} PostgreSQL roles and ${fmt.int(ACCOUNTS)} MariaDB users…\n`);
  const admin = new pg.Client({ connectionString: BENCH_PG_ADMIN_URL });
  await admin.connect();
  try {
    await createPgRoles(admin);
  } finally {
    await admin.end();
  }
  await createMariaUsers();

  const deps = gw.app.deps;
  const register = async (name: string, dbType: DbType, port: number, database: string | null) => {
    const sealed = deps.credentialKey.encrypt(PASSWORD);
    const cred = await deps.prisma.credential.create({
      data: { name: `${name}-cred`, credentialType: 'database', dbType, username: `${P}collector`, passwordCipher: sealed.cipher, passwordKeyId: sealed.keyId },
    });
    return deps.prisma.instance.create({ data: { name, dbType, host: '127.0.0.1', port, databaseName: database, credentialId: cred.id } });
  };
  const targets = [
    { label: 'PostgreSQL', dbType: 'postgresql' as const, port: 5432, database: 'postgres' },
    { label: 'MariaDB', dbType: 'mysql' as const, port: 3306, database: null },
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

  const rows: string[][] = [];
  for (const { label, dbType, port, database } of targets) {
    // ROUNDS rounds, interleaved: each registers a new instance on the same server (so its first sync
    // is a real first sync), syncs it twice, and times the bare catalog read; medians are compared.
    const firsts: number[] = [];
    const agains: number[] = [];
    const bares: number[] = [];
    let synced = 0;
    let read = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const instance = await register(`bench-${dbType}-${round}`, dbType, port, database);
      const sync = async () => {
        const t0 = performance.now();
        const res = await fetch(`${gw.url}/instances/${instance.id}/sync?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}` } });
        const body = (await res.json()) as { data?: { status?: string } };
        if (body.data?.status !== 'completed') throw new Error(`${label} sync: ${JSON.stringify(body).slice(0, 400)}`);
        return performance.now() - t0;
      };
      firsts.push(await sync());
      agains.push(await sync());
      // Baseline: the adapter's catalog read alone (same connection info and filters, nothing written).
      const adapter = getAdapter(dbType);
      const conn = await connInfoFor(deps, instance);
      const filter = await accountFilterFor(deps, dbType);
      const b0 = performance.now();
      const snap = await adapter.fetchAccounts(conn, filter);
      bares.push(performance.now() - b0);
      read = snap.accounts.length;
      synced = await deps.prisma.currentAccount.count({ where: { instanceId: instance.id, isDeleted: false } });
    }
    const bare = median(bares);
    for (const [kind, runs, target] of [['first sync', firsts, FIRST_TARGET_MS], ['unchanged re-sync', agains, RESYNC_TARGET_MS]] as const) {
      const ms = median(runs);
      const ratio = ms / bare;
      const ok = ms < target && ratio <= MAX_RATIO;
      if (!ok) failures.push(`${label} ${kind}: ${ms.toFixed(0)} ms (target < ${target}), ${ratio.toFixed(2)}× the catalog read (target ≤ ${MAX_RATIO}×)`);
      rows.push([label, kind, fmt.int(synced), fmt.int(read), ms.toFixed(0), spread(runs), bare.toFixed(0), spread(bares), fmt.ratio(ratio), `< ${target}, ≤ ${MAX_RATIO}×`, ok ? 'PASS' : 'FAIL']);
    }
  }
  process.stdout.write(`\nsync through the gateway vs the bare catalog read (ms, median of ${ROUNDS} interleaved rounds, range beside; ratio = sync / catalog read, lower is better)\n`);
  printTable(
    ['server', 'run', 'accounts stored', 'accounts read', 'sync ms', 'range', 'catalog read ms', 'range', 'ratio', 'target', ''],
    rows,
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
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
