#!/usr/bin/env python3
"""hostile_server: recovery and snapshot servers that lie, and a local attacker, for
tests/test_recovery_hostile.sh. fhd trusts the servers it is configured with for the
CONTENT of what they send (ITCH messages are the market's word), never for its FORM:
every lie here must be counted, dropped or end in a declared loss, never crash fhd,
corrupt a book or hang it.

  hostile_server.py mold MODE --pcap FILE
      A MoldUDP64 re-request server (itch_source.py reads the session) whose replies
      lie, per MODE:
        count-lie   the header's count is what was asked, the payload holds one message
        beyond      a reply for the range after the one asked for
        before      a reply starting 3 messages before the first asked for
        zero        a header count of 0 then 0xFFFF, with messages after it
        huge        200 messages from the first asked for in one datagram (over 2048 bytes)
        short       the datagram cut 1 byte short of its last message
        badlen      the right range, each message one byte short (framing intact)
        dup-flood   a correct reply, then 30 copies of it and 30 of the previous one
        late        a correct reply 100 ms late, and its copy 1 s after that
        ahead       F+1..F+C-1 for a request (F, C), one message a datagram, never F:
                    replies ahead of the hole, as many as the feed will hold (issue 20)
        overfill    F..F+C+139 for (F, C), in datagrams of up to 1400 bytes: more than
                    was asked for, past the hole's end (issue 20)
        reverse     honest, one message a datagram, in reverse order: F+C-1 down to F
  hostile_server.py flood ADDR:PORT --pcap FILE [--seconds S]
      A local user: forged replies of the capture's session, sequence numbers
      walking the session, from an ordinary socket of its own, as fast as it can, to
      ADDR:PORT (fhd's recovery socket, found by the test with ss).
  hostile_server.py record ADDR:PORT FILE --user U --password P
      Logs in to a real GLIMPSE server and writes what it sent (Login Accepted through
      End of Snapshot) to FILE.
  hostile_server.py glimpse MODE --stream FILE
      A SoupBinTCP server that accepts any login and then, per MODE:
        hb-forever  Login Accepted, then only server heartbeats, every 50 ms, forever
        hb-login    server heartbeats only, never Login Accepted
        trickle     Login Accepted, then a one-byte message of no ITCH type every 50 ms, forever
        s-before-a  a sequenced message before Login Accepted
        len0        Login Accepted, then a packet of length 0
        g-bad       the recorded snapshot with End of Snapshot's digits "00000000000000012x45"
        g-zero      the recorded snapshot with End of Snapshot at 0
        g-huge      the recorded snapshot with End of Snapshot at 2^64 - 2
        a-twice     Login Accepted twice, then the recorded snapshot
        non-itch    the recorded snapshot with 50 messages of no ITCH type first
        dup-adds    the recorded snapshot with every add order sent twice
        cut:K,...   the Nth connection is cut after K_N bytes of the recorded stream;
                    connections past the list get the whole stream
      It prints each login's username and password to stderr (what a process that
      took the server's port learns).

Each server prints "listening HOST:PORT" on stdout when ready, and runs until SIGTERM.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import itch_source  # noqa: E402


def mold_packet(session, seq, msgs, count=None):
    body = b''.join(struct.pack('>H', len(m)) + m for m in msgs)
    return session + struct.pack('>QH', seq, len(msgs) if count is None else count) + body


def mold_serve(args):
    src = itch_source.from_pcap(args.pcap)
    offs = list(src.messages())

    def msgs(first, count, limit=1400):
        out, size = [], 20
        for s in range(max(first, src.first), min(first + count, src.end)):
            off, n = offs[s - src.first]
            if out and size + 2 + n > limit:
                break
            out.append(src.data[off:off + n])
            size += 2 + n
        return out

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    print('listening 127.0.0.1:%d' % sock.getsockname()[1], flush=True)
    pending, last, zero = [], None, 0
    while True:
        timeout = max(0.0, min(t for t, _, _ in pending) - time.monotonic()) if pending else 1.0
        if select.select([sock], [], [], timeout)[0]:
            req, peer = sock.recvfrom(64)
            if len(req) != 20:
                continue
            session, first, count = req[:10], *struct.unpack('>QH', req[10:])
            mode = args.mode
            if mode == 'count-lie':
                sock.sendto(mold_packet(session, first, msgs(first, 1), count), peer)
            elif mode == 'beyond':
                sock.sendto(mold_packet(session, first + count, msgs(first + count, count)), peer)
            elif mode == 'before':
                sock.sendto(mold_packet(session, first - 3, msgs(first - 3, count + 3)), peer)
            elif mode == 'zero':
                zero ^= 1
                sock.sendto(mold_packet(session, first, msgs(first, count), 0 if zero else 0xFFFF), peer)
            elif mode == 'huge':
                sock.sendto(mold_packet(session, first, msgs(first, 200, 60000)), peer)
            elif mode == 'short':
                sock.sendto(mold_packet(session, first, msgs(first, count))[:-1], peer)
            elif mode == 'badlen':
                sock.sendto(mold_packet(session, first, [m[:-1] for m in msgs(first, count)]), peer)
            elif mode == 'dup-flood':
                good = mold_packet(session, first, msgs(first, count))
                for p in [good] * 31 + ([last] * 30 if last else []):
                    sock.sendto(p, peer)
                last = good
            elif mode in ('ahead', 'reverse'):
                seqs = range(first + 1, first + count) if mode == 'ahead' else \
                    range(first + count - 1, first - 1, -1)
                for s in seqs:
                    one = msgs(s, 1)
                    if one:
                        sock.sendto(mold_packet(session, s, one), peer)
            elif mode == 'overfill':
                at, end = first, first + count + 140
                while at < end:
                    part = msgs(at, end - at)
                    if not part:
                        break
                    sock.sendto(mold_packet(session, at, part), peer)
                    at += len(part)
            elif mode == 'late':
                good = mold_packet(session, first, msgs(first, count))
                now = time.monotonic()
                pending += [(now + 0.1, good, peer), (now + 1.1, good, peer)]
        now = time.monotonic()
        for p in [p for p in pending if p[0] <= now]:
            sock.sendto(p[1], p[2])
        pending = [p for p in pending if p[0] > now]


def flood(args):
    src = itch_source.from_pcap(args.pcap)
    host, port = itch_source.parse_hostport(args.addr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # An Add Order for stock locate 1 that the session never had: it must not reach a book.
    add = b'A' + struct.pack('>HH6sQcI8sI', 1, 0, b'\0' * 6, 0xBADBAD, b'B', 100, b'EVIL    ', 1234)
    sent, end = 0, time.monotonic() + args.seconds
    while time.monotonic() < end:
        for seq in range(src.first, src.end, 7):
            try:
                sock.sendto(mold_packet(src.session, seq, [add]), (host, port))
                sent += 1
            except OSError:
                pass
            if sent % 1000 == 0 and time.monotonic() >= end:
                break
    print('flood: sent %d' % sent, file=sys.stderr)


def soup(kind, payload=b''):
    return struct.pack('>H', 1 + len(payload)) + kind + payload


def soup_packets(stream):
    at = 0
    while at + 2 <= len(stream):
        n = struct.unpack_from('>H', stream, at)[0]
        if n == 0 or at + 2 + n > len(stream):
            return
        yield stream[at + 2:at + 3], stream[at + 3:at + 2 + n]
        at += 2 + n


def record(args):
    host, port = itch_source.parse_hostport(args.addr)
    s = socket.create_connection((host, port))
    s.sendall(soup(b'L', args.user.encode().ljust(6) + args.password.encode().ljust(10) +
                   b' ' * 10 + b'%20d' % 1))
    data = b''
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            sys.exit('record: the server closed before End of Snapshot')
        data += chunk
        packets = list(soup_packets(data))
        ends = [i for i, (k, b) in enumerate(packets) if k == b'S' and b[:1] == b'G']
        if ends:
            with open(args.file, 'wb') as f:
                f.write(b''.join(soup(k, b) for k, b in packets[:ends[0] + 1] if k != b'H'))
            return


def glimpse_stream(mode, stream):
    """The bytes to send after a login, or None for the heartbeat modes."""
    packets = [(k, b) for k, b in soup_packets(stream)]
    first, rest = packets[0], packets[1:]
    body = {'g-bad': b'00000000000000012x45', 'g-zero': b'0' * 20,
            'g-huge': b'%20d' % (2 ** 64 - 2)}.get(mode)
    if body is not None:
        rest = [(k, b'G' + body if b[:1] == b'G' else b) for k, b in rest]
    elif mode == 'a-twice':
        rest = [first] + rest
    elif mode == 'non-itch':
        rest = [(b'S', bytes([0xF0 + i % 16]) + b'\x01' * (i % 40)) for i in range(50)] + rest
    elif mode == 'dup-adds':
        rest = [p for k, b in rest for p in ([(k, b)] * (2 if b[:1] in (b'A', b'F') else 1))]
    elif mode == 's-before-a':
        rest, first = [first] + rest, rest[0]
    elif mode == 'len0':
        return soup(*first) + b'\0\0' + b''.join(soup(k, b) for k, b in rest)
    return soup(*first) + b''.join(soup(k, b) for k, b in rest)


def glimpse_serve(args):
    stream = open(args.stream, 'rb').read()
    cuts = [int(k) for k in args.mode[4:].split(',')] if args.mode.startswith('cut:') else []
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    print('listening 127.0.0.1:%d' % lsock.getsockname()[1], flush=True)
    for n in range(1000000):
        conn, _ = lsock.accept()
        login = b''
        while len(login) < 49:
            chunk = conn.recv(49 - len(login))
            if not chunk:
                break
            login += chunk
        print('login %d: username %r password %r' % (n + 1, login[3:9], login[9:19]),
              file=sys.stderr, flush=True)
        try:
            if args.mode in ('hb-forever', 'hb-login', 'trickle'):
                if args.mode != 'hb-login':
                    conn.sendall(soup(b'A', b' ' * 10 + b'%20d' % 1))
                while True:
                    conn.sendall(soup(b'S', b'\xf0') if args.mode == 'trickle' else soup(b'H'))
                    time.sleep(0.05)
            out = stream if cuts else glimpse_stream(args.mode, stream)
            conn.sendall(out[:cuts[n]] if n < len(cuts) else out)
            if n < len(cuts):
                conn.close()
                continue
            conn.settimeout(30)
            while conn.recv(4096):	# until the client logs out and closes
                pass
        except OSError:
            pass
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('mold')
    m.add_argument('mode', choices=('count-lie', 'beyond', 'before', 'zero', 'huge', 'short', 'badlen',
                                    'dup-flood', 'late', 'ahead', 'overfill', 'reverse'))
    m.add_argument('--pcap', required=True)
    f = sub.add_parser('flood')
    f.add_argument('addr')
    f.add_argument('--pcap', required=True)
    f.add_argument('--seconds', type=float, default=3.0)
    r = sub.add_parser('record')
    r.add_argument('addr')
    r.add_argument('file')
    r.add_argument('--user', default='')
    r.add_argument('--password', default='')
    g = sub.add_parser('glimpse')
    g.add_argument('mode')
    g.add_argument('--stream', required=True)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {'mold': mold_serve, 'flood': flood, 'record': record, 'glimpse': glimpse_serve}[args.cmd](args)


if __name__ == '__main__':
    main()
