/** Inventory operations: credentials, instances, database types, connection tests, statistics. */
import net from 'node:net';
import { z } from 'zod';
import { operation } from './operation.js';
import { DB_TYPES } from '../adapters/types.js';
import { listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import * as creds from '../services/inventory/credential-service.js';
import * as inst from '../services/inventory/instance-service.js';
import { listDatabaseTypes } from '../services/inventory/database-types.js';
import { ValidationError } from '../lib/errors.js';
import { csvSafe } from '../lib/csv.js';

const optional = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);
const dbType = z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) });
const name = z.string({ required_error: '缺少名称' }).trim().min(1, '名称不能为空').max(255, '名称最长 255 个字符').refine((v) => !v.includes('~deleted~'), '名称包含保留字符串');
const description = z.string().max(2000).nullish();

/** Hostname (RFC 1123 labels) or an IPv4/IPv6 literal; no schemes, paths or spaces. */
const host = z
  .string({ required_error: '缺少主机地址' })
  .trim()
  .min(1, '主机地址不能为空')
  .max(253, '主机地址过长')
  .refine((h) => net.isIP(h) !== 0 || /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(h), '主机地址必须是主机名或 IP 地址');
const port = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
  z.number({ required_error: '缺少端口号', invalid_type_error: '端口号必须是有效的数字' }).int('端口号必须是整数').min(1, '端口号必须在1-65535之间').max(65535, '端口号必须在1-65535之间'),
);
const connectionOptions = z
  .object({
    tls: looseBoolean.optional(),
    tlsRejectUnauthorized: looseBoolean.optional(),
    oracleConnectAs: z.enum(['service', 'sid']).optional(),
    sqlserverInstanceName: z.string().trim().max(128).regex(/^[\w$-]*$/, '实例名只能包含字母、数字、_、$、-').optional(),
    connectTimeoutMs: z.number().int().min(500, '连接超时至少 500 ms').max(120_000, '连接超时最多 120000 ms').optional(),
  })
  .strict();
const tags = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().trim().min(1).max(50).regex(/^[\w.-]+$/, '标签名只能包含字母、数字、_、.、-')).max(50),
);

// ---- credentials ----
const credentialType = z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['database', 'ssh', 'windows', 'api'], { errorMap: () => ({ message: '凭据类型必须是 database、ssh、windows 或 api' }) }));
const credUsername = z.string({ required_error: '缺少用户名' }).trim().min(1, '用户名不能为空').max(128, '用户名最长 128 个字符');
const credPassword = z.string({ required_error: '缺少密码', invalid_type_error: '密码必须是字符串' }).min(1, '密码不能为空').max(1024, '密码过长');

export const createCredentialOp = operation({
  name: 'createCredential',
  requires: 'create',
  input: z.object({ name, credentialType: credentialType.default('database'), dbType: optional(dbType), username: credUsername, password: credPassword, description, isActive: looseBoolean.optional() }),
  run: (ctx, i) => creds.createCredential(ctx.deps, ctx.user!, i),
});
export const updateCredentialOp = operation({
  name: 'updateCredential',
  requires: 'update',
  input: z.object({
    id: idSchema,
    name: name.optional(),
    credentialType: credentialType.optional(),
    dbType: dbType.nullish(),
    username: credUsername.optional(),
    // Empty keeps the stored password (edit forms send the field blank).
    password: z.union([z.literal('').transform(() => undefined), credPassword]).optional(),
    description,
    isActive: looseBoolean.optional(),
  }),
  run: (ctx, { id, ...i }) => creds.updateCredential(ctx.deps, ctx.user!, id, i),
});
export const deleteCredentialOp = operation({ name: 'deleteCredential', requires: 'delete', input: z.object({ id: idSchema }), run: (ctx, { id }) => creds.deleteCredential(ctx.deps, ctx.user!, id) });
export const toggleCredentialOp = operation({ name: 'toggleCredential', requires: 'update', input: z.object({ id: idSchema }), run: (ctx, { id }) => creds.toggleCredential(ctx.deps, ctx.user!, id) });
export const getCredentialOp = operation({ name: 'credential', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => creds.getCredential(ctx.deps, id) });
export const listCredentialsOp = operation({
  name: 'credentials',
  requires: 'view',
  input: listQuerySchema({ sortFields: { id: 'id', name: 'name', created_at: 'createdAt', createdAt: 'createdAt' }, defaultSort: 'name', defaultOrder: 'asc' }).extend({
    credentialType: optional(credentialType),
    dbType: optional(dbType),
    isActive: optional(looseBoolean),
  }),
  run: (ctx, q) => creds.listCredentials(ctx.deps, q),
});

