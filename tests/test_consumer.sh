#!/usr/bin/env bash
# The fh CLI (tail, top, stat) on bad and hostile segments crafted byte by byte
# (tests/segments.py), release and ASan+UBSan builds: each must say what is wrong and
# exit non-zero, or keep waiting for a good segment; never crash, read out of bounds,
# spin or hang (every run has a timeout: a hang fails). Then the lifecycle: a
# consumer follows fhd across kill -9, rm /dev/shm/NAME-* and a restart; fh stat tells
# a killed or stuck fhd from a running one; fh stat --json stays JSON whatever the
# names hold.
source "$(dirname "$0")/lib.sh"

SEG="python3 $ROOT/tests/segments.py"
n=fhcons$$
cleanup_shm() { rm -rf /dev/shm/$n-*; }
trap 'cleanup_shm; rm -rf "$TMP"' EXIT
put() { # put NAME MODE KIND ARGS...: crafts /dev/shm/NAME afresh, whole at once (rename)
	local name=$1 mode=$2 kind=$3
	shift 3
	rm -rf "/dev/shm/$name"
	$SEG "$kind" "$TMP/seg" "$@" && install -m "$mode" "$TMP/seg" "/dev/shm/$n-put.tmp" &&
		mv -f "/dev/shm/$n-put.tmp" "/dev/shm/$name"
}
FHS=("$B/fh")
[ -x "$B/asan/fh" ] && FHS+=("$B/asan/fh")

for FH in "${FHS[@]}"; do
	tag=${FH#$B/}
	# C1: capacity 2^58 wraps capacity * 64 past the size check; 0 and 12 are no rings.
	for cap in '2**58' 0 12; do
		put $n-1 0600 ring capacity="$cap" size=8192
		timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
		rc=$?
		check "$tag C1: tail on capacity $cap: refused, exit 1 (rc $rc)" [ $rc = 1 ]
		check "$tag C1: it says the capacity is wrong" grep -q "capacity" "$TMP/err"
	done

	# C2: a view entry with instrument >= 65536.
	put $n-1 0600 ring
	put $n-1-top 0600 view instrument=70000
	timeout -k 5 10 "$FH" top --ring $n-1 --once >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "$tag C2: top with instrument 70000 in the view: exit 0 (rc $rc)" [ $rc = 0 ]
	check "$tag C2: and shows the entries" [ "$(grep -c SYM "$TMP/out")" = 4 ]
	# A feed name with bytes above 0x7e (é is 0xe9 in the ring) reaches the terminal as '?'.
	put $n-1 0600 ring name0=$'caf\xc3\xa9\x1b[2J'
	timeout -k 5 10 "$FH" top --ring $n-1 --once >"$TMP/out" 2>"$TMP/err"
	check "$tag C2: top shows a feed name as printable ASCII only" grep -q "^caf??\[2J " "$TMP/out"
	check "$tag C2: no byte outside printable ASCII reaches the terminal" \
		python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(b > 0x7e or (b < 0x20 and b != 10) for b in d))' "$TMP/out"

	# C3: entry_size 0 (2^32 loop), smaller than 48 + 48 * depth, not 64-aligned.
	for es in 0 64 130; do
		put $n-1-top 0600 view entry_size=$es slots=4294967295 size=8192
		timeout -k 5 10 "$FH" top --ring $n-1 --once >"$TMP/out" 2>"$TMP/err"
		rc=$?
		check "$tag C3: top on a view with entry size $es: exit 1 (rc $rc)" [ $rc = 1 ]
		check "$tag C3: it says the view is malformed" grep -q "malformed" "$TMP/err"
	done
	rm -f /dev/shm/$n-1-top

	# C4: a stats segment of 0 or 100 bytes (fhd between shm_open and ftruncate).
	for size in 0 100; do
		put $n-stats 0644 stats size=$size
		timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out" 2>"$TMP/err"
		rc=$?
		check "$tag C4: stat on a $size-byte segment: exit 1, no SIGBUS (rc $rc)" [ $rc = 1 ]
		check "$tag C4: it says the size" grep -q "$size bytes" "$TMP/err"
	done

	# C5: names without a terminator, in the ring and the stats segment.
	put $n-1 0600 ring unterminated=1 name0=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
		name1=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB name2=CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC stop=1
	timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "$tag C5: tail on unterminated feed names: exit 0 (rc $rc)" [ $rc = 0 ]
	check "$tag C5: names cut at 31 bytes" grep -qE "^1 instrument A{31} " "$TMP/out"
	put $n-stats 0644 stats unterminated=1 feeds=16
	timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "$tag C5: stat on unterminated names: exit 0 (rc $rc)" [ $rc = 0 ]
	check "$tag C5: names cut at 31 bytes" grep -qE "^feed N{31}: " "$TMP/out"
	timeout -k 5 10 "$FH" stat --segment $n-stats --json | python3 -m json.tool >/dev/null
	check "$tag C5: stat --json on unterminated names is JSON" [ "${PIPESTATUS[0]}${PIPESTATUS[1]}" = 00 ]

	# C6: a FIFO at the name: no blocking open.
	rm -f /dev/shm/$n-1 /dev/shm/$n-stats
	mkfifo -m 0600 /dev/shm/$n-1 /dev/shm/$n-stats
	timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "$tag C6: tail on a FIFO: exit 1 at once (rc $rc)" [ $rc = 1 ]
	check "$tag C6: it says FIFO" grep -q "FIFO" "$TMP/err"
	timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "$tag C6: stat on a FIFO: exit 1 at once (rc $rc)" [ $rc = 1 ]
	rm -f /dev/shm/$n-1 /dev/shm/$n-stats

	# C7: a torn ring: slots whose seq never settles.
	put $n-1 0600 ring torn=1 events=5
	timeout -k 5 10 "$FH" tail --ring $n-1 2>&1 >/dev/null | head -c 200000 >"$TMP/err"
	rc=${PIPESTATUS[0]}
	check "$tag C7: tail on a torn ring: exit 1 (rc $rc)" [ $rc = 1 ]
	check "$tag C7: it says the ring is broken" grep -q "producer is broken" "$TMP/err"
	check "$tag C7: no lap reported ($(grep -c lapped "$TMP/err") lines)" [ "$(grep -c lapped "$TMP/err")" = 0 ]
