#!/usr/bin/env python3
"""fh_telemetry: a small client of DPDK's telemetry socket (v2), for fhd's /fh/feeds and
/fh/latency and DPDK's own commands (/ethdev/stats,0, /help,/fh/feeds). Debian ships no
dpdk-telemetry.py; this is fh's own, standard library only.

  fh_telemetry.py [--socket PATH | --prefix PREFIX] COMMAND...

Each command's reply is printed as one JSON line. The socket is
<runtime dir>/<prefix>/dpdk_telemetry.v2: the runtime dir is $RUNTIME_DIRECTORY/dpdk,
else /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk (fhd makes a private one when
that is unusable: --socket the path it prints); the prefix is EAL's --file-prefix (fhd's:
fh-<ring> when it publishes, fhd-<pid> otherwise). fhd prints the path at start. Exit 0; 1 when a reply is not JSON
or the socket closed; 2 when the socket cannot be reached.
"""
import argparse
import json
import os
import socket
import sys

REPLY_MAX = 16384 * 4   # DPDK's replies are at most 16 KiB; a larger read costs nothing


def runtime_dir():
    if os.environ.get("RUNTIME_DIRECTORY"):     # systemd's RuntimeDirectory=, which EAL reads first
        return os.path.join(os.environ["RUNTIME_DIRECTORY"], "dpdk")
    if os.getuid() == 0:
        return "/var/run/dpdk"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(xdg, "dpdk") if xdg else "/tmp/dpdk"


def receive_json(sock):
    data = sock.recv(REPLY_MAX)
    if not data:
        raise ConnectionError("the telemetry socket closed")
    return json.loads(data.decode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", help="the socket's path")
    ap.add_argument("--prefix", default="rte", help="EAL's --file-prefix (default rte)")
    ap.add_argument("--greeting", action="store_true", help="print the socket's greeting first")
    ap.add_argument("command", nargs="+", help="e.g. /fh/feeds, /fh/latency,itch, /ethdev/stats,0")
    args = ap.parse_args()
    path = args.socket or os.path.join(runtime_dir(), args.prefix, "dpdk_telemetry.v2")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.connect(path)
    except OSError as e:
        print(f"fh_telemetry: cannot connect to {path}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        with sock:
            greeting = receive_json(sock)   # version, pid, max_output_len
            if args.greeting:
                print(json.dumps(greeting))
            for command in args.command:
                sock.send(command.encode())
                print(json.dumps(receive_json(sock)))
    except (ConnectionError, ValueError, OSError) as e:
        print(f"fh_telemetry: {path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
