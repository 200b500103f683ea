/**
 * Webhook endpoints (CRUD; the signing secret is sealed with the credential key and never leaves
 * this module), the delivery queue they are fed from, and the delivery log.
 *
 * Wire format of a delivery: `POST <url>` with the JSON body of deliveryPayload() and the headers
 *   X-WhaleFall-Event: account.alert
 *   X-WhaleFall-Delivery: <delivery uuid>        (the same on every attempt: receivers dedupe on it)
 *   X-WhaleFall-Timestamp: <unix seconds of this attempt>
 *   X-WhaleFall-Signature: sha256=<hex HMAC-SHA256 of the raw body with the endpoint's secret>
 * (no signature header when the endpoint has no secret).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { pageOf, windowOf, type ListQuery, type Page } from '../../lib/pagination.js';
import type { AuthUser } from '../../auth/permissions.js';
import { SEVERITY_RANK, type Severity } from './rules.js';
import { checkWebhookUrl } from './webhook-url.js';
import type { AlertRow } from './alert-service.js';

const MODULE = 'alerts';
export const ALERT_EVENT = 'account.alert';

type EndpointRow = Prisma.WebhookEndpointGetPayload<object>;

/** An endpoint as the API shows it: whether a secret is set, never the secret or its ciphertext. */
export type EndpointView = Omit<EndpointRow, 'secretCipher' | 'secretKeyId'> & { hasSecret: boolean };

export function endpointView(e: EndpointRow): EndpointView {
  const { secretCipher, secretKeyId: _k, ...rest } = e;
  return { ...rest, hasSecret: secretCipher !== null };
}

export interface EndpointInput {
  name: string;
  url: string;
  /** A string sets it, null removes it, undefined leaves it. */
  secret?: string | null;
  isEnabled?: boolean;
  ruleIds?: number[];
  minSeverity?: Severity | null;
  description?: string | null;
}

async function checkRuleIds(deps: AppDeps, ids: number[] | undefined): Promise<void> {
  if (!ids?.length) return;
  const found = await deps.prisma.alertRule.count({ where: { id: { in: ids } } });
  if (found !== new Set(ids).size) {
    throw new ValidationError('rule_ids: 包含不存在的告警规则', { errors: [{ field: 'ruleIds', message: '包含不存在的告警规则' }] });
  }
}

function sealed(deps: AppDeps, secret: string | null | undefined) {
  if (secret === undefined) return {};
  if (secret === null) return { secretCipher: null, secretKeyId: null };
  const s = deps.credentialKey.encrypt(secret);
  return { secretCipher: s.cipher, secretKeyId: s.keyId };
}

export async function listEndpoints(deps: AppDeps): Promise<EndpointView[]> {
  return (await deps.prisma.webhookEndpoint.findMany({ orderBy: { id: 'asc' } })).map(endpointView);
}

async function endpointRow(deps: AppDeps, id: number): Promise<EndpointRow> {
  const e = await deps.prisma.webhookEndpoint.findUnique({ where: { id } });
  if (!e) throw new ResourceNotFoundError('Webhook 不存在', { id });
  return e;
}

export async function getEndpoint(deps: AppDeps, id: number): Promise<EndpointView> {
  return endpointView(await endpointRow(deps, id));
}

export async function createEndpoint(deps: AppDeps, input: EndpointInput, actor: AuthUser | null): Promise<EndpointView> {
  const url = checkWebhookUrl(input.url, deps.config.webhooks.allowPrivateAddresses);
  await checkRuleIds(deps, input.ruleIds);
  const e = await deps.prisma.webhookEndpoint.create({
    data: {
      name: input.name,
      url,
      ...sealed(deps, input.secret),
      isEnabled: input.isEnabled ?? true,
      ruleIds: input.ruleIds ?? [],
      minSeverity: input.minSeverity ?? null,
      description: input.description ?? null,
      createdBy: actor?.id ?? null,
    },
  });
  deps.logger.info({ module: MODULE, webhook_id: e.id, user_id: actor?.id }, `Webhook 已创建: ${e.name}`);
  return endpointView(e);
}

