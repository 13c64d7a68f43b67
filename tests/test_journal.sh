#!/usr/bin/env bash
# The packet journal end to end, checked by others than fhd's own writer:
#  - a generated session with faults, replayed with journaling on (buffered, and
#    O_DIRECT with fsync by size and rotation by size): tshark counts, per line
#    interface, exactly the frames fhd received on that line, and fhd --replay of the
#    journal (joined by mergecap) gives a byte-identical book dump;
#  - a tiny journal ring under load drops and counts per line, books still right;
#  - a small tmpfs that fills up: fhd goes on, says so, counts what it lost, and the
#    file it leaves opens in tshark (needs root for mount; skipped otherwise);
#  - a crash-torn file, and a real kill -9 of fhd mid-journal, are repaired on start.
source "$(dirname "$0")/lib.sh"

SMALL=$(small_config) || exit 1	# the built-in config, a smaller order table (lib.sh)
cp "$SMALL" "$TMP/base.yaml"
# journal_config NAME DIR EXTRA-YAML-LINES...: the default config plus a journal section.
journal_config() {
	local name=$1 dir=$2
	shift 2
	{ cat "$TMP/base.yaml"; echo "journal:"; echo "  dir: $dir"; for l in "$@"; do echo "  $l"; done; } >"$TMP/$name.yaml"
}
# received LOG LINE: frames fhd took in on a feed line, whatever became of them.
received() {
	grep -m1 "line $2:" "$1" | grep -oE "(packets|bad_frame|wrong_source|not_ipv4|not_udp|truncated|bad_ip|fragment|bad_udp) [0-9]+" |
		awk '{s += $2} END {print s + 0}'
}
# per_interface FILE: "name count" per pcapng interface, as tshark reads it.
# complaints FILE: what tshark says on stderr reading FILE (nothing for a whole file).
complaints() {
	tshark -r "$1" 2>&1 >/dev/null | grep -v "Running as user"
}
per_interface() {
	tshark -r "$1" -T fields -e frame.interface_name 2>/dev/null | sort | uniq -c | awk '{print $2, $1}'
}

"$FH_PCAP" gen --seed 7 --messages 60000 --symbols 40 --out "$TMP/gen.pcap" 2>/dev/null
"$FH_PCAP" inject --in "$TMP/gen.pcap" --out "$TMP/s.pcap" --seed 7 --loss-a 0.05 --dup 0.05 \
	--reorder 0.1 --malformed 0.05 2>/dev/null
fhd_replay "$TMP/plain" "$TMP/s.pcap" || fail "fhd without journal exited non-zero"
$REF pcap "$TMP/s.pcap" >"$TMP/ref"
same_file "without journal: dump equals the reference" "$TMP/ref" "$TMP/plain.dump"

for mode in buffered direct; do
	mkdir -p "$TMP/j-$mode"
	# A ring that holds the whole capture: here every frame must be journaled, however
	# slowly the disk goes (the tiny-ring case below is where drops are wanted).
	if [ $mode = buffered ]; then
		journal_config $mode "$TMP/j-$mode" "ring: 32768"
	else
		journal_config $mode "$TMP/j-$mode" "ring: 32768" "o_direct: true" "fsync_mb: 1" "buffer_kb: 128" "rotate_mb: 2"
	fi
	sed -i 's/^mbufs: .*/mbufs: 65535/' "$TMP/$mode.yaml"
	"$FHD" -c "$TMP/$mode.yaml" --replay "$TMP/s.pcap" --dump-books "$TMP/$mode.dump" >"$TMP/$mode.log" 2>&1 ||
		{ fail "$mode: fhd exited non-zero"; tail -5 "$TMP/$mode.log"; continue; }
	same_file "$mode: books with the journal on equal the reference" "$TMP/ref" "$TMP/$mode.dump"
	files=$(ls "$TMP/j-$mode"/fh-*.pcapng | sort)
	nfiles=$(echo "$files" | wc -l)
	check "$mode: no .part file left after a clean stop" bash -c "! ls '$TMP/j-$mode'/*.part 2>/dev/null"
	# shellcheck disable=SC2086
	mergecap -a -w "$TMP/$mode-all.pcapng" $files
	per_interface "$TMP/$mode-all.pcapng" >"$TMP/$mode.ifaces"
	for line in A B; do
		got=$(awk -v n="itch.$line" '$1 == n {print $2}' "$TMP/$mode.ifaces")
		want=$(received "$TMP/$mode.log" $line)
		check "$mode: tshark counts line $line's frames in $nfiles file(s): $got, fhd received $want" \
			[ "${got:-0}" = "$want" -a "$want" -gt 0 ]
	done
	unrouted_want=$(grep -m1 "^unrouted" "$TMP/$mode.log" | grep -oE "(udp|not_ipv4|not_udp|truncated|bad_ip|fragment|bad_udp) [0-9]+" | awk '{s += $2} END {print s + 0}')
	got=$(awk '$1 == "unrouted" {print $2}' "$TMP/$mode.ifaces")
	check "$mode: frames for no line are journaled too (${got:-0} of $unrouted_want)" [ "${got:-0}" = "$unrouted_want" ]
	total=$(tshark -r "$TMP/$mode-all.pcapng" 2>/dev/null | wc -l)
	check "$mode: every frame of the capture is in the journal ($total)" [ "$total" = "$(tshark -r "$TMP/s.pcap" 2>/dev/null | wc -l)" ]
	"$FHD" -c "$SMALL" --replay "$TMP/$mode-all.pcapng" --dump-books "$TMP/$mode-replayed.dump" >"$TMP/$mode-replayed.log" 2>&1 ||
		fail "$mode: fhd --replay of the journal exited non-zero"
	same_file "$mode: fhd --replay of the journal reproduces the dump" "$TMP/plain.dump" "$TMP/$mode-replayed.dump"
