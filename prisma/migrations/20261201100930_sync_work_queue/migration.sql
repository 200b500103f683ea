-- AlterTable
ALTER TABLE "sync_instance_records" ADD COLUMN     "heartbeat_at" TIMESTAMPTZ(6),
ADD COLUMN     "node" VARCHAR(100);

-- AlterTable
ALTER TABLE "sync_sessions" ADD COLUMN     "settled_at" TIMESTAMPTZ(6);

-- CreateIndex
CREATE INDEX "sync_instance_records_status_id_idx" ON "sync_instance_records"("status", "id");

-- Sessions that ended before this migration are settled; sessions still marked running were run by
-- the old in-process runner, which is gone after the upgrade: their unfinished records are failed
-- (their pending ones become work for the new queue would be wrong: the instances may since have been
-- synced again) and the sessions settle with the usual status rule.
UPDATE "sync_instance_records" r SET "status" = 'failed', "completed_at" = now(),
       "error_message" = '网关升级时该同步尚未完成，已标记为失败'
  FROM "sync_sessions" s
 WHERE s."session_id" = r."session_id" AND s."status" = 'running' AND r."status" IN ('pending', 'running');
UPDATE "sync_sessions" s SET
       "failed_instances" = (SELECT count(*) FROM "sync_instance_records" r WHERE r."session_id" = s."session_id" AND r."status" = 'failed'),
       "status" = 'failed', "completed_at" = COALESCE(s."completed_at", now())
 WHERE s."status" = 'running';
UPDATE "sync_sessions" SET "settled_at" = COALESCE("completed_at", "updated_at") WHERE "settled_at" IS NULL;
