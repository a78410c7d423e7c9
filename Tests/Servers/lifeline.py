"""Ends a loopback fake once the process that started it is gone.

A test process that is killed itself (SIGKILL, a CI timeout, or Ctrl-C on `swift test`, whose SIGINT never
reaches a fake's own process group) cannot stop its fakes, and they ran on for hours: sixty orphaned fakes, each
waking for its timers, took a sixth of a core. Fakes a test starts through `TestServer` also get SIGKILL as their
parent-death signal; this watch covers the fakes a script or a person starts (`Deploy/scripts/hot-symbols.sh`
killed outright never runs its exit trap). `guarded.py` does the same for servers that are not ours.
"""

import os
import threading
import time


def exit_with_parent(interval=0.5):
    """Exits this process (without cleanup) within `interval` seconds of its parent's exit."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
