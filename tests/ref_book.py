#!/usr/bin/env python3
"""Independent reference order book for fh's tests.

Written from the protocol facts only (the NASDAQ TotalView-ITCH 5.0 and MoldUDP64
specifications) and the dump format (docs/book-dump.md); it shares no code or data structure with fh and is
deliberately simple: live orders in a dict, levels aggregated only when printing, A/B
arbitration as "collect each sequence number once, apply everything in order".

  ref_book.py pcap FILE [--feed itch] [--line A=IP:PORT] [--line B=IP:PORT]
                        [--source A=IP] [--stats]      classic pcap or pcapng
  ref_book.py itch FILE [--feed itch] [--stats]        NASDAQ binary: 2-byte len + msg
  ref_book.py selftest

Rules chosen where the docs leave room (keep them simple and stated):
  * Session: the session of the first valid MoldUDP64 packet (heartbeats and
    end-of-session included) is THE session; packets of any other session are ignored.
  * Symbols: 'R' sets the locate's symbol whenever seen (later 'R' overrides); the
    Stock field of the first length-valid 'A'/'F' seen for a locate is used only if no
    'R' came for it (even if that add was itself ignored); else '#<locate>'.
  * Only link type Ethernet (1) is parsed; frames of other link types are dropped.
  * --stats "missing seqs" counts the holes between the lowest and highest seq seen.
"""
import os
import struct
import sys
import tempfile

# ITCH 5.0 message lengths by type byte (spec table).
LENGTHS = {
    b'S': 12, b'R': 39, b'H': 25, b'Y': 20, b'L': 26, b'V': 35, b'W': 12, b'K': 28,
    b'J': 35, b'h': 21, b'A': 36, b'F': 40, b'E': 31, b'C': 36, b'X': 23, b'D': 19,
    b'U': 35, b'P': 44, b'Q': 40, b'B': 19, b'I': 50, b'N': 20, b'O': 48,
}


def u16(b, o): return struct.unpack_from('>H', b, o)[0]
def u32(b, o): return struct.unpack_from('>I', b, o)[0]
def u64(b, o): return struct.unpack_from('>Q', b, o)[0]


