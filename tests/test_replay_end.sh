#!/usr/bin/env bash
# Every replay ends by itself and says what it read (issue 9, L5, L6 and the devargs
# injection). Each capture is crafted by tests/pcap_craft.py straight from the file
# formats; what fhd must have read is counted there or by tshark, and the books are
# compared with the reference (tests/ref_book.py) or the golden dump. fhd always runs
# under `timeout`: a hang is a failure, not a stuck test.
source "$(dirname "$0")/lib.sh"

CRAFT="python3 $ROOT/tests/pcap_craft.py"
DEMO=$ROOT/pcaps/itch-demo.pcap
GOLDEN=$ROOT/tests/golden/itch-demo.dump
LIMIT=${REPLAY_LIMIT:-60}	# seconds; a hang is a failure

SMALL=$(small_config) || exit 1	# the built-in config, a smaller order table (lib.sh)
# run NAME ARGS...: fhd under timeout on SMALL; NAME.log, NAME.dump, NAME.rc.
run() {
	local name=$1
	shift
	timeout $LIMIT "$FHD" -c "$SMALL" "$@" --dump-books "$TMP/$name.dump" >"$TMP/$name.log" 2>&1
	echo $? >"$TMP/$name.rc"
}
rc() { cat "$TMP/$1.rc"; }
# replay_line NAME PCAP: fhd's end-of-capture line for PCAP.
replay_line() { grep -F -m1 "replay $2: " "$TMP/$1.log"; }
# read_ok NAME PCAP N: PCAP's line says N packets counted, N received, nothing lost.
read_ok() {
	local line
	line=$(replay_line "$1" "$2")
	[[ "$line" == *"  packets $3  received $3  lost 0  "* ]] || { echo "  got: $line"; return 1; }
}

echo "-- captures with nothing to read"
$CRAFT empty "$TMP/empty.pcap"
$CRAFT cut "$DEMO" "$TMP/cut1.pcap" 0
$CRAFT caplen "$DEMO" "$TMP/caplen.pcap" 0
for c in empty cut1 caplen; do
	run $c --replay "$TMP/$c.pcap"
	check "$c: ends by itself, exit 0 (rc $(rc $c))" [ "$(rc $c)" = 0 ]
	check "$c: says it read 0 packets" read_ok $c "$TMP/$c.pcap" 0
	check "$c: no idle timeout" bash -c "! grep -q 'idle timeout' '$TMP/$c.log'"
done
check "empty: stopped at the end of the file" grep -q "packets 0 .*stopped: end of file" "$TMP/empty.log"
check "cut in packet 1: says why (libpcap's words)" \
	grep -q "stopped: unreadable after packet 0 (libpcap: truncated dump file" "$TMP/cut1.log"
check "caplen 0x7fffffff: says why" \
	grep -q "stopped: unreadable after packet 0 (libpcap: invalid packet capture length 2147483647" "$TMP/caplen.log"
check "caplen 0x7fffffff: the PMD never read the packet bytes as records" \
	[ "$(counter "$TMP/caplen.log" "^port" received)" = 0 ]

echo "-- an empty capture beside a real one, both orders"
run empty_first --replay "$TMP/empty.pcap" --replay "$DEMO"
run empty_last --replay "$DEMO" --replay "$TMP/empty.pcap"
for c in empty_first empty_last; do
	check "$c: exit 0 (rc $(rc $c))" [ "$(rc $c)" = 0 ]
	check "$c: no idle-timeout warning" bash -c "! grep -q 'idle timeout' '$TMP/$c.log'"
	check "$c: the demo capture read whole" read_ok $c "$DEMO" "$($CRAFT count "$DEMO")"
	same_file "$c: books equal the golden dump" "$GOLDEN" "$TMP/$c.dump"
done

echo "-- damage in the middle: the packets before it, exactly"
$CRAFT cut "$DEMO" "$TMP/cut500.pcap" 500
$CRAFT caplen "$DEMO" "$TMP/caplen500.pcap" 500
$CRAFT prefix "$DEMO" "$TMP/first500.pcap" 500
$REF pcap "$TMP/first500.pcap" >"$TMP/first500.ref"
for c in cut500 caplen500; do
	run $c --replay "$TMP/$c.pcap"
	check "$c: exit 0 (rc $(rc $c))" [ "$(rc $c)" = 0 ]
	check "$c: 500 packets read and received" read_ok $c "$TMP/$c.pcap" 500
	check "$c: the warning at start says where" grep -q "unreadable after packet 500" "$TMP/$c.log"
	same_file "$c: books equal the reference on the first 500 packets" "$TMP/first500.ref" "$TMP/$c.dump"
