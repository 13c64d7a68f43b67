#!/usr/bin/env bash
# fhd's HTTP /metrics (stats.http): what curl gets passes `promtool check metrics` and is
# the very text the Prometheus file holds for the same stats tick, served while fhd
# replays a capture in a loop; /other is 404 and POST 405; a bad stats.http is refused
# with file:line:column (exit 2, before DPDK), and so is a port another program holds.
# Skips (77) without promtool (Debian: prometheus) or curl.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "promtool not installed (apt-get install prometheus): skip"; exit 77; }
command -v curl >/dev/null || { echo "curl not installed: skip"; exit 77; }
seg=fh-http-test-$$
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -f /dev/shm/$seg; rm -rf "$TMP"' EXIT
mkdir -m 0700 "$TMP/out"

# A port free now: the kernel picks it; a port held: a listener of our own keeps it.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
config() { feed_yaml "{ instruments: 64, orders: 65536, levels: 256 }"; echo "stats: { segment: $seg, interval_ms: 100, $1 }"; }

# Bad values: file:line:column, the key, exit 2, no EAL output.
for bad in '"127.0.0.1:0"' '"127.0.0.1:65536"' '"localhost:9110"' '"224.0.0.1:9110"' '"127.0.0.1"' '9110'; do
	config "http: $bad" >"$TMP/bad.yaml"
	"$FHD" -c "$TMP/bad.yaml" --replay "$ROOT/pcaps/itch-faults.pcap" >"$TMP/bad.out" 2>&1
	rc=$?
	line=$(grep -n '^stats:' "$TMP/bad.yaml" | cut -d: -f1)
	check "stats.http: $bad refused: exit 2 ($rc), bad.yaml:$line:column ($(head -1 "$TMP/bad.out"))" \
		bash -c "[ $rc = 2 ] && grep -qE 'bad.yaml:$line:[0-9]+: stats.http: expected' '$TMP/bad.out' && ! grep -qE 'EAL|TELEMETRY' '$TMP/bad.out'"
done

# A port in use: refused at start with the reason, exit 2, before DPDK.
held=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("listening", flush=True); time.sleep(60)' "$held" >"$TMP/holder.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$TMP/holder.out" && break; sleep 0.1; done
config "http: \"127.0.0.1:$held\"" >"$TMP/held.yaml"
"$FHD" -c "$TMP/held.yaml" --replay "$ROOT/pcaps/itch-faults.pcap" >"$TMP/held.out" 2>&1
rc=$?
check "a port in use: exit 2 ($rc), said ($(grep stats.http "$TMP/held.out"))" \
	bash -c "[ $rc = 2 ] && grep -qE '^fhd: stats.http: cannot listen on 127.0.0.1:$held \(bind: Address already in use\)' '$TMP/held.out' && ! grep -qE 'EAL|TELEMETRY' '$TMP/held.out'"
kill "${pids[0]}" 2>/dev/null

# The served run: a looping replay (counters grow every tick) for a few seconds.
port=$(free_port)
url=http://127.0.0.1:$port
config "http: \"127.0.0.1:$port\", prometheus_file: $TMP/out/fh.prom" >"$TMP/run.yaml"
"$FHD" -c "$TMP/run.yaml" --replay "$ROOT/pcaps/itch-faults.pcap" --replay-loop --duration 14 \
	>"$TMP/fhd.out" 2>"$TMP/fhd.err" &
fhd_pid=$!
pids+=($fhd_pid)
for _ in $(seq 100); do [ -s "$TMP/out/fh.prom" ] && break; sleep 0.1; done
check "fhd says where it serves" grep -qF "fhd: metrics on $url/metrics" "$TMP/fhd.err"
# The same tick's text: the file read before and after a scrape is unchanged (no tick in
# between, and every tick changes it: the replay loops), so the scrape must equal it.
same=0 differ=0 grown=0 last=
for _ in $(seq 30); do
	cp "$TMP/out/fh.prom" "$TMP/before.prom"
	curl -s -o "$TMP/scrape.prom" -D "$TMP/scrape.head" "$url/metrics" || break
	cp "$TMP/out/fh.prom" "$TMP/after.prom"
	packets=$(sed -nE 's/^fh_packets_total\{feed="itch"\} ([0-9]+)$/\1/p' "$TMP/scrape.prom")
	[ -n "$last" ] && [ -n "$packets" ] && [ "$packets" -gt "$last" ] && grown=$((grown + 1))
	last=$packets
	if cmp -s "$TMP/before.prom" "$TMP/after.prom"; then
		if cmp -s "$TMP/before.prom" "$TMP/scrape.prom"; then same=$((same + 1)); else differ=$((differ + 1)); cp "$TMP/scrape.prom" "$TMP/differ.prom"; cp "$TMP/before.prom" "$TMP/differ.file"; fi
	fi
	sleep 0.07
