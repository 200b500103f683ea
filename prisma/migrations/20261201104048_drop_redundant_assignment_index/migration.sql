-- DropIndex
DROP INDEX "account_classification_assignments_account_id_is_active_idx";
