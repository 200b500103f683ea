/**
 * Account classification REST (SPEC §4.5): batches at the flat paths of the API document
 * (/api/batches…) and under /account-classification/api/…, plus the upstream classification, rule,
 * assignment, auto-classify and permission endpoints under /account-classification/….
 * Errors are proper 4xx envelopes (upstream answered 200 with success:false).
 */
import * as ops from '../resolvers/classification.js';
import type { AssignmentRow, BatchRow, ClassificationReasonRow, ClassificationRow, MatchRow, MatchedAccount, RuleRow } from '../services/classification/classification-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
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

export function classificationRoutes(api: RouteModule): void {
  const batches = (p = '') => [`/api/batches${p}`, `${AC}/api/batches${p}`];
  api.get(batches(), { summary: '分类批次列表', op: ops.batchesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, batchJson) });
  api.get(batches('/:batchId'), { summary: '分类批次详情', op: ops.batchOp, present: (res, b) => sendSuccess(res, { batch: batchJson(b) }) });
  api.get(batches('/:batchId/matches'), { summary: '批次的匹配结果 (该批次做出的分配)', op: ops.batchMatchesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, matchJson) });
  api.get(`${AC}/batches/:batchId/stats`, { summary: '分类批次统计', id: 'classificationBatchStats', op: ops.batchOp, present: (res, b) => sendSuccess(res, { stats: batchJson(b) }) });

  api.get(`${AC}/classifications`, { summary: '分类列表', op: ops.classificationsOp, from: 'query', present: (res, list) => sendSuccess(res, { classifications: list.map(classificationJson) }) });
  api.post(`${AC}/classifications`, {
    summary: '创建分类',
    op: ops.createClassificationOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { name: '高危账户', description: '拥有超级权限的账户', risk_level: 'high', color: '#dc3545', icon_name: 'fa-exclamation', priority: 10 },
    present: (res, c) => sendSuccess(res, { classification: classificationJson(c) }, '分类创建成功', 201),
  });
  api.get(`${AC}/classifications/:id`, { summary: '分类详情', op: ops.classificationOp, present: (res, c) => sendSuccess(res, { classification: classificationJson(c) }) });
  api.put(`${AC}/classifications/:id`, { summary: '更新分类', op: ops.updateClassificationOp, from: 'body', errors: [409, 422], present: (res, c) => sendSuccess(res, { classification: classificationJson(c) }, '分类更新成功') });
  api.delete(`${AC}/classifications/:id`, {
    summary: '删除分类 (有规则或分配时需 cascade=true)',
    op: ops.deleteClassificationOp,
    from: 'query',
    errors: [409, 422],
    present: (res, out) => sendSuccess(res, { deleted_rules: out.deletedRules, deleted_assignments: out.deletedAssignments }, '分类删除成功'),
  });

  api.get(`${AC}/rules`, {
    summary: '规则 (按数据库类型分组)',
    op: ops.rulesOp,
    from: 'query',
    present: (res, rules) => {
      const byType: Record<string, unknown[]> = {};
      for (const rule of rules) (byType[rule.dbType] ??= []).push(ruleJson(rule));
      sendSuccess(res, { rules_by_db_type: byType });
    },
  });
  api.get(`${AC}/rules/filter`, { summary: '规则列表', id: 'classificationRulesFlat', op: ops.rulesOp, from: 'query', present: (res, rules) => sendSuccess(res, { rules: rules.map(ruleJson) }) });
  api.post(`${AC}/rules`, {
    summary: '创建规则 (表达式按权限目录校验)',
    op: ops.createRuleOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { classification_id: 1, db_type: 'mysql', rule_name: 'MySQL 超级权限', rule_expression: { type: 'mysql_permissions', global_privileges: ['SUPER', 'GRANT OPTION'], operator: 'OR' } },
    present: (res, rule) => sendSuccess(res, { rule: ruleJson(rule) }, '规则创建成功', 201),
  });
  api.post(`${AC}/rules/preview`, {
    summary: '预览规则匹配的账户 (不写入)',
    op: ops.previewRuleOp,
    from: 'body',
    response: 'page',
    example: { db_type: 'postgresql', rule_expression: { operator: 'AND', conditions: [{ field: 'role_attributes', op: 'has', value: 'rolsuper' }] } },
    present: (res, page) => sendPage(res, page, matchedAccountJson),
  });
  api.get(`${AC}/rules/:id`, { summary: '规则详情', op: ops.ruleOp, present: (res, rule) => sendSuccess(res, { rule: ruleJson(rule) }) });
  api.put(`${AC}/rules/:id`, { summary: '更新规则', op: ops.updateRuleOp, from: 'body', errors: [409], present: (res, rule) => sendSuccess(res, { rule: ruleJson(rule) }, '规则更新成功') });
  api.delete(`${AC}/rules/:id`, { summary: '删除规则', op: ops.deleteRuleOp, present: (res) => sendSuccess(res, null, '规则删除成功') });
  api.get(`${AC}/rules/:id/matched-accounts`, { summary: '规则当前匹配的账户', op: ops.ruleMatchesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, matchedAccountJson) });

  api.post(`${AC}/assign`, {
    summary: '手动分配分类 (201；重新激活已有分配时 200)',
    op: ops.assignOp,
    from: 'body',
    errors: [409],
    example: { account_id: 1, classification_id: 1, notes: '人工确认' },
    status: 201,
    present: (res, out) => sendSuccess(res, { assignment_id: out.assignment.id }, out.reactivated ? '账户分类分配已重新激活' : '账户分类分配成功', out.reactivated ? 200 : 201),
  });
  api.get(`${AC}/assignments`, { summary: '分类分配列表', op: ops.assignmentsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, assignmentJson) });
  api.delete(`${AC}/assignments/:id`, { summary: '移除分配', op: ops.removeAssignmentOp, present: (res) => sendSuccess(res, null, '分配已移除') });

  api.post(['/api/auto-classify', `${AC}/auto-classify`], {
    summary: '自动分类 (全部，或按实例/类型)',
    op: ops.autoClassifyOp,
    from: 'body',
    example: { db_type: 'postgresql' },
    errors: [409],
    present: (res, b) => sendSuccess(res, { batch_id: b.batchId, batch: batchJson(b), ...(b.batchDetails as object) }, '自动分类完成'),
  });
  api.get(['/api/accounts/:id/classification-reasons', `${AC}/accounts/:id/reasons`], {
    summary: '账户当前分类的原因 (规则条件逐条求值)',
    op: ops.accountClassificationReasonsOp,
    present: (res, reasons, _ctx, req) => sendSuccess(res, { account_id: Number(req.params.id), reasons: reasons.map(classificationReasonJson) }),
  });
  api.get(`${AC}/permissions/:dbType`, { summary: '数据库类型的权限目录 (规则可用的字段与名称)', op: ops.permissionsOp, present: (res, p) => sendSuccess(res, p) });
}
