/**
 * Alerts REST: /api/alert-rules (CRUD, enable/disable, kinds), /api/alerts (raised alerts),
 * /api/webhooks (CRUD, enable/disable, delivery log) and /api/webhook-deliveries/{id}.
 * Webhook secrets are accepted on write and never returned: responses carry `has_secret`.
 */
import { Router, type Request } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/alerts.js';
import type { AlertRuleRow, AlertRow } from '../services/alerts/alert-service.js';
import type { DeliveryRow, EndpointView } from '../services/alerts/webhook-service.js';
import type { RuleConditions } from '../services/alerts/rules.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
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

export function alertRoutes(deps: AppDeps): Router {
  const r = Router();
  const id = (req: Request) => ({ id: req.params.id });
  const withBody = (req: Request) => ({ ...bodyInput(req), id: req.params.id });

  r.get('/api/alert-rule-kinds', rest(deps, ops.alertRuleKindsOp, () => ({}), (res, kinds) =>
    sendSuccess(res, kinds.map((k) => ({ kind: k.kind, default_severity: k.defaultSeverity, conditions: k.conditions.map((c) => c.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)) }))),
  ));
  r.get('/api/alert-rules', rest(deps, ops.alertRulesOp, queryInput, (res, rules) => sendSuccess(res, rules.map(alertRuleJson))));
  r.post('/api/alert-rules', rest(deps, ops.createAlertRuleOp, bodyInput, (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则创建成功', 201)));
  r.get('/api/alert-rules/:id', rest(deps, ops.alertRuleOp, id, (res, rule) => sendSuccess(res, alertRuleJson(rule))));
  r.put('/api/alert-rules/:id', rest(deps, ops.updateAlertRuleOp, withBody, (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则更新成功')));
  r.delete('/api/alert-rules/:id', rest(deps, ops.deleteAlertRuleOp, id, (res, d) => sendSuccess(res, d, '告警规则删除成功')));
  r.post('/api/alert-rules/:id/enable', rest(deps, ops.setAlertRuleEnabledOp, (req) => ({ id: req.params.id, enabled: true }), (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则已启用')));
  r.post('/api/alert-rules/:id/disable', rest(deps, ops.setAlertRuleEnabledOp, (req) => ({ id: req.params.id, enabled: false }), (res, rule) => sendSuccess(res, alertRuleJson(rule), '告警规则已停用')));

  r.get('/api/alerts', rest(deps, ops.alertsOp, queryInput, (res, page) => sendPage(res, page, alertJson)));
  r.get('/api/alerts/:id', rest(deps, ops.alertOp, id, (res, a) => sendSuccess(res, alertJson(a))));

  r.get('/api/webhooks', rest(deps, ops.webhooksOp, () => ({}), (res, list) => sendSuccess(res, list.map(webhookJson))));
  r.post('/api/webhooks', rest(deps, ops.createWebhookOp, bodyInput, (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 创建成功', 201)));
  r.get('/api/webhooks/:id', rest(deps, ops.webhookOp, id, (res, e) => sendSuccess(res, webhookJson(e))));
  r.put('/api/webhooks/:id', rest(deps, ops.updateWebhookOp, withBody, (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 更新成功')));
  r.delete('/api/webhooks/:id', rest(deps, ops.deleteWebhookOp, id, (res, d) => sendSuccess(res, d, 'Webhook 删除成功')));
  r.post('/api/webhooks/:id/enable', rest(deps, ops.setWebhookEnabledOp, (req) => ({ id: req.params.id, enabled: true }), (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 已启用')));
  r.post('/api/webhooks/:id/disable', rest(deps, ops.setWebhookEnabledOp, (req) => ({ id: req.params.id, enabled: false }), (res, e) => sendSuccess(res, webhookJson(e), 'Webhook 已停用')));
  r.get(
    '/api/webhooks/:id/deliveries',
    rest(deps, ops.webhookDeliveriesOp, (req) => ({ ...queryInput(req), endpointId: req.params.id }), (res, page) => sendPage(res, page, deliveryJson)),
  );
  r.get('/api/webhook-deliveries', rest(deps, ops.webhookDeliveriesOp, queryInput, (res, page) => sendPage(res, page, deliveryJson)));
  r.get('/api/webhook-deliveries/:id', rest(deps, ops.webhookDeliveryOp, id, (res, d) => sendSuccess(res, deliveryJson(d))));
  return r;
}