# ---------------------------------------------------------------- ITCH book
class Book:
    def __init__(self):
        self.orders = {}       # ref -> [locate, side, price, shares]
        self.dir_sym = {}      # locate -> symbol from 'R'
        self.add_sym = {}      # locate -> symbol from the first 'A'/'F'
        self.applied = 0       # messages handed to apply()
        self.skipped = 0       # bad length / unknown type

    def _add(self, ref, locate, side, price, shares):
        if side not in (b'B', b'S') or ref in self.orders:
            return
        self.orders[ref] = [locate, side, price, shares]

    def _reduce(self, ref, n):
        o = self.orders.get(ref)
        if o is None:
            return
        o[3] -= n
        if o[3] <= 0:
            del self.orders[ref]

    def apply(self, m):
        self.applied += 1
        t = m[:1]
        if t not in LENGTHS or len(m) != LENGTHS[t]:
            self.skipped += 1
            return
        locate = u16(m, 1)
        if t == b'R':
            self.dir_sym[locate] = m[11:19].rstrip(b' ')
        elif t in (b'A', b'F'):
            self.add_sym.setdefault(locate, m[24:32].rstrip(b' '))
            self._add(u64(m, 11), locate, m[19:20], u32(m, 32), u32(m, 20))
        elif t in (b'E', b'C', b'X'):     # executed / cancelled shares at offset 19
            self._reduce(u64(m, 11), u32(m, 19))
        elif t == b'D':
            self.orders.pop(u64(m, 11), None)
        elif t == b'U':
            old = self.orders.pop(u64(m, 11), None)
            if old is not None:
                self._add(u64(m, 19), old[0], old[1], u32(m, 31), u32(m, 27))
        # every other type leaves the book alone

    def symbol(self, locate):
        if locate in self.dir_sym:
            return self.dir_sym[locate]
        if locate in self.add_sym:
            return self.add_sym[locate]
        return b'#%d' % locate

    def dump(self, feed):
        levels = {}            # (symbol, side, price) -> [shares, orders]
        for locate, side, price, shares in self.orders.values():
            lv = levels.setdefault((self.symbol(locate), side, price), [0, 0])
            lv[0] += shares
            lv[1] += 1
        keys = sorted(levels, key=lambda k: (k[0], k[1], -k[2] if k[1] == b'B' else k[2]))
        f = feed.encode()
        out = []
        for sym, side, price in keys:
            shares, n = levels[(sym, side, price)]
            if n == 0:
                continue
            p = b'%d.%04d' % (price // 10000, price % 10000)
            out.append(b'%s %s %s %s %d %d\n' % (f, sym, side, p, shares, n))
        return b''.join(out)


# ---------------------------------------------------------------- captures
def pcap_frames(data):
    """Yield (linktype, frame bytes) from classic pcap or pcapng."""
    if len(data) < 4:
        return
    if data[:4] == b'\x0a\x0d\x0d\x0a':
        yield from pcapng_frames(data)
        return
    magic = data[:4]
    if magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    elif magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    else:
        raise SystemExit('not a pcap/pcapng file')
    if len(data) < 24:
        return
    linktype = struct.unpack_from(e + 'I', data, 20)[0] & 0xFFFF
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(e + 'I', data, off + 8)[0]
        off += 16
        if off + caplen > len(data):
            break              # truncated last record
        yield linktype, data[off:off + caplen]
        off += caplen


def pcapng_frames(data):
    e = '<'
    links = []                 # per interface in this section: (linktype, snaplen)
    off = 0
    while off + 12 <= len(data):
        if data[off:off + 4] == b'\x0a\x0d\x0d\x0a':      # SHB: learn byte order
            bom = data[off + 8:off + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            links = []
        btype, blen = struct.unpack_from(e + 'II', data, off)
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:                  # IDB
            lt, _, snap = struct.unpack_from(e + 'HHI', body, 0)
            links.append((lt, snap))
        elif btype == 6 and len(body) >= 20:               # EPB
            ifid, _, _, caplen, _ = struct.unpack_from(e + 'IIIII', body, 0)
            if ifid < len(links) and 20 + caplen <= len(body):
                yield links[ifid][0], body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4 and links:      # SPB: interface 0
            orig = struct.unpack_from(e + 'I', body, 0)[0]
            cap = min(orig, len(body) - 4)
            if links[0][1]:
                cap = min(cap, links[0][1])
            yield links[0][0], body[4:4 + cap]
        off += blen


def udp_of(frame):
    """Return (src ip, dst ip, dst port, payload) or None if the frame is dropped."""
    if len(frame) < 14:
        return None
    off, etype = 14, u16(frame, 12)
    if etype == 0x8100:
        if len(frame) < 18:
            return None
        off, etype = 18, u16(frame, 16)
    if etype != 0x0800:
        return None
    ip = frame[off:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = u16(ip, 2)
    if ihl < 20 or total > len(ip) or total < ihl + 8:
        return None
    if u16(ip, 6) & 0x3FFF:    # MF flag or nonzero fragment offset
        return None
    if ip[9] != 17:
        return None
    udp = ip[ihl:total]
    ulen = u16(udp, 4)
    if ulen < 8 or ulen > len(udp):
        return None
    return bytes(ip[12:16]), bytes(ip[16:20]), u16(udp, 2), bytes(udp[8:ulen])


def mold_parse(p):
    """Validate a whole MoldUDP64 packet: (session, seq, [messages]) or None."""
    if len(p) < 20:
        return None
    session, seq, count = p[:10], u64(p, 10), u16(p, 18)
    if count in (0, 0xFFFF):
        return (session, seq, []) if len(p) == 20 else None
    msgs, off = [], 20
    for _ in range(count):
        if off + 2 > len(p):
            return None
        n = u16(p, off)
        if off + 2 + n > len(p):
            return None
        msgs.append(p[off + 2:off + 2 + n])
        off += 2 + n
    return (session, seq, msgs) if off == len(p) else None


def ip_bytes(s):
    parts = [int(x) for x in s.split('.')]
    if len(parts) != 4 or not all(0 <= x < 256 for x in parts):
        raise SystemExit('bad IPv4 address: ' + s)
    return bytes(parts)


def line_map(lines):
    """{name: 'IP:PORT'} -> {(dst ip, dst port): name}; an empty address is no line."""
    want = {}
    for name, spec in lines.items():
        if spec:
            host, port = spec.rsplit(':', 1)
            want[(ip_bytes(host), int(port))] = name
    return want


def line_frames(data, want, st):
    """Yield (line name, src ip, UDP payload) of the capture's frames sent to a line of
    want (from line_map); count the others in st ('frames', 'invalid', 'other_line')."""
    for linktype, frame in pcap_frames(data):
        st['frames'] += 1
        u = udp_of(frame) if linktype == 1 else None
        if u is None:
            st['invalid'] += 1
            continue
        line = want.get((u[1], u[2]))
        if line is None:
            st['other_line'] += 1
            continue
        yield line, u[0], u[3]


def collect_pcap(path, lines, sources, ends=None, marks=None, session=None):
    """A/B arbitration: ({seq: message}, stats); the first arrival of each seq wins.
    ends (a set, optional) gets the packets' boundaries as the arbitration applies
    them: for each packet that brought new seqs, the last of those. marks (a dict,
    optional) gets 'next': the highest next sequence number any packet of the session
    named (a data packet: after its last message; a heartbeat or end of session: its
    sequence number), so holes at the end are known too, and 'sessions': every
    session name in the order they first came. session (optional): collect that
    session instead of the first."""
    with open(path, 'rb') as f:
        data = f.read()
    src = {name: ip_bytes(ip) for name, ip in sources.items()}
    collected = {}             # seq -> message bytes, first arrival wins
    st = dict(frames=0, valid=0, invalid=0, other_line=0, other_session=0)
    for line, sip, payload in line_frames(data, line_map(lines), st):
        if line in src and src[line] != sip:
            st['other_line'] += 1
            continue
        pkt = mold_parse(payload)
        if pkt is None:
            st['invalid'] += 1
            continue
        sess, seq, msgs = pkt
        if marks is not None and sess not in marks.setdefault('sessions', []):
            marks['sessions'].append(sess)
        if session is None:
            session = sess
        if sess != session:
            st['other_session'] += 1
            continue
        st['valid'] += 1
        if marks is not None:
            marks['next'] = max(marks.get('next', 1), seq + len(msgs))
        last = None
        for i, m in enumerate(msgs):
            if seq + i not in collected:
                collected[seq + i] = m
                last = seq + i
        if ends is not None and last is not None:
            ends.add(last)
    return collected, st


def run_pcap(path, lines, sources, stats):
    collected, st = collect_pcap(path, lines, sources)
    book = Book()
    for s in sorted(collected):
        book.apply(collected[s])
    if stats:
        span = (max(collected) - min(collected) + 1) if collected else 0
        print('frames %d\nvalid packets %d\ninvalid packets dropped %d\n'
              'other line/source %d\nother session %d\nmessages applied %d\n'
              'malformed messages %d\ndistinct seqs %d\nmissing seqs %d'
              % (st['frames'], st['valid'], st['invalid'], st['other_line'],
                 st['other_session'], book.applied, book.skipped, len(collected),
                 span - len(collected)), file=sys.stderr)
    return book


def itch_messages(data):
    off = 0
    while off + 2 <= len(data):
        n = u16(data, off)
        off += 2
        if n == 0:             # writer quirk: length from the type byte
            t = data[off:off + 1]
            if t not in LENGTHS:
                print('ref_book: zero length prefix and unknown type at offset %d; '
                      'stopping' % (off - 2), file=sys.stderr)
                return
            n = LENGTHS[t]
        if off + n > len(data):
            return             # truncated tail
        yield data[off:off + n]
        off += n


def run_itch(path, stats):
    with open(path, 'rb') as f:
        data = f.read()
    book = Book()
    for m in itch_messages(data):
        book.apply(m)
    if stats:
        print('messages applied %d\nmalformed messages %d\nlive orders %d'
              % (book.applied, book.skipped, len(book.orders)), file=sys.stderr)
    return book


# ---------------------------------------------------------------- self-test
def hdr(t, locate):
    return t + struct.pack('>HH', locate, 0) + b'\0' * 6


def m_R(locate, stock):
    return hdr(b'R', locate) + stock.ljust(8) + b'QN' + struct.pack('>I', 100) + b'NCZ PNN2N' + b'\0' * 4 + b'N'


def selftest():
    def pack_A(locate, ref, side, shares, stock, price, t=b'A'):
        m = hdr(t, locate) + struct.pack('>Q', ref) + side + struct.pack('>I', shares) \
            + stock.ljust(8) + struct.pack('>I', price)
        return m + b'MPID' if t == b'F' else m
    E = lambda ref, n: hdr(b'E', 1) + struct.pack('>QIQ', ref, n, 7)
    C = lambda ref, n: hdr(b'C', 1) + struct.pack('>QIQ', ref, n, 7) + b'Y' + struct.pack('>I', 1)
    X = lambda ref, n: hdr(b'X', 1) + struct.pack('>QI', ref, n)
    D = lambda ref: hdr(b'D', 1) + struct.pack('>Q', ref)
    U = lambda old, new, n, p: hdr(b'U', 1) + struct.pack('>QQII', old, new, n, p)

    def book_of(msgs):
        b = Book()
        for m in msgs:
            b.apply(m)
        return b.dump('itch').decode().splitlines()

    def check(msgs, expect):
        got = book_of(msgs)
        assert got == expect, '\n got %r\nwant %r' % (got, expect)

    r = m_R(1, b'AAPL')
    for m in (r, pack_A(1, 1, b'B', 1, b'A', 1), pack_A(1, 1, b'B', 1, b'A', 1, b'F'),
              E(1, 1), C(1, 1), X(1, 1), D(1), U(1, 2, 1, 1)):
        assert len(m) == LENGTHS[m[:1]], m          # builders match the spec table
    # add, partial execute, aggregation, sort order (bids desc, asks asc)
    check([r, pack_A(1, 10, b'B', 100, b'AAPL', 1234500), pack_A(1, 11, b'B', 50, b'AAPL', 1234500),
           pack_A(1, 12, b'B', 7, b'AAPL', 1240000), pack_A(1, 13, b'S', 9, b'AAPL', 1250001),
           pack_A(1, 14, b'S', 3, b'AAPL', 1260000, b'F'), E(10, 30)],
          ['itch AAPL B 124.0000 7 1', 'itch AAPL B 123.4500 120 2',
           'itch AAPL S 125.0001 9 1', 'itch AAPL S 126.0000 3 1'])
    # over-execute and over-cancel remove the order; exact execute too
    check([pack_A(1, 1, b'B', 10, b'X', 100), pack_A(1, 2, b'S', 10, b'X', 200),
           pack_A(1, 3, b'S', 10, b'X', 300), C(1, 11), X(2, 99), E(3, 10)], [])
    # replace keeps locate and side; old ref gone; unknown-ref ops change nothing;
    # replace onto a live new ref removes the old order and leaves the live one alone
    check([pack_A(1, 5, b'S', 10, b'ZZ', 5000), U(5, 6, 20, 4000), U(5, 7, 1, 1),
           D(99), E(99, 1), X(99, 1), U(98, 97, 1, 1),
           pack_A(1, 8, b'B', 1, b'ZZ', 1), U(8, 6, 5, 5)],
          ['itch ZZ S 0.4000 20 1'])
    # delete; duplicate add ignored; bad side ignored; zero-share order still counts
    check([pack_A(2, 1, b'B', 10, b'Q', 10000), pack_A(2, 1, b'B', 99, b'Q', 10000),
           pack_A(2, 2, b'x', 5, b'Q', 10000), pack_A(2, 3, b'B', 0, b'Q', 20000), D(1)],
          ['itch Q B 2.0000 0 1'])
    # symbols: first add names the locate, R overrides; wrong length skipped
    check([pack_A(3, 1, b'B', 1, b'FIRST', 1), pack_A(3, 2, b'B', 1, b'SECOND', 2),
           pack_A(4, 3, b'S', 1, b'OLD', 3), m_R(4, b'NEW'), pack_A(5, 4, b'S', 1, b'BAD', 1) + b'!'],
          ['itch FIRST B 0.0002 1 1', 'itch FIRST B 0.0001 1 1', 'itch NEW S 0.0003 1 1'])
    # MoldUDP64 validation and A/B arbitration through run_pcap on a tiny pcap
    def mold(sess, seq, msgs, extra=b''):
        return sess.ljust(10) + struct.pack('>QH', seq, len(msgs)) + \
            b''.join(struct.pack('>H', len(m)) + m for m in msgs) + extra
    assert mold_parse(mold(b'S1', 1, [b'ab'])) == (b'S1'.ljust(10), 1, [b'ab'])
    assert mold_parse(mold(b'S1', 1, [b'ab'], b'x')) is None
    assert mold_parse(mold(b'S1', 1, [b'ab'])[:-1]) is None
    assert mold_parse(mold(b'S1', 1, []) + b'x') is None

    def frame(dst, port, payload, vlan=False):
        udp = struct.pack('>HHHH', 1000, port, 8 + len(payload), 0) + payload
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                         bytes([10, 0, 0, 1]), ip_bytes(dst)) + udp
        tag = b'\x81\x00\x00\x05' if vlan else b''
        return b'\x01' * 12 + tag + b'\x08\x00' + ip
    a1, a2 = pack_A(1, 1, b'B', 5, b'T', 100), pack_A(1, 2, b'S', 6, b'T', 200)
    pk = [frame('233.54.12.111', 26477, mold(b'S1', 1, [a1])),
          frame('233.49.196.111', 26477, mold(b'S1', 1, [a1, a2]), vlan=True),
          frame('233.49.196.111', 26477, mold(b'S1', 3, [D(1)], b'junk')),   # invalid
          frame('233.54.12.111', 26477, mold(b'S2', 3, [D(1)])),             # other session
          frame('233.54.12.111', 9, mold(b'S1', 3, [D(2)]))]                 # other line
    for ns, endian in ((False, '<'), (True, '>')):
        magic = 0xa1b23c4d if ns else 0xa1b2c3d4
        cap = struct.pack(endian + 'IHHiIII', magic, 2, 4, 0, 0, 65535, 1)
        for p in pk:
            cap += struct.pack(endian + 'IIII', 0, 0, len(p), len(p)) + p
        with tempfile.NamedTemporaryFile(delete=False) as t:
            t.write(cap)
        try:
            got = run_pcap(t.name, dict(DEFAULT_LINES), {}, False).dump('itch').decode()
        finally:
            os.unlink(t.name)
        assert got == 'itch T B 0.0100 5 1\nitch T S 0.0200 6 1\n', got
    print('ref_book selftest: ok')


# ---------------------------------------------------------------- command line
DEFAULT_LINES = (('A', '233.54.12.111:26477'), ('B', '233.49.196.111:26477'))


def main(argv):
    if not argv or argv[0] not in ('pcap', 'itch', 'selftest'):
        raise SystemExit(__doc__)
    if argv[0] == 'selftest':
        selftest()
        return
    mode, rest = argv[0], argv[1:]
    path, feed, stats = None, 'itch', False
    lines, sources = dict(DEFAULT_LINES), {}
    while rest:
        a = rest.pop(0)
        if a == '--stats':
            stats = True
        elif a in ('--feed', '--line', '--source') and rest:
            v = rest.pop(0)
            if a == '--feed':
                feed = v
            else:
                name, _, val = v.partition('=')
                (lines if a == '--line' else sources)[name] = val
        elif path is None and not a.startswith('--'):
            path = a
        else:
            raise SystemExit('bad argument: %s\n%s' % (a, __doc__))
    if path is None:
        raise SystemExit(__doc__)
    book = run_pcap(path, lines, sources, stats) if mode == 'pcap' else run_itch(path, stats)
    sys.stdout.buffer.write(book.dump(feed))


if __name__ == '__main__':
    main(sys.argv[1:])
