/**
 * Invalid and boundary requests for one operation of the OpenAPI document (fast-check arbitraries):
 * a valid-looking body or query built from the operation's schema, then broken: a required field
 * missing, a field of the wrong type, huge strings and numbers (also beyond what JSON numbers can
 * hold), odd unicode (NUL, lone surrogates, bidi overrides, emoji), extra fields, bodies that are not
 * objects or not JSON, bad path ids; plus who calls (the fuzzing admin, nobody, a garbage token…).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface DocOperation {
  method: string;
  path: string;
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema; example?: unknown }> };
  responses: Record<string, unknown>;
  'x-permission': string;
}

/** JSON text JSON.stringify cannot produce (1e400, 400 digits, 3,000 levels of nesting): written into the body as is. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of `v`, with RawJson tokens verbatim. */
export function toJson(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const deepNest = (depth: number, asArray: boolean) =>
  new RawJson(asArray ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

// ---- values ------------------------------------------------------------------------------------

const hugeString = fc
  .tuple(fc.constantFrom(4_096, 70_000, 300_000), fc.constantFrom('x', 'é', '数', '🐳', '\u0000', "'", '%'))
  .map(([n, c]) => c.repeat(n));

export const oddString = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(
    '', ' ', '\t\n', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\u202egnp.exe', '\ufeff', '\u200b', 'Ω≈ç√∫', '数据库🐳', 'ﷺ', 'e\u0301',
    'null', 'undefined', 'true', 'NaN', 'Infinity', '-0', '1e400', '0x1F', '9'.repeat(40), '-1', '1.5', ' 1 ', '0',
    "' OR '1'='1", '%_\\', '../../etc/passwd', '<script>alert(1)</script>', '${x}', '{{7*7}}', '__proto__', 'constructor',
    '2025-13-45', '2025-02-30T25:61:00Z', '0000-00-00', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.001Z', '-271821-04-20', 'sync_accounts',
  ) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: hugeString },
);

export const oddNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(
    0, -1, -0, 0.5, 1.5, -2147483649, 2147483647, 2147483648, 4294967296, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, 5e-324,
    new RawJson('1e400'), new RawJson('-1e400'), new RawJson(`1${'0'.repeat(400)}`), new RawJson('1.0e-400'), new RawJson('-0.0'),
  ) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

export const oddStructure = fc.constantFrom<unknown>(
  null, true, false, [], {}, [null], [1, 'a', {}], { a: { b: { c: {} } } }, { '': 1 }, { __proto__: { x: 1 } },
  deepNest(3_000, true), deepNest(3_000, false), new Array(20_000).fill(1), Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])),
);

export const oddValue = fc.oneof({ weight: 4, arbitrary: oddString }, { weight: 3, arbitrary: oddNumber }, { weight: 3, arbitrary: oddStructure });

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'is_admin', 'role', 'deleted_at', 'password_cipher', 'token_version', '', ' ', '数据', 'a'.repeat(5_000)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
);

// ---- valid-looking samples ---------------------------------------------------------------------

export function deref(s: JsonSchema | undefined, doc: { components?: { schemas?: Record<string, JsonSchema> } }): JsonSchema {
  let x = s ?? {};
  while (x.$ref) x = doc.components?.schemas?.[x.$ref.split('/').pop()!] ?? {};
  return x;
}

const typeOf = (s: JsonSchema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);

/** A value the schema probably accepts: required fields only, smallest numbers, `localhost` for strings. */
export function sample(s0: JsonSchema | undefined, doc: object, depth = 0): unknown {
  const s = deref(s0, doc);
  if (depth > 6) return null;
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum.find((v) => v !== null && v !== '') ?? s.enum[0];
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return sample(alts.find((a) => typeOf(deref(a, doc)) !== 'null') ?? alts[0], doc, depth + 1);
  switch (typeOf(s) ?? (s.properties ? 'object' : undefined)) {
    case 'object':
      return Object.fromEntries((s.required ?? []).map((k) => [k, sample(s.properties?.[k], doc, depth + 1)]));
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items, doc, depth + 1));
    case 'integer':
    case 'number': {
      const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? Math.floor(s.exclusiveMinimum) + 1 : 1);
      return s.maximum !== undefined ? Math.min(low, s.maximum) : low;
    }
    case 'boolean':
      return true;
    default:
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'email') return 'fuzz@example.com';
      return 'localhost'.padEnd(s.minLength ?? 0, 'x');
  }
}

