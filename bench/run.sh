#!/usr/bin/env bash
# `make bench`: prints figures, never fails on time.
#  1. decode + book, one core: build/bench-book over two generated 5M-message ITCH
#     files, fh-pcap's shallow profile (65k live orders near the touch) and its deep one
#     (1.46M live orders at the end, hundreds of levels per side, removals of random old
#     orders), and the real NASDAQ slice, too small to be more than a cold-cache figure;
#     on the shallow file also with every message published (bench-book --publish: the
#     publisher's and the conflated view's cost per message, without packets or DPDK);
#     with FH_ANCHOR_IOOB=/path/to/itch-order-book's binary, that on the deep file too
#     and on deep sessions of 50 and 2000 symbols; with FH_BASELINE_BENCH_BOOK=an older
#     build's bench-book, that on the shallow and deep files;
#     then the CME MDP3 price-level book alone (bench-mdp3-book: ns per level update on
#     a generated 4M-update stream over 1000 instruments, against book.c's
#     book_level_set making the same level changes in the same run);
#     then MDP3 decode and decode+book (bench-mdp3, line A of a generated 200k-message
#     cme-mdp3 session in memory), side by side with an open MDP3 handler,
#     vincent212/CME-Market-Data-Handler (decode + callbacks, no book), built in a
#     temporary directory from CME_COMPETITOR_SRC (a git repository holding its pinned
#     commit) with our harness bench/mdp3_competitor.cpp; without it, or in quick
#     mode, one line says so and the section goes on;
#  2. the PMD alone (bench-pmd: rx_burst + free, nothing else) on the capture of 3,
#     set up as fhd's replay: the ceiling of the full path;
#  3. full path through DPDK: fhd replays a generated capture from memory
#     (net_pcap infinite_rx=1) for a few seconds: packets/s and messages/s, both lines
#     arbitrated, every message decoded into books. Every full-path line also says its
#     packets/s as a % of the PMD-alone rate of 2. Publishing is measured with both
#     views with no consumer, then with a slow consumer (`fh tail --slow-us`) attached
#     to that run's ring from its start (the run's own ring name, made by that fhd: the
#     line after the figure says how many events the consumer read and lost, and the
#     section fails if it read none), then with each view alone;
#  4. the RX -> publish latency of single-message packets, from replays' histograms;
#  5. then the ring, the histograms and the journal, the arbiter's hold (bench-arbiter:
#     ns per packet at holds of 1,024 to 1,048,576, and the ratio to the smallest; with
#     FH_BASELINE_BENCH_ARBITER=an older build's bench-arbiter, that too), and last gap
#     recovery (bench/recovery.sh: fill times, RX throughput while recovering, a 1M-order join);
#  6. the kernel path against bypass on a veth (bench/colo.sh, as root: the highest
#     loss-free paced rate, CPU per frame and rx_to_publish of the kernel port,
#     net_af_packet and net_af_xdp; recvmmsg against io_uring multishot receive).
# Each numbered part is one or more sections (bench/lib.sh): a section that fails says
# so in one line and the next one runs; the last line says how many sections ran and
# failed, and the exit status is non-zero if one did. FH_BENCH_QUICK=1 (`make bench
# QUICK=1`) runs every section on tiny inputs (bench/lib.sh). Every shared-memory
# segment the run makes is named fhbench<pid>-... and removed at exit.
set -uo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"	# QUICK, sized, W, section, figure
SECONDS_FULL=${FH_BENCH_SECONDS:-$(sized 5 0.3)}
SHALLOW_N=$(sized 5000000 20000)	# messages of the generated ITCH files
FULL_N=$(sized 300000 20000)		# messages of the full path's capture
SINGLE_N=$(sized 200000 5000)		# messages of the latency capture
REPLAYS=$(sized 3 1)
export FH_BENCH_ARBITER_MS=${FH_BENCH_ARBITER_MS:-$(sized 200 5)}
JOURNAL_MB=${FH_BENCH_JOURNAL_MB:-$(sized 512 4)}
HIST_SAMPLES=$(sized 100000000 1000000)
# bench-book's book: its own sizing (4M orders, 1024 levels); in quick mode 256k orders,
# which start faster and hold the small files.
read -r -a BOOK_SIZE <<<"$(sized "" "262144 1024")"

