#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: binds a unix datagram socket at PATH and
writes each datagram it receives to OUT, one line per assignment with the receive
time (CLOCK_MONOTONIC seconds) before it: "12.345 READY=1". Exits on SIGTERM, or
after SECONDS. Usage: sd_notify_listener.py PATH OUT SECONDS"""
import os
import signal
import socket
import sys
import time


def main():
    path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    with open(out, "w", buffering=1) as f:
        f.write("listening\n")
        while time.monotonic() < end:
            try:
                data = sock.recv(4096)
            except socket.timeout:
                continue
            now = time.monotonic()
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    f.write("%.3f %s\n" % (now, line))
    os.unlink(path)


if __name__ == "__main__":
    main()
