#!/usr/bin/python3
# A support agent in a chat room: signs in over plain TCP on loopback,
# joins ROOM as NICK (creating it as a persistent open room when it does
# not exist), and answers the first message someone else sends there.
# Prints READY once in the room, "JOINED: <nick> <bare jid>" for each
# occupant that comes in after it, "BODY: <nick>: <text>" for that first
# message, then ANSWERED once ANSWER is sent into the room.
# usage: xmpp_room_helper.py JID HOST PORT ROOM NICK ANSWER [timeout_seconds]   (password on stdin)
# exit: 0 answered, 1 sign-in, join or room configuration refused, 2 timeout.
import asyncio
import logging
import sys

# Before slixmpp: its import warns that it has no compiled stringprep.
logging.basicConfig(level=logging.CRITICAL)
import slixmpp  # noqa: E402

jid, host, port, room, nick, answer = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 90
password = sys.stdin.buffer.read().decode("utf-8")


class Agent(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password, plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        for plugin in ("xep_0004", "xep_0045", "xep_0203"):
            self.register_plugin(plugin)
        self.result = asyncio.get_event_loop().create_future()
        self.joined = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", lambda _: self.finish(1))
        self.add_event_handler("muc::%s::self-presence" % room, self.on_self_presence)
        self.add_event_handler("muc::%s::presence-error" % room, self.on_join_error)
        self.add_event_handler("muc::%s::got_online" % room, self.on_occupant)
        self.add_event_handler("muc::%s::message" % room, self.on_message)

    def finish(self, code):
        if not self.result.done():
            self.result.set_result(code)

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        # No history: only messages sent after READY count.
        self.plugin["xep_0045"].join_muc(room, nick, maxhistory="0")

    async def on_self_presence(self, pres):
        if self.joined.done():
            return
        if "201" in [str(c) for c in pres["muc"]["status_codes"]]:
            # A new room stays locked until its owner configures it.
            form = self.plugin["xep_0004"].make_form(ftype="submit")
            form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/muc#roomconfig")
            form.add_field(var="muc#roomconfig_persistentroom", ftype="boolean", value=True)
            form.add_field(var="muc#roomconfig_membersonly", ftype="boolean", value=False)
            try:
                await self.plugin["xep_0045"].set_room_config(room, form)
            except slixmpp.exceptions.IqError as e:
                print("CONFIG REFUSED:", e.iq["error"]["condition"], flush=True)
                self.finish(1)
                return
        self.joined.set_result(True)
        print("READY", flush=True)

    def on_join_error(self, pres):
        print("JOIN REFUSED:", pres["error"]["condition"], flush=True)
        self.finish(1)

    def on_occupant(self, pres):
        if self.joined.done() and pres["muc"]["nick"] != nick:
            print("JOINED:", pres["muc"]["nick"], pres["muc"]["jid"].bare, flush=True)

    def on_message(self, msg):
        sender = msg["mucnick"]
        delayed = msg.get_plugin("delay", check=True) is not None
        if msg["type"] != "groupchat" or not msg["body"] or sender == nick or delayed or self.result.done():
            return
        print("BODY: %s: %s" % (sender, msg["body"]), flush=True)
        self.send_message(mto=room, mbody=answer, mtype="groupchat")
        print("ANSWERED", flush=True)
        self.finish(0)


async def main():
    agent = Agent()
    agent.connect((host, port), use_ssl=False, force_starttls=False, disable_starttls=True)
    try:
        code = await asyncio.wait_for(agent.result, timeout)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
        code = 2
    agent.disconnect()  # sends what is queued (the answer) first
    try:
        await asyncio.wait_for(agent.disconnected, 5)
    except asyncio.TimeoutError:
        pass  # the exit code already says what happened
    return code


sys.exit(asyncio.run(main()))