done

echo "-- a pcapng mixing link types (libpcap reads up to the second interface)"
$CRAFT mixng "$DEMO" "$TMP/mix.pcapng" 100
$CRAFT mixng "$DEMO" "$TMP/mix0.pcapng" 0
$CRAFT prefix "$DEMO" "$TMP/first100.pcap" 100
$REF pcap "$TMP/first100.pcap" >"$TMP/first100.ref"
run mix --replay "$TMP/mix.pcapng"
run mix0 --replay "$TMP/mix0.pcapng"
check "mixed pcapng: exit 0 (rc $(rc mix))" [ "$(rc mix)" = 0 ]
check "mixed pcapng: 100 packets read and received" read_ok mix "$TMP/mix.pcapng" 100
check "mixed pcapng: says why" grep -q "unreadable after packet 100 (libpcap: an interface has a type 101" "$TMP/mix.log"
same_file "mixed pcapng: books equal the reference on the first 100" "$TMP/first100.ref" "$TMP/mix.dump"
check "mixed pcapng, second interface first: exit 0 (rc $(rc mix0))" [ "$(rc mix0)" = 0 ]
check "mixed pcapng, second interface first: 0 read" read_ok mix0 "$TMP/mix0.pcapng" 0

echo "-- captures that cannot be replayed: exit 2 before start"
printf 'not a capture at all\n' >"$TMP/text.pcap"
mkfifo "$TMP/fifo.pcap"
mkdir "$TMP/dir.pcap"
run text --replay "$TMP/text.pcap"
run fifo --replay "$TMP/fifo.pcap"
run dir --replay "$TMP/dir.pcap"
run missing --replay "$TMP/missing.pcap"
run loop_empty --replay "$TMP/empty.pcap" --replay-loop --duration 5
check "not a capture: exit 2 (rc $(rc text))" [ "$(rc text)" = 2 ]
check "not a capture: says libpcap cannot read it" grep -q "capture $TMP/text.pcap: libpcap cannot read it" "$TMP/text.log"
check "a FIFO: exit 2, no hang (rc $(rc fifo))" [ "$(rc fifo)" = 2 ]
check "a FIFO: not a regular file" grep -q "fifo.pcap: not a regular file" "$TMP/fifo.log"
check "a directory: exit 2 (rc $(rc dir))" [ "$(rc dir)" = 2 ]
check "a missing file: exit 2 (rc $(rc missing))" [ "$(rc missing)" = 2 ]
check "a missing file: says so" grep -q "missing.pcap: No such file or directory" "$TMP/missing.log"
check "looping an empty capture: exit 2 (rc $(rc loop_empty))" [ "$(rc loop_empty)" = 2 ]
check "looping an empty capture: says so" grep -q "no readable packet to loop" "$TMP/loop_empty.log"
for c in text fifo dir missing loop_empty; do
	check "$c: refused before DPDK started" bash -c "! grep -q 'running:' '$TMP/$c.log'"
done

echo "-- link types: raw IPv4, Linux cooked v1 and v2 decoded; others refused by name"
udp_frames=$(tshark -r "$DEMO" -Y "udp.dstport == 26477" 2>/dev/null | wc -l)
for kind in raw ipv4 sll sll2; do
	$CRAFT relink $kind "$DEMO" "$TMP/$kind.pcap"
	# tshark decodes the crafted capture independently: every feed datagram is there.
	check "$kind: tshark finds the $udp_frames feed datagrams in the crafted capture" \
		[ "$(tshark -r "$TMP/$kind.pcap" -Y "udp.dstport == 26477" 2>/dev/null | wc -l)" = "$udp_frames" ]
	run $kind --replay "$TMP/$kind.pcap"
	check "$kind: exit 0 (rc $(rc $kind))" [ "$(rc $kind)" = 0 ]
	check "$kind: every packet received" read_ok $kind "$TMP/$kind.pcap" "$($CRAFT count "$TMP/$kind.pcap")"
	check "$kind: 2500 messages decoded" [ "$(counter "$TMP/$kind.log" "^  messages" messages)" = 2500 ]
	same_file "$kind: books equal the golden dump" "$GOLDEN" "$TMP/$kind.dump"
done
check "sll: the end line names the link type" grep -q "replay $TMP/sll.pcap: link LINUX_SLL " "$TMP/sll.log"
# The journal of a cooked replay holds Ethernet frames tshark decodes, group MAC and all.
mkdir -p "$TMP/j-sll2"
timeout $LIMIT "$FHD" -c "$SMALL" --replay "$TMP/sll2.pcap" --journal "$TMP/j-sll2" >"$TMP/j-sll2.log" 2>&1
check "sll2 journaled: exit 0" [ $? = 0 ]
check "sll2 journaled: tshark reads the feed datagrams as Ethernet" \
	[ "$(cat "$TMP"/j-sll2/*.pcapng | tshark -r - -Y "udp.dstport == 26477 && eth.dst == 01:00:5e:36:0c:6f" 2>/dev/null | wc -l)" -gt 0 ]