// ---- requests ----------------------------------------------------------------------------------

export type Caller = 'actor' | 'none' | 'garbage' | 'huge-token' | 'basic' | 'refresh' | 'viewer';

export interface FuzzRequest {
  method: string;
  /** Path and query, ready for the URL (already encoded, odd encodings on purpose). */
  url: string;
  caller: Caller;
  body?: { contentType: string; text: string };
  /** What was broken, for failure messages. */
  note: string;
}

export interface Pools {
  /** Existing integer ids of several kinds (never the fuzzing user's own id). */
  ints: string[];
  uuids: string[];
  /** Existing string ids (job ids). */
  strings: string[];
}

const BAD_IDS = [
  '0', '-1', 'abc', '1.5', '2147483648', '99999999999999999999', '1e3', '0x1A', '%201', '%00', '%E0%A4%A', '%', '%25', 'é', '%F0%9F%90%B3', '%ED%A0%80', '%C0%AF',
  'x'.repeat(3_000), '__proto__', 'constructor', 'null', '2147483647', '00000000-0000-0000-0000-000000000000', '%27%20OR%201%3D1',
];

function pathValue(p: Parameter, pools: Pools, doc: object) {
  const s = deref(p.schema, doc);
  const known = typeOf(s) === 'integer' ? pools.ints : s.format === 'uuid' ? [...pools.uuids, randomUUID()] : s.enum ? s.enum.map(String) : pools.strings;
  return fc.oneof(
    { weight: 3, arbitrary: known.length ? fc.constantFrom(...known.map(pct)) : fc.constant('1') },
    { weight: 3, arbitrary: fc.constantFrom(...BAD_IDS) },
    // Not empty, `.` or `..`: those change which route the URL reaches instead of testing this one.
    { weight: 1, arbitrary: oddString.filter((x) => x.length < 5_000 && x.trim() !== '' && x !== '.' && x !== '..').map(pct) },
  );
}

type Mutation =
  | { kind: 'missing'; key: string }
  | { kind: 'set'; key: string; value: unknown }
  | { kind: 'extra'; key: string; value: unknown }
  /** One level down: a field of a nested object (or the first element of a nested array). */
  | { kind: 'nested'; key: string; inner: string; value: unknown };

/** Odd values of the field's own type (they get past type checks, to the bounds and the database), or of any type. */
function oddFor(s: JsonSchema, doc: object): fc.Arbitrary<unknown> {
  const alts = s.anyOf ?? s.oneOf;
  const x = alts ? deref(alts.find((a) => typeOf(deref(a, doc)) !== 'null') ?? alts[0], doc) : s;
  // Right at and just past the documented bounds: where a schema and a column can disagree.
  const edges: unknown[] = [];
  if (x.maxLength !== undefined) edges.push('x'.repeat(x.maxLength), '数'.repeat(x.maxLength), '🐳'.repeat(Math.ceil(x.maxLength / 2)), 'x'.repeat(x.maxLength + 1));
  if (x.minLength !== undefined && x.minLength > 0) edges.push('x'.repeat(x.minLength - 1));
  for (const b of [x.minimum, x.maximum, x.exclusiveMinimum]) if (b !== undefined) edges.push(b - 1, b, b + 1);
  const own =
    typeOf(x) === 'string' ? oddString
    : typeOf(x) === 'integer' || typeOf(x) === 'number' ? oddNumber
    : typeOf(x) === 'boolean' ? fc.constantFrom<unknown>(true, false, 'true', 'on', 'no', 0, 1, 2, 'maybe')
    : typeOf(x) === 'array' ? fc.array(x.items ? oddFor(deref(x.items, doc), doc) : oddValue, { maxLength: 3 }).chain((a) => fc.constantFrom<unknown>(a, new Array(1_001).fill(a[0] ?? 1)))
    : oddStructure;
  const arbs: { weight: number; arbitrary: fc.Arbitrary<unknown> }[] = [{ weight: 3, arbitrary: own }, { weight: 2, arbitrary: oddValue }];
  if (edges.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...edges) });
  return fc.oneof(...arbs);
}

