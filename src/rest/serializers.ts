/** Domain values → the snake_case JSON of the REST contract. Timestamps are UTC ISO-8601. */
import type { PublicUser } from '../services/users/user-service.js';

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function userJson(u: PublicUser) {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    email: u.email,
    is_active: u.isActive,
    last_login: iso(u.lastLogin),
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
  };
}
