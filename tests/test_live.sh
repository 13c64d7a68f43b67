#!/usr/bin/env bash
# Late join live (issue 20) on net_af_packet: fhd in a network namespace with one end of
# a veth pair, tcpreplay playing into the other from a second namespace. Books, joins,
# recovery and the source filter on this path are test_paths', beside the other live
# paths; here too, the one line saying net_af_packet has no rte_flow, and flow_isolate
# refused on it. Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

veth_netns fhv
cat >"$TMP/live.yaml" <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning", "--log-level=pmd.net.af_packet:info"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: veth, device: "net_af_packet0,iface=$rx_if" }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: veth }
      B: { group: 233.49.196.111, udp_port: 26477, port: veth }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML
"$FH_PCAP" gen --seed 31 --messages 20000 --symbols 20 --out "$TMP/full.pcap" 2>/dev/null
$REF pcap "$TMP/full.pcap" >"$TMP/ref-full.dump"

# Late join live (issue 20): the capture starts mid-session and the GLIMPSE spin is
# paced to last about 3 s (4 ms a packet) while the lines run at 2,000 packets/s. The lines must wait in
# the snapshot's own hold (snapshot.hold), not the 1,024-packet reorder window (which
# dropped the oldest, left a hole after End of Snapshot, went STALE and logged in again
# and again), and the snapshot is confirmed by the lines: one login, ok, the complete
# session's books.
# The capture from the first packet at or past 8001; the snapshot as of that packet.
join_seq=$(python3 "$ROOT/tests/pcap_craft.py" from-seq "$TMP/full.pcap" "$TMP/join.pcap" 8001)
server_start glimpse ip netns exec "$rx_ns" python3 "$ROOT/tools/glimpse_server.py" --pcap "$TMP/full.pcap" \
	--as-of "$join_seq" --username fh --password secret --pace-ms 4 --listen 127.0.0.1:0 || finish
sed "s/^    book: .*/&\n    snapshot: { server: \"127.0.0.1:$port\", username: fh, password: secret }/" "$TMP/live.yaml" >"$TMP/join.yaml"
chmod 0600 "$TMP/join.yaml"
live_start join
start=$SECONDS
live_play "$TMP/join.pcap" 2000
sleep 2
live_stop
server_stop
state=$(sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$TMP/join.log" | head -1)
check "live join: book_state ok ($state), lines played for $((SECONDS - start)) s" [ "$state" = ok ]
check "live join: one login ($(counter "$TMP/join.log" "^  snapshot:" logins)), none failed, one snapshot confirmed" \
	[ "$(counter "$TMP/join.log" "^  snapshot:" logins)" = 1 -a "$(counter "$TMP/join.log" "^  snapshot:" failures)" = 0 -a \
	"$(counter "$TMP/join.log" "^  snapshot:" confirmed)" = 1 ]
held_max=$(sed -nE 's/^  gaps .*\(max ([0-9]+) at once\).*/\1/p' "$TMP/join.log" | head -1)
check "live join: the hold kept every line packet (dropped_packets $(counter "$TMP/join.log" "^  snapshot:" dropped_packets), held max $held_max)" \
	[ "$(counter "$TMP/join.log" "^  snapshot:" dropped_packets)" = 0 -a "$(counter "$TMP/join.log" "^  gaps" gaps)" = 0 ]
same_file "live join: the dump equals the complete session's" "$TMP/ref-full.dump" "$TMP/join.dump"

# net_af_packet has no rte_flow: said once for the port, at start, with the clock line.
check "net_af_packet: one line says the PMD has no rte_flow ($(grep -c 'rte_flow' "$TMP/join.log"))" \
	bash -c "[ \"\$(grep -c 'rte_flow' '$TMP/join.log')\" = 1 ] &&
		grep -qx 'fhd: port veth: no rte_flow on this PMD (net_af_packet): all lines on queue 0, as received' '$TMP/join.log'"
# Its ring is framecnt, not the RX descriptors: fhd passes rx_descriptors (1024 by
# default) as framecnt, and the PMD's own parameter line shows it took it.
check "net_af_packet: the ring is rx_descriptors' 1024 frames (fhd's line, and the PMD's)" \
	bash -c "grep -qx 'fhd: port veth: net_af_packet ring of 1024 frames (framecnt, from rx_descriptors)' '$TMP/join.log' &&
		grep -qiE 'frame count +1024' '$TMP/join.log'"
check "net_af_packet: rx_to_publish starts at the TSC after rx_burst, said once" \
	grep -qx 'fhd: port veth: rx_to_publish starts at: TSC after rx_burst (the PMD offers no NIC RX timestamp)' "$TMP/join.log"
# flow_isolate where the PMD cannot: refused at start, exit 1 (setting up a port failed).
sed "s/\\(iface=$rx_if\"\\) }/\\1, flow_isolate: true }/" "$TMP/live.yaml" >"$TMP/isolate.yaml"
ip netns exec "$rx_ns" timeout 60 "$FHD" -c "$TMP/isolate.yaml" >"$TMP/isolate.log" 2>&1
rc=$?
check "flow_isolate on net_af_packet: refused at start, exit 1 ($rc: $(grep flow_isolate "$TMP/isolate.log"))" \
	bash -c "[ $rc = 1 ] && grep -q '^fhd: port veth: flow_isolate: the PMD (net_af_packet) cannot isolate' '$TMP/isolate.log'"
finish
