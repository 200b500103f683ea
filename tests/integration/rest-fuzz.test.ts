/**
 * Drives every operation of /api/openapi.json over real HTTP with generated invalid and boundary
 * input (tests/helpers/fuzz.ts) against the real gateway, and checks what must hold whatever the input:
 * - never a 5xx;
 * - every error is the documented error envelope (with `code` = the HTTP status), under a status the
 *   document lists for the operation; every JSON success is the documented success/page envelope;
 * - a rejected request writes nothing: every business table (all but the log tables) hashes the same
 *   before and after it, and the unified log holds no INFO entry (business changes are INFO, refusals
 *   WARNING) with its request id;
 * - GET requests write nothing either, accepted or not (except the documented GET connection test).
 *
 * The fuzzing user is a second admin whose id is never offered as a path id, so it cannot demote,
 * disable or delete itself; a 401 on its own token would be reported, and it logs in again.
 * FUZZ_RUNS (default 10 per operation) and FUZZ_SEED make a run bigger or repeatable.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login, userWithRole } from '../helpers/http.js';
import { closedPort } from '../helpers/managed.js';
import { pct, requestFor, toJson, validBody, type Caller, type DocOperation, type FuzzRequest, type Pools } from '../helpers/fuzz.js';
import { errorEnvelopeSchema, pageEnvelopeSchema, successEnvelopeSchema } from '../../src/rest/envelope.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Tables whose rows are not business data: the log and its rollup (refusals are logged), migrations. */
const UNWATCHED = new Set(['unified_logs', 'unified_log_counts', '_prisma_migrations']);
/**
 * GET routes that write by design: the upstream GET alias of a connection test records its outcome;
 * GET /auth/logout revokes the caller's session (its refresh-token family).
 */
const WRITING_GETS = new Set(['GET /instances/api/instances/{id}/test', 'GET /auth/logout']);
/** Operations that end the caller's session when they succeed: the actor logs in again afterwards. */
const ENDS_SESSION = new Set(['GET /auth/logout', 'POST /auth/logout']);
/** Errors after which a write is expected: the job ran (and failed). */
const RAN_ANYWAY = new Set(['JobExecutionError']);

let t: TestApp;
let doc: any;
let db: pg.Pool;
let tables: string[];
const tokens: Record<Exclude<Caller, 'none'>, string> = { actor: '', garbage: 'abc.def.ghi', 'huge-token': 'x'.repeat(8_000), basic: '', refresh: '', viewer: '' };
let actor: { username: string; password: string; id: number };
const pools: Pools = { ints: [], uuids: [], strings: [] };
let requestNo = 0;
let operationNo = 0;
let relogins = 0;
const failures: string[] = [];
const rejectedIds: string[] = [];
const statusCounts = new Map<number, number>();
/** Statuses per operation, printed with FUZZ_VERBOSE=1 (to see which operations inputs reach past validation). */
const perOperation = new Map<string, Record<number, number>>();

const MODULES = ['health', 'auth', 'users', 'inventory', 'logs', 'dashboard', 'sync', 'scheduler', 'classification', 'alerts', 'drift', 'metrics', 'docs'];

