#!/usr/bin/env python3
"""Runs a throwaway Synapse for the Matrix integration tests (loopback only, SQLite, offline).

Usage: <venv>/bin/python synapse_server.py --port N --dir DIR [--default-rate-limits]
       [--shared-secret S] [--appservice REGISTRATION.yaml ...]

Must run under the Python that has matrix-synapse installed (the tests use .venv-synapse/, created by
`Deploy/scripts/setup.sh --test`). Writes DIR/homeserver.yaml (server_name "localhost",
trusted_key_servers: [], registration only via the shared secret), starts Synapse as a child and prints
READY once GET /_matrix/client/versions answers. Rate limits are relaxed unless --default-rate-limits,
which keeps Synapse's defaults for rc_message (0.2/s, burst 10) while relaxing logins/joins/registration.
Each --appservice file goes into app_service_config_files as given (the bridge's generated registration).
The child dies with this wrapper, and the wrapper exits when the test process that started it is gone.
"""

import argparse
import base64
import os
import signal
import subprocess
import sys
import time
import urllib.request

RELAXED = {"per_second": 1000, "burst_count": 1000}


def rate_limits(default_messages):
    lines = []

    def block(name, value):
        lines.append(f"{name}:")
        for k, v in value.items():
            if isinstance(v, dict):
                lines.append(f"  {k}: {{per_second: {v['per_second']}, burst_count: {v['burst_count']}}}")
            else:
                lines.append(f"  {k}: {v}")

    if not default_messages:
        block("rc_message", RELAXED)
    block("rc_registration", RELAXED)
    block("rc_login", {"address": RELAXED, "account": RELAXED, "failed_attempts": RELAXED})
    block("rc_joins", {"local": RELAXED, "remote": RELAXED})
    block("rc_joins_per_room", RELAXED)
    block("rc_invites", {"per_room": RELAXED, "per_user": RELAXED, "per_issuer": RELAXED})
    block("rc_admin_redaction", RELAXED)
    block("rc_3pid_validation", RELAXED)
    return "\n".join(lines) + "\n"


def write_config(directory, port, secret, default_messages, appservices=()):
    os.makedirs(directory, exist_ok=True)
    key_path = os.path.join(directory, "signing.key")
    if not os.path.exists(key_path):
        seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        with open(key_path, "w") as f:
            f.write(f"ed25519 a_test {seed}\n")
    log_path = os.path.join(directory, "log.yaml")
    with open(log_path, "w") as f:
        f.write(
            "version: 1\n"
            "formatters: {plain: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}}\n"
            "handlers: {console: {class: logging.StreamHandler, formatter: plain}}\n"
            "root: {level: WARNING, handlers: [console]}\n"
            "disable_existing_loggers: false\n"
        )
    config = f"""server_name: "localhost"
pid_file: "{directory}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{directory}/homeserver.db"
log_config: "{log_path}"
media_store_path: "{directory}/media_store"
signing_key_path: "{key_path}"
registration_shared_secret: "{secret}"
enable_registration: false
report_stats: false
macaroon_secret_key: "macaroon-{secret}"
form_secret: "form-{secret}"
trusted_key_servers: []
suppress_key_server_warning: true
bcrypt_rounds: 4
presence:
  enabled: false
url_preview_enabled: false
enable_metrics: false
""" + rate_limits(default_messages) + (
        "app_service_config_files:\n" + "".join(f'  - "{os.path.abspath(a)}"\n' for a in appservices) if appservices else ""
    )
    path = os.path.join(directory, "homeserver.yaml")
    with open(path, "w") as f:
        f.write(config)
    return path


def die_with_parent():
    # PR_SET_PDEATHSIG = 1: Synapse gets SIGKILL when this wrapper dies.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)
    except Exception:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--shared-secret", default="pb-test-shared-secret")
    parser.add_argument("--default-rate-limits", action="store_true")
    parser.add_argument("--appservice", action="append", default=[])
    args = parser.parse_args()
    path = write_config(os.path.abspath(args.dir), args.port, args.shared_secret, args.default_rate_limits, args.appservice)
    parent = os.getppid()
    child = subprocess.Popen(
        [sys.executable, "-m", "synapse.app.homeserver", "--config-path", path],
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{args.port}/_matrix/client/versions"
    ready = False
    while True:
        if child.poll() is not None:
            print(f"synapse exited with status {child.returncode}", flush=True)
            sys.exit(1)
        if os.getppid() != parent:
            child.kill()
            sys.exit(0)
        if not ready:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        ready = True
                        print("READY", flush=True)
            except Exception:
                pass
        time.sleep(0.2 if not ready else 0.5)


if __name__ == "__main__":
    main()
