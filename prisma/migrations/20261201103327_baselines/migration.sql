-- CreateTable
CREATE TABLE "baselines" (
    "id" SERIAL NOT NULL,
    "instance_id" INTEGER NOT NULL,
    "db_type" VARCHAR(20) NOT NULL,
    "tag_id" INTEGER,
    "tag_name" VARCHAR(50),
    "group_id" VARCHAR(36) NOT NULL,
    "frozen_by" INTEGER,
    "frozen_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "accepted_by" INTEGER,
    "accepted_at" TIMESTAMPTZ(6),
    "last_report" JSONB,
    "last_checked_at" TIMESTAMPTZ(6),
    "last_session_id" VARCHAR(36),

    CONSTRAINT "baselines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "baseline_accounts" (
    "id" SERIAL NOT NULL,
    "baseline_id" INTEGER NOT NULL,
    "username" VARCHAR(255) NOT NULL,
    "privileges" JSONB NOT NULL,

    CONSTRAINT "baseline_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "baselines_instance_id_key" ON "baselines"("instance_id");

-- CreateIndex
CREATE INDEX "baselines_group_id_idx" ON "baselines"("group_id");

-- CreateIndex
CREATE INDEX "baselines_tag_id_idx" ON "baselines"("tag_id");

-- CreateIndex
CREATE UNIQUE INDEX "baseline_accounts_baseline_id_username_key" ON "baseline_accounts"("baseline_id", "username");

-- AddForeignKey
ALTER TABLE "baselines" ADD CONSTRAINT "baselines_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "baselines" ADD CONSTRAINT "baselines_tag_id_fkey" FOREIGN KEY ("tag_id") REFERENCES "tags"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "baselines" ADD CONSTRAINT "baselines_frozen_by_fkey" FOREIGN KEY ("frozen_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "baselines" ADD CONSTRAINT "baselines_accepted_by_fkey" FOREIGN KEY ("accepted_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "baseline_accounts" ADD CONSTRAINT "baseline_accounts_baseline_id_fkey" FOREIGN KEY ("baseline_id") REFERENCES "baselines"("id") ON DELETE CASCADE ON UPDATE CASCADE;