beforeAll(async () => {
  // No scheduled fires and no classification after syncs: nothing writes unless a request does.
  t = await startTestApp({ SCHEDULER_ENABLED: 'false', AUTO_CLASSIFY_AFTER_SYNC: 'false', SCHEDULER_RUN_LIMIT_PER_USER: '100000' });
  db = new pg.Pool({ connectionString: t.databaseUrl, max: 2 });
  tables = (
    await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
  ).rows.map((r) => r.table_name).filter((n) => !UNWATCHED.has(n));

  const admin = (await login(t.url)).access_token;
  const a = await userWithRole(t.url, admin, 'admin', 'fuzz_actor');
  actor = { username: a.username, password: a.password, id: a.id };
  tokens.actor = a.token;
  tokens.refresh = a.refresh;
  tokens.viewer = (await userWithRole(t.url, admin, 'viewer', 'fuzz_viewer')).token;
  tokens.basic = Buffer.from(`${a.username}:${a.password}`).toString('base64');

  // The built-in jobs go (no fire may write during the run); fixtures give path ids that exist.
  for (const id of ['sync_accounts', 'cleanup_logs']) await call(t.url, 'DELETE', `/api/jobs/${id}`, { token: admin });
  const ok = async (method: string, path: string, json?: unknown) => {
    const res = await call(t.url, method, path, { token: admin, json });
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body.data;
  };
  const victim = await userWithRole(t.url, admin, 'user', 'fuzz_victim');
  const cred = await ok('POST', '/api/credentials', { name: 'fuzz-cred', db_type: 'postgresql', username: 'nobody', password: 'secret-fuzz' });
  const inst = await ok('POST', '/api/instances', { name: 'fuzz-inst', db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), credential_id: cred.id, tags: ['fuzz'] });
  const session = await ok('POST', `/api/instances/${inst.id}/sync?wait=true`);
  const batch = await ok('POST', '/api/auto-classify', {});
  const job = await ok('POST', '/api/jobs', { id: 'fuzz_job', name: 'fuzz', task_type: 'cleanup_logs', schedule: '0 0 1 1 *', params: { days: 3650 } });
  const classifications = (await ok('GET', '/account-classification/classifications')).classifications;
  const rules = (await ok('GET', '/account-classification/rules/filter')).rules;
  await t.app.deps.logSink.flush();
  const log = (await ok('GET', '/api/search?per_page=1'))[0];
  pools.ints = [...new Set([victim.id, 1, cred.id, inst.id, classifications[0].id, rules[0].id, log.id].map(String))].filter((x) => x !== String(actor.id));
  pools.uuids = [session.session_id, batch.batch_id];
  pools.strings = [job.id, 'nope'];

  const res = await fetch(`${t.url}/api/openapi.json`);
  doc = await res.json();
});

afterAll(async () => {
  await db?.end();
  await t?.close();
  if (process.env.FUZZ_VERBOSE) for (const [k, v] of perOperation) console.log(`${k} ${JSON.stringify(v)}`);
  console.log(`rest fuzz: ${requestNo} requests (seed ${SEED}, ${RUNS} per operation), ${relogins} re-logins, statuses ${JSON.stringify(Object.fromEntries([...statusCounts].sort()))}`);
});

/** The hashes of every watched table's rows, per table. */
async function snapshot(): Promise<Map<string, Set<string>>> {
  const sql = tables.map((n) => `SELECT '${n}' AS t, coalesce(array_agg(md5(x::text)), '{}') AS h FROM "${n}" x`).join(' UNION ALL ');
  const { rows } = await db.query<{ t: string; h: string[] }>(sql);
  return new Map(rows.map((r) => [r.t, new Set(r.h)]));
}

/** Which tables differ, with the rows that are new or changed (as they are now) and how many went. */
async function changes(before: Map<string, Set<string>>, after: Map<string, Set<string>>): Promise<string[]> {
  const out: string[] = [];
  for (const [table, rows] of after) {
    const old = before.get(table)!;
    const added = [...rows].filter((h) => !old.has(h));
    const gone = [...old].filter((h) => !rows.has(h)).length;
    if (!added.length && !gone) continue;
    const now = await db.query<{ r: unknown }>(`SELECT to_jsonb(x) AS r FROM "${table}" x WHERE md5(x::text) = ANY($1)`, [added]);
    out.push(`${table} (${gone} rows gone; new or changed: ${now.rows.map((x) => JSON.stringify(x.r).slice(0, 300)).join(' | ')})`);
  }
  return out;
}

