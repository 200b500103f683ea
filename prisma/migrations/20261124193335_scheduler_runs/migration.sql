-- CreateEnum
CREATE TYPE "JobRunStatus" AS ENUM ('running', 'success', 'failed', 'skipped', 'interrupted');

-- CreateEnum
CREATE TYPE "JobRunTrigger" AS ENUM ('scheduled', 'manual');

-- AlterTable
ALTER TABLE "scheduled_jobs" ADD COLUMN     "agenda_job_id" VARCHAR(64),
ADD COLUMN     "is_enabled" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "lease_expires_at" TIMESTAMPTZ(6),
ADD COLUMN     "running_run_id" INTEGER;

-- CreateTable
CREATE TABLE "job_runs" (
    "id" SERIAL NOT NULL,
    "job_id" VARCHAR(100) NOT NULL,
    "task_type" VARCHAR(50) NOT NULL,
    "trigger" "JobRunTrigger" NOT NULL,
    "triggered_by" INTEGER,
    "status" "JobRunStatus" NOT NULL DEFAULT 'running',
    "scheduled_for" TIMESTAMPTZ(6),
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),
    "duration_ms" INTEGER,
    "message" TEXT,
    "error" TEXT,
    "result" JSONB,
    "params" JSONB,
    "session_id" VARCHAR(36),
    "batch_id" VARCHAR(36),
    "node" VARCHAR(255),

    CONSTRAINT "job_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "job_runs_job_id_started_at_idx" ON "job_runs"("job_id", "started_at");

-- CreateIndex
CREATE INDEX "job_runs_status_started_at_idx" ON "job_runs"("status", "started_at");

-- CreateIndex
CREATE INDEX "job_runs_session_id_idx" ON "job_runs"("session_id");

-- AddForeignKey
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "scheduled_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