done

# Trust: a segment others may write, or another user's, is refused by name; --wait
# keeps waiting until a good one replaces it; FH_PRODUCER_UID trusts a named user.
FH=$B/fh
put $n-1 0666 ring stop=1
timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
rc=$?
check "trust: a mode 0666 ring is refused (rc $rc)" [ $rc = 1 ]
check "trust: it names the mode" grep -q "mode 0666" "$TMP/err"
timeout -k 5 20 "$FH" tail --ring $n-1 --wait >"$TMP/out" 2>"$TMP/err" &
waiter=$!
sleep 0.5
check "trust: --wait keeps waiting on it" kill -0 $waiter
put $n-1 0600 ring stop=1
wait $waiter
rc=$?
check "trust: --wait then reads the good one to its stop (rc $rc)" [ $rc = 0 ]
check "trust: it said why it waited, once" [ "$(grep -c "mode 0666" "$TMP/err")" = 1 ]
if [ "$(id -u)" = 0 ]; then
	put $n-1 0600 ring stop=1
	chown 65533 /dev/shm/$n-1
	timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "trust: another user's ring is refused (rc $rc)" [ $rc = 1 ]
	check "trust: it names the owner" grep -q "owned by uid 65533" "$TMP/err"
	FH_PRODUCER_UID=65533 timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
	check "trust: FH_PRODUCER_UID=65533 trusts it" [ $? = 0 ]
	put $n-stats 0644 stats
	chown 65533 /dev/shm/$n-stats
	timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out" 2>"$TMP/err"
	check "trust: fh stat refuses another user's segment too" grep -q "owned by uid 65533" "$TMP/err"
fi

# L10: names with quotes, backslashes and control characters; --json stays JSON.
put $n-stats 0644 stats feeds=3 name0='it"ch' name1='back\slash' name2="$(printf 'tab\tnl\nesc\033')"
timeout -k 5 10 "$FH" stat --segment $n-stats --json >"$TMP/stat.json" 2>"$TMP/err"
check "L10: fh stat --json with \" \\ and control characters in names is valid JSON" \
	python3 -m json.tool "$TMP/stat.json" /dev/null
check "L10: the names read back as they were" python3 - "$TMP/stat.json" <<'PY'
import json, sys
names = [f["name"] for f in json.load(open(sys.argv[1]))["feeds"]]
sys.exit(0 if names == ['it"ch', 'back\\slash', 'tab\tnl\nesc\x1b'] else 1)
PY
timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out"
check "L10: the table shows control characters as '?'" grep -q "^feed tab?nl?esc?: " "$TMP/out"
put $n-1 0600 ring name0='q"b\s' stop=1
timeout -k 5 10 "$FH" tail --ring $n-1 --json >"$TMP/tail.json"
check "fh tail --json with \" and \\ in a feed name is JSON lines" \
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/tail.json"

