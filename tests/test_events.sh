#!/usr/bin/env bash
# Differential event test: the TRADE, LEVEL_CHANGED, TOP_OF_BOOK and END_OF_PACKET
# events, checked one for one against an independent reference (tests/ref_events.py,
# written from the ITCH spec and the event schema, sharing no code with fhd): per
# exchange packet, exactly one LEVEL_CHANGED per level the packet changed, with the
# level's state at the packet's end, and a TOP_OF_BOOK only where the top at the end
# differs from the top at the start.
#  - generated sessions (several seeds), clean and with faults on the lines (loss on
#    one line, duplicates, reordering, malformed packets; never loss on both lines, so
#    there is no gap);
#  - holes both lines lost (packets cut from the capture): the GAP events, the feed
#    going STALE once (BOOK_STATE) and every later event carrying the stale state, as
#    the reference models them (fh tail --json's state, libfh's flag bits);
#  - the real NASDAQ slice and the simulated file (tests/data), whose reference is
#    built from the raw files, independent of the fh-pcap converter (only the packets'
#    boundaries are taken from the converted capture fhd replays).
# fhd publishes on a ring that holds the whole session; after fhd stopped, `fh tail
# --json` reads it (the fields it prints), and so does ref_events.py through libfh
# (every field: also side, instrument key, exchange timestamp); both must have read
# the ring whole (seq 1, 2, ... stop).
# The generated sessions must contain executions (E, C), non-displayed trades (P) and
# crosses (Q). Seeds are printed; FH_SEEDS="..." reruns chosen ones.
source "$(dirname "$0")/lib.sh"

FH=$B/fh
REFEV="python3 $ROOT/tests/ref_events.py"
ring=fhev$$
trap 'rm -f /dev/shm/$ring-*; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

pub_yaml $ring 262144 4 0600 >"$TMP/pub.yaml"

# events NAME PCAP EXPECTED: fhd publishes PCAP, fh tail reads the ring, and its trade,
# level, top and packet events must equal EXPECTED (from ref_events.py) one for one.
events() {
	local name=$1 pcap=$2 expected=$3 out=$TMP/$1
	rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top
	if ! "$FHD" -c "$TMP/${CONF:-pub.yaml}" --replay "$pcap" >"$out.log" 2>&1; then
		fail "$name: fhd exited non-zero"; tail -5 "$out.log"; return
	fi
	if ! "$FH" tail --ring $ring-1 --json >"$out.json" 2>"$out.err"; then
		fail "$name: fh tail exited non-zero"; tail -5 "$out.err"; return
	fi
	if ! $REFEV ring "$B/libfh.so" $ring-1 >"$out.ring" 2>"$out.ring.err"; then
		fail "$name: reading the ring through libfh failed"; cat "$out.ring.err"; return
	fi
	# The holes the reference found are the gaps fhd declared (none: one line complete).
	check "$name: fhd declared the reference's $(grep -c '^gap ' "$expected") gaps" \
		[ "$(counter "$out.log" "gaps" gaps)" = "$(grep -c '^gap ' "$expected")" ]
	if $REFEV compare "$expected" "$out.json" "$out.ring" >"$out.cmp" 2>&1; then
		pass "$name: $(cat "$out.cmp")"
	else
		fail "$name: fhd's trade/level/top/packet events differ from the reference"
		cat "$out.cmp"
	fi
}

# stat FILE LABEL: the four counts after LABEL in a --stats report, as "E C P Q".
stat() {
	grep -m1 "^$2 " "$1" | awk '{print $3, $5, $7, $9}'
}

check "reference self-test" $REFEV selftest