/** Waits until no sync session, job run or classification batch an accepted request started is still running. */
async function settle(): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM sync_sessions WHERE status = 'running') + (SELECT count(*) FROM job_runs WHERE status = 'running')
            + (SELECT count(*) FROM classification_batches WHERE status = 'running') AS n`,
    );
    if (Number(rows[0]!.n) === 0) return;
    if (Date.now() > until) throw new Error('background work did not finish within 60 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function operations(tag: string): DocOperation[] {
  const out: DocOperation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'delete']) {
      if (item[method]?.tags?.[0] === tag) out.push({ ...item[method], method, path });
    }
  }
  return out;
}

function authorization(caller: Caller): string | undefined {
  if (caller === 'none') return undefined;
  if (caller === 'basic') return `Basic ${tokens.basic}`;
  return `Bearer ${tokens[caller]}`;
}

async function send(r: FuzzRequest, requestId: string) {
  const headers: Record<string, string> = { 'x-request-id': requestId };
  const auth = authorization(r.caller);
  if (auth) headers.authorization = auth;
  if (r.body) headers['content-type'] = r.body.contentType;
  const res = await fetch(t.url + r.url, { method: r.method, headers, body: r.body?.text });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** What is wrong with one answer, or undefined. */
function checkAnswer(op: DocOperation, res: { status: number; contentType: string; text: string }): string | undefined {
  if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
  const json = res.contentType.startsWith('application/json');
  let body: any;
  if (json) {
    try {
      body = JSON.parse(res.text);
    } catch {
      return `invalid JSON (${res.status}): ${res.text.slice(0, 200)}`;
    }
  }
  if (res.status >= 400) {
    if (!json) return `error ${res.status} without the JSON envelope (${res.contentType}): ${res.text.slice(0, 200)}`;
    const env = errorEnvelopeSchema.safeParse(body);
    if (!env.success) return `error ${res.status} is not the error envelope: ${res.text.slice(0, 300)}`;
    if (body.code !== res.status) return `error envelope code ${body.code} under HTTP ${res.status}`;
    // 431 comes from the HTTP parser for any path (the document says so once, in its description).
    if (!(String(res.status) in op.responses) && res.status !== 431) return `answered ${res.status} (${body.error}: ${body.message.slice(0, 120)}), which the document does not list`;
    return undefined;
  }
  const documented = (op.responses[String(res.status)] ?? Object.entries(op.responses).find(([k]) => k.startsWith('2'))?.[1]) as { content?: Record<string, { schema: any }> } | undefined;
  const types = Object.keys(documented?.content ?? {});
  if (!types.some((ct) => res.contentType.startsWith(ct))) return `success ${res.status} as ${res.contentType}, documented: ${types.join(', ')}`;
  if (json) {
    const ref = documented?.content?.['application/json']?.schema?.$ref as string | undefined;
    const schema = ref?.endsWith('/PageEnvelope') ? pageEnvelopeSchema : ref?.endsWith('/SuccessEnvelope') ? successEnvelopeSchema : undefined;
    if (schema && (!schema.safeParse(body).success || !('data' in body))) return `success ${res.status} is not the ${ref} : ${res.text.slice(0, 300)}`;
  }
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POOL_LIMIT = 40;

/** Ids of what accepted requests created join the path ids, so later routes also act on rows with odd values. */
function remember(data: unknown, depth = 0): void {
  if (!data || typeof data !== 'object' || depth > 2) return;
  if (Array.isArray(data)) return data.slice(0, 3).forEach((x) => remember(x, depth + 1));
  for (const [k, v] of Object.entries(data)) {
    const add = (pool: string[], x: string) => {
      if (!pool.includes(x) && x !== String(actor.id)) pool.push(x);
      if (pool.length > POOL_LIMIT) pool.splice(0, pool.length - POOL_LIMIT);
    };
    if (typeof v === 'string' && UUID.test(v)) add(pools.uuids, v);
    else if (k === 'id' && typeof v === 'string') add(pools.strings, v);
    else if ((k === 'id' || k.endsWith('_id')) && Number.isInteger(v)) add(pools.ints, String(v));
    else if (v && typeof v === 'object') remember(v, depth + 1);
  }
}

let followingUp = false;

/**
 * After a create, every operation under the new row's path (`POST /api/instances` → `GET|PUT|DELETE
 * /api/instances/{id}`, `…/{id}/test`…) with valid input, deletes last: rows that took odd values
 * (a name of the maximum length, emoji) must also be readable, editable and deletable.
 */
async function followUp(create: DocOperation, data: any): Promise<void> {
  // The new row's id: `data.id`, or the id of the one object it wraps (`{classification: {id}}`).
  const nested = data && typeof data === 'object' ? (Object.values(data).find((v) => v && typeof v === 'object' && 'id' in v) as { id?: unknown } | undefined) : undefined;
  const id = data?.id ?? nested?.id;
  if (id === undefined || id === null) return;
  const under = new RegExp(`^${create.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\{\\w+\\}(/[^{}]*)?$`);
  const order = ['get', 'post', 'put', 'delete'];
  const ops = Object.entries<any>(doc.paths)
    .filter(([path]) => under.test(path))
    .flatMap(([path, item]) => order.filter((m) => item[m]).map((m) => ({ ...item[m], method: m, path }) as DocOperation))
    .sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
  followingUp = true;
  try {
    for (const op of ops) {
      const body = validBody(op, doc);
      const url = op.path.replace(/\{\w+\}/, pct(String(id)));
      await exercise(op, { method: op.method.toUpperCase(), url, caller: 'actor', body: body && { contentType: 'application/json', text: toJson(body) }, note: `follow-up of ${create.method.toUpperCase()} ${create.path}` });
    }
  } finally {
    followingUp = false;
  }
}

/** One request: answer checked, and nothing written when it was refused (or a GET). */
async function exercise(op: DocOperation, r: FuzzRequest): Promise<void> {
  const requestId = `fz-${SEED}-${++requestNo}`;
  const key = `${op.method.toUpperCase()} ${op.path}`;
  const before = await snapshot();
  const res = await send(r, requestId);
  statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
  const counts = perOperation.get(key) ?? {};
  counts[res.status] = (counts[res.status] ?? 0) + 1;
  perOperation.set(key, counts);
  const where = `${key} as ${r.caller}: ${r.method} ${r.url.slice(0, 200)}${r.note ? ` [${r.note.slice(0, 300)}]` : ''} (request ${requestId}, seed ${SEED})`;
  const problem = checkAnswer(op, res);
  if (problem) failures.push(`${where}\n    ${problem}`);

  let error: string | undefined;
  try {
    error = res.status >= 400 ? JSON.parse(res.text).error : undefined;
  } catch {
    /* reported above */
  }
  const accepted = res.status < 400 || RAN_ANYWAY.has(error ?? '');
  if (accepted) await settle();
  if (accepted && r.method !== 'GET' && res.contentType.startsWith('application/json')) {
    const data = JSON.parse(res.text).data;
    remember(data);
    if (res.status === 201 && !followingUp) await followUp(op, data);
  }
  if (!accepted || (op.method === 'get' && !WRITING_GETS.has(key))) {
    const diff = await changes(before, await snapshot());
    if (diff.length) failures.push(`${where}\n    ${accepted ? 'GET' : `refused (${res.status} ${error})`} but changed: ${diff.join(', ')}`);
    if (!accepted) rejectedIds.push(requestId);
  }
  if (accepted && r.caller === 'actor' && ENDS_SESSION.has(key)) {
    tokens.actor = (await login(t.url, actor.username, actor.password)).access_token;
  }
  if (res.status === 401 && r.caller === 'actor' && op['x-permission'] !== 'public') {
    failures.push(`${where}\n    the fuzzing admin's token was refused: ${res.text.slice(0, 200)}`);
    relogins++;
    tokens.actor = (await login(t.url, actor.username, actor.password)).access_token;
  }
}

