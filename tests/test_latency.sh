#!/usr/bin/env bash
# Latency figures where users look for them: a replay prints each feed's HdrHistogram
# percentile distributions and table, with counts that agree with fhd's own counters;
# --hist-out files hold the same distributions; `fh stat` reads a running fhd (text
# and JSON) and sees it stop; the Prometheus file is well formed; `fh report` draws a
# PNG from two runs. Accuracy itself is tests/test_hist.c's job.
source "$(dirname "$0")/lib.sh"

"$FH_PCAP" gen --seed 12 --messages 30000 --symbols 20 --out "$TMP/g.pcap" 2>/dev/null
mkdir -p "$TMP/h1" "$TMP/h2"
"$FHD" --replay "$TMP/g.pcap" --hist-out "$TMP/h1" >"$TMP/r1.log" 2>&1 || fail "replay exited non-zero"
for kind in rx_to_publish_packet rx_to_publish_message feed_delay processing; do
	check "replay prints the $kind distribution" grep -q "^latency itch $kind (us), percentile distribution:" "$TMP/r1.log"
	check "--hist-out wrote itch.$kind.hgrm" grep -q "^#\[Buckets = " "$TMP/h1/itch.$kind.hgrm"
done
messages=$(counter "$TMP/r1.log" "^  messages" messages)
won=$(( $(counter "$TMP/r1.log" "line A:" won) + $(counter "$TMP/r1.log" "line B:" won) ))
table() { grep -E "^  itch +$1 " "$TMP/r1.log" | awk '{print $3}'; }
check "per message: one value for each message applied ($(table rx_to_publish_message) = $messages)" [ "$(table rx_to_publish_message)" = "$messages" ]
check "per packet: one value for each packet applied ($(table rx_to_publish_packet) = $won)" [ "$(table rx_to_publish_packet)" = "$won" ]
check "feed delay: every packet timed, none negative ($(table feed_delay))" [ "$(table feed_delay)" = "$won" ]
check "processing: one value for each packet applied ($(table processing) = $won)" [ "$(table processing)" = "$won" ]
# rx_to_publish starts at the burst's RX stamp, processing when the feed takes the
# frame: the first includes the wait behind the rest of the burst (a replay reads
# bursts of up to 32 frames), so it is at least processing at every percentile and
# above it at the median. Were both started at the feed, the medians would be equal.
row() { grep -E "^  itch +$1 " "$TMP/r1.log" | awk '{print $4, $5, $6, $7, $8, $9}'; }
check "rx_to_publish_packet includes the wait: >= processing at every percentile, > at p50 ($(row rx_to_publish_packet) vs $(row processing))" \
	awk -v a="$(row rx_to_publish_packet)" -v b="$(row processing)" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " "); if (n != 6 || m != 6) exit 1
		for (i = 1; i <= 6; i++) if (x[i] + 0 < y[i] + 0) exit 1
		exit !(x[1] + 0 > y[1] + 0) }'
check "--hist-out: processing counts the same packets as rx_to_publish_packet" \
	[ "$(sed -n 's/^#\[Max .*Total count *= *\([0-9]*\)\]/\1/p' "$TMP/h1/itch.processing.hgrm")" = "$won" ]
total=$(sed -n 's/^#\[Max .*Total count *= *\([0-9]*\)\]/\1/p' "$TMP/h1/itch.rx_to_publish_message.hgrm")
check "the .hgrm footer counts the same ($total)" [ "$total" = "$messages" ]
# the generator stamps packets 20..49 us after the exchange time of their last message
p50=$(grep -E "^  itch +feed_delay " "$TMP/r1.log" | awk '{print $4}')
check "feed delay from capture time is plausible (p50 $p50 us within 20..200)" \
	awk -v v="$p50" 'BEGIN {exit !(v >= 20 && v <= 200)}'

# Publishing, a packet's RX -> publish time is the moment its END_OF_PACKET was
# committed: the histogram must hold exactly the publish_delta_ns consumers read in
# those events (one each, same mean and max to the ns), not a later clock read.
ring=fhlat$$
shm_prefixes+=($ring- fhtest-$$)
pub_yaml $ring 262144 4 0600 >"$TMP/pub.yaml"
mkdir -p "$TMP/h3"
"$FHD" -c "$TMP/pub.yaml" --replay "$TMP/g.pcap" --hist-out "$TMP/h3" >"$TMP/r3.log" 2>&1 || fail "publishing replay exited non-zero"
footer() { sed -n "s/^#\[$1 *= *\([0-9.]*\),.*/\1/p" "$TMP/h3/itch.rx_to_publish_packet.hgrm"; }
check "rx_to_publish_packet is the END_OF_PACKET events' publish_delta_ns (mean $(footer Mean) us, max $(footer Max) us)" \
	python3 - "$ROOT/tests" "$B/libfh.so" $ring-1 "$(footer Mean)" "$(footer Max)" \
	"$(sed -n 's/^#\[Max .*Total count *= *\([0-9]*\)\]/\1/p' "$TMP/h3/itch.rx_to_publish_packet.hgrm")" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ref_events
d = [e[8] for e in ref_events.ring_raw(sys.argv[2], sys.argv[3]) if e[1] == ref_events.TYPE_PACKET]
mean, top, count = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print('events %d, mean %.3f us, max %.3f us' % (len(d), sum(d) / len(d) / 1e3, max(d) / 1e3))
sys.exit(0 if len(d) == count and abs(sum(d) / len(d) / 1e3 - mean) < 0.0011 and
         abs(max(d) / 1e3 - top) < 0.0011 else 1)