$CRAFT linktype 105 "$DEMO" "$TMP/wifi.pcap"
run wifi --replay "$TMP/wifi.pcap"
check "802.11 capture: exit 2 (rc $(rc wifi))" [ "$(rc wifi)" = 2 ]
check "802.11 capture: refused by name" grep -q "capture $TMP/wifi.pcap: link type IEEE802_11 (105) is not supported" "$TMP/wifi.log"
# Frames shorter than their link header: counted as truncated, never read past (ASan).
FHD_ASAN=$B/asan/fhd
[ -x "$FHD_ASAN" ] || FHD_ASAN=$FHD
for kind in raw sll sll2; do
	$CRAFT short $kind "$DEMO" "$TMP/short-$kind.pcap"
	short=$(( $($CRAFT count "$TMP/short-$kind.pcap") - $($CRAFT count "$DEMO") ))
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
		timeout $LIMIT "$FHD_ASAN" -c "$SMALL" --replay "$TMP/short-$kind.pcap" --dump-books "$TMP/short-$kind.dump" \
		>"$TMP/short-$kind.log" 2>&1
	check "$kind with short frames: exit 0 under the sanitizers" [ $? = 0 ]
	check "$kind with short frames: the $short short ones counted as truncated" \
		[ "$(counter "$TMP/short-$kind.log" "^unrouted" truncated)" = "$short" ]
	same_file "$kind with short frames: books equal the golden dump" "$GOLDEN" "$TMP/short-$kind.dump"
done

echo "-- jumbo frames: decoded whole, not counted as truncated"
$CRAFT pad "$DEMO" "$TMP/jumbo.pcap" 9000
run jumbo --replay "$TMP/jumbo.pcap"
check "9000-byte frames: exit 0 (rc $(rc jumbo))" [ "$(rc jumbo)" = 0 ]
check "9000-byte frames: none counted as truncated" [ "$(counter "$TMP/jumbo.log" "^unrouted" truncated)" = 0 ]
check "9000-byte frames: 2500 messages decoded" [ "$(counter "$TMP/jumbo.log" "^  messages" messages)" = 2500 ]
same_file "9000-byte frames: books equal the golden dump" "$GOLDEN" "$TMP/jumbo.dump"
run jumbo_loop --replay "$TMP/jumbo.pcap" --replay-loop --duration 1
check "9000-byte frames looped: net_pcap takes them (rc $(rc jumbo_loop))" [ "$(rc jumbo_loop)" = 0 ]
$CRAFT pad "$DEMO" "$TMP/huge.pcap" 12000 5
run huge --replay "$TMP/huge.pcap"
check "a 12000-byte frame: exit 0 (rc $(rc huge))" [ "$(rc huge)" = 0 ]
check "a 12000-byte frame: counted as segmented, not truncated" \
	[ "$(counter "$TMP/huge.log" "^rx lcore" segmented)" = 1 -a "$(counter "$TMP/huge.log" "^unrouted" truncated)" = 0 ]

echo "-- a file name is never devargs"
# "$TMP/a,tx_pcap=$TMP/victim" parsed as devargs would make net_pcap open
# $TMP/victim for writing (as root) and truncate it.
mkdir -p "$TMP/a,tx_pcap=$TMP"
cp "$DEMO" "$TMP/a"
cp "$DEMO" "$TMP/a,tx_pcap=$TMP/victim"
cp "$DEMO" "$TMP/victim"
inject="$TMP/a,tx_pcap=$TMP/victim"
run inject --replay "$inject"
check "comma and '=' in the name: exit 0 (rc $(rc inject))" [ "$(rc inject)" = 0 ]
check "comma and '=' in the name: the named file is the one read" read_ok inject "$inject" "$($CRAFT count "$DEMO")"
same_file "comma and '=' in the name: the victim is untouched" "$DEMO" "$TMP/victim"
mkdir -p "$TMP/b[x]"
cp "$DEMO" "$TMP/b[x]/c=d,e.pcap"
run brackets --replay "$TMP/b[x]/c=d,e.pcap"
check "brackets in the name: exit 0 (rc $(rc brackets))" [ "$(rc brackets)" = 0 ]
same_file "brackets in the name: books equal the golden dump" "$GOLDEN" "$TMP/brackets.dump"
finish
