/**
 * Alerts on account changes: rule CRUD, the alert list, and the evaluation that runs after each
 * instance's sync has committed. Each match becomes an `account_alerts` row and is, at once,
 * published on pub/sub (the `accountAlerts` subscription on every replica), written to the unified
 * log (module `alerts`) and queued for the matching webhook endpoints.
 */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ResourceNotFoundError } from '../../lib/errors.js';
import { pageOf, windowOf, type ListQuery, type Page } from '../../lib/pagination.js';
import type { AlertEvent } from '../../realtime/pubsub.js';
import type { AuthUser } from '../../auth/permissions.js';
import { privilegesOutsideBaseline } from './baseline.js';
import { compactConditions, evaluateRule, type AlertChange, type AlertRuleKind, type Grant, type InstanceFacts, type RuleConditions, type Severity } from './rules.js';
import { enqueueDeliveries } from './webhook-service.js';

export type AlertRuleRow = Prisma.AlertRuleGetPayload<object>;
export type AlertRow = Prisma.AccountAlertGetPayload<object>;

const MODULE = 'alerts';

// ---------------------------------------------------------------- rules

export interface RuleInput {
  name: string;
  kind: AlertRuleKind;
  severity?: Severity;
  conditions: RuleConditions;
  description?: string | null;
  isEnabled?: boolean;
}

export async function listRules(deps: AppDeps, f: { kind?: string; isEnabled?: boolean }): Promise<AlertRuleRow[]> {
  return deps.prisma.alertRule.findMany({
    where: { ...(f.kind ? { kind: f.kind } : {}), ...(f.isEnabled !== undefined ? { isEnabled: f.isEnabled } : {}) },
    orderBy: { id: 'asc' },
  });
}

export async function getRule(deps: AppDeps, id: number): Promise<AlertRuleRow> {
  const r = await deps.prisma.alertRule.findUnique({ where: { id } });
  if (!r) throw new ResourceNotFoundError('告警规则不存在', { id });
  return r;
}

export async function createRule(deps: AppDeps, input: RuleInput & { severity: Severity }, actor: AuthUser | null): Promise<AlertRuleRow> {
  const rule = await deps.prisma.alertRule.create({
    data: {
      name: input.name,
      kind: input.kind,
      severity: input.severity,
      conditions: compactConditions(input.conditions) as Prisma.InputJsonValue,
      description: input.description ?? null,
      isEnabled: input.isEnabled ?? true,
      createdBy: actor?.id ?? null,
    },
  });
  deps.logger.info({ module: MODULE, rule_id: rule.id, kind: rule.kind, user_id: actor?.id }, `告警规则已创建: ${rule.name}`);
  return rule;
}

export async function updateRule(
  deps: AppDeps,
  id: number,
  input: Partial<Omit<RuleInput, 'kind'>>,
  actor: AuthUser | null,
): Promise<AlertRuleRow> {
  await getRule(deps, id);
  const rule = await deps.prisma.alertRule.update({
    where: { id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.severity !== undefined ? { severity: input.severity } : {}),
      ...(input.conditions !== undefined ? { conditions: compactConditions(input.conditions) as Prisma.InputJsonValue } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.isEnabled !== undefined ? { isEnabled: input.isEnabled } : {}),
    },
  });
  deps.logger.info({ module: MODULE, rule_id: id, user_id: actor?.id }, `告警规则已更新: ${rule.name}`);
  return rule;
}

export async function deleteRule(deps: AppDeps, id: number, actor: AuthUser | null): Promise<{ id: number }> {
  const rule = await getRule(deps, id);
  // Its alerts stay (rule_id becomes null; the name is kept on each alert).
  await deps.prisma.alertRule.delete({ where: { id } });
  deps.logger.info({ module: MODULE, rule_id: id, user_id: actor?.id }, `告警规则已删除: ${rule.name}`);
  return { id };
}

// ---------------------------------------------------------------- alerts

export interface ListAlertsQuery extends ListQuery {
  instanceId?: number;
  ruleId?: number;
  kind?: string;
  severity?: string;
  sessionId?: string;
  startDate?: Date;
  endDate?: Date;
}