done
check "/metrics is the file's text for the same tick ($same scrapes equal, $differ differ)" \
	bash -c "[ $same -gt 0 ] && [ $differ = 0 ]"
[ $differ = 0 ] || diff "$TMP/differ.file" "$TMP/differ.prom" | head -10
check "the counters move between scrapes ($grown times; fh_packets_total last $last > 0)" \
	bash -c "[ $grown -gt 0 ] && [ '${last:-0}' -gt 0 ]"
check "Content-Type: text/plain; version=0.0.4" grep -qiE '^Content-Type: text/plain; version=0\.0\.4' "$TMP/scrape.head"
promtool check metrics <"$TMP/scrape.prom" >"$TMP/promtool.out" 2>&1
rc=$?
cat "$TMP/promtool.out"
check "promtool check metrics on /metrics: no complaint (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$TMP/promtool.out' ]"
check "/metrics has the latency summaries, both clocks (rx_to_publish_packet and processing)" \
	bash -c "grep -qE '^fh_latency_seconds_count\{feed=\"itch\",kind=\"rx_to_publish_packet\"\} [0-9]+$' '$TMP/scrape.prom' &&
	grep -qE '^fh_latency_seconds_count\{feed=\"itch\",kind=\"processing\"\} [0-9]+$' '$TMP/scrape.prom'"
# Bounded: with METRICS_HTTP_CONNECTIONS_MAX (4) idle connections held, a fifth is closed at
# once (not queued behind them); the idle ones are closed after METRICS_HTTP_TIMEOUT_S (5 s),
# and then a scrape is answered again. fhd keeps counting meanwhile.
python3 - "$port" "$url/metrics" >"$TMP/limit.out" 2>&1 <<'PY'
import socket, subprocess, sys, time
port, url = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
time.sleep(0.2)  # fhd accepts them on its next polls
curl = ["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url]
print("fifth", subprocess.run(curl, capture_output=True, text=True).stdout)
start = time.time()
closed = 0
for s in held:
    s.settimeout(10)
    closed += s.recv(1) == b""
print("closed", closed, "after", int(time.time() - start + 0.2))
print("then", subprocess.run(curl, capture_output=True, text=True).stdout)
PY
cat "$TMP/limit.out"
check "4 idle connections held: a fifth is closed at once" grep -qx "fifth 000" "$TMP/limit.out"
check "the idle ones are closed by the timeout (4..8 s)" grep -qE "^closed 4 after [4-8]$" "$TMP/limit.out"
check "then a scrape is answered again" grep -qx "then 200" "$TMP/limit.out"
before=$last
last=$(curl -s "$url/metrics" | sed -nE 's/^fh_packets_total\{feed="itch"\} ([0-9]+)$/\1/p')
check "fhd counted on meanwhile (fh_packets_total $before -> $last)" bash -c "[ '${last:-0}' -gt '${before:-0}' ]"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/other")
check "GET /other: 404 ($code)" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/")
check "GET /: 404 ($code)" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$url/metrics")
check "POST /metrics: 405 ($code)" [ "$code" = 405 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$url/metrics")
check "DELETE /metrics: 405 ($code)" [ "$code" = 405 ]
wait $fhd_pid
rc=$?
check "fhd ran its --duration and stopped cleanly (exit $rc)" [ $rc = 0 ]
[ $rc = 0 ] || tail -20 "$TMP/fhd.err"
promtool check metrics <"$TMP/out/fh.prom" >"$TMP/promtool.out" 2>&1
rc=$?
check "promtool check metrics on the file: no complaint (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$TMP/promtool.out' ]"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/metrics")
check "after fhd stops nothing listens on the port (curl: $code)" [ "$code" = 000 ]
finish
