-- AlterTable
ALTER TABLE "current_account_sync_data" ADD COLUMN     "last_login_at" TIMESTAMPTZ(6),
ADD COLUMN     "password_changed_at" TIMESTAMPTZ(6),
ADD COLUMN     "password_expires_at" TIMESTAMPTZ(6);
