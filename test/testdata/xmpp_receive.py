#!/usr/bin/python3
# Signs in over plain TCP on loopback and waits for a chat message from
# one sender. Prints READY once online, then "BODY: <text>".
# usage: xmpp_receive.py JID HOST PORT FROM_BARE_JID [timeout_seconds]   (password on stdin)
# exit: 0 message received, 1 authentication refused, 2 timeout.
import asyncio
import logging
import sys

# Before slixmpp: its import warns that it has no compiled stringprep.
logging.basicConfig(level=logging.CRITICAL)
import slixmpp  # noqa: E402

jid, host, port, sender = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 90
password = sys.stdin.buffer.read().decode("utf-8")


class Receiver(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password, plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        self.result = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda _: self.result.done() or self.result.set_result(1))

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        print("READY", flush=True)

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["from"].bare == sender and msg["body"]:
            print("BODY:", msg["body"], flush=True)
            if not self.result.done():
                self.result.set_result(0)


async def main():
    client = Receiver()
    client.connect((host, port), use_ssl=False, force_starttls=False, disable_starttls=True)
    try:
        code = await asyncio.wait_for(client.result, timeout)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
        code = 2
    client.disconnect()
    await asyncio.sleep(0.3)
    return code


sys.exit(asyncio.run(main()))
