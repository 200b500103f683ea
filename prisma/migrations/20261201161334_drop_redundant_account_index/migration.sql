-- DropIndex
DROP INDEX "current_account_sync_data_instance_id_db_type_idx";
