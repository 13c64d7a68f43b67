#!/usr/bin/env bash
# Recovery figures (issue 12), called by bench/run.sh; prints, never fails on time.
#  1. time to recover a hole of 1, 100 and 10,000 messages on loopback: a capture of
#     one message per packet with the hole cut from both lines, tools/mold_server.py
#     serving the session; fhd's report gives the time from the hole's hand-over to
#     the worker until it is filled (fill_last_us), 3 runs each;
#  2. RX throughput while 10,000-message recoveries run: --replay-loop (a looping
#     replay does not wait for recovery, like a wire) of the same capture, against the
#     capture without the hole in the same run;
#  3. time to join through a GLIMPSE snapshot of about 1M live orders
#     (tools/glimpse_server.py on a deep generated session): login to books built.
# The servers are Python: their own speed is part of every figure (a reply takes
# them tens of microseconds), so these are upper bounds for fhd's side.
set -euo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$B/bench-data
mkdir -p "$W"
CRAFT=$ROOT/tests/pcap_craft.py
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# serve NAME COMMAND...: a server in the background; $port from its "listening" line.
serve() {
	local name=$1
	shift
	: >"$W/$name.out"
	"$@" --listen 127.0.0.1:0 >"$W/$name.out" 2>"$W/$name.err" &
	pids+=($!)
	for _ in $(seq 1200); do
		port=$(sed -nE 's/^listening [0-9.]+:([0-9]+)$/\1/p' "$W/$name.out")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "  $name: the server did not start"; cat "$W/$name.err"; exit 1
}

unserve() {
	kill "${pids[-1]}" 2>/dev/null || true
	wait "${pids[-1]}" 2>/dev/null || true
	unset 'pids[-1]'
}

# config FILE MBUFS MB SECTION...: the bench feed with the given sections.
config() {
	local file=$1 mbufs=$2 mb=$3
	shift 3
	sed -e "s/^mbufs: .*/mbufs: $mbufs/" -e "s/\"-m\", \"[0-9]*\"/\"-m\", \"$mb\"/" \
		-e 's/^    book: .*/    book: { instruments: 1024, orders: 2097152, levels: 1024 }/' \
		"$ROOT/bench/fhd-bench.yaml" >"$file"
	for section in "$@"; do echo "    $section" >>"$file"; done
	chmod 0600 "$file"	# a snapshot password: others may not read the config
}

# cut IN OUT FIRST COUNT: the capture without sequence numbers [FIRST, FIRST + COUNT).
cut() {
	python3 - "$@" <<'PY'
import struct, sys
d, at = open(sys.argv[1], 'rb').read(), 24
first, end, out = int(sys.argv[3]), int(sys.argv[3]) + int(sys.argv[4]), [d[:24]]
while at + 16 <= len(d):
    n = struct.unpack_from('<I', d, at + 8)[0]
    m = d[at + 16 + 42:at + 16 + n]
    seq = struct.unpack_from('>Q', m, 10)[0] if len(m) >= 20 else 0
    if not first <= seq < end:
        out.append(d[at:at + 16 + n])
    at += 16 + n
open(sys.argv[2], 'wb').write(b''.join(out))
PY
}

[ -f "$W/rec.pcap" ] || "$B/fh-pcap" gen --seed 21 --messages 40000 --symbols 50 --per-packet 1 \
	--out "$W/rec.pcap" 2>/dev/null
echo "== recovery: time to fill a hole lost on both lines, loopback, mold_server (Python), 3 runs"
serve mold python3 "$ROOT/tools/mold_server.py" --pcap "$W/rec.pcap"
config "$W/rec.yaml" 65535 1536 "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 500 }"
# The reference of the same run: the server's own round trip for a 1-message request,
# from a Python client (median of 500): what no client of this server can beat.
python3 - "$port" <<'PY'
import socket, statistics, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('127.0.0.1', int(sys.argv[1])))
rtt = []
for i in range(500):
    t = time.perf_counter()
    s.send(b'FHGEN00001' + struct.pack('>QH', 1000 + i, 1))
    s.recv(2048)
    rtt.append((time.perf_counter() - t) * 1e6)
