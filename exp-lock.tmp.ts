import pg from 'pg';
import { createScratchDatabase } from './src/db/scratch-database.js';
import { createAgendaStore } from './src/jobs/agenda.js';
const db = await createScratchDatabase('postgresql://postgres@127.0.0.1:5432/postgres', 'wf_exp');
const pool = new pg.Pool({ connectionString: db.url, max: 5 });
try {
  const a = await createAgendaStore({ name: 'A', processEveryMs: 1000, concurrency: 10, lockLifetimeMs: 600000, pool, embedded: false });
  a.agenda.define('noop', async () => {});
  const T = new Date(Date.now() + 60000);
  const cron = `${T.getUTCSeconds()} ${T.getUTCMinutes()} ${T.getUTCHours()} * * *`;
  for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, () => { const j = a.agenda.create('noop', {}); j.repeatEvery(cron, { timezone: 'UTC', skipImmediate: true }); return j.save(); }));
  await pool.query('ANALYZE agenda_jobs');
  const q = `UPDATE "agenda_jobs" SET locked_at = $1, last_modified_by = $5 WHERE id = (SELECT id FROM "agenda_jobs" WHERE name = $2 AND disabled = FALSE AND ((locked_at IS NULL AND next_run_at <= $3) OR locked_at <= $4) ORDER BY next_run_at ASC NULLS LAST, priority DESC LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *`;
  const scan = new Date(T.getTime() + 1000), dead = new Date(Date.now() - 600000);
  const t0 = performance.now(); const times: number[] = [];
  for (let i = 0; i < 1000; i++) { const s = performance.now(); await pool.query(q, [new Date(), 'noop', scan, dead, 'A']); times.push(performance.now() - s); }
  console.log('1000 locks in', (performance.now() - t0).toFixed(0), 'ms; first 10 avg', (times.slice(0, 10).reduce((x, y) => x + y) / 10).toFixed(2), 'last 10 avg', (times.slice(-10).reduce((x, y) => x + y) / 10).toFixed(2));
  await pool.query('UPDATE agenda_jobs SET locked_at = NULL WHERE id IN (SELECT id FROM agenda_jobs LIMIT 500)');
  const ex = await pool.query('EXPLAIN (ANALYZE, BUFFERS) ' + q.replace('$1', 'now()').replace('$5', "'A'"), [] as never) .catch(async () => pool.query(`EXPLAIN (ANALYZE) SELECT id FROM "agenda_jobs" WHERE name = 'noop' AND disabled = FALSE AND ((locked_at IS NULL AND next_run_at <= $1) OR locked_at <= $2) ORDER BY next_run_at ASC NULLS LAST, priority DESC LIMIT 1 FOR UPDATE SKIP LOCKED`, [scan, dead]));
  console.log(ex.rows.map((r: any) => r['QUERY PLAN']).join('\n'));
  await a.close();
} finally { await pool.end(); await db.drop(); }