seeds=${FH_SEEDS:-"11 22 33"}
for seed in $seeds; do
	messages=$((20000 + seed * 300))
	symbols=$((seed % 7 * 10 + 3))
	echo "seed $seed: $messages messages, $symbols symbols"
	"$FH_PCAP" gen --seed "$seed" --messages "$messages" --symbols "$symbols" --out "$TMP/s$seed.pcap" 2>/dev/null
	$REFEV pcap "$TMP/s$seed.pcap" --stats >"$TMP/s$seed.exp" 2>"$TMP/s$seed.stats"
	cat "$TMP/s$seed.stats"
	read -r e c p q <<<"$(stat "$TMP/s$seed.stats" messages)"
	read -r te tc tp tq <<<"$(stat "$TMP/s$seed.stats" trades)"
	check "seed $seed: the session has E, C, P and Q messages ($e $c $p $q)" \
		[ "${e:-0}" -gt 0 -a "${c:-0}" -gt 0 -a "${p:-0}" -gt 0 -a "${q:-0}" -gt 0 ]
	check "seed $seed: and the reference trades on each ($te $tc $tp $tq)" \
		[ "${te:-0}" -gt 0 -a "${tc:-0}" -gt 0 -a "${tp:-0}" -gt 0 -a "${tq:-0}" -gt 0 ]
	check "seed $seed: the reference has top-of-book events" grep -q "^top " "$TMP/s$seed.exp"
	events "seed $seed clean" "$TMP/s$seed.pcap" "$TMP/s$seed.exp"
	declare -A variants=(
		[loss-a-dup-reorder]="--loss-a 0.2 --dup 0.1 --reorder 0.2 --reorder-depth 3"
		[loss-b-all-faults]="--loss-b 0.3 --dup 0.05 --reorder 0.1 --malformed 0.1"
	)
	for v in loss-a-dup-reorder loss-b-all-faults; do
		pcap=$TMP/s$seed-$v.pcap
		# shellcheck disable=SC2086
		"$FH_PCAP" inject --in "$TMP/s$seed.pcap" --out "$pcap" --seed "$seed" ${variants[$v]} 2>/dev/null
		# The reference reads the faulty capture itself: arbitration is checked too.
		$REFEV pcap "$pcap" >"$TMP/s$seed-$v.exp"
		same_file "seed $seed $v: same expected events as the clean session" \
			"$TMP/s$seed.exp" "$TMP/s$seed-$v.exp"
		events "seed $seed $v" "$pcap" "$TMP/s$seed-$v.exp"
	done
done

# Holes both lines lost, in the clean session and under line faults: GAP, the feed
# STALE from the first one on, as the reference says, event by event.
seed=${seeds%% *}
for base in s$seed s$seed-loss-a-dup-reorder; do
	python3 "$ROOT/tests/pcap_craft.py" holes "$TMP/$base.pcap" "$TMP/$base-holes.pcap" 1000-1100 2000-2010 9000-9030
	$REFEV pcap "$TMP/$base-holes.pcap" >"$TMP/$base-holes.exp"
	check "$base holes: the reference has gaps, and stale events after them" \
		bash -c "grep -q '^gap ' '$TMP/$base-holes.exp' && grep -q '^book_state lost .* state stale$' '$TMP/$base-holes.exp' &&
			 grep -q '^trade .* state stale | ' '$TMP/$base-holes.exp'"
	events "$base holes on both lines" "$TMP/$base-holes.pcap" "$TMP/$base-holes.exp"
	# What an operator sees after it: fh top and fh stat say stale, and the loss
	# counters name the reference's holes (the last one's range, and the total).
	"$FH" top --ring $ring-1 --once >"$TMP/$base-holes.top"
	check "$base holes: fh top shows every instrument's feed stale" \
		bash -c "[ \$(awk 'NR > 2' '$TMP/$base-holes.top' | wc -l) -gt 0 ] && ! awk 'NR > 2' '$TMP/$base-holes.top' | grep -qv ' stale *$'"
	"$FH" stat --segment $ring-stats --json >"$TMP/$base-holes.stat"
	check "$base holes: fh stat's book state and loss counters are the reference's" \
		python3 - "$TMP/$base-holes.stat" "$TMP/$base-holes.exp" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["feeds"][0]
gaps = [tuple(map(int, l.split()[1:3])) for l in open(sys.argv[2]) if l.startswith('gap ')]
want = dict(losses=len(gaps), lost_messages=sum(c for _, c in gaps), last_loss_first=gaps[-1][0],
            last_loss_messages=gaps[-1][1])
