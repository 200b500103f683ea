/** What the sync needs to reach an instance: its connection info (secret decrypted in memory only)
 * and the configured account filter of its engine. */
import type { AppDeps } from '../../deps.js';
import type { Instance } from '../../generated/prisma/client.js';
import { DEFAULT_ACCOUNT_FILTERS } from '../../adapters/filters.js';
import type { AccountFilter, ConnectionOptions, ConnInfo, DbType } from '../../adapters/types.js';
import { ValidationError } from '../../lib/errors.js';
import { DecryptionError } from '../../lib/crypto.js';

/** Global param holding per-type overrides: {"mysql": {"excludeUsers": [...], "excludePatterns": [...]}}. */
export const ACCOUNT_FILTERS_PARAM = 'account_filters';

/** Fallback database per type when the instance names none (SPEC §2.3). */
const DEFAULT_DATABASE: Record<DbType, string | null> = { postgresql: 'postgres', mysql: null, sqlserver: 'master', oracle: 'ORCL' };

export async function connInfoFor(deps: AppDeps, instance: Instance): Promise<ConnInfo> {
  if (!instance.credentialId) throw new ValidationError('实例未配置凭据，无法连接', { instance_id: instance.id }, 422);
  const cred = await deps.prisma.credential.findUnique({ where: { id: instance.credentialId } });
  if (!cred || cred.deletedAt) throw new ValidationError('实例的凭据不存在', { instance_id: instance.id }, 422);
  if (!cred.isActive) throw new ValidationError('实例的凭据已停用', { credential_id: cred.id }, 422);
  let password: string;
  try {
    password = deps.credentialKey.decrypt(cred.passwordCipher, cred.passwordKeyId);
  } catch (err) {
    if (err instanceof DecryptionError) throw new ValidationError(`无法解密凭据 ${cred.name}：请重新输入密码`, { credential_id: cred.id }, 422);
    throw err;
  }
  const dbType = instance.dbType as DbType;
  return {
    dbType,
    host: instance.host,
    port: instance.port,
    username: cred.username,
    password,
    database: instance.databaseName || DEFAULT_DATABASE[dbType],
    options: (instance.connectionOptions ?? {}) as ConnectionOptions,
  };
}

export async function accountFilterFor(deps: AppDeps, dbType: DbType): Promise<AccountFilter> {
  const row = await deps.prisma.globalParam.findUnique({ where: { key: ACCOUNT_FILTERS_PARAM } });
  if (row) {
    try {
      const all = JSON.parse(row.value) as Record<string, Partial<AccountFilter>>;
      const f = all[dbType];
      if (f) return { excludeUsers: f.excludeUsers ?? [], excludePatterns: f.excludePatterns ?? [] };
    } catch {
      deps.logger.warn({ module: 'account_sync', param: ACCOUNT_FILTERS_PARAM }, '账户过滤配置不是有效的 JSON，使用默认过滤规则');
    }
  }
  return DEFAULT_ACCOUNT_FILTERS[dbType];
}
