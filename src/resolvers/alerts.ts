/**
 * Alert operations: rules (read: view; write: admin), alerts (view), webhook endpoints and their
 * delivery log (admin: they send data out of the network and name where to).
 */
import { z, ZodError, type ZodIssue } from 'zod';
import { operation } from './operation.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import { validationErrorFrom } from '../lib/validation.js';
import * as alerts from '../services/alerts/alert-service.js';
import * as webhooks from '../services/alerts/webhook-service.js';
import { ALERT_RULE_KINDS, CONDITION_SCHEMAS, DEFAULT_SEVERITY, SEVERITIES, normalizeConditionKeys, type AlertRuleKind, type RuleConditions } from '../services/alerts/rules.js';

const opt = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);
export const severitySchema = z.enum(SEVERITIES, { errorMap: () => ({ message: `严重程度必须是 ${SEVERITIES.join(', ')} 之一` }) });
const kindSchema = z.enum(ALERT_RULE_KINDS, { errorMap: () => ({ message: `规则类型必须是 ${ALERT_RULE_KINDS.join(', ')} 之一` }) });
const ruleName = z.string({ required_error: '规则名称不能为空' }).trim().min(1, '规则名称不能为空').max(100, '规则名称最多 100 个字符');
const description = z.string().max(2000, '描述最多 2000 个字符');

/** A rule's conditions validated against its kind; field errors are named `conditions.<key>`. */
function parseConditions(kind: AlertRuleKind, raw: unknown): RuleConditions {
  const res = CONDITION_SCHEMAS[kind].safeParse(normalizeConditionKeys(raw ?? {}));
  if (res.success) return res.data as RuleConditions;
  throw validationErrorFrom(new ZodError(res.error.issues.map((i) => ({ ...i, path: ['conditions', ...i.path] }) as ZodIssue)));
}

export const alertRuleKindsOp = operation({
  name: 'alertRuleKinds',
  requires: 'view',
  input: z.object({}),
  run: async () => ALERT_RULE_KINDS.map((kind) => ({ kind, defaultSeverity: DEFAULT_SEVERITY[kind], conditions: Object.keys((CONDITION_SCHEMAS[kind] as z.AnyZodObject).shape) })),
});

export const alertRulesOp = operation({
  name: 'alertRules',
  requires: 'view',
  input: z.object({ kind: opt(kindSchema), isEnabled: opt(looseBoolean) }),
  run: (ctx, f) => alerts.listRules(ctx.deps, f),
});

export const alertRuleOp = operation({ name: 'alertRule', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => alerts.getRule(ctx.deps, id) });

export const createAlertRuleOp = operation({
  name: 'createAlertRule',
  requires: 'admin',
  input: z
    .object({ name: ruleName, kind: kindSchema, severity: opt(severitySchema), conditions: z.unknown().optional(), description: opt(description), isEnabled: opt(looseBoolean) })
    .strict(),
  run: (ctx, input) =>
    alerts.createRule(
      ctx.deps,
      { ...input, severity: input.severity ?? DEFAULT_SEVERITY[input.kind], conditions: parseConditions(input.kind, input.conditions) },
      ctx.user,
    ),
});

export const updateAlertRuleOp = operation({
  name: 'updateAlertRule',
  requires: 'admin',
  input: z
    .object({
      id: idSchema,
      name: opt(ruleName),
      severity: opt(severitySchema),
      conditions: z.unknown().optional(),
      description: description.nullish(),
      isEnabled: opt(looseBoolean),
    })
    .strict(),
  run: async (ctx, { id, conditions, ...input }) => {
    const rule = await alerts.getRule(ctx.deps, id);
    return alerts.updateRule(
      ctx.deps,
      id,
      { ...input, ...(conditions !== undefined ? { conditions: parseConditions(rule.kind as AlertRuleKind, conditions) } : {}) },
      ctx.user,
    );
  },
});

export const setAlertRuleEnabledOp = operation({
  name: 'setAlertRuleEnabled',
  requires: 'admin',
  input: z.object({ id: idSchema, enabled: looseBoolean }),
  run: (ctx, { id, enabled }) => alerts.updateRule(ctx.deps, id, { isEnabled: enabled }, ctx.user),
});

export const deleteAlertRuleOp = operation({ name: 'deleteAlertRule', requires: 'admin', input: z.object({ id: idSchema }), run: (ctx, { id }) => alerts.deleteRule(ctx.deps, id, ctx.user) });

