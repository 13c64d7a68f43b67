#!/usr/bin/env bash
# A capture clock far from the exchange's is a clock problem, not a latency: feed
# delays that come out negative (capture clock 3 h behind) or beyond the histogram's
# 68.7 s range (3 h ahead) are counted apart, shown in fhd's exit lines, `fh stat`
# (text and JSON) and the Prometheus file, and kept out of the percentiles; `fh
# report` still draws the run. tests/pcap_clock.py moves the timestamps and counts,
# from the frames themselves, the packets whose applied copy it moved.
source "$(dirname "$0")/lib.sh"

"$FH_PCAP" gen --seed 21 --messages 5000 --out "$TMP/g.pcap" 2>/dev/null || fail "fh-pcap gen"
ahead=$(python3 "$ROOT/tests/pcap_clock.py" "$TMP/g.pcap" "$TMP/ahead.pcap" 10800 600)
python3 "$ROOT/tests/pcap_clock.py" "$TMP/g.pcap" "$TMP/behind.pcap" -10800 >/dev/null

# replay NAME PCAP: fhd with a stats segment and a Prometheus file, --hist-out NAME.h
shm_prefixes+=(fhtest-skew-$$-)
replay() {
	mkdir -p "$TMP/$1.h"
	{ "$FHD" --print-default-config
	  printf 'stats:\n  interval_ms: 200\n  segment: fhtest-skew-%s-%s\n  prometheus_file: %s/%s.prom\n' $$ "$1" "$TMP" "$1"
	} >"$TMP/$1.yaml"
	"$FHD" -c "$TMP/$1.yaml" --replay "$2" --hist-out "$TMP/$1.h" >"$TMP/$1.log" 2>&1 || fail "$1: replay exited non-zero"
	"$B/fh" stat --segment "fhtest-skew-$$-$1" >"$TMP/$1.stat" 2>&1
	"$B/fh" stat --segment "fhtest-skew-$$-$1" --json >"$TMP/$1.json" 2>&1
	rm -f "/dev/shm/fhtest-skew-$$-$1"
	won=$(( $(counter "$TMP/$1.log" "line A:" won) + $(counter "$TMP/$1.log" "line B:" won) ))
}
col() { grep -E "^  itch +feed_delay +[0-9]" "$TMP/$1.log" | awk -v c="$2" '{print $c}'; }
json() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["feeds"][0][sys.argv[2]])' "$TMP/$1.json" "$2"; }

# 3 h ahead from the 600th frame on.
replay ahead "$TMP/ahead.pcap"
echo "ahead: $ahead packets moved, $won applied"
check "some packets moved ahead ($ahead of $won)" test "$ahead" -gt 0 -a "$ahead" -lt "$won"
check "exit line counts the out-of-range delays ($ahead)" \
	grep -qE "^  itch +feed_delay: $ahead packets stamped by the exchange more than 68.7 s before" "$TMP/ahead.log"
check "the percentiles count only the others ($(col ahead 3) = $won - $ahead)" [ "$(col ahead 3)" = $((won - ahead)) ]
check "the percentiles hold no skewed value (max $(col ahead 9) us < 1000)" \
	awk -v v="$(col ahead 9)" 'BEGIN {exit !(v > 0 && v < 1000)}'
check "fh stat shows the counter" grep -qE "^  feed_delay not timed .*negative 0  out_of_range $ahead$" "$TMP/ahead.stat"
check "fh stat --json shows the counter" [ "$(json ahead feed_delay_out_of_range)" = "$ahead" ]
check "fh stat --json: total feed_delay count excludes it" \
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["feeds"][0]["total"]["feed_delay"]["count"])' "$TMP/ahead.json")" = $((won - ahead)) ]
check "Prometheus file shows the counter" grep -qx "fh_feed_delay_out_of_range_total{feed=\"itch\"} $ahead" "$TMP/ahead.prom"
check "the .hgrm holds no overflow" bash -c "! grep -q 68719476 '$TMP/ahead.h/itch.feed_delay.hgrm'"

# 3 h behind, every frame.
replay behind "$TMP/behind.pcap"
check "behind: exit line counts every applied packet as negative ($won)" \
	grep -qE "^  itch +feed_delay: $won packets stamped by the exchange after their RX time" "$TMP/behind.log"
check "behind: no percentile from them" [ "$(col behind 3)" = 0 ]
check "behind: fh stat --json" [ "$(json behind feed_delay_negative)" = "$won" ]
check "behind: Prometheus" grep -qx "fh_feed_delay_negative_total{feed=\"itch\"} $won" "$TMP/behind.prom"

# fh report draws both runs.
if command -v gnuplot >/dev/null; then
	"$B/fh" report "$TMP/ahead.h" "$TMP/behind.h" -o "$TMP/r.png" >"$TMP/report.txt" 2>&1
	check "fh report on the skewed runs exits 0" [ $? = 0 ]
	check "fh report draws a PNG" bash -c "head -c 8 '$TMP/r.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
else
	echo "gnuplot not installed: fh report not checked"
fi
finish
