#!/usr/bin/env python3
"""glimpse_server: a GLIMPSE 5.0 snapshot server over SoupBinTCP 3.00, for fh's
recovery tests and benches. Written from the specifications alone (no code shared
with fhd, which it is the reference side for); Python 3 standard library only.

It reads one ITCH 5.0 session (itch_source.py: a capture or a NASDAQ binary ITCH
file), computes the book after messages 1..SEQ-1 (--as-of SEQ; default: the whole
session, SEQ = last + 1) and serves it to each client that logs in, as SoupBinTCP
sequenced data ('S'), one ITCH message each, in this order:
  1. every Stock Directory 'R' before SEQ, in session order;
  2. for each stock locate that had one, its last Trading Action 'H' before SEQ, in
     the order of those last 'H' messages;
  3. one Add Order per live order: 'A', or 'F' with its attribution if the order was
     added by an 'F'. Shares are what is left after executes and cancels; a replaced
     order carries the replace's new reference, price and shares and keeps its add's
     locate, side, stock, tracking number and attribution. The timestamp is the one
     of the add or of the last replace. Order: time priority, i.e. the session
     position of the order's add or, for a replaced order, of its last replace;
  4. End of Snapshot 'G' with SEQ as 20 ASCII digits (GLIMPSE 5.0 calls the field
     "Numeric" without saying how it is padded: --g-pad space pads it on the left
     with spaces, as SoupBinTCP pads its numeric fields; the default pads with zeros).
Book rules (those of tests/ref_book.py): a message of unknown type or wrong length is
skipped; an add with a side other than B/S or a reference already live is ignored;
E/C/X reduce and remove the order at 0 or below; D removes; U removes the old order
and adds the new one with the same locate and side unless the new reference is live
already; operations on unknown references do nothing. An add of 0 shares stays live.

SoupBinTCP: the client sends Login 'L' (username 6, password 10, session 10,
sequence 20). Username and password compare case-insensitively after dropping the
right-hand spaces; session blank or this session (else reject 'S'); sequence N
starts at the Nth sequenced message (blank or 0 means 1). The server answers Login
Accepted 'A' (session, sequence, both left-padded with spaces) or Login Rejected 'J'
and closes. After the snapshot the connection stays open with server heartbeats
'H' (when nothing was sent for --heartbeat-ms) until the client sends Logout 'O' or
closes; client heartbeats 'R', Unsequenced 'U' and Debug '+' are read and ignored.
One client at a time; the next connection is accepted when one ends. With
--pace-ms MS the snapshot's packets (End of Snapshot too) leave one every MS ms.

When ready it prints "listening HOST:PORT" on stdout, and to stderr
  glimpse_server: session NAME as-of SEQ directory R actions H orders N
On SIGTERM or SIGINT it prints one line to stderr and exits 0:
  glimpse_server: connections C logins L rejected J snapshots S sequenced M heartbeats H faults F
(snapshots = G queued; sequenced = 'S' packets queued; faults = connections cut or
stalled on purpose).
"""
import itertools
import select
import socket
import struct
import sys
import time
from array import array

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import itch_source  # noqa: E402

LEN = itch_source.LENGTH_BY_BYTE
CHUNK = 1 << 20
LOGIN_BODY = 46     # after the type byte: 47 with it


def frame(kind, payload=b''):
    return struct.pack('>H', 1 + len(payload)) + kind + payload


