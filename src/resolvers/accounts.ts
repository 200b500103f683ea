/** Reads of synced accounts and their change history. */
import { z } from 'zod';
import { operation } from './operation.js';
import { DB_TYPES } from '../adapters/types.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import * as accounts from '../services/accounts/account-service.js';
import * as history from '../services/accounts/history-service.js';

const optional = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);

const listAccountsInput = listQuerySchema({
    sortFields: {
      username: 'username',
      last_change_time: 'lastChangeTime',
      lastChangeTime: 'lastChangeTime',
      last_sync_time: 'lastSyncTime',
      lastSyncTime: 'lastSyncTime',
      id: 'id',
    },
    defaultSort: 'username',
    defaultOrder: 'asc',
  }).extend({
    instanceId: optional(idSchema),
    dbType: optional(z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) })),
    isSuperuser: optional(looseBoolean),
    isLocked: optional(looseBoolean),
    isActive: optional(looseBoolean),
    classificationId: optional(idSchema),
    includeDeleted: optional(looseBoolean),
  });

export const listAccountsOp = operation({
  name: 'accounts',
  requires: 'view',
  input: listAccountsInput,
  run: (ctx, q) => accounts.listAccounts(ctx.deps, q),
});

/** The accounts under an instance path (/api/instances/{id}/accounts): 404 when the instance does not exist. */
export const instanceAccountsOp = operation({
  name: 'instanceAccounts',
  requires: 'view',
  input: listAccountsInput.extend({ instanceId: idSchema }),
  run: (ctx, q) => accounts.listInstanceAccounts(ctx.deps, q),
});

export const getAccountOp = operation({
  name: 'account',
  requires: 'view',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => accounts.getAccount(ctx.deps, id),
});

export const accountChangesOp = operation({
  name: 'accountChanges',
  requires: 'view',
  input: listQuerySchema({ sortFields: { change_time: 'changeTime' }, defaultSort: 'changeTime' })
    .extend({
      instanceId: optional(idSchema),
      accountId: optional(idSchema),
      changeType: optional(z.enum(['add', 'modify_privilege', 'modify_other', 'delete', 'restore'], { errorMap: () => ({ message: '无效的变更类型' }) })),
    })
    .superRefine(checkDateRange),
  run: (ctx, q) => accounts.listAccountChanges(ctx.deps, q),
});

/** An instant: ISO-8601 date-time with a zone (GraphQL DateTime arrives as a Date already). */
const instant = z.preprocess(
  (v) => {
    if (v instanceof Date) return v;
    if (typeof v !== 'string') return v;
    const s = v.trim();
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) return 'invalid';
    return new Date(s);
  },
  z
    .date({ required_error: '缺少 at (ISO-8601 时刻，如 2026-03-01T08:00:00Z)', invalid_type_error: 'at 应为带时区的 ISO-8601 时刻，如 2026-03-01T08:00:00Z' })
    .refine((d) => !Number.isNaN(d.getTime()), 'at 应为带时区的 ISO-8601 时刻，如 2026-03-01T08:00:00Z')
    .refine((d) => d.getTime() <= Date.now(), 'at 不能是将来的时刻'),
);

/** Privilege names as the engines spell them (INSERT, ALTER ROUTINE, CREATE ANY TABLE…), upper-cased. */
const privilegeName = z
  .string()
  .trim()
  .min(1, 'privilege 不能为空')
  .max(64, 'privilege 最长 64 个字符')
  .regex(/^[A-Za-z_][A-Za-z_ ]*$/, 'privilege 只能包含字母、下划线和空格')
  .transform((v) => v.replace(/\s+/g, ' ').toUpperCase());

export const accountsAtOp = operation({
  name: 'accountsAt',
  requires: 'view',
  input: listQuerySchema({
    sortFields: { username: 'username', id: 'id', valid_from: 'validFrom', validFrom: 'validFrom' },
    defaultSort: 'username',
    defaultOrder: 'asc',
  }).extend({
    instanceId: idSchema,
    at: instant,
    dbType: optional(z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) })),
    isSuperuser: optional(looseBoolean),
    isLocked: optional(looseBoolean),
    isActive: optional(looseBoolean),
    includeDeleted: optional(looseBoolean),
    privilege: optional(privilegeName),
    database: optional(z.string().min(1, 'database 不能为空').max(128, 'database 最长 128 个字符')),
    role: optional(z.string().trim().min(1, 'role 不能为空').max(128, 'role 最长 128 个字符')),
    rule: optional(z.union([z.record(z.unknown()), z.string().max(20_000)], { errorMap: () => ({ message: 'rule 应为规则表达式 (JSON 对象)' }) })),
  }).superRefine((v, ctx) => {
    if (v.database !== undefined && v.privilege === undefined && v.role === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['database'], message: 'database 需与 privilege 或 role 一起使用' });
    }
  }),
  run: (ctx, q) => history.listAccountsAt(ctx.deps, q),
});
