#!/usr/bin/env python3
"""Independent reference for the TRADE, LEVEL_CHANGED, TOP_OF_BOOK and END_OF_PACKET
events fhd publishes.

Written from the protocol facts (the NASDAQ TotalView-ITCH 5.0 specification) and the meaning of the
event fields (publish/libfh/fh_event.h), not from fhd's code. Captures are read and A/B lines
arbitrated by tests/ref_book.py (collect each sequence number once, apply in order); the
books here are this file's own: live orders in a dict, levels per instrument and side.

  ref_events.py pcap FILE [--line A=IP:PORT] [--source A=IP] [--stats]
  ref_events.py itch FILE --packets PCAP [--stats]
        NASDAQ binary (2-byte length + message); the packets' boundaries are those of
        PCAP (what fhd replays: FILE converted by fh-pcap)
        print the expected events, one a line (see below); --stats: counts on stderr
  ref_events.py ring LIBFH NAME               every trade, level, top and
        end-of-packet event of the ring
        /dev/shm/NAME read through libfh (LIBFH: path of libfh.so), in the format
        below with fhd's ring seq first; it must be whole (seq 1, 2, ..., stop)
  ref_events.py compare EXPECTED TAIL_JSON [RING]
        EXPECTED from pcap/itch, TAIL_JSON from `fh tail --json`, RING from `ring`:
        exit 0 if those events match one for one (fh tail: the fields it
        prints; RING: every field), else print the first mismatch with context, exit 1
  ref_events.py selftest

Expected lines, in the order fhd must publish them; fh tail --json shows what comes
before ' | ', the raw events (libfh) all of it:
  trade SYMBOL PRICE QUANTITY match MATCH flags FLAGS | side SIDE key LOCATE ts NS
  level SYMBOL B|S PRICE SHARES ORDERS | side SIDE key LOCATE ts NS   (ORDERS 0: gone)
  top SYMBOL BID BID_SHARES ASK ASK_SHARES | side 2 key LOCATE ts NS   (- 0: empty side)
  packet | last_seq SEQ
  gap FIRST COUNT
  book_state REASON FIRST COUNT
  cleared
SIDE 0 bid, 1 ask, 2 none; NS the message's timestamp (ns since midnight). Every line
of an event published while the feed's books were not OK ends (before ' | ') with
' state stale' (or ' state recovering'): the state the event carries.

Rules (from the spec and the event schema; stated so they can be argued with):
  * TRADE, one per trade message, quantity = the message's shares, side = that of
    the resting order that traded (NONE when no order is known: cross, 'C' on an
    order not in the book), key = the instrument's stock locate:
      E  execution of a displayed order: price = that order's price; flags EXECUTION (4).
         An E naming an order the book does not hold has no price anywhere: no event.
      C  execution with price: price = Execution Price; flags EXECUTION (4). The message
         is self-contained, so it is a trade whether or not the order is known.
      P  non-displayed trade: Price, Shares, Match Number; flags NON_DISPLAYED (2).
      Q  cross: Cross Price, Shares (8 bytes, saturated to 2^32-1); flags CROSS (1).
    The executed shares come off the order (it leaves at 0 or below) after the trade.
  * Per exchange packet (the arbitrated packets: each packet that brought new
    sequence numbers ends after the last of them), trades come per message, as they
    happen; level and top events are coalesced and come at the packet's end, then
    END_OF_PACKET with the packet's last sequence number:
  * LEVEL_CHANGED: one per (instrument, side, price) level that a message of the
    packet changed (an add, execution, cancel, delete or replace on it), in the order
    of the packet's first change of each, with the level's state at the packet's end
    (shares and orders; orders 0: no level there now, even one born and gone in the
    packet); ts = the last message that changed it.
  * TOP_OF_BOOK: after the levels, one per instrument whose book the packet changed
    (in the order of their first change) if (best bid price, shares at it, best ask
    price, shares at it) at the packet's end differs from what it was at its start
    ("sent when the best bid or ask changed"); shares saturated at 2^32-1; ts = the
    last message that changed the instrument's book. A level with live orders and 0
    shares is still a level.
  * SYMBOL: what a consumer knows when the event comes: 'R' names a locate (a later
    'R' renames it); the Stock field of the first 'A'/'F' of a locate names it if
    nothing did before; otherwise '#<locate>'.
  * Book: as tests/ref_book.py (adds with a live reference or a side other than B/S
    are ignored; U moves the order to a new reference on the same instrument and side).
  * Book state (no recovery configured): sequence numbers no packet carried before a
    later one (or before the next sequence a heartbeat or end of session named) are a
    hole both lines lost. It is published, before the events of the packet after it
    (or at the end), as GAP FIRST COUNT, and the first one makes the feed STALE:
    BOOK_STATE lost FIRST COUNT, itself and every later event carrying stale. A new
    session publishes BOOK_CLEARED and, if the feed was not OK, BOOK_STATE
    new_session 0 0. The books keep following the messages that did arrive.
"""
import json
import struct
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_book  # noqa: E402  (capture reading and A/B arbitration)
from ref_book import LENGTHS, u16, u32, u64  # noqa: E402

