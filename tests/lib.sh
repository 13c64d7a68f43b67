# Shared helpers for the shell tests: paths, a scratch directory, and check/fail.
# A test script sources this, calls check/fail, and ends with `finish`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-$ROOT/build}
# The ITCH files the tests replay ship in tests/data (see its README.md for their
# sources and licences); FH_DATA=DIR points at another directory with the same layout.
DATA=${FH_DATA:-$ROOT/tests/data}
NASDAQ_SLICE=$DATA/itch50-nasdaq-snippet/12302019_SNIPPET.NASDAQ_ITCH50
SIMULATED=$DATA/itch50-simulated/ex20101224.TEST_ITCH_50
REF="python3 $ROOT/tests/ref_book.py"
FHD=${FHD:-$B/fhd}
FH_PCAP=${FH_PCAP:-$B/fh-pcap}
TMP=$(mktemp -d /tmp/fh-test.XXXXXX)
# Shared-memory names this test makes (fhd's ring NAME-1, NAME-1-top and NAME-stats
# for --publish NAME): each /dev/shm/PREFIX* is removed at exit, with $TMP. A test
# that sets its own EXIT trap removes its segments there.
shm_prefixes=()
netns_made=()
lib_cleanup() {
	local p
	for p in "${shm_prefixes[@]}"; do rm -f /dev/shm/"$p"*; done
	for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null; done	# server_start's
	for p in "${netns_made[@]}"; do ip netns del "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap lib_cleanup EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# check NAME COMMAND...: runs the command, passes on exit 0.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# same_file NAME EXPECTED ACTUAL: byte-identical files, with a diff excerpt when not.
same_file() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1: $2 and $3 differ"
		diff "$2" "$3" | head -10
	fi
}

# counter FILE LABEL NAME: the value after "NAME " on the first line that contains LABEL.
counter() {
	grep -m1 -- "$2" "$1" | grep -oE "(^| )$3 [0-9]+" | head -1 | awk '{print $2}'
}

# small_config: the path of the built-in config (fhd --print-default-config) with an
# order table of 1,048,576 orders instead of 4,000,000, all else as built in. The
# default's table takes about 2 s to prefault at every fhd start on a 2-core VM, and
# no test session comes near either size; tests of the built-in config itself run
# fhd without -c (test_replay, test_sighup, the security tests).
small_config() {
	local f=$TMP/default-small.yaml
	if [ ! -s "$f" ]; then
		"$FHD" --print-default-config | sed -E 's/^(      orders:) +4000000 /\1 1048576 /' >"$f.tmp"
		grep -qE '^      orders: 1048576 ' "$f.tmp" || { echo "small_config: no 'orders: 4000000' in the built-in config" >&2; return 1; }
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# fhd_replay OUT_PREFIX PCAP...: replays with small_config; OUT.dump, OUT.log.
fhd_replay() {
	local out=$1 config
	shift
	local args=()
	for p in "$@"; do args+=(--replay "$p"); done
	config=$(small_config) || return 1
	"$FHD" -c "$config" "${args[@]}" --dump-books "$out.dump" >"$out.log" 2>&1
}

# pub_yaml RING CAPACITY DEPTH [MODE] [BOOK]: the config the publishing tests share: one
# feed, itch, on a net_null port (its packets come from --replay), lines A and B, books
# BOOK (default 256 instruments, 262144 orders, 1024 levels), publishing to RING.
# Callers append sections (stats:, journal:) to what it prints.
pub_yaml() {
	local book=${5:-"{ instruments: 256, orders: 262144, levels: 1024 }"}
	feed_yaml "$book"
	echo "publish: { ring: $1, capacity: $2, mode: \"${4:-0640}\", depth: $3 }"
}

# feed_yaml BOOK [SECTION...]: that config without publishing; each SECTION (a line
# such as 'recovery: { ... }') is added to the feed.
feed_yaml() {
	cat <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports: [ { name: p0, device: "net_null0" } ]
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: p0 }
      B: { group: 233.49.196.111, udp_port: 26477, port: p0 }
    book: $1
YAML
	shift
	for section in "$@"; do echo "    $section"; done
}

# server_start NAME COMMAND...: a test server in the background, its pid pushed on the
# pids array (lib_cleanup, or the caller's own EXIT trap, kills them); sets $port from
# the server's "listening HOST:PORT" line on stdout (NAME.out; stderr in NAME.err),
# waiting up to 20 s.
server_start() {
	local name=$1
	shift
	: >"$TMP/$name.out"
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pids+=($!)
	port=
	for _ in $(seq 200); do
		port=$(sed -nE 's/^listening [0-9.]+:([0-9]+)$/\1/p' "$TMP/$name.out")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	fail "$name: server did not start"; cat "$TMP/$name.err"
	return 1
}

# server_stop: stops the server started last.
server_stop() {
	kill "${pids[-1]}" 2>/dev/null
	wait "${pids[-1]}" 2>/dev/null
	unset 'pids[-1]'
}

# data_require: exits 77 with one line when the test data is not where DATA says.
data_require() {
	local f
	for f in "$NASDAQ_SLICE" "$SIMULATED"; do
		[ -f "$f" ] && continue
		echo "SKIP: test data $f not found (tests/data ships it; FH_DATA=$DATA)"
		exit 77
	done
}