export async function listAlerts(deps: AppDeps, q: ListAlertsQuery): Promise<Page<AlertRow>> {
  const where: Prisma.AccountAlertWhereInput = {
    ...(q.instanceId ? { instanceId: q.instanceId } : {}),
    ...(q.ruleId ? { ruleId: q.ruleId } : {}),
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.severity ? { severity: q.severity } : {}),
    ...(q.sessionId ? { sessionId: q.sessionId } : {}),
    ...(q.search ? { OR: [{ username: { contains: q.search, mode: 'insensitive' } }, { message: { contains: q.search, mode: 'insensitive' } }] } : {}),
    ...(q.startDate || q.endDate ? { createdAt: { ...(q.startDate ? { gte: q.startDate } : {}), ...(q.endDate ? { lte: q.endDate } : {}) } } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.accountAlert.findMany({ where, orderBy: [{ [q.sort]: q.order }, { id: q.order }], skip: w.offset, take: w.limit }),
    deps.prisma.accountAlert.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export async function getAlert(deps: AppDeps, id: number): Promise<AlertRow> {
  const a = await deps.prisma.accountAlert.findUnique({ where: { id } });
  if (!a) throw new ResourceNotFoundError('告警不存在', { id });
  return a;
}

export function alertEvent(a: AlertRow): AlertEvent {
  return {
    id: a.id,
    ruleId: a.ruleId,
    ruleName: a.ruleName,
    kind: a.kind,
    severity: a.severity,
    instanceId: a.instanceId,
    instanceName: a.instanceName,
    dbType: a.dbType,
    accountId: a.accountId,
    username: a.username,
    changeType: a.changeType,
    changeLogId: a.changeLogId,
    sessionId: a.sessionId,
    message: a.message,
    details: (a.details ?? {}) as Record<string, unknown>,
    createdAt: a.createdAt.toISOString(),
  };
}

// ---------------------------------------------------------------- evaluation

/**
 * Evaluates the enabled rules against the change-log rows one instance's sync wrote (session id +
 * instance id), after that sync committed. Never throws: a failure here is logged and leaves the
 * sync's outcome alone.
 *
 * The first sync that stores an instance's accounts (no change-log row of an earlier session) is an
 * import of what already exists, not a change: it raises no alert, or registering an instance would
 * report every existing account as created.
 */
export async function evaluateAlertsAfterSync(deps: AppDeps, sessionId: string, instanceId: number): Promise<void> {
  try {
    const rules = await deps.prisma.alertRule.findMany({ where: { isEnabled: true }, orderBy: { id: 'asc' } });
    if (rules.length === 0) return;
    const changes: AlertChange[] = await deps.prisma.accountChangeLog.findMany({
      where: { sessionId, instanceId },
      select: { id: true, accountId: true, username: true, changeType: true, privilegeDiff: true, otherDiff: true },
      orderBy: { id: 'asc' },
    });
    if (changes.length === 0) return;
    const earlier = await deps.prisma.accountChangeLog.findFirst({ where: { instanceId, NOT: { sessionId } }, select: { id: true } });
    if (!earlier) return;

    const inst = await deps.prisma.instance.findUnique({
      where: { id: instanceId },
      select: { id: true, name: true, dbType: true, environment: true, tags: { select: { tag: { select: { name: true } } } } },
    });
    if (!inst) return;
    const facts: InstanceFacts = { id: inst.id, name: inst.name, dbType: inst.dbType, environment: inst.environment, tags: inst.tags.map((t) => t.tag.name) };

    const outside = new Map<number, Grant[]>();
    if (rules.some((r) => r.kind === 'privilege_outside_baseline')) {
      for (const v of await privilegesOutsideBaseline(deps, instanceId, changes)) outside.set(v.changeLogId, v.grants);
    }

    const rows: Prisma.AccountAlertCreateManyInput[] = [];
    for (const change of changes) {
      for (const rule of rules) {
        const m = evaluateRule(rule, change, facts, outside.get(change.id));
        if (!m) continue;
        rows.push({
          ruleId: rule.id,
          ruleName: rule.name,
          kind: rule.kind,
          severity: rule.severity,
          instanceId,
          instanceName: inst.name,
          dbType: inst.dbType,
          accountId: change.accountId,
          username: change.username,
          changeType: change.changeType,
          changeLogId: change.id,
          sessionId,
          message: m.message,
          details: m.details as Prisma.InputJsonValue,
        });
      }
    }
    if (rows.length === 0) return;
    // (rule, change) is unique: evaluating the same sync twice raises nothing twice.
    const alerts = await deps.prisma.accountAlert.createManyAndReturn({ data: rows, skipDuplicates: true });
    alerts.sort((a, b) => a.id - b.id);
    for (const a of alerts) {
      deps.pubsub.publish('alert.created', alertEvent(a));
      const fields = {
        module: MODULE,
        alert_id: a.id,
        rule_id: a.ruleId,
        rule_name: a.ruleName,
        kind: a.kind,
        severity: a.severity,
        instance_id: a.instanceId,
        account_id: a.accountId,
        username: a.username,
        change_type: a.changeType,
        session_id: sessionId,
        details: a.details,
      };
      if (a.severity === 'info') deps.logger.info(fields, `告警: ${a.message}`);
      else deps.logger.warn(fields, `告警: ${a.message}`);
    }
    await enqueueDeliveries(deps, alerts);
  } catch (err) {
    deps.logger.warn({ module: MODULE, session_id: sessionId, instance_id: instanceId, error: (err as Error).message }, `告警评估失败: ${(err as Error).message}`);
  }
}
