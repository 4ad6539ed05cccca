#!/usr/bin/python3
"""A hand-written ejabberd extauth program, the kind operators write: one
SELECT per request with PyMySQL (Debian's python3-pymysql), no cache.
The benchmarks in load_test.go use it as the peer livechat-auth must beat.

Settings come from the environment: PEER_DB_HOST, PEER_DB_PORT,
PEER_DB_USER, PEER_DB_PASSWORD, PEER_DB_NAME, PEER_DOMAIN.
"""
import hashlib
import hmac
import os
import struct
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import crypt  # noqa: E402 (deprecated in 3.11, still the stdlib's bcrypt)

import pymysql


def check_password(stored, password):
    if stored.startswith("$"):
        return hmac.compare_digest(crypt.crypt(password, stored) or "", stored)
    return hmac.compare_digest(hashlib.md5(password.encode()).hexdigest(), stored)


def decide(db, domain, fields):
    if len(fields) < 3 or fields[2].lower() != domain:
        return False
    with db.cursor() as cur:
        cur.execute("SELECT hash FROM users_users WHERE livechat_id = %s", (fields[1],))
        row = cur.fetchone()
    if row is None:
        return False
    if fields[0] == "isuser":
        return True
    if fields[0] == "auth" and len(fields) == 4:
        return check_password(row[0] or "", fields[3])
    return False


def main():
    env = os.environ
    db = pymysql.connect(host=env["PEER_DB_HOST"], port=int(env["PEER_DB_PORT"]),
                         user=env["PEER_DB_USER"], password=env["PEER_DB_PASSWORD"],
                         database=env["PEER_DB_NAME"], charset="utf8mb4", autocommit=True)
    domain = env["PEER_DOMAIN"].lower()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(2)
        if len(head) < 2:
            return
        (size,) = struct.unpack(">H", head)
        fields = stdin.read(size).decode("utf-8", "replace").split(":", 3)
        try:
            ok = decide(db, domain, fields)
        except Exception as e:  # answer no, keep serving
            print("extauth:", type(e).__name__, file=sys.stderr)
            ok = False
        stdout.write(struct.pack(">HH", 2, 1 if ok else 0))
        stdout.flush()


if __name__ == "__main__":
    main()
