-- 鲸落 (WhaleFall) collector login for SQL Server: least privilege
-- ================================================================
--
-- Creates the login the gateway syncs this server with (src/adapters/sqlserver.ts). It can see
-- security metadata and enter databases, but reads no table data and changes nothing.
--
-- What the adapter reads, and why each grant is needed. SQL Server never refuses these catalog
-- views; it hides the rows a login may not see ("metadata visibility"), so without the grants below
-- a sync would silently find fewer logins and privileges. The connection test therefore checks the
-- login's effective permissions (fn_my_permissions) and names whatever is missing.
--   sys.server_principals, sys.sql_logins, sys.server_role_members, sys.server_permissions
--       -> VIEW ANY DEFINITION (otherwise a login sees only itself and the fixed server roles)
--   sys.databases ...................................... -> VIEW ANY DATABASE (public has it by default)
--   [db].sys.database_principals / database_role_members / database_permissions, in every online
--   user database ........................................ -> CONNECT ANY DATABASE (enter each database;
--       the metadata inside is visible through VIEW ANY DEFINITION). Databases the login cannot
--       enter would be skipped, so the diagnostic names each of them.
--   @@VERSION, fn_my_permissions, HAS_DBACCESS ........... -> nothing (public)
--
-- Usage
--   1. Replace whalefall_monitor and CHANGE_ME_Strong_Passw0rd below.
--   2. Run as a sysadmin:  sqlcmd -S HOST -U sa -i docs/collector/sqlserver.sql
--   3. Register the login as the instance's credential and run "test connection": the result's
--      missing_rights names anything still missing (empty = done).
-- To remove: DROP LOGIN whalefall_monitor;
--
-- Not verified against a live server in this project's CI (no SQL Server there); the statements are
-- standard T-SQL for SQL Server 2014 and later.

USE master;
GO

-- 1. The login. CHECK_POLICY applies the Windows password policy; master as default database
--    because the adapter connects there when the instance names no database.
CREATE LOGIN whalefall_monitor WITH PASSWORD = N'CHANGE_ME_Strong_Passw0rd', CHECK_POLICY = ON, DEFAULT_DATABASE = master;
GO

-- 2. See every login, server role membership and permission, and the principals, role memberships
--    and permissions inside each database. It shows metadata only, never table data.
--    SQL Server 2022 and later: the narrower VIEW ANY SECURITY DEFINITION (security metadata only,
--    no module source code) is enough for the collector and the diagnostic accepts it; use it
--    instead of the line below there.
GRANT VIEW ANY DEFINITION TO whalefall_monitor;
GO

-- 3. List every database. public holds this by default; granted explicitly for servers where a DBA
--    revoked it from public (sys.databases would then show only master, tempdb and owned databases).
GRANT VIEW ANY DATABASE TO whalefall_monitor;
GO

-- 4. Enter every database, current and future, without creating a user in each one. Confers no
--    permission inside the databases beyond connecting (no SELECT on any table).
--    SQL Server 2012 and earlier have no CONNECT ANY DATABASE: create a user for the login in every
--    user database instead, e.g.
--      EXEC sp_MSforeachdb N'IF DB_ID(''?'') > 4 BEGIN USE [?]; CREATE USER whalefall_monitor FOR LOGIN whalefall_monitor; END';
GRANT CONNECT ANY DATABASE TO whalefall_monitor;
GO

-- Deliberately NOT granted: sysadmin, securityadmin, CONTROL SERVER, VIEW SERVER STATE (the adapter
-- reads no DMV), db_datareader or any per-database role.
