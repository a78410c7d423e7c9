"""Ends a loopback fake once the process that started it is gone.

Tests start each fake in a process group of its own and stop it with SIGKILL. A test process that is killed
itself (SIGKILL, a CI timeout, or Ctrl-C on `swift test`, whose SIGINT never reaches another process group)
never gets to, and its fakes ran on for hours: sixty orphaned fakes, each waking for its timers, took a fifth
of a core and slowed every benchmark run after them. `guarded.py` does the same for servers that are not ours.
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
