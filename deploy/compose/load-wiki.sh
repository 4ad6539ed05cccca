#!/bin/sh
# Loads the sample wiki into the wiki-db image's MariaDB while the image is
# built: the tiki database, its accounts, and livechat-auth's reader.
set -eu
dir=/usr/local/share/wiki-db
install -d -o mysql -g mysql /run/mysqld
mariadbd --user=mysql --skip-networking &
for _ in $(seq 1 120); do
  mariadb-admin --silent ping >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb -e "CREATE DATABASE tiki CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
mariadb tiki <"$dir/schema.sql"
mariadb tiki <"$dir/users.sql"
mariadb <"$dir/reader.sql"
mariadb-admin shutdown
wait
