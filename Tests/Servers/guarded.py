#!/usr/bin/env python3
"""Runs a command and takes it down when the test process that started it dies.

    guarded.py --cleanup DIR [--pidfile FILE] -- COMMAND ARGS...

A test server such as PostgreSQL is not in the test process's process group and would
outlive a crashed or killed `swift test`. This wrapper (started by the test, in the test's
place as the server's parent) polls its own parent; once that parent is gone it stops the
server (SIGQUIT to the PID in --pidfile, PostgreSQL's immediate shutdown, which also frees
its shared memory), kills its own process group, and removes DIR. When the command exits by
itself, the wrapper exits with its status. Standard library only.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cleanup", required=True)
    parser.add_argument("--pidfile")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    parent = os.getppid()
    child = subprocess.Popen(command)
    while True:
        status = child.poll()
        if status is not None:
            sys.exit(status if status >= 0 else 128 - status)
        if os.getppid() != parent:
            break
        time.sleep(0.5)
    # The test process is gone: stop the server, then everything in our group.
    if args.pidfile:
        try:
            with open(args.pidfile) as handle:
                os.kill(int(handle.readline().strip()), signal.SIGQUIT)
            for _ in range(50):
                if child.poll() is not None:
                    break
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
    shutil.rmtree(args.cleanup, ignore_errors=True)
    os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    main()
