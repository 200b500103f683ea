-- A batch of auto-classification inserts its assignments without the per-row foreign-key checks
-- (assignment-writes.ts). What those checks' row locks guaranteed, that no account it assigns is
-- deleted before it commits, this trigger guarantees for the whole table at once: a DELETE of
-- accounts (the gateway never deletes any; an operator or a cascade from instances might) first
-- waits for the running batch, which holds the same advisory lock exclusively (LOCK_KEY in
-- auto-classify.ts, "clas"), and its cascade then removes the batch's assignments too.
CREATE FUNCTION account_delete_waits_for_classify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1668047219);
  RETURN NULL;
END $$;
CREATE TRIGGER account_delete_waits_for_classify BEFORE DELETE ON current_account_sync_data
  FOR EACH STATEMENT EXECUTE FUNCTION account_delete_waits_for_classify();
ALTER TABLE current_account_sync_data ENABLE ALWAYS TRIGGER account_delete_waits_for_classify;
