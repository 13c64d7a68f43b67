#!/usr/bin/env bash
# The kernel path against bypass (issue 22), on a veth pair between two network
# namespaces: sourced by bench/run.sh as two sections, or run alone (`make bench-colo`,
# or bench/colo.sh [BUILD_DIR]). Prints figures, never fails on time.
#  1. colo_paths: fhd receives a paced session in turn on the kernel port
#     (`kernel:IFACE`, recvmmsg, its default 32 MiB buffers), net_af_packet (DPDK's
#     default ring of 512 frames, then framecnt=8192) and net_af_xdp (whatever XDP
#     mode the veth gives; a refused XDP is said in one line and the next path runs).
#     For each path the target rate is doubled from FH_COLO_START frames/s until a run
#     loses (halved instead if the first one does), then bisected 3 times: the highest
#     rate the sender reached in a loss-free run. A run loses when fhd's lines
#     received fewer frames than were sent, or won fewer packets than were sent on a
#     line, or it reports a gap, kernel_dropped or missed. A run that loses is run once
#     more before the rate counts as failed (the machine may be shared). When doubling
#     the target no longer raises the rate reached by 10%, the sender is at its ceiling
#     and the receiver never lost: the figure is marked ">=". Then each path at one
#     common rate (the lowest path's highest) and at 80% of its own highest, for
#     rx_to_publish p50/p99/p99.9.
#  2. colo_uring: bench-kernel-rx (bench/kernel_rx.c) on the same sockets as the kernel
#     port, recvmmsg busy poll (fhd's loop) against io_uring multishot recvmsg with a
#     provided buffer ring (busy, and blocking), the same search and paced input.
# The sender is build/fh-blast (tools/fh_blast.c): the generated session looped with
# its sequence numbers moved on, so every run is one long session whose gaps fhd's own
# sequence tracking sees.
# Rates are frames/s on the wire, lines A and B together (a MoldUDP64 packet is two).
#
# CPU per frame, three figures, because a busy-polling receiver burns its core whatever
# comes: "rx cpu" is fhd's (or bench-kernel-rx's) utime+stime over the send, per frame,
# at the path's highest rate: there the core is fullest, and the figure is an upper
# bound of the receive's cost. "kernel" is the sender's sys time per frame: on a veth
# the receiving side's softirq runs in the sender's context, so this is the kernel's
# delivery work (veth, IP, UDP and socket, or the packet ring, or XDP and the XSK copy)
# plus a TX cost that is the same for every path; differences between paths are the
# receive paths' own kernel cost. "busy" (colo_uring only) is the time in polls that
# returned datagrams, per datagram (wall time); colo_uring also drains a backlog with
# each receive (colo_drain) for the fairest figure: CPU time per datagram, flat out.
#
# FH_COLO_SECONDS (default 2) is each run's length; FH_COLO_FHD another fhd to run.
# Needs root, ip netns and veth pairs; without them each section says so and skips.
# With FH_BENCH_QUICK=1 each path runs once at a low rate for a fraction of a second.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	B=${1:-build}
	ROOT=$(cd "$(dirname "$0")/.." && pwd)
	source "$ROOT/bench/lib.sh"
	colo_alone=1
fi
COLO_SECONDS=${FH_COLO_SECONDS:-$(sized 2 0.2)}
COLO_START=${FH_COLO_START:-$(sized 50000 20000)}
COLO_BISECT=$(sized 3 0)
COLO_DRAIN=$(sized 60000 4000)
COLO_FHD=${FH_COLO_FHD:-$B/fhd}
COLO_BLAST=$B/fh-blast
COLO_KRX=$B/bench-kernel-rx
colo_rx=fhcrx$$
colo_tx=fhctx$$
colo_rx_if=fhc$$a
colo_tx_if=fhc$$b

