"""Reports the port a loopback fake actually bound.

Tests start a fake with `--port 0 --port-file PATH`: the kernel picks a free port at bind time, so no
other process can take it between choosing and binding (a free-port probe that closes its socket first
races with every other test). The port is written to PATH (atomically, via a rename) before READY.
"""

import os


def add_argument(parser):
    """Adds --port-file to an argparse parser."""
    parser.add_argument("--port-file", help="write the bound port here (with --port 0)")


def bound_port(sockets):
    """The port of the first listening socket."""
    return sockets[0].getsockname()[1]


def report(path, port):
    """Writes `port` to `path` atomically, if a path was given."""
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(f"{port}\n")
    os.replace(tmp, path)