# Every segment this run makes starts with $base; those of killed runs are swept.
base=fhbench$$
segments_sweep fhbench
trap 'rm -f /dev/shm/$base-*' EXIT

# fhd's config: bench/fhd-bench.yaml; in quick mode with a pool, memory and book sized
# for the small capture, so that fhd starts in a fraction of a second.
CONFIG=$ROOT/bench/fhd-bench.yaml
if [ "$QUICK" = 1 ]; then
	CONFIG=$W/fhd-bench.yaml
	sed -e 's/^mbufs: .*/mbufs: 32767/' -e 's/"-m", "[0-9]*"/"-m", "256"/' \
		-e 's/orders: [0-9]*/orders: 65536/' "$ROOT/bench/fhd-bench.yaml" >"$CONFIG"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
[ "$QUICK" = 1 ] && echo "quick mode (FH_BENCH_QUICK=1): tiny inputs, the figures mean nothing"

# ns/msg from a bench-book output file.
ns_of() { sed -nE 's/.*messages, ([0-9.]+) ns\/msg.*/\1/p' "$1"; }
# Prints "X ns/msg; fh is R x its speed" for a reference binary on FILE against fh's OUT.
# The anchor (itch-order-book, C++, levels only, built by the user with its own
# build.sh) reads a NASDAQ binary ITCH file on stdin and prints "... nanos per packet";
# a baseline is an older build's bench-book. Same file, same run: only ratios count.
versus() {
	local label=$1 bin=$2 file=$3 out=$4 ref
	if [ ! -x "$bin" ]; then
		echo "  $label: $bin is not an executable: skipped"
		return
	fi
	cat "$file" >/dev/null	# warm the page cache
	case $label in
	itch-order-book*) ref=$("$bin" <"$file" 2>&1 | sed -nE 's/.* ([0-9.]+) nanos per packet.*/\1/p' | tail -1) ;;
	*) ref=$("$bin" "$file" 2>/dev/null | sed -nE 's/.*messages, ([0-9.]+) ns\/msg.*/\1/p') ;;
	esac
	figure "$label" "$ref"
	figure "fh on $file" "$(ns_of "$out")"
	awk -v l="$label" -v a="$ref" -v f="$(ns_of "$out")" \
		'BEGIN { printf "  %-38s %.1f ns/msg; fh is %.2fx its speed\n", l ":", a, a / f }'
}
# gen FILE ARGS...: a generated session, made once (kept in $W between runs).
gen() {
	local file=$1
	shift
	[ -f "$file" ] || "$B/fh-pcap" gen "$@" --out "$file.tmp" 2>/dev/null
	[ -f "$file" ] || mv "$file.tmp" "$file"
}

