/** Sync sessions, records, accounts and changes → REST JSON (snake_case, UTC ISO timestamps). */
import { iso } from './serializers.js';
import { progressPercentage, type SessionWithRecords, type SyncRecord } from '../services/sync/sync-service.js';
import { privilegesOf, type AccountRow, type ChangeRow } from '../services/accounts/account-service.js';
import type { AccountVersionRow } from '../services/accounts/history-service.js';

export function recordJson(r: SyncRecord) {
  return {
    id: r.id,
    session_id: r.sessionId,
    instance_id: r.instanceId,
    instance_name: r.instanceName,
    sync_category: r.syncCategory,
    status: r.status,
    started_at: iso(r.startedAt),
    completed_at: iso(r.completedAt),
    accounts_synced: r.accountsSynced,
    accounts_created: r.accountsCreated,
    accounts_updated: r.accountsUpdated,
    accounts_deleted: r.accountsDeleted,
    error_message: r.errorMessage,
    sync_details: r.syncDetails,
    node: r.node,
    duration_seconds: r.startedAt && r.completedAt ? (r.completedAt.getTime() - r.startedAt.getTime()) / 1000 : null,
    created_at: iso(r.createdAt),
  };
}

export function sessionJson(s: SessionWithRecords, withRecords = true) {
  return {
    id: s.id,
    session_id: s.sessionId,
    sync_type: s.syncType,
    sync_category: s.syncCategory,
    status: s.status,
    started_at: iso(s.startedAt),
    completed_at: iso(s.completedAt),
    settled_at: iso(s.settledAt),
    total_instances: s.totalInstances,
    successful_instances: s.successfulInstances,
    failed_instances: s.failedInstances,
    progress_percentage: progressPercentage(s),
    created_by: s.createdBy,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
    ...(withRecords ? { instance_records: s.records.map(recordJson) } : {}),
  };
}

export function accountJson(a: AccountRow) {
  return {
    id: a.id,
    instance_id: a.instanceId,
    instance_name: a.instance.name,
    db_type: a.dbType,
    username: a.username,
    host: a.host,
    is_superuser: a.isSuperuser,
    is_active: a.isActive,
    is_locked: a.isLocked,
    is_deleted: a.isDeleted,
    deleted_time: iso(a.deletedTime),
    last_change_type: a.lastChangeType,
    last_change_time: iso(a.lastChangeTime),
    last_sync_time: iso(a.lastSyncTime),
    last_login_at: iso(a.lastLoginAt),
    password_changed_at: iso(a.passwordChangedAt),
    password_expires_at: iso(a.passwordExpiresAt),
    session_id: a.sessionId,
    permissions: privilegesOf(a),
  };
}

/** An account as it was at the asked moment (accounts-at): the account's fields plus its period. */
export function accountVersionJson(v: AccountVersionRow) {
  return {
    id: v.id,
    version_id: v.versionId,
    instance_id: v.instanceId,
    instance_name: v.instance.name,
    db_type: v.dbType,
    username: v.username,
    host: v.host,
    is_superuser: v.isSuperuser,
    is_active: v.isActive,
    is_locked: v.isLocked,
    is_deleted: v.isDeleted,
    change_type: v.changeType,
    valid_from: iso(v.validFrom),
    valid_to: iso(v.validTo),
    permissions: privilegesOf(v),
  };
}

export function changeJson(c: ChangeRow) {
  return {
    id: c.id,
    instance_id: c.instanceId,
    account_id: c.accountId,
    db_type: c.dbType,
    username: c.username,
    change_type: c.changeType,
    change_time: iso(c.changeTime),
    session_id: c.sessionId,
    status: c.status,
    message: c.message,
    privilege_diff: c.privilegeDiff,
    other_diff: c.otherDiff,
  };
}
