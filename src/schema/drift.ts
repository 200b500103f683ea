/** Baselines, drift reports and the grant export. */
import { builder, scopesFor } from './builder.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/drift.js';
import type { BaselineRow, DriftReport } from '../services/drift/drift-service.js';
import { DRIFT_KINDS, type DriftItem, type DriftSummary } from '../services/drift/drift.js';

const DriftKind = builder.enumType('DriftKind', {
  description: 'extra_account: on the instance, not in the baseline; missing_account: the reverse; extra_privilege / missing_privilege: a privilege line of an account present on both sides',
  values: DRIFT_KINDS,
});

const UserSummary = builder.objectRef<{ id: number; username: string }>('BaselineUser').implement({
  fields: (t) => ({ id: t.exposeID('id'), username: t.exposeString('username') }),
});

const BaselineAccountRef = builder.objectRef<BaselineRow['accounts'][number]>('BaselineAccount').implement({
  description: 'A frozen account: identity and canonical privilege lines (the lines of the grant export)',
  fields: (t) => ({
    account: t.exposeString('username', { description: 'MySQL: user@host; otherwise the login/role/user name' }),
    privileges: t.stringList({ resolve: (a) => (Array.isArray(a.privileges) ? a.privileges.map(String) : []) }),
  }),
});

const BaselineRef = builder.objectRef<BaselineRow>('Baseline').implement({
  description: "An instance's frozen, expected accounts and privileges",
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    instanceName: t.string({ resolve: (b) => b.instance.name }),
    dbType: t.exposeString('dbType'),
    tagName: t.exposeString('tagName', { nullable: true, description: 'the tag it was frozen through, if any' }),
    groupId: t.exposeString('groupId', { description: 'baselines frozen together (one tag) share it' }),
    frozenAt: t.expose('frozenAt', { type: 'DateTime' }),
    frozenBy: t.field({ type: UserSummary, nullable: true, resolve: (b) => b.freezer }),
    acceptedAt: t.expose('acceptedAt', { type: 'DateTime', nullable: true, description: 'last change through accepted drift items' }),
    acceptedBy: t.field({ type: UserSummary, nullable: true, resolve: (b) => b.acceptor }),
    accountCount: t.int({ resolve: (b) => b.accounts.length }),
    accounts: t.field({ type: [BaselineAccountRef], resolve: (b) => b.accounts }),
  }),
});

const DriftItemRef = builder.objectRef<DriftItem>('DriftItem').implement({
  fields: (t) => ({
    kind: t.field({ type: DriftKind, resolve: (i) => i.kind }),
    account: t.exposeString('account'),
    privilege: t.exposeString('privilege', { nullable: true, description: 'the privilege line (privilege items)' }),
    privileges: t.exposeStringList('privileges', { description: "account items: the account's lines (reality for extra, baseline for missing)" }),
  }),
});

const DriftSummaryRef = builder.objectRef<DriftSummary>('DriftSummary').implement({
  fields: (t) => ({
    extraAccounts: t.exposeInt('extraAccounts'),
    missingAccounts: t.exposeInt('missingAccounts'),
    extraPrivileges: t.exposeInt('extraPrivileges'),
    missingPrivileges: t.exposeInt('missingPrivileges'),
    total: t.exposeInt('total'),
  }),
});

const DriftReportRef = builder.objectRef<DriftReport>('DriftReport').implement({
  description: "An instance's synced accounts compared with its baseline",
  fields: (t) => ({
    instanceId: t.exposeID('instanceId'),
    instanceName: t.exposeString('instanceName'),
    dbType: t.exposeString('dbType'),
    baselineId: t.exposeID('baselineId'),
    frozenAt: t.expose('frozenAt', { type: 'DateTime' }),
    tagName: t.exposeString('tagName', { nullable: true }),
    hasDrift: t.exposeBoolean('hasDrift'),
    summary: t.field({ type: DriftSummaryRef, resolve: (r) => r.summary }),
    items: t.field({ type: [DriftItemRef], resolve: (r) => r.items }),
    lastCheckedAt: t.expose('lastCheckedAt', { type: 'DateTime', nullable: true, description: 'when the last sync (or freeze/accept) compared the instance with its baseline' }),
    lastSessionId: t.exposeString('lastSessionId', { nullable: true, description: 'the sync session of that comparison' }),
  }),
});

const DriftItemInput = builder.inputType('DriftItemInput', {
  description: 'A drift item to accept, as the report shows it (privilege only for privilege items)',
  fields: (t) => ({
    kind: t.field({ type: DriftKind, required: true }),
    account: t.string({ required: true }),
    privilege: t.string(),
  }),
});

const GrantExportFormat = builder.enumType('GrantExportFormat', { values: ['text', 'csv'] as const });

builder.queryFields((t) => ({
  baseline: t.field({
    type: BaselineRef,
    description: "The instance's baseline (NOT_FOUND when none was frozen)",
    authScopes: scopesFor(ops.baselineOp.requires),
    args: { instanceId: t.arg.id({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.baselineOp, ctx, a),
  }),
  driftReport: t.field({
    type: DriftReportRef,
    description: "The instance's drift now: its synced accounts against its baseline",
    authScopes: scopesFor(ops.driftReportOp.requires),
    args: { instanceId: t.arg.id({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.driftReportOp, ctx, a),
  }),
  grantExport: t.string({
    description: 'Deterministic export of the instance\'s accounts and privileges: text ("account<TAB>privilege" lines) or CSV (account,privilege), sorted, one privilege per line',
    authScopes: scopesFor(ops.grantExportOp.requires),
    args: { instanceId: t.arg.id({ required: true }), format: t.arg({ type: GrantExportFormat }) },
    resolve: async (_r, a, ctx) => (await execute(ops.grantExportOp, ctx, a)).content,
  }),
}));

builder.mutationFields((t) => ({
  createBaseline: t.field({
    type: [BaselineRef],
    description: 'Freezes the current accounts and privileges of one instance (instanceId) or of every active instance carrying a tag (tag) as their baselines, replacing earlier ones',
    authScopes: scopesFor(ops.createBaselineOp.requires),
    args: { instanceId: t.arg.id(), tag: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.createBaselineOp, ctx, a),
  }),
  acceptDrift: t.field({
    type: DriftReportRef,
    description: 'Accepts items of the current drift into the baseline; returns the report after it',
    authScopes: scopesFor(ops.acceptDriftOp.requires),
    args: { instanceId: t.arg.id({ required: true }), items: t.arg({ type: [DriftItemInput], required: true }) },
    resolve: (_r, a, ctx) => execute(ops.acceptDriftOp, ctx, a),
  }),
}));