U32_MAX = 0xFFFFFFFF
FLAG_CROSS, FLAG_NON_DISPLAYED, FLAG_EXECUTION = 1, 2, 4


SIDE_BID, SIDE_ASK, SIDE_NONE = 0, 1, 2
SIDES = {'B': SIDE_BID, 'S': SIDE_ASK}


def price_text(p):
    return '%d.%04d' % (p // 10000, p % 10000)


def timestamp(m):
    """The 6-byte Timestamp of the common header (offset 5)."""
    return (u16(m, 5) << 32) | u32(m, 7)


class Events:
    """Messages in sequence order in, expected trade and top lines out."""

    def __init__(self):
        self.orders = {}       # ref -> [locate, side, price, shares]
        self.levels = {}       # (locate, side) -> {price: [shares, orders]}
        self.tops = {}         # locate -> last (bid, bid shares, ask, ask shares)
        self.names = {}        # locate -> symbol as a consumer knows it
        self.named_by_r = set()
        self.out = []
        self.count = {}        # message type -> messages seen
        self.trades = {}       # message type -> trade lines emitted
        self.untraded_e = 0    # E naming an unknown order
        self.pending_levels = {}   # (locate, side, price) -> ts, in order of first change
        self.pending_tops = {}     # locate -> [top at the packet's start, ts], same order
        self.packets = 0
        self.state = 'ok'          # the feed's book state: ok or stale

    def _out(self, line):
        """An expected line; the state the event carries goes before ' | '."""
        if self.state != 'ok':
            head, sep, rest = line.partition(' | ')
            line = head + ' state ' + self.state + sep + rest
        self.out.append(line)

    def gap(self, first, count):
        """A hole both lines lost: the first one makes the books STALE, announced before
        the GAP, so the GAP itself already says stale."""
        if self.state != 'stale':
            self.state = 'stale'
            self._out('book_state lost %d %d' % (first, count))
        self._out('gap %d %d' % (first, count))

    def new_session(self):
        """A new session: empty books, and OK again."""
        self.orders, self.levels, self.tops = {}, {}, {}
        self.names, self.named_by_r = {}, set()
        self._out('cleared')
        if self.state != 'ok':
            self.state = 'ok'
            self._out('book_state new_session 0 0')

    def symbol(self, locate):
        return self.names.get(locate, '#%d' % locate)

    def _level(self, locate, side, price, dshares, dorders):
        self._touch(locate, side, price)
        side_levels = self.levels.setdefault((locate, side), {})
        lv = side_levels.setdefault(price, [0, 0])
        lv[0] += dshares
        lv[1] += dorders
        if lv[1] <= 0:
            del side_levels[price]

    def _add(self, ref, locate, side, price, shares):
        if side not in ('B', 'S') or ref in self.orders:
            return
        self.orders[ref] = [locate, side, price, shares]
        self._level(locate, side, price, shares, 1)

    def _take(self, ref, n):
        """Takes n shares off a live order; it leaves at 0 or below."""
        o = self.orders[ref]
        if n >= o[3]:
            del self.orders[ref]
            self._level(o[0], o[1], o[2], -o[3], -1)
        else:
            o[3] -= n
            self._level(o[0], o[1], o[2], -n, 0)

    def _remove(self, ref):
        o = self.orders.pop(ref)
        self._level(o[0], o[1], o[2], -o[3], -1)

    def _touch(self, locate, side, price):
        """A change of a level by the current message: its events wait for the packet's end."""
        if locate not in self.pending_tops:
            self.pending_tops[locate] = [self.top_of(locate), 0]
        self.pending_tops[locate][1] = self.ts
        self.pending_levels[(locate, side, price)] = self.ts   # keeps its first position

    def end_packet(self, last_seq):
        """The packet's level and top events, then its END_OF_PACKET."""
        for (locate, side, price), ts in self.pending_levels.items():
            shares, orders = self.levels.get((locate, side), {}).get(price, [0, 0])
            self._out('level %s %s %s %d %d | side %d key %d ts %d'
                            % (self.symbol(locate), side, price_text(price), shares, orders,
                               SIDES[side], locate, ts))
        for locate, (before, ts) in self.pending_tops.items():
            after = self.top_of(locate)
            if after != before:
                b, bs, a, as_ = after
                self._out('top %s %s %d %s %d | side %d key %d ts %d'
                                % (self.symbol(locate), '-' if b is None else price_text(b),
                                   bs, '-' if a is None else price_text(a), as_, SIDE_NONE,
                                   locate, ts))
        self._out('packet | last_seq %d' % last_seq)
        self.pending_levels, self.pending_tops = {}, {}
        self.packets += 1

    def top_of(self, locate):
        bids = self.levels.get((locate, 'B'), {})
        asks = self.levels.get((locate, 'S'), {})
        b = max(bids) if bids else None
        a = min(asks) if asks else None
        return (b, min(bids[b][0], U32_MAX) if bids else 0,
                a, min(asks[a][0], U32_MAX) if asks else 0)

    def _trade(self, t, m, locate, side, price, shares, match, flags):
        self._out('trade %s %s %d match %d flags %d | side %d key %d ts %d'
                        % (self.symbol(locate), price_text(price), min(shares, U32_MAX),
                           match, flags, SIDES.get(side, SIDE_NONE), locate, timestamp(m)))
        self.trades[t] = self.trades.get(t, 0) + 1

    def apply(self, m):
        t = m[:1].decode('latin-1')
        if m[:1] not in LENGTHS or len(m) != LENGTHS[m[:1]]:
            return
        self.count[t] = self.count.get(t, 0) + 1
        locate = u16(m, 1)
        self.ts = timestamp(m)
        if t == 'R':
            self.names[locate] = m[11:19].rstrip(b' ').decode('latin-1')
            self.named_by_r.add(locate)
        elif t in ('A', 'F'):
            self.names.setdefault(locate, m[24:32].rstrip(b' ').decode('latin-1'))
            self._add(u64(m, 11), locate, m[19:20].decode('latin-1'), u32(m, 32), u32(m, 20))
        elif t in ('E', 'C', 'X'):
            ref, shares = u64(m, 11), u32(m, 19)
            o = self.orders.get(ref)
            if t == 'E' and o is not None:
                self._trade(t, m, o[0], o[1], o[2], shares, u64(m, 23), FLAG_EXECUTION)
            elif t == 'E':
                self.untraded_e += 1
            elif t == 'C':
                self._trade(t, m, o[0] if o else locate, o[1] if o else None, u32(m, 32),
                            shares, u64(m, 23), FLAG_EXECUTION)
            if o is not None:
                self._take(ref, shares)
        elif t == 'D':
            ref = u64(m, 11)
            if ref in self.orders:
                self._remove(ref)
        elif t == 'U':
            old = u64(m, 11)
            if old in self.orders:
                o = self.orders[old]
                self._remove(old)
                self._add(u64(m, 19), o[0], o[1], u32(m, 31), u32(m, 27))
        elif t == 'P':
            self._trade(t, m, locate, m[19:20].decode('latin-1'), u32(m, 32), u32(m, 20),
                        u64(m, 36), FLAG_NON_DISPLAYED)
        elif t == 'Q':
            self._trade(t, m, locate, None, u32(m, 27), u64(m, 11), u64(m, 31), FLAG_CROSS)

    def stats(self):
        c = self.count
        tops = sum(1 for line in self.out if line.startswith('top '))
        return ('messages E %d C %d P %d Q %d\ntrades E %d C %d P %d Q %d\n'
                'E on unknown orders (no trade) %d\ntop events %d\nlevel events %d\n'
                'packets %d'
                % (c.get('E', 0), c.get('C', 0), c.get('P', 0), c.get('Q', 0),
                   self.trades.get('E', 0), self.trades.get('C', 0),
                   self.trades.get('P', 0), self.trades.get('Q', 0), self.untraded_e, tops,
                   sum(1 for line in self.out if line.startswith('level ')), self.packets))


# ---------------------------------------------------------------- what fhd published
def tail_events(path):
    """(seq, line before ' | ') for each trade and top event of `fh tail --json`; checks
    that the file is the whole ring in order (seq 1, 2, ...), with no gap and a stop."""
    got, want_seq, stopped = [], 1, False
    with open(path) as f:
        for n, text in enumerate(f, 1):
            try:
                e = json.loads(text)
            except ValueError:
                raise SystemExit('%s:%d: not JSON: %r' % (path, n, text[:80]))
            if e.get('seq') != want_seq:
                raise SystemExit('%s:%d: seq %r, expected %d: the ring was not read whole'
                                 % (path, n, e.get('seq'), want_seq))
            want_seq += 1
            t = e.get('type')
            state = '' if e.get('state') == 'ok' else ' state %s' % e.get('state')
            if t == 'stop':
                stopped = True
            elif t == 'trade':
                got.append((e['seq'], 'trade %s %s %d match %d flags %d%s'
                            % (e['symbol'], e['price'], e['quantity'], e['match'], e['flags'],
                               state)))
            elif t == 'top':
                got.append((e['seq'], 'top %s %s %d %s %d%s'
                            % (e['symbol'], e['bid'] or '-', e['bid_shares'],
                               e['ask'] or '-', e['ask_shares'], state)))
            elif t == 'level':
                got.append((e['seq'], 'level %s %s %s %d %d%s'
                            % (e['symbol'], e['side'], e['price'], e['shares'], e['orders'],
                               state)))
            elif t == 'end_of_packet':
                got.append((e['seq'], 'packet' + state))
            elif t == 'gap':
                got.append((e['seq'], 'gap %d %d%s' % (e['first'], e['count'], state)))
            elif t == 'book_state':
                got.append((e['seq'], 'book_state %s %d %d%s'
                            % (e['reason'], e['first'], e['count'], state)))
            elif t == 'cleared':
                got.append((e['seq'], 'cleared' + state))
    if not stopped:
        raise SystemExit('%s: no stop event: fhd did not finish or the ring was cut' % path)
    return got


# struct fh_event (publish/libfh/fh_event.h): seq, type, side, feed, flags, instrument,
# exchange_ts_ns, rx_ts_ns, publish_delta_ns, quantity, then a 24-byte body.
EVENT = struct.Struct('<QBBBBIQQII24s')
TYPE_LEVEL, TYPE_TOP, TYPE_TRADE, TYPE_INSTRUMENT, TYPE_GAP, TYPE_PACKET, TYPE_STOP = \
    5, 6, 7, 9, 10, 12, 13
TYPE_CLEARED, TYPE_STATE = 14, 15
INT64_MIN = -(1 << 63)
# the flag bits 6-7: the feed's book state (enum fh_book_state); bits 0-2: a trade's kind
STATES = {0: 'ok', 1: 'recovering', 2: 'stale'}
REASONS = {1: 'recovering', 2: 'recovered', 3: 'lost', 8: 'new_session'}   # enum fh_book_reason


def event_line(e, names):
    """The expected-format line of an event, with the state its flags carry."""
    flags = e[4]
    head, sep, rest = event_text(e, names).partition(' | ')
    state = STATES.get(flags >> 6, '?')
    return head + ('' if state == 'ok' else ' state ' + state) + sep + rest


def event_text(e, names):
    seq, t, side, feed, flags, key, ts, _, _, quantity, body = e
    name = names.get((feed, key), '#%d' % key)
    if t == TYPE_GAP:
        return 'gap %d %d' % struct.unpack_from('<QQ', body)
    if t == TYPE_STATE:
        _, reason, first, count = struct.unpack('<BB6xQQ', body)
        return 'book_state %s %d %d' % (REASONS.get(reason, '?%d' % reason), first, count)
    if t == TYPE_CLEARED:
        return 'cleared'
    if t == TYPE_TRADE:
        match, price, _ = struct.unpack('<QqQ', body)
        return 'trade %s %s %d match %d flags %d | side %d key %d ts %d' \
            % (name, price_text(price), quantity, match, flags & 7, side, key, ts)
    if t == TYPE_LEVEL:
        price, shares, orders, _ = struct.unpack('<qQII', body)
        return 'level %s %s %s %d %d | side %d key %d ts %d' \
            % (name, 'BS'[side] if side < 2 else '?', price_text(price), shares, orders, side,
               key, ts)
    if t == TYPE_PACKET:
        return 'packet | last_seq %d' % struct.unpack_from('<Q', body)[0]
    bid, ask, bid_shares, ask_shares = struct.unpack('<qqII', body)
    return 'top %s %s %d %s %d | side %d key %d ts %d' \
        % (name, '-' if bid == INT64_MIN else price_text(bid), bid_shares,
           '-' if ask == INT64_MIN else price_text(ask), ask_shares, side, key, ts)


def ring_raw(lib_path, ring):
    """Every event of a stopped ring, read whole through libfh, as EVENT tuples."""
    import ctypes
    lib = ctypes.CDLL(lib_path)
    lib.fh_attach.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                              ctypes.c_char_p, ctypes.c_size_t]
    lib.fh_poll.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.fh_stopped.argtypes = [ctypes.c_void_p]
    lib.fh_stopped.restype = ctypes.c_bool
    lib.fh_detach.argtypes = [ctypes.c_void_p]
    consumer, err = ctypes.c_void_p(), ctypes.create_string_buffer(256)
    if lib.fh_attach(ring.encode(), 0, ctypes.byref(consumer), err, len(err)) != 0:
        raise SystemExit('ref_events: %s' % err.value.decode(errors='replace'))
    buf = ctypes.create_string_buffer(EVENT.size * 256)
    want_seq, stopped = 1, False
    while not stopped:
        n = lib.fh_poll(consumer, buf, 256)
        if n < 0:
            raise SystemExit('ref_events: fh_poll: %d (lapped or restarted): the ring must '
                             'hold the whole session' % n)
        if n == 0:
            if lib.fh_stopped(consumer):
                break
            raise SystemExit('ref_events: ring %s ends without a stop event' % ring)
        for i in range(n):
            e = EVENT.unpack_from(buf.raw, i * EVENT.size)
            if e[0] != want_seq:
                raise SystemExit('ref_events: ring seq %d, expected %d' % (e[0], want_seq))
            want_seq += 1
            stopped = e[1] == TYPE_STOP
            yield e
    lib.fh_detach(consumer)