function mutations(s: JsonSchema, forQuery: boolean, doc: object, base: Record<string, unknown> = {}, most = 3) {
  const props = Object.keys(s.properties ?? {});
  const required = s.required ?? [];
  const queryValue = oddString.filter((x) => x.length < 5_000);
  const value = forQuery ? queryValue : oddValue;
  const arbs: { weight: number; arbitrary: fc.Arbitrary<Mutation> }[] = [
    { weight: 2, arbitrary: fc.tuple(extraKey, value).map(([key, v]) => ({ kind: 'extra' as const, key, value: v })) },
  ];
  if (props.length) {
    const field = fc.constantFrom(...props).chain((key) => fc.tuple(fc.constant(key), forQuery ? queryValue : oddFor(deref(s.properties![key], doc), doc)));
    arbs.push({ weight: 6, arbitrary: field.map(([key, v]) => ({ kind: 'set' as const, key, value: v })) });
  }
  if (required.length) arbs.push({ weight: 2, arbitrary: fc.constantFrom(...required).map((key) => ({ kind: 'missing' as const, key })) });
  const nested = Object.entries(base).filter(([, v]) => v && typeof v === 'object');
  if (nested.length) {
    const inner = fc.constantFrom(...nested).chain(([key, v]) =>
      fc.tuple(fc.constant(key), Array.isArray(v) ? fc.constant('0') : fc.oneof(fc.constantFrom(...Object.keys(v as object), 'x'), extraKey), value),
    );
    arbs.push({ weight: 3, arbitrary: inner.map(([key, innerKey, v]) => ({ kind: 'nested' as const, key, inner: innerKey, value: v })) });
  }
  return fc.array(fc.oneof(...arbs), { minLength: 1, maxLength: most });
}

function apply(base: Record<string, unknown>, ms: Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const m of ms) {
    if (m.kind === 'missing') delete out[m.key];
    else if (m.kind === 'nested') {
      const inner = structuredClone(out[m.key]) as Record<string, unknown>;
      if (inner && typeof inner === 'object') Object.defineProperty(inner, m.inner, { value: m.value, enumerable: true, writable: true, configurable: true });
      out[m.key] = inner;
    }
    // defineProperty: a key named __proto__ must become a real field of the JSON, not the prototype.
    else Object.defineProperty(out, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const describeMutations = (ms: Mutation[]) =>
  ms
    .map((m) =>
      m.kind === 'missing'
        ? `-${m.key}`
        : `${m.kind === 'extra' ? '+' : ''}${m.key.slice(0, 40)}${m.kind === 'nested' ? `.${m.inner.slice(0, 40)}` : ''}=${toJson(m.value).slice(0, 60)}`,
    )
    .join(' ');

/** Percent-encoding that never throws: a lone surrogate goes as U+FFFD (the raw bytes are in BAD_IDS). */
export const pct = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

function queryString(entries: [string, string][]): string {
  return entries.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
}

const formOf = (o: unknown) =>
  o && typeof o === 'object' && !Array.isArray(o)
    ? new URLSearchParams(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : toJson(v)])).toString()
    : 'a=1&a=2&%ZZ=%';

const UNIQUE = ['name', 'username', 'rule_name'];
let unique = 0;

/**
 * A body the operation should accept: its documented example (or a sample of its schema). Names get a
 * fresh suffix each time, or every create after the first would only meet a 409.
 */
export function validBody(op: DocOperation, doc: object): Record<string, unknown> | undefined {
  const json = op.requestBody?.content['application/json'];
  if (!json) return undefined;
  const b = structuredClone(json.example ?? sample(deref(json.schema, doc), doc)) as Record<string, unknown>;
  if (b && typeof b === 'object') for (const k of UNIQUE) if (typeof b[k] === 'string') b[k] = `${b[k]}_${++unique}`;
  return b;
}

/**
 * The example with one string field at exactly its maximum length (ASCII or CJK, unique so creates
 * don't collide): accepted, so the row exists, and everything done with it later meets the long value.
 */
function longest(bodySchema: JsonSchema, doc: object, base: () => Record<string, unknown>): fc.Arbitrary<{ text: string; note: string }>[] {
  const fields = Object.entries(bodySchema.properties ?? {})
    .map(([k, p]) => [k, deref(p, doc)] as const)
    .filter(([, p]) => typeOf(p) === 'string' && p.maxLength !== undefined && p.maxLength <= 100_000);
  if (!fields.length) return [];
  return [
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom('x', '数')).map(([[k, p], c]) => {
      const b = base();
      b[k] = `${++unique}`.padStart(p.maxLength!, c);
      return { text: toJson(b), note: `body ${k} at its maximum length ${p.maxLength} (${c})` };
    }),
  ];
}

