#!/usr/bin/env python3
"""Reference order book for fh's tests, written from the protocol specs alone
(shared/docs/itch50-moldudp64.md, shared/docs/book-dump.md) and deliberately simple:
live orders in a dict, price levels aggregated only when the dump is printed, A/B
arbitration as "collect every sequence number once, apply in order". It shares no
code or data structure with fhd, so agreement between the two means something.

  ref_book.py pcap FILE [--feed itch] [--line A=IP:PORT] [--line B=IP:PORT] [--source A=IP]
  ref_book.py itch FILE [--feed itch]     (NASDAQ binary: 2-byte length + message)
  ref_book.py selftest
"""
import argparse
import struct
import sys

# ITCH 5.0 message lengths by type (spec table).
LENGTHS = {
    'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28, 'J': 35,
    'h': 21, 'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19, 'U': 35, 'P': 44,
    'Q': 40, 'B': 19, 'I': 50, 'N': 20, 'O': 48,
}


class Book:
    def __init__(self):
        self.orders = {}        # ref -> [locate, side, price, shares]
        self.symbol = {}        # locate -> (source rank, symbol); 2 = directory, 1 = first add

    def add(self, ref, locate, side, price, shares):
        if side not in ('B', 'S') or ref in self.orders:
            return
        self.orders[ref] = [locate, side, price, shares]

    def apply(self, m):
        t = chr(m[0])
        if t not in LENGTHS or len(m) != LENGTHS[t]:
            return
        locate = struct.unpack('>H', m[1:3])[0]
        if t == 'R':
            self.symbol[locate] = (2, m[11:19].decode('latin-1').rstrip(' '))
        elif t in 'AF':
            ref, side, shares = struct.unpack('>QcI', m[11:24])
            price = struct.unpack('>I', m[32:36])[0]
            side = side.decode('latin-1')
            if side in ('B', 'S') and locate not in self.symbol:
                self.symbol[locate] = (1, m[24:32].decode('latin-1').rstrip(' '))
            self.add(ref, locate, side, price, shares)
        elif t in 'ECX':
            ref, n = struct.unpack('>QI', m[11:23])
            order = self.orders.get(ref)
            if order is not None:
                order[3] -= n
                if order[3] <= 0:
                    del self.orders[ref]
        elif t == 'D':
            self.orders.pop(struct.unpack('>Q', m[11:19])[0], None)
        elif t == 'U':
            old, new, shares, price = struct.unpack('>QQII', m[11:35])
            order = self.orders.pop(old, None)
            if order is not None:
                self.add(new, order[0], order[1], price, shares)

    def dump(self, feed):
        levels = {}
        for locate, side, price, shares in self.orders.values():
            name = self.symbol.get(locate, (0, '#%d' % locate))[1]
            level = levels.setdefault((name, side, price), [0, 0])
            level[0] += shares
            level[1] += 1
        # symbol by bytes, B before S, bids descending, asks ascending
        keys = sorted(levels, key=lambda k: (k[0].encode('latin-1'), k[1],
                                             -k[2] if k[1] == 'B' else k[2]))
        return ''.join('%s %s %s %d.%04d %d %d\n' % (feed, k[0], k[1], k[2] // 10000, k[2] % 10000,
                                                    levels[k][0], levels[k][1]) for k in keys)


def itch_messages(data):
    at = 0
    while at < len(data):
        n = struct.unpack('>H', data[at:at + 2])[0]
        if n == 0:
            n = LENGTHS.get(chr(data[at + 2]), 0)
            if n == 0:
                raise SystemExit('unknown type with zero length at byte %d' % at)
        yield data[at + 2:at + 2 + n]
        at += 2 + n


