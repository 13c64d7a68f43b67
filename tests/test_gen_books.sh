#!/usr/bin/env bash
# fh-pcap gen never sends a crossed or locked book (a bid at or above the ask of
# its symbol): sessions of several seeds, checked by tests/ref_book.py (written from
# the spec, no fh code) every 200 messages and at the end, and fhd's own final
# books of the bundled demo captures (the `make demo` symptom: TELA bid 248.77 over
# ask 248.75). The deep profile too: uncrossed, fhd's books equal the reference's, no
# errors, and the book really is deep (live orders, levels per side).
source "$(dirname "$0")/lib.sh"

# uncrossed PCAP [EVERY]: checks the reference book every EVERY messages (default
# 200) and at the end; prints what it saw.
uncrossed() {
	python3 - "$ROOT/tests" "$1" "${2:-200}" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ref_book
every = int(sys.argv[3])

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
    if self.applied % every == 0:
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

# The deep profile: fhd's dump equals the reference's, with no error counted (the
# profile sends none), and the books are deep, measured on the dump against a shallow
# session of the same size: live orders (the sum of the dump's order counts, which
# must equal fhd's live_orders) at least 0.2 per message, and the median levels per
# side at least 200, where the shallow session has at most 40 (1..20 ticks from a
# walking mid).
# levels_per_side DUMP: the median count of levels per symbol and side.
levels_per_side() {
	awk '{ n[$2 " " $3]++ } END { for (k in n) print n[k] }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}
deep_messages=100000
"$FH_PCAP" gen --profile deep --seed 9 --messages $deep_messages --symbols 20 --out "$TMP/deep.pcap" 2>/dev/null ||
	fail "gen --profile deep"
"$FH_PCAP" gen --seed 9 --messages $deep_messages --symbols 20 --out "$TMP/shallow.pcap" 2>/dev/null
check "deep, $deep_messages messages: never crossed or locked" uncrossed "$TMP/deep.pcap" 2000
$REF pcap "$TMP/deep.pcap" >"$TMP/deep.ref"
fhd_replay "$TMP/deep" "$TMP/deep.pcap" || fail "deep: fhd exited non-zero"
fhd_replay "$TMP/shallow" "$TMP/shallow.pcap" || fail "shallow: fhd exited non-zero"
same_file "deep: fhd's dump equals the reference" "$TMP/deep.ref" "$TMP/deep.dump"
for c in unknown_order duplicate_order orders_full levels_full instruments_full; do
	check "deep: $c 0" [ "$(counter "$TMP/deep.log" "book:" $c)" = 0 ]
done
live=$(counter "$TMP/deep.log" "book:" live_orders)
check "deep: live_orders $live is the dump's order count" \
	[ "$live" = "$(awk '{ s += $6 } END { print s + 0 }' "$TMP/deep.dump")" ]
check "deep: live_orders $live >= 0.2 per message" [ "$live" -ge $((deep_messages / 5)) ]
deep_levels=$(levels_per_side "$TMP/deep.dump")
shallow_levels=$(levels_per_side "$TMP/shallow.dump")
check "deep: median levels per side $deep_levels >= 200 (shallow: $shallow_levels <= 40)" \
	[ "$deep_levels" -ge 200 -a "$shallow_levels" -le 40 ]

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
