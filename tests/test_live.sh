#!/usr/bin/env bash
# Live path: fhd receives on a veth through DPDK's net_af_packet PMD while tcpreplay
# plays a capture into the other end from a network namespace this test creates.
# SIGTERM then stops fhd cleanly (exit 0, counters, book dump), and the books equal
# the independent reference. Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
	echo "skip: needs root, iproute2 and tcpreplay"
	exit 77
fi
ns=fhtest$$
host_if=fhv$$a
peer_if=fhv$$b
cleanup() {
	ip netns del "$ns" 2>/dev/null
	ip link del "$host_if" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "${FH_KEEP:-}" ] && trap 'ip netns del "$ns" 2>/dev/null; ip link del "$host_if" 2>/dev/null; echo kept $TMP' EXIT
ip netns add "$ns" || exit 77
ip link add "$host_if" type veth peer name "$peer_if" || exit 77
ip link set "$peer_if" netns "$ns"
ip link set "$host_if" up
ip -n "$ns" link set "$peer_if" up
ip -n "$ns" link set lo up

cat >"$TMP/live.yaml" <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: veth, device: "net_af_packet0,iface=$host_if" }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: veth }
      B: { group: 233.49.196.111, udp_port: 26477, port: veth }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML

pcap=$ROOT/pcaps/itch-faults.pcap
"$FHD" -c "$TMP/live.yaml" --dump-books "$TMP/live.dump" >"$TMP/live.log" 2>&1 &
fhd_pid=$!
# Wait until fhd is polling (it says so on stderr), then play the capture.
for _ in $(seq 100); do grep -q "running" "$TMP/live.log" && break; sleep 0.1; done
check "fhd started on net_af_packet" grep -q "running" "$TMP/live.log"
# The kernel owns the veth under net_af_packet: fhd holds each line's group on it.
ip maddr show dev "$host_if" >"$TMP/maddr.during"
ip netns exec "$ns" tcpreplay -q --intf1="$peer_if" --pps=20000 "$pcap" >"$TMP/tcpreplay.log" 2>&1
sleep 0.5
kill -TERM "$fhd_pid"
wait "$fhd_pid"
rc=$?
check "SIGTERM stops fhd cleanly (exit $rc)" [ "$rc" = 0 ]
check "net_af_packet: both groups joined on $host_if while fhd ran, left after" \
	bash -c "grep -q 233.54.12.111 '$TMP/maddr.during' && grep -q 233.49.196.111 '$TMP/maddr.during' &&
		! ip maddr show dev '$host_if' | grep -qE '233.54.12.111|233.49.196.111'"
check "net_af_packet: the joins and leaves logged with the interface (membership only)" \
	[ "$(grep -cE "(joined group .* on $host_if \(membership only\)|left group .* on $host_if)\$" "$TMP/live.log")" = 4 ]
$REF pcap "$pcap" >"$TMP/ref.dump"
same_file "live: book dump equals reference" "$TMP/ref.dump" "$TMP/live.dump"
check "live: no gap" [ "$(counter "$TMP/live.log" gaps gaps)" = 0 ]
grep -E "^port|^  line" "$TMP/live.log"
# net_af_packet has no rte_flow: said once for the port, at start, with the clock line.
check "net_af_packet: one line says the PMD has no rte_flow ($(grep -c 'rte_flow' "$TMP/live.log"))" \
	bash -c "[ \"\$(grep -c 'rte_flow' '$TMP/live.log')\" = 1 ] &&
		grep -qx 'fhd: port veth: no rte_flow on this PMD (net_af_packet): all lines on queue 0, as received' '$TMP/live.log'"
check "net_af_packet: rx_to_publish starts at the TSC after rx_burst, said once" \
	grep -qx 'fhd: port veth: rx_to_publish starts at: TSC after rx_burst (the PMD offers no NIC RX timestamp)' "$TMP/live.log"
# flow_isolate where the PMD cannot: refused at start, exit 1 (setting up a port failed).
sed "s/\\(iface=$host_if\"\\) }/\\1, flow_isolate: true }/" "$TMP/live.yaml" >"$TMP/isolate.yaml"
timeout 60 "$FHD" -c "$TMP/isolate.yaml" >"$TMP/isolate.log" 2>&1
rc=$?
check "flow_isolate on net_af_packet: refused at start, exit 1 ($rc: $(grep flow_isolate "$TMP/isolate.log"))" \
	bash -c "[ $rc = 1 ] && grep -q '^fhd: port veth: flow_isolate: the PMD (net_af_packet) cannot isolate' '$TMP/isolate.log'"

