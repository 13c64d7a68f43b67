#!/usr/bin/env bash
# Multi-process publish tests: fhd replays a generated session onto a shared-memory
# ring while separate consumer processes (build/fh, linked against libfh only) read it.
#  - a fast consumer reads every event in order and rebuilds books from the level
#    events alone: its dump must equal fhd's --dump-books;
#  - a deliberately slow consumer is lapped: it must say so, and what it read plus what
#    it was told it lost must equal exactly what the fast one read; it resynchronises
#    through the conflated view and ends with fhd's top 10 levels per side;
#  - a consumer killed mid-read changes nothing for fhd or the others;
#  - a consumer started after fhd has stopped still sees the whole session when the
#    ring holds it;
#  - fhd killed and restarted under a running consumer: it reattaches and ends with
#    the books of the new run.
source "$(dirname "$0")/lib.sh"

FH=$B/fh
ring=fhtest$$
cleanup_shm() { rm -f /dev/shm/$ring-* /dev/shm/${ring}r-*; }
trap 'cleanup_shm; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

"$FH_PCAP" gen --seed 17 --messages 120000 --symbols 40 --out "$TMP/s.pcap" 2>/dev/null
pub_yaml $ring 262144 10 >"$TMP/pub.yaml"

"$FH" tail --ring $ring-1 --wait --quiet --dump-books "$TMP/fast.dump" 2>"$TMP/fast.err" &
fast=$!
"$FH" tail --ring $ring-1 --wait --quiet --slow-us 3000 --dump-books "$TMP/slow.dump" 2>"$TMP/slow.err" &
slow=$!
"$FH" tail --ring $ring-1 --wait --quiet --slow-us 1000 >/dev/null 2>&1 &
doomed=$!
sleep 0.3
"$FHD" -c "$TMP/pub.yaml" --replay "$TMP/s.pcap" --dump-books "$TMP/fhd.dump" >"$TMP/fhd.log" 2>&1 &
fhd=$!
sleep 0.05
kill -9 $doomed 2>/dev/null
wait $fhd
check "fhd with consumers attached exits 0" [ $? = 0 ]
wait $fast
check "fast consumer exits 0 at fhd's stop" [ $? = 0 ]
wait $slow
$REF pcap "$TMP/s.pcap" >"$TMP/ref.dump"
same_file "fhd dump equals the reference" "$TMP/ref.dump" "$TMP/fhd.dump"
same_file "fast consumer's books (from level events) equal fhd's dump" "$TMP/fhd.dump" "$TMP/fast.dump"
fast_read=$(grep -oE "[0-9]+ events read" "$TMP/fast.err" | awk '{print $1}')
fast_lost=$(grep -oE "[0-9]+ lost" "$TMP/fast.err" | awk '{print $1}')
check "fast consumer lost nothing ($fast_read read, $fast_lost lost)" [ "$fast_lost" = 0 ]
cat "$TMP/slow.err" | tail -2
slow_read=$(grep -oE "[0-9]+ events read" "$TMP/slow.err" | awk '{print $1}')
slow_lost=$(grep -oE "[0-9]+ lost in" "$TMP/slow.err" | awk '{print $1}')
check "slow consumer was lapped and told so ($slow_lost lost)" [ "${slow_lost:-0}" -gt 0 ]
check "slow consumer: read + lost = every event ($slow_read + $slow_lost = $fast_read)" \
	[ $((slow_read + slow_lost)) = "$fast_read" ]
# Lapped, it resynchronised through the conflated view: its top 10 levels per side
# (the config's depth) must be exactly fhd's.
top10() { awk '{k=$1" "$2" "$3; if (++n[k] <= 10) print}' "$1"; }
top10 "$TMP/fhd.dump" >"$TMP/fhd.top"
top10 "$TMP/slow.dump" >"$TMP/slow.top"
same_file "slow consumer ends with fhd's top 10 levels per side" "$TMP/fhd.top" "$TMP/slow.top"
check "fhd counted every message despite the slow consumer" \
	[ "$(counter "$TMP/fhd.log" "^  messages" messages)" = 120000 ]

# fhd killed mid-run and restarted under a running consumer.
sed "s/ring: $ring,/ring: ${ring}r,/" "$TMP/pub.yaml" >"$TMP/pubr.yaml"
"$FHD" -c "$TMP/pubr.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 30 >/dev/null 2>&1 &
first=$!
"$FH" tail --ring ${ring}r-1 --wait --quiet --dump-books "$TMP/restart.dump" 2>"$TMP/restart.err" &
consumer=$!
sleep 1.5
kill -9 $first
wait $first 2>/dev/null
"$FHD" -c "$TMP/pubr.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --dump-books "$TMP/second.dump" >/dev/null 2>&1
check "restarted fhd exits 0" [ $? = 0 ]
wait $consumer
check "consumer noticed the restart" grep -q "restarted" "$TMP/restart.err"
same_file "consumer across a restart ends with the new run's books" "$TMP/second.dump" "$TMP/restart.dump"

# A consumer started after fhd stopped reads the whole session (the ring holds it all).
"$FH" tail --ring ${ring}r-1 --quiet --dump-books "$TMP/late.dump" 2>/dev/null
same_file "late consumer's books equal fhd's dump" "$TMP/second.dump" "$TMP/late.dump"

# fh top: one frame from the conflated view; best bid and ask per symbol as in the dump.
"$FH" top --ring ${ring}r-1 --once >"$TMP/top.txt"
awk '$3 == "B" && !(($1" "$2) in b) {b[$1" "$2] = $4} $3 == "S" && !(($1" "$2) in s) {s[$1" "$2] = $4}
     END {for (k in b) print k, b[k], (k in s ? s[k] : "-")}' "$TMP/second.dump" | sort >"$TMP/top.want"
awk 'NR > 2 {print $1, $2, $4, $5}' "$TMP/top.txt" | sort >"$TMP/top.got"
same_file "fh top shows the dump's best bid and ask per symbol" "$TMP/top.want" "$TMP/top.got"
finish
