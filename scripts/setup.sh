#!/usr/bin/env bash
# Installs and starts what livechat-auth's demo and tests need on a Debian
# machine, and does nothing that is already done (safe to run twice):
# Debian's ejabberd, prosody, php-cli with php-mysql (the migration page's tests), nginx, apache2
# and php-fpm (README's web-server blocks, run by test/webserver_test.go), python3-slixmpp and python3-pymysql
# (the benchmarks' hand-written extauth peer), a running
# MariaDB, a running Redis on 127.0.0.1:6379 (the shared state of a
# cluster of sidecars), and staticcheck. Run as root.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2
PACKAGES=(ejabberd prosody php-cli php-mysql nginx apache2 php-fpm python3-slixmpp python3-pymysql chromium redis-server redis-tools)

log() { echo "setup: $*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >&2
    # The packages would start system-wide servers where an init system
    # runs them (nginx and Apache both on port 80, which fails the second
    # one's install); the demo and tests start their own on other ports, so
    # nothing is started while they install (policy-rc.d, unless the
    # machine has its own).
    local guard=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      guard=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    if [[ -n "$guard" ]]; then rm -f "$guard"; trap - EXIT; fi
  fi
}

mariadb_up() { mariadb-admin --user=root --connect-timeout=2 ping >/dev/null 2>&1; }

start_mariadb() {
  if mariadb_up; then return; fi
  if [[ ! -x /usr/sbin/mariadbd ]]; then
    log "installing MariaDB"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server >&2
  fi
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 60); do
    if mariadb_up; then return; fi
    sleep 0.5
  done
  log "MariaDB did not start"; exit 1
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

start_redis() {
  if redis_up; then return; fi
  log "starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis
  start-stop-daemon --start --oknodo --background --exec /usr/bin/redis-server -- \
    --bind 127.0.0.1 --port 6379 --dir /var/lib/redis --save "" --appendonly no
  for _ in $(seq 50); do
    if redis_up; then return; fi
    sleep 0.2
  done
  log "redis-server did not answer on 127.0.0.1:6379"
  exit 1
}

install_staticcheck() {
  local bin
  bin="$(go env GOPATH)/bin/staticcheck"
  if [[ -x "$bin" ]] && "$bin" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then return; fi
  log "installing staticcheck $STATICCHECK_VERSION"
  GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" >&2
}

install_browser_tools() {
  # Converse.js and playwright-core, pinned by test/browser/package-lock.json.
  # playwright-core drives Debian's /usr/bin/chromium and downloads nothing.
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/browser"
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock" 2>/dev/null; then return; fi
  if ! command -v npm >/dev/null; then
    log "installing Node.js"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >&2
  fi
  log "installing Converse.js and playwright-core"
  (cd "$dir" && npm ci --no-audit --no-fund >&2)
  cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock"
}

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo /root/go)/bin"
install_packages
start_mariadb
start_redis
install_staticcheck
install_browser_tools