/** Inputs the fuzzer found answered with a 5xx (or no envelope), kept as fixed cases. */
describe('inputs the fuzzer found', () => {
  const get = (path: string) => call(t.url, 'GET', path, { token: tokens.actor });
  const expectRefused = (res: { status: number; body: any }, field?: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(errorEnvelopeSchema.safeParse(res.body).success).toBe(true);
    if (field) expect(res.body.details.errors[0].field).toBe(field);
  };

  it('refuses a log id beyond int4 and a date PostgreSQL cannot hold', async () => {
    expectRefused(await get(`/api/real-time?after_id=${'9'.repeat(40)}`), 'after_id');
    expectRefused(await get('/api/real-time?since=-271821-04-20'), 'since');
  });

  it('does not take Object.prototype members for sort fields', async () => {
    for (const sort of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expectRefused(await get(`/api/instances?sort=${sort}`), 'sort');
  });

  it('refuses NUL and lone surrogates anywhere in the input, on both transports', async () => {
    expectRefused(await get('/api/jobs/%00abc'), 'id');
    expectRefused(await call(t.url, 'POST', '/api/credentials', { token: tokens.actor, raw: '{"name":"a\\u0000b","username":"u","password":"p"}' }), 'name');
    expectRefused(await call(t.url, 'POST', '/api/credentials', { token: tokens.actor, raw: '{"name":"ok","username":"u","password":"p","description":"\\ud800"}' }), 'description');
    expectRefused(await call(t.url, 'POST', '/account-classification/rules/preview', { token: tokens.actor, raw: '{"db_type":"mysql","rule_expression":{"k\\u0000":1}}' }));
    const gql = await call(t.url, 'POST', '/graphql', { token: tokens.actor, json: { query: 'query($id: ID!) { job(id: $id) { id } }', variables: { id: 'a\u0000' } } });
    expect(gql.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
  });

  it('answers a URL beyond the header limit with the error envelope', async () => {
    const res = await fetch(`${t.url}/api/instances?search=${'x'.repeat(20_000)}`, { headers: { authorization: `Bearer ${tokens.actor}` } });
    expect(res.status).toBe(431);
    expect(errorEnvelopeSchema.parse(await res.json())).toMatchObject({ code: 431, error: 'ValidationError' });
  });

  it('deletes instances and credentials whose names have the maximum length, and frees the names', async () => {
    for (const [collection, extra] of [
      ['/api/credentials', { username: 'u', password: 'p' }],
      ['/api/instances', { db_type: 'postgresql', host: '127.0.0.1', port: 5432 }],
    ] as const) {
      for (const name of ['x'.repeat(255), '鲸'.repeat(245) + '🐳'.repeat(5)]) {
        const created = await call(t.url, 'POST', collection, { token: tokens.actor, json: { name, ...extra } });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const deleted = await call(t.url, 'DELETE', `${collection}/${created.body.data.id}`, { token: tokens.actor });
        expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
        expect((await call(t.url, 'POST', collection, { token: tokens.actor, json: { name, ...extra } })).status).toBe(201);
      }
    }
  });
});

describe.each(MODULES)('REST fuzz: %s', (tag) => {
  it('never fails with a 5xx, always answers the documented envelopes, writes nothing when it refuses', { timeout: 120_000 + RUNS * 20_000 }, async () => {
    failures.length = 0;
    rejectedIds.length = 0;
    const ops = operations(tag);
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(requestFor(op, doc, pools), async (r) => {
          await exercise(op, r);
        }),
        // Each operation its own stream (aliases would otherwise get the very same inputs), all from SEED.
        { numRuns: RUNS, seed: SEED + ++operationNo, endOnFailure: true },
      );
    }
    // Refused requests leave no business-change (INFO) entry in the unified log.
    await t.app.deps.logSink.flush();
    const { rows } = await db.query<{ request_id: string; module: string; message: string }>(
      `SELECT request_id, module, message FROM unified_logs WHERE request_id = ANY($1) AND level = 'INFO'`,
      [rejectedIds],
    );
    for (const row of rows) failures.push(`refused request ${row.request_id} logged INFO [${row.module}] ${row.message}`);
    if (failures.length) console.error(`REST fuzz (${tag}): ${failures.length} problems\n${failures.join('\n')}`);
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
  });
});
