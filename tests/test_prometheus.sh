#!/usr/bin/env bash
# fhd's Prometheus file passes `promtool check metrics` (issue 20: fh_recovery_fill_*_ns
# and fh_recovery_lost_count broke Prometheus's naming rules), on a replay with a
# recovery section whose holes are given up on. What the RX lcores count while fhd
# runs is there, and in the stats segment `fh stat` reads, not only in the exit
# report: the book's capacity refusals (books too small for the session here), the
# snapshot counters, each line's bad_sequence, and the ports with pool_low beside
# no_mbuf. Skips (77) without promtool (Debian: prometheus).
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "promtool not installed (apt-get install prometheus): skip"; exit 77; }
seg=fh-prom-test-$$
trap 'rm -f /dev/shm/$seg; rm -rf "$TMP"' EXIT
mkdir -m 0700 "$TMP/out"
feed_yaml "{ instruments: 2, orders: 4096, levels: 64 }" \
	'recovery: { server: "127.0.0.1:9", timeout_ms: 20, retries: 0 }' >"$TMP/prom.yaml"
echo "stats: { segment: $seg, interval_ms: 100, prometheus_file: $TMP/out/fh.prom }" >>"$TMP/prom.yaml"
"$FHD" -c "$TMP/prom.yaml" --replay "$ROOT/pcaps/itch-faults.pcap" >"$TMP/fhd.out" 2>"$TMP/fhd.err"
rc=$?
check "fhd replays with a recovery section and a Prometheus file (exit $rc)" [ $rc = 0 ] || tail -5 "$TMP/fhd.err"
check "the Prometheus file is written" [ -s "$TMP/out/fh.prom" ]
promtool check metrics <"$TMP/out/fh.prom" >"$TMP/promtool.out" 2>&1
rc=$?
cat "$TMP/promtool.out"
check "promtool check metrics: no complaint (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$TMP/promtool.out' ]"
# fh_build_info names the build: the Makefile's FH_VERSION (read here independently of
# fhd) and the revision `git describe` gave at build time, a commit of this repository
# (-dirty: an edited tree); fhd --version says the same.
version=$(sed -nE 's/^FH_VERSION := (.*)$/\1/p' "$ROOT/Makefile")
info=$(grep -E '^fh_build_info\{' "$TMP/out/fh.prom")
check "fh_build_info has the Makefile's version ($info)" \
	grep -qE "^fh_build_info\{version=\"${version//./\\.}\",revision=\"[^\"]*\"\} 1$" "$TMP/out/fh.prom"
built=$(sed -nE 's/.*revision="([^"]*)".*/\1/p' <<<"$info")
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	check "fh_build_info's revision '$built' is a commit of this repository" \
		bash -c 'git -C "$1" rev-parse -q --verify "$2^{commit}" &>/dev/null' _ "$ROOT" "${built%-dirty}"
fi
check "fhd --version says the same build ($("$FHD" --version))" \
	[ "$("$FHD" --version)" = "fhd $version${built:+ ($built)}" ]
check "durations in seconds: fh_recovery_fill_last_seconds" grep -q '^fh_recovery_fill_last_seconds{feed="itch"} ' "$TMP/out/fh.prom"
refused=$(sed -nE 's/^fh_book_refused_total\{feed="itch",what="instruments"\} ([0-9]+)$/\1/p' "$TMP/out/fh.prom")
report=$(counter "$TMP/fhd.out" "  book:" instruments_full)
check "fh_book_refused_total{what=\"instruments\"} is the exit report's instruments_full ($refused = $report, > 0)" \
	bash -c "[ -n '$refused' ] && [ '$refused' = '$report' ] && [ '$refused' -gt 0 ]"
for m in 'fh_book_refused_total{feed="itch",what="orders"}' 'fh_book_refused_total{feed="itch",what="levels"}' \
	 'fh_snapshot_dropped_packets_total{feed="itch"}' 'fh_snapshots_confirmed_total{feed="itch"}' \
	 'fh_snapshots_unconfirmed_total{feed="itch"}' 'fh_bad_sequence_total{feed="itch",line="A"}' \
	 'fh_bad_sequence_total{feed="itch",line="B"}' 'fh_bad_sequence_total{feed="itch",line="recovery"}' \
	 'fh_port_no_mbuf_total{port="itch-faults.pcap"}' 'fh_port_pool_low_total{port="itch-faults.pcap"}'; do
	check "Prometheus has $m" grep -qF "$m " "$TMP/out/fh.prom"
done
received=$(sed -nE 's/^fh_port_packets_total\{port="itch-faults.pcap"\} ([0-9]+)$/\1/p' "$TMP/out/fh.prom")
check "fh_port_packets_total is the port's received ($received)" \
	[ "$received" = "$(counter "$TMP/fhd.out" "^port " received)" ]
check "the exit report's port line has pool_low beside no_mbuf" \
	grep -qE "^port .*itch-faults.pcap: received [0-9]+  missed [0-9]+  no_mbuf [0-9]+  pool_low 0  errors [0-9]+$" "$TMP/fhd.out"
"$B/fh" stat --segment $seg >"$TMP/stat.txt" 2>&1
check "fh stat: the book's refusals ($(grep 'book refused' "$TMP/stat.txt"))" \
	grep -qE "^  book refused \(capacity\): instruments_full $report  orders_full [0-9]+  levels_full [0-9]+  \(raise feeds\[\]\.book\." "$TMP/stat.txt"
check "fh stat: the snapshot counters and bad_sequence per line" \
	grep -qE "^  snapshot: dropped 0  confirmed 0  unconfirmed 0  bad_sequence: A 0  B 0  recovery 0$" "$TMP/stat.txt"
check "fh stat: the port with pool_low" \
	grep -qE "^port itch-faults.pcap: received $received  missed 0  no_mbuf 0  pool_low 0  errors 0$" "$TMP/stat.txt"
"$B/fh" stat --segment $seg --json >"$TMP/stat.json" 2>&1
check "fh stat --json: the same, as JSON" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
f = s["feeds"][0]
sys.exit(not (f["instruments_full"] == int(sys.argv[2]) and f["bad_sequence"] == {"A": 0, "B": 0, "recovery": 0}
              and "snapshot_dropped" in f and s["ports"][0]["pool_low"] == 0 and s["ports"][0]["name"] == "itch-faults.pcap"))
' "$TMP/stat.json" "$report"
finish
