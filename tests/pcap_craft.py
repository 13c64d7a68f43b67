#!/usr/bin/env python3
"""pcap_craft: the odd captures the replay tests need, written byte by byte from the
pcap and pcapng formats (and the Linux cooked headers), never by fhd's own code.

  pcap_craft.py relink KIND IN OUT     KIND raw|ipv4|sll|sll2: each Ethernet frame's
                                       network packet under that link type's header
  pcap_craft.py linktype N IN OUT      the same bytes, header link type set to N
  pcap_craft.py empty OUT              a pcap header and no packet
  pcap_craft.py cut IN OUT K           the file cut in the middle of packet K (0-based)
  pcap_craft.py caplen IN OUT K        packet K's record claims caplen 0x7fffffff
  pcap_craft.py prefix IN OUT K        the first K packets, whole
  pcap_craft.py pad IN OUT SIZE [K]    frames padded to SIZE bytes (only packet K if given)
  pcap_craft.py mixng IN OUT K         pcapng: K Ethernet packets, then a second interface
                                       of link type RAW and packets on both
  pcap_craft.py short KIND IN OUT      sll|sll2|raw capture with frames cut short of
                                       their link header (lengths 0..header-1) added
  pcap_craft.py count IN               whole records before the end or the first bad one
"""
import struct
import sys

HDR = struct.Struct('<IHHiIII')
REC = struct.Struct('<IIII')


def read(path):
    d = open(path, 'rb').read()
    assert struct.unpack('<I', d[:4])[0] == 0xa1b2c3d4, 'little-endian microsecond pcap only'
    recs, at = [], 24
    while at + 16 <= len(d):
        s, us, incl, orig = REC.unpack_from(d, at)
        recs.append((s, us, d[at + 16:at + 16 + incl]))
        at += 16 + incl
    return d[:24], recs


def write(path, linktype, recs, snaplen=262144):
    with open(path, 'wb') as f:
        f.write(HDR.pack(0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for s, us, data in recs:
            f.write(REC.pack(s, us, len(data), len(data)) + data)


def network(frame):
    """The Ethernet frame's ethertype and network packet (after one VLAN tag)."""
    et, l3 = frame[12:14], 14
    if et == b'\x81\x00':
        et, l3 = frame[16:18], 18
    return et, frame[l3:]


def relinked(frame, kind):
    et, ip = network(frame)
    if kind in ('raw', 'ipv4'):
        return ip
    if kind == 'sll':   # packet type 2 (multicast), ARPHRD_ETHER, 6-byte source address
        return struct.pack('>HHH', 2, 1, 6) + frame[6:12] + b'\0\0' + et + ip
    if kind == 'sll2':  # protocol, reserved, ifindex 3, ARPHRD_ETHER, multicast, 6 bytes
        return et + b'\0\0' + struct.pack('>IHBB', 3, 1, 2, 6) + frame[6:12] + b'\0\0' + ip
    raise SystemExit('unknown kind ' + kind)


LINKTYPES = {'raw': 101, 'ipv4': 228, 'sll': 113, 'sll2': 276}
HEADER_LEN = {'raw': 1, 'sll': 16, 'sll2': 20}


def pcapng_block(kind, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack('<II', kind, n) + body + struct.pack('<I', n)


def main(argv):
    cmd = argv[1]
    if cmd == 'relink':
        _, recs = read(argv[3])
        write(argv[4], LINKTYPES[argv[2]], [(s, us, relinked(d, argv[2])) for s, us, d in recs])
    elif cmd == 'linktype':
        _, recs = read(argv[3])
        write(argv[4], int(argv[2]), recs)
    elif cmd == 'empty':
        write(argv[2], 1, [], 65535)
    elif cmd in ('cut', 'caplen', 'prefix'):
        head, recs = read(argv[2])
        k = int(argv[4])
        out = bytearray(head)
        for i, (s, us, data) in enumerate(recs):
            if i == k and cmd == 'cut':
                out += REC.pack(s, us, len(data), len(data)) + data[:len(data) // 2]
                break
            if i == k and cmd == 'prefix':
                break
            rec = bytearray(REC.pack(s, us, len(data), len(data)))
            if i == k and cmd == 'caplen':
                struct.pack_into('<I', rec, 8, 0x7fffffff)
            out += rec + data
        open(argv[3], 'wb').write(out)
    elif cmd == 'pad':
        _, recs = read(argv[2])
        size, only = int(argv[4]), int(argv[5]) if len(argv) > 5 else None
        write(argv[3], 1, [(s, us, d + b'\0' * (size - len(d)) if only in (None, i) else d)
                           for i, (s, us, d) in enumerate(recs)])
    elif cmd == 'mixng':
        _, recs = read(argv[2])
        k = int(argv[4])
        out = pcapng_block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
        out += pcapng_block(1, struct.pack('<HHI', 1, 0, 65535))

        def epb(iface, s, us, data):
            ts = s * 1000000 + us
            return pcapng_block(6, struct.pack('<IIIII', iface, ts >> 32, ts & 0xffffffff,
                                               len(data), len(data)) + data)
        for s, us, d in recs[:k]:
            out += epb(0, s, us, d)
        out += pcapng_block(1, struct.pack('<HHI', 101, 0, 65535))
        for i, (s, us, d) in enumerate(recs[k:]):
            out += epb(1, s, us, network(d)[1]) if i % 2 else epb(0, s, us, d)
        open(argv[3], 'wb').write(out)
    elif cmd == 'short':
        kind = argv[2]
        _, recs = read(argv[3])
        out = [(s, us, relinked(d, kind)) for s, us, d in recs]
        s, us, d = out[0]
        out = [(s, us, d[:n]) for n in range(HEADER_LEN[kind])] + out
        write(argv[4], LINKTYPES[kind], out)
    elif cmd == 'count':
        d = open(argv[2], 'rb').read()
        at, n = 24, 0
        while at + 16 <= len(d):
            incl = REC.unpack_from(d, at)[2]
            if incl > 262144 or at + 16 + incl > len(d):  # libpcap: EN10MB maximum
                break
            at += 16 + incl
            n += 1
        print(n)
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
