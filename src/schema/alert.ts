/**
 * Alerts over GraphQL: alert rules, the alerts they raised, webhook endpoints with their delivery
 * log, and the live accountAlerts subscription (every replica's alerts, through pub/sub).
 */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/alerts.js';
import { parseInput } from '../lib/validation.js';
import type { AlertEvent } from '../realtime/pubsub.js';
import type { AlertRuleRow, AlertRow } from '../services/alerts/alert-service.js';
import type { DeliveryRow, EndpointView } from '../services/alerts/webhook-service.js';
import { SEVERITY_RANK, type RuleConditions, type Severity } from '../services/alerts/rules.js';

const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

const AlertRuleConditionsRef = builder.objectRef<RuleConditions>('AlertRuleConditions').implement({
  description: 'Filters of a rule; an absent list does not filter. Instance filters match any listed value.',
  fields: (t) => ({
    dbTypes: t.stringList({ nullable: true, resolve: (c) => c.dbTypes ?? null }),
    instanceTags: t.stringList({ nullable: true, description: 'tag names of the instance', resolve: (c) => c.instanceTags ?? null }),
    environments: t.stringList({ nullable: true, description: 'instance environment, e.g. production', resolve: (c) => c.environments ?? null }),
    privileges: t.stringList({ nullable: true, description: 'privilege names (privilege_granted, privilege_outside_baseline)', resolve: (c) => c.privileges ?? null }),
  }),
});

const AlertRuleConditionsInput = builder.inputType('AlertRuleConditionsInput', {
  fields: (t) => ({
    dbTypes: t.stringList(),
    instanceTags: t.stringList(),
    environments: t.stringList(),
    privileges: t.stringList(),
  }),
});