# veth_netns PREFIX: the live tests' wire: namespaces PREFIXrx<pid> and PREFIXtx<pid>
# joined by a veth pair, PREFIX<pid>a in the first (fhd's end, address 10.0.0.254/24 so
# the kernel's reverse-path check lets the generated sessions' senders 10.0.0.1 and .2
# in) and PREFIX<pid>b in the second (tcpreplay's). Sets rx_ns, tx_ns, rx_if, tx_if;
# lib_cleanup removes both namespaces and so the pair. Exits 77 with one line without
# root, iproute2 or tcpreplay, or where namespaces or veth pairs are not allowed.
veth_netns() {
	if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
		echo "skip: needs root, iproute2 and tcpreplay"
		exit 77
	fi
	rx_ns=$1rx$$ tx_ns=$1tx$$ rx_if=$1$$a tx_if=$1$$b
	if ! ip netns add "$rx_ns" 2>/dev/null; then
		echo "skip: network namespaces are not allowed here (ip netns add $rx_ns failed)"
		exit 77
	fi
	netns_made+=("$rx_ns")
	ip netns add "$tx_ns" && netns_made+=("$tx_ns")
	# No IPv6 on the wire: the kernel's own router solicitations and MLD reports would
	# be frames a test did not send. Namespace-local sysctls, set before the pair exists.
	ip netns exec "$rx_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$tx_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	# One IGMP report a join, sent as it is made (not repeated within the next second):
	# net_af_packet sees its own host's frames, and a test counts them before it plays.
	ip netns exec "$rx_ns" sysctl -qw net.ipv4.igmp_qrv=1
	if ! ip -n "$rx_ns" link add "$rx_if" type veth peer name "$tx_if" netns "$tx_ns" 2>/dev/null; then
		echo "skip: veth pairs are not allowed here (ip link add type veth failed)"
		exit 77
	fi
	ip -n "$rx_ns" link set lo up
	ip -n "$rx_ns" link set "$rx_if" up
	ip -n "$rx_ns" addr add 10.0.0.254/24 dev "$rx_if"
	ip -n "$tx_ns" link set "$tx_if" up
}

# live_start NAME: fhd in $rx_ns on $TMP/NAME.yaml, books to NAME.dump, output in
# NAME.log; $fhd_pid. Returns once fhd says it is running (up to 10 s), 1 if it did not.
live_start() {
	ip netns exec "$rx_ns" "$FHD" -c "$TMP/$1.yaml" --dump-books "$TMP/$1.dump" >"$TMP/$1.log" 2>&1 &
	fhd_pid=$!
	for _ in $(seq 100); do
		grep -qs "running" "$TMP/$1.log" && return 0
		kill -0 "$fhd_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# live_play PCAP [PPS]: tcpreplay plays the capture into $tx_if at PPS packets/s
# (default 20,000); its output in $TMP/tcpreplay.log.
live_play() {
	ip netns exec "$tx_ns" tcpreplay -q --intf1="$tx_if" --pps="${2:-20000}" "$1" >"$TMP/tcpreplay.log" 2>&1
}

# live_stop: SIGTERM to fhd; $rc its exit status.
live_stop() {
	kill -TERM "$fhd_pid" 2>/dev/null	# gone already if it failed to start
	wait "$fhd_pid"
	rc=$?
}

finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$(basename "$0"): $failures failure(s)"
		exit 1
	fi
	exit 0
}

# fuzz_check LABEL NAME MAX_LEN: a libFuzzer target's seed corpus (tests/corpus/NAME)
# replayed by its gcc ASan+UBSan build ($B/asan/fuzz_NAME), then its libFuzzer build
# ($B/fuzz_NAME_libfuzzer, skipped if clang could not build it) mutating a copy for
# FH_FUZZ_SECONDS (default 20). Any crash, sanitizer report or hang fails.
fuzz_check() {
	local label=$1 name=$2 max_len=$3 seeds=$ROOT/tests/corpus/$2 secs=${FH_FUZZ_SECONDS:-20} rc
	check "$label seed corpus under ASan+UBSan (gcc, $(ls "$seeds" | wc -l) inputs)" \
		timeout 300 "$B/asan/fuzz_$name" "$seeds"/*
	if [ ! -x "$B/fuzz_${name}_libfuzzer" ]; then
		echo "skip: libFuzzer build of the $name target not available"
		return
	fi
	mkdir -p "$TMP/corpus-$name"
	cp "$seeds"/* "$TMP/corpus-$name/"
	timeout $((secs + 120)) "$B/fuzz_${name}_libfuzzer" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$TMP/" "$TMP/corpus-$name" >"$TMP/fuzz-$name.log" 2>&1
	rc=$?
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$TMP/fuzz-$name.log"
	grep -E "DONE +cov" "$TMP/fuzz-$name.log"
	check "libFuzzer ${secs}s on $label: no finding" [ $rc = 0 ]
	[ $rc = 0 ] || tail -30 "$TMP/fuzz-$name.log"
}