got = {k: f[k] for k in want}
print(f["book_state"], got, want)
sys.exit(0 if f["book_state"] == "stale" and got == want else 1)
PY
done

# A new session after the losses: BOOK_CLEARED (still stale), BOOK_STATE new_session,
# and from then on OK; the loss counters keep what happened.
"$FH_PCAP" gen --seed $((seed + 1)) --messages 3000 --symbols 4 --session SECOND0001 --out "$TMP/second.pcap" 2>/dev/null
python3 "$ROOT/tests/pcap_craft.py" concat "$TMP/s$seed-holes.pcap" "$TMP/second.pcap" "$TMP/two.pcap"
$REFEV pcap "$TMP/two.pcap" >"$TMP/two.exp"
check "two sessions: the reference goes stale, then ok at the new session" \
	bash -c "grep -q '^cleared state stale$' '$TMP/two.exp' && grep -q '^book_state new_session 0 0$' '$TMP/two.exp' &&
		 ! sed '1,/^book_state new_session/d' '$TMP/two.exp' | grep -q ' state '"
events "two sessions" "$TMP/two.pcap" "$TMP/two.exp"
"$FH" top --ring $ring-1 --once >"$TMP/two.top"
check "two sessions: fh top shows the feed ok again" \
	bash -c "[ \$(awk 'NR > 2' '$TMP/two.top' | wc -l) -gt 0 ] && ! awk 'NR > 2' '$TMP/two.top' | grep -qv ' ok *$'"
"$FH" stat --segment $ring-stats --json >"$TMP/two.stat"
check "two sessions: fh stat says ok, and still counts the first session's losses" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))["feeds"][0]
sys.exit(0 if f["book_state"] == "ok" and f["losses"] == f["gaps"] > 0 else 1)' "$TMP/two.stat"

# A feed's views (publish.views): levels alone publishes no order event and the same
# trade, level, top and packet events as the reference; orders alone publishes no
# level or top event, the order events both views publish, and the reference's trades
# and packets.
seed=${seeds%% *}
orders() { grep -E '"type":"order_' "$1" | sed 's/^{"seq":[0-9]*,//'; }
for views in levels orders; do
	sed "s/^    book: .*/&\n    publish: { views: [$views] }/" "$TMP/pub.yaml" >"$TMP/pub-$views.yaml"
	if [ $views = levels ]; then
		cp "$TMP/s$seed.exp" "$TMP/s$seed-$views.exp"
	else
		grep -vE '^(level|top) ' "$TMP/s$seed.exp" >"$TMP/s$seed-$views.exp"
	fi
	CONF=pub-$views.yaml events "seed $seed views [$views]" "$TMP/s$seed.pcap" "$TMP/s$seed-$views.exp"
	orders "$TMP/seed $seed views [$views].json" >"$TMP/$views.orders"
	orders "$TMP/seed $seed clean.json" >"$TMP/both.orders"
	if [ $views = levels ]; then
		check "views [levels]: no order event" [ ! -s "$TMP/$views.orders" ]
	else
		check "views [orders]: the session has order events" [ -s "$TMP/both.orders" ]
		same_file "views [orders]: the order events of both views" "$TMP/both.orders" "$TMP/$views.orders"
	fi
done

# The real NASDAQ slice (joined mid-session: many orders are unknown) and the simulated
# file (zero length prefixes, mostly 'P'), referenced from the raw files.
for f in "$NASDAQ_SLICE" "$SIMULATED"; do
	name=$(basename "$f")
	if [ ! -f "$f" ]; then
		fail "$f not found (tests/data ships it; FH_DATA=$DATA)"
		continue
	fi
	"$FH_PCAP" convert --in "$f" --out "$TMP/$name.pcap" 2>/dev/null
	$REFEV itch "$f" --packets "$TMP/$name.pcap" --stats >"$TMP/$name.exp" 2>"$TMP/$name.stats"
	cat "$TMP/$name.stats"
	check "$name: the reference has trades" grep -q "^trade " "$TMP/$name.exp"
	events "$name" "$TMP/$name.pcap" "$TMP/$name.exp"
done
finish
