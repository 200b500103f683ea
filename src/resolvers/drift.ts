/** Baselines, drift reports and the grant export (issue #11 items 2 and 6). */
import { z } from 'zod';
import { operation } from './operation.js';
import { idSchema } from '../lib/schemas.js';
import { ValidationError } from '../lib/errors.js';
import * as drift from '../services/drift/drift-service.js';
import { DRIFT_KINDS } from '../services/drift/drift.js';
import { exportGrants, GRANT_EXPORT_FORMATS } from '../services/accounts/grant-export.js';

const instanceInput = z.object({ instanceId: idSchema });

/** Freeze one instance (`instanceId`) or every instance carrying a tag (`tag`): exactly one of them. */
export const createBaselineOp = operation({
  name: 'createBaseline',
  requires: 'update',
  input: z
    .object({
      instanceId: idSchema.nullish(),
      tag: z.string({ invalid_type_error: '标签必须是字符串' }).trim().min(1, '标签不能为空').max(50, '标签过长').nullish(),
    })
    .superRefine((v, c) => {
      if ((v.instanceId == null) === (v.tag == null)) c.addIssue({ code: 'custom', path: ['instanceId'], message: '必须且只能指定 instance_id 或 tag 之一' });
    }),
  run: (ctx, input) => (input.instanceId != null ? drift.freezeInstance(ctx.deps, ctx.user!.id, input.instanceId) : drift.freezeTag(ctx.deps, ctx.user!.id, input.tag!)),
});

export const baselineOp = operation({
  name: 'baseline',
  requires: 'view',
  input: instanceInput,
  run: (ctx, { instanceId }) => drift.getBaseline(ctx.deps, instanceId),
});

export const driftReportOp = operation({
  name: 'driftReport',
  requires: 'view',
  input: instanceInput,
  run: (ctx, { instanceId }) => drift.driftReport(ctx.deps, instanceId),
});

const PRIVILEGE_KINDS = new Set(['extra_privilege', 'missing_privilege']);

const acceptItem = z
  .object({
    kind: z.enum(DRIFT_KINDS, { errorMap: () => ({ message: `kind 必须是 ${DRIFT_KINDS.join(', ')} 之一` }) }),
    account: z.string({ required_error: '缺少 account', invalid_type_error: 'account 必须是字符串' }).min(1, 'account 不能为空').max(255, 'account 过长'),
    privilege: z.string({ invalid_type_error: 'privilege 必须是字符串' }).max(1000, 'privilege 过长').nullish(),
  })
  .superRefine((v, c) => {
    if (PRIVILEGE_KINDS.has(v.kind) && !v.privilege) c.addIssue({ code: 'custom', path: ['privilege'], message: '权限条目必须指定 privilege' });
    if (!PRIVILEGE_KINDS.has(v.kind) && v.privilege) c.addIssue({ code: 'custom', path: ['privilege'], message: '账户条目不能指定 privilege' });
  });

export const acceptDriftOp = operation({
  name: 'acceptDrift',
  requires: 'update',
  input: z.object({
    instanceId: idSchema,
    items: z.array(acceptItem, { required_error: '缺少 items', invalid_type_error: 'items 必须是数组' }).min(1, '至少接受一个条目').max(1000, '一次最多接受 1000 个条目'),
  }),
  run: (ctx, { instanceId, items }) => drift.acceptDrift(ctx.deps, ctx.user!.id, instanceId, items),
});

export const grantExportOp = operation({
  name: 'grantExport',
  requires: 'view',
  input: instanceInput.extend({
    format: z
      .preprocess((v) => (v === 'txt' ? 'text' : v), z.enum(GRANT_EXPORT_FORMATS, { errorMap: () => ({ message: 'format 必须是 text 或 csv' }) }))
      .nullish()
      .transform((v) => v ?? 'text'),
  }),
  run: (ctx, { instanceId, format }) => exportGrants(ctx.deps, instanceId, format),
});

/** `?format=` of the drift report over REST: json (default) or csv. */
export function driftFormat(v: unknown): 'json' | 'csv' {
  if (v === undefined || v === '' || v === 'json') return 'json';
  if (v === 'csv') return 'csv';
  throw new ValidationError('参数错误', { errors: [{ field: 'format', message: 'format 必须是 json 或 csv' }] });
}