def ring_events(lib_path, ring):
    """Reads a stopped ring whole through libfh: (seq, line) per trade and top event."""
    got, names = [], {}
    for e in ring_raw(lib_path, ring):
        seq, t, feed, key = e[0], e[1], e[3], e[5]
        if t == TYPE_INSTRUMENT:
            names[(feed, key)] = e[10][:16].split(b'\0')[0].decode('latin-1')
        elif t in (TYPE_TRADE, TYPE_TOP, TYPE_LEVEL, TYPE_PACKET, TYPE_GAP, TYPE_STATE,
                   TYPE_CLEARED):
            got.append((seq, event_line(e, names)))
            if t == TYPE_CLEARED:   # a new session: the names are gone with the books
                names = {k: v for k, v in names.items() if k[0] != feed}
    return got


def compare_one(what, want, got):
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else '(nothing more expected)'
        g = got[i][1] if i < len(got) else '(nothing more published)'
        if w == g:
            continue
        print('%s: first mismatch at trade/level/top/packet event #%d (fhd ring seq %s):'
              % (what, i + 1, got[i][0] if i < len(got) else '-'))
        print('  expected: %s\n  fhd:      %s' % (w, g))
        print('context (expected | fhd, seq):')
        for j in range(max(0, i - 4), min(max(len(want), len(got)), i + 4)):
            print('  %s #%d %-48s | %s %s' % ('>' if j == i else ' ', j + 1,
                                             want[j] if j < len(want) else '',
                                             got[j][0] if j < len(got) else '',
                                             got[j][1] if j < len(got) else ''))
        return False
    return True


