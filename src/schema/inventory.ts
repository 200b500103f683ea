/** Inventory: credentials (no secret field at all), instances, database types, connection tests. */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs, type Types } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/inventory.js';
import type { PublicCredential } from '../services/inventory/credential-service.js';
import type { ConnectionTestResult, InstanceRow } from '../services/inventory/instance-service.js';
import type { CollectorRight } from '../adapters/rights.js';

type Stats = Awaited<ReturnType<typeof ops.instanceStatisticsOp.run>>;
type TypeRow = Awaited<ReturnType<typeof ops.databaseTypesOp.run>>[number];

export const CredentialRef = builder.objectRef<PublicCredential>('Credential').implement({
  description: 'A login used to reach instances. The password is write-only: no field returns it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    credentialType: t.exposeString('credentialType'),
    dbType: t.exposeString('dbType', { nullable: true }),
    username: t.exposeString('username'),
    passwordMasked: t.string({ resolve: () => '********' }),
    description: t.exposeString('description', { nullable: true }),
    isActive: t.exposeBoolean('isActive'),
    instanceCount: t.int({ resolve: (c) => c._count.instances }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const TagRef = builder.objectRef<InstanceRow['tags'][number]['tag']>('Tag').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name'), displayName: t.exposeString('displayName'), category: t.exposeString('category'), color: t.exposeString('color') }),
});

const CredentialSummary = builder.objectRef<NonNullable<InstanceRow['credential']>>('CredentialSummary').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name'), username: t.exposeString('username'), isActive: t.exposeBoolean('isActive') }),
});

export const InstanceRef = builder.objectRef<InstanceRow>('Instance').implement({
  description: 'A registered database server',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    dbType: t.exposeString('dbType'),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    databaseName: t.exposeString('databaseName', { nullable: true }),
    environment: t.exposeString('environment'),
    description: t.exposeString('description', { nullable: true }),
    status: t.exposeString('status'),
    isActive: t.exposeBoolean('isActive'),
    version: t.exposeString('mainVersion', { nullable: true }),
    detailedVersion: t.exposeString('detailedVersion', { nullable: true }),
    lastConnected: t.expose('lastConnected', { type: 'DateTime', nullable: true }),
    connectionStatus: t.string({ resolve: (i) => i.connectionStatus ?? 'unknown' }),
    lastConnectionError: t.exposeString('lastConnectionError', { nullable: true }),
    connectionOptions: t.expose('connectionOptions', { type: 'JSON' }),
    lastSyncAt: t.expose('lastSyncAt', { type: 'DateTime', nullable: true }),
    accountCount: t.int({ resolve: (i) => i._count.accounts }),
    credential: t.field({ type: CredentialSummary, nullable: true, resolve: (i) => i.credential }),
    tags: t.field({ type: [TagRef], resolve: (i) => i.tags.map((x) => x.tag) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const CollectorRightRef = builder.objectRef<CollectorRight>('CollectorRight').implement({
  description: 'One catalog right the collector needs on an engine (docs/collector/<engine>.sql grants them all)',
  fields: (t) => ({
    right: t.exposeString('right', { description: 'As a DBA grants it, e.g. "SELECT ON mysql.*"' }),
    required: t.exposeBoolean('required', { description: 'true: a sync is refused without it; false: one detail stays unknown' }),
    granted: t.exposeBoolean('granted'),
    purpose: t.exposeString('purpose', { description: 'What the collector reads with it' }),
  }),
});

const ConnectionTestResultRef = builder.objectRef<ConnectionTestResult>('ConnectionTestResult').implement({
  fields: (t) => ({
    success: t.exposeBoolean('success', { description: 'The connection worked; missing collector rights are reported in the fields below' }),
    message: t.exposeString('message'),
    version: t.exposeString('version', { nullable: true }),
    failureKind: t.exposeString('failureKind', { nullable: true, description: 'refused, timeout, auth_failed, unknown_database, tls_required, tls_unavailable, host_not_found, connection_lost, other' }),
    rightsOk: t.exposeBoolean('rightsOk', { nullable: true, description: 'false when a required collector right is missing (a sync would be refused); null when not connected' }),
    missingRights: t.exposeStringList('missingRights', { nullable: true, description: 'Required collector rights the account lacks; null when not connected' }),
    missingOptionalRights: t.exposeStringList('missingOptionalRights', { nullable: true, description: 'Optional rights it lacks (a detail stays unknown); null when not connected' }),
    rights: t.field({ type: [CollectorRightRef], nullable: true, description: 'Every right the collector needs on this engine', resolve: (r) => r.rights }),
  }),
});

const DatabaseTypeRef = builder.objectRef<TypeRow>('DatabaseType').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    displayName: t.exposeString('displayName'),
    driver: t.exposeString('driver'),
    defaultPort: t.exposeInt('defaultPort'),
    defaultSchema: t.exposeString('defaultSchema'),
    icon: t.exposeString('icon'),
    color: t.exposeString('color'),
    features: t.expose('features', { type: 'JSON' }),
    isActive: t.exposeBoolean('isActive'),
    sortOrder: t.exposeInt('sortOrder'),
  }),
});

