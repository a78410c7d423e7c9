#!/usr/bin/env python3
"""A minimal discord.py bot for `pb-bench ingest` to compare against: it connects to the in-repo fake Discord
(zlib-stream, like persona-bridge), counts MESSAGE_CREATE events, stores nothing, and reports when a message
mentioning it arrives.

    .venv-tools/bin/python Tests/Servers/discordpy_reference.py --api http://127.0.0.1:PORT/api/v10 --token TOKEN

Prints "READY <bot id>" once the session is ready, then "MENTION <messages seen> <time.monotonic()>" for each
message that mentions the bot, and "RSS <kB>" after each mention. Needs discord.py from PyPI (Deploy/scripts/setup.sh
installs it into .venv-tools).
"""
import argparse
import sys
import time
import types

import discord
import discord.gateway
import discord.http
import yarl

import lifeline


def rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ReferenceClient(discord.Client):
    async def application_info(self):
        # The fake's application object has only the fields persona-bridge reads; discord.py's AppInfo wants the
        # full set, and login uses just these three.
        data = await self.http.application_info()
        return types.SimpleNamespace(id=int(data["id"]), interactions_endpoint_url=None,
                                     flags=discord.ApplicationFlags._from_value(int(data.get("flags") or 0)))


def main():
    lifeline.exit_with_parent()
    parser = argparse.ArgumentParser(description="discord.py reference bot for pb-bench ingest")
    parser.add_argument("--api", required=True, help="REST base, e.g. http://127.0.0.1:PORT/api/v10")
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    # The fake serves REST and the gateway on loopback; discord.py asks /gateway/bot for the websocket URL.
    discord.http.Route.BASE = args.api
    # discord.py 2.x connects to its built-in gateway URL instead of asking /gateway/bot; point it at the fake.
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(args.api.split("/api/")[0].replace("http://", "ws://") + "/")

    intents = discord.Intents.default()
    intents.message_content = True
    client = ReferenceClient(intents=intents)
    # The fake enforces Discord's documented `DiscordBot (url, version)` form; discord.py leaves out the comma.
    client.http.user_agent = f"DiscordBot (https://github.com/Rapptz/discord.py, {discord.__version__}) Python"
    seen = 0

    @client.event
    async def on_ready():
        print(f"READY {client.user.id} RSS {rss_kb()}", flush=True)

    @client.event
    async def on_message(message):
        nonlocal seen
        seen += 1
        if client.user is not None and any(user.id == client.user.id for user in message.mentions):
            print(f"MENTION {seen} {time.monotonic():.6f}", flush=True)
            print(f"RSS {rss_kb()}", flush=True)

    client.run(args.token, log_handler=None)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
