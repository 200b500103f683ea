-- AlterTable
ALTER TABLE "account_classification_assignments" ADD COLUMN     "rule_id" INTEGER;