def compare(expected_path, tail_path, ring_path=None):
    with open(expected_path) as f:
        want = f.read().splitlines()
    ok = compare_one('fh tail --json', [w.split(' | ')[0] for w in want], tail_events(tail_path))
    if ok and ring_path is not None:
        with open(ring_path) as f:
            got = [tuple(line.rstrip('\n').split(' ', 1)) for line in f]
        ok = compare_one('libfh (every field)', want, [(int(a), b) for a, b in got])
    if not ok:
        return 1
    print('%d trade, level, top, packet, gap and state events match (%d trades, %d levels, '
          '%d tops, %d packets, %d gaps, %d state changes, %d while not ok)%s'
          % (len(want), sum(1 for w in want if w.startswith('trade')),
             sum(1 for w in want if w.startswith('level')),
             sum(1 for w in want if w.startswith('top')),
             sum(1 for w in want if w.startswith('packet')),
             sum(1 for w in want if w.startswith('gap')),
             sum(1 for w in want if w.startswith('book_state')),
             sum(1 for w in want if ' state ' in w.split(' | ')[0]),
             '; side, key and timestamp too' if ring_path else ''))
    return 0


# ---------------------------------------------------------------- self-test
def selftest():
    def hdr(t, locate):
        return t + struct.pack('>HH', locate, 0) + b'\0' * 6

    def A(ref, side, shares, price, locate=1, stock=b'ZZ'):
        return hdr(b'A', locate) + struct.pack('>Q', ref) + side + struct.pack('>I', shares) \
            + stock.ljust(8) + struct.pack('>I', price)
    E = lambda ref, n, match: hdr(b'E', 1) + struct.pack('>QIQ', ref, n, match)
    C = lambda ref, n, match, p, loc=1: hdr(b'C', loc) + struct.pack('>QIQ', ref, n, match) \
        + b'Y' + struct.pack('>I', p)
    X = lambda ref, n: hdr(b'X', 1) + struct.pack('>QI', ref, n)
    D = lambda ref: hdr(b'D', 1) + struct.pack('>Q', ref)
    U = lambda old, new, n, p: hdr(b'U', 1) + struct.pack('>QQII', old, new, n, p)
    P = lambda side, n, p, match: hdr(b'P', 2) + struct.pack('>Q', 0) + side \
        + struct.pack('>I', n) + b'PP'.ljust(8) + struct.pack('>IQ', p, match)
    Q = lambda n, p, match: hdr(b'Q', 3) + struct.pack('>Q', n) + b'QQ'.ljust(8) \
        + struct.pack('>IQ', p, match) + b'O'
    R = lambda locate, stock: ref_book.m_R(locate, stock)
    for m in (A(1, b'B', 1, 1), E(1, 1, 1), C(1, 1, 1, 1), X(1, 1), D(1), U(1, 2, 1, 1),
              P(b'B', 1, 1, 1), Q(1, 1, 1), R(1, b'X')):
        assert len(m) == LENGTHS[m[:1]], m

    def run(msgs, ends=None):
        """Each message its own packet, unless ends (seqs from 1) says where packets end."""
        ev = Events()
        for seq, m in enumerate(msgs, 1):
            ev.apply(m)
            if ends is None or seq in ends:
                ev.end_packet(seq)
        return ev.out

    def check(msgs, want, full=False, ends=None):
        got = run(msgs, ends)
        if ends is None:   # one message a packet: the trades and tops, as before coalescing
            got = [g for g in got if g.startswith(('trade ', 'top '))]
        if not full:
            got = [g.split(' | ')[0] for g in got]
        assert got == want, '\n got %r\nwant %r' % (got, want)

    # adds: top only when the best moves or its size changes; worse levels say nothing
    check([A(1, b'B', 100, 10000), A(2, b'B', 50, 9000), A(3, b'S', 70, 11000),
           A(4, b'B', 5, 10000), A(5, b'S', 1, 12000)],
          ['top ZZ 1.0000 100 - 0', 'top ZZ 1.0000 100 1.1000 70', 'top ZZ 1.0000 105 1.1000 70'])
    # E at the order's price, then the top; C at its own price; over-execution trades
    # the message's shares and removes the order; X and D below the best: no top
    check([A(1, b'B', 100, 10000), A(2, b'B', 50, 9000), E(1, 30, 7), C(1, 80, 8, 10050),
           X(2, 10), D(2)],
          ['top ZZ 1.0000 100 - 0', 'trade ZZ 1.0000 30 match 7 flags 4', 'top ZZ 1.0000 70 - 0',
           'trade ZZ 1.0050 80 match 8 flags 4', 'top ZZ 0.9000 50 - 0', 'top ZZ 0.9000 40 - 0',
           'top ZZ - 0 - 0'])
    # unknown orders: E gives nothing, C still trades (symbol by its locate); replace
    # to the same price and size changes nothing visible; replace away moves the top
    check([R(1, b'NAMED'), E(99, 5, 1), C(99, 5, 2, 4242, loc=7), A(1, b'S', 10, 500),
           U(1, 2, 10, 500), U(2, 3, 10, 600), X(3, 0)],
          ['trade #7 0.4242 5 match 2 flags 4', 'top NAMED - 0 0.0500 10', 'top NAMED - 0 0.0600 10'])
    # P and Q: the message's own fields; Q's 8-byte shares saturate; names: A names a
    # locate only if nothing did, R renames
    check([P(b'S', 300, 123456, 11), A(1, b'B', 1, 1, locate=3, stock=b'FIRST'),
           Q(5, 777, 12), R(3, b'LATER'), Q(1 << 40, 1, 13), A(2, b'B', 1, 1, locate=3, stock=b'NO')],
          ['trade #2 12.3456 300 match 11 flags 2', 'top FIRST 0.0001 1 - 0',
           'trade FIRST 0.0777 5 match 12 flags 1', 'trade LATER 0.0001 4294967295 match 13 flags 1',
           'top LATER 0.0001 2 - 0'])
    # side (the resting order's; none if unknown or a cross), key and timestamp
    T = lambda m, ts: m[:5] + ts.to_bytes(6, 'big') + m[11:]
    check([T(A(1, b'S', 10, 500), 1 << 40), T(E(1, 4, 1), 7), T(C(9, 1, 2, 5, loc=4), 8),
           T(P(b'S', 3, 4, 3), 9), T(P(b'B', 3, 4, 4), 10), T(Q(1, 1, 5), 11)],
          ['top ZZ - 0 0.0500 10 | side 2 key 1 ts 1099511627776',
           'trade ZZ 0.0500 4 match 1 flags 4 | side 1 key 1 ts 7',
           'top ZZ - 0 0.0500 6 | side 2 key 1 ts 7',
           'trade #4 0.0005 1 match 2 flags 4 | side 2 key 4 ts 8',
           'trade #2 0.0004 3 match 3 flags 2 | side 1 key 2 ts 9',
           'trade #2 0.0004 3 match 4 flags 2 | side 0 key 2 ts 10',
           'trade #3 0.0001 1 match 5 flags 1 | side 2 key 3 ts 11'], full=True)
    # a zero-share order is a level: it can be the best with 0 shares
    check([A(1, b'B', 0, 300), A(2, b'B', 5, 200), D(1)],
          ['top ZZ 0.0300 0 - 0', 'top ZZ 0.0200 5 - 0'])
    # one packet: each level once, final state, in order of first change (a level born
    # and gone says orders 0); a top only if the packet's end differs from its start;
    # trades as they come, levels and tops at the end, then the packet's end
    T = lambda m, ts: m[:5] + ts.to_bytes(6, 'big') + m[11:]
    check([A(1, b'B', 100, 10000), A(2, b'S', 50, 11000), A(3, b'B', 7, 9000)],
          ['level ZZ B 1.0000 100 1', 'level ZZ S 1.1000 50 1', 'level ZZ B 0.9000 7 1',
           'top ZZ 1.0000 100 1.1000 50', 'packet'], ends={3})
    check([T(A(1, b'B', 100, 10000), 1), T(A(2, b'S', 50, 11000), 2), T(E(1, 30, 9), 3),
           T(A(5, b'B', 9, 10100), 4), T(D(5), 5), T(X(1, 5), 6)],
          ['level ZZ B 1.0000 100 1 | side 0 key 1 ts 1', 'level ZZ S 1.1000 50 1 | side 1 key 1 ts 2',
           'top ZZ 1.0000 100 1.1000 50 | side 2 key 1 ts 2', 'packet | last_seq 2',
           'trade ZZ 1.0000 30 match 9 flags 4 | side 0 key 1 ts 3',
           'level ZZ B 1.0000 65 1 | side 0 key 1 ts 6', 'level ZZ B 1.0100 0 0 | side 0 key 1 ts 5',
           'top ZZ 1.0000 65 1.1000 50 | side 2 key 1 ts 6', 'packet | last_seq 6'],
          full=True, ends={2, 6})
    # back where it began: the levels say so, no top
    check([A(1, b'B', 100, 10000), A(2, b'B', 5, 10000), D(2)],
          ['level ZZ B 1.0000 100 1', 'top ZZ 1.0000 100 - 0', 'packet',
           'level ZZ B 1.0000 100 1', 'packet'], ends={1, 3})
    # a gap makes the books stale: GAP, then BOOK_STATE once; later events carry the
    # state; a new session clears the books (and names) and makes them ok again
    ev = Events()
    ev.apply(A(1, b'B', 100, 10000))
    ev.end_packet(1)
    ev.gap(2, 3)
    ev.apply(E(1, 30, 9))
    ev.end_packet(5)
    ev.gap(7, 1)
    ev.new_session()
    ev.new_session()
    ev.apply(A(1, b'B', 5, 200))
    ev.end_packet(1)
    got = [g.split(' | ')[0] for g in ev.out]
    want = ['level ZZ B 1.0000 100 1', 'top ZZ 1.0000 100 - 0', 'packet',
            'book_state lost 2 3 state stale', 'gap 2 3 state stale', 'trade ZZ 1.0000 30 match 9 flags 4 state stale',
            'level ZZ B 1.0000 70 1 state stale', 'top ZZ 1.0000 70 - 0 state stale',
            'packet state stale', 'gap 7 1 state stale', 'cleared state stale',
            'book_state new_session 0 0', 'cleared', 'level ZZ B 0.0200 5 1',
            'top ZZ 0.0200 5 - 0', 'packet']
    assert got == want, '\n got %r\nwant %r' % (got, want)
    # the ring side: the state from the flags, a trade's kind from its low bits
    body = struct.pack('<BB6xQQ', 2, 3, 2, 3)
    assert event_line((9, TYPE_STATE, 2, 0, 0x80, 0, 0, 0, 0, 0, body), {}) == \
        'book_state lost 2 3 state stale'
    body = struct.pack('<QqQ', 9, 10000, 0)
    assert event_line((9, TYPE_TRADE, 0, 0, 0x84, 1, 7, 0, 0, 30, body), {(0, 1): 'ZZ'}) == \
        'trade ZZ 1.0000 30 match 9 flags 4 state stale | side 0 key 1 ts 7'
    print('ref_events selftest: ok')