const CountBy = builder.objectRef<{ key: string; count: number }>('CountBy').implement({
  fields: (t) => ({ key: t.exposeString('key'), count: t.exposeInt('count') }),
});

const InstanceStatistics = builder.objectRef<Stats>('InstanceStatistics').implement({
  fields: (t) => ({
    totalInstances: t.exposeInt('totalInstances'),
    activeInstances: t.exposeInt('activeInstances'),
    inactiveInstances: t.exposeInt('inactiveInstances'),
    reachableInstances: t.exposeInt('reachableInstances'),
    unreachableInstances: t.exposeInt('unreachableInstances'),
    byDbType: t.field({ type: [CountBy], resolve: (s) => s.dbTypeStats.map((x) => ({ key: x.dbType, count: x.count })) }),
    byVersion: t.field({ type: [CountBy], resolve: (s) => s.versionStats.map((x) => ({ key: `${x.dbType} ${x.version}`, count: x.count })) }),
  }),
});

const ConnectionOptionsInput = builder.inputType('ConnectionOptionsInput', {
  fields: (t) => ({
    tls: t.boolean(),
    tlsRejectUnauthorized: t.boolean(),
    oracleConnectAs: t.string({ description: 'service (default) or sid' }),
    sqlserverInstanceName: t.string(),
    connectTimeoutMs: t.int(),
  }),
});

const CreateCredentialInput = builder.inputType('CreateCredentialInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    credentialType: t.string({ description: 'database (default), ssh, windows, api' }),
    dbType: t.string(),
    username: t.string({ required: true }),
    password: t.string({ required: true }),
    description: t.string(),
  }),
});
const UpdateCredentialInput = builder.inputType('UpdateCredentialInput', {
  fields: (t) => ({ name: t.string(), credentialType: t.string(), dbType: t.string(), username: t.string(), password: t.string(), description: t.string(), isActive: t.boolean() }),
});
const instanceInputFields = (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>, required: boolean) => ({
  name: t.string({ required }),
  dbType: t.string({ required }),
  host: t.string({ required }),
  port: t.int({ required }),
  databaseName: t.string(),
  credentialId: t.id(),
  environment: t.string(),
  description: t.string(),
  isActive: t.boolean(),
  tags: t.stringList(),
  connectionOptions: t.field({ type: ConnectionOptionsInput }),
});
const CreateInstanceInput = builder.inputType('CreateInstanceInput', { fields: (t) => instanceInputFields(t, true) });
const UpdateInstanceInput = builder.inputType('UpdateInstanceInput', { fields: (t) => instanceInputFields(t, false) });
const TestConnectionInput = builder.inputType('TestConnectionInput', {
  fields: (t) => ({
    dbType: t.string({ required: true }),
    host: t.string({ required: true }),
    port: t.int({ required: true }),
    databaseName: t.string(),
    credentialId: t.id(),
    username: t.string(),
    password: t.string(),
    connectionOptions: t.field({ type: ConnectionOptionsInput }),
  }),
});

const CredentialConnection = connectionType('Credential', CredentialRef);
const InstanceConnection = connectionType('Instance', InstanceRef);

/** GraphQL leaves unset optional inputs as null; operation schemas treat null like absent. */
const clean = (o: object | null | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined));