class Book:
    """Live orders: ref -> (offset of the add in data, offset of the message whose
    timestamp the snapshot uses, price, shares). Dict order is time priority: a
    replace re-inserts, so it moves the order to the back."""

    def __init__(self, src):
        self.src = src
        self.orders = {}
        self.directory = []     # offsets of 'R' messages
        self.actions = {}       # locate -> offset of its last 'H'

    def apply_until(self, seq):
        data, orders, u = self.src.data, self.orders, struct.unpack_from
        for off, n in itertools.islice(self.src.messages(), seq - self.src.first):
            t = data[off]
            if LEN.get(t) != n:
                continue
            if t == 0x41 or t == 0x46:                              # A, F
                ref = u('>Q', data, off + 11)[0]
                if data[off + 19] in b'BS' and ref not in orders:
                    shares, price = u('>I', data, off + 20)[0], u('>I', data, off + 32)[0]
                    orders[ref] = (off, off, price, shares)
            elif t == 0x45 or t == 0x43 or t == 0x58:               # E, C, X
                ref, k = u('>QI', data, off + 11)
                o = orders.get(ref)
                if o is not None:
                    if o[3] - k <= 0:
                        del orders[ref]
                    else:
                        orders[ref] = (o[0], o[1], o[2], o[3] - k)
            elif t == 0x44:                                         # D
                orders.pop(u('>Q', data, off + 11)[0], None)
            elif t == 0x55:                                         # U
                old, new, shares, price = u('>QQII', data, off + 11)
                o = orders.pop(old, None)
                if o is not None and new not in orders:
                    orders[new] = (o[0], off, price, shares)
            elif t == 0x52:                                         # R
                self.directory.append(off)
            elif t == 0x48:                                         # H
                locate = u('>H', data, off + 1)[0]
                self.actions.pop(locate, None)
                self.actions[locate] = off

    def snapshot(self, seq, g_pad):
        """(bytes of every 'S' packet then G, array of packet offsets, counts). G's
        sequence is 20 digits, zero-padded, or space-padded if g_pad is 'space'."""
        data, parts, offs, at = self.src.data, [], array('Q'), 0

        def put(msg):
            nonlocal at
            offs.append(at)
            parts.append(frame(b'S', msg))
            at += 3 + len(msg)
        for off in self.directory:
            put(data[off:off + 39])
        for off in self.actions.values():
            put(data[off:off + 25])
        for ref, (add, ts, price, shares) in self.orders.items():
            head = data[add:add + 5] + data[ts + 5:ts + 11]     # type locate track, time
            m = head + struct.pack('>QcI8sI', ref, data[add + 19:add + 20], shares,
                                   data[add + 24:add + 32], price)
            put(m + data[add + 36:add + 40] if data[add] == 0x46 else m)
        put(b'G' + (b'%20d' if g_pad == 'space' else b'%020d') % seq)
        offs.append(at)
        return b''.join(parts), offs, (len(self.directory), len(self.actions),
                                       len(self.orders))


