#!/usr/bin/env bash
# The kernel port's own loss accounting (device "kernel:IFACE"): fhd runs in a network
# namespace with one end of a veth pair and is stopped (SIGSTOP) while tcpreplay plays a
# generated session into a 64 KiB socket buffer from the other end. The kernel's drops
# (SO_RXQ_OVFL) are counted per line and per port, every datagram sent is received or
# counted dropped (exit report, fh stat, Prometheus, telemetry), and the journal and
# rx_to_publish keep the kernel's RX times. A line's socket takes its group from its
# own interface only, not from a second veth pair where another process joined the
# same group. Books, joins, recovery and
# the source filter on this port are test_paths', beside the other live paths.
# Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

veth_netns fhk
"$FH_PCAP" gen --seed 22 --messages 20000 --symbols 20 --out "$TMP/session.pcap" 2>/dev/null
frames=$(python3 "$ROOT/tests/pcap_craft.py" count "$TMP/session.pcap")

cat >"$TMP/drops.yaml" <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: k, device: "kernel:$rx_if", rcvbuf_bytes: 65536 }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: k }
      B: { group: 233.49.196.111, udp_port: 26477, port: k }
    book: { instruments: 256, orders: 65536, levels: 256 }
stats: { interval_ms: 100, segment: fhkp$$, prometheus_file: $TMP/drops.prom }
YAML
shm_prefixes+=(fhkp$$)

# Kernel drops: fhd stopped (SIGSTOP) while the session plays into a 64 KiB buffer;
# after SIGCONT the session plays again, and its datagrams carry the socket's drop
# count (SO_RXQ_OVFL). Every datagram sent is either received or counted dropped,
# per line and per port.
mkdir -m 0700 "$TMP/journal"
started=$(date +%s.%N)
ip netns exec "$rx_ns" "$FHD" -c "$TMP/drops.yaml" --journal "$TMP/journal" >"$TMP/drops.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/drops.log" && break; sleep 0.1; done
kill -STOP "$fhd_pid"
live_play "$TMP/session.pcap"
played=$(date +%s.%N)
sleep 1
kill -CONT "$fhd_pid"
sleep 0.5
live_play "$TMP/session.pcap"
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
# ... and rx_to_publish starts there too (the start line says so): the frames that
# waited in the socket while fhd was stopped (1 s) carry that wait, processing (from
# when the feed took them) does not. A clock started after recvmmsg would show
# microseconds in both.
check "drops: the start line says where rx_to_publish starts" \
	grep -qx "fhd: port k: rx_to_publish starts at: kernel RX timestamp (SO_TIMESTAMPING, software)" "$TMP/drops.log"
max() { grep -E "^  itch +$1 " "$TMP/drops.log" | awk '{print $9}'; }
check "drops: rx_to_publish_packet max $(max rx_to_publish_packet) us holds the 1 s in the socket, processing max $(max processing) us does not" \
	awk -v a="$(max rx_to_publish_packet)" -v b="$(max processing)" \
	'BEGIN { exit !(a != "" && b != "" && a + 0 >= 800000 && a + 0 < 10000000 && b + 0 < 100000) }'
check "drops: every kernel RX stamp was usable (stamps_rejected 0)" \
	bash -c "grep -qE '^  socket .*stamps_rejected 0$' '$TMP/drops.log' && ! grep -qE '^  socket .*stamps_rejected [1-9]' '$TMP/drops.log'"
