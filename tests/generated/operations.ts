/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** UTC instant as an ISO-8601 string, e.g. 2025-09-18T08:30:00.000Z */
  DateTime: { input: string; output: string; }
  /** Arbitrary JSON value */
  JSON: { input: unknown; output: unknown; }
};

export type ComponentHealth = {
  __typename?: 'ComponentHealth';
  healthy: Scalars['Boolean']['output'];
  responseTimeMs?: Maybe<Scalars['Float']['output']>;
  status: Scalars['String']['output'];
};

export type CreateUserInput = {
  email?: InputMaybe<Scalars['String']['input']>;
  isActive?: InputMaybe<Scalars['Boolean']['input']>;
  /** at least 8 characters with upper, lower case and a digit */
  password: Scalars['String']['input'];
  role?: InputMaybe<UserRole>;
  /** 3-20 letters, digits or underscores */
  username: Scalars['String']['input'];
};

/** The signed-in user and what their role allows */
export type CurrentUser = {
  __typename?: 'CurrentUser';
  createdAt: Scalars['DateTime']['output'];
  email?: Maybe<Scalars['String']['output']>;
  id: Scalars['Int']['output'];
  isActive: Scalars['Boolean']['output'];
  lastLogin?: Maybe<Scalars['DateTime']['output']>;
  permissions: Array<Permission>;
  role: Scalars['String']['output'];
  username: Scalars['String']['output'];
};

export type Health = {
  __typename?: 'Health';
  database: ComponentHealth;
  redis: ComponentHealth;
  /** healthy, degraded (Redis down) or unhealthy (database down) */
  status: Scalars['String']['output'];
  timestamp: Scalars['String']['output'];
  uptimeSeconds: Scalars['Int']['output'];
  version: Scalars['String']['output'];
};

/** One unified log event */
export type LogEntry = {
  __typename?: 'LogEntry';
  context?: Maybe<Scalars['JSON']['output']>;
  id: Scalars['Int']['output'];
  level: Scalars['String']['output'];
  message: Scalars['String']['output'];
  module: Scalars['String']['output'];
  timestamp: Scalars['String']['output'];
};

export type LogLevel =
  | 'CRITICAL'
  | 'ERROR'
  | 'INFO'
  | 'WARNING';

export type LoginPayload = {
  __typename?: 'LoginPayload';
  accessToken: Scalars['String']['output'];
  /** access token lifetime in seconds */
  expiresIn: Scalars['Int']['output'];
  refreshToken: Scalars['String']['output'];
  tokenType: Scalars['String']['output'];
  user: User;
};