# colo_net_up: the namespaces and the veth; 0, or 1 having said why not.
colo_net_up() {
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		echo "  skipped (0 runs): needs root and iproute2"
		return 1
	fi
	colo_net_down
	if ! ip netns add $colo_rx 2>/dev/null || ! ip netns add $colo_tx 2>/dev/null ||
		! ip link add $colo_rx_if type veth peer name $colo_tx_if 2>/dev/null; then
		colo_net_down
		echo "  skipped (0 runs): network namespaces or veth pairs are not allowed here"
		return 1
	fi
	ip link set $colo_rx_if netns $colo_rx
	ip link set $colo_tx_if netns $colo_tx
	ip -n $colo_rx link set lo up
	ip -n $colo_rx link set $colo_rx_if up
	ip -n $colo_tx link set $colo_tx_if up
	# The session's senders (10.0.0.1, .2) on the receiver's link: the kernel's
	# reverse-path check lets their datagrams in.
	ip -n $colo_rx addr add 10.0.0.254/24 dev $colo_rx_if
	# Quick: smaller than one run (about 900 frames to 4,000 sent), so fh-blast loops it
	# and a sequence number it moved on wrongly shows as a gap (tests/test_bench_quick.sh).
	"$B/fh-pcap" gen --seed 22 --messages "$(sized 200000 2000)" --symbols 20 --out "$W/colo.pcap" 2>/dev/null
}
colo_net_down() {
	ip netns del $colo_rx 2>/dev/null
	ip netns del $colo_tx 2>/dev/null
	return 0
}

# colo_config PATH: fhd's config for one path, RX lcore on CPU 1 (the sender on 0).
colo_config() {
	local port
	case $1 in
	kernel) port="device: \"kernel:$colo_rx_if\"" ;;	# rcvbuf_bytes: its default, 32 MiB
	af_packet) port="device: \"net_af_packet0,iface=$colo_rx_if,framecnt=512\"" ;;	# DPDK's default ring (fhd passes rx_descriptors where none is given)
	af_packet_8192) port="device: \"net_af_packet0,iface=$colo_rx_if,framecnt=8192\"" ;;
	af_xdp) port="device: \"net_af_xdp0,iface=$colo_rx_if\"" ;;
	esac
	cat <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: p, $port }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: p }
      B: { group: 233.49.196.111, udp_port: 26477, port: p }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML
}

# cpu_ticks PID: utime+stime of the process, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# colo_counter LOG LABEL NAME: the value after "NAME " on the first line matching LABEL,
# 0 if there is none (the kernel port counts kernel_dropped, a DPDK port missed).
colo_counter() {
	local v
	v=$(grep -m1 -- "$2" "$1" | grep -oE "(^| )$3 [0-9]+" | head -1 | awk '{ print $2 }')
	echo "${v:-0}"
}

# colo_veth_dropped: the receiving veth's rx_dropped, where a frame XDP could not
# redirect into a full XSK ring is counted (net_af_xdp's own missed does not see it).
colo_veth_dropped() {
	ip netns exec $colo_rx cat /sys/class/net/$colo_rx_if/statistics/rx_dropped 2>/dev/null || echo 0
}