decode_book() {
	local mn=$((SHALLOW_N / 1000000))M n
	[ "$QUICK" = 1 ] && mn=$((SHALLOW_N / 1000))k
	gen "$W/gen.itch" --seed 42 --messages "$SHALLOW_N" --symbols 500 --format itch
	gen "$W/deep.itch" --profile deep --seed 42 --messages "$SHALLOW_N" --symbols 500 --format itch
	echo "== decode+book (bench-book, best of 5 passes, the RX path's three prefetch stages 16, 8 and 4 messages ahead)"
	printf '  generated, %s messages, 500 symbols: ' $mn
	"$B/bench-book" "$W/gen.itch" "${BOOK_SIZE[@]}" 2>/dev/null | tee "$W/gen.out"
	figure "decode+book, shallow" "$(ns_of "$W/gen.out")"
	# The publisher's own cost per message: the same passes, every message also published
	# (both views, the conflated view, packets of 2 messages) onto a ring nobody reads.
	printf '    and publishing every message:      '
	"$B/bench-book" --publish 2 "$W/gen.itch" "${BOOK_SIZE[@]}" 2>/dev/null | tee "$W/gen-pub.out"
	figure "decode+book+publish, shallow" "$(ns_of "$W/gen-pub.out")"
	awk -v p="$(ns_of "$W/gen-pub.out")" -v b="$(ns_of "$W/gen.out")" \
		'BEGIN { printf "    publishing: %.1f ns/msg more, %.2fx decode+book alone\n", p - b, p / b }'
	# FH_BASELINE_BENCH_BOOK: an older build's bench-book (the issue's "main before").
	if [ -n "${FH_BASELINE_BENCH_BOOK:-}" ]; then
		versus "baseline, same shallow file" "$FH_BASELINE_BENCH_BOOK" "$W/gen.itch" "$W/gen.out"
	fi
	# bench-book's own sizing (4M orders, 1024 levels per side) holds the deep book; its
	# stderr says so (orders_full 0, levels_full 0) and gives the live orders at the end.
	printf '  deep, %s messages, 500 symbols:      ' $mn
	"$B/bench-book" "$W/deep.itch" "${BOOK_SIZE[@]}" 2>"$W/deep.err" | tee "$W/deep.out"
	figure "decode+book, deep" "$(ns_of "$W/deep.out")"
	sed -E 's/^bench-book: /    at the end: /' "$W/deep.err"
	if [ -n "${FH_BASELINE_BENCH_BOOK:-}" ]; then
		versus "baseline, same deep file" "$FH_BASELINE_BENCH_BOOK" "$W/deep.itch" "$W/deep.out"
	fi
	if [ -n "${FH_ANCHOR_IOOB:-}" ]; then
		versus "itch-order-book, same deep file" "$FH_ANCHOR_IOOB" "$W/deep.itch" "$W/deep.out"
		# How the ratio holds as instruments are added: 1M-message deep sessions.
		for n in 50 2000; do
			gen "$W/deep1m-$n.itch" --profile deep --seed 42 --messages "$(sized 1000000 20000)" \
				--symbols $n --format itch
			printf '  deep, %s messages, %4d symbols:     ' "$(sized 1M 20k)" $n
			"$B/bench-book" "$W/deep1m-$n.itch" "${BOOK_SIZE[@]}" 2>/dev/null | tee "$W/deep1m-$n.out"
			versus "itch-order-book, same file" "$FH_ANCHOR_IOOB" "$W/deep1m-$n.itch" "$W/deep1m-$n.out"
		done
	fi
	local slice=$ROOT/tests/data/itch50-nasdaq-snippet/12302019_SNIPPET.NASDAQ_ITCH50
	printf '  NASDAQ 2019-12-30 slice (cold):      '
	"$B/bench-book" "$slice" "${BOOK_SIZE[@]}" 2>/dev/null | tee "$W/slice.out"
	figure "decode+book, NASDAQ slice" "$(ns_of "$W/slice.out")"
}

# The MDP3 price-level book (book/mdp3/) alone, and book.c's level path on the same changes.
mdp3_book() {
	echo "== MDP3 price-level book (bench-mdp3-book, best of 5 passes, MarketDepth 10)"
	printf '  '
	"$B/bench-mdp3-book" "$(sized 4000000 100000)" 1000 | tee "$W/mdp3-book.out"
	figure "mdp3 book" "$(sed -nE 's/.*: ([0-9.]+) ns\/update;.*/\1/p' "$W/mdp3-book.out")"
}

