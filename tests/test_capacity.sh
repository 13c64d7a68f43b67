#!/usr/bin/env bash
# Capacity (issue 20): a session with more instruments, live orders or levels than the
# config holds leaves books wrong. Every refusal must make the whole feed STALE
# (reason capacity) where every consumer sees it, be counted in the exit report, the
# stats segment and Prometheus, and the report must name the key to raise. A book big
# enough says ok and equals tests/ref_book.py's: the check is not "always stale".
source "$(dirname "$0")/lib.sh"
FH=${FH:-$B/fh}

state() { sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$1" | head -1; }

"$FH_PCAP" gen --seed 31 --messages 20000 --symbols 60 --out "$TMP/s.pcap" 2>/dev/null
$REF pcap "$TMP/s.pcap" >"$TMP/ref.dump"

# limit NAME BOOK KEY: replay with BOOK, publishing; the feed ends STALE for capacity.
limit() {
	local name=$1 book=$2 key=$3 ring=fhcap$$-$1
	feed_yaml "$book" "stats: { prometheus_file: \"$TMP/$name.prom\" }" >"$TMP/$name.yaml"
	# stats is a top-level key: move it out of the feed (feed_yaml indents sections).
	sed -i 's/^    stats:/stats:/' "$TMP/$name.yaml"
	"$FHD" -c "$TMP/$name.yaml" --replay "$TMP/s.pcap" --publish "$ring" --dump-books "$TMP/$name.dump" \
		>"$TMP/$name.log" 2>"$TMP/$name.err"
	check "$name: fhd exited 0 ($?)" [ $? = 0 ]
	check "$name: book_state stale ($(state "$TMP/$name.log"))" [ "$(state "$TMP/$name.log")" = stale ]
	check "$name: the exit report names the key to raise" \
		grep -q "capacity: [0-9]* [a-z]* refused: raise feeds\[itch\]\.book\.$key" "$TMP/$name.log"
	if ! cmp -s "$TMP/ref.dump" "$TMP/$name.dump"; then
		pass "$name: the books are wrong ($(diff "$TMP/ref.dump" "$TMP/$name.dump" | grep -c '^[<>]') dump lines off), as the state says"
	else
		fail "$name: the books equal the reference: the limit did not bind"
	fi
	if "$FH" tail --ring "$ring-1" --json >"$TMP/$name.json" 2>"$TMP/$name.tail.err"; then
		check "$name: a consumer sees BOOK_STATE stale, reason capacity" \
			grep -q '"type":"book_state".*"reason":"capacity".*"state":"stale"' "$TMP/$name.json"
		check "$name: the last packet's end says stale" \
			bash -c "grep '\"type\":\"end_of_packet\"' '$TMP/$name.json' | tail -1 | grep -q '\"state\":\"stale\"'"
	else
		fail "$name: fh tail failed: $(tail -1 "$TMP/$name.tail.err")"
	fi
	check "$name: Prometheus counts the refusals" \
		grep -qE '^fh_book_capacity_refusals_total\{feed="itch"\} [1-9]' "$TMP/$name.prom"
	check "$name: Prometheus says stale" grep -qE '^fh_book_state\{feed="itch"\} 2' "$TMP/$name.prom"
	rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats
}

limit instruments "{ instruments: 16, orders: 262144, levels: 1024 }" instruments
limit orders "{ instruments: 256, orders: 1024, levels: 1024 }" orders
limit levels "{ instruments: 256, orders: 262144, levels: 4 }" levels

# Big enough: ok, and the reference's books.
feed_yaml "{ instruments: 256, orders: 262144, levels: 1024 }" >"$TMP/fits.yaml"
"$FHD" -c "$TMP/fits.yaml" --replay "$TMP/s.pcap" --dump-books "$TMP/fits.dump" >"$TMP/fits.log" 2>&1
check "fits: book_state ok" [ "$(state "$TMP/fits.log")" = ok ]
same_file "fits: the dump equals the reference" "$TMP/ref.dump" "$TMP/fits.dump"
check "fits: no capacity line" bash -c "! grep -q 'capacity:' '$TMP/fits.log'"

# The default config holds a full NASDAQ day (issue 20): a session of 9,000 instruments
# (NASDAQ's stock locates run past 8,000; book.c maps each locate to an instrument of
# its own) replays with the built-in config without one capacity refusal. It held
# 4,096: the rest of the session was refused (instruments_full) and its orders became
# unknown_order.

"$FH_PCAP" gen --seed 20 --messages 30000 --symbols 9000 --out "$TMP/day.pcap" >/dev/null
check "a 9,000-instrument session is made" [ -s "$TMP/day.pcap" ]
"$FHD" --replay "$TMP/day.pcap" --dump-books "$TMP/day.dump" >"$TMP/day.log" 2>&1	# the built-in config itself
check "fhd replays it with the default config (exit $?)" grep -q "^  book:" "$TMP/day.log"
grep "^  book:" "$TMP/day.log"
check "every instrument has its book (instruments $(counter "$TMP/day.log" "  book:" instruments))" \
	[ "$(counter "$TMP/day.log" "  book:" instruments)" = 9000 ]
for c in instruments_full orders_full levels_full; do
	check "no refusal: $c $(counter "$TMP/day.log" "  book:" $c)" [ "$(counter "$TMP/day.log" "  book:" $c)" = 0 ]
done
"$FHD" --print-default-config >"$TMP/default.yaml"
check "the built-in config says so" grep -qE "instruments: 16384 .*over 8,000" "$TMP/default.yaml"
finish