done
check "direct: rotation by size made several files" [ "$(ls "$TMP/j-direct"/fh-*.pcapng | wc -l)" -gt 1 ]
check "direct: fsyncs were issued" [ "$(counter "$TMP/direct.log" "^journal" fsyncs)" -gt 0 ]
check "file names sort by time" bash -c "ls '$TMP/j-direct' | sort -c"

# The bundled capture: its journal opens in tshark and replays to the same books.
mkdir -p "$TMP/j-demo"
fhd_replay "$TMP/demo" "$ROOT/pcaps/itch-faults.pcap"
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-faults.pcap" --journal "$TMP/j-demo" >/dev/null 2>&1 || fail "bundled: fhd --journal exited non-zero"
f=$(ls "$TMP/j-demo"/fh-*.pcapng)
check "bundled capture: tshark reads its journal whole, every frame" \
	[ -z "$(complaints "$f")" -a "$(tshark -r "$f" 2>/dev/null | wc -l)" = "$(tshark -r "$ROOT/pcaps/itch-faults.pcap" 2>/dev/null | wc -l)" ]
"$FHD" -c "$SMALL" --replay "$f" --dump-books "$TMP/demo-j.dump" >/dev/null 2>&1 || fail "bundled: replay of the journal exited non-zero"
same_file "bundled capture: fhd --replay of its journal reproduces the dump" "$TMP/demo.dump" "$TMP/demo-j.dump"

# A tiny journal ring behind a slow writer: the RX lcore drops and counts, books stay right.
mkdir -p "$TMP/j-tiny"
journal_config tiny "$TMP/j-tiny" "ring: 64" "buffers: 2" "buffer_kb: 128" "o_direct: true" "fsync_mb: 1"
"$FH_PCAP" gen --seed 8 --messages 400000 --symbols 100 --out "$TMP/big.pcap" 2>/dev/null
fhd_replay "$TMP/big-plain" "$TMP/big.pcap" || fail "big: fhd without journal exited non-zero"
"$FHD" -c "$TMP/tiny.yaml" --replay "$TMP/big.pcap" --dump-books "$TMP/tiny.dump" >"$TMP/tiny.log" 2>&1 ||
	fail "tiny ring: fhd exited non-zero"
same_file "tiny ring: books still right" "$TMP/big-plain.dump" "$TMP/tiny.dump"
dropped=0
for line in A B; do
	d=$(counter "$TMP/tiny.log" "line $line:" journal_dropped)
	j=$(counter "$TMP/tiny.log" "itch.$line:" journaled)
	r=$(received "$TMP/tiny.log" $line)
	dropped=$((dropped + d))
	check "tiny ring: line $line journaled $j + dropped $d = received $r" [ $((j + d)) = "$r" ]
done
check "tiny ring: drops happened and were counted ($dropped)" [ "$dropped" -gt 0 ]
mergecap -a -w "$TMP/tiny-all.pcapng" "$TMP/j-tiny"/fh-*.pcapng
journaled=$(grep -m1 "^journal" "$TMP/tiny.log" | grep -oE "packets [0-9]+" | awk '{print $2}')
check "tiny ring: tshark counts what fhd says it journaled ($journaled)" \
	[ "$(tshark -r "$TMP/tiny-all.pcapng" 2>/dev/null | wc -l)" = "$journaled" ]