print('  server round trip alone (Python client, 1 message, median of 500): %.0f us' % statistics.median(rtt))
PY
for n in 1 100 10000; do
	cut "$W/rec.pcap" "$W/rec-$n.pcap" 20000 $n
	times=()
	for _ in 1 2 3; do
		"$B/fhd" -c "$W/rec.yaml" --replay "$W/rec-$n.pcap" >"$W/rec-$n.log" 2>&1
		times+=("$(sed -nE 's/.*fill_last_us ([0-9.]+).*/\1/p' "$W/rec-$n.log")")
	done
	printf '  %5d messages: %s us (requests %s)\n' $n "${times[*]}" \
		"$(sed -nE 's/^  recovery:.* requests ([0-9]+).*/\1/p' "$W/rec-$n.log")"
done

echo
echo "== RX throughput while 10,000-message recoveries run (--replay-loop, 5 s; same run, same capture without the hole)"
# A 200 us window: a loop lasts ~20 ms, the hole must reach the worker well within it.
config "$W/rec-loop.yaml" 524287 3072 "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 500, hold: 262144 }" \
	"reorder_window: { packets: 1024, us: 200 }"
"$B/fhd" -c "$W/rec-loop.yaml" --replay "$W/rec.pcap" --replay-loop --duration 5 >"$W/rec-loop0.log" 2>&1
"$B/fhd" -c "$W/rec-loop.yaml" --replay "$W/rec-10000.pcap" --replay-loop --duration 5 >"$W/rec-loop1.log" 2>&1
echo "  no hole:                 $(grep -E '^throughput' "$W/rec-loop0.log" | sed -E 's/.*: ([0-9]+ packets\/s).*/\1/')"
echo "  a 10,000-message hole per loop: $(grep -E '^throughput' "$W/rec-loop1.log" | sed -E 's/.*: ([0-9]+ packets\/s).*/\1/');" \
	"holes $(sed -nE 's/.*recovery: holes ([0-9]+)  filled ([0-9]+).*/\1, filled \2/p' "$W/rec-loop1.log")," \
	"gaps $(sed -nE 's/^  gaps ([0-9]+).*/\1/p' "$W/rec-loop1.log")," \
	"last fill $(sed -nE 's/.*fill_last_us ([0-9.]+).*/\1/p' "$W/rec-loop1.log") us"
unserve

echo
echo "== GLIMPSE join: a snapshot of about 1M live orders (deep session, 3.4M messages), loopback, glimpse_server (Python)"
[ -f "$W/join1m.itch" ] || "$B/fh-pcap" gen --profile deep --seed 42 --messages 3400000 --symbols 500 \
	--format itch --out "$W/join1m.itch" 2>/dev/null
# The live capture: the session's last 2000 messages (the snapshot is as of the first of them).
[ -f "$W/join1m.pcap" ] || "$B/fh-pcap" convert --in "$W/join1m.itch" --out "$W/join1m-all.pcap" 2>/dev/null
if [ ! -f "$W/join1m.pcap" ]; then
	cut "$W/join1m-all.pcap" "$W/join1m.pcap" 1 3398000
	rm -f "$W/join1m-all.pcap"
fi
serve glimpse python3 "$ROOT/tools/glimpse_server.py" --itch "$W/join1m.itch" --session FHGEN00001 \
	--as-of 3398001 --username fh --password bench
config "$W/join.yaml" 65535 3072 "snapshot: { server: \"127.0.0.1:$port\", username: fh, password: bench, timeout_ms: 60000 }"
for _ in 1 2 3; do
	"$B/fhd" -c "$W/join.yaml" --replay "$W/join1m.pcap" >"$W/join.log" 2>&1
	printf '  %s ms, %s messages, %s live orders at the end\n' \
		"$(sed -nE 's/^  snapshot:.* last_ms ([0-9.]+).*/\1/p' "$W/join.log")" \
		"$(sed -nE 's/^  snapshot:.* messages ([0-9]+).*/\1/p' "$W/join.log")" \
		"$(sed -nE 's/.*live_orders ([0-9]+).*/\1/p' "$W/join.log")"
done
unserve
