#!/usr/bin/env bash
# The kernel port (device "kernel:IFACE"): fhd runs in a network namespace of its own
# with one end of a veth pair; tcpreplay plays a generated session into the other end
# from a second namespace. fhd's line sockets take the datagrams through the kernel's
# UDP stack (recvmmsg), and the books equal the independent reference. The groups are
# joined on the veth while fhd runs (ip maddr) and left after it stops; with a line
# `source` that is not the sender nothing is taken, with the sender's everything is.
# Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
	echo "skip: needs root, iproute2 and tcpreplay"
	exit 77
fi
rx_ns=fhkrx$$
tx_ns=fhktx$$
rx_if=fhk$$a
tx_if=fhk$$b
cleanup() {
	ip netns del "$rx_ns" 2>/dev/null
	ip netns del "$tx_ns" 2>/dev/null
	lib_cleanup
}
trap cleanup EXIT
if ! ip netns add "$rx_ns" 2>/dev/null || ! ip netns add "$tx_ns" 2>/dev/null ||
	! ip link add "$rx_if" type veth peer name "$tx_if" 2>/dev/null; then
	echo "skip: network namespaces or veth pairs are not allowed here"
	exit 77
fi
ip link set "$rx_if" netns "$rx_ns"
ip link set "$tx_if" netns "$tx_ns"
ip -n "$rx_ns" link set lo up
ip -n "$rx_ns" link set "$rx_if" up
ip -n "$tx_ns" link set "$tx_if" up
# The session's senders (10.0.0.1 and .2) are on the receiver's link: the kernel's
# reverse-path check lets their datagrams in. Only inside the namespace.
ip -n "$rx_ns" addr add 10.0.0.254/24 dev "$rx_if"

"$FH_PCAP" gen --seed 22 --messages 20000 --symbols 20 --out "$TMP/session.pcap" 2>/dev/null
$REF pcap "$TMP/session.pcap" >"$TMP/ref.dump"

# config SOURCE_A SOURCE_B [RCVBUF]: the feed on the kernel port, with line sources when given.
config() {
	local sa= sb= rcvbuf=${3:-8388608}
	[ -n "$1" ] && sa=", source: $1"
	[ -n "$2" ] && sb=", source: $2"
	cat <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: k, device: "kernel:$rx_if", rcvbuf_bytes: $rcvbuf }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: k$sa }
      B: { group: 233.49.196.111, udp_port: 26477, port: k$sb }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML
}

# run NAME SOURCE_A SOURCE_B: fhd in the receiver's namespace while the session plays.
run_fhd() {
	local name=$1
	config "$2" "$3" >"$TMP/$name.yaml"
	ip netns exec "$rx_ns" "$FHD" -c "$TMP/$name.yaml" --dump-books "$TMP/$name.dump" >"$TMP/$name.log" 2>&1 &
	fhd_pid=$!
	for _ in $(seq 100); do grep -q "running" "$TMP/$name.log" && break; sleep 0.1; done
	ip -n "$rx_ns" maddr show dev "$rx_if" >"$TMP/$name.maddr.during"
	ip netns exec "$tx_ns" tcpreplay -q --intf1="$tx_if" --pps=20000 "$TMP/session.pcap" >"$TMP/tcpreplay.log" 2>&1
	sleep 0.5
	kill -TERM "$fhd_pid"
	wait "$fhd_pid"
	rc=$?
	ip -n "$rx_ns" maddr show dev "$rx_if" >"$TMP/$name.maddr.after"
	check "$name: SIGTERM stops fhd cleanly (exit $rc)" [ "$rc" = 0 ]
}

# The capture's frames, counted apart from fhd: its records.
frames=$(python3 - "$TMP/session.pcap" <<'PY'
import struct, sys
d, at, n = open(sys.argv[1], 'rb').read(), 24, 0
while at + 16 <= len(d):
    at += 16 + struct.unpack_from('<I', d, at + 8)[0]
    n += 1
print(n)
PY
)

run_fhd asm "" ""
same_file "asm: book dump equals reference" "$TMP/ref.dump" "$TMP/asm.dump"
check "asm: no gap" [ "$(counter "$TMP/asm.log" "^  gaps" gaps)" = 0 ]
grep -E "^port|^  socket|joined|left" "$TMP/asm.log"
received=$(counter "$TMP/asm.log" "^port k:" received)
check "asm: the sockets received every frame ($received of $frames), the kernel dropped none" \
	[ "$received" = "$frames" -a "$(counter "$TMP/asm.log" "^port k:" kernel_dropped)" = 0 ]