class Conn:
    """One client connection, driven by Server.serve_one's select loop."""

    def __init__(self, server, faulty):
        self.srv, self.faulty = server, faulty
        self.inbuf = b''
        self.out = []               # memoryviews still to send
        self.logged_in = False
        self.closing = False        # close once out is empty
        self.snap_at = None         # when the snapshot is due
        self.last_send = time.monotonic()
        self.stalled = False
        self.paced = []             # --pace-ms: packets still to send, one per pace
        self.pace_at = None         # when the next of them is due
        self.close_paced = False    # close once the paced packets are sent

    def send(self, b):
        self.out.append(memoryview(b))

    def on_login(self, body):
        a, srv = self.srv.args, self.srv
        if len(body) != LOGIN_BODY:
            return self.reject(b'A')
        user, pw, sess, seq = body[:6], body[6:16], body[16:26], body[26:46]
        refuse = srv.c['rejected'] < a.reject_first if a.reject_first else \
            srv.c['logins'] >= a.accept_first
        if a.reject and refuse:
            return self.reject(a.reject.encode())
        if user.rstrip(b' ').upper() != a.username.encode().upper() or \
                pw.rstrip(b' ').upper() != a.password.encode().upper():
            return self.reject(b'A')
        if sess.strip(b' ') not in (b'', srv.src.session.strip(b' ')):
            return self.reject(b'S')
        try:
            n = max(1, int(seq.strip(b' ') or b'1'))
        except ValueError:
            return self.reject(b'A')
        n = min(n, len(srv.snap_offs))      # past the end: nothing but what comes next
        srv.c['logins'] += 1
        self.logged_in, self.first = True, n
        self.send(frame(b'A', srv.src.session.strip(b' ').rjust(10) + b'%20d' % n))
        self.snap_at = time.monotonic() + a.delay_ms / 1000.0

    def reject(self, code):
        self.srv.c['rejected'] += 1
        self.send(frame(b'J', code))
        self.closing = True

    def queue_snapshot(self):
        """Queue sequenced packets first..; a fault cuts the queue after N of them."""
        srv, a = self.srv, self.srv.args
        offs, start = srv.snap_offs, self.first - 1
        stop = len(offs) - 1
        cut = a.disconnect_after if a.disconnect_after is not None else a.stall_after
        if self.faulty and cut is not None:
            stop = min(stop, start + cut)
            srv.c['faults'] += 1
            self.closing, self.stalled = a.disconnect_after is not None, a.stall_after is not None
        snap = memoryview(srv.snap)
        if a.pace_ms > 0:
            self.paced = [snap[offs[k]:offs[k + 1]] for k in range(start, stop)]
            self.pace_at = time.monotonic()
        else:
            for at in range(offs[start], offs[stop], CHUNK):
                self.send(snap[at:min(at + CHUNK, offs[stop])])
        srv.c['sequenced'] += stop - start
        if stop == len(offs) - 1:
            if stop > start:
                srv.c['snapshots'] += 1
            if a.end_session:
                if self.paced:
                    self.paced.append(memoryview(frame(b'Z')))
                else:
                    self.send(frame(b'Z'))
                self.closing = True
        if self.paced:      # what ends the connection waits for the last paced packet
            self.close_paced, self.closing = self.closing, False

    def on_input(self, data):
        """Frames the client's bytes; False when the connection should end now."""
        self.inbuf += data
        while len(self.inbuf) >= 2:
            n = struct.unpack_from('>H', self.inbuf)[0]
            if len(self.inbuf) < 2 + n:
                break
            pkt, self.inbuf = self.inbuf[2:2 + n], self.inbuf[2 + n:]
            kind = pkt[:1]
            if not self.logged_in and not self.closing:
                if kind != b'L':
                    return False
                self.on_login(pkt[1:])
            elif kind == b'O':
                return False
            # R (heartbeat), U (unsequenced), + (debug): nothing to do
        return True

    def tick(self, now):
        """Timers: the snapshot's start and heartbeats."""
        a = self.srv.args
        if self.snap_at is not None and now >= self.snap_at:
            self.snap_at = None
            self.queue_snapshot()
        if self.paced and now >= self.pace_at:
            self.send(self.paced.pop(0))
            self.pace_at = now + a.pace_ms / 1000.0
            if not self.paced:
                self.closing = self.close_paced
        if self.logged_in and not self.out and not self.closing and not self.stalled \
                and a.heartbeat_ms > 0 and now - self.last_send >= a.heartbeat_ms / 1000.0:
            self.srv.c['heartbeats'] += 1
            self.send(frame(b'H'))

    def timeout(self, now):
        a, t = self.srv.args, 1.0
        if self.snap_at is not None:
            t = min(t, self.snap_at - now)
        if self.paced:
            t = min(t, self.pace_at - now)
        if self.logged_in and a.heartbeat_ms > 0 and not self.stalled and not self.closing:
            t = min(t, self.last_send + a.heartbeat_ms / 1000.0 - now)
        return max(0.0, t)