# Disk full: a 1 MiB tmpfs. The feed goes on; the journal stops, says why, counts the rest.
mkdir -p "$TMP/full"
# files_size DIR: the sizes of the journal files in DIR together.
files_size() {
	local total=0 f
	for f in "$1"/fh-*; do [ -e "$f" ] && total=$((total + $(stat -c %s "$f"))); done
	echo $total
}
if mount -t tmpfs -o size=1m,mode=0750 fh-journal-test "$TMP/full" 2>/dev/null; then
	journal_config full "$TMP/full"
	"$FHD" -c "$TMP/full.yaml" --replay "$TMP/big.pcap" --dump-books "$TMP/full.dump" >"$TMP/full.log" 2>&1
	check "disk full: fhd exits 0" [ $? = 0 ]
	same_file "disk full: books still right" "$TMP/big-plain.dump" "$TMP/full.dump"
	check "disk full: a clear message" grep -q "No space left on device; journaling stopped, the feed goes on" "$TMP/full.log"
	check "disk full: the counters say the journal stopped" grep -q "^journal .*STOPPED" "$TMP/full.log"
	lost=$(counter "$TMP/full.log" "itch.A:" lost)
	check "disk full: frames after the stop are counted as lost ($lost)" [ "${lost:-0}" -gt 0 ]
	f=$(ls "$TMP/full"/fh-*.pcapng)
	check "disk full: the file left is whole (tshark reads it without complaint)" [ -z "$(complaints "$f")" ]
	for line in A B; do
		j=$(counter "$TMP/full.log" "itch.$line:" journaled)
		got=$(tshark -r "$f" -T fields -e frame.interface_name 2>/dev/null | grep -c "itch.$line")
		check "disk full: line $line: the file holds what fhd says it journaled ($got = $j)" [ "$got" = "$j" ]
		l=$(counter "$TMP/full.log" "itch.$line:" lost)
		d=$(counter "$TMP/full.log" "line $line:" journal_dropped)
		check "disk full: line $line: journaled $j + lost $l + dropped $d = received" \
			[ $((j + l + d)) = "$(received "$TMP/full.log" $line)" ]
	done
	check "disk full: no .part left" bash -c "! ls '$TMP/full'/*.part 2>/dev/null"
	bytes=$(counter "$TMP/full.log" "^journal" bytes)
	check "disk full: bytes reported ($bytes) = what the files hold ($(files_size "$TMP/full"))" \
		[ "$bytes" = "$(files_size "$TMP/full")" ]
	check "disk full: the failed write is counted" [ "$(counter "$TMP/full.log" "^journal" failed_writes)" -gt 0 ]
	umount "$TMP/full"
	# 0 bytes free from the start (issue 9, L7): it reported bytes 272912 and left a
	# 0-byte .pcapng. bytes counts what reached the disk, and no empty file is left.
	mkdir -p "$TMP/zero"
	mount -t tmpfs -o size=64k,mode=0750 fh-journal-zero "$TMP/zero"
	dd if=/dev/zero of="$TMP/zero/fill" bs=4k 2>/dev/null
	check "no space: the tmpfs is full ($(df --output=avail -B1 "$TMP/zero" | tail -1) bytes free)" \
		[ "$(df --output=avail -B1 "$TMP/zero" | tail -1 | tr -d ' ')" = 0 ]
	"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --journal "$TMP/zero" >"$TMP/zero.log" 2>&1
	check "no space: fhd exits 0" [ $? = 0 ]
	grep "^journal" "$TMP/zero.log"
	bytes=$(counter "$TMP/zero.log" "^journal" bytes)
	check "no space: bytes reported ($bytes) = what the files hold ($(files_size "$TMP/zero"))" \
		[ "$bytes" = "$(files_size "$TMP/zero")" ]
	check "no space: the failed write and its bytes are counted" \
		[ "$(counter "$TMP/zero.log" "^journal" failed_writes)" -gt 0 -a "$(counter "$TMP/zero.log" "^journal" unwritten_bytes)" -gt 0 ]
	check "no space: no empty .pcapng left" [ -z "$(find "$TMP/zero" -name 'fh-*' -size 0)" ]
	check "no space: a clear message" grep -q "No space left on device; journaling stopped, the feed goes on" "$TMP/zero.log"
	umount "$TMP/zero"
else
	echo "skip: disk-full case needs root to mount a tmpfs"
fi

