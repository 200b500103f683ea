/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type CreateUserInput = {
  email?: string | null | undefined;
  isActive?: boolean | null | undefined;
  /** at least 8 characters with upper, lower case and a digit */
  password: string;
  role?: UserRole | null | undefined;
  /** 3-20 letters, digits or underscores */
  username: string;
};

export type LogLevel =
  | 'CRITICAL'
  | 'ERROR'
  | 'INFO'
  | 'WARNING';

export type Permission =
  | 'admin'
  | 'create'
  | 'delete'
  | 'scheduler_manage'
  | 'scheduler_view'
  | 'update'
  | 'view';

export type SortOrder =
  | 'asc'
  | 'desc';

export type UpdateUserInput = {
  email?: string | null | undefined;
  isActive?: boolean | null | undefined;
  /** empty or absent keeps the current password */
  password?: string | null | undefined;
  role?: UserRole | null | undefined;
  username?: string | null | undefined;
};

/** admin: every permission; user: view and scheduler_view; viewer: none */
export type UserRole =
  | 'admin'
  | 'user'
  | 'viewer';

export type UserStatus =
  | 'active'
  | 'inactive';

export type LoginMutationVariables = Exact<{
  username: string;
  password: string;
}>;


export type LoginMutation = { login: { accessToken: string, refreshToken: string, user: { id: string, username: string, role: UserRole } } };

export type RefreshMutationVariables = Exact<{
  refreshToken?: string | null | undefined;
}>;


export type RefreshMutation = { refresh: { accessToken: string, expiresIn: number } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, username: string, role: string, permissions: Array<Permission> } };

export type LogCreatedSubscriptionVariables = Exact<{
  minLevel?: LogLevel | null | undefined;
  module?: string | null | undefined;
}>;


export type LogCreatedSubscription = { logCreated: { id: number, level: string, module: string, message: string, context: unknown } };

export type UsersPageQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
  role?: UserRole | null | undefined;
  status?: UserStatus | null | undefined;
  sort?: string | null | undefined;
  order?: SortOrder | null | undefined;
}>;


export type UsersPageQuery = { users: { totalCount: number, edges: Array<{ cursor: string, node: { id: string, username: string, role: UserRole, email: string | null, isActive: boolean, lastLogin: string | null, createdAt: string } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null, page: number, perPage: number, pages: number } } };

export type UserStatsQueryVariables = Exact<{ [key: string]: never; }>;


export type UserStatsQuery = { userStats: { total: number, active: number, inactive: number, admin: number, user: number, viewer: number } };

export type CreateUserMutationVariables = Exact<{
  input: CreateUserInput;
}>;


export type CreateUserMutation = { createUser: { id: string, username: string, role: UserRole, isActive: boolean, email: string | null } };

export type UpdateUserMutationVariables = Exact<{
  id: string | number;
  input: UpdateUserInput;
}>;


export type UpdateUserMutation = { updateUser: { id: string, username: string, role: UserRole, isActive: boolean } };

export type DeleteUserMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteUserMutation = { deleteUser: string };

export type ToggleUserStatusMutationVariables = Exact<{
  id: string | number;
}>;


export type ToggleUserStatusMutation = { toggleUserStatus: { id: string, isActive: boolean } };
