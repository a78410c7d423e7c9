#!/usr/bin/env python3
"""Registers Synapse users through the shared-secret admin API (stdlib only).

Usage: register_users.py --url http://127.0.0.1:N --secret S name:password[:admin] ...
Prints one JSON object: {"name": {"user_id", "access_token", "device_id"}, ...}.
The MAC is HMAC-SHA1 over nonce NUL user NUL password NUL ("admin" | "notadmin").
"""

import argparse
import hashlib
import hmac
import json
import urllib.request


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("users", nargs="+")
    args = parser.parse_args()
    endpoint = args.url.rstrip("/") + "/_synapse/admin/v1/register"
    out = {}
    for spec in args.users:
        parts = spec.split(":")
        name, password = parts[0], parts[1]
        admin = len(parts) > 2 and parts[2] == "admin"
        nonce = call(endpoint)["nonce"]
        mac = hmac.new(args.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        answer = call(endpoint, {"nonce": nonce, "username": name, "password": password, "admin": admin,
                                 "mac": mac.hexdigest()})
        out[name] = {"user_id": answer["user_id"], "access_token": answer["access_token"],
                     "device_id": answer.get("device_id")}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
