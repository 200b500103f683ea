-- 鲸落 (WhaleFall) collector account for PostgreSQL: least privilege
-- ==================================================================
--
-- Creates the login the gateway syncs this server with (src/adapters/postgres.ts). It gets no access
-- to any application data and no attribute beyond LOGIN.
--
-- What the adapter reads, and why that needs (almost) nothing:
--   pg_roles ............ roles and their attributes (pg_roles, unlike pg_authid, hides the hash)
--   pg_auth_members ..... role memberships
--   pg_class, pg_namespace + aclexplode() ... table privileges of the connected database
--   pg_database + aclexplode() .............. CONNECT/CREATE/TEMPORARY per database
--   pg_tablespace + has_tablespace_privilege() ... tablespace CREATE rights
-- All of these are readable/executable by PUBLIC in a default installation. The one thing a
-- non-superuser cannot see is whether a role has a password: that lives in pg_authid next to the
-- password hash, and pg_authid is superuser-only. Step 3 adds a SECURITY DEFINER function that
-- returns only the yes/no, never the hash.
--
-- Usage
--   1. Replace whalefall_monitor (every occurrence) and CHANGE_ME_Strong_Passw0rd below.
--   2. Run as a superuser, connected to the database the 鲸落 instance names (its "database name";
--      postgres when it names none), because step 3's function and step 2's CONNECT are per database:
--        psql -h HOST -U postgres -d postgres -v ON_ERROR_STOP=1 -f docs/collector/postgresql.sql
--   3. Register the login as the instance's credential and run "test connection": the result's
--      missing_rights / missing_optional_rights name anything still missing (both empty = done).
--
-- Managed services without a real superuser (RDS, Cloud SQL, Azure): the master user cannot read
-- pg_authid either, so step 3 fails there; skip it. The collector then works with every required
-- right, and reports has_password as unknown (the diagnostic lists it as a missing optional right).
--
-- Re-running the script is safe except for CREATE ROLE (drop or skip it when the role exists).
-- To remove: DROP FUNCTION whalefall.role_has_password(); DROP SCHEMA whalefall; DROP ROLE whalefall_monitor;
-- (and REVOKE the grants of steps 2 and 4 first in each database where you ran the script).

-- 1. The login itself. NOSUPERUSER … NOBYPASSRLS are the defaults, spelled out so a reader sees the
--    intent. CONNECTION LIMIT: the collector holds one connection per sync or test; 5 leaves room for
--    a test during a sync and for replicas, and stops a leaked password from opening many sessions.
CREATE ROLE whalefall_monitor LOGIN PASSWORD 'CHANGE_ME_Strong_Passw0rd'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5;

-- 2. CONNECT on this database. PUBLIC has it by default; hardened servers revoke it, and then the
--    collector could not log in at all.
DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO whalefall_monitor', current_database()); END $$;

-- 3. has_password without pg_authid: a function owned by the superuser running this script, returning
--    one boolean per role. SECURITY DEFINER runs it with the owner's rights; the fixed search_path
--    keeps a caller from substituting objects; PUBLIC may not call it, only the collector.
CREATE SCHEMA IF NOT EXISTS whalefall;
REVOKE ALL ON SCHEMA whalefall FROM PUBLIC;
CREATE OR REPLACE FUNCTION whalefall.role_has_password()
  RETURNS TABLE (rolname name, has_password boolean)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT a.rolname, a.rolpassword IS NOT NULL FROM pg_catalog.pg_authid a $fn$;
REVOKE ALL ON FUNCTION whalefall.role_has_password() FROM PUBLIC;
GRANT USAGE ON SCHEMA whalefall TO whalefall_monitor;
GRANT EXECUTE ON FUNCTION whalefall.role_has_password() TO whalefall_monitor;

-- 4. The catalogs and functions the adapter reads, granted explicitly. On a default server PUBLIC
--    already has these and the grants change nothing; on a server where a DBA revoked PUBLIC access
--    to a catalog they are what keeps the collector from missing roles or privileges. (Grants on
--    pg_catalog objects apply to the current database only, like step 2.)
GRANT SELECT ON pg_catalog.pg_roles, pg_catalog.pg_auth_members, pg_catalog.pg_class, pg_catalog.pg_namespace,
  pg_catalog.pg_database, pg_catalog.pg_tablespace TO whalefall_monitor;
GRANT EXECUTE ON FUNCTION pg_catalog.aclexplode(aclitem[]), pg_catalog.has_tablespace_privilege(oid, oid, text) TO whalefall_monitor;

-- Deliberately NOT granted: SUPERUSER, pg_read_all_data / pg_read_all_settings / pg_monitor (data or
-- server internals the collector never reads), SELECT on pg_authid or pg_shadow (password hashes).
