#!/usr/bin/env python3
"""mold_server: a MoldUDP64 re-request server for fh's recovery tests and benches.

It serves one ITCH 5.0 session, read from a capture or a NASDAQ binary ITCH file
(itch_source.py), over unicast UDP, written from the MoldUDP64 specification alone
(no code shared with fhd, which it is the reference side for):

  * A request is 20 bytes: session (10 ASCII), first sequence (u64 BE), count (u16 BE).
  * The reply is one ordinary downstream packet to the request's source address:
    session, sequence of its first message, message count, then [u16 length][message]
    blocks: the messages [first, first + count) that exist, never past the end of
    the session, as many as fit MAX_PAYLOAD (1400) bytes of UDP payload, or with
    --max-per-reply N at most N of them in one datagram (65507 bytes); at least one.
  * No reply (counted as "bad") to a request that is not 20 bytes, names another
    session, asks for 0 messages, or starts outside the session.

Faults, in the order they apply to a request: --drop-first N (the first N requests
are ignored), --refuse (every request is ignored), then validation, then --loss P
(each reply is dropped with probability P; --seed makes it reproducible; with
--loss-keyed each drop is decided by the seed, the request's first sequence and
count, and how many times that same request came before, not by the order requests
arrive in, so a run loses the same replies however a client's requests interleave;
--loss-run-max N never drops more than N replies in a row to the same request),
--wrong-session-every K (every Kth reply sent carries another session name), and
--delay-ms MS (each reply leaves MS ms after its request came; requests keep being
read meanwhile).

  mold_server.py (--pcap FILE | --itch FILE [--session NAME]) [--listen HOST:PORT] ...

When ready it prints "listening HOST:PORT" (the bound port) on stdout. On SIGTERM or
SIGINT it answers the requests already received (delays cut short), prints one
line to stderr and exits 0:
  mold_server: requests R replies P messages M lost L ignored I bad B
(requests = datagrams received; replies and messages = what was sent; lost = replies
dropped by --loss; ignored = --drop-first and --refuse; bad = no reply by the rules).
"""
import bisect
import heapq
import random
import select
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import itch_source  # noqa: E402

MAX_PAYLOAD = 1400
MAX_UDP = 65507
REQUEST = struct.Struct('>10sQH')


class Server:
    def __init__(self, src, args):
        self.src, self.args = src, args
        self.rng = random.Random(args.seed)
        self.c = dict(requests=0, replies=0, messages=0, lost=0, ignored=0, bad=0)
        self.wrong = b'WRONGSESS1' if src.session != b'WRONGSESS1' else b'WRONGSESS2'
        self.queue = []     # (due time, order, packet, address) of delayed replies
        self.seen = {}      # (first, count) -> [requests so far, replies lost in a row]

    def reply_for(self, req):
        """The reply packet for a request, or None (counted) when there is none."""
        src = self.src
        if len(req) != REQUEST.size:
            return None
        session, first, count = REQUEST.unpack(req)
        if session != src.session or count == 0 or first < src.first or first >= src.end:
            return None
        i = first - src.first
        last = min(i + count, src.count)
        if self.args.max_per_reply:
            last = min(last, i + self.args.max_per_reply)
        # as many whole messages as fit the payload (any UDP datagram with a cap), at
        # least one
        room = src.offs[i] + (MAX_UDP if self.args.max_per_reply else MAX_PAYLOAD) \
            - REQUEST.size
        last = max(i + 1, min(last, bisect.bisect_right(src.offs, room, i, last + 1) - 1))
        body = src.data[src.offs[i]:src.offs[last]]
        return REQUEST.pack(src.session, first, last - i) + body

    def lose(self, req):
        """Whether --loss drops the reply to this (valid) request."""
        a = self.args
        _, first, count = REQUEST.unpack(req)
        seen = self.seen.setdefault((first, count), [0, 0])
        draw = random.Random('%d:%d:%d:%d' % (a.seed, first, count, seen[0])).random() \
            if a.loss_keyed else self.rng.random()
        seen[0] += 1
        lost = draw < a.loss and (a.loss_run_max is None or seen[1] < a.loss_run_max)
        seen[1] = seen[1] + 1 if lost else 0
        return lost

    def handle(self, req, addr, now):
        c, a = self.c, self.args
        c['requests'] += 1
        if c['requests'] <= a.drop_first or a.refuse:
            c['ignored'] += 1
            return
        pkt = self.reply_for(req)
        if pkt is None:
            c['bad'] += 1
            return
        if a.loss and self.lose(req):
            c['lost'] += 1
            return
        c['replies'] += 1
        c['messages'] += struct.unpack_from('>H', pkt, 18)[0]
        if a.wrong_session_every and c['replies'] % a.wrong_session_every == 0:
            pkt = self.wrong + pkt[10:]
        heapq.heappush(self.queue, (now + a.delay_ms / 1000.0, c['requests'], pkt, addr))

    def receive(self, sock, budget):
        """Handles up to budget requests already queued on the socket; how many."""
        for n in range(budget):
            try:
                req, addr = sock.recvfrom(65535)
            except BlockingIOError:
                return n
            self.handle(req, addr, time.monotonic())
        return budget

    def send_due(self, sock, now):
        while self.queue and self.queue[0][0] <= now:
            _, _, pkt, addr = heapq.heappop(self.queue)
            sock.sendto(pkt, addr)

    def run(self, sock, stop):
        """Serves until stop is set; then answers what had already arrived."""
        while not stop:
            now = time.monotonic()
            self.send_due(sock, now)
            timeout = max(0.0, self.queue[0][0] - now) if self.queue else 0.5
            ready, _, _ = select.select([sock], [], [], timeout)
            if ready:
                self.receive(sock, 64)
        while self.receive(sock, 1024) == 1024:
            pass
        self.send_due(sock, float('inf'))


def main():
    p = itch_source.server_arguments(__doc__, 'UDP')
    p.add_argument('--max-per-reply', type=int, default=0, metavar='N',
                   help='at most N messages per reply (default: what fits %d bytes)' % MAX_PAYLOAD)
    p.add_argument('--loss', type=float, default=0.0, metavar='P',
                   help='drop each reply with probability P')
    p.add_argument('--seed', type=int, default=1, metavar='N', help='seed of --loss (default 1)')
    p.add_argument('--loss-keyed', action='store_true',
                   help="--loss decided per request (seed, first, count, repeat), not by arrival order")
    p.add_argument('--loss-run-max', type=int, default=None, metavar='N',
                   help='--loss drops at most N replies in a row to the same request')
    p.add_argument('--delay-ms', type=float, default=0.0, metavar='MS', help='delay each reply')
    p.add_argument('--refuse', action='store_true', help='receive requests, never answer')
    p.add_argument('--drop-first', type=int, default=0, metavar='N',
                   help='ignore the first N requests')
    p.add_argument('--wrong-session-every', type=int, default=0, metavar='K',
                   help='every Kth reply carries another session name')
    args = p.parse_args()
    if not 0.0 <= args.loss <= 1.0 or args.max_per_reply < 0 or args.delay_ms < 0 \
            or args.drop_first < 0 or args.wrong_session_every < 0 \
            or (args.loss_run_max is not None and args.loss_run_max < 0):
        p.error('--loss is 0..1; counts and delays are not negative')
    src, host, port = itch_source.server_source(p, args)

    stop = itch_source.server_stop_flag()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((host, port))
    sock.setblocking(False)
    server = Server(src, args)
    print('listening %s:%d' % sock.getsockname(), flush=True)
    server.run(sock, stop)
    print(itch_source.counters_line('mold_server', server.c), file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
