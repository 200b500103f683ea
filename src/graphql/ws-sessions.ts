/**
 * The login behind every graphql-ws connection. A connection is authenticated once, when it opens,
 * and its subscriptions can live for hours; without this, logging out, a password change, disabling
 * the user or lowering their role would leave those subscriptions streaming. So each connection is
 * closed with 4403 (graphql-ws' Forbidden) when its access token expires, and re-checked whenever
 * its user changes (`user.changed`, published by every replica on logout, revocation and user edits).
 */
import type { WebSocket } from 'ws';
import type { AppDeps } from '../deps.js';
import { userForToken } from '../auth/authenticate.js';
import type { Role } from '../auth/permissions.js';
import type { VerifiedToken } from '../auth/tokens.js';

export const WS_FORBIDDEN = 4403;
/** setTimeout's largest delay; a token living longer is checked again after that. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Session {
  token: VerifiedToken;
  role: Role;
  timer: NodeJS.Timeout;
}

export class WsSessions {
  private readonly byUser = new Map<number, Map<WebSocket, Session>>();
  private readonly onUserChanged = (ev: Event) => void this.recheck((ev as CustomEvent<{ id: number }>).detail.id);

  constructor(private readonly deps: Pick<AppDeps, 'authCache' | 'pubsub' | 'logger'>) {
    deps.pubsub.target.addEventListener('user.changed', this.onUserChanged);
  }

  add(socket: WebSocket, token: VerifiedToken, role: Role): void {
    let sockets = this.byUser.get(token.userId);
    if (!sockets) this.byUser.set(token.userId, (sockets = new Map()));
    const timer = setTimeout(() => this.end(socket, token.userId, '令牌已过期'), Math.min(Math.max(0, token.expiresAt.getTime() - Date.now()), MAX_TIMER_MS));
    timer.unref();
    sockets.set(socket, { token, role, timer });
    socket.once('close', () => this.forget(socket, token.userId));
  }

  /** Closes the user's connections whose token or role no longer holds. */
  private async recheck(userId: number): Promise<void> {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    // This listener may run before the one that evicts the cache: read the user afresh either way.
    this.deps.authCache.evict(userId);
    for (const [socket, s] of [...sockets]) {
      const verdict = await userForToken(this.deps.authCache, s.token).then(
        (user) => (user.role === s.role ? null : '角色已变更，请重新连接'),
        (err: Error) => err.message,
      );
      if (verdict) this.end(socket, userId, verdict);
    }
  }

  private end(socket: WebSocket, userId: number, reason: string): void {
    this.forget(socket, userId);
    this.deps.logger.info({ module: 'auth', event: 'websocket_closed', user_id: userId, reason }, `WebSocket 连接已关闭: ${reason}`);
    socket.close(WS_FORBIDDEN, reason);
  }

  private forget(socket: WebSocket, userId: number): void {
    const sockets = this.byUser.get(userId);
    const s = sockets?.get(socket);
    if (!s) return;
    clearTimeout(s.timer);
    sockets!.delete(socket);
    if (!sockets!.size) this.byUser.delete(userId);
  }

  close(): void {
    this.deps.pubsub.target.removeEventListener('user.changed', this.onUserChanged);
    for (const sockets of this.byUser.values()) for (const s of sockets.values()) clearTimeout(s.timer);
    this.byUser.clear();
  }
}