# A crash-torn file: cut mid-block, left as .part. The next start cuts it back and says so.
mkdir -p "$TMP/crash"
f=$(ls "$TMP/j-buffered"/fh-*.pcapng | head -1)
frames=$(tshark -r "$f" 2>/dev/null | wc -l)
size=$(stat -c %s "$f")
head -c $((size - 37)) "$f" >"$TMP/crash/fh-20200101T000000.000000000Z.pcapng.part"
printf 'garbage' >"$TMP/crash/fh-20200101T000001.000000000Z.pcapng.part"
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --journal "$TMP/crash" --dump-books "$TMP/crash.dump" >"$TMP/crash.log" 2>&1 ||
	fail "crash repair: fhd exited non-zero"
check "crash repair: a log line says what was cut" grep -q "fh-20200101T000000.000000000Z.pcapng.part was left unfinished (crash?): cut from $((size - 37)) to" "$TMP/crash.log"
check "crash repair: a file with no whole block is removed, and said so" grep -q "000001.000000000Z.pcapng.part was left unfinished with no whole block" "$TMP/crash.log"
repaired=$TMP/crash/fh-20200101T000000.000000000Z.pcapng
check "crash repair: the file is renamed whole" [ -f "$repaired" ]
check "crash repair: tshark reads every whole frame ($((frames - 1)))" \
	[ "$(tshark -r "$repaired" 2>/dev/null | wc -l)" = $((frames - 1)) -a -z "$(complaints "$repaired")" ]

# A real crash: kill -9 while journaling a looping replay, then start again.
mkdir -p "$TMP/kill"
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 30 --journal "$TMP/kill" >"$TMP/kill1.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
	part=$(ls "$TMP/kill"/*.part 2>/dev/null | head -1)
	[ -n "$part" ] && [ "$(stat -c %s "$part")" -gt 1000000 ] && break
	sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
check "kill -9: a .part file was left" bash -c "ls '$TMP/kill'/*.part >/dev/null 2>&1"
# Another process holding its lock (a reader, or a live fhd): not repaired, and said so.
part=$(ls "$TMP/kill"/*.part | head -1)
flock -o "$part" sleep 30 &	# -o: only flock itself holds the lock, not its sleep
holder=$!
for _ in $(seq 50); do grep -q "^[0-9]*: FLOCK.* $holder " /proc/locks 2>/dev/null && break; sleep 0.1; done
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --journal "$TMP/kill" >"$TMP/kill-held.log" 2>&1 || fail "kill -9: start beside a held .part failed"
check "a locked .part: left as it is, and said" grep -q "is unfinished but locked by another process" "$TMP/kill-held.log"
check "a locked .part: still there" [ -f "$part" ]
kill $holder 2>/dev/null
wait $holder 2>/dev/null
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --journal "$TMP/kill" >"$TMP/kill2.log" 2>&1 || fail "kill -9: restart failed"
check "kill -9: the restart repairs it and says so" grep -q "was left unfinished (crash?)" "$TMP/kill2.log"
check "kill -9: nothing left unfinished" bash -c "! ls '$TMP/kill'/*.part 2>/dev/null"
bad=0
for f in "$TMP/kill"/fh-*.pcapng; do
	[ -z "$(complaints "$f")" ] || bad=$((bad + 1))
done
check "kill -9: tshark reads every file without complaint" [ $bad = 0 ]

# The journal path under ASan+UBSan: no finding, same books.
if [ -x "$B/asan/fhd" ]; then
	mkdir -p "$TMP/j-asan"
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$B/asan/fhd" --replay "$TMP/s.pcap" --journal "$TMP/j-asan" \
		--dump-books "$TMP/asan.dump" >"$TMP/asan.log" 2>&1 || { fail "asan fhd with journal exited non-zero"; tail -20 "$TMP/asan.log"; }
	same_file "asan: books with the journal on equal the reference" "$TMP/ref" "$TMP/asan.dump"
fi

# Switching it on wrongly is a config error, before DPDK starts.
"$FHD" -c "$SMALL" --replay "$ROOT/pcaps/itch-demo.pcap" --journal "$TMP/nonexistent" >"$TMP/nodir.log" 2>&1
check "--journal to a missing directory: exit 2" [ $? = 2 ]
check "--journal to a missing directory: says so" grep -q "expected a writable directory" "$TMP/nodir.log"
journal_config nodir "$TMP/nonexistent"
"$FHD" -c "$TMP/nodir.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/nodir2.log" 2>&1
check "journal.dir missing: exit 2 with file:line:column" \
	bash -c "[ $? = 2 ] && grep -qE 'nodir.yaml:[0-9]+:[0-9]+: journal.dir: expected a writable directory' '$TMP/nodir2.log'"
finish
