-- Data only: the built-in classification of stale accounts (陈旧账户), for installations that already
-- have their classifications. A new installation has none yet at this point and gets it from
-- seedClassificationDefaults with the other defaults, so it is created exactly once either way; an
-- existing classification of the same name is left alone. The rules are those of
-- STALE_CLASSIFICATION in src/services/classification/classification-service.ts (a test compares).
WITH c AS (
  INSERT INTO "account_classifications" ("name", "description", "risk_level", "color", "icon_name", "priority", "is_system", "is_active", "created_at", "updated_at")
  SELECT '陈旧账户', '长期未登录、密码长期未修改或过期已久的账户 (超过 STALE_ACCOUNT_DAYS 天)', 'medium', '#6c757d', 'fa-tag', 40, true, true, now(), now()
   WHERE EXISTS (SELECT 1 FROM "account_classifications")
  ON CONFLICT ("name") DO NOTHING
  RETURNING "id"
)
INSERT INTO "classification_rules" ("classification_id", "db_type", "rule_name", "rule_expression", "is_active", "created_at", "updated_at")
SELECT c."id", r.db_type, r.rule_name, r.expr::jsonb, true, now(), now()
  FROM c CROSS JOIN (VALUES
       ('postgresql', 'PostgreSQL 密码过期已久', '{"operator": "AND", "conditions": [{"field": "is_active", "op": "is", "value": true}, {"field": "password_expires_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}]}'),
       ('mysql', 'MySQL 密码长期未修改', '{"field": "password_changed_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}'),
       ('sqlserver', 'SQL Server 密码长期未修改', '{"field": "password_changed_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}'),
       ('oracle', 'Oracle 长期未登录或密码陈旧', '{"operator": "OR", "conditions": [{"field": "last_login_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}, {"field": "password_changed_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}, {"field": "password_expires_at", "op": "older_than_days", "value": "STALE_ACCOUNT_DAYS"}]}')
  ) AS r(db_type, rule_name, expr);
