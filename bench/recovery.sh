#!/usr/bin/env bash
# Recovery figures (issue 12), sourced by bench/run.sh as its last three sections, or
# run alone (bench/recovery.sh [BUILD_DIR]); prints, never fails on time.
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
# them tens of microseconds), so these are upper bounds for fhd's side. With
# FH_BENCH_QUICK=1 (bench/lib.sh) the sessions, holes and runs are tiny.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	B=${1:-build}
	ROOT=$(cd "$(dirname "$0")/.." && pwd)
	source "$ROOT/bench/lib.sh"
fi
CRAFT=$ROOT/tests/pcap_craft.py
REC_N=$(sized 40000 4000)		# messages of the recovery capture, one per packet
REC_AT=$((REC_N / 2))			# the first sequence number of each hole
REC_HOLES=$(sized "1 100 10000" "1 10 100")
REC_RUNS=$(sized 3 1)
REC_SECONDS=${FH_BENCH_SECONDS:-$(sized 5 0.3)}
JOIN_N=$(sized 3400000 20000)		# messages of the GLIMPSE session
JOIN_LIVE=2000				# its last messages, replayed live after the snapshot
JOIN_ORDERS=$(sized 2097152 65536)	# the book's orders (about 1M live at the snapshot)
# The servers a section started: pids, which section_cleanup (bench/lib.sh) kills.
# serve NAME COMMAND...: a server in the background; $port from its "listening" line.
serve() {
	local name=$1
	shift
	: >"$W/$name.out"
	"$@" --listen 127.0.0.1:0 >"$W/$name.out" 2>"$W/$name.err" &
	section_pids+=($!)
	for _ in $(seq 1200); do
		port=$(sed -nE 's/^listening [0-9.]+:([0-9]+)$/\1/p' "$W/$name.out")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "  $name: the server did not start"; cat "$W/$name.err"; return 1
}

unserve() {
	kill "${section_pids[-1]}" 2>/dev/null || true
	wait "${section_pids[-1]}" 2>/dev/null || true
	unset 'section_pids[-1]'
}

# config FILE MBUFS MB ORDERS SECTION...: the bench feed with the given feed sections;
# MBUFS "auto" leaves the pool's size to fhd (what its holds need).
config() {
	local file=$1 mbufs=$2 mb=$3 orders=$4 line
	shift 4
	sed -e "s/^mbufs: .*/mbufs: $mbufs/" -e '/^mbufs: auto$/d' -e "s/\"-m\", \"[0-9]*\"/\"-m\", \"$mb\"/" \
		-e "s/^    book: .*/    book: { instruments: 1024, orders: $orders, levels: 1024 }/" \
		"$ROOT/bench/fhd-bench.yaml" >"$file"
	for line in "$@"; do echo "    $line" >>"$file"; done
	chmod 0600 "$file"	# a snapshot password: others may not read the config
}