# ---------------------------------------------------------------- command line
def session_apply(ev, msgs, ends, next_seq):
    """One session's (seq, message) pairs in order, packets ending at ends; holes are
    gaps, also one up to next_seq (the next sequence number the session named)."""
    expected = 1                  # MoldUDP64 sessions count from 1
    for seq, m in msgs:
        if seq > expected:        # no line carried expected..seq-1
            ev.gap(expected, seq - expected)
        expected = seq + 1
        ev.apply(m)
        if seq in ends:
            ev.end_packet(seq)
    if next_seq > expected:       # a heartbeat or the end named later messages
        ev.gap(expected, next_seq - expected)
    if ev.pending_levels or (msgs and msgs[-1][0] not in ends):
        raise SystemExit('ref_events: the messages end inside a packet')


def main(argv):
    if not argv or argv[0] not in ('pcap', 'itch', 'ring', 'compare', 'selftest'):
        raise SystemExit(__doc__)
    if argv[0] == 'selftest':
        selftest()
        return 0
    if argv[0] == 'compare':
        if len(argv) not in (3, 4):
            raise SystemExit(__doc__)
        return compare(argv[1], argv[2], argv[3] if len(argv) == 4 else None)
    if argv[0] == 'ring':
        if len(argv) != 3:
            raise SystemExit(__doc__)
        sys.stdout.write(''.join('%d %s\n' % e for e in ring_events(argv[1], argv[2])))
        return 0
    mode, rest = argv[0], argv[1:]
    path, stats, packets = None, False, None
    lines, sources = dict(ref_book.DEFAULT_LINES), {}
    while rest:
        a = rest.pop(0)
        if a == '--stats':
            stats = True
        elif a == '--packets' and rest and mode == 'itch':
            packets = rest.pop(0)
        elif a in ('--line', '--source') and rest and mode == 'pcap':
            name, _, val = rest.pop(0).partition('=')
            (lines if a == '--line' else sources)[name] = val
        elif path is None and not a.startswith('--'):
            path = a
        else:
            raise SystemExit('bad argument: %s\n%s' % (a, __doc__))
    if path is None or (mode == 'itch') != (packets is not None):
        raise SystemExit(__doc__)
    ev = Events()
    if mode == 'pcap':
        # Each session in turn (a capture of several: one after the other's end).
        sessions = {}
        ref_book.collect_pcap(path, lines, sources, None, sessions)
        for n, name in enumerate(sessions.get('sessions', [])):
            ends, marks = set(), {}
            collected, _ = ref_book.collect_pcap(path, lines, sources, ends, marks, name)
            if n > 0:
                ev.new_session()
            session_apply(ev, [(s, collected[s]) for s in sorted(collected)], ends,
                          marks.get('next', 1))
    else:
        ends = set()
        ref_book.collect_pcap(packets, lines, sources, ends)
        with open(path, 'rb') as f:
            msgs = list(enumerate(ref_book.itch_messages(f.read()), 1))  # MoldUDP64: from 1
        session_apply(ev, msgs, ends, 1)
    sys.stdout.write(''.join(line + '\n' for line in ev.out))
    if stats:
        print(ev.stats(), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
