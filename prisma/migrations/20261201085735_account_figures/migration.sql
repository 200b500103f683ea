-- DropIndex
DROP INDEX "current_account_sync_data_figures_idx";

-- CreateTable
CREATE TABLE "account_figures" (
    "instance_id" INTEGER NOT NULL,
    "total" INTEGER NOT NULL DEFAULT 0,
    "active" INTEGER NOT NULL DEFAULT 0,
    "locked" INTEGER NOT NULL DEFAULT 0,
    "superuser" INTEGER NOT NULL DEFAULT 0,
    "deleted" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "account_figures_pkey" PRIMARY KEY ("instance_id")
);

-- Keep account_figures exact, whoever writes current_account_sync_data (sync, bulk loads, instance
-- deletion cascading to its accounts). Statement-level triggers with transition tables; one
-- function for the three events (a trigger with transition tables may have only one event).
CREATE FUNCTION account_figures_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO account_figures AS f (instance_id, total, active, locked, superuser, deleted)
    SELECT instance_id,
           count(*) FILTER (WHERE NOT is_deleted), count(*) FILTER (WHERE NOT is_deleted AND is_active),
           count(*) FILTER (WHERE NOT is_deleted AND is_locked), count(*) FILTER (WHERE NOT is_deleted AND is_superuser),
           count(*) FILTER (WHERE is_deleted)
      FROM new_rows GROUP BY 1 ORDER BY 1
    ON CONFLICT (instance_id) DO UPDATE SET total = f.total + EXCLUDED.total, active = f.active + EXCLUDED.active,
       locked = f.locked + EXCLUDED.locked, superuser = f.superuser + EXCLUDED.superuser, deleted = f.deleted + EXCLUDED.deleted;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE account_figures f SET total = f.total - o.total, active = f.active - o.active, locked = f.locked - o.locked,
           superuser = f.superuser - o.superuser, deleted = f.deleted - o.deleted
      FROM (SELECT instance_id,
                   count(*) FILTER (WHERE NOT is_deleted) AS total, count(*) FILTER (WHERE NOT is_deleted AND is_active) AS active,
                   count(*) FILTER (WHERE NOT is_deleted AND is_locked) AS locked, count(*) FILTER (WHERE NOT is_deleted AND is_superuser) AS superuser,
                   count(*) FILTER (WHERE is_deleted) AS deleted
              FROM old_rows GROUP BY 1) o
     WHERE f.instance_id = o.instance_id;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION account_figures_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE account_figures;
  RETURN NULL;
END $$;

CREATE TRIGGER account_figures_insert AFTER INSERT ON current_account_sync_data
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_figures_apply();
CREATE TRIGGER account_figures_update AFTER UPDATE ON current_account_sync_data
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_figures_apply();
CREATE TRIGGER account_figures_delete AFTER DELETE ON current_account_sync_data
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION account_figures_apply();
CREATE TRIGGER account_figures_truncate AFTER TRUNCATE ON current_account_sync_data
  FOR EACH STATEMENT EXECUTE FUNCTION account_figures_clear();

-- Existing accounts.
INSERT INTO account_figures (instance_id, total, active, locked, superuser, deleted)
SELECT instance_id,
       count(*) FILTER (WHERE NOT is_deleted), count(*) FILTER (WHERE NOT is_deleted AND is_active),
       count(*) FILTER (WHERE NOT is_deleted AND is_locked), count(*) FILTER (WHERE NOT is_deleted AND is_superuser),
       count(*) FILTER (WHERE is_deleted)
  FROM current_account_sync_data GROUP BY 1;