class Server:
    def __init__(self, src, args):
        self.src, self.args = src, args
        book = Book(src)
        book.apply_until(args.as_of)
        self.snap, self.snap_offs, self.counts = book.snapshot(args.as_of, args.g_pad)
        self.c = dict(connections=0, logins=0, rejected=0, snapshots=0, sequenced=0,
                      heartbeats=0, faults=0)

    def serve_one(self, sock, stop):
        a = self.args
        self.c['connections'] += 1
        faulty = self.c['logins'] < a.disconnect_times
        conn = Conn(self, faulty)
        sock.setblocking(False)
        while not stop:
            now = time.monotonic()
            conn.tick(now)
            if conn.closing and not conn.out:
                return
            want_write = [sock] if conn.out else []
            r, w, _ = select.select([sock], want_write, [], conn.timeout(now) if not want_write
                                    else 1.0)
            if r:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    return
                if not data or not conn.on_input(data):
                    return
            if w:
                try:
                    n = sock.send(conn.out[0])
                except BlockingIOError:
                    continue
                except ConnectionError:
                    return
                conn.last_send = time.monotonic()
                conn.out[0] = conn.out[0][n:]
                if not len(conn.out[0]):
                    conn.out.pop(0)

    def run(self, lsock, stop):
        while not stop:
            r, _, _ = select.select([lsock], [], [], 0.5)
            if not r:
                continue
            sock, _ = lsock.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.serve_one(sock, stop)
            finally:
                sock.close()


def main():
    p = itch_source.server_arguments(__doc__, 'TCP')
    p.add_argument('--as-of', type=int, default=None, metavar='SEQ',
                   help='snapshot of messages 1..SEQ-1; G carries SEQ (default: last + 1)')
    p.add_argument('--g-pad', choices=('zero', 'space'), default='zero',
                   help="G's 20-character sequence: zero-padded digits (default) or "
                   "left-padded with spaces, as SoupBinTCP pads its numeric fields")
    p.add_argument('--username', default='', help='expected username (default blank)')
    p.add_argument('--password', default='', help='expected password (default blank)')
    p.add_argument('--reject', choices=('A', 'S'), help='reject every login with this code')
    p.add_argument('--accept-first', type=int, default=0, metavar='N',
                   help='with --reject: accept the first N logins, reject those after')
    p.add_argument('--reject-first', type=int, default=0, metavar='N',
                   help='with --reject: reject the first N logins, accept those after')
    p.add_argument('--delay-ms', type=float, default=0.0, metavar='MS',
                   help='wait MS ms after login accepted before the snapshot')
    p.add_argument('--pace-ms', type=float, default=0.0, metavar='MS',
                   help='send the snapshot one packet every MS ms (a slow server whose '
                   'gaps are short but whose whole snapshot is long)')
    p.add_argument('--heartbeat-ms', type=float, default=1000.0, metavar='MS',
                   help='server heartbeat after MS ms without sending (default 1000)')
    p.add_argument('--no-heartbeat', action='store_true', help='never send heartbeats')
    p.add_argument('--end-session', action='store_true',
                   help="send End of Session 'Z' after 'G' and close")
    p.add_argument('--disconnect-after', type=int, default=None, metavar='N',
                   help='close the connection after N sequenced messages')
    p.add_argument('--stall-after', type=int, default=None, metavar='N',
                   help='send nothing more after N sequenced messages; keep the socket open')
    p.add_argument('--disconnect-times', type=int, default=1, metavar='K',
                   help='the faults above hit the first K logins only (default 1)')
    args = p.parse_args()
    if args.no_heartbeat:
        args.heartbeat_ms = 0
    if args.disconnect_after is not None and args.stall_after is not None:
        p.error('--disconnect-after and --stall-after exclude each other')
    if len(args.username) > 6 or len(args.password) > 10:
        p.error('username is at most 6 characters, password at most 10')
    src, host, port = itch_source.server_source(p, args)
    if src.first != 1:
        p.error('the source starts at sequence %d; a snapshot needs the session from 1'
                % src.first)
    if args.as_of is None:
        args.as_of = src.end
    if not 1 <= args.as_of <= src.end:
        p.error('--as-of must be in 1..%d' % src.end)

    stop = itch_source.server_stop_flag()
    server = Server(src, args)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(8)
    print('glimpse_server: session %s as-of %d directory %d actions %d orders %d'
          % ((src.session.decode('ascii', 'replace'), args.as_of) + server.counts),
          file=sys.stderr, flush=True)
    print('listening %s:%d' % lsock.getsockname(), flush=True)
    server.run(lsock, stop)
    print(itch_source.counters_line('glimpse_server', server.c), file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
