-- 鲸落 (WhaleFall) collector account for MySQL and MariaDB: least privilege
-- ========================================================================
--
-- Creates the account the gateway syncs this server with (src/adapters/mysql.ts). It may read the
-- privilege tables and nothing else: no application database, no server administration.
--
-- What the adapter reads, and the right each needs:
--   SELECT * FROM mysql.user ........... accounts, Super_priv/Grant_priv, plugin, password_last_changed,
--                                        account_locked (MySQL)            -> SELECT on mysql.user
--   mysql.global_priv (MariaDB 10.4+) .. the account lock flag (mysql.user is a view without it there)
--                                                                          -> SELECT on mysql.global_priv
--   SHOW GRANTS FOR 'user'@'host' ...... every grant of every account      -> SELECT on the mysql schema
-- SHOW GRANTS FOR another account is allowed only with a database-level SELECT on `mysql` (MySQL and
-- MariaDB both check it that way; table-level grants on mysql.user are not enough). That one grant
-- covers the two tables above as well, so it is the collector's only right.
--
-- Be aware: the mysql schema includes the password hashes (mysql.user.authentication_string,
-- mysql.global_priv). Neither server offers a narrower right that allows SHOW GRANTS FOR other
-- accounts, so protect this account's password like an administrator's, and restrict its host.
--
-- Usage
--   1. Replace whalefall_monitor, CHANGE_ME_Strong_Passw0rd, and '%' with the address the gateway
--      connects from (e.g. '10.0.0.15'), so the account works from nowhere else.
--   2. Run as an administrator:  mysql -h HOST -u root -p < docs/collector/mysql.sql
--   3. Register the account as the instance's credential and run "test connection": the result's
--      missing_rights names anything still missing (empty = done).
-- To remove: DROP USER 'whalefall_monitor'@'%';

-- 1. The account. MAX_USER_CONNECTIONS: a sync reads SHOW GRANTS on up to 4 connections at once
--    (GRANT_READERS in the adapter); 8 leaves room for a connection test and a second replica, and
--    stops a leaked password from opening many sessions.
CREATE USER 'whalefall_monitor'@'%' IDENTIFIED BY 'CHANGE_ME_Strong_Passw0rd' WITH MAX_USER_CONNECTIONS 8;

-- 2. Read access to the privilege tables (see above for why it is the whole mysql schema).
GRANT SELECT ON mysql.* TO 'whalefall_monitor'@'%';

-- Deliberately NOT granted: SELECT ON *.* (all application data), PROCESS, SHOW DATABASES, RELOAD,
-- SUPER, CREATE USER, GRANT OPTION: the adapter reads none of what they allow.