/** Write operations of 鲸落 (WhaleFall) */
export type Mutation = {
  __typename?: 'Mutation';
  createUser: User;
  /** Deletes a user; returns the deleted id */
  deleteUser: Scalars['Int']['output'];
  /** Exchanges username and password for an access token and a refresh token (rate limited) */
  login: LoginPayload;
  /** A new access token for a refresh token (argument, or the Authorization header) */
  refresh: RefreshPayload;
  toggleUserStatus: User;
  updateUser: User;
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationCreateUserArgs = {
  input: CreateUserInput;
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationDeleteUserArgs = {
  id: Scalars['Int']['input'];
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationLoginArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationRefreshArgs = {
  refreshToken?: InputMaybe<Scalars['String']['input']>;
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationToggleUserStatusArgs = {
  id: Scalars['Int']['input'];
};


/** Write operations of 鲸落 (WhaleFall) */
export type MutationUpdateUserArgs = {
  id: Scalars['Int']['input'];
  input: UpdateUserInput;
};

/** Position of a page in a paginated list (per_page is at most 100) */
export type PageInfo = {
  __typename?: 'PageInfo';
  page: Scalars['Int']['output'];
  pages: Scalars['Int']['output'];
  perPage: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
};

export type Permission =
  | 'admin'
  | 'create'
  | 'delete'
  | 'scheduler_manage'
  | 'scheduler_view'
  | 'update'
  | 'view';

/** Read operations of 鲸落 (WhaleFall) */
export type Query = {
  __typename?: 'Query';
  /** Public: database and Redis state */
  health: Health;
  me: CurrentUser;
  user: User;
  userStats: UserStats;
  /** Users, newest first by default; filter by role, status, search (username contains) and creation date */
  users: UserPage;
};


/** Read operations of 鲸落 (WhaleFall) */
export type QueryUserArgs = {
  id: Scalars['Int']['input'];
};


/** Read operations of 鲸落 (WhaleFall) */
export type QueryUsersArgs = {
  endDate?: InputMaybe<Scalars['String']['input']>;
  order?: InputMaybe<SortOrder>;
  page?: InputMaybe<Scalars['Int']['input']>;
  perPage?: InputMaybe<Scalars['Int']['input']>;
  role?: InputMaybe<UserRole>;
  search?: InputMaybe<Scalars['String']['input']>;
  sort?: InputMaybe<Scalars['String']['input']>;
  startDate?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<UserStatus>;
};

export type RefreshPayload = {
  __typename?: 'RefreshPayload';
  accessToken: Scalars['String']['output'];
  expiresIn: Scalars['Int']['output'];
  tokenType: Scalars['String']['output'];
};

export type SortOrder =
  | 'asc'
  | 'desc';

/** Live updates over graphql-ws (same URL as HTTP: /graphql) */
export type Subscription = {
  __typename?: 'Subscription';
  /** Every new unified log event at or above minLevel, optionally of one module */
  logCreated: LogEntry;
};


/** Live updates over graphql-ws (same URL as HTTP: /graphql) */
export type SubscriptionLogCreatedArgs = {
  minLevel?: InputMaybe<LogLevel>;
  module?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateUserInput = {
  email?: InputMaybe<Scalars['String']['input']>;
  isActive?: InputMaybe<Scalars['Boolean']['input']>;
  /** empty or absent keeps the current password */
  password?: InputMaybe<Scalars['String']['input']>;
  role?: InputMaybe<UserRole>;
  username?: InputMaybe<Scalars['String']['input']>;
};

/** A platform user. The password hash is never exposed. */
export type User = {
  __typename?: 'User';
  createdAt: Scalars['DateTime']['output'];
  email?: Maybe<Scalars['String']['output']>;
  id: Scalars['Int']['output'];
  isActive: Scalars['Boolean']['output'];
  lastLogin?: Maybe<Scalars['DateTime']['output']>;
  role: UserRole;
  updatedAt: Scalars['DateTime']['output'];
  username: Scalars['String']['output'];
};

export type UserPage = {
  __typename?: 'UserPage';
  items: Array<User>;
  pageInfo: PageInfo;
};

/** admin: every permission; user: view and scheduler_view; viewer: none */
export type UserRole =
  | 'admin'
  | 'user'
  | 'viewer';

export type UserStats = {
  __typename?: 'UserStats';
  active: Scalars['Int']['output'];
  admin: Scalars['Int']['output'];
  inactive: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
  user: Scalars['Int']['output'];
  viewer: Scalars['Int']['output'];
};

export type UserStatus =
  | 'active'
  | 'inactive';

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


export type LoginMutation = { login: { accessToken: string, refreshToken: string, user: { id: number, username: string, role: UserRole } } };

export type RefreshMutationVariables = Exact<{
  refreshToken?: string | null | undefined;
}>;


export type RefreshMutation = { refresh: { accessToken: string, expiresIn: number } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: number, username: string, role: string, permissions: Array<Permission> } };

export type LogCreatedSubscriptionVariables = Exact<{
  minLevel?: LogLevel | null | undefined;
  module?: string | null | undefined;
}>;


export type LogCreatedSubscription = { logCreated: { id: number, level: string, module: string, message: string, context: unknown } };

export type UsersPageQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
  search?: string | null | undefined;
  role?: UserRole | null | undefined;
  status?: UserStatus | null | undefined;
  sort?: string | null | undefined;
  order?: SortOrder | null | undefined;
}>;


export type UsersPageQuery = { users: { items: Array<{ id: number, username: string, role: UserRole, email: string | null, isActive: boolean, lastLogin: string | null, createdAt: string }>, pageInfo: { page: number, perPage: number, total: number, pages: number } } };

export type UserStatsQueryVariables = Exact<{ [key: string]: never; }>;


export type UserStatsQuery = { userStats: { total: number, active: number, inactive: number, admin: number, user: number, viewer: number } };

export type CreateUserMutationVariables = Exact<{
  input: CreateUserInput;
}>;


export type CreateUserMutation = { createUser: { id: number, username: string, role: UserRole, isActive: boolean, email: string | null } };

export type UpdateUserMutationVariables = Exact<{
  id: number;
  input: UpdateUserInput;
}>;


export type UpdateUserMutation = { updateUser: { id: number, username: string, role: UserRole, isActive: boolean } };

export type DeleteUserMutationVariables = Exact<{
  id: number;
}>;


export type DeleteUserMutation = { deleteUser: number };

export type ToggleUserStatusMutationVariables = Exact<{
  id: number;
}>;


export type ToggleUserStatusMutation = { toggleUserStatus: { id: number, isActive: boolean } };