# MDP3: fh's decode, decode+book, and the competitor's decode on the same line A.
MDP3_COMPETITOR_PIN=fe72c650499fd08ae4ee593a15e399dfc947b576
mdp3() {
	local n=$(sized 200000 2000) passes=$(sized 5 1) fh_decode fh_book theirs
	local src=${CME_COMPETITOR_SRC:-/work/.mirror/vincent212+CME-Market-Data-Handler/repo} tmp
	gen "$W/mdp3.pcap" --protocol cme-mdp3 --seed 1 --messages "$n"
	echo "== MDP3 decode and decode+book (bench-mdp3: line A of a generated $n-message session, in memory, $passes passes)"
	"$B/bench-mdp3" "$W/mdp3.pcap" "$passes" | tee "$W/mdp3.out"
	fh_decode=$(sed -nE 's/.*fh decode only .*: +([0-9.]+) ns\/msg best.*/\1/p' "$W/mdp3.out")
	fh_book=$(sed -nE 's/.*fh decode\+book: +([0-9.]+) ns\/msg best.*/\1/p' "$W/mdp3.out")
	figure "mdp3 decode ns/msg" "$fh_decode"
	figure "mdp3 decode+book ns/msg" "$fh_book"
	if [ "$QUICK" = 1 ]; then
		echo "  competitor: skipped in quick mode"
		return 0
	fi
	if ! command -v g++ >/dev/null || ! git -C "$src" cat-file -e "$MDP3_COMPETITOR_PIN^{commit}" 2>/dev/null; then
		echo "  competitor: not available (CME_COMPETITOR_SRC $src: no git repository with commit ${MDP3_COMPETITOR_PIN:0:12}, or no g++)"
		return 0
	fi
	# Their headers at the pinned commit, and our harness, built here and removed.
	tmp=$(mktemp -d)
	if ! git -C "$src" archive "$MDP3_COMPETITOR_PIN" mdp3handler | tar -x -C "$tmp" ||
		! g++ -O3 -march=native -std=c++17 -w -I"$tmp/mdp3handler" -I"$tmp/mdp3handler/mktdata" \
			"$ROOT/bench/mdp3_competitor.cpp" -o "$tmp/mdp3-competitor" -lpcap 2>"$W/mdp3-competitor.err" ||
		! "$tmp/mdp3-competitor" "$W/mdp3.pcap" "$passes" >"$W/mdp3-competitor.out" 2>&1; then
		echo "  competitor: did not build or run at ${MDP3_COMPETITOR_PIN:0:12} (see $W/mdp3-competitor.err, .out)"
		rm -rf "$tmp"
		return 0
	fi
	rm -rf "$tmp"
	echo "  vincent212/CME-Market-Data-Handler at ${MDP3_COMPETITOR_PIN:0:12}, our harness bench/mdp3_competitor.cpp:"
	sed 's/^/  /' "$W/mdp3-competitor.out"
	theirs=$(sed -nE 's/.*competitor decode\+callbacks: +([0-9.]+) ns\/msg best.*/\1/p' "$W/mdp3-competitor.out")
	figure "competitor ns/msg" "$theirs"
	[ "$(sed -nE 's/.*line A: ([0-9]+) packets.*/\1/p' "$W/mdp3.out")" = \
		"$(sed -nE 's/.*line A: ([0-9]+) packets.*/\1/p' "$W/mdp3-competitor.out")" ] ||
		echo "  (the two loaded different packet counts: the figures do not compare)"
	awk -v d="$fh_decode" -v b="$fh_book" -v t="$theirs" 'BEGIN {
		printf "  ns/msg, best pass, same packets: competitor decode+callbacks %.1f | fh decode only %.1f (%.2fx its speed) | fh decode+book %.1f (%.2fx)\n", t, d, t / d, b, t / b
		print "  (the competitor builds no book: fh decode only is the like-for-like pair; decode+book is fh'"'"'s real cost)"
	}'
}

# The PMD alone; its rate (M frames/s) is kept in $W/pmd.rate for of_pmd.
pmd() {
	rm -f "$W/pmd.rate"
	echo "== PMD alone (bench-pmd: rx_burst + free, nothing else), same capture and config as the full path, ${SECONDS_FULL}s"
	"$B/bench-pmd" "$CONFIG" "$W/full.pcap" "$SECONDS_FULL" >"$W/pmd.log" 2>&1 ||
		{ tail -5 "$W/pmd.log"; return 1; }
	grep -E "^pmd:" "$W/pmd.log" | sed 's/^/  /'
	sed -nE 's/^pmd: ([0-9.]+) M frames\/s.*/\1/p' "$W/pmd.log" >"$W/pmd.rate"
	figure "PMD frames/s" "$(cat "$W/pmd.rate")"
}

# Appends to each fhd throughput line its packets/s as a % of the PMD-alone rate.
of_pmd() {
	awk -v pmd="$(cat "$W/pmd.rate" 2>/dev/null)" '{
		for (i = 1; i < NF; i++)
			if ($(i + 1) == "packets/s," && pmd > 0) {
				printf "%s (%.0f%% of the PMD alone)\n", $0, 100 * $i / (pmd * 1e6)
				next
			}
		print
	}'
}

