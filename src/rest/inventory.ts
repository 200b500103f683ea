/**
 * Credentials (/api/credentials, /credentials/…), instances (/api/instances, /instances/…), connection
 * tests and database types (/api/list|active|form-options, /database-types/api/…), SPEC §4.4, §4.10, §4.11.
 */
import express, { Router, type Request } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/inventory.js';
import { PASSWORD_MASK, type PublicCredential } from '../services/inventory/credential-service.js';
import type { ConnectionTestResult, InstanceRow } from '../services/inventory/instance-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { iso } from './serializers.js';

export function credentialJson(c: PublicCredential) {
  return {
    id: c.id,
    name: c.name,
    credential_type: c.credentialType,
    db_type: c.dbType,
    username: c.username,
    password: PASSWORD_MASK,
    description: c.description,
    is_active: c.isActive,
    instance_count: c._count.instances,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

export function instanceJson(i: InstanceRow) {
  return {
    id: i.id,
    name: i.name,
    db_type: i.dbType,
    host: i.host,
    port: i.port,
    database_name: i.databaseName,
    database_version: i.databaseVersion,
    main_version: i.mainVersion,
    detailed_version: i.detailedVersion,
    environment: i.environment,
    credential_id: i.credentialId,
    description: i.description,
    tags: i.tags.map((t) => ({ id: t.tag.id, name: t.tag.name, display_name: t.tag.displayName, category: t.tag.category, color: t.tag.color })),
    status: i.status,
    is_active: i.isActive,
    last_connected: iso(i.lastConnected),
    connection_status: i.connectionStatus ?? 'unknown',
    last_connection_error: i.lastConnectionError,
    connection_options: i.connectionOptions,
    sync_count: i.syncCount,
    last_sync_at: iso(i.lastSyncAt),
    account_count: i._count.accounts,
    credential: i.credential
      ? { id: i.credential.id, name: i.credential.name, username: i.credential.username, password: PASSWORD_MASK, credential_type: i.credential.credentialType, is_active: i.credential.isActive }
      : null,
    created_at: iso(i.createdAt),
    updated_at: iso(i.updatedAt),
  };
}

export function testResultJson(r: ConnectionTestResult) {
  return {
    success: r.success,
    message: r.message,
    version: r.version,
    main_version: r.mainVersion,
    detailed_version: r.detailedVersion,
    failure_kind: r.failureKind,
    rights_ok: r.rightsOk,
    missing_rights: r.missingRights,
    missing_optional_rights: r.missingOptionalRights,
    rights: r.rights,
  };
}

type TypeRow = Awaited<ReturnType<typeof ops.databaseTypesOp.run>>[number];
export function databaseTypeJson(t: TypeRow) {
  return {
    id: t.id,
    name: t.name,
    display_name: t.displayName,
    driver: t.driver,
    default_port: t.defaultPort,
    default_schema: t.defaultSchema,
    connection_timeout: t.connectionTimeout,
    description: t.description,
    icon: t.icon,
    color: t.color,
    features: t.features,
    is_active: t.isActive,
    is_system: t.isSystem,
    sort_order: t.sortOrder,
  };
}

const id = (req: Request) => ({ id: req.params.id });

export function inventoryRoutes(deps: AppDeps): Router {
  const r = Router();
  const cred = (p = '') => [`/api/credentials${p}`, `/credentials/api/credentials${p}`];
  r.get(cred(), rest(deps, ops.listCredentialsOp, queryInput, (res, page) => sendPage(res, page, credentialJson)));
  r.post([...cred(), '/credentials/create'], rest(deps, ops.createCredentialOp, bodyInput, (res, c) => sendSuccess(res, credentialJson(c), '凭据创建成功', 201)));
  r.get(cred('/:id'), rest(deps, ops.getCredentialOp, id, (res, c) => sendSuccess(res, credentialJson(c))));
  r.put(cred('/:id'), rest(deps, ops.updateCredentialOp, (req) => ({ ...bodyInput(req), ...id(req) }), (res, c) => sendSuccess(res, credentialJson(c), '凭据更新成功')));
  r.post('/credentials/:id/edit', rest(deps, ops.updateCredentialOp, (req) => ({ ...bodyInput(req), ...id(req) }), (res, c) => sendSuccess(res, credentialJson(c), '凭据更新成功')));
  r.delete(cred('/:id'), rest(deps, ops.deleteCredentialOp, id, (res, d) => sendSuccess(res, d, '凭据删除成功')));
  r.post('/credentials/:id/delete', rest(deps, ops.deleteCredentialOp, id, (res, d) => sendSuccess(res, d, '凭据删除成功')));
  r.post([...cred('/:id/toggle'), '/credentials/:id/toggle'], rest(deps, ops.toggleCredentialOp, id, (res, c) => sendSuccess(res, credentialJson(c), c.isActive ? '凭据已启用' : '凭据已停用')));

  const inst = (p = '') => [`/api/instances${p}`, `/instances/api/instances${p}`];
  r.get('/instances/api/statistics', rest(deps, ops.instanceStatisticsOp, () => ({}), (res, s) =>
    sendSuccess(res, {
      total_instances: s.totalInstances,
      active_instances: s.activeInstances,
      inactive_instances: s.inactiveInstances,
      reachable_instances: s.reachableInstances,
      unreachable_instances: s.unreachableInstances,
      untested_instances: s.untestedInstances,
      db_types_count: s.dbTypesCount,
      db_type_stats: s.dbTypeStats.map((x) => ({ db_type: x.dbType, count: x.count })),
      port_stats: s.portStats,
      version_stats: s.versionStats.map((x) => ({ db_type: x.dbType, version: x.version, count: x.count })),
    }),
  ));
  r.post(['/api/test-connection', '/instances/api/test-connection'], rest(deps, ops.testConnectionOp, bodyInput, (res, t) => sendSuccess(res, testResultJson(t), t.success ? '连接成功' : '连接失败')));
  r.get([...inst('/export'), '/instances/export'], rest(deps, ops.exportInstancesOp, queryInput, (res, out) => {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename=instances_export_${stamp}.csv`);
    res.send(out.csv);
  }));
  r.post(
    [...inst('/batch-create'), '/instances/batch-create'],
    express.text({ type: ['text/csv', 'text/plain'], limit: '2mb' }),
    rest(deps, ops.batchCreateInstancesOp, (req) => (typeof req.body === 'string' ? { csv: req.body } : bodyInput(req)), (res, rows) =>
      sendSuccess(res, { created: rows.length, instances: rows.map(instanceJson) }, `批量创建成功: ${rows.length} 个实例`, 201),
    ),
  );
  r.post([...inst('/batch-delete'), '/instances/batch-delete'], rest(deps, ops.batchDeleteInstancesOp, bodyInput, (res, out) =>
    sendSuccess(res, { deleted: out.deleted, not_found: out.notFound }, `已删除 ${out.deleted.length} 个实例`),
  ));
  r.get(inst(), rest(deps, ops.listInstancesOp, queryInput, (res, page) => sendPage(res, page, instanceJson)));
  r.post([...inst(), '/instances/create'], rest(deps, ops.createInstanceOp, bodyInput, (res, i) => sendSuccess(res, instanceJson(i), '实例创建成功', 201)));
  r.get(inst('/:id'), rest(deps, ops.getInstanceOp, id, (res, i) => sendSuccess(res, instanceJson(i))));
  r.put(inst('/:id'), rest(deps, ops.updateInstanceOp, (req) => ({ ...bodyInput(req), ...id(req) }), (res, i) => sendSuccess(res, instanceJson(i), '实例更新成功')));
  r.post('/instances/:id/edit', rest(deps, ops.updateInstanceOp, (req) => ({ ...bodyInput(req), ...id(req) }), (res, i) => sendSuccess(res, instanceJson(i), '实例更新成功')));
  r.delete(inst('/:id'), rest(deps, ops.deleteInstanceOp, id, (res, d) => sendSuccess(res, d, '实例删除成功')));
  r.post('/instances/:id/delete', rest(deps, ops.deleteInstanceOp, id, (res, d) => sendSuccess(res, d, '实例删除成功')));
  const test = rest(deps, ops.testInstanceConnectionOp, id, (res, t) => sendSuccess(res, testResultJson(t), t.success ? '连接测试成功' : '连接测试失败'));
  r.post([...inst('/:id/test'), '/instances/:id/test'], test);
  r.get('/instances/api/instances/:id/test', test);

  const types = (p: string) => [`/api/${p}`, `/database-types/api/${p}`];
  r.get(types('list'), rest(deps, ops.databaseTypesOp, () => ({}), (res, rows) => sendSuccess(res, rows.map(databaseTypeJson))));
  r.get(types('active'), rest(deps, ops.databaseTypesOp, () => ({ activeOnly: true }), (res, rows) => sendSuccess(res, rows.map(databaseTypeJson))));
  r.get(types('form-options'), rest(deps, ops.formOptionsOp, () => ({}), (res, f) =>
    sendSuccess(res, {
      types: f.types.map((t) => ({ value: t.name, text: t.displayName, icon: t.icon, color: t.color, default_port: t.defaultPort })),
      credentials: f.credentials.map((c) => ({ id: c.id, name: c.name, username: c.username, db_type: c.dbType })),
      environments: f.environments,
      tags: f.tags.map((t) => ({ id: t.id, name: t.name, display_name: t.displayName, category: t.category, color: t.color })),
    }),
  ));
  return r;
}
