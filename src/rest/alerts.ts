/**
 * Alerts REST: /api/alert-rules (CRUD, enable/disable, kinds), /api/alerts (raised alerts),
 * /api/webhooks (CRUD, enable/disable, delivery log) and /api/webhook-deliveries/{id}.
 * Webhook secrets are accepted on write and never returned: responses carry `has_secret`.
 */
import * as ops from '../resolvers/alerts.js';
import type { AlertRuleRow, AlertRow } from '../services/alerts/alert-service.js';
import type { DeliveryRow, EndpointView } from '../services/alerts/webhook-service.js';
import type { RuleConditions } from '../services/alerts/rules.js';
import { sendPage, sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
import { iso } from './serializers.js';

function conditionsJson(c: RuleConditions) {
  return {
    ...(c.dbTypes ? { db_types: c.dbTypes } : {}),
    ...(c.instanceTags ? { instance_tags: c.instanceTags } : {}),
    ...(c.environments ? { environments: c.environments } : {}),
    ...(c.privileges ? { privileges: c.privileges } : {}),
  };
}

export function alertRuleJson(r: AlertRuleRow) {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    severity: r.severity,
    conditions: conditionsJson((r.conditions ?? {}) as RuleConditions),
    description: r.description,
    is_enabled: r.isEnabled,
    created_by: r.createdBy,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

export function alertJson(a: AlertRow) {
  return {
    id: a.id,
    rule_id: a.ruleId,
    rule_name: a.ruleName,
    kind: a.kind,
    severity: a.severity,
    instance_id: a.instanceId,
    instance_name: a.instanceName,
    db_type: a.dbType,
    account_id: a.accountId,
    username: a.username,
    change_type: a.changeType,
    change_log_id: a.changeLogId,
    session_id: a.sessionId,
    message: a.message,
    details: a.details,
    created_at: iso(a.createdAt),
  };
}

export function webhookJson(e: EndpointView) {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    has_secret: e.hasSecret,
    is_enabled: e.isEnabled,
    rule_ids: e.ruleIds,
    min_severity: e.minSeverity,
    description: e.description,
    created_by: e.createdBy,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

export function deliveryJson(d: DeliveryRow) {
  return {
    id: d.id,
    delivery_id: d.deliveryId,
    endpoint_id: d.endpointId,
    alert_id: d.alertId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    max_attempts: d.maxAttempts,
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    completed_at: iso(d.completedAt),
    created_at: iso(d.createdAt),
    payload: JSON.parse(d.payload) as unknown,
    attempt_log: d.attemptLogs.map((a) => ({
      attempt: a.attempt,
      started_at: iso(a.startedAt),
      finished_at: iso(a.finishedAt),
      duration_ms: a.durationMs,
      success: a.success,
      status_code: a.statusCode,
      error: a.error,
      response_body: a.responseBody,
      next_retry_at: iso(a.nextRetryAt),
      node: a.node,
    })),
  };
}

export function alertRoutes(api: RouteModule): void {
  api.get('/api/alert-rule-kinds', {
    summary: '告警规则类型及其可用条件',
    op: ops.alertRuleKindsOp,
    present: (res, kinds) =>
      sendSuccess(res, kinds.map((k) => ({ kind: k.kind, default_severity: k.defaultSeverity, conditions: k.conditions.map((c) => c.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)) }))),
  });
  api.get('/api/alert-rules', { summary: '告警规则列表', op: ops.alertRulesOp, from: 'query', present: (res, rules) => sendSuccess(res, rules.map(alertRuleJson)) });
  api.post('/api/alert-rules', {
    summary: '创建告警规则',
    op: ops.createAlertRuleOp,
    from: 'body',
    status: 201,
    present: (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则创建成功', 201),
  });
  api.get('/api/alert-rules/:id', { summary: '告警规则详情', op: ops.alertRuleOp, present: (res, rule) => sendSuccess(res, alertRuleJson(rule)) });
  api.put('/api/alert-rules/:id', { summary: '更新告警规则', op: ops.updateAlertRuleOp, from: 'body', present: (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则更新成功') });
  api.delete('/api/alert-rules/:id', { summary: '删除告警规则', op: ops.deleteAlertRuleOp, present: (res, d) => sendSuccess(res, d, '告警规则删除成功') });
  api.post('/api/alert-rules/:id/enable', {
    summary: '启用告警规则',
    id: 'enableAlertRule',
    op: ops.setAlertRuleEnabledOp,
    fixed: { enabled: true },
    present: (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则已启用'),
  });
  api.post('/api/alert-rules/:id/disable', {
    summary: '停用告警规则',
    id: 'disableAlertRule',
    op: ops.setAlertRuleEnabledOp,
    fixed: { enabled: false },
    present: (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则已停用'),
  });

  api.get('/api/alerts', { summary: '告警列表', op: ops.alertsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, alertJson) });
  api.get('/api/alerts/:id', { summary: '告警详情', op: ops.alertOp, present: (res, a) => sendSuccess(res, alertJson(a)) });

  api.get('/api/webhooks', { summary: 'Webhook 列表 (不返回密钥)', op: ops.webhooksOp, present: (res, list) => sendSuccess(res, list.map(webhookJson)) });
  api.post('/api/webhooks', {
    summary: '创建 Webhook',
    op: ops.createWebhookOp,
    from: 'body',
    status: 201,
    present: (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 创建成功', 201),
  });
  api.get('/api/webhooks/:id', { summary: 'Webhook 详情', op: ops.webhookOp, present: (res, e) => sendSuccess(res, webhookJson(e)) });
  api.put('/api/webhooks/:id', { summary: '更新 Webhook', op: ops.updateWebhookOp, from: 'body', present: (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 更新成功') });
  api.delete('/api/webhooks/:id', { summary: '删除 Webhook', op: ops.deleteWebhookOp, present: (res, d) => sendSuccess(res, d, 'Webhook 删除成功') });
  api.post('/api/webhooks/:id/enable', {
    summary: '启用 Webhook',
    id: 'enableWebhook',
    op: ops.setWebhookEnabledOp,
    fixed: { enabled: true },
    present: (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 已启用'),
  });
  api.post('/api/webhooks/:id/disable', {
    summary: '停用 Webhook',
    id: 'disableWebhook',
    op: ops.setWebhookEnabledOp,
    fixed: { enabled: false },
    present: (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 已停用'),
  });
  api.get('/api/webhooks/:id/deliveries', {
    summary: '一个 Webhook 的投递记录',
    id: 'webhookEndpointDeliveries',
    op: ops.webhookDeliveriesOp,
    from: 'query',
    params: { id: 'endpointId' },
    response: 'page',
    present: (res, page) => sendPage(res, page, deliveryJson),
  });
  api.get('/api/webhook-deliveries', { summary: 'Webhook 投递记录', op: ops.webhookDeliveriesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, deliveryJson) });
  api.get('/api/webhook-deliveries/:id', { summary: '投递详情 (含每次尝试)', op: ops.webhookDeliveryOp, present: (res, d) => sendSuccess(res, deliveryJson(d)) });
}
