#!/usr/bin/env bash
# One generated session through each of fhd's three live paths on a veth pair: the
# kernel port (device "kernel:IFACE", recvmmsg), net_af_packet and net_af_xdp. fhd
# runs in a network namespace with one end; tcpreplay plays into the other from a
# second namespace. On every path:
#   - the books equal tests/ref_book.py's, no gap, every frame taken; each line's group
#     joined on the veth while fhd runs (ip maddr) and left after, both logged;
#   - the session with 2% of its packets lost on both lines, tools/mold_server.py
#     serving recovery: the complete session's books, the holes filled;
#   - lines with a `source` that is not the sender take nothing (the kernel port's
#     kernel filters them; on a DPDK port each is counted wrong_source), lines with
#     the senders' take everything;
#   - on the DPDK ports, fhd stopped while the session plays: what the kernel dropped
#     on the PMD's sockets (a full ring) is counted missed, every frame accounted for.
# Then AF_XDP is attacked: fhd killed leaves its XDP program behind and the next fhd
# attaches over it; frames to a group no line joined, non-UDP frames, runts and frames
# past its buffers (veth MTU 3000) are counted and the session's books still equal the
# reference; at MTU 9000 the XDP program cannot attach and fhd says why.
# Where AF_XDP cannot attach at all, that path is skipped with the PMD's reason.
# Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

veth_netns fhw
"$FH_PCAP" gen --seed 22 --messages 20000 --symbols 20 --out "$TMP/session.pcap" 2>/dev/null
$REF pcap "$TMP/session.pcap" >"$TMP/ref.dump"
frames=$(python3 "$ROOT/tests/pcap_craft.py" count "$TMP/session.pcap")
lost=$(python3 "$ROOT/tests/pcap_craft.py" drop-both "$TMP/session.pcap" "$TMP/lossy.pcap" 0.02 31)

# config PATH SOURCE_A SOURCE_B [SECTION]: the feed on PATH's port, with line sources
# and the feed SECTION when given.
config() {
	local keys sa= sb= ring=${ring:-4096}
	# Rings of 4,096 frames (200 ms at 20,000 packets/s), as the RX lcore shares a
	# 2-core VM: net_af_packet's is its vdev's framecnt (rx_descriptors does not size
	# it), net_af_xdp's its rx_descriptors. The kernel port: an 8 MiB socket buffer.
	case $1 in
	kernel) keys="device: \"kernel:$rx_if\", rcvbuf_bytes: 8388608" ;;
	af_packet) keys="device: \"net_af_packet0,iface=$rx_if,framecnt=$ring\"" ;;
	af_xdp) keys="device: \"net_af_xdp0,iface=$rx_if\", rx_descriptors: $ring" ;;
	esac
	[ -n "$2" ] && sa=", source: $2"
	[ -n "$3" ] && sb=", source: $3"
	cat <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: p, $keys }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: p$sa }
      B: { group: 233.49.196.111, udp_port: 26477, port: p$sb }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML
	[ -n "${4:-}" ] && echo "    $4"
}

# run NAME PCAP: fhd on NAME.yaml while PCAP plays; the groups on the veth while it ran
# (NAME.maddr.during) and after (NAME.maddr.after). 1 if fhd did not start.
run() {
	if ! live_start "$1"; then
		live_stop
		return 1
	fi
	ip -n "$rx_ns" maddr show dev "$rx_if" >"$TMP/$1.maddr.during"
	live_play "$2"
	sleep 0.5
	live_stop
	ip -n "$rx_ns" maddr show dev "$rx_if" >"$TMP/$1.maddr.after"
	check "$1: SIGTERM stops fhd cleanly (exit $rc)" [ "$rc" = 0 ]
}

# line_sum LOG NAME: line A's NAME plus line B's.
line_sum() { echo $(($(counter "$1" "^  line A:" "$2") + $(counter "$1" "^  line B:" "$2"))); }

