-- Adds the chat integration's column to a TikiWiki database:
-- users_users.livechat_id varchar(255) NULL with a unique key.
-- Safe to run twice, on MariaDB and MySQL: each change runs only when it
-- is missing. Run it with a user that may ALTER the wiki's tables (not
-- livechat-auth's SELECT-only user), in the wiki's database:
--   mysql -u root tiki < wikidb/schema/livechat_id.sql
-- Existing accounts keep NULL (not migrated); "livechat-auth ids plan"
-- proposes their ids.

SET @livechat_has_column := (SELECT COUNT(*) FROM information_schema.COLUMNS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND COLUMN_NAME = 'livechat_id');
SET @livechat_sql := IF(@livechat_has_column = 0,
  'ALTER TABLE users_users ADD COLUMN livechat_id varchar(255) NULL DEFAULT NULL',
  'DO 0');
PREPARE livechat_stmt FROM @livechat_sql;
EXECUTE livechat_stmt;
DEALLOCATE PREPARE livechat_stmt;

SET @livechat_has_key := (SELECT COUNT(*) FROM information_schema.STATISTICS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND INDEX_NAME = 'livechat_id');
SET @livechat_sql := IF(@livechat_has_key = 0,
  'ALTER TABLE users_users ADD UNIQUE KEY livechat_id (livechat_id)',
  'DO 0');
PREPARE livechat_stmt FROM @livechat_sql;
EXECUTE livechat_stmt;
DEALLOCATE PREPARE livechat_stmt;
