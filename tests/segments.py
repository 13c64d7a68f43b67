#!/usr/bin/env python3
"""Crafts fhd's shared-memory segments byte by byte, good or deliberately bad, from
the layouts in publish/libfh/ring_layout.h, publish/libfh/conflated_layout.h, publish/libfh/fh_event.h
and publish/libfh/stats_layout.h (written from those headers, not from fhd's code), for the
consumer tests and libfh's fuzz seeds.

    segments.py ring  OUT [capacity=8] [events=5] [head=N] [torn=1] [stop=1] [name0=itch] ...
    segments.py view  OUT [depth=2] [slots=4] [entry_size=N] [instrument=N] ...
    segments.py stats OUT [feeds=1] [name0=itch] [pid=N] [state=1] [size=N] ...
    segments.py seed  OUT RING_FILE VIEW_FILE [ops_hex]   (a fuzz_libfh input)

Numbers accept 0x.. and 2**k. Every field has a good default; a key overrides it.
"""
import struct
import sys
import time

RING_MAGIC = 0x31474E4952484646
VIEW_MAGIC = 0x31504F5448464646
STATS_MAGIC = 0x3154415453484646
HEADER = 4096
# struct fh_stats_feed: name, counters, rates, 4 latencies (640 bytes), then struct
# fh_stats_recovery (36 uint64: book_state, the RX lcore's 22, the worker's 10, the arbiter's 2 and
# configured), then
# 15 uint64 (book refusals, snapshot counters, bad_sequence and kernel_dropped per line,
# instruments per book state);
# after the 16 feeds,
# ports_count, a spare word and 8 ports of a name and 5 uint64
FEED = 640 + 36 * 8 + 15 * 8
PORTS = 8 + 8 * (32 + 5 * 8)


def num(text):
    if "**" in text:
        base, exp = text.split("**")
        return int(base, 0) ** int(exp, 0)
    return int(text, 0)


def event(seq, kind=9, feed=0, instrument=1, symbol=b"TEST", body=None):
    """One 64-byte record (fh_event.h); default: INSTRUMENT_DEFINED for TEST."""
    if body is None:
        body = symbol.ljust(16, b"\0")[:16] + bytes([4]) + bytes(7)
    return struct.pack("<QBBBBIQQII", seq, kind, 0, feed, 0, instrument, 0, 0, 0, 0) + body


def ring(opt):
    capacity = opt.get("capacity", 8)
    count = opt.get("events", 5)
    head = opt.get("head", count)
    size = opt.get("size", HEADER + min(capacity, 1 << 20) * 64)
    out = bytearray(size)
    struct.pack_into("<QIIQQII", out, 0, opt.get("magic", RING_MAGIC), opt.get("version", 2),
                     opt.get("record_size", 64), capacity, opt.get("generation", 0x1234567),
                     opt.get("state", 1), opt.get("pid", 1))
    struct.pack_into("<Q", out, 64, head)
    for f in range(16):
        name = opt.get("name%d" % f, "itch" if f == 0 else "")
        if isinstance(name, int):
            name = str(name)
        raw = name.encode("latin-1")
        raw = raw[:32] if opt.get("unterminated") else raw[:31]
        out[128 + 32 * f:128 + 32 * f + len(raw)] = raw
    slots = (size - HEADER) // 64
    for seq in range(max(1, head - count + 1), head + 1):
        if slots == 0:
            break
        rec = event(seq, kind=13 if opt.get("stop") and seq == head else 9)
        if opt.get("torn"):
            rec = struct.pack("<Q", 0) + rec[8:]     # seq never settles
        at = HEADER + ((seq - 1) % min(slots, capacity if capacity else 1)) * 64
        out[at:at + 64] = rec
    return bytes(out)


def view(opt):
    depth = opt.get("depth", 2)
    slots = opt.get("slots", 4)
    entry = opt.get("entry_size", (48 + 48 * depth + 63) & ~63)
    size = opt.get("size", HEADER + min(slots, 4096) * max(entry, 0))
    out = bytearray(size)
    struct.pack_into("<QIIIIQ", out, 0, opt.get("magic", VIEW_MAGIC), opt.get("version", 2), depth,
                     slots, entry, opt.get("generation", 0))
    for s in range(min(slots, 4096)):
        at = HEADER + s * entry
        if entry < 48 or at + 48 > size:
            break
        instrument = opt.get("instrument", s + 1)
        struct.pack_into("<QQIBBBBII16s", out, at, 2, 7, instrument, 0, 1, 4, 0,
                         opt.get("bids", 1), opt.get("asks", 1), b"SYM%d" % s)
        for lvl in range(2 * depth):
            lat = at + 48 + 24 * lvl
            if lat + 24 <= size and lat + 24 <= at + entry:
                struct.pack_into("<qQII", out, lat, 1000000 + (lvl % depth) * (100 if lvl >= depth else -100),
                                 100 + lvl, 1 + lvl, 0)
    return bytes(out)


def stats(opt):
    feeds = opt.get("feeds", 1)
    out = bytearray(176 + 16 * FEED + PORTS)  # struct fh_stats_segment: header, 16 feeds, ports
    updated = opt.get("updated_ns", time.time_ns())
    struct.pack_into("<QIIQQQII", out, 0, STATS_MAGIC, opt.get("version", 7), feeds, opt.get("seq", 2),
                     opt.get("pid", 1), updated, opt.get("interval_ms", 1000), opt.get("state", 1))
    for k, kind in enumerate((b"rx_to_publish_packet", b"rx_to_publish_message", b"feed_delay",
                               b"processing")):
        raw = kind if not opt.get("unterminated") else b"L" * 32
        out[48 + 32 * k:48 + 32 * k + len(raw)] = raw
    for f in range(min(feeds, 16)):
        at = 176 + FEED * f
        name = opt.get("name%d" % f, "feed%d" % f)
        if isinstance(name, int):
            name = str(name)
        raw = name.encode("latin-1")
        raw = b"N" * 32 if opt.get("unterminated") else raw[:31]
        out[at:at + len(raw)] = raw
        struct.pack_into("<QQ", out, at + 32, 1000 + f, 5000 + f)
    size = opt.get("size", len(out))
    return bytes(out[:size]) + bytes(max(0, size - len(out)))


def main():
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "seed":
        r, v = open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
        ops = bytes.fromhex(sys.argv[5]) if len(sys.argv) > 5 else b""
        open(path, "wb").write(struct.pack("<BHH", 0, len(r), len(v)) + r + v + ops)
        return
    opt = {}
    for arg in sys.argv[3:]:
        key, value = arg.split("=", 1)
        try:
            opt[key] = num(value)
        except ValueError:
            opt[key] = value
    data = {"ring": ring, "view": view, "stats": stats}[kind](opt)
    open(path, "wb").write(data)


if __name__ == "__main__":
    main()
