#!/usr/bin/env python3
"""recovery_client: the client side of test_recovery_servers.sh. It talks to
tools/mold_server.py and tools/glimpse_server.py and checks their answers against
the session as tests/ref_book.py reads it (ref_book's parsers and book, never the
servers' itch_source.py), and writes what went over the wire into a pcap so that
tshark's own dissectors can check the framing too.

  recovery_client.py mold-walk ADDR SOURCE [--step N] [--cap N] [--wrong-every K]
                     [--timeout-ms MS] [--pcap-out FILE]
      requests the whole session N (default 200) messages at a time, advancing by
      what each reply carries and re-requesting after TIMEOUT_MS without a reply;
      checks every reply (session, sequence, count within the request, the cap and
      the end, filled up to about 1400 bytes when there is no cap, message bytes);
      with --wrong-every, that exactly every Kth reply names another session.
  recovery_client.py mold-bad ADDR SOURCE
      requests that must get no reply (19 and 21 bytes, other session, count 0,
      sequence 0, past the end), then a good one: the first reply must answer it.
  recovery_client.py mold-ignored ADDR SOURCE N
      N requests that the server ignores (--drop-first N), then a good one that it
      must answer first.
  recovery_client.py mold-refused ADDR SOURCE N
      N requests; no reply may come within half a second.
  recovery_client.py glimpse ADDR SOURCE SEQ [--user U] [--password P] [--session S]
                     [--expect accept|reject:C|cut:N|stall:N] [--heartbeats N]
                     [--end-session] [--pcap-out FILE] [--snap-out FILE]
                     [--recv-size N] [--split-login] [--stall-ms MS]
      logs in and reads the snapshot; with accept (the default), checks it against
      ref_book's book of the session cut at SEQ-1 (live orders as (ref, side,
      shares, price, locate), directory, last trading actions, A/F kind, the book
      ref_book builds from the snapshot alone) and G == SEQ; then waits for N server
      heartbeats, or with --end-session for 'Z' and the close, and logs out.
      reject:C expects 'J' C, then the close; cut:N expects N sequenced messages,
      then the close without 'G'; stall:N expects N sequenced messages, then
      nothing for MS ms (default 500) on an open socket.
      --snap-out writes the snapshot's messages in hex, one a line; --recv-size
      reads the stream N bytes at a time; --split-login sends the login one byte
      per segment.
  recovery_client.py hexlist SOURCE FIRST COUNT
      the messages [FIRST, FIRST+COUNT) of the session in hex, one a line.

SOURCE is pcap:FILE or itch:FILE[:SESSION]. Exit 0 when every check passes.
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import ref_book  # noqa: E402

MOLD = struct.Struct('>10sQH')
MSS = 1448


def fail(msg):
    raise SystemExit('recovery_client: FAIL: ' + msg)


def load(spec):
    """(session, [message bytes]) with messages[i] = sequence i + 1."""
    kind, _, rest = spec.partition(':')
    if kind == 'itch':
        path, _, session = rest.partition(':')
        with open(path, 'rb') as f:
            msgs = list(ref_book.itch_messages(f.read()))
        return (session or 'FHGEN00001').encode().ljust(10), msgs
    if kind == 'pcap':
        collected, _ = ref_book.collect_pcap(rest, dict(ref_book.DEFAULT_LINES), {})
        with open(rest, 'rb') as f:     # the session: the first MoldUDP64 packet's
            for lt, fr in ref_book.pcap_frames(f.read()):
                u = ref_book.udp_of(fr)
                if u and ref_book.mold_parse(u[3]):
                    session = u[3][:10]
                    break
        assert sorted(collected) == list(range(1, len(collected) + 1))
        return session, [collected[s] for s in range(1, len(collected) + 1)]
    fail('SOURCE is pcap:FILE or itch:FILE[:SESSION]')


def addr_of(s):
    host, _, port = s.rpartition(':')
    return host, int(port)


# ------------------------------------------------------------ pcap of the traffic
class PcapOut:
    """Ethernet/IPv4 frames on 127.0.0.1, UDP datagrams or a TCP stream with its
    handshake, so that tshark can dissect (and reassemble) them."""

    def __init__(self, path):
        self.f = open(path, 'wb') if path else None
        self.n = 0
        self.tcp_seq = {}
        if self.f:
            self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))

    def _ip(self, proto, l4):
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                         b'\x7f\0\0\1', b'\x7f\0\0\1')
        fr = b'\0' * 12 + b'\x08\x00' + ip + l4
        self.n += 1
        self.f.write(struct.pack('<IIII', self.n // 1000000, self.n % 1000000, len(fr), len(fr)))
        self.f.write(fr)

    def udp(self, sport, dport, payload):
        if self.f:
            self._ip(17, struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload)

    def tcp(self, sport, dport, payload, flags=0x18):
        """payload as one segment, or several of MSS bytes if it is longer."""
        if not self.f:
            return
        seq = self.tcp_seq.get((sport, dport), 1000)
        ack = self.tcp_seq.get((dport, sport), 1000)
        for at in range(0, max(len(payload), 1), MSS):
            part = payload[at:at + MSS]
            self._ip(6, struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags,
                                    65535, 0, 0) + part)
            seq += len(part) + (1 if flags & 0x03 else 0)
        self.tcp_seq[(sport, dport)] = seq & 0xFFFFFFFF

    def handshake(self, cport, sport):
        self.tcp(cport, sport, b'', 0x02)
        self.tcp(sport, cport, b'', 0x12)
        self.tcp(cport, sport, b'', 0x10)

    def close(self):
        if self.f:
            self.f.close()


# ------------------------------------------------------------ MoldUDP64
def udp_socket(timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    s.settimeout(timeout)
    return s


def check_reply(pkt, session, msgs, first, asked, cap):
    """Checks one reply to (first, asked); returns its message count."""
    if len(pkt) < 20:
        fail('reply of %d bytes' % len(pkt))
    sess, seq, count = MOLD.unpack_from(pkt)
    if sess != session or seq != first:
        fail('reply header %r %d for a request of %d' % (sess, seq, first))
    limit = min(asked, len(msgs) - first + 1, cap or asked)
    if not 1 <= count <= limit or (cap and count != limit):
        fail('reply of %d messages to a request of %d at %d (limit %d)'
             % (count, asked, first, limit))
    body = b''.join(struct.pack('>H', len(m)) + m for m in msgs[first - 1:first - 1 + count])
    if pkt[20:] != body:
        fail('reply at %d: message bytes differ from the source' % first)
    if not cap and count > 1 and len(pkt) > 1400:
        fail('reply of %d bytes holds more than one message and exceeds 1400' % len(pkt))
    if not cap and count < limit and len(pkt) + 2 + len(msgs[first - 1 + count]) <= 1400:
        fail('reply at %d stops at %d messages with room left' % (first, count))
    return count


def mold_walk(addr, source, step=200, cap=0, wrong_every=0, pcap_out=None, timeout_ms=200):
    session, msgs = load(source)
    out = PcapOut(pcap_out)
    s = udp_socket(timeout_ms / 1000.0)
    port = s.getsockname()[1]
    nxt, sent, got, wrong, stale, timeouts = 1, 0, 0, 0, 0, 0
    for _ in range(100 * len(msgs) + 1000):         # bounded: each round is one request
        if nxt > len(msgs):
            break
        asked = min(step, len(msgs) - nxt + 1)
        req = MOLD.pack(session, nxt, asked)
        s.sendto(req, addr)
        out.udp(port, addr[1], req)
        sent += 1
        while True:
            try:
                pkt = s.recvfrom(65535)[0]
            except socket.timeout:
                timeouts += 1
                break
            out.udp(addr[1], port, pkt)
            got += 1
            if wrong_every and pkt[:10] != session:
                wrong += 1
                if got % wrong_every:
                    fail('reply %d names another session' % got)
                break
            if len(pkt) >= 20 and MOLD.unpack_from(pkt)[1] != nxt:
                stale += 1          # the answer to a request already timed out
                continue
            nxt += check_reply(pkt, session, msgs, nxt, asked, cap)
            break
    out.close()
    print('mold-walk: %d messages in %d requests, %d replies (%d late), %d wrong session, '
          '%d unanswered' % (len(msgs), sent, got, stale, wrong, timeouts))
    if nxt <= len(msgs):
        fail('gave up at %d' % nxt)
    if wrong_every and wrong != got // wrong_every:
        fail('%d wrong-session replies of %d, every %d expected' % (wrong, got, wrong_every))


def mold_bad(addr, source):
    session, msgs = load(source)
    s = udp_socket(5.0)
    other = b'OTHER00001' if session != b'OTHER00001' else b'OTHER00002'
    for req in (MOLD.pack(session, 1, 1)[:19], MOLD.pack(session, 1, 1) + b'x',
                MOLD.pack(other, 1, 1), MOLD.pack(session, 1, 0), MOLD.pack(session, 0, 1),
                MOLD.pack(session, len(msgs) + 1, 1), MOLD.pack(session, 1 << 63, 5)):
        s.sendto(req, addr)
    s.sendto(MOLD.pack(session, 2, 3), addr)
    check_reply(s.recvfrom(65535)[0], session, msgs, 2, 3, 0)
    # the last message alone, asked for with a count past the end
    s.sendto(MOLD.pack(session, len(msgs), 500), addr)
    if check_reply(s.recvfrom(65535)[0], session, msgs, len(msgs), 500, 0) != 1:
        fail('the reply went past the end of the session')
    print('mold-bad: 7 requests without reply, then the good ones answered')


def mold_refused(addr, source, n):
    session, msgs = load(source)
    s = udp_socket(0.5)
    for i in range(n):
        s.sendto(MOLD.pack(session, 1 + i, 1), addr)
    try:
        s.recvfrom(65535)
        fail('a refusing server answered')
    except socket.timeout:
        print('mold-refused: %d requests, no reply' % n)


def mold_ignored(addr, source, n):
    session, msgs = load(source)
    s = udp_socket(5.0)
    for i in range(n):
        s.sendto(MOLD.pack(session, 1 + i, 1), addr)
    s.sendto(MOLD.pack(session, 1 + n, 2), addr)
    check_reply(s.recvfrom(65535)[0], session, msgs, 1 + n, 2, 0)
    print('mold-ignored: %d requests ignored, the next answered' % n)


# ------------------------------------------------------------ GLIMPSE / SoupBinTCP
class Soup:
    def __init__(self, addr, out, recv_size):
        self.sock = socket.create_connection(addr, timeout=20)
        self.out, self.recv_size, self.buf, self.unrecorded = out, recv_size, b'', b''
        self.cport, self.sport = self.sock.getsockname()[1], addr[1]
        out.handshake(self.cport, self.sport)

    def send(self, kind, payload=b''):
        b = struct.pack('>H', 1 + len(payload)) + kind + payload
        self.sock.sendall(b)
        self.record(b)

    def record(self, sent):
        """Writes the whole packets received so far, then the client's bytes sent, to
        the pcap. Received packets go out in segments of up to MSS bytes that start
        on a packet boundary: tshark's SoupBinTCP dissector does not resynchronise on
        a segment that starts inside a packet (the client's own reads, and so the
        server's framing, are tested with --recv-size)."""
        b, at, seg = self.unrecorded, 0, 0
        for _ in range(len(b)):                 # bounded: each round eats a packet
            if at + 2 > len(b) or at + 2 + struct.unpack_from('>H', b, at)[0] > len(b):
                break
            end = at + 2 + struct.unpack_from('>H', b, at)[0]
            if end - seg > MSS and at > seg:
                self.out.tcp(self.sport, self.cport, b[seg:at])
                seg = at
            at = end
        if at > seg:
            self.out.tcp(self.sport, self.cport, b[seg:at])
        self.unrecorded = b[at:]
        if sent:
            self.out.tcp(self.cport, self.sport, sent)

    def packet(self):
        """The next (type, payload), or None at the close."""
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack_from('>H', self.buf)[0]
                if n == 0:
                    fail('SoupBinTCP packet of length 0')
                if len(self.buf) >= 2 + n:
                    p, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                    return p[:1], p[1:]
            data = self.sock.recv(self.recv_size)
            if not data:
                if self.buf:
                    fail('%d bytes of a packet cut by the close' % len(self.buf))
                self.record(b'')
                return None
            self.unrecorded += data
            self.buf += data


def expected_snapshot(msgs, seq):
    """ref_book's view of the session cut at seq-1: (book, directory, last actions, kinds)."""
    book, directory, actions, kind = ref_book.Book(), [], {}, {}
    for m in msgs[:seq - 1]:
        t, valid = m[:1], len(m) == ref_book.LENGTHS.get(m[:1], -1)
        ref_live = valid and t in (b'A', b'F', b'U') and ref_book.u64(m, 11) in book.orders
        new_free = valid and t == b'U' and ref_book.u64(m, 19) not in book.orders
        old = kind.get(ref_book.u64(m, 11)) if valid and t == b'U' else None
        book.apply(m)
        if not valid:
            continue
        if t == b'R':
            directory.append(m)
        elif t == b'H':
            actions.pop(m[1:3], None)
            actions[m[1:3]] = m
        elif t in (b'A', b'F') and not ref_live and ref_book.u64(m, 11) in book.orders:
            kind[ref_book.u64(m, 11)] = t
        elif t == b'U' and ref_live and new_free and ref_book.u64(m, 19) in book.orders:
            kind[ref_book.u64(m, 19)] = old
    return book, directory, list(actions.values()), kind


def check_snapshot(snap, msgs, seq):
    book, directory, actions, kind = expected_snapshot(msgs, seq)
    if not snap or snap[-1] not in (b'G' + b'%020d' % seq, b'G' + b'%20d' % seq):
        fail('the snapshot does not end with G and %d in 20 characters: %r' % (seq, snap[-1:]))
    nd, na = len(directory), len(actions)
    if snap[:nd] != directory:
        fail('the directory differs (%d R messages expected)' % nd)
    if snap[nd:nd + na] != actions:
        fail('the trading actions differ (%d H messages expected)' % na)
    adds = snap[nd + na:-1]
    got = {}
    for m in adds:
        if m[:1] not in (b'A', b'F') or len(m) != ref_book.LENGTHS[m[:1]]:
            fail('not an add order in the orders part: %r' % m[:1])
        ref = ref_book.u64(m, 11)
        if ref in got:
            fail('order %d twice' % ref)
        if kind.get(ref) not in (None, m[:1]):
            fail('order %d sent as %r, added as %r' % (ref, m[:1], kind[ref]))
        got[ref] = (m[19:20], ref_book.u32(m, 20), ref_book.u32(m, 32), ref_book.u16(m, 1))
    want = {ref: (o[1], o[3], o[2], o[0]) for ref, o in book.orders.items()}
    if got != want:
        diff = set(got.items()) ^ set(want.items())
        fail('%d live orders sent, %d expected; %d differ, e.g. %r'
             % (len(got), len(want), len(diff), sorted(diff)[:3]))
    rebuilt = ref_book.Book()
    for m in snap[:-1]:
        rebuilt.apply(m)
    if rebuilt.dump('itch') != book.dump('itch'):
        fail("the book ref_book builds from the snapshot differs from the session's")
    print('glimpse: snapshot as of %d: %d R, %d H, %d orders, G ok' % (seq, nd, na, len(got)))


def glimpse(addr, source, seq, user='', password='', session=None, expect='accept',
            heartbeats=0, end_session=False, pcap_out=None, recv_size=65536,
            snap_out=None, split_login=False, stall_ms=500):
    own, msgs = load(source)
    out = PcapOut(pcap_out)
    c = Soup(addr, out, recv_size)
    sess = own if session is None else session.encode()
    login = user.encode().ljust(6) + password.encode().ljust(10) + sess.strip().rjust(10) \
        + b'1'.rjust(20)
    if split_login:         # one byte per TCP segment: the server must reassemble
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in struct.pack('>H', 47) + b'L' + login:
            c.sock.send(bytes([b]))
        c.record(struct.pack('>H', 47) + b'L' + login)
    else:
        c.send(b'L', login)
    p = c.packet()
    if expect.startswith('reject:'):
        if p != (b'J', expect[7:].encode()):
            fail('expected J %s, got %r' % (expect[7:], p))
        if c.packet() is not None:
            fail('the server did not close after J')
        out.close()
        print('glimpse: login rejected with %s, then closed' % expect[7:])
        return
    if p != (b'A', own.strip().rjust(10) + b'1'.rjust(20)):
        fail('expected login accepted for %r sequence 1, got %r' % (own, p))
    snap, hb = [], 0
    stall = int(expect[6:]) if expect.startswith('stall:') else None
    while not snap or snap[-1][:1] != b'G':
        if stall is not None and len(snap) == stall:
            c.sock.settimeout(stall_ms / 1000.0)
            try:
                p = c.packet()
                fail('a stalled server sent %r' % (p,))
            except socket.timeout:
                print('glimpse: %d sequenced messages, then silence, socket open' % stall)
                return
        p = c.packet()
        if p is None:
            break
        if p[0] == b'S':
            snap.append(p[1])
        elif p[0] == b'H':
            hb += 1
        elif p[0] != b'+':
            fail('unexpected packet %r during the snapshot' % p[0])
    if expect.startswith('cut:'):
        n = int(expect[4:])
        if p is not None or len(snap) != n:
            fail('expected %d messages then the close, got %d%s'
                 % (n, len(snap), '' if p is None else ' and no close'))
        print('glimpse: closed after %d sequenced messages' % n)
        out.close()
        return
    check_snapshot(snap, msgs, seq)
    if snap_out:
        with open(snap_out, 'w') as f:
            f.write(''.join(m.hex() + '\n' for m in snap))
    if end_session:
        p = c.packet()
        if p != (b'Z', b'') or c.packet() is not None:
            fail("expected 'Z' then the close, got %r" % (p,))
        print("glimpse: Z, then closed")
    else:
        for _ in range(heartbeats):
            p = c.packet()
            if p != (b'H', b''):
                fail('expected a server heartbeat, got %r' % (p,))
            c.send(b'R')
        c.send(b'O')
        for _ in range(1000):       # heartbeats sent before the logout arrived
            p = c.packet()
            if p != (b'H', b''):
                break
        if p is not None:
            fail('the server did not close after logout: %r' % (p,))
        print('glimpse: %d heartbeats, logout, closed' % heartbeats)
    out.close()


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, pos, opt = argv[0], [], {}
    rest = argv[1:]
    while rest:
        a = rest.pop(0)
        if a in ('--end-session', '--split-login'):
            opt[a[2:].replace('-', '_')] = True
        elif a.startswith('--'):
            opt[a[2:].replace('-', '_')] = rest.pop(0)
        else:
            pos.append(a)
    for k in ('step', 'cap', 'wrong_every', 'heartbeats', 'recv_size', 'timeout_ms',
              'stall_ms'):
        if k in opt:
            opt[k] = int(opt[k])
    if cmd == 'hexlist':
        msgs = load(pos[0])[1]
        first, count = int(pos[1]), int(pos[2])
        sys.stdout.write(''.join(m.hex() + '\n' for m in msgs[first - 1:first - 1 + count]))
    elif cmd == 'mold-walk':
        mold_walk(addr_of(pos[0]), pos[1], **opt)
    elif cmd == 'mold-bad':
        mold_bad(addr_of(pos[0]), pos[1])
    elif cmd == 'mold-refused':
        mold_refused(addr_of(pos[0]), pos[1], int(pos[2]))
    elif cmd == 'mold-ignored':
        mold_ignored(addr_of(pos[0]), pos[1], int(pos[2]))
    elif cmd == 'glimpse':
        opt['user'] = opt.pop('user', '')
        glimpse(addr_of(pos[0]), pos[1], int(pos[2]), **opt)
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
