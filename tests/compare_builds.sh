#!/usr/bin/env bash
# compare_builds.sh OLD_BUILD NEW_BUILD: proves two builds of fh behave the same on every
# capture the test suite feeds fhd, for behaviour-preserving changes (issue 10: "dumps
# are byte-identical to before on every capture the tests use"). Not part of `make
# test`: it needs two builds. Typical use, from the root of the new tree:
#     git worktree add /tmp/fh-old <base commit> && make -C /tmp/fh-old all
#     make all && tests/compare_builds.sh /tmp/fh-old/build build
# Each build directory must hold fhd, fh, fh-pcap and libfh.so. The captures are made
# here with OLD's fh-pcap (and the tests' own Python crafting tools), so both fhd read
# the very same bytes; configs and options are the ones the tests use (lines A and B,
# reorder windows, gaps, sessions, VLAN, publishing, conflated view, journal, clock
# skew). Per case, the two fhd run side by side, each in its own directory with its
# own ring and stats segment names (put back to RUN, RING and STATS in what is
# compared), and these are compared:
#  - the --dump-books file, byte for byte, and the exit code;
#  - stdout and stderr, byte for byte after taking out only what depends on the
#    clock or the pid (norm() below): the `throughput:` line (packets/s), the
#    rx_to_publish_* and processing percentile distributions and their table figures (RX->publish
#    latency, measured on the TSC; their counts are kept), the periodic `fhd: FEED:
#    ... pkt/s` status lines, the journal line's writes (it also flushes on a timer),
#    buffer_waits and backlog_max (how far the writer lagged), the pid in
#    fh-stats-PID and in the DPDK telemetry socket's path (/fhd-PID/), and the
#    wall-clock time in journal file names. feed_delay is exchange time vs capture
#    time, so it is compared whole;
#  - with a ring: every event, every field but publish_delta_ns (a latency), read
#    through OLD's libfh (so the producer alone is judged), and `fh tail --json` and
#    `fh top --once` (the conflated view) of each build's own fh;
#  - with a journal: how many files, and the pcapng files in name order, byte for byte
#    (their names hold the wall clock, their contents do not); on a difference,
#    tshark's per-frame lists (interface, time, lengths) say whether frames differ or
#    only the blocks around them;
#  - with --hist-out: the feed_delay .hgrm files (the RX->publish ones are timing).
# Left out because they depend on timing by design: looping replays with --duration,
# signals mid-run (test_sighup, the kill -9 cases), consumers lapped by a slow reader,
# a tiny journal ring dropping, a full disk, the live veth path, `fh stat` and the
# Prometheus file (rates and latencies); and the sessions test_gen_books checks with
# the reference only (fhd never reads them there). Prints one PASS/DIFF line per case, a short
# diff under each DIFF, and exits 1 on any DIFF (2 on a usage or setup error).
# KEEP=1 keeps the work directory; ONLY=REGEX runs only the cases whose name matches.
set -uo pipefail
if [ $# != 2 ] || [ ! -x "$1/fhd" ] || [ ! -x "$2/fhd" ]; then
	echo "usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR (each with fhd, fh, fh-pcap, libfh.so)" >&2
	exit 2
fi
OLD=$(cd "$1" && pwd)
NEW=$(cd "$2" && pwd)
for b in "$OLD" "$NEW"; do
	for f in fhd fh fh-pcap libfh.so; do
		[ -e "$b/$f" ] || { echo "$0: $b/$f missing" >&2; exit 2; }
	done
done
B=$OLD	# lib.sh's build: OLD's fh-pcap makes the captures
source "$(dirname "$0")/lib.sh"	# ROOT, DATA, TMP, FH_PCAP (OLD's), REF, pub_yaml
CRAFT="python3 $ROOT/tests/pcap_craft.py"
ring=fheq$$
stats=fheqst$$
trap 'rm -f /dev/shm/$ring-* /dev/shm/$stats-*; [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"' EXIT
chmod 0700 "$TMP"
cases=0 diffs=0
start=$SECONDS

# norm: fhd's output without what depends on the clock or the pid (see the head).
norm() {
	awk '
	/^throughput: / { next }
	/^fhd: [^ ]+: .* pkt\/s/ { next }
	/^latency [^ ]+ (rx_to_publish_[a-z]+|processing) \(us\), percentile distribution:$/ {
		print $1, $2, $3, "(distribution left out: timing)"; skip = 1; next }
	skip && /^#\[Buckets/ { skip = 0; next }
	skip { next }
	/^  [^ ]+ +(rx_to_publish_[a-z]+|processing) +[0-9]+ / { print "  " $1, $2, $3, "(percentiles left out: timing)"; next }
	/^journal / { gsub(/ writes [0-9]+/, " writes *"); gsub(/buffer_waits [0-9]+/, "buffer_waits *")
		      gsub(/backlog_max [0-9]+/, "backlog_max *") }
	{ gsub(/fh-stats-[0-9]+/, "fh-stats-PID")
	  gsub(/\/fhd-[0-9]+\//, "/fhd-PID/")
	  gsub(/fh-[0-9]+T[0-9]+\.[0-9]+Z/, "fh-TIME")
	  print }' "$1"
}

# events LIBFH RING: every event of a stopped ring, every field but publish_delta_ns.
events() {
	python3 - "$1" "$2" <<'PY'
import ctypes, struct, sys
EVENT = struct.Struct('<QBBBBIQQII24s')		# struct fh_event (fh_event.h)
lib = ctypes.CDLL(sys.argv[1])
lib.fh_attach.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                          ctypes.c_char_p, ctypes.c_size_t]
lib.fh_poll.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
lib.fh_stopped.argtypes = [ctypes.c_void_p]
lib.fh_stopped.restype = ctypes.c_bool
consumer, err = ctypes.c_void_p(), ctypes.create_string_buffer(256)
if lib.fh_attach(sys.argv[2].encode(), 0, ctypes.byref(consumer), err, len(err)) != 0:
    sys.exit('events: %s' % err.value.decode(errors='replace'))
buf = ctypes.create_string_buffer(EVENT.size * 512)
out = sys.stdout
for _ in range(1 << 24):
    n = lib.fh_poll(consumer, buf, 512)
    if n < 0:
        sys.exit('events: fh_poll %d: lapped or restarted' % n)
    if n == 0:
        out.write('stopped %s\n' % bool(lib.fh_stopped(consumer)))
        break
    for i in range(n):
        e = EVENT.unpack_from(buf.raw, i * EVENT.size)
        out.write('%d type %d side %d feed %d flags %d instr %d exch %d rx %d qty %d %s\n'
                  % (e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[9], e[10].hex()))
PY
}

# journal_list DIR: tshark's frame list of DIR's journal files, in name order.
journal_list() {
	local f i=0
	for f in $(ls "$1"/fh-*.pcapng 2>/dev/null | sort); do
		i=$((i + 1))
		tshark -r "$f" -T fields -e frame.interface_name -e frame.time_epoch -e frame.len \
			-e frame.cap_len 2>&1 | sed "s/^/file $i: /"
	done
}

# run_side BUILD SIDE OPTS ARGS...: one fhd run of BUILD in a fresh $TMP/SIDE, ring
# $ring-SIDE-1 and stats segment $stats-SIDE. In ARGS and in the file after -c, @RUN@,
# @RING@ and @STATS@ stand for these; fhd's output has them put back (norm). OPTS is a
# comma list: ring (read the ring after), journal (--journal RUN/j), jconf (the config
# journals to @RUN@/j), hist (--hist-out RUN/h), nodump (no --dump-books).
run_side() {
	local build=$1 side=$2 opts=$3 args=() a prev=
	shift 3
	local run=$TMP/$side rn=$ring-$side sn=$stats-$side
	rm -rf "$run" && mkdir -m 0700 "$run"
	rm -f /dev/shm/$rn-* /dev/shm/$sn
	for a in "$@"; do
		if [ "$prev" = -c ]; then
			sed "s#@RUN@#$run#g; s#@RING@#$rn#g; s#@STATS@#$sn#g" "$a" >"$run/fhd.yaml"
			a=$run/fhd.yaml
		fi
		a=${a//@RING@/$rn}
		args+=("$a")
		prev=$a
	done
	[[ ,$opts, == *,nodump,* ]] || args+=(--dump-books "$run/dump")
	[[ ,$opts, == *,journal,* ]] && mkdir -m 0700 "$run/j" && args+=(--journal "$run/j")
	[[ ,$opts, == *,jconf,* ]] && mkdir -m 0700 "$run/j"
	[[ ,$opts, == *,hist,* ]] && mkdir -m 0700 "$run/h" && args+=(--hist-out "$run/h")
	timeout 120 "$build/fhd" "${args[@]}" >"$run/stdout.raw" 2>"$run/stderr.raw"
	echo $? >"$run/rc"
	if [[ ,$opts, == *,ring,* ]]; then
		events "$OLD/libfh.so" $rn-1 >"$run/events" 2>&1
		timeout 60 "$build/fh" tail --ring $rn-1 --json >"$run/tail.json" 2>"$run/tail.err"
		timeout 60 "$build/fh" top --ring $rn-1 --once >"$run/top.raw" 2>&1
	fi
	for a in stdout stderr top; do
		[ -e "$run/$a.raw" ] && norm "$run/$a.raw" | sed "s#$run#RUN#g; s#$rn#RING#g; s#$sn#STATS#g" >"$run/$a"
	done
	if [ -d "$run/j" ]; then
		ls "$run/j" | grep -c '^fh-.*\.pcapng$' >"$run/journal.files"
	fi
	rm -f /dev/shm/$rn-* /dev/shm/$sn
}

# compare NAME OPTS ARGS...: runs OLD's fhd and NEW's side by side, prints PASS or DIFF.
compare() {
	local name=$1 opts=$2 what=() f a b t=$SECONDS
	shift 2
	[[ $name =~ ${ONLY:-} ]] || return 0
	cases=$((cases + 1))
	run_side "$OLD" old "$opts" "$@" &
	run_side "$NEW" new "$opts" "$@"
	wait
	for f in rc dump stdout stderr events tail.json tail.err top journal.files; do
		a=$TMP/old/$f b=$TMP/new/$f
		[ -e "$a" ] || [ -e "$b" ] || continue
		cmp -s "$a" "$b" || what+=("$f")
	done
	if [ -d "$TMP/old/j" ]; then
		a=$(cd "$TMP/old/j" && ls fh-*.pcapng 2>/dev/null | sort)
		b=$(cd "$TMP/new/j" && ls fh-*.pcapng 2>/dev/null | sort)
		paste -d' ' <(echo "$a") <(echo "$b") | while read -r x y; do
			[ -n "$x$y" ] || continue
			cmp -s "$TMP/old/j/$x" "$TMP/new/j/$y" || echo "journal bytes differ: file $x (old), $y (new)"
		done >"$TMP/jbytes"
		if [ -s "$TMP/jbytes" ]; then
			what+=("journal-bytes")
			journal_list "$TMP/old/j" >"$TMP/old/journal.frames"
			journal_list "$TMP/new/j" >"$TMP/new/journal.frames"
			cmp -s "$TMP/old/journal.frames" "$TMP/new/journal.frames" && echo "    (tshark: the same frames)" >>"$TMP/jbytes" ||
				what+=("journal.frames")
		fi
	fi
	if [ -d "$TMP/old/h" ]; then
		for a in "$TMP"/old/h/*.feed_delay.hgrm; do
			cmp -s "$a" "$TMP/new/h/$(basename "$a")" || what+=("hist:$(basename "$a")")
		done
	fi
	if [ ${#what[@]} = 0 ]; then
		printf 'PASS %-40s %3ss  rc %s, %s\n' "$name" $((SECONDS - t)) "$(cat "$TMP/old/rc")" "$(summary)"
		return
	fi
	diffs=$((diffs + 1))
	printf 'DIFF %-40s %3ss  %s\n' "$name" $((SECONDS - t)) "${what[*]}"
	for f in "${what[@]}"; do
		case $f in
		journal-bytes) sed 's/^/    /' "$TMP/jbytes" ;;
		hist:*) diff "$TMP/old/h/${f#hist:}" "$TMP/new/h/${f#hist:}" | head -6 | sed 's/^/    /' ;;
		*) echo "    --- $f (< old, > new)"; diff "$TMP/old/$f" "$TMP/new/$f" | head -8 | sed 's/^/    /' ;;
		esac
	done
}

# summary: what a passing case compared, for its line.
summary() {
	local s
	s="no dump"
	[ -e "$TMP/old/dump" ] && s="$(wc -l <"$TMP/old/dump") dump lines"
	[ -e "$TMP/old/events" ] && s="$s, $(($(wc -l <"$TMP/old/events") - 1)) events"
	[ -e "$TMP/old/journal.files" ] && s="$s, $(cat "$TMP/old/journal.files") journal file(s) ($(du -cb "$TMP"/old/j/fh-*.pcapng | tail -1 | cut -f1) bytes)"
	[ -d "$TMP/old/h" ] && s="$s, feed_delay hgrm"
	echo "$s"
}

# heredoc_py FILE N: the N-th Python here-document of a test script (a capture it makes).
heredoc_py() {
	awk -v n="$2" '/<<.PY.$/ { k++; if (k == n) { on = 1; next } } on && /^PY$/ { exit } on' "$1"
}

gen() { "$FH_PCAP" gen "$@" 2>/dev/null || echo "fh-pcap gen $* failed" >&2; }
inject() { "$FH_PCAP" inject "$@" 2>/dev/null || echo "fh-pcap inject $* failed" >&2; }
C=$TMP/cap	# the captures, made once
mkdir -p "$C"
DEMO=$ROOT/pcaps/itch-demo.pcap
FAULTS=$ROOT/pcaps/itch-faults.pcap
echo "old: $OLD"
echo "new: $NEW"

echo "-- bundled captures, default config (test_replay, test_gen_books, demo.sh, ...)"
compare "itch-demo" "" --replay "$DEMO"
compare "itch-faults" "" --replay "$FAULTS"
compare "itch-demo --top 3 --hist-out" "hist" --replay "$DEMO" --top 3

echo "-- tests/data, converted by fh-pcap (test_replay, test_events)"
pub_yaml @RING@ 262144 4 0600 >"$C/ev.yaml"
for f in "$NASDAQ_SLICE" "$SIMULATED"; do
	[ -f "$f" ] || { echo "SKIP $f not found"; continue; }
	n=$(basename "$f")
	"$FH_PCAP" convert --in "$f" --out "$C/$n.pcap" 2>/dev/null
	compare "$n" "" --replay "$C/$n.pcap"
	compare "$n published" "ring" -c "$C/ev.yaml" --replay "$C/$n.pcap"
done

echo "-- generated sessions with faults on the lines (test_differential)"
for seed in 11 22 33 44; do
	gen --seed $seed --messages $((20000 + seed * 500)) --symbols $((seed % 7 * 10 + 3)) --out "$C/d$seed.pcap"
	compare "diff seed $seed clean" "" --replay "$C/d$seed.pcap"
	inject --in "$C/d$seed.pcap" --out "$C/d$seed-la.pcap" --seed $seed --loss-a 0.2
	compare "diff seed $seed loss-a" "" --replay "$C/d$seed-la.pcap"
	inject --in "$C/d$seed.pcap" --out "$C/d$seed-lb.pcap" --seed $seed --loss-b 0.3 --dup 0.1 \
		--reorder 0.2 --reorder-depth 3
	compare "diff seed $seed loss-b-dup-reorder" "" --replay "$C/d$seed-lb.pcap"
	inject --in "$C/d$seed.pcap" --out "$C/d$seed-all.pcap" --seed $seed --loss-a 0.1 --dup 0.05 \
		--reorder 0.1 --malformed 0.1
	compare "diff seed $seed all-faults" "" --replay "$C/d$seed-all.pcap"
done
gen --seed 5 --messages 20000 --out "$C/g5.pcap"
python3 <(heredoc_py "$ROOT/tests/test_differential.sh" 1) "$C/g5.pcap" "$C/both.pcap"
compare "loss on both lines (gaps)" "" --replay "$C/both.pcap"

echo "-- published events and the conflated view (test_events, test_publish, test_consumer)"
for seed in 11 22 33; do
	gen --seed $seed --messages $((20000 + seed * 300)) --symbols $((seed % 7 * 10 + 3)) --out "$C/e$seed.pcap"
	compare "events seed $seed clean" "ring" -c "$C/ev.yaml" --replay "$C/e$seed.pcap"
	inject --in "$C/e$seed.pcap" --out "$C/e$seed-a.pcap" --seed $seed --loss-a 0.2 --dup 0.1 \
		--reorder 0.2 --reorder-depth 3
	compare "events seed $seed loss-a-dup-reorder" "ring" -c "$C/ev.yaml" --replay "$C/e$seed-a.pcap"
	inject --in "$C/e$seed.pcap" --out "$C/e$seed-b.pcap" --seed $seed --loss-b 0.3 --dup 0.05 \
		--reorder 0.1 --malformed 0.1
	compare "events seed $seed loss-b-all-faults" "ring" -c "$C/ev.yaml" --replay "$C/e$seed-b.pcap"
done
gen --seed 17 --messages 120000 --symbols 40 --out "$C/p17.pcap"
pub_yaml @RING@ 262144 10 >"$C/pub10.yaml"
compare "publish seed 17, depth 10" "ring" -c "$C/pub10.yaml" --replay "$C/p17.pcap"
compare "publish itch-demo, depth 10" "ring" -c "$C/pub10.yaml" --replay "$DEMO"
gen --seed 5 --messages 20000 --symbols 10 --out "$C/c5.pcap"
pub_yaml @RING@ 65536 4 0640 "{ instruments: 64, orders: 65536, levels: 256 }" >"$C/cons.yaml"
echo "stats: { segment: @STATS@, interval_ms: 100 }" >>"$C/cons.yaml"
compare "consumer seed 5, small book, stats" "ring" -c "$C/cons.yaml" --replay "$C/c5.pcap"

echo "-- malformed and hostile input (test_malformed, test_hostile_input, test_alloc)"
gen --seed 3 --messages 5000 --out "$C/g3.pcap"
inject --in "$C/g3.pcap" --out "$C/m.pcap" --seed 3 --malformed 0.9 --dup 0.2 --reorder 0.3
compare "malformed 0.9" "" --replay "$C/m.pcap"
compare "malformed 0.9 --publish" "ring" --replay "$C/m.pcap" --publish @RING@
python3 <(heredoc_py "$ROOT/tests/test_malformed.sh" 2) "$C/r.pcap"
compare "random frames" "" --replay "$C/r.pcap"
$CRAFT hostile "$C/h.pcap"
compare "hostile frames (VLAN, sessions, ...)" "ring" --replay "$C/h.pcap" --publish @RING@
$CRAFT symbols "$C/s.pcap"
compare "odd symbols --top 30" "ring,nodump" --replay "$C/s.pcap" --publish @RING@ --top 30
for kind in noiface spb twoshb tsresol caplenblock origshort hugeblock unknownblk bigendian jumbo \
	be ns snap0 fcs; do
	$CRAFT odd $kind "$DEMO" "$C/odd-$kind.pcap"
	compare "odd capture $kind" "" --replay "$C/odd-$kind.pcap"
done
compare "odd capture jumbo --journal" "journal" --replay "$C/odd-jumbo.pcap"
gen --seed 9 --messages 30000 --out "$C/g9.pcap"
inject --in "$C/g9.pcap" --out "$C/f9.pcap" --seed 9 --loss-a 0.2 --dup 0.1 --reorder 0.2 --malformed 0.1
compare "alloc capture" "" --replay "$C/f9.pcap"
compare "alloc capture --publish" "ring,nodump" --replay "$C/f9.pcap" --publish @RING@
compare "alloc capture --journal" "journal,nodump" --replay "$C/f9.pcap"

echo "-- replays that end early or are refused (test_replay_end)"
$CRAFT empty "$C/empty.pcap"
$CRAFT cut "$DEMO" "$C/cut1.pcap" 0
$CRAFT caplen "$DEMO" "$C/caplen.pcap" 0
$CRAFT cut "$DEMO" "$C/cut500.pcap" 500
$CRAFT caplen "$DEMO" "$C/caplen500.pcap" 500
$CRAFT mixng "$DEMO" "$C/mix.pcapng" 100
$CRAFT mixng "$DEMO" "$C/mix0.pcapng" 0
$CRAFT pad "$DEMO" "$C/jumbo.pcap" 9000
$CRAFT pad "$DEMO" "$C/huge.pcap" 12000 5
$CRAFT linktype 105 "$DEMO" "$C/wifi.pcap"
printf 'not a capture at all\n' >"$C/text.pcap"
for c in empty cut1 caplen cut500 caplen500 mix.pcapng mix0.pcapng jumbo huge wifi text missing; do
	f=$C/$c
	[[ $c == *.pcapng ]] || f=$f.pcap
	compare "replay_end $c" "" --replay "$f"
done
compare "replay_end empty first" "" --replay "$C/empty.pcap" --replay "$DEMO"
compare "replay_end empty last" "" --replay "$DEMO" --replay "$C/empty.pcap"
compare "replay_end loop empty" "" --replay "$C/empty.pcap" --replay-loop --duration 5
for kind in raw ipv4 sll sll2; do
	$CRAFT relink $kind "$DEMO" "$C/$kind.pcap"
	compare "link type $kind" "" --replay "$C/$kind.pcap"
done
compare "link type sll2 --journal" "journal,nodump" --replay "$C/sll2.pcap"
for kind in raw sll sll2; do
	$CRAFT short $kind "$DEMO" "$C/short-$kind.pcap"
	compare "short frames $kind" "" --replay "$C/short-$kind.pcap"
done

echo "-- the journal (test_journal)"
"$OLD/fhd" --print-default-config >"$C/base.yaml"
gen --seed 7 --messages 60000 --symbols 40 --out "$C/g7.pcap"
inject --in "$C/g7.pcap" --out "$C/j7.pcap" --seed 7 --loss-a 0.05 --dup 0.05 --reorder 0.1 --malformed 0.05
compare "journal capture, no journal" "" --replay "$C/j7.pcap"
{ sed 's/^mbufs: .*/mbufs: 65535/' "$C/base.yaml"; printf 'journal:\n  dir: %s\n  ring: 32768\n' "@RUN@/j"; } >"$C/buffered.yaml"
compare "journal buffered" "jconf" -c "$C/buffered.yaml" --replay "$C/j7.pcap"
{ sed 's/^mbufs: .*/mbufs: 65535/' "$C/base.yaml"
  printf 'journal:\n  dir: %s\n  ring: 32768\n  o_direct: true\n  fsync_mb: 1\n  buffer_kb: 128\n  rotate_mb: 2\n' "@RUN@/j"; } >"$C/direct.yaml"
compare "journal O_DIRECT, fsync, rotation" "jconf" -c "$C/direct.yaml" --replay "$C/j7.pcap"
compare "journal itch-faults" "journal,nodump" --replay "$FAULTS"
gen --seed 8 --messages 400000 --symbols 100 --out "$C/big.pcap"
compare "journal big capture, no journal" "" --replay "$C/big.pcap"

echo "-- latency and clock skew (test_latency, test_clock_skew, test_report)"
gen --seed 12 --messages 30000 --symbols 20 --out "$C/g12.pcap"
compare "latency seed 12 --hist-out" "hist,nodump" --replay "$C/g12.pcap"
gen --seed 21 --messages 5000 --out "$C/g21.pcap"
python3 "$ROOT/tests/pcap_clock.py" "$C/g21.pcap" "$C/ahead.pcap" 10800 600 >/dev/null
python3 "$ROOT/tests/pcap_clock.py" "$C/g21.pcap" "$C/behind.pcap" -10800 >/dev/null
{ cat "$C/base.yaml"; printf 'stats:\n  interval_ms: 200\n  segment: @STATS@\n'; } >"$C/skew.yaml"
compare "clock 3 h ahead" "hist" -c "$C/skew.yaml" --replay "$C/ahead.pcap"
compare "clock 3 h behind" "hist" -c "$C/skew.yaml" --replay "$C/behind.pcap"
gen --seed 5 --messages 3000 --out "$C/g5s.pcap"
compare "report seed 5 --hist-out" "hist,nodump" --replay "$C/g5s.pcap"

echo "-- the bench capture and config (bench/run.sh, one pass instead of a timed loop)"
gen --seed 42 --messages 300000 --symbols 100 --out "$C/bench.pcap"
compare "bench capture, bench config" "" -c "$ROOT/bench/fhd-bench.yaml" --replay "$C/bench.pcap"

echo "$cases cases, $diffs with a difference, $((SECONDS - start)) s"
[ $diffs = 0 ]