export const AlertRuleRef = builder.objectRef<AlertRuleRow>('AlertRule').implement({
  description: 'A rule that raises alerts on account changes found by a sync',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.exposeString('kind', { description: 'new_superuser, privilege_granted, account_created, account_deleted or privilege_outside_baseline' }),
    severity: t.exposeString('severity', { description: 'info, warning or critical' }),
    conditions: t.field({ type: AlertRuleConditionsRef, resolve: (r) => (r.conditions ?? {}) as RuleConditions }),
    description: t.exposeString('description', { nullable: true }),
    isEnabled: t.exposeBoolean('isEnabled'),
    createdBy: t.exposeID('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

type KindInfo = Awaited<ReturnType<typeof ops.alertRuleKindsOp.run>>[number];
const AlertRuleKindRef = builder.objectRef<KindInfo>('AlertRuleKind').implement({
  fields: (t) => ({
    kind: t.exposeString('kind'),
    defaultSeverity: t.exposeString('defaultSeverity'),
    conditions: t.exposeStringList('conditions', { description: 'the condition keys this kind accepts' }),
  }),
});

type AlertShape = AlertRow | AlertEvent;
export const AccountAlertRef = builder.objectRef<AlertShape>('AccountAlert').implement({
  description: 'An alert rule that matched one account change',
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleId: t.exposeID('ruleId', { nullable: true, description: 'null once the rule is deleted' }),
    ruleName: t.exposeString('ruleName'),
    kind: t.exposeString('kind'),
    severity: t.exposeString('severity'),
    instanceId: t.exposeID('instanceId'),
    instanceName: t.exposeString('instanceName'),
    dbType: t.exposeString('dbType'),
    accountId: t.exposeID('accountId', { nullable: true }),
    username: t.exposeString('username'),
    changeType: t.exposeString('changeType', { description: 'the account_change_log change type: add, modify_privilege, restore, delete…' }),
    changeLogId: t.exposeID('changeLogId', { nullable: true }),
    sessionId: t.exposeString('sessionId', { nullable: true }),
    message: t.exposeString('message'),
    details: t.field({ type: 'JSON', description: 'e.g. { grants: [{ field, scope, privilege }] }', resolve: (a) => a.details ?? {} }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
  }),
});
const AccountAlertConnection = connectionType('AccountAlert', AccountAlertRef);

const WebhookEndpointRef = builder.objectRef<EndpointView>('WebhookEndpoint').implement({
  description: 'Where alerts are POSTed. The signing secret is write-only: only hasSecret is shown.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    url: t.exposeString('url'),
    hasSecret: t.exposeBoolean('hasSecret', { description: 'whether deliveries carry X-WhaleFall-Signature' }),
    isEnabled: t.exposeBoolean('isEnabled'),
    ruleIds: t.idList({ description: 'only alerts of these rules (empty: every rule)', resolve: (e) => e.ruleIds }),
    minSeverity: t.exposeString('minSeverity', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    createdBy: t.exposeID('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

type AttemptRow = DeliveryRow['attemptLogs'][number];
const WebhookDeliveryAttemptRef = builder.objectRef<AttemptRow>('WebhookDeliveryAttempt').implement({
  description: 'One attempt of a delivery',
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    success: t.exposeBoolean('success'),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'the first 1,000 characters of the answer' }),
    nextRetryAt: t.expose('nextRetryAt', { type: 'DateTime', nullable: true, description: 'when the next attempt is due (null: none)' }),
    node: t.exposeString('node', { nullable: true }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<DeliveryRow>('WebhookDelivery').implement({
  description: 'One alert to deliver to one endpoint, with its attempts',
  fields: (t) => ({
    id: t.exposeID('id'),
    deliveryId: t.exposeString('deliveryId', { description: 'X-WhaleFall-Delivery' }),
    endpointId: t.exposeID('endpointId'),
    alertId: t.exposeID('alertId', { nullable: true }),
    event: t.exposeString('event'),
    status: t.exposeString('status', { description: 'pending, delivering, succeeded or failed' }),
    attempts: t.exposeInt('attempts'),
    maxAttempts: t.exposeInt('maxAttempts'),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime' }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    payload: t.field({ type: 'JSON', description: 'the body sent (the same on every attempt)', resolve: (d) => JSON.parse(d.payload) as unknown }),
    attemptLog: t.field({ type: [WebhookDeliveryAttemptRef], resolve: (d) => d.attemptLogs }),
  }),
});
const WebhookDeliveryConnection = connectionType('WebhookDelivery', WebhookDeliveryRef);

builder.queryFields((t) => ({
  alertRuleKinds: t.field({ type: [AlertRuleKindRef], authScopes: scopesFor(ops.alertRuleKindsOp.requires), resolve: (_r, _a, ctx) => execute(ops.alertRuleKindsOp, ctx, {}) }),
  alertRules: t.field({
    type: [AlertRuleRef],
    authScopes: scopesFor(ops.alertRulesOp.requires),
    args: { kind: t.arg.string(), isEnabled: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.alertRulesOp, ctx, clean(a)),
  }),
  alertRule: t.field({ type: AlertRuleRef, authScopes: scopesFor(ops.alertRuleOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.alertRuleOp, ctx, a) }),
  alerts: t.field({
    type: AccountAlertConnection,
    description: 'Alerts raised, newest first by default',
    authScopes: scopesFor(ops.alertsOp.requires),
    args: {
      ...pagingArgs(t.arg),
      instanceId: t.arg.id(),
      ruleId: t.arg.id(),
      kind: t.arg.string(),
      severity: t.arg.string(),
      sessionId: t.arg.string(),
      search: t.arg.string(),
      startDate: t.arg.string(),
      endDate: t.arg.string(),
    },
    resolve: (_r, a, ctx) => execute(ops.alertsOp, ctx, clean(a)),
  }),
  alert: t.field({ type: AccountAlertRef, authScopes: scopesFor(ops.alertOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.alertOp, ctx, a) }),
  webhookEndpoints: t.field({ type: [WebhookEndpointRef], authScopes: scopesFor(ops.webhooksOp.requires), resolve: (_r, _a, ctx) => execute(ops.webhooksOp, ctx, {}) }),
  webhookEndpoint: t.field({ type: WebhookEndpointRef, authScopes: scopesFor(ops.webhookOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.webhookOp, ctx, a) }),
  webhookDeliveries: t.field({
    type: WebhookDeliveryConnection,
    description: 'The delivery log: each delivery with its attempts',
    authScopes: scopesFor(ops.webhookDeliveriesOp.requires),
    args: { ...pagingArgs(t.arg), endpointId: t.arg.id(), alertId: t.arg.id(), status: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.webhookDeliveriesOp, ctx, clean(a)),
  }),
  webhookDelivery: t.field({ type: WebhookDeliveryRef, authScopes: scopesFor(ops.webhookDeliveryOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.webhookDeliveryOp, ctx, a) }),
}));

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    type: AlertRuleRef,
    authScopes: scopesFor(ops.createAlertRuleOp.requires),
    args: {
      name: t.arg.string({ required: true }),
      kind: t.arg.string({ required: true }),
      severity: t.arg.string({ description: 'default: the kind’s default severity' }),
      conditions: t.arg({ type: AlertRuleConditionsInput }),
      description: t.arg.string(),
      isEnabled: t.arg.boolean(),
    },
    resolve: (_r, a, ctx) => execute(ops.createAlertRuleOp, ctx, clean(a)),
  }),
  updateAlertRule: t.field({
    type: AlertRuleRef,
    description: 'The kind cannot change; conditions, when given, replace the old ones',
    authScopes: scopesFor(ops.updateAlertRuleOp.requires),
    args: {
      id: t.arg.id({ required: true }),
      name: t.arg.string(),
      severity: t.arg.string(),
      conditions: t.arg({ type: AlertRuleConditionsInput }),
      description: t.arg.string(),
      isEnabled: t.arg.boolean(),
    },
    resolve: (_r, a, ctx) => execute(ops.updateAlertRuleOp, ctx, clean(a)),
  }),
  setAlertRuleEnabled: t.field({
    type: AlertRuleRef,
    authScopes: scopesFor(ops.setAlertRuleEnabledOp.requires),
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.setAlertRuleEnabledOp, ctx, a),
  }),
  deleteAlertRule: t.field({
    type: 'Boolean',
    description: 'Its alerts are kept (their ruleId becomes null)',
    authScopes: scopesFor(ops.deleteAlertRuleOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => (await execute(ops.deleteAlertRuleOp, ctx, a), true),
  }),
  createWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    authScopes: scopesFor(ops.createWebhookOp.requires),
    args: {
      name: t.arg.string({ required: true }),
      url: t.arg.string({ required: true, description: 'http or https' }),
      secret: t.arg.string({ description: 'HMAC-SHA256 signing secret (16–256 characters); write-only' }),
      isEnabled: t.arg.boolean(),
      ruleIds: t.arg.idList(),
      minSeverity: t.arg.string(),
      description: t.arg.string(),
    },
    resolve: (_r, a, ctx) => execute(ops.createWebhookOp, ctx, clean(a)),
  }),
  updateWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    description: 'secret: a new value replaces it, null removes it, absent keeps it; minSeverity/description: null clears',
    authScopes: scopesFor(ops.updateWebhookOp.requires),
    args: {
      id: t.arg.id({ required: true }),
      name: t.arg.string(),
      url: t.arg.string(),
      secret: t.arg.string(),
      isEnabled: t.arg.boolean(),
      ruleIds: t.arg.idList(),
      minSeverity: t.arg.string(),
      description: t.arg.string(),
    },
    // Not cleaned: an explicit null means "remove" for secret, minSeverity and description.
    resolve: (_r, a, ctx) => execute(ops.updateWebhookOp, ctx, a),
  }),
  setWebhookEndpointEnabled: t.field({
    type: WebhookEndpointRef,
    authScopes: scopesFor(ops.setWebhookEnabledOp.requires),
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.setWebhookEnabledOp, ctx, a),
  }),
  deleteWebhookEndpoint: t.field({
    type: 'Boolean',
    description: 'Its queued and logged deliveries are deleted with it',
    authScopes: scopesFor(ops.deleteWebhookOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => (await execute(ops.deleteWebhookOp, ctx, a), true),
  }),
}));

builder.subscriptionFields((t) => ({
  accountAlerts: t.field({
    type: AccountAlertRef,
    description: 'Alerts as they are raised, on any replica. Filters: one instance, severities, or a minimum severity.',
    authScopes: scopesFor('view'),
    args: { instanceId: t.arg.id(), severity: t.arg.stringList(), minSeverity: t.arg.string() },
    subscribe: (_r, args, ctx) => {
      const f = parseInput(ops.alertSubscriptionArgs, clean(args));
      const live = ctx.deps.pubsub.subscribe('alert.created');
      const wanted = (e: AlertEvent) =>
        (f.instanceId === undefined || e.instanceId === f.instanceId) &&
        (f.severity === undefined || f.severity.includes(e.severity as Severity)) &&
        (f.minSeverity === undefined || (SEVERITY_RANK[e.severity as Severity] ?? 0) >= SEVERITY_RANK[f.minSeverity]);
      return (async function* () {
        try {
          for await (const e of live) if (wanted(e)) yield e;
        } finally {
          await live.return?.();
        }
      })();
    },
    resolve: (e) => e,
  }),
}));
