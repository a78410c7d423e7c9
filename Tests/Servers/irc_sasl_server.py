#!/usr/bin/env python3
"""Scripted IRC server (stdlib only, loopback) that enforces the SASL PLAIN and NickServ IDENTIFY flows.

Usage: irc_sasl_server.py --port N --account A --password P [--no-sasl]
Prints READY once it listens on 127.0.0.1:N, then one EVENT line per outcome on stdout (never the password):
  EVENT sasl-ok <account>        AUTHENTICATE PLAIN with the right authcid/password (900 + 903 sent)
  EVENT sasl-fail <reason>       wrong credentials or protocol order (904 sent)
  EVENT nickserv-ok <nick>       PRIVMSG NickServ :IDENTIFY <password> after 001 (a NOTICE confirms)
  EVENT nickserv-fail <nick>     IDENTIFY with a wrong password
  EVENT registered <nick>        001 sent
  EVENT violation <text>         the client broke the protocol (e.g. AUTHENTICATE before CAP REQ sasl was ACKed,
                                 registration lines before CAP LS, a line over 512 bytes)
Protocol enforced: the client must open with CAP LS 302; registration (001) waits for CAP END; AUTHENTICATE
needs the sasl capability ACKed; the PLAIN payload comes after the server's "AUTHENTICATE +".
With --no-sasl the server does not offer sasl (clients should fall back to NickServ).
"""
import argparse
import asyncio
import base64
import lifeline
import portfile


def event(text):
    print("EVENT " + text, flush=True)


async def handle(reader, writer, args):
    state = {"nick": "*", "user": None, "capped": False, "ended": False, "sasl_acked": False,
             "auth_started": False, "registered": False, "first": True}

    def send(line):
        writer.write((line + "\r\n").encode())

    def try_register():
        if state["registered"] or not state["ended"] or state["user"] is None or state["nick"] == "*":
            return
        state["registered"] = True
        nick = state["nick"]
        send(f":sasl.test 001 {nick} :Welcome {nick}!{state['user']}@127.0.0.1")
        send(f":sasl.test 005 {nick} CASEMAPPING=rfc1459 PREFIX=(ov)@+ :are supported")
        send(f":sasl.test 422 {nick} :No MOTD")
        event(f"registered {nick}")

    try:
        while True:
            raw = await reader.readline()
            if not raw:
                break
            if len(raw) > 512:
                event("violation line over 512 bytes")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            parts = line.split(" ")
            command = parts[0].upper()
            if state["first"]:
                state["first"] = False
                if line != "CAP LS 302":
                    event(f"violation first line was {command}, not CAP LS 302")
            if command == "CAP" and len(parts) >= 2:
                sub = parts[1].upper()
                if sub == "LS":
                    state["capped"] = True
                    offered = "message-tags" if args.no_sasl else "sasl=PLAIN,EXTERNAL message-tags"
                    send(f":sasl.test CAP * LS :{offered}")
                elif sub == "REQ":
                    wanted = line.split(" ", 2)[2].lstrip(":").split()
                    if "sasl" in wanted and args.no_sasl:
                        send(f":sasl.test CAP * NAK :{' '.join(wanted)}")
                    else:
                        state["sasl_acked"] = "sasl" in wanted
                        send(f":sasl.test CAP * ACK :{' '.join(wanted)}")
                elif sub == "END":
                    state["ended"] = True
                    try_register()
            elif command == "AUTHENTICATE" and len(parts) >= 2:
                if not state["sasl_acked"]:
                    event("violation AUTHENTICATE without sasl ACKed")
                    send(f":sasl.test 904 {state['nick']} :SASL not negotiated")
                elif parts[1] == "PLAIN":
                    state["auth_started"] = True
                    send("AUTHENTICATE +")
                elif not state["auth_started"]:
                    event("violation payload before AUTHENTICATE PLAIN")
                    send(f":sasl.test 904 {state['nick']} :SASL authentication failed")
                else:
                    try:
                        authzid, authcid, password = base64.b64decode(parts[1]).decode().split("\0")
                    except Exception:
                        authzid, authcid, password = "", "", ""
                    if authcid == args.account and password == args.password and authzid in ("", authcid):
                        send(f":sasl.test 900 {state['nick']} {state['nick']}!u@h {authcid} :You are now logged in as {authcid}")
                        send(f":sasl.test 903 {state['nick']} :SASL authentication successful")
                        event(f"sasl-ok {authcid}")
                    else:
                        send(f":sasl.test 904 {state['nick']} :SASL authentication failed")
                        event("sasl-fail credentials")
            elif command == "NICK" and len(parts) >= 2:
                if not state["capped"]:
                    event("violation NICK before CAP LS")
                state["nick"] = parts[1].lstrip(":")
                try_register()
            elif command == "USER":
                state["user"] = parts[1] if len(parts) > 1 else "u"
                try_register()
            elif command == "PING":
                send(f":sasl.test PONG sasl.test :{line.split(' ', 1)[1].lstrip(':') if ' ' in line else ''}")
            elif command == "PRIVMSG" and len(parts) >= 3 and parts[1].lower() == "nickserv":
                text = line.split(" ", 2)[2].lstrip(":")
                words = text.split(" ")
                if words[0].upper() == "IDENTIFY":
                    if not state["registered"]:
                        event("violation IDENTIFY before 001")
                    if words[-1] == args.password:
                        send(f":NickServ!service@services NOTICE {state['nick']} :You are now identified.")
                        event(f"nickserv-ok {state['nick']}")
                    else:
                        send(f":NickServ!service@services NOTICE {state['nick']} :Invalid password.")
                        event(f"nickserv-fail {state['nick']}")
            elif command == "QUIT":
                break
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    lifeline.exit_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    portfile.add_argument(parser)
    parser.add_argument("--account", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--no-sasl", action="store_true")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.port)
    portfile.report(args.port_file, portfile.bound_port(server.sockets))
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
