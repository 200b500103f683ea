-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "history_since" TIMESTAMPTZ(6);

-- CreateTable
CREATE TABLE "account_versions" (
    "id" BIGSERIAL NOT NULL,
    "account_id" INTEGER NOT NULL,
    "instance_id" INTEGER NOT NULL,
    "db_type" VARCHAR(20) NOT NULL,
    "valid_from" TIMESTAMPTZ(6) NOT NULL,
    "valid_to" TIMESTAMPTZ(6),
    "change_type" VARCHAR(20) NOT NULL,
    "username" VARCHAR(255) NOT NULL,
    "host" VARCHAR(255),
    "is_superuser" BOOLEAN NOT NULL,
    "is_active" BOOLEAN NOT NULL,
    "is_locked" BOOLEAN NOT NULL,
    "is_deleted" BOOLEAN NOT NULL,
    "global_privileges" JSONB,
    "database_privileges" JSONB,
    "predefined_roles" JSONB,
    "role_attributes" JSONB,
    "database_privileges_pg" JSONB,
    "tablespace_privileges" JSONB,
    "server_roles" JSONB,
    "server_permissions" JSONB,
    "database_roles" JSONB,
    "database_permissions" JSONB,
    "oracle_roles" JSONB,
    "system_privileges" JSONB,
    "tablespace_privileges_oracle" JSONB,
    "type_specific" JSONB,

    CONSTRAINT "account_versions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "account_versions_account_id_valid_from_idx" ON "account_versions"("account_id", "valid_from");

-- CreateIndex
CREATE INDEX "account_versions_instance_id_valid_from_idx" ON "account_versions"("instance_id", "valid_from");

-- AddForeignKey
ALTER TABLE "account_versions" ADD CONSTRAINT "account_versions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "current_account_sync_data"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_versions" ADD CONSTRAINT "account_versions_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: one open version per existing account, its stored state, valid since its last change (the
-- stored state has held since then). Earlier states are not reconstructed from the change log, so an
-- upgraded instance answers point-in-time questions from the moment every account's current state is
-- known: its latest account change (history_since); earlier moments are refused with that date.
INSERT INTO "account_versions" ("account_id", "instance_id", "db_type", "valid_from", "valid_to", "change_type", "username", "host",
       "is_superuser", "is_active", "is_locked", "is_deleted", "global_privileges", "database_privileges", "predefined_roles", "role_attributes",
       "database_privileges_pg", "tablespace_privileges", "server_roles", "server_permissions", "database_roles", "database_permissions",
       "oracle_roles", "system_privileges", "tablespace_privileges_oracle", "type_specific")
SELECT "id", "instance_id", "db_type", "last_change_time", NULL, "last_change_type", "username", "host",
       "is_superuser", "is_active", "is_locked", "is_deleted", "global_privileges", "database_privileges", "predefined_roles", "role_attributes",
       "database_privileges_pg", "tablespace_privileges", "server_roles", "server_permissions", "database_roles", "database_permissions",
       "oracle_roles", "system_privileges", "tablespace_privileges_oracle", "type_specific"
  FROM "current_account_sync_data";

UPDATE "instances" i SET "history_since" = a.since
  FROM (SELECT "instance_id", max("last_change_time") AS since FROM "current_account_sync_data" GROUP BY 1) a
 WHERE i."id" = a."instance_id";