# fhd_throughput LOG LABEL FHD_ARGS...: one fhd run; prints its throughput line after
# LABEL (and the % of the PMD); fails if fhd does or prints no packets/s figure.
fhd_throughput() {
	local log=$1 label=$2
	shift 2
	"$B/fhd" "$@" >"$log" 2>&1 || { tail -5 "$log"; return 1; }
	figure "$label packets/s" "$(sed -nE 's/^throughput: .*: ([0-9]+) packets\/s.*/\1/p' "$log")"
	grep -E "^throughput" "$log" | of_pmd | sed "s/^/  $label/"
}

full_path() {
	echo "== full path: fhd --replay-loop (net_pcap infinite_rx=1), lines A+B, ${SECONDS_FULL}s"
	fhd_throughput "$W/full.log" "" -c "$CONFIG" --replay "$W/full.pcap" --replay-loop --duration "$SECONDS_FULL"
	grep -E "session_changes" "$W/full.log" |
		sed -E 's/.*session_changes ([0-9]+).*/  (capture looped \1 times; books reset at each restart)/'
}

ring_bench() {
	local p
	echo "== publish ring vs DPDK rte_ring SPSC, same 64-byte records (bench-ring)"
	"$B/bench-ring" >"$W/ring.out" 2>&1 &
	p=$!
	wait $p || { rm -f /dev/shm/fh-bench-ring-$p; tail -5 "$W/ring.out"; return 1; }
	rm -f /dev/shm/fh-bench-ring-$p	# its own, if it died before removing it
	sed -E 's/^== (.*)/  \1:/; t; s/^/  /' "$W/ring.out"
	figure "publish ring ns/event" "$(sed -nE 's/.*fh publish ring +([0-9.]+) ns\/event.*/\1/p' "$W/ring.out")"
}

# Publishing with both views: no consumer, then a slow one attached to that run's ring
# from its start. The slow run's ring has a name of its own that nothing else ever
# made: `fh tail --wait` waits for this fhd to make it, so it cannot read an earlier
# run's ring and exit before this one starts. The consumer must have read events.
publishing() {
	local ring=$base-pub slow read lost laps
	echo "== full path with publishing (fhd --publish), ${SECONDS_FULL}s each: alone, then with a slow consumer attached"
	fhd_throughput "$W/pub.log" "publishing, no consumer:   " -c "$CONFIG" --replay "$W/full.pcap" \
		--replay-loop --publish $ring --duration "$SECONDS_FULL"
	rm -f /dev/shm/$ring-*
	ring=$base-slow
	rm -f /dev/shm/$ring-*
	"$B/fh" tail --ring $ring-1 --wait --quiet --slow-us 2000 2>"$W/slow.err" &
	slow=$!
	section_pids+=($slow)
	fhd_throughput "$W/slow.log" "publishing, slow consumer: " -c "$CONFIG" --replay "$W/full.pcap" \
		--replay-loop --publish $ring --duration "$SECONDS_FULL"
	kill $slow 2>/dev/null || true	# it may have read the ring to its stop already
	wait $slow || true
	rm -f /dev/shm/$ring-*
	read -r read lost laps < <(sed -nE 's/^fh tail: ([0-9]+) events read, ([0-9]+) lost in ([0-9]+) laps$/\1 \2 \3/p' \
		"$W/slow.err") || true
	figure "slow consumer's events read" "${read:-}"
	if [ "$read" = 0 ]; then
		echo "  the slow consumer read no event: it was not attached; the figure above is not a slow-consumer figure"
		sed 's/^/    /' "$W/slow.err"
		return 1
	fi
	echo "  the slow consumer (fh tail --slow-us 2000, attached from the run's start) read $read events, lost $lost in $laps laps"
}

views() {
	local ring=$base-views v
	echo "== full path with publishing, by view (feeds[].publish.views), ${SECONDS_FULL}s each; compare within this run"
	for v in "orders, levels" levels orders; do
		sed "s/^    book: .*/&\n    publish: { views: [$v] }/" "$CONFIG" >"$W/views.yaml"
		fhd_throughput "$W/views.log" "views [$v]: " -c "$W/views.yaml" --replay "$W/full.pcap" \
			--replay-loop --publish $ring --duration "$SECONDS_FULL"
		rm -f /dev/shm/$ring-*
	done
}