/** Every request shape for `op`: path values, query, body and caller, each possibly broken. */
export function requestFor(op: DocOperation, doc: object, pools: Pools): fc.Arbitrary<FuzzRequest> {
  const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
  const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
  const querySchema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(queryParams.map((p) => [p.name, p.schema ?? {}])),
    required: queryParams.filter((p) => p.required).map((p) => p.name),
  };
  const json = op.requestBody?.content['application/json'];
  const bodySchema = json ? deref(json.schema, doc) : undefined;
  // The documented example, when there is one, is valid: breaking one field of it reaches the service layer.
  const base = () => validBody(op, doc)!;

  const path = fc.tuple(...pathParams.map((p) => pathValue(p, pools, doc))).map((values) => {
    let url = op.path;
    pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, values[i]!)));
    return url;
  });

  const query = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ text: '', note: '' }) },
    {
      weight: 6,
      arbitrary: mutations(querySchema, true, doc).map((ms) => ({
        text: queryString(Object.entries(apply({}, ms)).map(([k, v]) => [k, String(v)])),
        note: `query ${describeMutations(ms)}`,
      })),
    },
    { weight: 1, arbitrary: fc.constantFrom(
      { text: 'page=1&page=x&per_page=%&sort=%E0%A4%A', note: 'query: repeated, bad percent-encoding' },
      { text: `filter=${'a:b,'.repeat(1_000)}`, note: 'query: long filter' },
      { text: `q=${'x'.repeat(20_000)}`, note: 'query: URL beyond the header limit' },
      { text: 'page[a]=1&per_page[]=2&__proto__[x]=1', note: 'query: bracket names' },
    ) },
  );

  const body: fc.Arbitrary<FuzzRequest['body'] & { note: string } | undefined> = bodySchema
    ? fc.oneof(
        ...[3, 1].map((most) => ({
          // Several breakages at once, or exactly one (which more often gets past validation).
          weight: most === 3 ? 6 : 4,
          arbitrary: mutations(bodySchema, false, doc, base(), most).map((ms) => ({
            contentType: 'application/json',
            text: toJson(apply(base(), ms)),
            note: `body ${describeMutations(ms)}`,
          })),
        })),
        { weight: 1, arbitrary: fc.constant({ contentType: 'application/json', text: toJson(base()), note: 'body: example' }) },
        ...longest(bodySchema, doc, base).map((arbitrary) => ({ weight: 3, arbitrary: arbitrary.map((b) => ({ contentType: 'application/json', ...b })) })),
        { weight: 1, arbitrary: oddValue.map((v) => ({ contentType: 'application/json', text: toJson(v), note: `body: ${toJson(v).slice(0, 60)}` })) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            { contentType: 'application/json', text: '{"a":', note: 'body: truncated JSON' },
            { contentType: 'application/json', text: '{"a":1}}', note: 'body: trailing garbage' },
            { contentType: 'application/json', text: '\u0000', note: 'body: NUL' },
            { contentType: 'application/json', text: `{"x":"${'y'.repeat(1_100_000)}"}`, note: 'body: beyond the size limit' },
            { contentType: 'application/json; charset=latin1', text: '{}', note: 'body: unsupported charset' },
            { contentType: 'text/plain', text: toJson(base()), note: 'body: JSON as text/plain' },
            { contentType: 'application/x-www-form-urlencoded', text: formOf(base()), note: 'body: form' },
            { contentType: 'text/csv', text: 'name,db_type\n"unterminated', note: 'body: broken CSV' },
          ),
        },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oddValue.map((v) => ({ contentType: 'application/json', text: toJson(v), note: 'unexpected body' })) });

  const caller = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Caller>('actor') },
    { weight: 1, arbitrary: fc.constantFrom<Caller>('none', 'garbage', 'huge-token', 'basic', 'refresh', 'viewer') },
  );

  return fc.tuple(path, query, op.method === 'get' ? fc.constant(undefined) : body, caller).map(([p, q, b, who]) => ({
    method: op.method.toUpperCase(),
    url: q.text ? `${p}?${q.text}` : p,
    caller: who,
    body: b ? { contentType: b.contentType, text: b.text } : undefined,
    note: [q.note, b?.note].filter(Boolean).join('; '),
  }));
}