export const alertsOp = operation({
  name: 'alerts',
  requires: 'view',
  input: listQuerySchema({ sortFields: { id: 'id', created_at: 'createdAt', createdAt: 'createdAt', severity: 'severity' }, defaultSort: 'id' })
    .extend({
      instanceId: opt(idSchema),
      ruleId: opt(idSchema),
      kind: opt(kindSchema),
      severity: opt(severitySchema),
      sessionId: opt(z.string().trim().uuid('会话ID格式无效')),
    })
    .superRefine(checkDateRange),
  run: (ctx, q) => alerts.listAlerts(ctx.deps, q),
});

export const alertOp = operation({ name: 'alert', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => alerts.getAlert(ctx.deps, id) });

// ---------------------------------------------------------------- webhooks

const webhookName = z.string({ required_error: '名称不能为空' }).trim().min(1, '名称不能为空').max(100, '名称最多 100 个字符');
const url = z.string({ required_error: 'URL 不能为空' }).trim().min(1, 'URL 不能为空').max(2000, 'URL 最多 2000 个字符');
/** Write-only. null removes it (deliveries are then unsigned). */
const secret = z.string().min(16, '签名密钥至少 16 个字符').max(256, '签名密钥最多 256 个字符');
const ruleIds = z.array(idSchema, { invalid_type_error: 'rule_ids 必须是数组' }).max(100, 'rule_ids 最多 100 项');

export const webhooksOp = operation({ name: 'webhookEndpoints', requires: 'admin', input: z.object({}), run: (ctx) => webhooks.listEndpoints(ctx.deps) });
export const webhookOp = operation({ name: 'webhookEndpoint', requires: 'admin', input: z.object({ id: idSchema }), run: (ctx, { id }) => webhooks.getEndpoint(ctx.deps, id) });

export const createWebhookOp = operation({
  name: 'createWebhookEndpoint',
  requires: 'admin',
  input: z
    .object({
      name: webhookName,
      url,
      secret: opt(secret),
      isEnabled: opt(looseBoolean),
      ruleIds: opt(ruleIds),
      minSeverity: opt(severitySchema),
      description: opt(description),
    })
    .strict(),
  run: (ctx, input) => webhooks.createEndpoint(ctx.deps, input, ctx.user),
});

export const updateWebhookOp = operation({
  name: 'updateWebhookEndpoint',
  requires: 'admin',
  input: z
    .object({
      id: idSchema,
      name: opt(webhookName),
      url: opt(url),
      secret: secret.nullish(),
      isEnabled: opt(looseBoolean),
      ruleIds: opt(ruleIds),
      minSeverity: severitySchema.nullish(),
      description: description.nullish(),
    })
    .strict(),
  run: (ctx, { id, ...input }) => webhooks.updateEndpoint(ctx.deps, id, input, ctx.user),
});

export const setWebhookEnabledOp = operation({
  name: 'setWebhookEndpointEnabled',
  requires: 'admin',
  input: z.object({ id: idSchema, enabled: looseBoolean }),
  run: (ctx, { id, enabled }) => webhooks.updateEndpoint(ctx.deps, id, { isEnabled: enabled }, ctx.user),
});

export const deleteWebhookOp = operation({ name: 'deleteWebhookEndpoint', requires: 'admin', input: z.object({ id: idSchema }), run: (ctx, { id }) => webhooks.deleteEndpoint(ctx.deps, id, ctx.user) });

export const webhookDeliveriesOp = operation({
  name: 'webhookDeliveries',
  requires: 'admin',
  input: listQuerySchema({ sortFields: { id: 'id', created_at: 'createdAt', createdAt: 'createdAt' }, defaultSort: 'id' }).extend({
    endpointId: opt(idSchema),
    alertId: opt(idSchema),
    status: opt(z.enum(['pending', 'delivering', 'succeeded', 'failed'], { errorMap: () => ({ message: '状态必须是 pending、delivering、succeeded 或 failed' }) })),
  }),
  run: (ctx, q) => webhooks.listDeliveries(ctx.deps, q),
});

export const webhookDeliveryOp = operation({ name: 'webhookDelivery', requires: 'admin', input: z.object({ id: idSchema }), run: (ctx, { id }) => webhooks.getDelivery(ctx.deps, id) });

/** Arguments of the accountAlerts subscription. */
export const alertSubscriptionArgs = z.object({
  instanceId: opt(idSchema),
  severity: opt(z.array(severitySchema).max(3)),
  minSeverity: opt(severitySchema),
});
