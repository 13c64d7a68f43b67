#!/usr/bin/env python3
"""Independent reference for the TRADE and TOP_OF_BOOK events fhd publishes.

Written from the protocol facts (shared/docs/itch50-moldudp64.md) and the meaning of the
event fields (publish/fh_event.h), not from fhd's code. Captures are read and A/B lines
arbitrated by tests/ref_book.py (collect each sequence number once, apply in order); the
books here are this file's own: live orders in a dict, levels per instrument and side.

  ref_events.py pcap FILE [--line A=IP:PORT] [--source A=IP] [--stats]
  ref_events.py itch FILE [--stats]           NASDAQ binary: 2-byte length + message
        print the expected events, one a line (see below); --stats: counts on stderr
  ref_events.py compare EXPECTED TAIL_JSON    EXPECTED from above, TAIL_JSON from
        `fh tail --json`: exit 0 if the trade and top events match one for one, else
        print the first mismatch with context and exit 1
  ref_events.py selftest

Expected lines, in the order fhd must publish them:
  trade SYMBOL PRICE QUANTITY match MATCH flags FLAGS
  top SYMBOL BID BID_SHARES ASK ASK_SHARES        (- 0 for an empty side)

Rules (from the spec and the event schema; stated so they can be argued with):
  * TRADE, one per trade message, quantity = the message's shares:
      E  execution of a displayed order: price = that order's price; flags EXECUTION (4).
         An E naming an order the book does not hold has no price anywhere: no event.
      C  execution with price: price = Execution Price; flags EXECUTION (4). The message
         is self-contained, so it is a trade whether or not the order is known.
      P  non-displayed trade: Price, Shares, Match Number; flags NON_DISPLAYED (2).
      Q  cross: Cross Price, Shares (8 bytes, saturated to 2^32-1); flags CROSS (1).
    The executed shares come off the order (it leaves at 0 or below) after the trade.
  * TOP_OF_BOOK: after each message that changes an instrument's book, one event if
    (best bid price, shares at it, best ask price, shares at it) differs from what it
    was before the message ("sent when the best bid or ask changed"); shares
    saturated at 2^32-1. A level with live orders and 0 shares is still a level. Within
    one message the trade comes before the top it caused.
  * SYMBOL: what a consumer knows when the event comes: 'R' names a locate (a later
    'R' renames it); the Stock field of the first 'A'/'F' of a locate names it if
    nothing did before; otherwise '#<locate>'.
  * Book: as tests/ref_book.py (adds with a live reference or a side other than B/S
    are ignored; U moves the order to a new reference on the same instrument and side).
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


def price_text(p):
    return '%d.%04d' % (p // 10000, p % 10000)


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

    def symbol(self, locate):
        return self.names.get(locate, '#%d' % locate)

    def _level(self, locate, side, price, dshares, dorders):
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

    def top_of(self, locate):
        bids = self.levels.get((locate, 'B'), {})
        asks = self.levels.get((locate, 'S'), {})
        b = max(bids) if bids else None
        a = min(asks) if asks else None
        return (b, min(bids[b][0], U32_MAX) if bids else 0,
                a, min(asks[a][0], U32_MAX) if asks else 0)

    def _trade(self, t, locate, price, shares, match, flags):
        self.out.append('trade %s %s %d match %d flags %d'
                        % (self.symbol(locate), price_text(price), min(shares, U32_MAX),
                           match, flags))
        self.trades[t] = self.trades.get(t, 0) + 1

    def apply(self, m):
        t = m[:1].decode('latin-1')
        if m[:1] not in LENGTHS or len(m) != LENGTHS[m[:1]]:
            return
        self.count[t] = self.count.get(t, 0) + 1
        locate = u16(m, 1)
        touched = None         # the instrument whose book the message may change
        if t == 'R':
            self.names[locate] = m[11:19].rstrip(b' ').decode('latin-1')
            self.named_by_r.add(locate)
        elif t in ('A', 'F'):
            self.names.setdefault(locate, m[24:32].rstrip(b' ').decode('latin-1'))
            touched = locate
            before = self.top_of(touched)
            self._add(u64(m, 11), locate, m[19:20].decode('latin-1'), u32(m, 32), u32(m, 20))
        elif t in ('E', 'C', 'X'):
            ref, shares = u64(m, 11), u32(m, 19)
            o = self.orders.get(ref)
            if o is not None:
                touched = o[0]
                before = self.top_of(touched)
            if t == 'E' and o is not None:
                self._trade(t, o[0], o[2], shares, u64(m, 23), FLAG_EXECUTION)
            elif t == 'E':
                self.untraded_e += 1
            elif t == 'C':
                self._trade(t, o[0] if o else locate, u32(m, 32), shares, u64(m, 23),
                            FLAG_EXECUTION)
            if o is not None:
                self._take(ref, shares)
        elif t == 'D':
            ref = u64(m, 11)
            if ref in self.orders:
                touched = self.orders[ref][0]
                before = self.top_of(touched)
                self._remove(ref)
        elif t == 'U':
            old = u64(m, 11)
            if old in self.orders:
                o = self.orders[old]
                touched = o[0]
                before = self.top_of(touched)
                self._remove(old)
                self._add(u64(m, 19), o[0], o[1], u32(m, 31), u32(m, 27))
        elif t == 'P':
            self._trade(t, locate, u32(m, 32), u32(m, 20), u64(m, 36), FLAG_NON_DISPLAYED)
        elif t == 'Q':
            self._trade(t, locate, u32(m, 27), u64(m, 11), u64(m, 31), FLAG_CROSS)
        if touched is not None:
            after = self.top_of(touched)
            if after != before:
                b, bs, a, as_ = after
                self.out.append('top %s %s %d %s %d'
                                % (self.symbol(touched), '-' if b is None else price_text(b),
                                   bs, '-' if a is None else price_text(a), as_))

    def stats(self):
        c = self.count
        tops = sum(1 for line in self.out if line.startswith('top '))
        return ('messages E %d C %d P %d Q %d\ntrades E %d C %d P %d Q %d\n'
                'E on unknown orders (no trade) %d\ntop events %d'
                % (c.get('E', 0), c.get('C', 0), c.get('P', 0), c.get('Q', 0),
                   self.trades.get('E', 0), self.trades.get('C', 0),
                   self.trades.get('P', 0), self.trades.get('Q', 0), self.untraded_e, tops))


# ---------------------------------------------------------------- fh tail --json
def tail_events(path):
    """(seq, line) for each trade and top event of `fh tail --json`; checks that the
    file is the whole ring in order (seq 1, 2, ...), with no gap and a stop."""
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
            if t == 'gap':
                raise SystemExit('%s:%d: fhd published a gap (first %s count %s); this test '
                                 'needs one line complete' % (path, n, e.get('first'), e.get('count')))
            if t == 'stop':
                stopped = True
            elif t == 'trade':
                got.append((e['seq'], 'trade %s %s %d match %d flags %d'
                            % (e['symbol'], e['price'], e['quantity'], e['match'], e['flags'])))
            elif t == 'top':
                got.append((e['seq'], 'top %s %s %d %s %d'
                            % (e['symbol'], e['bid'] or '-', e['bid_shares'],
                               e['ask'] or '-', e['ask_shares'])))
    if not stopped:
        raise SystemExit('%s: no stop event: fhd did not finish or the ring was cut' % path)
    return got


def compare(expected_path, tail_path):
    with open(expected_path) as f:
        want = f.read().splitlines()
    got = tail_events(tail_path)
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else '(nothing more expected)'
        g = got[i][1] if i < len(got) else '(nothing more published)'
        if w == g:
            continue
        print('first mismatch at trade/top event #%d (fhd ring seq %s):'
              % (i + 1, got[i][0] if i < len(got) else '-'))
        print('  expected: %s\n  fhd:      %s' % (w, g))
        print('context (expected | fhd, seq):')
        for j in range(max(0, i - 4), min(max(len(want), len(got)), i + 4)):
            print('  %s #%d %-48s | %s %s' % ('>' if j == i else ' ', j + 1,
                                             want[j] if j < len(want) else '',
                                             got[j][0] if j < len(got) else '',
                                             got[j][1] if j < len(got) else ''))
        return 1
    print('%d trade and top events match (%d trades, %d tops)'
          % (len(want), sum(1 for w in want if w.startswith('trade')),
             sum(1 for w in want if w.startswith('top'))))
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

    def run(msgs):
        ev = Events()
        for m in msgs:
            ev.apply(m)
        return ev.out

    def check(msgs, want):
        got = run(msgs)
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
    # a zero-share order is a level: it can be the best with 0 shares
    check([A(1, b'B', 0, 300), A(2, b'B', 5, 200), D(1)],
          ['top ZZ 0.0300 0 - 0', 'top ZZ 0.0200 5 - 0'])
    print('ref_events selftest: ok')


# ---------------------------------------------------------------- command line
def main(argv):
    if not argv or argv[0] not in ('pcap', 'itch', 'compare', 'selftest'):
        raise SystemExit(__doc__)
    if argv[0] == 'selftest':
        selftest()
        return 0
    if argv[0] == 'compare':
        if len(argv) != 3:
            raise SystemExit(__doc__)
        return compare(argv[1], argv[2])
    mode, rest = argv[0], argv[1:]
    path, stats = None, False
    lines, sources = dict(ref_book.DEFAULT_LINES), {}
    while rest:
        a = rest.pop(0)
        if a == '--stats':
            stats = True
        elif a in ('--line', '--source') and rest and mode == 'pcap':
            name, _, val = rest.pop(0).partition('=')
            (lines if a == '--line' else sources)[name] = val
        elif path is None and not a.startswith('--'):
            path = a
        else:
            raise SystemExit('bad argument: %s\n%s' % (a, __doc__))
    if path is None:
        raise SystemExit(__doc__)
    ev = Events()
    if mode == 'pcap':
        collected, _ = ref_book.collect_pcap(path, lines, sources)
        msgs = (collected[s] for s in sorted(collected))
    else:
        with open(path, 'rb') as f:
            msgs = list(ref_book.itch_messages(f.read()))
    for m in msgs:
        ev.apply(m)
    sys.stdout.write(''.join(line + '\n' for line in ev.out))
    if stats:
        print(ev.stats(), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
