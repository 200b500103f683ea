/**
 * Credentials (/api/credentials, /credentials/…), instances (/api/instances, /instances/…), connection
 * tests and database types (/api/list|active|form-options, /database-types/api/…), SPEC §4.4, §4.10, §4.11.
 */
import express, { type Response } from 'express';
import * as ops from '../resolvers/inventory.js';
import { PASSWORD_MASK, type PublicCredential } from '../services/inventory/credential-service.js';
import type { ConnectionTestResult, InstanceRow } from '../services/inventory/instance-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput } from './handler.js';
import type { RouteModule } from './route-table.js';
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

export function inventoryRoutes(api: RouteModule): void {
  const cred = (p = '') => [`/api/credentials${p}`, `/credentials/api/credentials${p}`];
  api.get(cred(), { summary: '凭据列表', op: ops.listCredentialsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, credentialJson) });
  api.post([...cred(), '/credentials/create'], {
    summary: '创建凭据 (密码加密保存，从不返回)',
    op: ops.createCredentialOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { name: 'pg-monitor', credential_type: 'database', db_type: 'postgresql', username: 'monitor', password: 'monitor-password', description: '只读监控账号' },
    present: (res, c) => sendSuccess(res, credentialJson(c), '凭据创建成功', 201),
  });
  api.get(cred('/:id'), { summary: '凭据详情', op: ops.getCredentialOp, present: (res, c) => sendSuccess(res, credentialJson(c)) });
  const updateCredential = { summary: '更新凭据 (密码留空则不变)', op: ops.updateCredentialOp, from: 'body', errors: [409], present: (res: Response, c: PublicCredential) => sendSuccess(res, credentialJson(c), '凭据更新成功') } as const;
  api.put(cred('/:id'), updateCredential);
  api.post('/credentials/:id/edit', { ...updateCredential, id: 'updateCredentialForm' });
  const deleteCredential = { summary: '删除凭据 (仍被实例使用时 409)', op: ops.deleteCredentialOp, errors: [409], present: (res: Response, d: { id: number }) => sendSuccess(res, d, '凭据删除成功') } as const;
  api.delete(cred('/:id'), deleteCredential);
  api.post('/credentials/:id/delete', { ...deleteCredential, id: 'deleteCredentialForm' });
  api.post([...cred('/:id/toggle'), '/credentials/:id/toggle'], {
    summary: '启用/停用凭据',
    op: ops.toggleCredentialOp,
    present: (res, c) => sendSuccess(res, credentialJson(c), c.isActive ? '凭据已启用' : '凭据已停用'),
  });

  const inst = (p = '') => [`/api/instances${p}`, `/instances/api/instances${p}`];
  api.get('/instances/api/statistics', {
    summary: '实例统计',
    op: ops.instanceStatisticsOp,
    present: (res, s) =>
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
  });
  api.post(['/api/test-connection', '/instances/api/test-connection'], {
    summary: '用给定参数测试连接 (不保存)',
    op: ops.testConnectionOp,
    from: 'body',
    example: { db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', username: 'monitor', password: 'monitor-password' },
    present: (res, t) => sendSuccess(res, testResultJson(t), t.success ? '连接成功' : '连接失败'),
  });
  api.get([...inst('/export'), '/instances/export'], {
    summary: '导出实例 (CSV，过滤条件同实例列表)',
    op: ops.exportInstancesOp,
    from: 'query',
    response: 'csv',
    present: (res, out) => {
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename=instances_export_${stamp}.csv`);
      res.send(out.csv);
    },
  });
  api.post([...inst('/batch-create'), '/instances/batch-create'], {
    summary: '批量创建实例 (JSON {instances:[…]} 或 text/csv)',
    op: ops.batchCreateInstancesOp,
    from: 'body',
    csvBody: true,
    example: { instances: [{ name: 'mysql-01', db_type: 'mysql', host: '127.0.0.1', port: 3306, environment: 'testing' }] },
    before: [express.text({ type: ['text/csv', 'text/plain'], limit: '2mb' })],
    toInput: (req) => (typeof req.body === 'string' ? { csv: req.body } : bodyInput(req)),
    status: 201,
    present: (res, rows) => sendSuccess(res, { created: rows.length, instances: rows.map(instanceJson) }, `批量创建成功: ${rows.length} 个实例`, 201),
  });
  api.post([...inst('/batch-delete'), '/instances/batch-delete'], {
    summary: '批量删除实例',
    op: ops.batchDeleteInstancesOp,
    from: 'body',
    example: { instance_ids: [3, 4] },
    present: (res, out) => sendSuccess(res, { deleted: out.deleted, not_found: out.notFound }, `已删除 ${out.deleted.length} 个实例`),
  });
  api.get(inst(), { summary: '实例列表', op: ops.listInstancesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, instanceJson) });
  api.post([...inst(), '/instances/create'], {
    summary: '创建实例',
    op: ops.createInstanceOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { name: 'pg-prod-01', db_type: 'postgresql', host: '127.0.0.1', port: 5432, database_name: 'postgres', credential_id: 1, environment: 'production', tags: ['core'], description: '核心库' },
    present: (res, i) => sendSuccess(res, instanceJson(i), '实例创建成功', 201),
  });
  api.get(inst('/:id'), { summary: '实例详情', op: ops.getInstanceOp, present: (res, i) => sendSuccess(res, instanceJson(i)) });
  const updateInstance = { summary: '更新实例', op: ops.updateInstanceOp, from: 'body', errors: [409], example: { description: '核心库 (主)', environment: 'production', connection_options: { connectTimeoutMs: 3000 } }, present: (res: Response, i: InstanceRow) => sendSuccess(res, instanceJson(i), '实例更新成功') } as const;
  api.put(inst('/:id'), updateInstance);
  api.post('/instances/:id/edit', { ...updateInstance, id: 'updateInstanceForm' });
  const deleteInstance = { summary: '删除实例', op: ops.deleteInstanceOp, present: (res: Response, d: { id: number }) => sendSuccess(res, d, '实例删除成功') } as const;
  api.delete(inst('/:id'), deleteInstance);
  api.post('/instances/:id/delete', { ...deleteInstance, id: 'deleteInstanceForm' });
  const test = { summary: '测试实例连接 (凭据缺失或已停用时 422)', op: ops.testInstanceConnectionOp, errors: [422], present: (res: Response, t: ConnectionTestResult) => sendSuccess(res, testResultJson(t), t.success ? '连接测试成功' : '连接测试失败') } as const;
  api.post([...inst('/:id/test'), '/instances/:id/test'], test);
  api.get('/instances/api/instances/:id/test', { ...test, id: 'testInstanceConnectionGet' });

  const types = (p: string) => [`/api/${p}`, `/database-types/api/${p}`];
  api.get(types('list'), { summary: '数据库类型', op: ops.databaseTypesOp, present: (res, rows) => sendSuccess(res, rows.map(databaseTypeJson)) });
  api.get(types('active'), {
    summary: '启用的数据库类型',
    id: 'activeDatabaseTypes',
    op: ops.databaseTypesOp,
    fixed: { activeOnly: true },
    present: (res, rows) => sendSuccess(res, rows.map(databaseTypeJson)),
  });
  api.get(types('form-options'), {
    summary: '创建实例表单的选项 (类型、凭据、环境、标签)',
    op: ops.formOptionsOp,
    present: (res, f) =>
      sendSuccess(res, {
        types: f.types.map((t) => ({ value: t.name, text: t.displayName, icon: t.icon, color: t.color, default_port: t.defaultPort })),
        credentials: f.credentials.map((c) => ({ id: c.id, name: c.name, username: c.username, db_type: c.dbType })),
        environments: f.environments,
        tags: f.tags.map((t) => ({ id: t.id, name: t.name, display_name: t.displayName, category: t.category, color: t.color })),
      }),
  });
}