// ---- instances ----
const environment = z.enum(['production', 'development', 'testing'], { errorMap: () => ({ message: '环境必须是 production、development 或 testing' }) });
const instanceFields = {
  name,
  dbType,
  host,
  port,
  databaseName: z.string().trim().max(255).nullish(),
  credentialId: idSchema.nullish(),
  environment: environment.optional(),
  description,
  isActive: looseBoolean.optional(),
  tags: tags.optional(),
  connectionOptions: connectionOptions.optional(),
};
/** Upstream forms send `tag_names`; GraphQL and the API document say `tags`. */
const withTagAlias = (v: unknown) => (v && typeof v === 'object' && 'tagNames' in v && !('tags' in v) ? { ...(v as object), tags: (v as { tagNames: unknown }).tagNames } : v);

export const createInstanceOp = operation({
  name: 'createInstance',
  requires: 'create',
  input: z.preprocess(withTagAlias, z.object(instanceFields)),
  run: (ctx, i) => inst.createInstance(ctx.deps, ctx.user!, i),
});
export const updateInstanceOp = operation({
  name: 'updateInstance',
  requires: 'update',
  input: z.preprocess(
    withTagAlias,
    z.object({
      id: idSchema,
      name: name.optional(),
      dbType: dbType.optional(),
      host: host.optional(),
      port: port.optional(),
      databaseName: instanceFields.databaseName,
      credentialId: instanceFields.credentialId,
      environment: environment.optional(),
      description,
      isActive: looseBoolean.optional(),
      tags: tags.optional(),
      connectionOptions: connectionOptions.optional(),
    }),
  ),
  run: (ctx, { id, ...i }) => inst.updateInstance(ctx.deps, ctx.user!, id, i),
});
export const deleteInstanceOp = operation({ name: 'deleteInstance', requires: 'delete', input: z.object({ id: idSchema }), run: (ctx, { id }) => inst.deleteInstance(ctx.deps, ctx.user!, id) });
export const getInstanceOp = operation({ name: 'instance', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => inst.getInstance(ctx.deps, id) });
export const listInstancesOp = operation({
  name: 'instances',
  requires: 'view',
  input: listQuerySchema({
    sortFields: { id: 'id', name: 'name', host: 'host', db_type: 'dbType', dbType: 'dbType', created_at: 'createdAt', createdAt: 'createdAt', last_connected: 'lastConnected' },
    defaultSort: 'id',
    defaultOrder: 'asc',
  }).extend({
    dbType: optional(dbType),
    environment: optional(environment),
    tag: optional(z.string().max(50)),
    isActive: optional(looseBoolean),
    connectionStatus: optional(z.enum(['reachable', 'unreachable', 'unknown'], { errorMap: () => ({ message: '连接状态必须是 reachable、unreachable 或 unknown' }) })),
  }),
  run: (ctx, q) => inst.listInstances(ctx.deps, q),
});
export const testInstanceConnectionOp = operation({
  name: 'testInstanceConnection',
  requires: 'view',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => inst.testInstanceConnection(ctx.deps, ctx.user!, id),
});
export const testConnectionOp = operation({
  name: 'testConnection',
  requires: 'view',
  input: z
    .object({
      dbType,
      host,
      port,
      databaseName: z.string().trim().max(255).nullish(),
      database: z.string().trim().max(255).nullish(),
      credentialId: optional(idSchema),
      username: optional(credUsername),
      password: optional(credPassword),
      connectionOptions: connectionOptions.optional(),
    })
    .refine((v) => v.credentialId || (v.username && v.password), { message: '需要 credential_id，或 username 与 password', path: ['credentialId'] }),
  run: (ctx, p) => inst.testConnectionParams(ctx.deps, ctx.user!, { ...p, databaseName: p.databaseName ?? p.database }),
});
export const instanceStatisticsOp = operation({ name: 'instanceStatistics', requires: 'view', input: z.object({}), run: (ctx) => inst.instanceStatistics(ctx.deps) });

// ---- database types ----
export const databaseTypesOp = operation({
  name: 'databaseTypes',
  requires: 'authenticated',
  input: z.object({ activeOnly: optional(looseBoolean) }),
  run: (ctx, { activeOnly }) => listDatabaseTypes(ctx.deps.prisma, activeOnly ?? false),
});