# colo_run PATH RATE: one paced run; sets run_* (sent, rate reached, lost or not, the
# CPU figures, latency). Returns 1 if the receiver could not start.
colo_run() {
	local path=$1 rate=$2 count pid log=$W/colo-$1.log t0 t1 hz d0
	count=$(awk -v r="$rate" -v s="$COLO_SECONDS" 'BEGIN { printf "%d", r * s }')
	hz=$(getconf CLK_TCK)
	case $path in
	rx:*)
		ip netns exec $colo_rx taskset -c 1 "$COLO_KRX" --iface $colo_rx_if --mode "${path#rx:}" \
			--seconds $((${COLO_SECONDS%.*} + 30)) >"$log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do grep -qs "ready" "$log" && break; sleep 0.05; done
		;;
	*)
		colo_config "$path" >"$W/colo-$path.yaml"
		# stderr apart: its lines (the groups left at stop) would cut into the report's.
		ip netns exec $colo_rx "$COLO_FHD" -c "$W/colo-$path.yaml" >"$log" 2>"$log.err" &
		pid=$!
		for _ in $(seq 200); do grep -qs "running" "$log.err" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
		;;
	esac
	section_pids+=($pid)
	if ! kill -0 $pid 2>/dev/null; then
		wait $pid
		return 1
	fi
	[ "$path" = af_xdp ] && colo_xdp_mode=$(ip -n $colo_rx link show dev $colo_rx_if |
		grep -oE 'xdp(generic|drv|offload)?' | head -1)
	t0=$(cpu_ticks $pid)
	d0=$(colo_veth_dropped)
	ip netns exec $colo_tx taskset -c 0 "$COLO_BLAST" --iface $colo_tx_if --pcap "$W/colo.pcap" \
		--rate "$rate" --count "$count" >"$W/colo-blast.out" 2>&1 || { cat "$W/colo-blast.out"; return 1; }
	t1=$(cpu_ticks $pid)
	run_veth_dropped=$(($(colo_veth_dropped) - d0))
	case $path in
	rx:*) wait $pid ;;
	*)
		sleep 0.3
		kill -TERM $pid
		wait $pid
		;;
	esac
	read -r run_reached run_sys < <(sed -nE 's/.*: ([0-9]+) frames\/s .* sys ([0-9.]+) s$/\1 \2/p' "$W/colo-blast.out")
	run_sent=$count
	run_kernel_ns=$(awk -v s="$run_sys" -v n="$count" 'BEGIN { printf "%.0f", s * 1e9 / n }')
	run_rx_ns=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$count" 'BEGIN { printf "%.0f", t / hz * 1e9 / n }')
	local received lossy won
	case $path in
	rx:*)
		read -r received lossy run_busy_ns run_p50 run_p99 run_p999 < <(awk '/^kernel-rx/ {
			for (i = 1; i < NF; i++) v[$i] = $(i + 1)
			print $4, v["kernel_dropped"] + v["gaps"] + v["behind"], v["busy_ns_per_packet"], v["p50"], v["p99"], v["p99.9"] }' "$log")
		;;
	*)
		received=$(($(colo_counter "$log" "^  line A:" packets) + $(colo_counter "$log" "^  line B:" packets)))
		lossy=$(($(colo_counter "$log" "^  gaps" gaps) + $(colo_counter "$log" "^port p:" kernel_dropped) +
			$(colo_counter "$log" "^port p:" missed)))
		# Every MoldUDP64 packet is new once (lines A, B alternate): fewer won than
		# packets sent is loss too, or a session the sender's looping repeated.
		won=$(($(colo_counter "$log" "^  line A:" won) + $(colo_counter "$log" "^  line B:" won)))
		[ "$won" = $(((count + 1) / 2)) ] || lossy=$((lossy + 1))
		read -r run_p50 run_p99 run_p999 < <(awk '$1 == "itch" && $2 == "rx_to_publish_packet" { print $4, $6, $7 }' "$log")
		run_busy_ns=
		;;
	esac
	run_lost=$(((received != count) || (lossy > 0)))
	run_short=$((count - received))
	return 0
}

# colo_try PATH RATE: colo_run, and once more if it lost; run_lost from the second.
colo_try() {
	colo_run "$@" || return 1
	[ "$run_lost" = 1 ] && { colo_run "$@" || return 1; }
	printf '    %-14s %9d frames/s: sender reached %s, %s\n' "$1" "$2" "$run_reached" \
		"$([ "$run_lost" = 1 ] && echo "LOST ($run_short short, the veth dropped $run_veth_dropped)" || echo "no loss")"
	return 0
}

