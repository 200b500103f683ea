/**
 * Account classification REST (SPEC §4.5): batches at the flat paths of the API document
 * (/api/batches…) and under /account-classification/api/…, plus the upstream classification, rule,
 * assignment, auto-classify and permission endpoints under /account-classification/….
 * Errors are proper 4xx envelopes (upstream answered 200 with success:false).
 */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/classification.js';
import type { AssignmentRow, BatchRow, ClassificationReasonRow, ClassificationRow, MatchRow, MatchedAccount, RuleRow } from '../services/classification/classification-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { iso } from './serializers.js';

const AC = '/account-classification';

export function classificationJson(c: ClassificationRow) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    risk_level: c.riskLevel,
    color: c.color,
    icon_name: c.iconName,
    priority: c.priority,
    is_system: c.isSystem,
    is_active: c.isActive,
    rules_count: c._count.rules,
    assignments_count: c._count.assignments,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

export function ruleJson(r: RuleRow) {
  return {
    id: r.id,
    rule_name: r.ruleName,
    classification_id: r.classificationId,
    classification_name: r.classification.name,
    db_type: r.dbType,
    rule_expression: r.ruleExpression,
    is_active: r.isActive,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

export function batchJson(b: BatchRow) {
  const end = b.completedAt ?? new Date();
  return {
    id: b.id,
    batch_id: b.batchId,
    batch_type: b.batchType,
    status: b.status,
    scope: b.scope,
    started_at: iso(b.startedAt),
    completed_at: iso(b.completedAt),
    total_accounts: b.totalAccounts,
    matched_accounts: b.matchedAccounts,
    failed_accounts: b.failedAccounts,
    total_rules: b.totalRules,
    active_rules: b.activeRules,
    success_rate: b.totalAccounts ? Math.round((b.matchedAccounts / b.totalAccounts) * 10_000) / 100 : 0,
    duration: Math.round((end.getTime() - b.startedAt.getTime()) / 10) / 100,
    error_message: b.errorMessage,
    batch_details: b.batchDetails,
    created_by: b.createdBy,
    created_at: iso(b.createdAt),
  };
}

export function matchJson(m: MatchRow) {
  return {
    id: m.id,
    assignment_id: m.id,
    batch_id: m.batchId,
    account_id: m.accountId,
    account_name: m.account.username,
    account_host: m.account.instance.host,
    instance_id: m.account.instance.id,
    instance_name: m.account.instance.name,
    instance_type: m.account.instance.dbType,
    classification_id: m.classificationId,
    classification_name: m.classification.name,
    risk_level: m.classification.riskLevel,
    rule_id: m.ruleId,
    rule_name: m.rule?.ruleName ?? '无规则',
    rule_description: m.rule ? JSON.stringify(m.rule.ruleExpression) : null,
    matched_at: iso(m.createdAt),
    confidence: m.confidenceScore,
  };
}

export function assignmentJson(a: AssignmentRow) {
  return {
    id: a.id,
    account_id: a.accountId,
    account_name: a.account.username,
    instance_id: a.account.instanceId,
    db_type: a.account.dbType,
    classification_id: a.classificationId,
    classification_name: a.classification.name,
    risk_level: a.classification.riskLevel,
    color: a.classification.color,
    assignment_type: a.assignmentType,
    assigned_by: a.assignedBy,
    batch_id: a.batchId,
    notes: a.notes,
    created_at: iso(a.createdAt),
  };
}

export function classificationReasonJson(r: ClassificationReasonRow) {
  return {
    assignment_id: r.assignmentId,
    account_id: r.accountId,
    classification: { id: r.classification.id, name: r.classification.name, risk_level: r.classification.riskLevel, color: r.classification.color },
    assignment_type: r.assignmentType,
    assigned_at: iso(r.assignedAt),
    assigned_by: r.assignedBy,
    notes: r.notes,
    batch_id: r.batchId,
    rule: r.rule ? { id: r.rule.id, name: r.rule.name, db_type: r.rule.dbType, rule_expression: r.rule.expression } : null,
    matches_now: r.matchesNow,
    reasons: r.reasons.map((x) => ({ field: x.field, op: x.op, expected: x.expected ?? null, actual: x.actual ?? null, holds: x.holds, negated: x.negated, text: x.text })),
    note: r.note,
  };
}

const matchedAccountJson = (a: MatchedAccount) => ({
  id: a.id,
  instance_id: a.instanceId,
  instance_name: a.instanceName,
  db_type: a.dbType,
  username: a.username,
  host: a.host,
  is_superuser: a.isSuperuser,
  is_locked: a.isLocked,
});

export function classificationRoutes(deps: AppDeps): Router {
  const r = Router();
  const batches = (p = '') => [`/api/batches${p}`, `${AC}/api/batches${p}`];
  r.get(batches(), rest(deps, ops.batchesOp, queryInput, (res, page) => sendPage(res, page, batchJson)));
  r.get(batches('/:batchId'), rest(deps, ops.batchOp, (req) => ({ batchId: req.params.batchId }), (res, b) => sendSuccess(res, { batch: batchJson(b) })));
  r.get(
    batches('/:batchId/matches'),
    rest(deps, ops.batchMatchesOp, (req) => ({ ...queryInput(req), batchId: req.params.batchId }), (res, page) => sendPage(res, page, matchJson)),
  );
  r.get(`${AC}/batches/:batchId/stats`, rest(deps, ops.batchOp, (req) => ({ batchId: req.params.batchId }), (res, b) => sendSuccess(res, { stats: batchJson(b) })));

  r.get(`${AC}/classifications`, rest(deps, ops.classificationsOp, queryInput, (res, list) => sendSuccess(res, { classifications: list.map(classificationJson) })));
  r.post(`${AC}/classifications`, rest(deps, ops.createClassificationOp, bodyInput, (res, c) => sendSuccess(res, { classification: classificationJson(c) }, '分类创建成功', 201)));
  r.get(`${AC}/classifications/:id`, rest(deps, ops.classificationOp, (req) => ({ id: req.params.id }), (res, c) => sendSuccess(res, { classification: classificationJson(c) })));
  r.put(`${AC}/classifications/:id`, rest(deps, ops.updateClassificationOp, (req) => ({ ...bodyInput(req), id: req.params.id }), (res, c) => sendSuccess(res, { classification: classificationJson(c) }, '分类更新成功')));
  r.delete(
    `${AC}/classifications/:id`,
    rest(deps, ops.deleteClassificationOp, (req) => ({ ...queryInput(req), id: req.params.id }), (res, out) =>
      sendSuccess(res, { deleted_rules: out.deletedRules, deleted_assignments: out.deletedAssignments }, '分类删除成功'),
    ),
  );

  r.get(`${AC}/rules`, rest(deps, ops.rulesOp, queryInput, (res, rules) => {
    const byType: Record<string, unknown[]> = {};
    for (const rule of rules) (byType[rule.dbType] ??= []).push(ruleJson(rule));
    sendSuccess(res, { rules_by_db_type: byType });
  }));
  r.get(`${AC}/rules/filter`, rest(deps, ops.rulesOp, queryInput, (res, rules) => sendSuccess(res, { rules: rules.map(ruleJson) })));
  r.post(`${AC}/rules`, rest(deps, ops.createRuleOp, bodyInput, (res, rule) => sendSuccess(res, { rule: ruleJson(rule) }, '规则创建成功', 201)));
  r.post(`${AC}/rules/preview`, rest(deps, ops.previewRuleOp, bodyInput, (res, page) => sendPage(res, page, matchedAccountJson)));
  r.get(`${AC}/rules/:id`, rest(deps, ops.ruleOp, (req) => ({ id: req.params.id }), (res, rule) => sendSuccess(res, { rule: ruleJson(rule) })));
  r.put(`${AC}/rules/:id`, rest(deps, ops.updateRuleOp, (req) => ({ ...bodyInput(req), id: req.params.id }), (res, rule) => sendSuccess(res, { rule: ruleJson(rule) }, '规则更新成功')));
  r.delete(`${AC}/rules/:id`, rest(deps, ops.deleteRuleOp, (req) => ({ id: req.params.id }), (res) => sendSuccess(res, null, '规则删除成功')));
  r.get(
    `${AC}/rules/:id/matched-accounts`,
    rest(deps, ops.ruleMatchesOp, (req) => ({ ...queryInput(req), id: req.params.id }), (res, page) => sendPage(res, page, matchedAccountJson)),
  );

  r.post(`${AC}/assign`, rest(deps, ops.assignOp, bodyInput, (res, out) =>
    sendSuccess(res, { assignment_id: out.assignment.id }, out.reactivated ? '账户分类分配已重新激活' : '账户分类分配成功', out.reactivated ? 200 : 201),
  ));
  r.get(`${AC}/assignments`, rest(deps, ops.assignmentsOp, queryInput, (res, page) => sendPage(res, page, assignmentJson)));
  r.delete(`${AC}/assignments/:id`, rest(deps, ops.removeAssignmentOp, (req) => ({ id: req.params.id }), (res) => sendSuccess(res, null, '分配已移除')));

  r.post([`${AC}/auto-classify`, '/api/auto-classify'], rest(deps, ops.autoClassifyOp, bodyInput, (res, b) =>
    sendSuccess(res, { batch_id: b.batchId, batch: batchJson(b), ...(b.batchDetails as object) }, '自动分类完成'),
  ));
  r.get(
    ['/api/accounts/:id/classification-reasons', `${AC}/accounts/:id/reasons`],
    rest(deps, ops.accountClassificationReasonsOp, (req) => ({ id: req.params.id }), (res, reasons, _ctx, req) =>
      sendSuccess(res, { account_id: Number(req.params.id), reasons: reasons.map(classificationReasonJson) }),
    ),
  );
  r.get(`${AC}/permissions/:dbType`, rest(deps, ops.permissionsOp, (req) => ({ dbType: req.params.dbType }), (res, p) => sendSuccess(res, p)));
  return r;
}