check "asm: both groups joined on $rx_if while fhd ran" \
	grep -q "233.54.12.111" "$TMP/asm.maddr.during"
check "asm: ... the second too" grep -q "233.49.196.111" "$TMP/asm.maddr.during"
check "asm: both left after it stopped" \
	bash -c "! grep -qE '233.54.12.111|233.49.196.111' '$TMP/asm.maddr.after'"
check "asm: each join and leave logged with the interface" \
	[ "$(grep -cE "(joined|left) group .* on $rx_if\$" "$TMP/asm.log")" = 4 ]
check "asm: no receive buffer warning (rcvbuf_bytes honoured)" \
	bash -c "! grep -q 'receive buffer' '$TMP/asm.log'"
# rx_to_publish starts at the kernel's RX stamp (softirq time), mapped to the TSC;
# processing when the feed takes the frame, after recvmmsg returned it: the socket
# queue and the system call are in the first and not in the second, so its median
# is at least processing's (the drops run below shows the stamp is the kernel's).
check "asm: the start line says where rx_to_publish starts" \
	grep -q "port k: rx_to_publish starts at: kernel RX timestamp" "$TMP/asm.log"
p50() { grep -E "^  itch +$1 " "$TMP/asm.log" | awk '{print $4}'; }
check "asm: rx_to_publish_packet p50 $(p50 rx_to_publish_packet) us >= processing p50 $(p50 processing) us, below 10 ms" \
	awk -v a="$(p50 rx_to_publish_packet)" -v b="$(p50 processing)" \
	'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0 && a + 0 < 10000) }'
check "asm: every kernel RX stamp was usable (stamps_rejected 0)" \
	bash -c "! grep -E '^  socket .*stamps_rejected [1-9]' '$TMP/asm.log'"

run_fhd ssm_wrong 10.0.0.9 10.0.0.9
check "ssm, another source: nothing taken ($(counter "$TMP/ssm_wrong.log" "^port k:" received))" \
	[ "$(counter "$TMP/ssm_wrong.log" "^port k:" received)" = 0 ]
check "ssm, another source: joined with the source filter" \
	grep -q "joined group 233.54.12.111 source 10.0.0.9 on $rx_if" "$TMP/ssm_wrong.log"

run_fhd ssm 10.0.0.1 10.0.0.2
same_file "ssm, the senders: book dump equals reference" "$TMP/ref.dump" "$TMP/ssm.dump"
check "ssm, the senders: every frame ($(counter "$TMP/ssm.log" "^port k:" received) of $frames)" \
	[ "$(counter "$TMP/ssm.log" "^port k:" received)" = "$frames" ]
check "ssm: left after it stopped" \
	bash -c "! grep -qE '233.54.12.111|233.49.196.111' '$TMP/ssm.maddr.after'"

# Kernel drops: fhd stopped (SIGSTOP) while the session plays into a 64 KiB buffer;
# after SIGCONT the session plays again, and its datagrams carry the socket's drop
# count (SO_RXQ_OVFL). Every datagram sent is either received or counted dropped,
# per line and per port.
{ config "" "" 65536; printf 'stats: { interval_ms: 100, segment: fhkp%s, prometheus_file: %s/drops.prom }\n' $$ "$TMP"; } \
	>"$TMP/drops.yaml"
shm_prefixes+=(fhkp$$)
mkdir -m 0700 "$TMP/journal"
started=$(date +%s.%N)
ip netns exec "$rx_ns" "$FHD" -c "$TMP/drops.yaml" --journal "$TMP/journal" >"$TMP/drops.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/drops.log" && break; sleep 0.1; done
kill -STOP "$fhd_pid"
ip netns exec "$tx_ns" tcpreplay -q --intf1="$tx_if" --pps=20000 "$TMP/session.pcap" >"$TMP/tcpreplay.log" 2>&1
played=$(date +%s.%N)
sleep 1
kill -CONT "$fhd_pid"
sleep 0.5
ip netns exec "$tx_ns" tcpreplay -q --intf1="$tx_if" --pps=20000 "$TMP/session.pcap" >"$TMP/tcpreplay.log" 2>&1
sleep 0.5
sock=$(sed -nE 's/^fhd: DPDK telemetry on ([^ ]+) .*/\1/p' "$TMP/drops.log")
[ -n "$sock" ] && python3 "$ROOT/tools/fh_telemetry.py" --socket "$sock" /fh/feeds >"$TMP/drops.telemetry" 2>&1
kill -TERM "$fhd_pid"
wait "$fhd_pid"
ended=$(date +%s.%N)
received=$(counter "$TMP/drops.log" "^port k:" received)
dropped=$(counter "$TMP/drops.log" "^port k:" kernel_dropped)
line_a=$(counter "$TMP/drops.log" "^  line A:" kernel_dropped)
line_b=$(counter "$TMP/drops.log" "^  line B:" kernel_dropped)
check "drops: the kernel dropped some ($dropped) while fhd was stopped" [ "${dropped:-0}" -gt 0 ]
check "drops: received $received + dropped $dropped = sent $((2 * frames))" \
	[ "$((received + dropped))" = "$((2 * frames))" ]
