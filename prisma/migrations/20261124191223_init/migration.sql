-- pg_trgm backs the trigram index on unified_logs.message (keyword search).
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "UserRole" AS ENUM ('admin', 'user', 'viewer');

-- CreateEnum
CREATE TYPE "LogLevel" AS ENUM ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL');

-- CreateEnum
CREATE TYPE "SyncType" AS ENUM ('manual_single', 'manual_batch', 'manual_task', 'scheduled_task');

-- CreateEnum
CREATE TYPE "SyncCategory" AS ENUM ('account', 'capacity', 'config', 'other');

-- CreateEnum
CREATE TYPE "SyncSessionStatus" AS ENUM ('running', 'completed', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "SyncRecordStatus" AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "users" (
    "id" SERIAL NOT NULL,
    "username" VARCHAR(255) NOT NULL,
    "password" VARCHAR(255) NOT NULL,
    "role" "UserRole" NOT NULL DEFAULT 'user',
    "email" VARCHAR(255),
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "token_version" INTEGER NOT NULL DEFAULT 0,
    "last_login" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credentials" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "credential_type" VARCHAR(50) NOT NULL DEFAULT 'database',
    "db_type" VARCHAR(50),
    "username" VARCHAR(255) NOT NULL,
    "password_cipher" TEXT NOT NULL,
    "password_key_id" VARCHAR(64) NOT NULL,
    "description" TEXT,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(6),

    CONSTRAINT "credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "database_type_configs" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(50) NOT NULL,
    "display_name" VARCHAR(100) NOT NULL,
    "driver" VARCHAR(50) NOT NULL,
    "default_port" INTEGER NOT NULL,
    "default_schema" VARCHAR(50) NOT NULL,
    "connection_timeout" INTEGER NOT NULL DEFAULT 30,
    "description" TEXT,
    "icon" VARCHAR(50) NOT NULL DEFAULT 'fa-database',
    "color" VARCHAR(20) NOT NULL DEFAULT 'primary',
    "features" JSONB NOT NULL DEFAULT '[]',
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_system" BOOLEAN NOT NULL DEFAULT false,
    "sort_order" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "database_type_configs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tags" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(50) NOT NULL,
    "display_name" VARCHAR(100) NOT NULL,
    "category" VARCHAR(50) NOT NULL DEFAULT 'other',
    "color" VARCHAR(20) NOT NULL DEFAULT 'primary',
    "description" TEXT,
    "sort_order" INTEGER NOT NULL DEFAULT 0,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instances" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "db_type" VARCHAR(50) NOT NULL,
    "host" VARCHAR(255) NOT NULL,
    "port" INTEGER NOT NULL,
    "database_name" VARCHAR(255),
    "database_version" VARCHAR(1000),
    "main_version" VARCHAR(20),
    "detailed_version" VARCHAR(50),
    "environment" VARCHAR(20) NOT NULL DEFAULT 'production',
    "sync_count" INTEGER NOT NULL DEFAULT 0,
    "credential_id" INTEGER,
    "description" TEXT,
    "status" VARCHAR(20) NOT NULL DEFAULT 'active',
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "last_connected" TIMESTAMPTZ(6),
    "connection_status" VARCHAR(20),
    "last_connection_error" TEXT,
    "last_sync_at" TIMESTAMPTZ(6),
    "connection_options" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(6),

    CONSTRAINT "instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instance_tags" (
    "instance_id" INTEGER NOT NULL,
    "tag_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instance_tags_pkey" PRIMARY KEY ("instance_id","tag_id")
);

-- CreateTable
CREATE TABLE "current_account_sync_data" (
    "id" SERIAL NOT NULL,
    "instance_id" INTEGER NOT NULL,
    "db_type" VARCHAR(20) NOT NULL,
    "session_id" VARCHAR(36),
    "sync_time" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status" VARCHAR(20) NOT NULL DEFAULT 'success',
    "message" TEXT,
    "error_message" TEXT,
    "username" VARCHAR(255) NOT NULL,
    "host" VARCHAR(255),
    "is_superuser" BOOLEAN NOT NULL DEFAULT false,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_locked" BOOLEAN NOT NULL DEFAULT false,
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
    "last_sync_time" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_change_type" VARCHAR(20) NOT NULL DEFAULT 'add',
    "last_change_time" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_time" TIMESTAMPTZ(6),

    CONSTRAINT "current_account_sync_data_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_change_log" (
    "id" SERIAL NOT NULL,
    "instance_id" INTEGER NOT NULL,
    "account_id" INTEGER,
    "db_type" VARCHAR(20) NOT NULL,
    "username" VARCHAR(255) NOT NULL,
    "change_type" VARCHAR(50) NOT NULL,
    "change_time" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "session_id" VARCHAR(36),
    "status" VARCHAR(20) NOT NULL DEFAULT 'success',
    "message" TEXT,
    "privilege_diff" JSONB,
    "other_diff" JSONB,

    CONSTRAINT "account_change_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_classifications" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "description" TEXT,
    "risk_level" VARCHAR(20) NOT NULL DEFAULT 'medium',
    "color" VARCHAR(20) DEFAULT '#6c757d',
    "icon_name" VARCHAR(50) DEFAULT 'fa-tag',
    "priority" INTEGER NOT NULL DEFAULT 0,
    "is_system" BOOLEAN NOT NULL DEFAULT false,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_classifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "classification_rules" (
    "id" SERIAL NOT NULL,
    "classification_id" INTEGER NOT NULL,
    "db_type" VARCHAR(20) NOT NULL,
    "rule_name" VARCHAR(100) NOT NULL,
    "rule_expression" JSONB NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "classification_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_classification_assignments" (
    "id" SERIAL NOT NULL,
    "account_id" INTEGER NOT NULL,
    "classification_id" INTEGER NOT NULL,
    "assigned_by" INTEGER,
    "assignment_type" VARCHAR(20) NOT NULL DEFAULT 'auto',
    "confidence_score" DOUBLE PRECISION,
    "notes" TEXT,
    "batch_id" VARCHAR(36),
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_classification_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "classification_batches" (
    "id" SERIAL NOT NULL,
    "batch_id" VARCHAR(36) NOT NULL,
    "batch_type" VARCHAR(20) NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'running',
    "scope" JSONB,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),
    "total_accounts" INTEGER NOT NULL DEFAULT 0,
    "matched_accounts" INTEGER NOT NULL DEFAULT 0,
    "failed_accounts" INTEGER NOT NULL DEFAULT 0,
    "total_rules" INTEGER NOT NULL DEFAULT 0,
    "active_rules" INTEGER NOT NULL DEFAULT 0,
    "error_message" TEXT,
    "batch_details" JSONB,
    "created_by" INTEGER,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "classification_batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "classification_matches" (
    "id" SERIAL NOT NULL,
    "batch_id" VARCHAR(36) NOT NULL,
    "account_id" INTEGER NOT NULL,
    "classification_id" INTEGER NOT NULL,
    "rule_id" INTEGER,
    "matched_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "details" JSONB,

    CONSTRAINT "classification_matches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_sessions" (
    "id" SERIAL NOT NULL,
    "session_id" VARCHAR(36) NOT NULL,
    "sync_type" "SyncType" NOT NULL,
    "sync_category" "SyncCategory" NOT NULL DEFAULT 'account',
    "status" "SyncSessionStatus" NOT NULL DEFAULT 'running',
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),
    "total_instances" INTEGER NOT NULL DEFAULT 0,
    "successful_instances" INTEGER NOT NULL DEFAULT 0,
    "failed_instances" INTEGER NOT NULL DEFAULT 0,
    "created_by" INTEGER,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_instance_records" (
    "id" SERIAL NOT NULL,
    "session_id" VARCHAR(36) NOT NULL,
    "instance_id" INTEGER NOT NULL,
    "instance_name" VARCHAR(255),
    "sync_category" "SyncCategory" NOT NULL DEFAULT 'account',
    "status" "SyncRecordStatus" NOT NULL DEFAULT 'pending',
    "started_at" TIMESTAMPTZ(6),
    "completed_at" TIMESTAMPTZ(6),
    "accounts_synced" INTEGER NOT NULL DEFAULT 0,
    "accounts_created" INTEGER NOT NULL DEFAULT 0,
    "accounts_updated" INTEGER NOT NULL DEFAULT 0,
    "accounts_deleted" INTEGER NOT NULL DEFAULT 0,
    "error_message" TEXT,
    "sync_details" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_instance_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "unified_logs" (
    "id" SERIAL NOT NULL,
    "timestamp" TIMESTAMPTZ(6) NOT NULL,
    "level" "LogLevel" NOT NULL,
    "module" VARCHAR(100) NOT NULL,
    "message" TEXT NOT NULL,
    "traceback" TEXT,
    "context" JSONB,
    "user_id" INTEGER,
    "request_id" VARCHAR(64),
    "instance_id" INTEGER,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "unified_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "global_params" (
    "id" SERIAL NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "value" TEXT NOT NULL,
    "description" TEXT,
    "param_type" VARCHAR(50) NOT NULL DEFAULT 'string',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "global_params_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "permission_configs" (
    "id" SERIAL NOT NULL,
    "db_type" VARCHAR(50) NOT NULL,
    "category" VARCHAR(50) NOT NULL,
    "permission_name" VARCHAR(255) NOT NULL,
    "description" TEXT,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "sort_order" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "permission_configs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scheduled_jobs" (
    "id" VARCHAR(100) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "task_type" VARCHAR(50) NOT NULL,
    "db_type" VARCHAR(50),
    "schedule" VARCHAR(100) NOT NULL,
    "timezone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
    "description" TEXT,
    "args" JSONB NOT NULL DEFAULT '{}',
    "is_builtin" BOOLEAN NOT NULL DEFAULT false,
    "is_paused" BOOLEAN NOT NULL DEFAULT false,
    "created_by" INTEGER,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scheduled_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE INDEX "users_role_is_active_idx" ON "users"("role", "is_active");

-- CreateIndex
CREATE INDEX "users_created_at_idx" ON "users"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "credentials_name_key" ON "credentials"("name");

-- CreateIndex
CREATE INDEX "credentials_credential_type_db_type_idx" ON "credentials"("credential_type", "db_type");

-- CreateIndex
CREATE INDEX "credentials_is_active_deleted_at_idx" ON "credentials"("is_active", "deleted_at");

-- CreateIndex
CREATE UNIQUE INDEX "database_type_configs_name_key" ON "database_type_configs"("name");

-- CreateIndex
CREATE INDEX "database_type_configs_is_active_sort_order_idx" ON "database_type_configs"("is_active", "sort_order");

-- CreateIndex
CREATE UNIQUE INDEX "tags_name_key" ON "tags"("name");

-- CreateIndex
CREATE INDEX "tags_category_sort_order_idx" ON "tags"("category", "sort_order");

-- CreateIndex
CREATE UNIQUE INDEX "instances_name_key" ON "instances"("name");

-- CreateIndex
CREATE INDEX "instances_db_type_idx" ON "instances"("db_type");

-- CreateIndex
CREATE INDEX "instances_environment_idx" ON "instances"("environment");

-- CreateIndex
CREATE INDEX "instances_is_active_deleted_at_idx" ON "instances"("is_active", "deleted_at");

-- CreateIndex
CREATE INDEX "instances_status_idx" ON "instances"("status");

-- CreateIndex
CREATE INDEX "instances_connection_status_idx" ON "instances"("connection_status");

-- CreateIndex
CREATE INDEX "instances_credential_id_idx" ON "instances"("credential_id");

-- CreateIndex
CREATE INDEX "instances_host_idx" ON "instances"("host");

-- CreateIndex
CREATE INDEX "instance_tags_tag_id_idx" ON "instance_tags"("tag_id");

-- CreateIndex
CREATE INDEX "current_account_sync_data_instance_id_db_type_idx" ON "current_account_sync_data"("instance_id", "db_type");

-- CreateIndex
CREATE INDEX "current_account_sync_data_is_deleted_idx" ON "current_account_sync_data"("is_deleted");

-- CreateIndex
CREATE INDEX "current_account_sync_data_username_idx" ON "current_account_sync_data"("username");

-- CreateIndex
CREATE INDEX "current_account_sync_data_db_type_is_superuser_idx" ON "current_account_sync_data"("db_type", "is_superuser");

-- CreateIndex
CREATE INDEX "current_account_sync_data_last_change_time_idx" ON "current_account_sync_data"("last_change_time");

-- CreateIndex
CREATE UNIQUE INDEX "current_account_sync_data_instance_id_db_type_username_key" ON "current_account_sync_data"("instance_id", "db_type", "username");

-- CreateIndex
CREATE INDEX "account_change_log_instance_id_db_type_username_change_time_idx" ON "account_change_log"("instance_id", "db_type", "username", "change_time");

-- CreateIndex
CREATE INDEX "account_change_log_change_type_change_time_idx" ON "account_change_log"("change_type", "change_time");

-- CreateIndex
CREATE INDEX "account_change_log_username_change_time_idx" ON "account_change_log"("username", "change_time");

-- CreateIndex
CREATE INDEX "account_change_log_account_id_change_time_idx" ON "account_change_log"("account_id", "change_time");

-- CreateIndex
CREATE INDEX "account_change_log_session_id_idx" ON "account_change_log"("session_id");

-- CreateIndex
CREATE UNIQUE INDEX "account_classifications_name_key" ON "account_classifications"("name");

-- CreateIndex
CREATE INDEX "account_classifications_is_active_priority_idx" ON "account_classifications"("is_active", "priority");

-- CreateIndex
CREATE INDEX "classification_rules_classification_id_idx" ON "classification_rules"("classification_id");

-- CreateIndex
CREATE INDEX "classification_rules_db_type_is_active_idx" ON "classification_rules"("db_type", "is_active");

-- CreateIndex
CREATE INDEX "account_classification_assignments_classification_id_is_act_idx" ON "account_classification_assignments"("classification_id", "is_active");

-- CreateIndex
CREATE INDEX "account_classification_assignments_account_id_is_active_idx" ON "account_classification_assignments"("account_id", "is_active");

-- CreateIndex
CREATE INDEX "account_classification_assignments_batch_id_idx" ON "account_classification_assignments"("batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "account_classification_assignments_account_id_classificatio_key" ON "account_classification_assignments"("account_id", "classification_id", "batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "classification_batches_batch_id_key" ON "classification_batches"("batch_id");

-- CreateIndex
CREATE INDEX "classification_batches_status_created_at_idx" ON "classification_batches"("status", "created_at");

-- CreateIndex
CREATE INDEX "classification_batches_batch_type_created_at_idx" ON "classification_batches"("batch_type", "created_at");

-- CreateIndex
CREATE INDEX "classification_matches_account_id_idx" ON "classification_matches"("account_id");

-- CreateIndex
CREATE INDEX "classification_matches_classification_id_idx" ON "classification_matches"("classification_id");

-- CreateIndex
CREATE UNIQUE INDEX "classification_matches_batch_id_account_id_classification_i_key" ON "classification_matches"("batch_id", "account_id", "classification_id");

-- CreateIndex
CREATE UNIQUE INDEX "sync_sessions_session_id_key" ON "sync_sessions"("session_id");

-- CreateIndex
CREATE INDEX "sync_sessions_status_created_at_idx" ON "sync_sessions"("status", "created_at");

-- CreateIndex
CREATE INDEX "sync_sessions_sync_type_created_at_idx" ON "sync_sessions"("sync_type", "created_at");

-- CreateIndex
CREATE INDEX "sync_sessions_created_at_idx" ON "sync_sessions"("created_at");

-- CreateIndex
CREATE INDEX "sync_instance_records_session_id_status_idx" ON "sync_instance_records"("session_id", "status");

-- CreateIndex
CREATE INDEX "sync_instance_records_instance_id_created_at_idx" ON "sync_instance_records"("instance_id", "created_at");

-- CreateIndex
CREATE INDEX "unified_logs_timestamp_level_module_idx" ON "unified_logs"("timestamp", "level", "module");

-- CreateIndex
CREATE INDEX "unified_logs_timestamp_module_idx" ON "unified_logs"("timestamp", "module");

-- CreateIndex
CREATE INDEX "unified_logs_level_timestamp_idx" ON "unified_logs"("level", "timestamp");

-- CreateIndex
CREATE INDEX "unified_logs_module_timestamp_idx" ON "unified_logs"("module", "timestamp");

-- CreateIndex
CREATE INDEX "unified_logs_user_id_timestamp_idx" ON "unified_logs"("user_id", "timestamp");

-- CreateIndex
CREATE INDEX "unified_logs_instance_id_timestamp_idx" ON "unified_logs"("instance_id", "timestamp");

-- CreateIndex
CREATE INDEX "unified_logs_request_id_idx" ON "unified_logs"("request_id");

-- CreateIndex
CREATE INDEX "unified_logs_message_trgm_idx" ON "unified_logs" USING GIN ("message" gin_trgm_ops);

-- CreateIndex
CREATE UNIQUE INDEX "global_params_key_key" ON "global_params"("key");

-- CreateIndex
CREATE INDEX "permission_configs_db_type_is_active_idx" ON "permission_configs"("db_type", "is_active");

-- CreateIndex
CREATE UNIQUE INDEX "permission_configs_db_type_category_permission_name_key" ON "permission_configs"("db_type", "category", "permission_name");

-- CreateIndex
CREATE INDEX "scheduled_jobs_task_type_idx" ON "scheduled_jobs"("task_type");

-- AddForeignKey
ALTER TABLE "instances" ADD CONSTRAINT "instances_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "instance_tags" ADD CONSTRAINT "instance_tags_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "instance_tags" ADD CONSTRAINT "instance_tags_tag_id_fkey" FOREIGN KEY ("tag_id") REFERENCES "tags"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "current_account_sync_data" ADD CONSTRAINT "current_account_sync_data_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_change_log" ADD CONSTRAINT "account_change_log_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_rules" ADD CONSTRAINT "classification_rules_classification_id_fkey" FOREIGN KEY ("classification_id") REFERENCES "account_classifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_classification_assignments" ADD CONSTRAINT "account_classification_assignments_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "current_account_sync_data"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_classification_assignments" ADD CONSTRAINT "account_classification_assignments_classification_id_fkey" FOREIGN KEY ("classification_id") REFERENCES "account_classifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_classification_assignments" ADD CONSTRAINT "account_classification_assignments_assigned_by_fkey" FOREIGN KEY ("assigned_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_batches" ADD CONSTRAINT "classification_batches_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_matches" ADD CONSTRAINT "classification_matches_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "classification_batches"("batch_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_matches" ADD CONSTRAINT "classification_matches_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "current_account_sync_data"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_matches" ADD CONSTRAINT "classification_matches_classification_id_fkey" FOREIGN KEY ("classification_id") REFERENCES "account_classifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_matches" ADD CONSTRAINT "classification_matches_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "classification_rules"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_sessions" ADD CONSTRAINT "sync_sessions_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_instance_records" ADD CONSTRAINT "sync_instance_records_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sync_sessions"("session_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_instance_records" ADD CONSTRAINT "sync_instance_records_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;
