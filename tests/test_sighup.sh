#!/usr/bin/env bash
# SIGHUP stops fhd cleanly, like SIGTERM (issue 9, L3): exit 0, the counters printed,
# the journal file finalised (no .part left, tshark reads it), and a consumer sees
# STOP (fh tail ends by itself and writes its dump). Everything runs under timeout.
source "$(dirname "$0")/lib.sh"

FH=$B/fh
ring=fhhup$$
jdir=$TMP/journal
mkdir -p "$jdir"
trap 'rm -rf "$TMP"; rm -f /dev/shm/$ring-*' EXIT

timeout 60 "$FH" tail --ring $ring-1 --wait --quiet --dump-books "$TMP/tail.dump" >"$TMP/tail.log" 2>&1 &
tail_pid=$!
timeout 60 "$FHD" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --publish $ring --journal "$jdir" \
	--dump-books "$TMP/fhd.dump" >"$TMP/fhd.log" 2>&1 &
fhd=$!
# Running: the ring is there and the journal has written a part of its first file.
for _ in $(seq 200); do
	part=$(ls "$jdir"/*.part 2>/dev/null | head -1)
	[ -n "$part" ] && [ -e /dev/shm/$ring-1 ] && [ "$(stat -c %s "$part")" -gt 100000 ] && break
	sleep 0.05
done
check "fhd is running with a journal file open" [ -n "$part" ]
kill -HUP $fhd
wait $fhd
rc=$?
check "SIGHUP: fhd exits 0 (rc $rc)" [ $rc = 0 ]
check "SIGHUP: the counters are printed" grep -q "^  messages [1-9]" "$TMP/fhd.log"
check "SIGHUP: the journal counters are printed" grep -qE "^journal $jdir: files [1-9]" "$TMP/fhd.log"
check "SIGHUP: the replay line says it was interrupted" grep -q "stopped: looping" "$TMP/fhd.log"
check "SIGHUP: no .part file left" bash -c "! ls '$jdir'/*.part 2>/dev/null"
files=$(ls "$jdir"/fh-*.pcapng 2>/dev/null | wc -l)
check "SIGHUP: the journal files are finalised ($files)" [ "$files" -ge 1 ]
for f in "$jdir"/fh-*.pcapng; do
	tshark -r "$f" >/dev/null 2>"$TMP/tshark.err"
	check "SIGHUP: tshark reads $(basename "$f") without complaint" \
		bash -c "! grep -qiE 'cut short|damaged|corrupt' '$TMP/tshark.err'"
done
wait $tail_pid
rc=$?
check "SIGHUP: the consumer saw STOP and exited 0 (rc $rc)" [ $rc = 0 ]
same_file "SIGHUP: the consumer's books equal fhd's dump" "$TMP/fhd.dump" "$TMP/tail.dump"
finish