builder.queryFields((t) => ({
  credentials: t.field({
    type: CredentialConnection,
    authScopes: scopesFor(ops.listCredentialsOp.requires),
    args: { ...pagingArgs(t.arg), search: t.arg.string(), credentialType: t.arg.string(), dbType: t.arg.string(), isActive: t.arg.boolean(), sort: t.arg.string(), order: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.listCredentialsOp, ctx, clean(a)),
  }),
  credential: t.field({ type: CredentialRef, authScopes: scopesFor(ops.getCredentialOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.getCredentialOp, ctx, a) }),
  instances: t.field({
    type: InstanceConnection,
    authScopes: scopesFor(ops.listInstancesOp.requires),
    args: {
      ...pagingArgs(t.arg),
      search: t.arg.string({ description: 'name or host contains' }),
      dbType: t.arg.string(),
      environment: t.arg.string(),
      tag: t.arg.string(),
      isActive: t.arg.boolean(),
      connectionStatus: t.arg.string({ description: 'reachable, unreachable or unknown' }),
      sort: t.arg.string(),
      order: t.arg.string(),
    },
    resolve: (_r, a, ctx) => execute(ops.listInstancesOp, ctx, clean(a)),
  }),
  instance: t.field({ type: InstanceRef, authScopes: scopesFor(ops.getInstanceOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.getInstanceOp, ctx, a) }),
  instanceStatistics: t.field({ type: InstanceStatistics, authScopes: scopesFor(ops.instanceStatisticsOp.requires), resolve: (_r, _a, ctx) => execute(ops.instanceStatisticsOp, ctx, {}) }),
  databaseTypes: t.field({
    type: [DatabaseTypeRef],
    authScopes: scopesFor(ops.databaseTypesOp.requires),
    args: { activeOnly: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.databaseTypesOp, ctx, clean(a)),
  }),
}));

builder.mutationFields((t) => ({
  createCredential: t.field({ type: CredentialRef, authScopes: scopesFor(ops.createCredentialOp.requires), args: { input: t.arg({ type: CreateCredentialInput, required: true }) }, resolve: (_r, a, ctx) => execute(ops.createCredentialOp, ctx, clean(a.input)) }),
  updateCredential: t.field({ type: CredentialRef, authScopes: scopesFor(ops.updateCredentialOp.requires), args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateCredentialInput, required: true }) }, resolve: (_r, a, ctx) => execute(ops.updateCredentialOp, ctx, { ...clean(a.input), id: a.id }) }),
  deleteCredential: t.field({ type: 'ID', authScopes: scopesFor(ops.deleteCredentialOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: async (_r, a, ctx) => (await execute(ops.deleteCredentialOp, ctx, a)).id }),
  toggleCredential: t.field({ type: CredentialRef, authScopes: scopesFor(ops.toggleCredentialOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.toggleCredentialOp, ctx, a) }),
  createInstance: t.field({ type: InstanceRef, authScopes: scopesFor(ops.createInstanceOp.requires), args: { input: t.arg({ type: CreateInstanceInput, required: true }) }, resolve: (_r, a, ctx) => execute(ops.createInstanceOp, ctx, clean(a.input)) }),
  updateInstance: t.field({ type: InstanceRef, authScopes: scopesFor(ops.updateInstanceOp.requires), args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInstanceInput, required: true }) }, resolve: (_r, a, ctx) => execute(ops.updateInstanceOp, ctx, { ...clean(a.input), id: a.id }) }),
  deleteInstance: t.field({ type: 'ID', authScopes: scopesFor(ops.deleteInstanceOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: async (_r, a, ctx) => (await execute(ops.deleteInstanceOp, ctx, a)).id }),
  testInstanceConnection: t.field({ type: ConnectionTestResultRef, authScopes: scopesFor(ops.testInstanceConnectionOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.testInstanceConnectionOp, ctx, a) }),
  testConnection: t.field({ type: ConnectionTestResultRef, authScopes: scopesFor(ops.testConnectionOp.requires), args: { input: t.arg({ type: TestConnectionInput, required: true }) }, resolve: (_r, a, ctx) => execute(ops.testConnectionOp, ctx, clean(a.input)) }),
}));