def pcap_frames(data):
    magic = struct.unpack('<I', data[:4])[0]
    if magic == 0x0A0D0D0A:                       # pcapng
        at, endian = 0, '<'
        while at + 12 <= len(data):
            btype = struct.unpack(endian + 'I', data[at:at + 4])[0]
            if btype == 0x0A0D0D0A:
                endian = '<' if data[at + 8:at + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            blen = struct.unpack(endian + 'I', data[at + 4:at + 8])[0]
            if blen < 12:
                break
            if btype == 6:                        # enhanced packet block
                caplen = struct.unpack(endian + 'I', data[at + 20:at + 24])[0]
                yield data[at + 28:at + 28 + caplen]
            elif btype == 3:                      # simple packet block
                yield data[at + 12:at + blen - 4]
            at += blen
        return
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        endian = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        endian = '>'
    else:
        raise SystemExit('not a pcap file')
    at = 24
    while at + 16 <= len(data):
        caplen = struct.unpack(endian + 'I', data[at + 8:at + 12])[0]
        yield data[at + 16:at + 16 + caplen]
        at += 16 + caplen


def udp_datagram(f):
    """(src ip, dst ip, dst port, payload) of a whole unfragmented IPv4/UDP frame, else None."""
    if len(f) < 14:
        return None
    off, etype = 14, struct.unpack('>H', f[12:14])[0]
    if etype == 0x8100:
        if len(f) < 18:
            return None
        off, etype = 18, struct.unpack('>H', f[16:18])[0]
    if etype != 0x0800 or len(f) < off + 20:
        return None
    ip = f[off:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack('>H', ip[2:4])[0]
    if ip[0] >> 4 != 4 or ihl < 20 or total < ihl + 8 or total > len(ip) or ip[9] != 17:
        return None
    if struct.unpack('>H', ip[6:8])[0] & 0x3fff:
        return None
    udp = ip[ihl:total]
    ulen = struct.unpack('>H', udp[4:6])[0]
    if ulen < 8 or ulen > len(udp):
        return None
    return ip[12:16], ip[16:20], struct.unpack('>H', udp[2:4])[0], udp[8:ulen]


def mold_messages(p):
    """(session, seq, [messages]) of a MoldUDP64 packet valid as a whole, else None."""
    if len(p) < 20:
        return None
    session, seq, count = p[:10], struct.unpack('>Q', p[10:18])[0], struct.unpack('>H', p[18:20])[0]
    if count in (0, 0xFFFF):
        return (session, seq, []) if len(p) == 20 else None
    msgs, at = [], 20
    for _ in range(count):
        if at + 2 > len(p):
            return None
        n = struct.unpack('>H', p[at:at + 2])[0]
        if at + 2 + n > len(p):
            return None
        msgs.append(p[at + 2:at + 2 + n])
        at += 2 + n
    return (session, seq, msgs) if at == len(p) else None


def ip_bytes(text):
    return bytes(int(x) for x in text.split('.'))


def run_pcap(args):
    lines = {'A': '233.54.12.111:26477', 'B': '233.49.196.111:26477'}
    for spec in args.line or []:
        name, addr = spec.split('=', 1)
        lines[name] = addr
    routes = {}
    for name, addr in lines.items():
        host, port = addr.rsplit(':', 1)
        routes[(ip_bytes(host), int(port))] = name
    sources = {}
    for spec in args.source or []:
        name, host = spec.split('=', 1)
        sources[name] = ip_bytes(host)
    seen, session = {}, None
    stats = {'valid': 0, 'invalid': 0}
    for frame in pcap_frames(open(args.file, 'rb').read()):
        d = udp_datagram(frame)
        if d is None or (d[1], d[2]) not in routes:
            continue
        line = routes[(d[1], d[2])]
        if line in sources and d[0] != sources[line]:
            continue
        mold = mold_messages(d[3])
        if mold is None:
            stats['invalid'] += 1
            continue
        stats['valid'] += 1
        if session is None:
            session = mold[0]
        if mold[0] != session:    # simple rule: only the first session counts
            continue
        for i, m in enumerate(mold[2]):
            seen.setdefault(mold[1] + i, m)
    book = Book()
    for seq in sorted(seen):
        book.apply(seen[seq])
    if args.stats:
        top = max(seen) if seen else 0
        print('valid %d invalid %d messages %d missing %d' % (
            stats['valid'], stats['invalid'], len(seen), top - len(seen)), file=sys.stderr)
    sys.stdout.write(book.dump(args.feed))


def run_itch(args):
    book = Book()
    for m in itch_messages(open(args.file, 'rb').read()):
        book.apply(m)
    sys.stdout.write(book.dump(args.feed))


def selftest():
    def msg(t, locate, body):
        m = t.encode() + struct.pack('>HH', locate, 0) + b'\0' * 6 + body
        assert len(m) == LENGTHS[t], (t, len(m))
        return m

    def add(ref, side, shares, stock, price, t='A'):
        body = struct.pack('>QcI', ref, side.encode(), shares) + \
            stock.ljust(8).encode() + struct.pack('>I', price)
        return msg(t, 7, body + (b'MPID' if t == 'F' else b''))

    b = Book()
    b.apply(add(1, 'B', 100, 'ABC', 1234500))
    b.apply(add(2, 'B', 50, 'ABC', 1234500, 'F'))
    b.apply(add(3, 'S', 10, 'ABC', 1240000))
    b.apply(msg('E', 7, struct.pack('>QIQ', 1, 30, 1)))      # partial execute
    b.apply(msg('X', 7, struct.pack('>QI', 3, 99)))          # over-cancel removes
    b.apply(msg('D', 7, struct.pack('>Q', 999)))             # unknown: nothing
    b.apply(msg('U', 7, struct.pack('>QQII', 2, 4, 60, 1235000)))
    expect = 'itch ABC B 123.5000 60 1\nitch ABC B 123.4500 70 1\n'
    got = b.dump('itch')
    assert got == expect, got
    b.apply(msg('R', 7, b'ABCD    ' + b'\0' * 20))         # directory renames
    assert b.dump('itch').startswith('itch ABCD B 123.5000'), b.dump('itch')
    print('selftest passed')


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('pcap')
    p.add_argument('file')
    p.add_argument('--feed', default='itch')
    p.add_argument('--line', action='append')
    p.add_argument('--source', action='append')
    p.add_argument('--stats', action='store_true')
    i = sub.add_parser('itch')
    i.add_argument('file')
    i.add_argument('--feed', default='itch')
    sub.add_parser('selftest')
    args = ap.parse_args()
    if args.cmd == 'pcap':
        run_pcap(args)
    elif args.cmd == 'itch':
        run_itch(args)
    else:
        selftest()


if __name__ == '__main__':
    main()
