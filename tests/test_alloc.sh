#!/usr/bin/env bash
# Proves the data path allocates nothing after start: fhd replays a capture full of
# loss, duplicates, reordering and malformed packets with tests/alloc_guard.so
# preloaded, which counts every allocation made by the RX lcore once its loop starts.
# The self-test first shows the guard does catch allocations.
source "$(dirname "$0")/lib.sh"

guard=$B/alloc_guard.so
"$FH_PCAP" gen --seed 9 --messages 30000 --out "$TMP/g.pcap" 2>/dev/null
"$FH_PCAP" inject --in "$TMP/g.pcap" --out "$TMP/f.pcap" --seed 9 --loss-a 0.2 --dup 0.1 \
	--reorder 0.2 --malformed 0.1 2>/dev/null

FH_ALLOC_GUARD_SELFTEST=1 LD_PRELOAD=$guard "$FHD" --replay "$TMP/f.pcap" >/dev/null 2>"$TMP/self.err"
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/self.err" | awk '{print $2}')
check "guard self-test catches allocations (${n:-none} counted)" [ "${n:-0}" -gt 0 ]

LD_PRELOAD=$guard "$FHD" --replay "$TMP/f.pcap" --dump-books "$TMP/f.dump" >"$TMP/run.log" 2>"$TMP/run.err"
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/run.err" | awk '{print $2}')
check "fhd replay under the guard ran ($(counter "$TMP/run.log" "^  messages" messages) messages)" [ -s "$TMP/f.dump" ]
check "no allocation on the RX data path after start (${n:-none} counted)" [ "${n:-x}" = 0 ]

# The same with publishing on: events, the conflated view, END_OF_PACKET, STOP.
ring=fhalloc$$
shm_prefixes+=($ring-)
LD_PRELOAD=$guard "$FHD" --replay "$TMP/f.pcap" --publish $ring >"$TMP/pub.log" 2>"$TMP/pub.err"
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/pub.err" | awk '{print $2}')
check "publishing: no allocation on the RX data path (${n:-none} counted)" [ "${n:-x}" = 0 ]
check "publishing: the ring was written" grep -q "publishing on" "$TMP/pub.err"
rm -f /dev/shm/$ring-*

# The same with the journal on: every frame's reference handed to the journal lcore.
mkdir -p "$TMP/j"
LD_PRELOAD=$guard "$FHD" --replay "$TMP/f.pcap" --journal "$TMP/j" >"$TMP/jour.log" 2>"$TMP/jour.err"
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/jour.err" | awk '{print $2}')
check "journaling: no allocation on the RX data path (${n:-none} counted)" [ "${n:-x}" = 0 ]
check "journaling: the journal was written" grep -qE "^  itch.A: journaled [1-9]" "$TMP/jour.log"
finish