check "drops: the lines' kernel_dropped ($line_a + $line_b) are the port's" [ "$((line_a + line_b))" = "$dropped" ]
# The same per-line counts while fhd runs: the stats segment (fh stat, text and JSON),
# the Prometheus file and telemetry's /fh/feeds, against the exit report's line rows.
"$B/fh" stat --segment fhkp$$ >"$TMP/drops.stat" 2>&1
"$B/fh" stat --segment fhkp$$ --json >"$TMP/drops.json" 2>&1
check "drops: fh stat shows kernel_dropped per line ($(grep kernel_dropped "$TMP/drops.stat"))" \
	grep -qE "^  kernel_dropped: A $line_a  B $line_b  recovery 0$" "$TMP/drops.stat"
check "drops: fh stat --json too" python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["feeds"][0]
sys.exit(f["kernel_dropped"] != {"A": int(sys.argv[2]), "B": int(sys.argv[3]), "recovery": 0})' \
	"$TMP/drops.json" "$line_a" "$line_b"
check "drops: Prometheus fh_kernel_dropped_total per line" bash -c \
	"grep -qx 'fh_kernel_dropped_total{feed=\"itch\",line=\"A\"} $line_a' '$TMP/drops.prom' &&
	 grep -qx 'fh_kernel_dropped_total{feed=\"itch\",line=\"B\"} $line_b' '$TMP/drops.prom'"
if [ -n "$sock" ]; then
	check "drops: telemetry /fh/feeds has line_A_kernel_dropped and line_B_kernel_dropped" python3 -c 'import json, sys
f = json.loads(open(sys.argv[1]).readline())["/fh/feeds"]["itch"]
sys.exit(not (f["line_A_kernel_dropped"] == int(sys.argv[2]) and f["line_B_kernel_dropped"] == int(sys.argv[3])))' \
		"$TMP/drops.telemetry" "$line_a" "$line_b"
else
	echo "drops: fhd named no DPDK telemetry socket: /fh/feeds not read"
fi
# The journal's times are the kernel's RX stamps: what the first play left in the
# buffer was stamped before fhd was let go (1 s later), not when fhd read it.
tshark -r "$TMP"/journal/fh-*.pcapng -T fields -e frame.time_epoch >"$TMP/times" 2>/dev/null
early=$(awk -v t="$played" '$1 <= t + 0.2 { n++ } END { print n + 0 }' "$TMP/times")
inside=$(awk -v a="$started" -v b="$ended" '$1 >= a && $1 <= b { n++ } END { print n + 0 }' "$TMP/times")
check "drops: the journal has the kernel's RX times ($early frames stamped while fhd was stopped, read 1 s later)" \
	[ "$early" -gt 0 ]
check "drops: every journal time is within the run ($inside of $received)" [ "$inside" = "$received" ]
# ... and rx_to_publish starts there too: the frames that waited in the socket while
# fhd was stopped (1 s) carry that wait, processing (from when the feed took them)
# does not. A clock started after recvmmsg would show microseconds in both.
max() { grep -E "^  itch +$1 " "$TMP/drops.log" | awk '{print $9}'; }
check "drops: rx_to_publish_packet max $(max rx_to_publish_packet) us holds the 1 s in the socket, processing max $(max processing) us does not" \
	awk -v a="$(max rx_to_publish_packet)" -v b="$(max processing)" \
	'BEGIN { exit !(a != "" && b != "" && a + 0 >= 800000 && a + 0 < 10000000 && b + 0 < 100000) }'
finish