# hole_cut IN OUT FIRST COUNT: the capture without sequence numbers [FIRST, FIRST + COUNT).
hole_cut() {
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

# The recovery capture (one message per packet), made once.
rec_capture() {
	[ -f "$W/rec.pcap" ] || "$B/fh-pcap" gen --seed 21 --messages "$REC_N" --symbols 50 --per-packet 1 \
		--out "$W/rec.pcap" 2>/dev/null
}

recovery_fill() {
	local n times run t
	echo "== recovery: time to fill a hole lost on both lines, loopback, mold_server (Python), $REC_RUNS runs"
	rec_capture
	serve mold python3 "$ROOT/tools/mold_server.py" --pcap "$W/rec.pcap"
	config "$W/rec.yaml" auto "$(sized 1536 512)" "$(sized 2097152 65536)" \
		"recovery: { server: \"127.0.0.1:$port\", timeout_ms: 500 }"
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
	for n in $REC_HOLES; do
		hole_cut "$W/rec.pcap" "$W/rec-$n.pcap" $REC_AT $n
		times=()
		for ((run = 1; run <= REC_RUNS; run++)); do
			"$B/fhd" -c "$W/rec.yaml" --replay "$W/rec-$n.pcap" >"$W/rec-$n.log" 2>&1 ||
				{ tail -5 "$W/rec-$n.log"; return 1; }
			t=$(sed -nE 's/.*fill_last_us ([0-9.]+).*/\1/p' "$W/rec-$n.log")
			figure "time to fill a $n-message hole" "$t"
			times+=("$t")
		done
		printf '  %5d messages: %s us (requests %s)\n' $n "${times[*]}" \
			"$(sed -nE 's/^  recovery:.* requests ([0-9]+).*/\1/p' "$W/rec-$n.log")"
	done
	unserve
}

recovery_throughput() {
	local n=${REC_HOLES##* } r0 r1
	echo "== RX throughput while $n-message recoveries run (--replay-loop, ${REC_SECONDS}s; same run, same capture without the hole)"
	rec_capture
	hole_cut "$W/rec.pcap" "$W/rec-$n.pcap" $REC_AT $n
	serve mold python3 "$ROOT/tools/mold_server.py" --pcap "$W/rec.pcap"
	# A 200 us window: a loop lasts ~20 ms, the hole must reach the worker well within it.
	config "$W/rec-loop.yaml" "$(sized 524287 32767)" "$(sized 3072 512)" "$(sized 2097152 65536)" \
		"recovery: { server: \"127.0.0.1:$port\", timeout_ms: 500, hold: $(sized 262144 8192) }" \
		"reorder_window: { packets: 1024, us: 200 }"
	"$B/fhd" -c "$W/rec-loop.yaml" --replay "$W/rec.pcap" --replay-loop --duration "$REC_SECONDS" \
		>"$W/rec-loop0.log" 2>&1 || { tail -5 "$W/rec-loop0.log"; return 1; }
	"$B/fhd" -c "$W/rec-loop.yaml" --replay "$W/rec-$n.pcap" --replay-loop --duration "$REC_SECONDS" \
		>"$W/rec-loop1.log" 2>&1 || { tail -5 "$W/rec-loop1.log"; return 1; }
	r0=$(sed -nE 's/^throughput: .*: ([0-9]+) packets\/s.*/\1/p' "$W/rec-loop0.log")
	r1=$(sed -nE 's/^throughput: .*: ([0-9]+) packets\/s.*/\1/p' "$W/rec-loop1.log")
	figure "RX packets/s, no hole" "$r0"
	figure "RX packets/s, a hole per loop" "$r1"
	echo "  no hole:                 $r0 packets/s"
	echo "  a $n-message hole per loop: $r1 packets/s;" \
		"holes $(sed -nE 's/.*recovery: holes ([0-9]+)  filled ([0-9]+).*/\1, filled \2/p' "$W/rec-loop1.log")," \
		"gaps $(sed -nE 's/^  gaps ([0-9]+).*/\1/p' "$W/rec-loop1.log")," \
		"last fill $(sed -nE 's/.*fill_last_us ([0-9.]+).*/\1/p' "$W/rec-loop1.log") us"
	unserve
}

glimpse_join() {
	local as_of=$((JOIN_N - JOIN_LIVE + 1)) run ms
	echo "== GLIMPSE join: a snapshot of $(sized "about 1M live orders (deep session, 3.4M messages)" "a deep session of $JOIN_N messages"), loopback, glimpse_server (Python)"
	[ -f "$W/join.itch" ] || "$B/fh-pcap" gen --profile deep --seed 42 --messages "$JOIN_N" --symbols 500 \
		--format itch --out "$W/join.itch" 2>/dev/null
	# The live capture: the session's last JOIN_LIVE messages (the snapshot is as of the first of them).
	if [ ! -f "$W/join.pcap" ]; then
		"$B/fh-pcap" convert --in "$W/join.itch" --out "$W/join-all.pcap" 2>/dev/null
		hole_cut "$W/join-all.pcap" "$W/join.pcap" 1 $((as_of - 1))
		rm -f "$W/join-all.pcap"
	fi
	serve glimpse python3 "$ROOT/tools/glimpse_server.py" --itch "$W/join.itch" --session FHGEN00001 \
		--as-of $as_of --username fh --password bench
	config "$W/join.yaml" auto "$(sized 3072 512)" "$JOIN_ORDERS" \
		"snapshot: { server: \"127.0.0.1:$port\", username: fh, password: bench, timeout_ms: 60000 }"
	for ((run = 1; run <= REC_RUNS; run++)); do
		"$B/fhd" -c "$W/join.yaml" --replay "$W/join.pcap" >"$W/join.log" 2>&1 || { tail -5 "$W/join.log"; return 1; }
		ms=$(sed -nE 's/^  snapshot:.* last_ms ([0-9.]+).*/\1/p' "$W/join.log")
		figure "time to join" "$ms"
		printf '  %s ms, %s messages, %s live orders at the end\n' "$ms" \
			"$(sed -nE 's/^  snapshot:.* messages ([0-9]+).*/\1/p' "$W/join.log")" \
			"$(sed -nE 's/.*live_orders ([0-9]+).*/\1/p' "$W/join.log")"
	done
	unserve
}

section recovery_fill recovery_fill
echo
section recovery_throughput recovery_throughput
echo
section glimpse_join glimpse_join
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	sections_end
	exit
fi
