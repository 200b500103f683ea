/**
 * Every documented REST endpoint, at its flat path from the API document and at its upstream
 * prefixed path (SPEC §4). Where flat paths collide, /api/health is system health and /api/statistics
 * is log statistics; the other meanings live under their prefixes.
 */
import express, { Router } from 'express';
import type { AppDeps } from '../deps.js';
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

export function restRouter(deps: AppDeps): Router {
  const r = Router();
  // HTTP_BODY_LIMIT_BYTES: a larger body is a 413 envelope (errorHandler), GraphQL has the same limit.
  r.use(express.json({ limit: deps.config.bodyLimitBytes, strict: true }));
  r.use(express.urlencoded({ extended: false, limit: deps.config.bodyLimitBytes }));
  r.use(healthRoutes(deps));
  r.use(authRoutes(deps));
  r.use(userRoutes(deps));
  r.use(inventoryRoutes(deps));
  r.use(logRoutes(deps));
  r.use(dashboardRoutes(deps));
  r.use(syncRoutes(deps));
  r.use(schedulerRoutes(deps));
  r.use(classificationRoutes(deps));
  r.use(alertRoutes(deps));
  r.use(driftRoutes(deps));
  r.use(metricsRoutes(deps));
  return r;
}
