/** Driver errors → ConnectionFailure kinds with messages a DBA can act on (never the password). */
import { MissingRightsError } from './rights.js';
import { ConnectionFailure, type ConnInfo } from './types.js';

/** A missing collector right passes through unchanged: it is not a connection problem. */
export function classifyFailure(err: unknown, conn: ConnInfo): ConnectionFailure | MissingRightsError {
  if (err instanceof ConnectionFailure || err instanceof MissingRightsError) return err;
  const e = err as { code?: string | number; errno?: number; message?: string; number?: number; originalError?: { code?: string } };
  const code = String(e?.code ?? e?.originalError?.code ?? '');
  const msg = String(e?.message ?? err).replaceAll(conn.password, '***');
  const where = `${conn.host}:${conn.port}`;
  // tedious (SQL Server) reports a refused TCP connect as ESOCKET "Could not connect (sequence)".
  if (code === 'ECONNREFUSED' || /ECONNREFUSED|connection refused|Could not connect \(sequence\)/i.test(msg)) return new ConnectionFailure('refused', `连接被拒绝 (${where})：服务未监听该端口或被防火墙拦截`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|getaddrinfo/i.test(msg)) return new ConnectionFailure('host_not_found', `无法解析主机名 ${conn.host}`);
  if (code === 'ETIMEDOUT' || code === 'ETIMEOUT' || /timeout|timed out|ETIMEDOUT/i.test(msg)) return new ConnectionFailure('timeout', `连接超时 (${where})：服务器在限定时间内未响应`);
  if (code === '28P01' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ELOGIN' || /ORA-01017|password authentication failed|Access denied for user|Login failed/i.test(msg)) {
    if (/no encryption|SSL off|requires? (SSL|secure transport)/i.test(msg) || code === '3159') return new ConnectionFailure('tls_required', `服务器要求 TLS 加密连接 (${where})：请在实例连接选项中启用 TLS`);
    return new ConnectionFailure('auth_failed', `认证失败：用户 ${conn.username} 的用户名或密码错误`);
  }
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT' || /does not support (SSL|secure transport)|SSL is not enabled/i.test(msg)) {
    return new ConnectionFailure('tls_unavailable', `服务器未启用 TLS (${where})：请在实例连接选项中关闭 TLS，或在服务器上启用 TLS`);
  }
  if (/no pg_hba\.conf entry.*no encryption|SSL off|requires secure transport/i.test(msg)) {
    return new ConnectionFailure('tls_required', `服务器要求 TLS 加密连接 (${where})：请在实例连接选项中启用 TLS`);
  }
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR' || /does not exist|Unknown database|Cannot open database|ORA-12514|ORA-12505/i.test(msg)) {
    return new ConnectionFailure('unknown_database', `数据库不存在：${conn.database ?? '(默认)'}`);
  }
  if (code === '28000') return new ConnectionFailure('auth_failed', `服务器拒绝了用户 ${conn.username} 的连接：${msg.slice(0, 200)}`);
  // After the timeout test above: pg says "Connection terminated due to connection timeout" too.
  if (
    ['ECONNRESET', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', '57P01', '57P02', '57P03'].includes(code) ||
    /Connection terminated|ECONNRESET|socket hang up|Connection lost|server closed the connection|terminating connection|shutting down/i.test(msg)
  ) {
    return new ConnectionFailure('connection_lost', `连接中断 (${where})：服务器在操作过程中断开了连接 (重启、宕机或网络中断)`);
  }
  return new ConnectionFailure('other', `连接失败 (${where})：${msg.slice(0, 300)}`);
}

/** Rejects after `ms` with a timeout failure, so no driver can hang a request beyond the bound. */
export function withTimeout<T>(p: Promise<T>, ms: number, conn: ConnInfo): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionFailure('timeout', `连接超时 (${conn.host}:${conn.port})：${ms} ms 内未完成`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
