#!/usr/bin/env bash
# Hostile captures through the sanitizer build (ASan + UBSan, any finding aborts): frames
# that lie at every layer (tests/pcap_craft.py hostile), instruments named with quotes,
# escapes and control bytes (symbols), and pcapng/pcap oddities (odd). fhd exits 0,
# every received frame lands in exactly one counter, the consumers' JSON stays JSON,
# and no byte of an exchange's symbol drives the terminal.
source "$(dirname "$0")/lib.sh"

FHD=$B/asan/fhd
FH=$B/asan/fh
CRAFT="python3 $ROOT/tests/pcap_craft.py"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ring=fhhostile$$
trap 'rm -rf "$TMP"; rm -f /dev/shm/$ring-*' EXIT

# counted LOG: the frames in fhd's per-line and unrouted counters (each frame in one).
counted() {
	grep -E "^  line [AB]:|^unrouted" "$1" | grep -oE "(packets|bad_frame|truncated|bad_ip|fragment|bad_udp|not_udp|not_ipv4|wrong_source|udp) [0-9]+" |
		awk '{s+=$2} END {print s+0}'
}
received() {
	grep -E "^port " "$1" | grep -oE "received [0-9]+" | awk '{s+=$2} END {print s+0}'
}
segmented() {
	grep -oE "segmented [0-9]+" "$1" | awk '{s+=$2} END {print s+0}'
}
json_valid() {
	python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    json.loads(line)
    n += 1
sys.exit(0 if n > 0 else 1)' "$1"
}

# Frames lying at every layer.
$CRAFT hostile "$TMP/h.pcap"
frames=$(python3 -c "import sys; sys.path.insert(0, '$ROOT/tests'); import pcap_craft; print(len(pcap_craft.hostile_frames()))")
"$FHD" --replay "$TMP/h.pcap" --publish $ring --dump-books "$TMP/h.dump" >"$TMP/h.log" 2>&1
check "hostile frames: sanitizer build exits 0" [ $? = 0 ]
check "hostile frames: all $frames received ($(received "$TMP/h.log"))" [ "$(received "$TMP/h.log")" = "$frames" ]
check "hostile frames: each in exactly one counter ($(counted "$TMP/h.log"))" [ "$(counted "$TMP/h.log")" = "$frames" ]
check "hostile frames: bad ITCH messages counted" \
	bash -c '[ "$(grep -oE "bad_length [0-9]+" "$1" | head -1 | cut -d" " -f2)" -gt 0 ] &&
		 [ "$(grep -oE "unknown_type [0-9]+" "$1" | head -1 | cut -d" " -f2)" -gt 0 ]' _ "$TMP/h.log"
"$FH" tail --ring $ring-1 --json >"$TMP/h.json" 2>"$TMP/h.tail.err"
rc=$?	# before the message's $(...), which would set $? to its own status
check "hostile frames: fh tail exits 0 ($rc: $(tail -1 "$TMP/h.tail.err"))" [ $rc = 0 ]
check "hostile frames: fh tail --json is JSON, line by line" json_valid "$TMP/h.json"
"$FH" tail --ring $ring-1 --quiet --dump-books "$TMP/h.tail.dump" 2>/dev/null
same_file "hostile frames: books from the events equal fhd's dump" "$TMP/h.dump" "$TMP/h.tail.dump"
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats

# Symbols with quotes, backslashes, escape sequences, control and non-ASCII bytes.
$CRAFT symbols "$TMP/s.pcap"
"$FHD" --replay "$TMP/s.pcap" --publish $ring --top 30 >"$TMP/s.log" 2>&1
check "odd symbols: sanitizer build exits 0" [ $? = 0 ]
check "odd symbols: fhd --top sends no control byte to the terminal" \
	bash -c '! LC_ALL=C grep -q "[[:cntrl:]]" <(tr -d "\n\t" <"$1")' _ "$TMP/s.log"
"$FH" tail --ring $ring-1 --json >"$TMP/s.json" 2>/dev/null
check "odd symbols: fh tail --json is JSON, line by line" json_valid "$TMP/s.json"
check "odd symbols: the quoted symbol escaped in JSON" grep -qF '"symbol":"\"QUOTE\""' "$TMP/s.json"
"$FH" tail --ring $ring-1 >"$TMP/s.txt" 2>/dev/null
check "odd symbols: fh tail sends no control byte to the terminal" \
	bash -c '! LC_ALL=C grep -q "[[:cntrl:]]" <(tr -d "\n" <"$1")' _ "$TMP/s.txt"
"$FH" top --ring $ring-1 --once >"$TMP/s.top" 2>&1
check "odd symbols: fh top sends no control byte to the terminal" \
	bash -c '! LC_ALL=C grep -q "[[:cntrl:]]" <(tr -d "\n" <"$1")' _ "$TMP/s.top"
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats

# A session with nothing in it: the ring holds no book event, only the stop. fh tail's
# dump of no books is empty, like fhd's (it sorted a NULL array: UBSan stopped it).
head -c 24 "$ROOT/pcaps/itch-demo.pcap" >"$TMP/empty.pcap"
"$FHD" --replay "$TMP/empty.pcap" --publish $ring --dump-books "$TMP/e.dump" >"$TMP/e.log" 2>&1
check "empty session: sanitizer build exits 0" [ $? = 0 ]
"$FH" tail --ring $ring-1 --quiet --dump-books "$TMP/e.tail.dump" 2>"$TMP/e.tail.err"
rc=$?
check "empty session: fh tail --dump-books exits 0 ($rc: $(grep -m1 -E "runtime error|events read" "$TMP/e.tail.err"))" [ $rc = 0 ]
same_file "empty session: no books from the events, none in fhd's dump" "$TMP/e.dump" "$TMP/e.tail.dump"
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats

# pcapng and pcap oddities: each replays what libpcap reads, says where it stopped, and
# accounts for every frame it received (decoded or counted as segmented).
for kind in noiface spb twoshb tsresol caplenblock origshort hugeblock unknownblk bigendian jumbo \
	be ns snap0 fcs; do
	$CRAFT odd $kind "$ROOT/pcaps/itch-demo.pcap" "$TMP/o.pcap"
	"$FHD" --replay "$TMP/o.pcap" >"$TMP/o.log" 2>&1
	rc=$?
	got=$(received "$TMP/o.log") n=$(($(counted "$TMP/o.log") + $(segmented "$TMP/o.log")))
	check "capture $kind: exit 0 ($rc), $got frames received, $n accounted for" \
		bash -c "[ $rc = 0 ] && [ '$got' -gt 0 ] && [ '$got' = '$n' ] && grep -qE '^replay .* stopped: (end of file|unreadable after)' '$TMP/o.log'"
done
# Frames beyond one mbuf are neither decoded nor journaled: the journal says how many
# it took, the segmented line says these are not among them.
$CRAFT odd jumbo "$ROOT/pcaps/itch-demo.pcap" "$TMP/o.pcap"
mkdir -m 700 "$TMP/journal"
"$FHD" --replay "$TMP/o.pcap" --journal "$TMP/journal" >"$TMP/j.log" 2>&1
check "jumbo frames journaled: exit 0, the segmented ones said not journaled" \
	bash -c "[ $? = 0 ] && grep -q 'segmented 10 (frames larger than one mbuf, not decoded nor journaled)' '$TMP/j.log'"
finish