# colo_search PATH: the highest rate the sender reached in a loss-free run into
# best[PATH], with ">=" in bound_of[PATH] when the sender's ceiling ended the search
# (doubling the target gained less than 10%: the receiver never lost); that run's CPU
# figures and latency (colo_keep).
colo_search() {
	local path=$1 rate=$COLO_START good=0 bad=0 mid i bound= reached=0 prev=0
	if [ "$QUICK" = 1 ]; then	# one run, whatever it lost: the harness is what is tested
		colo_try "$path" "$rate" || return 1
		colo_keep "$path"
		best[$path]=$rate
		bound_of[$path]="(quick) "
		return 0
	fi
	while :; do
		colo_try "$path" "$rate" || return 1
		if [ "$run_lost" = 1 ]; then
			bad=$rate
			# Lost at the first rate: halved until a run does not (at most 4 times).
			[ "$good" = 0 ] && [ "$rate" -gt $((COLO_START / 16)) ] && { rate=$((rate / 2)); continue; }
			break
		fi
		good=$rate
		[ "$run_reached" -gt "$reached" ] && { reached=$run_reached; colo_keep "$path"; }
		if [ "$run_reached" -lt $((prev * 11 / 10)) ]; then
			bound=">="
			break
		fi
		prev=$run_reached
		rate=$((rate * 2))
	done
	if [ "$good" = 0 ]; then
		echo "    $path: lost at every rate down to $bad frames/s"
		return 2
	fi
	if [ "$bad" -gt 0 ]; then
		for ((i = 0; i < COLO_BISECT; i++)); do
			mid=$(((good + bad) / 2))
			colo_try "$path" "$mid" || return 1
			if [ "$run_lost" = 0 ]; then
				good=$mid
				[ "$run_reached" -gt "$reached" ] && { reached=$run_reached; colo_keep "$path"; }
			else
				bad=$mid
			fi
		done
	fi
	best[$path]=$reached
	bound_of[$path]=$bound
}
colo_keep() {
	lat_common[$1]="$run_p50 / $run_p99 / $run_p999"
	lat_80[$1]=${lat_common[$1]}
	rx_ns[$1]=$run_rx_ns
	kernel_ns[$1]=$run_kernel_ns
	busy_ns[$1]=${run_busy_ns:-}
}