# Drops at the end: fhd stopped while the session plays, then let go with nothing
# after it. SO_RXQ_OVFL comes only with a datagram, so these drops would stay
# unreported; the RX lcore reads the count (SO_MEMINFO) when its sockets are idle,
# so fh stat shows them while fhd runs, and the exit report has them all.
sed "s/segment: fhkp$$/segment: fhkq$$/" "$TMP/drops.yaml" >"$TMP/tail.yaml"
shm_prefixes+=(fhkq$$)
ip netns exec "$rx_ns" "$FHD" -c "$TMP/tail.yaml" >"$TMP/tail.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/tail.log" && break; sleep 0.1; done
kill -STOP "$fhd_pid"
live_play "$TMP/session.pcap"
kill -CONT "$fhd_pid"
sleep 1
"$B/fh" stat --segment fhkq$$ >"$TMP/tail.stat" 2>&1
kill -TERM "$fhd_pid"
wait "$fhd_pid"
received=$(counter "$TMP/tail.log" "^port k:" received)
dropped=$(counter "$TMP/tail.log" "^port k:" kernel_dropped)
line_a=$(counter "$TMP/tail.log" "^  line A:" kernel_dropped)
line_b=$(counter "$TMP/tail.log" "^  line B:" kernel_dropped)
check "tail drops: received $received + dropped $dropped = sent $frames, with no datagram after the drops" \
	[ "${dropped:-0}" -gt 0 -a "$((received + dropped))" = "$frames" ]
check "tail drops: fh stat showed them while fhd ran ($(grep kernel_dropped "$TMP/tail.stat"))" \
	grep -qE "^  kernel_dropped: A $line_a  B $line_b  recovery 0$" "$TMP/tail.stat"

# The group on another interface: a process other than fhd joins line A's group on a
# second veth pair, and datagrams to the group are sent there and on fhd's interface,
# 40 each (MoldUDP64 heartbeats). The joiner takes the 40 of its interface (they did
# reach the host); line A only the 40 of its own. Linux's default (IP_MULTICAST_ALL
# on) would hand fhd's socket, bound to the group, both: a local user joining the
# group anywhere could feed the line.
ip -n "$rx_ns" link add "${rx_if}o" type veth peer name "${tx_if}o" netns "$tx_ns"
ip -n "$rx_ns" link set "${rx_if}o" up
ip -n "$rx_ns" addr add 10.0.1.254/24 dev "${rx_if}o"
ip -n "$tx_ns" link set "${tx_if}o" up
ip -n "$tx_ns" addr add 10.0.1.1/24 dev "${tx_if}o"
ip -n "$tx_ns" addr add 10.0.0.1/24 dev "$tx_if"
feed_yaml "{ instruments: 256, orders: 65536, levels: 256 }" |
	sed "s|^ports: .*|ports: [ { name: p0, device: \"kernel:$rx_if\" } ]|" >"$TMP/other.yaml"
ip netns exec "$rx_ns" timeout 30 python3 -c 'import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IP, 49, 0)	# IP_MULTICAST_ALL off: its own interface only
s.bind(("233.54.12.111", 26477))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
	     struct.pack("4s4si", socket.inet_aton("233.54.12.111"), bytes(4), socket.if_nametoindex(sys.argv[1])))
print("joined", flush=True)
s.settimeout(3)
n = 0
try:
	while True:
		s.recv(2048)
		n += 1
except socket.timeout:
	pass
print("received", n, flush=True)' "${rx_if}o" >"$TMP/joiner.log" 2>&1 &
joiner_pid=$!
ip netns exec "$rx_ns" "$FHD" -c "$TMP/other.yaml" >"$TMP/other.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/other.log" && grep -q joined "$TMP/joiner.log" && break; sleep 0.1; done
send_group() {
	ip netns exec "$tx_ns" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
for seq in range(1, 41):
	s.sendto(b"OTHERIF000" + seq.to_bytes(8, "big") + bytes(2), ("233.54.12.111", 26477))' "$1"
}
send_group 10.0.1.1
send_group 10.0.0.1
sleep 0.5
kill -TERM "$fhd_pid"
wait "$fhd_pid"
wait "$joiner_pid"
joiner=$(sed -n 's/^received //p' "$TMP/joiner.log")
line_a=$(counter "$TMP/other.log" "^  line A:" packets)
check "other interface: the joiner there received its 40 datagrams ($joiner)" [ "${joiner:-0}" = 40 ]
check "other interface: line A took the 40 of its own interface, none of the other's ($line_a)" \
	[ "${line_a:-0}" = 40 ]
finish