path() {
	local path=$1 log=$TMP/$1.log groups='233.54.12.111|233.49.196.111'

	config "$path" "" "" >"$TMP/$path.yaml"
	if ! run "$path" "$TMP/session.pcap"; then
		# Skipped where this host cannot attach XDP or DPDK lacks the PMD; any other
		# failure to open the port is fhd's.
		if [ "$path" = af_xdp ] && grep -qE "could not be set up|no such DPDK device" "$log"; then
			echo "skip: $path: XDP cannot run on the veth here: $(grep -E 'Kernel error|libxdp: Error|fhd: port' "$log" | tr '\n' ' ')"
			return
		fi
		fail "$path: fhd did not start"; tail -5 "$log"
		return
	fi
	same_file "$path: book dump equals reference" "$TMP/ref.dump" "$TMP/$path.dump"
	check "$path: no gap" [ "$(counter "$log" "^  gaps" gaps)" = 0 ]
	check "$path: every frame taken ($(line_sum "$log" packets) of $frames)" [ "$(line_sum "$log" packets)" = "$frames" ]
	grep -E "^port|^  line|joined|left" "$log"
	check "$path: both groups joined on $rx_if while fhd ran" \
		[ "$(grep -cE "$groups" "$TMP/$path.maddr.during")" = 2 ]
	check "$path: both left after it stopped" bash -c "! grep -qE '$groups' '$TMP/$path.maddr.after'"
	# A DPDK port's sockets only hold the memberships; the kernel port's receive.
	local only=' \(membership only\)'
	[ "$path" = kernel ] && only=
	check "$path: each join and leave logged with the interface" \
		[ "$(grep -cE "joined group .* on $rx_if$only\$" "$log")" = 2 -a \
		"$(grep -cE "left group .* on $rx_if\$" "$log")" = 2 ]
	[ "$path" != kernel ] ||
		check "$path: no receive buffer warning (rcvbuf_bytes honoured)" bash -c "! grep -q 'receive buffer' '$log'"
	# Where rx_to_publish starts, said once; on the kernel port the kernel's RX stamp,
	# before the socket queue and recvmmsg, so its median is at least processing's
	# (test_kernel_port shows a 1 s wait in the socket lands in it).
	local start="TSC after rx_burst (the PMD offers no NIC RX timestamp)"
	[ "$path" = kernel ] && start="kernel RX timestamp (SO_TIMESTAMPING, software)"
	check "$path: the start line says rx_to_publish starts at: $start" \
		[ "$(grep -cx "fhd: port p: rx_to_publish starts at: $start" "$log")" = 1 ]
	local p50s
	p50s=$(awk '/^  itch +(rx_to_publish_packet|processing) / { printf "%s ", $4 }' "$log")
	check "$path: rx_to_publish_packet p50 >= processing p50 (us: $p50s)" \
		awk -v v="$p50s" 'BEGIN { n = split(v, x, " "); exit !(n == 2 && x[1] + 0 >= x[2] + 0) }'

	# Recovery: the server in fhd's namespace, on its loopback.
	server_start "mold-$path" ip netns exec "$rx_ns" python3 "$ROOT/tools/mold_server.py" \
		--pcap "$TMP/session.pcap" --listen 127.0.0.1:0 || return
	config "$path" "" "" "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 200 }" >"$TMP/$path-lossy.yaml"
	run "$path-lossy" "$TMP/lossy.pcap"
	server_stop
	log=$TMP/$path-lossy.log
	same_file "$path-lossy: $lost packets lost on both lines, dump equals the complete session's" \
		"$TMP/ref.dump" "$TMP/$path-lossy.dump"
	check "$path-lossy: no gap, holes filled ($(counter "$log" "recovery: holes" filled))" \
		[ "$(counter "$log" "^  gaps" gaps)" = 0 -a "$(counter "$log" "recovery: holes" filled)" -gt 0 ]

	# Another source: nothing taken. The kernel filters it before fhd sees it; a DPDK
	# port takes the frames and the lines count them.
	config "$path" 10.0.0.9 10.0.0.9 >"$TMP/$path-other.yaml"
	run "$path-other" "$TMP/session.pcap"
	log=$TMP/$path-other.log
	grep -E "^port" "$log"
	check "$path-other: nothing taken ($(line_sum "$log" packets)), book empty" \
		[ "$(line_sum "$log" packets)" = 0 -a ! -s "$TMP/$path-other.dump" ]
	check "$path-other: joined with the source filter" \
		grep -q "joined group 233.54.12.111 source 10.0.0.9 on $rx_if" "$log"
	if [ "$path" = kernel ]; then
		check "$path-other: the sockets received none" [ "$(counter "$log" "^port p:" received)" = 0 ]
	else
		missed=$(counter "$log" "^port p:" missed)
		check "$path-other: the lines counted each frame wrong_source ($(line_sum "$log" wrong_source) + $missed missed by the port = $frames)" \
			[ $(($(line_sum "$log" wrong_source) + missed)) = $frames ]
	fi

	# What the host itself sends out of the interface: another user's datagrams to line
	# A's group, sent from fhd's namespace out of the veth. XDP sees arrivals only, so
	# net_af_xdp takes none of them; an AF_PACKET socket taps both directions, and the
	# PMD's fanout group cannot be told otherwise, so net_af_packet takes them all
	# (which shows they did leave: docs/security.md says so, and what a line's source
	# does about it).
	if [ "$path" != kernel ]; then
		config "$path" "" "" >"$TMP/$path-out.yaml"
		live_start "$path-out"
		ip netns exec "$rx_ns" python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.0.0.254"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
for seq in range(1, 51):	# MoldUDP64 heartbeats of a session "OUTSIDE"
    s.sendto(b"OUTSIDE   " + struct.pack(">QH", seq, 0), ("233.54.12.111", 26477))
'
		sleep 0.5
		live_stop
		log=$TMP/$path-out.log
		local want=0
		[ "$path" = af_packet ] && want=50
		check "$path-out: $want of 50 datagrams the host sent out of $rx_if reached line A ($(counter "$log" "^  line A:" packets))" \
			[ "$(counter "$log" "^  line A:" packets)" = $want ]
	fi

	# A stalled RX lcore (SIGSTOP while the session plays): what overflowed the kernel's
	# ring under the PMD is counted missed (kernel_dropped), not lost silently. Rings
	# of 1,024: net_af_xdp's then fills before its fill ring empties (the PMD's own
	# imissed counts only the latter). The kernel port's drops are test_kernel_port's.
	if [ "$path" != kernel ]; then
		ring=1024 config "$path" "" "" >"$TMP/$path-stall.yaml"
		live_start "$path-stall"
		kill -STOP "$fhd_pid"
		live_play "$TMP/session.pcap"
		kill -CONT "$fhd_pid"
		sleep 0.5
		live_stop
		log=$TMP/$path-stall.log
		grep -E "^port" "$log"
		missed=$(counter "$log" "^port p:" missed)
		check "$path-stall: the kernel dropped some on the ring ($(counter "$log" "^port p:" kernel_dropped)), all in missed ($missed)" \
			[ "$(counter "$log" "^port p:" kernel_dropped)" -gt 0 -a "$(counter "$log" "^port p:" kernel_dropped)" = "$missed" ]
		check "$path-stall: every frame taken or missed ($(line_sum "$log" packets) + $missed = $frames)" \
			[ $(($(line_sum "$log" packets) + missed)) = $frames ]
	fi

	# The senders' sources: everything taken.
	config "$path" 10.0.0.1 10.0.0.2 >"$TMP/$path-senders.yaml"
	run "$path-senders" "$TMP/session.pcap"
	log=$TMP/$path-senders.log
	same_file "$path-senders: book dump equals reference" "$TMP/ref.dump" "$TMP/$path-senders.dump"
	check "$path-senders: every frame taken ($(line_sum "$log" packets) of $frames), none wrong_source" \
		[ "$(line_sum "$log" packets)" = "$frames" -a "$(line_sum "$log" wrong_source)" = 0 ]
}

