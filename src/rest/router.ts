/**
 * Every documented REST endpoint, at its flat path from the API document and at its upstream
 * prefixed path (SPEC §4). Where flat paths collide, /api/health is system health and /api/statistics
 * is log statistics; the other meanings live under their prefixes. Each module declares its routes
 * in one route table, which also yields the OpenAPI document (/api/openapi.json, docs at /api/docs).
 */
import express, { type Router } from 'express';
import type { AppDeps } from '../deps.js';
import { RouteTable } from './route-table.js';
import { authRoutes } from './auth.js';
import { healthRoutes } from './health.js';
import { userRoutes } from './users.js';
import { syncRoutes } from './sync.js';
import { inventoryRoutes } from './inventory.js';
import { logRoutes } from './logs.js';
import { dashboardRoutes } from './dashboard.js';
import { schedulerRoutes } from './scheduler.js';
import { classificationRoutes } from './classification.js';
import { metricsRoutes } from './metrics.js';
import { alertRoutes } from './alerts.js';
import { driftRoutes } from './drift.js';
import { docsRoutes } from './docs.js';

/** The route table with every module registered, in matching order. */
export function restRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable(deps);
  // HTTP_BODY_LIMIT_BYTES: a larger body is a 413 envelope (errorHandler), GraphQL has the same limit.
  table.router.use(express.json({ limit: deps.config.bodyLimitBytes, strict: true }));
  table.router.use(express.urlencoded({ extended: false, limit: deps.config.bodyLimitBytes }));
  healthRoutes(table.module('health', '健康检查 (公开)'));
  authRoutes(table.module('auth', '登录、令牌与登出'));
  userRoutes(table.module('users', '用户管理'));
  inventoryRoutes(table.module('inventory', '凭据、实例、连接测试、数据库类型'));
  logRoutes(table.module('logs', '统一日志'));
  dashboardRoutes(table.module('dashboard', '仪表板'));
  syncRoutes(table.module('sync', '账户同步、同步会话、账户与账户历史'));
  schedulerRoutes(table.module('scheduler', '定时任务'));
  classificationRoutes(table.module('classification', '账户分类'));
  alertRoutes(table.module('alerts', '告警规则、告警、Webhook 与投递记录'));
  driftRoutes(table.module('drift', '权限基线、漂移与授权导出'));
  metricsRoutes(table.module('metrics', 'Prometheus 指标'));
  docsRoutes(table.module('docs', 'OpenAPI 文档与文档页面'), table);
  return table;
}

export function restRouter(deps: AppDeps): Router {
  return restRoutes(deps).router;
}