export async function updateEndpoint(deps: AppDeps, id: number, input: Partial<EndpointInput>, actor: AuthUser | null): Promise<EndpointView> {
  await endpointRow(deps, id);
  const url = input.url !== undefined ? checkWebhookUrl(input.url, deps.config.webhooks.allowPrivateAddresses) : undefined;
  await checkRuleIds(deps, input.ruleIds);
  const e = await deps.prisma.webhookEndpoint.update({
    where: { id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(url !== undefined ? { url } : {}),
      ...sealed(deps, input.secret),
      ...(input.isEnabled !== undefined ? { isEnabled: input.isEnabled } : {}),
      ...(input.ruleIds !== undefined ? { ruleIds: input.ruleIds } : {}),
      ...(input.minSeverity !== undefined ? { minSeverity: input.minSeverity } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    },
  });
  deps.logger.info({ module: MODULE, webhook_id: id, user_id: actor?.id, secret_changed: input.secret !== undefined }, `Webhook 已更新: ${e.name}`);
  // Re-enabled: its queued deliveries are due again.
  if (input.isEnabled) deps.webhookWorker?.poke();
  return endpointView(e);
}

export async function deleteEndpoint(deps: AppDeps, id: number, actor: AuthUser | null): Promise<{ id: number }> {
  const e = await endpointRow(deps, id);
  await deps.prisma.webhookEndpoint.delete({ where: { id } });
  deps.logger.info({ module: MODULE, webhook_id: id, user_id: actor?.id }, `Webhook 已删除: ${e.name}`);
  return { id };
}

/** The signing secret of an endpoint, for the sender only. */
export function endpointSecret(deps: AppDeps, e: { secretCipher: string | null; secretKeyId: string | null }): string | null {
  return e.secretCipher && e.secretKeyId ? deps.credentialKey.decrypt(e.secretCipher, e.secretKeyId) : null;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** The body of an alert delivery (snake_case, like the REST API). */
export function deliveryPayload(deliveryId: string, a: AlertRow): string {
  return JSON.stringify({
    event: ALERT_EVENT,
    delivery_id: deliveryId,
    alert: {
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
      created_at: a.createdAt.toISOString(),
    },
  });
}

/** Whether an endpoint wants an alert: its rule filter (empty = all) and minimum severity. */
export function endpointWants(e: { ruleIds: number[]; minSeverity: string | null }, a: { ruleId: number | null; severity: string }): boolean {
  if (e.ruleIds.length && (a.ruleId === null || !e.ruleIds.includes(a.ruleId))) return false;
  if (e.minSeverity && (SEVERITY_RANK[a.severity as Severity] ?? 0) < (SEVERITY_RANK[e.minSeverity as Severity] ?? 0)) return false;
  return true;
}

/** Queues one delivery per (alert, enabled endpoint that wants it) and wakes this replica's sender. */
export async function enqueueDeliveries(deps: AppDeps, alerts: AlertRow[]): Promise<number> {
  if (alerts.length === 0) return 0;
  const endpoints = await deps.prisma.webhookEndpoint.findMany({ where: { isEnabled: true }, select: { id: true, ruleIds: true, minSeverity: true } });
  const rows: Prisma.WebhookDeliveryCreateManyInput[] = [];
  for (const a of alerts) {
    for (const e of endpoints) {
      if (!endpointWants(e, a)) continue;
      const deliveryId = randomUUID();
      rows.push({ deliveryId, endpointId: e.id, alertId: a.id, event: ALERT_EVENT, payload: deliveryPayload(deliveryId, a), maxAttempts: deps.config.webhooks.maxAttempts });
    }
  }
  if (rows.length === 0) return 0;
  await deps.prisma.webhookDelivery.createMany({ data: rows });
  deps.webhookWorker?.poke();
  return rows.length;
}

// ---------------------------------------------------------------- delivery log

export const DELIVERY_INCLUDE = { attemptLogs: { orderBy: { attempt: 'asc' } } } satisfies Prisma.WebhookDeliveryInclude;
export type DeliveryRow = Prisma.WebhookDeliveryGetPayload<{ include: typeof DELIVERY_INCLUDE }>;

export interface ListDeliveriesQuery extends ListQuery {
  endpointId?: number;
  alertId?: number;
  status?: string;
}

export async function listDeliveries(deps: AppDeps, q: ListDeliveriesQuery): Promise<Page<DeliveryRow>> {
  if (q.endpointId) await endpointRow(deps, q.endpointId);
  const where: Prisma.WebhookDeliveryWhereInput = {
    ...(q.endpointId ? { endpointId: q.endpointId } : {}),
    ...(q.alertId ? { alertId: q.alertId } : {}),
    ...(q.status ? { status: q.status } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.webhookDelivery.findMany({ where, include: DELIVERY_INCLUDE, orderBy: [{ [q.sort]: q.order }, { id: q.order }], skip: w.offset, take: w.limit }),
    deps.prisma.webhookDelivery.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export async function getDelivery(deps: AppDeps, id: number): Promise<DeliveryRow> {
  const d = await deps.prisma.webhookDelivery.findUnique({ where: { id }, include: DELIVERY_INCLUDE });
  if (!d) throw new ResourceNotFoundError('投递记录不存在', { id });
  return d;
}
