-- CreateTable
CREATE TABLE "unified_log_counts" (
    "hour" TIMESTAMPTZ(6) NOT NULL,
    "level" "LogLevel" NOT NULL,
    "module" VARCHAR(100) NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "unified_log_counts_pkey" PRIMARY KEY ("hour","level","module")
);

-- CreateIndex
CREATE INDEX "current_account_sync_data_figures_idx" ON "current_account_sync_data"("instance_id", "is_deleted", "is_active", "is_locked", "is_superuser");

-- Keep unified_log_counts exact, whoever writes unified_logs (the gateway's log sink, bulk loads,
-- retention cleanup). Statement-level triggers with transition tables: one aggregate per statement,
-- not one per row. Keys are upserted in a fixed order so concurrent writers never deadlock.
CREATE FUNCTION unified_log_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO unified_log_counts ("hour", level, module, "count")
  SELECT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS h, level, module, count(*)::int
    FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT ("hour", level, module) DO UPDATE SET "count" = unified_log_counts."count" + EXCLUDED."count";
  RETURN NULL;
END $$;

CREATE FUNCTION unified_log_counts_subtract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE unified_log_counts c SET "count" = c."count" - gone.n
    FROM (SELECT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS h, level, module, count(*)::int AS n
            FROM old_rows GROUP BY 1, 2, 3) gone
   WHERE c."hour" = gone.h AND c.level = gone.level AND c.module = gone.module;
  -- A separate statement: within one, a row updated by a CTE is invisible to a DELETE beside it.
  DELETE FROM unified_log_counts c
   USING (SELECT DISTINCT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS h, level, module FROM old_rows) gone
   WHERE c."hour" = gone.h AND c.level = gone.level AND c.module = gone.module AND c."count" <= 0;
  RETURN NULL;
END $$;

CREATE FUNCTION unified_log_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE unified_log_counts;
  RETURN NULL;
END $$;

CREATE TRIGGER unified_logs_counts_insert AFTER INSERT ON unified_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_log_counts_add();
CREATE TRIGGER unified_logs_counts_delete AFTER DELETE ON unified_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_log_counts_subtract();
CREATE TRIGGER unified_logs_counts_truncate AFTER TRUNCATE ON unified_logs
  FOR EACH STATEMENT EXECUTE FUNCTION unified_log_counts_clear();

-- Existing entries.
INSERT INTO unified_log_counts ("hour", level, module, "count")
SELECT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', level, module, count(*)::int
  FROM unified_logs GROUP BY 1, 2, 3;
