-- 鲸落 (WhaleFall) collector account for Oracle: least privilege
-- ==============================================================
--
-- Creates the user the gateway syncs this database with (src/adapters/oracle.ts): it can log in and
-- read exactly the four dictionary views the adapter queries, plus the version banner.
--
-- What the adapter reads, and the grant each needs (Oracle answers ORA-00942 for a view you may not
-- read, and the connection test names every such view):
--   DBA_USERS ....... users, account status, default tablespaces, profile -> SELECT ON SYS.DBA_USERS
--   DBA_ROLE_PRIVS .. roles granted to each user                           -> SELECT ON SYS.DBA_ROLE_PRIVS
--   DBA_SYS_PRIVS ... system privileges granted to each user               -> SELECT ON SYS.DBA_SYS_PRIVS
--   DBA_TS_QUOTAS ... tablespace quotas                                    -> SELECT ON SYS.DBA_TS_QUOTAS
--   V$VERSION ....... version banner (optional: without it the version is "unknown")
--                                                                          -> SELECT ON SYS.V_$VERSION
--   logging in at all                                                      -> CREATE SESSION
-- These direct grants replace SELECT_CATALOG_ROLE / SELECT ANY DICTIONARY, which would open the
-- whole data dictionary (V$SQL with bind values, DBA_SOURCE, …) to the collector.
--
-- Usage
--   1. Replace whalefall_monitor and CHANGE_ME_Strong_Passw0rd below.
--   2. Run as SYS (object grants on SYS views need the owner, or GRANT ANY OBJECT PRIVILEGE), in the
--      container the 鲸落 instance connects to. Multitenant: connect to the PDB service the instance
--      uses (or ALTER SESSION SET CONTAINER = <pdb>); the DBA_ views of a PDB list that PDB's users.
--        sqlplus sys@//HOST:1521/ORCLPDB1 as sysdba @docs/collector/oracle.sql
--   3. Register the user as the instance's credential and run "test connection": the result's
--      missing_rights names anything still missing (empty = done).
-- To remove: DROP USER whalefall_monitor;
--
-- Not verified against a live server in this project's CI (no Oracle there); the statements are
-- standard for Oracle 11g and later.

WHENEVER SQLERROR EXIT FAILURE

-- 1. The user. No quota on any tablespace and no CREATE privilege: it can own nothing.
CREATE USER whalefall_monitor IDENTIFIED BY "CHANGE_ME_Strong_Passw0rd";

-- 2. Log in.
GRANT CREATE SESSION TO whalefall_monitor;

-- 3. The four dictionary views the sync reads (see above).
GRANT SELECT ON SYS.DBA_USERS TO whalefall_monitor;
GRANT SELECT ON SYS.DBA_ROLE_PRIVS TO whalefall_monitor;
GRANT SELECT ON SYS.DBA_SYS_PRIVS TO whalefall_monitor;
GRANT SELECT ON SYS.DBA_TS_QUOTAS TO whalefall_monitor;

-- 4. The version banner. Usually granted to PUBLIC already; explicit for hardened databases.
--    (Grants go on the V_$ view: V$VERSION is a public synonym for it.)
GRANT SELECT ON SYS.V_$VERSION TO whalefall_monitor;

-- Deliberately NOT granted: DBA, SELECT_CATALOG_ROLE, SELECT ANY DICTIONARY, SELECT ANY TABLE,
-- RESOURCE, UNLIMITED TABLESPACE.