latency() {
	local ring=$base-lat run
	echo "== RX -> publish latency of single-message packets (fh-pcap --per-packet 1, $SINGLE_N messages, publishing on), $REPLAYS replays"
	gen "$W/single.pcap" --seed 7 --messages "$SINGLE_N" --symbols 100 --per-packet 1
	# The built-in config; in quick mode with a smaller order table, which starts faster.
	local config=()
	if [ "$QUICK" = 1 ]; then
		"$B/fhd" --print-default-config | sed -E 's/^(      orders:) +[0-9]+/\1 262144/' >"$W/latency.yaml"
		config=(-c "$W/latency.yaml")
	fi
	for ((run = 1; run <= REPLAYS; run++)); do
		"$B/fhd" "${config[@]}" --replay "$W/single.pcap" --publish $ring >"$W/single.log" 2>&1 ||
			{ tail -5 "$W/single.log"; return 1; }
		rm -f /dev/shm/$ring-*
		awk -v r=$run '$1 == "itch" && $2 ~ /^rx_to_publish_/ { printf "  run %d: %s p50 %s p90 %s p99 %s us\n", r, $2, $4, $5, $6 }' \
			"$W/single.log" | tee "$W/single.out"
		figure "rx_to_publish p50" "$(awk 'NR == 1 { print $5 }' "$W/single.out")"
	done
}

hist() {
	echo "== latency histogram recording cost (bench-hist, $HIST_SAMPLES samples)"
	"$B/bench-hist" "$HIST_SAMPLES" | tee "$W/hist.out"
	figure "hist_record ns/sample" "$(sed -nE 's/.*hist_record: ([0-9.]+) ns\/sample.*/\1/p' "$W/hist.out")"
}

arbiter() {
	echo "== arbiter hold (bench-arbiter): ns per packet as the hold grows, at least $FH_BENCH_ARBITER_MS ms a case; a ratio near 1 is O(1)"
	"$B/bench-arbiter" 2>/dev/null | sed 's/^/  /' | tee "$W/arbiter.out"
	figure "arbiter ns/packet at 1,024" "$(awk '$1 == 1024 { print $2 }' "$W/arbiter.out")"
	if [ -n "${FH_BASELINE_BENCH_ARBITER:-}" ]; then
		echo "  baseline, $FH_BASELINE_BENCH_ARBITER:"
		"$FH_BASELINE_BENCH_ARBITER" 2>/dev/null | sed 's/^/  /'
	fi
}

journal_writer() {
	echo "== journal writer (bench-journal): io_uring vs pwrite(2) of the same 1 MiB buffers, ITCH-sized frames, fdatasync every 64 MB and at close, best of 3"
	mkdir -p "$W/journal"
	"$B/bench-journal" "$W/journal" "$JOURNAL_MB" | tee "$W/journal.out"
	figure "journal writer MB/s" "$(grep -oE '[0-9.]+ MB/s' "$W/journal.out" | head -1 | cut -d' ' -f1)"
}

journal_fhd() {
	local J=$W/journal direct
	echo "== full path with the journal on (fhd --journal), ${SECONDS_FULL}s each, page cache then O_DIRECT; off: first figure above"
	mkdir -p "$J"
	for direct in false true; do
		printf '%s\njournal:\n  dir: %s\n  o_direct: %s\n' "$(cat "$CONFIG")" "$J" $direct >"$W/journal-$direct.yaml"
		echo "  o_direct: $direct"
		fhd_throughput "$W/journal.log" "  RX " -c "$W/journal-$direct.yaml" --replay "$W/full.pcap" \
			--replay-loop --duration "$SECONDS_FULL"
		grep -E "^journal " "$W/journal.log" | sed -E 's/^journal [^:]*: /    journal: /'
		grep -E "^  itch\.[AB]:" "$W/journal.log" | sed 's/^/  /'
		rm -f "$J"/fh-*.pcapng
	done
}

section decode_book decode_book
echo
section mdp3_book mdp3_book
echo
section mdp3 mdp3
gen "$W/full.pcap" --seed 42 --messages "$FULL_N" --symbols 100
for s in pmd full_path ring_bench publishing views latency hist arbiter journal_writer journal_fhd; do
	echo
	section $s $s
done
echo
source "$ROOT/bench/recovery.sh"
echo
source "$ROOT/bench/colo.sh"
echo
sections_end
