#!/usr/bin/env python3
"""fuzz_seeds.py CAPTURE OUTDIR [PREFIX]: cuts a classic pcap into seed inputs for the
per-packet fuzz target (tests/fuzz_feed.c): each seed holds 40 consecutive frames as
[2-byte big-endian length][frame] records, written as OUTDIR/PREFIXnnnn."""
import struct
import sys

capture, outdir = sys.argv[1], sys.argv[2]
prefix = sys.argv[3] if len(sys.argv) > 3 else 'seed'
data = open(capture, 'rb').read()
frames, at = [], 24
while at + 16 <= len(data):
    n = struct.unpack('<I', data[at + 8:at + 12])[0]
    frames.append(data[at + 16:at + 16 + n])
    at += 16 + n
for i in range(0, len(frames), 40):
    chunk = b''.join(struct.pack('>H', len(f)) + f for f in frames[i:i + 40])
    open('%s/%s%04d' % (outdir, prefix, i // 40), 'wb').write(chunk)