# colo_table TITLE PATHS...: the search, the two latency runs, the markdown table.
colo_table() {
	local title=$1 path common= rc
	shift
	declare -gA best bound_of rx_ns kernel_ns busy_ns lat_common lat_80
	echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg); each run ${COLO_SECONDS}s; rates in frames/s (lines A+B)"
	local paths=()
	for path in "$@"; do
		colo_search "$path" && rc=0 || rc=$?
		if [ $rc = 0 ]; then
			paths+=("$path")
			[ "$path" = af_xdp ] && echo "    net_af_xdp ran with XDP mode '${colo_xdp_mode:-unknown}' on the veth (ip link)"
		elif [ $rc = 1 ]; then
			echo "    $path: the receiver did not start: $(cat "$W/colo-$path.log"* | grep -m1 -iE 'error|fail|refus|invalid|cannot' ||
				cat "$W/colo-$path.log"* | tail -1); skipped"
		fi
	done
	[ ${#paths[@]} -gt 0 ] || return 1
	for path in "${paths[@]}"; do
		[ -z "$common" ] || [ "${best[$path]}" -lt "$common" ] && common=${best[$path]}
	done
	common=$(((common / 10000) * 10000))
	[ "$common" -gt 0 ] || common=${best[${paths[0]}]}
	for path in "${paths[@]}"; do
		[ "$QUICK" = 1 ] && break	# the search's one run gave the latency
		colo_run "$path" "$common" || return 1
		lat_common[$path]="$run_p50 / $run_p99 / $run_p999"
		[ "$run_lost" = 1 ] && lat_common[$path]+=" (lost $run_short)"
		colo_run "$path" $((best[$path] * 8 / 10)) || return 1
		lat_80[$path]="$run_p50 / $run_p99 / $run_p999"
		[ "$run_lost" = 1 ] && lat_80[$path]+=" (lost $run_short)"
	done
	echo
	echo "  $title"
	echo
	if [ "${paths[0]#rx:}" != "${paths[0]}" ]; then
		echo "  | receive | highest loss-free (frames/s) | busy ns/frame | rx cpu ns/frame | kernel ns/frame | stamp->user us p50/p99/p99.9 at $common | at 80% of highest |"
		echo "  |---|---|---|---|---|---|---|"
		for path in "${paths[@]}"; do
			echo "  | ${path#rx:} | ${bound_of[$path]}${best[$path]} | ${busy_ns[$path]} | ${rx_ns[$path]} | ${kernel_ns[$path]} | ${lat_common[$path]} | ${lat_80[$path]} |"
		done
	else
		echo "  | path | highest loss-free (frames/s) | fhd cpu ns/frame | kernel ns/frame | rx_to_publish us p50/p99/p99.9 at $common | at 80% of highest |"
		echo "  |---|---|---|---|---|---|"
		for path in "${paths[@]}"; do
			echo "  | $path | ${bound_of[$path]}${best[$path]} | ${rx_ns[$path]} | ${kernel_ns[$path]} | ${lat_common[$path]} | ${lat_80[$path]} |"
		done
	fi
	figure "highest loss-free rate, ${paths[0]}" "${best[${paths[0]}]}"
}

colo_paths() {
	echo "== kernel path against bypass on a veth (bench/colo.sh): fhd on the kernel port, net_af_packet (512 and 8192 frames), net_af_xdp, paced by fh-blast"
	trap 'colo_net_down; section_cleanup' EXIT
	colo_net_up || return 0
	# FH_COLO_PATHS picks some of them (e.g. "kernel af_xdp").
	colo_table "fhd, per path (rx_to_publish from the kernel's RX stamp on the kernel port, from rx_burst's return on DPDK)" \
		${FH_COLO_PATHS:-kernel af_packet af_packet_8192 af_xdp}
}

# colo_drain MODE...: each receive drains a backlog: bench-kernel-rx reads nothing for
# a while (--delay-ms) and fh-blast sends COLO_DRAIN frames at full speed meanwhile into
# 64 MiB socket buffers; then the receive runs flat out, never idle, and its thread's
# CPU time per datagram is the receive's own cost, whatever the sender's speed and
# however often the scheduler took the CPU away (CPU time, not wall).
colo_drain() {
	local mode log out
	echo
	echo "  draining a backlog of $COLO_DRAIN frames (--delay-ms, 64 MiB buffers): the receive's CPU per frame"
	echo
	echo "  | receive | received | dropped | cpu ns/frame |"
	echo "  |---|---|---|---|"
	for mode in "$@"; do
		log=$W/colo-drain-$mode.log
		ip netns exec $colo_rx taskset -c 1 "$COLO_KRX" --iface $colo_rx_if --mode "$mode" --seconds 60 \
			--delay-ms "$(sized 1500 300)" --rcvbuf 67108864 >"$log" 2>&1 &
		section_pids+=($!)
		for _ in $(seq 100); do grep -qs "ready" "$log" && break; sleep 0.05; done
		ip netns exec $colo_tx taskset -c 0 "$COLO_BLAST" --iface $colo_tx_if --pcap "$W/colo.pcap" \
			--rate 0 --count "$COLO_DRAIN" >"$W/colo-blast.out" 2>&1 || { cat "$W/colo-blast.out"; return 1; }
		wait "${section_pids[-1]}"
		out=$(awk '/^kernel-rx/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
			print "| " substr($2, 1, length($2) - 1) " | " $4 " | " v["kernel_dropped"] " | " v["cpu_ns_per_packet"] " |" }' "$log")
		echo "  $out"
		figure "drain cpu ns/frame, $mode" "$(echo "$out" | awk -F' [|] ' '{ print $4 }' | tr -d ' |')"
	done
}

colo_uring() {
	echo "== kernel receive alone (bench-kernel-rx): recvmmsg busy poll against io_uring multishot recvmsg, same sockets, paced by fh-blast"
	trap 'colo_net_down; section_cleanup' EXIT
	colo_net_up || return 0
	colo_table "kernel receive (stamp->user: the kernel's RX stamp to the program's CLOCK_REALTIME read after the receive)" \
		rx:recvmmsg rx:uring rx:uring-wait
	colo_drain recvmmsg uring uring-wait
}

section colo_paths colo_paths
echo
section colo_uring colo_uring
if [ -n "${colo_alone:-}" ]; then
	echo
	sections_end
fi