PY
rm -f /dev/shm/$ring-*

# fh stat against a running fhd.
{ "$FHD" --print-default-config; printf 'stats:\n  interval_ms: 200\n  segment: fhtest-%s\n  prometheus_file: %s/metrics.prom\n' $$ "$TMP"; } >"$TMP/stats.yaml"
"$FHD" -c "$TMP/stats.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 3 >"$TMP/live.log" 2>&1 &
pid=$!
# Until fhd has published an interval with packets (its start is slower on a loaded
# machine than the 1.5 s this once slept), for at most 10 s.
for _ in $(seq 100); do
	sleep 0.1
	"$B/fh" stat --segment fhtest-$$ --json 2>/dev/null | python3 -c 'import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["state"] == "running" and s["feeds"][0]["interval"]["processing"]["count"] > 0 else 1)' 2>/dev/null && break
done
"$B/fh" stat --segment fhtest-$$ >"$TMP/stat.txt" 2>&1
"$B/fh" stat --segment fhtest-$$ --json >"$TMP/stat.json" 2>&1
cp "$TMP/metrics.prom" "$TMP/metrics.running" 2>/dev/null
wait $pid
check "fh stat reads the running fhd" grep -qE "^fhd pid $pid, running" "$TMP/stat.txt"
check "fh stat --json: running, packets flowing, interval percentiles" python3 - "$TMP/stat.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
f = s["feeds"][0]
l = f["interval"]["rx_to_publish_packet"]
p = f["interval"]["processing"]
t, tp = f["total"]["rx_to_publish_packet"], f["total"]["processing"]
ok = s["state"] == "running" and f["name"] == "itch" and f["packets"] > 0 and f["packets_per_s"] > 0 \
    and l["count"] > 0 and 0 < l["p50_ns"] <= l["p99_ns"] <= l["max_ns"] \
    and p["count"] == l["count"] and t["count"] == tp["count"] > 0 \
    and all(t[k] >= tp[k] for k in ("p50_ns", "p90_ns", "p99_ns", "max_ns"))
print(json.dumps(f["interval"]["rx_to_publish_packet"]), json.dumps(p))
sys.exit(0 if ok else 1)
PY
check "fh stat shows both clocks, interval and total" bash -c "grep -qE '^  rx_to_publish_packet +interval +[1-9]' '$TMP/stat.txt' &&
	grep -qE '^  processing +interval +[1-9]' '$TMP/stat.txt'"
check "status lines in the log each interval" [ "$(grep -c '^fhd: itch: .* pkt/s .* rx->pub p50' "$TMP/live.log")" -ge 5 ]
"$B/fh" stat --segment fhtest-$$ >"$TMP/stat2.txt" 2>&1
check "fh stat after the stop says stopped" grep -qE "^fhd pid $pid, stopped" "$TMP/stat2.txt"
check "Prometheus file: counters and a latency summary" bash -c "grep -qE '^fh_packets_total\{feed=\"itch\"\} [1-9]' '$TMP/metrics.running' &&
	grep -qE '^fh_latency_seconds\{feed=\"itch\",kind=\"rx_to_publish_packet\",quantile=\"0.99\"\} [0-9.e-]+$' '$TMP/metrics.running' &&
	grep -qE '^fh_latency_seconds\{feed=\"itch\",kind=\"processing\",quantile=\"0.99\"\} [0-9.e-]+$' '$TMP/metrics.running'"
check "Prometheus file: the book state gauge (0 ok, 1 recovering, 2 stale) and the recovery counters" \
	bash -c "grep -q '^# TYPE fh_book_state gauge$' '$TMP/metrics.running' &&
	grep -qE '^fh_book_state\{feed=\"itch\"\} [012]$' '$TMP/metrics.running' &&
	grep -qE '^fh_recovery_requests_total\{feed=\"itch\"\} [0-9]+$' '$TMP/metrics.running'"
check "Prometheus file: every sample line is name{labels} value" \
	bash -c "! grep -vE '^(# (HELP|TYPE) .*|[a-z_]+\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\} [0-9.e+-]+)$' '$TMP/metrics.running'"
rm -f /dev/shm/fhtest-$$
"$B/fh" stat --segment fhtest-$$ >/dev/null 2>&1
check "fh stat without a segment: exit 1" [ $? = 1 ]

# fh report over two runs.
"$FHD" --replay "$ROOT/pcaps/itch-faults.pcap" --hist-out "$TMP/h2" >/dev/null 2>&1
"$B/fh" report "$TMP/h1" "$TMP/h2" -o "$TMP/r.png" >"$TMP/report.txt" 2>&1
check "fh report draws a PNG" bash -c "head -c 8 '$TMP/r.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "fh report's table has both runs for each latency" [ "$(grep -c "^itch\." "$TMP/report.txt")" = 8 ]
check "fh report's table has the processing histogram" grep -q "^itch\.processing " "$TMP/report.txt"
"$FHD" --replay "$ROOT/pcaps/itch-demo.pcap" --hist-out "$TMP/nonexistent" >"$TMP/nodir.log" 2>&1
check "--hist-out to a missing directory: exit 2" [ $? = 2 ]
finish
