-- Data only: MariaDB/MySQL 5.7 SHOW GRANTS lines carry password hashes (IDENTIFIED BY PASSWORD '*…',
-- IDENTIFIED VIA plugin USING '…'), which earlier releases stored with the account and in its change
-- history. The adapter now redacts them; this removes the ones already stored.
UPDATE "current_account_sync_data"
   SET "type_specific" = regexp_replace(regexp_replace("type_specific"::text,
         '(IDENTIFIED BY (PASSWORD )?)''[^'']*''', '\1''<redacted>''', 'gi'),
         '(USING (PASSWORD\()?)''[^'']*''', '\1''<redacted>''', 'gi')::jsonb
 WHERE "type_specific"::text ~* '(IDENTIFIED BY|USING)';

UPDATE "account_change_log"
   SET "other_diff" = regexp_replace(regexp_replace("other_diff"::text,
         '(IDENTIFIED BY (PASSWORD )?)''[^'']*''', '\1''<redacted>''', 'gi'),
         '(USING (PASSWORD\()?)''[^'']*''', '\1''<redacted>''', 'gi')::jsonb
 WHERE "other_diff"::text ~* '(IDENTIFIED BY|USING)';
