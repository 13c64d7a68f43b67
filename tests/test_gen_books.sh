#!/usr/bin/env bash
# fh-pcap gen never sends a crossed or locked book (a bid at or above the ask of
# its symbol): sessions of several seeds, checked by tests/ref_book.py (written from
# the spec, no fh code) every 200 messages and at the end, and fhd's own final
# books of the bundled demo captures (the `make demo` symptom: TELA bid 248.77 over
# ask 248.75).
source "$(dirname "$0")/lib.sh"

# uncrossed PCAP: checks the reference book through the session; prints what it saw.
uncrossed() {
	python3 - "$ROOT/tests" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ref_book

checks, bad = [0], []
apply = ref_book.Book.apply


def touch_check(book):
    best = {}
    for locate, side, price, shares in book.orders.values():
        b = best.setdefault(locate, [0, None])
        if side == b'B':
            b[0] = max(b[0], price)
        elif b[1] is None or price < b[1]:
            b[1] = price
    checks[0] += 1
    for locate, (bid, ask) in best.items():
        if ask is not None and bid >= ask and len(bad) < 5:
            bad.append('after %d messages: locate %d bid %d >= ask %d' % (book.applied, locate, bid, ask))


def checked_apply(self, m):
    apply(self, m)
    if self.applied % 200 == 0:
        touch_check(self)


ref_book.Book.apply = checked_apply
book = ref_book.run_pcap(sys.argv[2], dict(ref_book.DEFAULT_LINES), {}, False)
touch_check(book)
print('%d messages, %d checks, %d orders live at the end' % (book.applied, checks[0], len(book.orders)))
for b in bad:
    print('crossed or locked: ' + b)
sys.exit(1 if bad else 0)
PY
}
for seed in 1 2 3 2026 4242; do
	"$FH_PCAP" gen --seed $seed --messages 20000 --symbols 6 --out "$TMP/s$seed.pcap" 2>/dev/null || fail "gen seed $seed"
	check "seed $seed: never crossed or locked" uncrossed "$TMP/s$seed.pcap"
done
"$FH_PCAP" gen --seed 77 --messages 30000 --symbols 2 --per-packet 1 --out "$TMP/narrow.pcap" 2>/dev/null
check "2 symbols, 30000 messages: never crossed or locked" uncrossed "$TMP/narrow.pcap"

# fhd's final books of the bundled captures: best bid below best ask per symbol.
for name in itch-demo itch-faults; do
	fhd_replay "$TMP/$name" "$ROOT/pcaps/$name.pcap" || fail "$name: fhd exited non-zero"
	check "$name: fhd's books are not crossed or locked" awk '
		$3 == "B" && (!($2 in bid) || $4 + 0 > bid[$2]) { bid[$2] = $4 + 0 }
		$3 == "S" && (!($2 in ask) || $4 + 0 < ask[$2]) { ask[$2] = $4 + 0 }
		END { for (s in bid) if ((s in ask) && bid[s] >= ask[s]) { print s, bid[s], ask[s]; bad = 1 }
		      exit bad + (NR == 0) }' "$TMP/$name.dump"
done
finish
