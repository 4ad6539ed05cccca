-- livechat-auth's database user may only read.
CREATE USER IF NOT EXISTS 'livechat_reader'@'%' IDENTIFIED BY 'demo-reader-pw';
GRANT SELECT ON tiki.* TO 'livechat_reader'@'%';