/** What the create-instance form needs: types with default ports, credentials, environments, tags. */
export const formOptionsOp = operation({
  name: 'instanceFormOptions',
  requires: 'authenticated',
  input: z.object({}),
  run: async (ctx) => {
    const [types, credentials, tagRows] = await Promise.all([
      listDatabaseTypes(ctx.deps.prisma, true),
      ctx.deps.prisma.credential.findMany({ where: { deletedAt: null, isActive: true }, select: { id: true, name: true, username: true, dbType: true }, orderBy: { name: 'asc' }, take: 500 }),
      ctx.deps.prisma.tag.findMany({ where: { isActive: true }, orderBy: [{ category: 'asc' }, { sortOrder: 'asc' }, { name: 'asc' }], take: 500 }),
    ]);
    return { types, credentials, environments: environment.options, tags: tagRows };
  },
});

// ---- batch create / delete / export ----
const CSV_COLUMNS = ['name', 'db_type', 'host', 'port', 'database_name', 'credential_id', 'environment', 'description', 'tags'] as const;
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelRow = (r: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '' && v !== null && v !== undefined).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]));

export const batchCreateInstancesOp = operation({
  name: 'batchCreateInstances',
  requires: 'create',
  input: z
    .object({
      instances: z.array(z.record(z.unknown())).min(1, '至少需要一行').max(1000, '一次最多 1000 行').optional(),
      csv: z.string().max(2_000_000).optional(),
    })
    .refine((v) => v.instances || v.csv, { message: '需要 instances (JSON 数组) 或 CSV 内容', path: ['instances'] }),
  run: async (ctx, input) => {
    let raw: Record<string, unknown>[];
    if (input.csv !== undefined) {
      const { parse } = await import('csv-parse/sync');
      try {
        raw = parse(input.csv, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true });
      } catch (err) {
        throw new ValidationError(`CSV 格式错误: ${(err as Error).message}`);
      }
      if (raw.length === 0) throw new ValidationError('CSV 没有数据行');
      if (raw.length > 1000) throw new ValidationError('一次最多 1000 行');
      const unknown = Object.keys(raw[0]!).filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
      if (unknown.length) throw new ValidationError(`未知的 CSV 列: ${unknown.join(', ')} (可用: ${CSV_COLUMNS.join(', ')})`);
    } else raw = input.instances!;
    const rowErrors: inst.RowError[] = [];
    const rows: Array<{ row: number; input: inst.InstanceInput }> = [];
    raw.forEach((r, i) => {
      const parsed = createInstanceOp.input.safeParse(camelRow(r));
      if (parsed.success) rows.push({ row: i + 1, input: parsed.data });
      else rowErrors.push({ row: i + 1, name: typeof r.name === 'string' ? r.name : undefined, errors: parsed.error.issues.map((e) => ({ field: e.path.map(String).map(snake).join('.'), message: e.message })) });
    });
    return inst.batchCreateInstances(ctx.deps, ctx.user!, rows, rowErrors);
  },
});

export const batchDeleteInstancesOp = operation({
  name: 'batchDeleteInstances',
  requires: 'delete',
  input: z.object({ instanceIds: z.array(idSchema, { required_error: '请选择要删除的实例' }).min(1, '请选择要删除的实例').max(1000) }),
  run: (ctx, { instanceIds }) => inst.batchDeleteInstances(ctx.deps, ctx.user!, instanceIds),
});


export const exportInstancesOp = operation({
  name: 'exportInstances',
  requires: 'view',
  input: listInstancesOp.input,
  run: async (ctx, q) => {
    const page = await inst.listInstances(ctx.deps, { ...q, page: 1, perPage: 10_000, first: undefined, after: undefined });
    const { stringify } = await import('csv-stringify/sync');
    const header = [...CSV_COLUMNS, 'main_version', 'connection_status', 'last_connected', 'is_active'];
    const lines = page.items.map((i) =>
      [i.name, i.dbType, i.host, i.port, i.databaseName, i.credentialId, i.environment, i.description, i.tags.map((x) => x.tag.name).join(','), i.mainVersion, i.connectionStatus ?? 'unknown', i.lastConnected?.toISOString(), i.isActive].map(csvSafe),
    );
    return { csv: stringify([header, ...lines]), count: page.items.length };
  },
});
