#!/usr/bin/python3
# Signs in to an XMPP server over plain TCP on loopback, as a real client
# does, and reports the outcome in one line.
# usage: xmpp_signin.py JID HOST PORT [timeout_seconds]   (password on stdin)
# exit: 0 session started, 1 authentication refused, 2 timeout or error.
import asyncio
import logging
import sys

# Before slixmpp: its import warns, once a process, that it has no
# compiled stringprep (true of Debian's package, and harmless here).
logging.basicConfig(level=logging.CRITICAL)
import slixmpp  # noqa: E402

jid, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 10
password = sys.stdin.buffer.read().decode("utf-8")
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
done = loop.create_future()


def finish(code, msg):
    if not done.done():
        done.set_result((code, msg))


client = slixmpp.ClientXMPP(jid, password, plugin_config={
    "feature_mechanisms": {"unencrypted_plain": True}})
client.add_event_handler("session_start", lambda ev: finish(0, "session started as %s" % client.boundjid.full))
client.add_event_handler("failed_auth", lambda ev: finish(1, "refused: %s" % ev))
client.add_event_handler("failed_all_auth", lambda ev: finish(1, "refused by every mechanism"))
client.connect((host, port), use_ssl=False, force_starttls=False, disable_starttls=True)
try:
    code, msg = loop.run_until_complete(asyncio.wait_for(done, timeout))
except asyncio.TimeoutError:
    code, msg = 2, "timeout after %ss" % timeout
print(msg, flush=True)
if code != 2:
    try:
        client.disconnect()
        loop.run_until_complete(asyncio.wait_for(client.disconnected, 2))
    except Exception:
        pass
sys.exit(code)
