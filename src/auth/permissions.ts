/**
 * Permission levels of the API document, mapped from roles as SPEC §3.2 describes. The same table
 * feeds the Pothos scope-auth scopes and the REST route guards.
 */
export const PERMISSIONS = ['view', 'create', 'update', 'delete', 'scheduler_view', 'scheduler_manage', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];
export type Role = 'admin' | 'user' | 'viewer';

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS),
  user: new Set<Permission>(['view', 'scheduler_view']),
  viewer: new Set<Permission>(),
};

/** What an operation requires: a permission, any signed-in user, or nobody. */
export type Requirement = Permission | 'authenticated' | 'public';

export interface AuthUser {
  id: number;
  username: string;
  role: Role;
}

export function hasPermission(user: AuthUser | null | undefined, perm: Permission): boolean {
  return !!user && ROLE_PERMISSIONS[user.role]?.has(perm) === true;
}

export function permissionsOf(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}

/** Chinese messages of the upstream guards (SPEC §3.2). */
export function forbiddenMessage(perm: Permission): string {
  if (perm === 'scheduler_manage') return '需要管理员权限才能管理定时任务';
  if (perm === 'admin') return '需要管理员权限';
  return `需要${perm}权限`;
}
