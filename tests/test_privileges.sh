#!/usr/bin/env bash
# The config's user: and group:: fhd, started as root, drops to them once set up. A
# replay keeps no capability: every thread's /proc status must show the user's uid and
# gid in all four slots, the group alone as supplementary, and empty CapPrm and CapEff,
# as fhd's "dropped root" line says; fh stat still reads the stats segment. The same
# run without user: stays root (the check can fail). What cannot work after the drop
# (a per-run stats segment, output files) and unknown names are refused before DPDK,
# exit 2. Then a live AF_PACKET port on a veth pair (fhp<pid>a/b) keeps CAP_NET_RAW on
# the main thread alone, and still receives what tcpreplay sends after the drop. Needs
# root and the user nobody (skips otherwise); the live part iproute2 and tcpreplay.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "skip: no user nobody"; exit 77; }
uid=$(id -u nobody) gid=$(id -g nobody)
seg=fhpriv$$
shm_prefixes+=("$seg")
base=$(small_config) || exit 1
not() { ! "$@"; }

# run_fhd CONFIG LOG: a 4 s looping replay in the background; its pid in $pid.
run_fhd() {
	"$FHD" -c "$1" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 4 >"$2" 2>&1 &
	pid=$!
}

# ids_wait: waits (up to 10 s) for fhd's "running" line, then prints every thread's
# Uid, Gid, Groups, CapPrm and CapEff lines.
ids_wait() {
	for _ in $(seq 100); do
		grep -qs "^fhd: running" "$1" && break
		sleep 0.1
	done
	for s in /proc/$pid/task/*/status; do
		grep -E "^(Uid|Gid|Groups|CapPrm|CapEff):" "$s"
	done
}

{ cat "$base"; echo "user: nobody"; echo "stats: { segment: $seg, interval_ms: 200 }"; } >"$TMP/drop.yaml"
run_fhd "$TMP/drop.yaml" "$TMP/drop.log"
ids_wait "$TMP/drop.log" >"$TMP/drop.ids"
sleep 1
"$B/fh" stat --segment "$seg" >"$TMP/stat.out" 2>&1
stat_rc=$?
wait $pid
rc=$?
check "user: nobody: fhd exits 0 ($rc)" [ $rc = 0 ]
check "it says it dropped root and kept nothing" grep -q "^fhd: dropped root: now uid $uid (nobody), gid $gid; kept no capability$" "$TMP/drop.log"
threads=$(grep -c "^Uid:" "$TMP/drop.ids")
check "threads seen ($threads)" [ "$threads" -ge 2 ]
check "every thread: Uid $uid in all four" [ "$(grep -c "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid$" "$TMP/drop.ids")" = "$threads" ]
check "every thread: Gid $gid in all four" [ "$(grep -c "^Gid:[[:space:]]*$gid[[:space:]]*$gid[[:space:]]*$gid[[:space:]]*$gid$" "$TMP/drop.ids")" = "$threads" ]
check "every thread: Groups $gid only" [ "$(grep -c "^Groups:[[:space:]]*$gid[[:space:]]*$" "$TMP/drop.ids")" = "$threads" ]
check "every thread: CapPrm empty" [ "$(grep -c "^CapPrm:[[:space:]]*0000000000000000$" "$TMP/drop.ids")" = "$threads" ]
check "every thread: CapEff empty" [ "$(grep -c "^CapEff:[[:space:]]*0000000000000000$" "$TMP/drop.ids")" = "$threads" ]
check "fh stat reads the segment after the drop ($stat_rc)" grep -q "^feed itch: .*packets [1-9]" "$TMP/stat.out"
rm -f "/dev/shm/$seg"

# Without user:, the same run stays root with its capabilities: the checks above can fail.
{ cat "$base"; echo "stats: { segment: $seg, interval_ms: 200 }"; } >"$TMP/root.yaml"
run_fhd "$TMP/root.yaml" "$TMP/root.log"
ids_wait "$TMP/root.log" >"$TMP/root.ids"
wait $pid
check "without user: fhd stays uid 0" grep -q "^Uid:[[:space:]]*0[[:space:]]" "$TMP/root.ids"
check "without user: CapEff is not empty" grep -qv "^CapEff:[[:space:]]*0000000000000000$" <(grep "^CapEff:" "$TMP/root.ids")
check "without user: no drop line" not grep -q "dropped root" "$TMP/root.log"
rm -f "/dev/shm/$seg"

# refused CONFIG_TAIL MESSAGE: the base config plus CONFIG_TAIL exits 2 saying MESSAGE.
refused() {
	{ cat "$base"; printf '%b\n' "$1"; } >"$TMP/bad.yaml"
	"$FHD" -c "$TMP/bad.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/bad.log" 2>&1
	local rc=$?
	check "refused ($1): exit 2 ($rc)" [ $rc = 2 ]
	check "refused ($1): says $2" grep -qF "$2" "$TMP/bad.log"
	check "refused ($1): before DPDK" not grep -q "packet pool" "$TMP/bad.log"
}
refused "user: nobody" "refused with a per-run stats segment (removed at exit)"
refused "user: nobody\nstats: { segment: $seg, hist_out: $TMP }" "refused with stats.hist_out"
refused "user: fh-no-such-user-$$" "user: fh-no-such-user-$$: no such user"
refused "user: nobody\ngroup: fh-no-such-group-$$\nstats: { segment: $seg }" "group: fh-no-such-group-$$: no such group"
refused "group: nogroup" "group: nogroup needs user:"
refused "user: root\nstats: { segment: $seg }" "user: root is root"
rm -f "/dev/shm/$seg"

# A live port: CAP_NET_RAW kept on the main thread only; frames still arrive after the drop.
if command -v tcpreplay >/dev/null && command -v ip >/dev/null &&
	ip link add "fhp$$a" type veth peer name "fhp$$b" 2>/dev/null; then
	trap 'ip link del "fhp$$a" 2>/dev/null; lib_cleanup' EXIT
	ip link set "fhp$$a" up
	ip link set "fhp$$b" up
	{ feed_yaml "{ instruments: 256, orders: 65536, levels: 256 }" |
		sed "s/device: \"net_null0\"/device: \"net_af_packet0,iface=fhp$$a\"/"
	  echo "user: nobody"; echo "stats: { segment: $seg, interval_ms: 200 }"; } >"$TMP/live.yaml"
	grep -q "iface=fhp$$a" "$TMP/live.yaml" || fail "live: no AF_PACKET port in the config"
	"$FHD" -c "$TMP/live.yaml" >"$TMP/live.log" 2>&1 &
	pid=$!
	ids_wait "$TMP/live.log" >"$TMP/live.ids"
	tcpreplay -q --intf1="fhp$$b" --pps=20000 "$ROOT/pcaps/itch-demo.pcap" >"$TMP/tcpreplay.log" 2>&1
	sleep 1
	"$B/fh" stat --segment "$seg" >"$TMP/live-stat.out" 2>&1
	kill -TERM $pid
	wait $pid
	rc=$?
	check "live, user: nobody: SIGTERM stops fhd cleanly ($rc)" [ $rc = 0 ]
	check "live: it says it kept CAP_NET_RAW" grep -q "^fhd: dropped root: now uid $uid (nobody), gid $gid; kept CAP_NET_RAW$" "$TMP/live.log"
	threads=$(grep -c "^Uid:" "$TMP/live.ids")
	check "live: every thread ($threads): Uid $uid" [ "$(grep -c "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid$" "$TMP/live.ids")" = "$threads" ]
	# CAP_NET_RAW is bit 13: 0x2000, on the main thread (the first task) alone.
	check "live: one thread with CapEff CAP_NET_RAW only" [ "$(grep -c "^CapEff:[[:space:]]*0000000000002000$" "$TMP/live.ids")" = 1 ]
	check "live: one thread with CapPrm CAP_NET_RAW only" [ "$(grep -c "^CapPrm:[[:space:]]*0000000000002000$" "$TMP/live.ids")" = 1 ]
	check "live: the others none" [ "$(grep -c "^CapEff:[[:space:]]*0000000000000000$" "$TMP/live.ids")" = $((threads - 1)) ]
	check "live: frames received after the drop (fh stat)" grep -q "^feed itch: .*packets [1-9]" "$TMP/live-stat.out"
	rm -f "/dev/shm/$seg"
else
	echo "live part skipped: needs iproute2, tcpreplay and a veth pair"
fi
finish
