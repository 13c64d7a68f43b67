#!/usr/bin/env bash
# Replay tests: the bundled captures and the NASDAQ slice through fhd (the real DPDK
# data path, net_pcap), each dump compared with an independent reference
# (tests/ref_book.py, written from the specs only) and with golden dumps in
# tests/golden/, which are themselves re-derived from the reference here, so a
# golden file can never just echo what fhd printed once.
source "$(dirname "$0")/lib.sh"

for name in itch-demo itch-faults; do
	pcap=$ROOT/pcaps/$name.pcap
	golden=$ROOT/tests/golden/$name.dump
	$REF pcap "$pcap" >"$TMP/$name.ref"
	same_file "$name: reference reproduces the golden dump" "$golden" "$TMP/$name.ref"
	if fhd_replay "$TMP/$name" "$pcap"; then
		same_file "$name: fhd dump equals golden" "$golden" "$TMP/$name.dump"
	else
		fail "$name: fhd exited non-zero"; tail -5 "$TMP/$name.log"
	fi
	check "$name: no gap (one line always complete)" [ "$(counter "$TMP/$name.log" "gaps" gaps)" = 0 ]
done

# The built-in config itself (fhd without -c; fhd_replay's has a smaller order table).
"$FHD" --replay "$ROOT/pcaps/itch-demo.pcap" --dump-books "$TMP/builtin.dump" >"$TMP/builtin.log" 2>&1 ||
	fail "built-in config: fhd exited non-zero"
same_file "itch-demo, the built-in config: fhd dump equals golden" "$ROOT/tests/golden/itch-demo.dump" "$TMP/builtin.dump"

# The faults capture carries malformed packets: they must show in the counters.
bad=$(grep -E "^  line [AB]:" "$TMP/itch-faults.log" | grep -oE "(bad_frame|truncated|bad_ip|fragment|bad_udp) [0-9]+" | awk '{s+=$2} END {print s+0}')
check "itch-faults: malformed packets counted per line ($bad)" [ "$bad" -gt 0 ]
dups=$(grep -E "^  line [AB]:" "$TMP/itch-faults.log" | grep -oE "duplicates [0-9]+" | awk '{s+=$2} END {print s+0}')
check "itch-faults: duplicates counted ($dups)" [ "$dups" -gt 0 ]

# The real NASDAQ slice: converted by fh-pcap, replayed, compared with the reference
# built straight from the raw file (independent of the converter).
if [ -f "$NASDAQ_SLICE" ]; then
	"$FH_PCAP" convert --in "$NASDAQ_SLICE" --out "$TMP/nasdaq.pcap" 2>/dev/null
	$REF itch "$NASDAQ_SLICE" >"$TMP/nasdaq.ref"
	check "nasdaq slice: reference book not empty" [ -s "$TMP/nasdaq.ref" ]
	if fhd_replay "$TMP/nasdaq" "$TMP/nasdaq.pcap"; then
		same_file "nasdaq slice: fhd dump equals reference" "$TMP/nasdaq.ref" "$TMP/nasdaq.dump"
		check "nasdaq slice: 1000 messages applied" [ "$(counter "$TMP/nasdaq.log" "^  messages" messages)" = 1000 ]
		for c in unknown_type bad_length bad_field; do
			check "nasdaq slice: $c is 0" [ "$(counter "$TMP/nasdaq.log" "^  messages" $c)" = 0 ]
		done
		unknown=$(counter "$TMP/nasdaq.log" "book:" unknown_order)
		check "nasdaq slice: orders from before the slice counted ($unknown unknown_order)" [ "$unknown" -gt 0 ]
	else
		fail "nasdaq slice: fhd exited non-zero"; tail -5 "$TMP/nasdaq.log"
	fi
else
	fail "$NASDAQ_SLICE not found (tests/data ships it; FH_DATA=$DATA)"
fi

# The simulated file has all-zero length prefixes: convert must take lengths from types.
if [ -f "$SIMULATED" ]; then
	"$FH_PCAP" convert --in "$SIMULATED" --out "$TMP/sim.pcap" 2>/dev/null
	$REF itch "$SIMULATED" >"$TMP/sim.ref"
	fhd_replay "$TMP/sim" "$TMP/sim.pcap" || fail "simulated: fhd exited non-zero"
	same_file "simulated (zero prefixes): fhd dump equals reference" "$TMP/sim.ref" "$TMP/sim.dump"
else
	fail "$SIMULATED not found (tests/data ships it; FH_DATA=$DATA)"
fi

# Two captures at once (two net_pcap ports, lines split across them).
finish
