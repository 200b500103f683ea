-- AlterTable
ALTER TABLE "current_account_sync_data" ADD COLUMN     "classify_xid" xid8 DEFAULT pg_current_xact_id();

-- CreateTable
CREATE TABLE "classification_watermarks" (
    "instance_id" INTEGER NOT NULL,
    "since_xid" xid8 NOT NULL,
    "evaluated_at" TIMESTAMPTZ(6) NOT NULL,
    "rules_hash" VARCHAR(64) NOT NULL,
    "batch_id" VARCHAR(36) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "classification_watermarks_pkey" PRIMARY KEY ("instance_id")
);

-- AddForeignKey
ALTER TABLE "classification_watermarks" ADD CONSTRAINT "classification_watermarks_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- An account's classification inputs changed: any real change of its row. ENABLE ALWAYS: it also
-- fires under session_replication_role = replica (bulk writers that skip foreign-key triggers).
CREATE FUNCTION account_classify_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.classify_xid := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE TRIGGER account_classify_mark BEFORE UPDATE ON current_account_sync_data
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION account_classify_mark();
ALTER TABLE current_account_sync_data ENABLE ALWAYS TRIGGER account_classify_mark;

-- A person assigned or removed a classification (manual, or an auto one by hand): the account is
-- re-evaluated by the next batch. The batch's own writes set whalefall.auto_classify and are its
-- output, not a change of its input.
CREATE FUNCTION assignment_classify_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE current_account_sync_data SET classify_xid = pg_current_xact_id()
   WHERE id = NEW.account_id AND classify_xid IS DISTINCT FROM pg_current_xact_id();
  RETURN NULL;
END $$;
CREATE TRIGGER assignment_classify_mark AFTER INSERT OR UPDATE ON account_classification_assignments
  FOR EACH ROW WHEN (current_setting('whalefall.auto_classify', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION assignment_classify_mark();
ALTER TABLE account_classification_assignments ENABLE ALWAYS TRIGGER assignment_classify_mark;