# Recovery live: packets lost on both lines are re-requested from tools/mold_server.py
# on loopback while tcpreplay goes on (a wire does not wait); the books equal the
# complete session's.
"$FH_PCAP" gen --seed 31 --messages 20000 --symbols 20 --out "$TMP/full.pcap" 2>/dev/null
dropped=$(python3 "$ROOT/tests/pcap_craft.py" drop-both "$TMP/full.pcap" "$TMP/lossy.pcap" 0.02 31)
python3 "$ROOT/tools/mold_server.py" --pcap "$TMP/full.pcap" --listen 127.0.0.1:0 >"$TMP/mold.out" 2>&1 &
mold_pid=$!
for _ in $(seq 200); do grep -q "^listening" "$TMP/mold.out" && break; sleep 0.1; done
port=$(sed -nE 's/^listening [0-9.]+:([0-9]+)$/\1/p' "$TMP/mold.out")
sed "s/^    book: .*/&\n    recovery: { server: \"127.0.0.1:$port\", timeout_ms: 200 }/" "$TMP/live.yaml" >"$TMP/rec.yaml"
"$FHD" -c "$TMP/rec.yaml" --dump-books "$TMP/rec.dump" >"$TMP/rec.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/rec.log" && break; sleep 0.1; done
ip netns exec "$ns" tcpreplay -q --intf1="$peer_if" --pps=20000 "$TMP/lossy.pcap" >"$TMP/tcpreplay.log" 2>&1
sleep 1
kill -TERM "$fhd_pid"
wait "$fhd_pid"
kill "$mold_pid" 2>/dev/null
$REF pcap "$TMP/full.pcap" >"$TMP/ref-full.dump"
same_file "live recovery: $dropped packets lost on both lines, dump equals the complete session's" \
	"$TMP/ref-full.dump" "$TMP/rec.dump"
check "live recovery: no gap, holes filled ($(counter "$TMP/rec.log" "recovery: holes" filled))" \
	[ "$(counter "$TMP/rec.log" "^  gaps" gaps)" = 0 -a "$(counter "$TMP/rec.log" "recovery: holes" filled)" -gt 0 ]

# Late join live (issue 20): the capture starts mid-session and the GLIMPSE spin is
# paced to last about 3 s (4 ms a packet) while the lines run at 2,000 packets/s. The lines must wait in
# the snapshot's own hold (snapshot.hold), not the 1,024-packet reorder window (which
# dropped the oldest, left a hole after End of Snapshot, went STALE and logged in again
# and again), and the snapshot is confirmed by the lines: one login, ok, the complete
# session's books.
# The capture from the first packet at or past 8001; the snapshot as of that packet.
join_seq=$(python3 "$ROOT/tests/pcap_craft.py" from-seq "$TMP/full.pcap" "$TMP/join.pcap" 8001)
python3 "$ROOT/tools/glimpse_server.py" --pcap "$TMP/full.pcap" --as-of "$join_seq" --username fh --password secret \
	--pace-ms 4 --listen 127.0.0.1:0 >"$TMP/glimpse.out" 2>"$TMP/glimpse.err" &
glimpse_pid=$!
for _ in $(seq 200); do grep -q "^listening" "$TMP/glimpse.out" && break; sleep 0.1; done
port=$(sed -nE 's/^listening [0-9.]+:([0-9]+)$/\1/p' "$TMP/glimpse.out")
sed "s/^    book: .*/&\n    snapshot: { server: \"127.0.0.1:$port\", username: fh, password: secret }/" "$TMP/live.yaml" >"$TMP/join.yaml"
chmod 0600 "$TMP/join.yaml"
"$FHD" -c "$TMP/join.yaml" --dump-books "$TMP/join.dump" >"$TMP/join.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/join.log" && break; sleep 0.1; done
start=$SECONDS
ip netns exec "$ns" tcpreplay -q --intf1="$peer_if" --pps=2000 "$TMP/join.pcap" >"$TMP/tcpreplay.log" 2>&1
sleep 2
kill -TERM "$fhd_pid"
wait "$fhd_pid"
kill "$glimpse_pid" 2>/dev/null
state=$(sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$TMP/join.log" | head -1)
check "live join: book_state ok ($state), lines played for $((SECONDS - start)) s" [ "$state" = ok ]
check "live join: one login ($(counter "$TMP/join.log" "^  snapshot:" logins)), none failed, one snapshot confirmed" \
	[ "$(counter "$TMP/join.log" "^  snapshot:" logins)" = 1 -a "$(counter "$TMP/join.log" "^  snapshot:" failures)" = 0 -a \
	"$(counter "$TMP/join.log" "^  snapshot:" confirmed)" = 1 ]
check "live join: the hold kept every line packet (dropped_packets $(counter "$TMP/join.log" "^  snapshot:" dropped_packets), held max $(counter "$TMP/join.log" "^  gaps" max))" \
	[ "$(counter "$TMP/join.log" "^  snapshot:" dropped_packets)" = 0 -a "$(counter "$TMP/join.log" "^  gaps" gaps)" = 0 ]
same_file "live join: the dump equals the complete session's" "$TMP/ref-full.dump" "$TMP/join.dump"
finish
