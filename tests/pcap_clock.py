#!/usr/bin/env python3
"""Rewrites a classic pcap's capture clock: the records from index FROM on get their
timestamp moved by SHIFT seconds (negative: earlier), as if the capturing host's
clock were that far from the exchange's. Prints the number of MoldUDP64 packets
that carry messages and are first seen (the copy an arbiter applies) among the
moved records, found from the frames themselves (Ethernet/IPv4/UDP, no VLAN).

usage: pcap_clock.py IN OUT SHIFT_S [FROM]"""
import struct
import sys


def main():
    src, dst, shift = sys.argv[1], sys.argv[2], int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    d = bytearray(open(src, 'rb').read())
    if struct.unpack_from('<I', d, 0)[0] not in (0xa1b2c3d4, 0xa1b23c4d):
        sys.exit('pcap_clock: not a little-endian classic pcap')
    seen, moved, o, i = set(), 0, 24, 0
    while o + 16 <= len(d):
        sec, _, incl, _ = struct.unpack_from('<IIII', d, o)
        frame = d[o + 16:o + 16 + incl]
        if i >= first:
            struct.pack_into('<I', d, o, sec + shift)
        if len(frame) >= 42 + 20:
            seq, count = struct.unpack_from('>QH', frame, 42 + 10)
            if seq not in seen and 0 < count < 0xffff:
                moved += i >= first
            seen.add(seq)
        o += 16 + incl
        i += 1
    open(dst, 'wb').write(d)
    print(moved)


main()