# fh stat: liveness from the pid and the age of the last update.
sleep 0 &
dead=$!
wait $dead
put $n-stats 0644 stats pid=$dead state=1
timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out"
check "fh stat: a running segment whose pid is gone says so" grep -q "^fhd pid $dead, not running (pid $dead gone" "$TMP/out"
timeout -k 5 10 "$FH" stat --segment $n-stats --json | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(s["state"] != "gone" or s["pid_alive"])'
check "fh stat --json: state gone" [ "${PIPESTATUS[1]}" = 0 ]
put $n-stats 0644 stats pid=$$ state=1 updated_ns=$(($(date +%s) - 60))000000000 interval_ms=1000
timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out"
check "fh stat: pid alive but 60 s without an update: not updating" grep -q "^fhd pid $$, not updating" "$TMP/out"
put $n-stats 0644 stats pid=$$ state=1
timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/out"
check "fh stat: pid alive and fresh: running" grep -q "^fhd pid $$, running" "$TMP/out"

# L4: crafted: a consumer on a ring that is removed, then recreated with the same
# generation (only the file is new): it must move to the new one and read its stop.
put $n-1 0600 ring events=3
timeout -k 5 20 "$FH" tail --ring $n-1 --wait >"$TMP/out" 2>"$TMP/err" &
consumer=$!
sleep 0.5
rm -f /dev/shm/$n-1
sleep 0.2
put $n-1 0600 ring events=2 stop=1
wait $consumer
rc=$?
check "L4 (crafted): the consumer followed the replaced ring to its stop (rc $rc)" [ $rc = 0 ]
check "L4 (crafted): it said so" grep -q "restarted" "$TMP/err"
check "L4 (crafted): and read the new ring's events" grep -q "^2 stop " "$TMP/out"

# L5: crafted: --wait started on a ring an earlier fhd stopped reads none of it: it
# waits for the next fhd's ring and reads that one to its stop (a slow consumer started
# before fhd, as make bench's, measured nothing when it drained the old ring and left).
put $n-1 0600 ring events=3 stop=1 state=2
timeout -k 5 20 "$FH" tail --ring $n-1 --wait >"$TMP/out" 2>"$TMP/err" &
consumer=$!
sleep 0.5
check "L5 (crafted): --wait on a stopped ring keeps waiting" kill -0 $consumer
check "L5 (crafted): it says it waits for the next fhd" grep -q "is stopped (an earlier fhd's): waiting" "$TMP/err"
rm -f /dev/shm/$n-1
put $n-1 0600 ring events=2 stop=1
wait $consumer
rc=$?
check "L5 (crafted): then reads the new ring to its stop (rc $rc)" [ $rc = 0 ]
check "L5 (crafted): the new ring's events" grep -q "^2 stop " "$TMP/out"
check "L5 (crafted): none of the stopped ring's" bash -c "! grep -q '^3 stop ' '$TMP/out'"
timeout -k 5 10 "$FH" tail --ring $n-1 >"$TMP/out" 2>"$TMP/err"
check "L5 (crafted): without --wait a stopped ring is drained (rc $?)" grep -q "^2 stop " "$TMP/out"

# L4 with fhd: kill -9, rm /dev/shm/NAME-*, restart, under an attached fh tail.
"$FH_PCAP" gen --seed 5 --messages 20000 --symbols 10 --out "$TMP/s.pcap" 2>/dev/null
pub_yaml $n 65536 4 0640 "{ instruments: 64, orders: 65536, levels: 256 }" >"$TMP/pub.yaml"
echo "stats: { segment: $n-stats, interval_ms: 100 }" >>"$TMP/pub.yaml"
cleanup_shm
"$FHD" -c "$TMP/pub.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 30 >"$TMP/fhd1.log" 2>&1 &
first=$!
# --slow-us: lapped by the first run for sure; the restart must not leave its books marked lapped.
timeout -k 5 60 "$FH" tail --ring $n-1 --wait --quiet --slow-us 2000 --dump-books "$TMP/restart.dump" 2>"$TMP/restart.err" &
consumer=$!
sleep 2
kill -9 $first
wait $first 2>/dev/null
timeout -k 5 10 "$FH" stat --segment $n-stats >"$TMP/stat.txt" 2>&1
check "L4: fh stat after kill -9: not running" grep -q "^fhd pid $first, not running (pid $first gone" "$TMP/stat.txt"
rm -f /dev/shm/$n-*
"$FHD" -c "$TMP/pub.yaml" --replay "$TMP/s.pcap" --dump-books "$TMP/second.dump" >"$TMP/fhd2.log" 2>&1
check "L4: restarted fhd exits 0" [ $? = 0 ]
wait $consumer
rc=$?
check "L4: the consumer ended at the new fhd's stop (rc $rc, not a timeout)" [ $rc = 0 ]
check "L4: it noticed the restart" grep -q "restarted" "$TMP/restart.err"
check "L4: the first run lapped it" grep -q "lapped" "$TMP/restart.err"
same_file "L4: its books are the new run's" "$TMP/second.dump" "$TMP/restart.dump"
finish