for p in kernel af_packet af_xdp; do
	start=$SECONDS
	path $p
	echo "$p: $((SECONDS - start)) s"
done

# AF_XDP attacked (where it attached above). fhd killed (SIGKILL, as a crash) leaves
# its XDP program on the interface; the next fhd (systemd's restart) must attach over
# it. That one takes stray frames before the session, at MTU 3000.
if [ -s "$TMP/af_xdp.dump" ]; then
	config af_xdp "" "" >"$TMP/crash.yaml"
	live_start crash
	kill -KILL "$fhd_pid"
	wait "$fhd_pid" 2>/dev/null
	check "crash: fhd's XDP program stays on $rx_if after SIGKILL" \
		bash -c "ip -n '$rx_ns' link show '$rx_if' | grep -q 'prog/xdp'"
	ip -n "$rx_ns" link set "$rx_if" mtu 3000
	ip -n "$tx_ns" link set "$tx_if" mtu 3000
	config af_xdp "" "" >"$TMP/stray.yaml"
	live_start stray || fail "stray: fhd did not start at MTU 3000"
	sent=0
	for kind in group notudp runt jumbo; do
		python3 "$ROOT/tests/pcap_craft.py" stray $kind "$TMP/$kind.pcap"
		live_play "$TMP/$kind.pcap" 2000
		n=$(sed -nE 's/^Actual: ([0-9]+) packets.*/\1/p' "$TMP/tcpreplay.log")
		echo "stray $kind: $n sent ($(sed -nE 's/^\s*Failed packets: +([0-9]+)/\1/p' "$TMP/tcpreplay.log") not: past the MTU)"
		sent=$((sent + n))
	done
	live_play "$TMP/session.pcap"
	sleep 0.5
	live_stop
	log=$TMP/stray.log
	grep -E "^port|^unrouted|^  line" "$log"
	check "stray: fhd, started over the crashed one's XDP program, stops cleanly (exit $rc)" [ "$rc" = 0 ]
	check "stray: its XDP program removed at stop" bash -c "! ip -n '$rx_ns' link show '$rx_if' | grep -q xdp"
	same_file "stray: book dump equals reference" "$TMP/ref.dump" "$TMP/stray.dump"
	received=$(counter "$log" "^port p:" received)
	missed=$(counter "$log" "^port p:" missed)
	check "stray: every frame sent received or missed by the port ($received + $missed = $frames + $sent)" \
		[ $((received + missed)) = $((frames + sent)) ]
	check "stray: frames past the XDP buffers were missed ($missed)" [ "$missed" -gt 0 ]
	counted=0
	for c in udp not_ipv4 not_udp truncated bad_ip fragment bad_udp; do
		counted=$((counted + $(counter "$log" "^unrouted" $c)))
	done
	for c in truncated bad_frame wrong_session not_ipv4 not_udp bad_ip fragment bad_udp; do
		counted=$((counted + $(line_sum "$log" $c)))
	done
	taken=$(line_sum "$log" packets)
	check "stray: every frame received is the session's ($taken) or counted ($counted) = $received" \
		[ $((taken + counted)) = "$received" ]
	check "stray: groups no line joined counted unrouted udp ($(counter "$log" "^unrouted" udp))" \
		[ "$(counter "$log" "^unrouted" udp)" -gt 0 ]
	check "stray: non-UDP counted not_ipv4 and not_udp" \
		[ "$(counter "$log" "^unrouted" not_ipv4)" -gt 0 -a "$(counter "$log" "^unrouted" not_udp)" -gt 0 ]

	# Past the page a veth's native XDP takes, the PMD cannot attach: fhd exits 1.
	ip -n "$tx_ns" link set "$tx_if" mtu 9000
	ip -n "$rx_ns" link set "$rx_if" mtu 9000
	config af_xdp "" "" >"$TMP/jumbo.yaml"
	live_start jumbo
	live_stop
	grep -E "Kernel error|fhd: port" "$TMP/jumbo.log"
	check "jumbo MTU: fhd refuses the port (exit $rc)" [ "$rc" = 1 ]
	check "jumbo MTU: ... saying which queue failed and where the reason is" \
		grep -q "fhd: port net_af_xdp0: RX queue 0: .* the libbpf and libxdp lines above say why" "$TMP/jumbo.log"
	check "jumbo MTU: no XDP program left on $rx_if" bash -c "! ip -n '$rx_ns' link show '$rx_if' | grep -q xdp"
fi
finish
