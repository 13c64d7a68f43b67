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
#  2. the PMD alone (bench-pmd: rx_burst + free, nothing else) on the capture of 3,
#     set up as fhd's replay: the ceiling of the full path;
#  3. full path through DPDK: fhd replays a generated capture from memory
#     (net_pcap infinite_rx=1) for a few seconds: packets/s and messages/s, both lines
#     arbitrated, every message decoded into books. Every full-path line also says its
#     packets/s as a % of the PMD-alone rate of 2. Publishing is measured with both
#     views, then with each view alone;
#  4. the RX -> publish latency of single-message packets, from replays' histograms;
#  5. then the ring, the histograms and the journal, the arbiter's hold (bench-arbiter:
#     ns per packet at holds of 1,024 to 1,048,576, and the ratio to the smallest; with
#     FH_BASELINE_BENCH_ARBITER=an older build's bench-arbiter, that too), and last gap
#     recovery (bench/recovery.sh: fill times, RX throughput while recovering, a 1M-order join).
set -euo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$B/bench-data
mkdir -p "$W"
SECONDS_FULL=${FH_BENCH_SECONDS:-5}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
[ -f "$W/gen5m.itch" ] || "$B/fh-pcap" gen --seed 42 --messages 5000000 --symbols 500 --format itch --out "$W/gen5m.itch" 2>/dev/null
[ -f "$W/deep5m.itch" ] || "$B/fh-pcap" gen --profile deep --seed 42 --messages 5000000 --symbols 500 --format itch --out "$W/deep5m.itch" 2>/dev/null
echo
echo "== decode+book (bench-book, best of 5 passes, the RX path's three prefetch stages 16, 8 and 4 messages ahead)"
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
	if [ -n "$ref" ] && [ -n "$(ns_of "$out")" ]; then
		awk -v l="$label" -v a="$ref" -v f="$(ns_of "$out")" \
			'BEGIN { printf "  %-38s %.1f ns/msg; fh is %.2fx its speed\n", l ":", a, a / f }'
	else
		echo "  $label printed no figure on $file"
	fi
}
printf '  generated, 5M messages, 500 symbols: '; "$B/bench-book" "$W/gen5m.itch" 2>/dev/null | tee "$W/gen5m.out"
# The publisher's own cost per message: the same passes, every message also published
# (both views, the conflated view, packets of 2 messages) onto a ring nobody reads.
printf '    and publishing every message:      '; "$B/bench-book" --publish 2 "$W/gen5m.itch" 2>/dev/null | tee "$W/gen5m-pub.out"
[ -n "$(ns_of "$W/gen5m-pub.out")" ] && [ -n "$(ns_of "$W/gen5m.out")" ] &&
	awk -v p="$(ns_of "$W/gen5m-pub.out")" -v b="$(ns_of "$W/gen5m.out")" \
		'BEGIN { printf "    publishing: %.1f ns/msg more, %.2fx decode+book alone\n", p - b, p / b }'
# FH_BASELINE_BENCH_BOOK: an older build's bench-book (the issue's "main before").
[ -n "${FH_BASELINE_BENCH_BOOK:-}" ] && versus "baseline, same shallow file" "$FH_BASELINE_BENCH_BOOK" "$W/gen5m.itch" "$W/gen5m.out"
# bench-book's own sizing (4M orders, 1024 levels per side) holds the deep book; its
# stderr says so (orders_full 0, levels_full 0) and gives the live orders at the end.
printf '  deep, 5M messages, 500 symbols:      '; "$B/bench-book" "$W/deep5m.itch" 2>"$W/deep5m.err" | tee "$W/deep5m.out"
sed -E 's/^bench-book: /    at the end: /' "$W/deep5m.err"
[ -n "${FH_BASELINE_BENCH_BOOK:-}" ] && versus "baseline, same deep file" "$FH_BASELINE_BENCH_BOOK" "$W/deep5m.itch" "$W/deep5m.out"
if [ -n "${FH_ANCHOR_IOOB:-}" ]; then
	versus "itch-order-book, same deep file" "$FH_ANCHOR_IOOB" "$W/deep5m.itch" "$W/deep5m.out"
	# How the ratio holds as instruments are added: 1M-message deep sessions.
	for n in 50 2000; do
		[ -f "$W/deep1m-$n.itch" ] || "$B/fh-pcap" gen --profile deep --seed 42 --messages 1000000 \
			--symbols $n --format itch --out "$W/deep1m-$n.itch" 2>/dev/null
		printf '  deep, 1M messages, %4d symbols:     ' $n
		"$B/bench-book" "$W/deep1m-$n.itch" 2>/dev/null | tee "$W/deep1m-$n.out"
		versus "itch-order-book, same file" "$FH_ANCHOR_IOOB" "$W/deep1m-$n.itch" "$W/deep1m-$n.out"
	done
fi
slice=$ROOT/../shared/data/itch50-nasdaq-snippet/12302019_SNIPPET.NASDAQ_ITCH50
if [ -f "$slice" ]; then
	printf '  NASDAQ 2019-12-30 slice (cold):      '; "$B/bench-book" "$slice" 2>/dev/null
fi

[ -f "$W/full.pcap" ] || "$B/fh-pcap" gen --seed 42 --messages 300000 --symbols 100 --out "$W/full.pcap" 2>/dev/null
echo
echo "== PMD alone (bench-pmd: rx_burst + free, nothing else), same capture and config as the full path, ${SECONDS_FULL}s"
"$B/bench-pmd" "$ROOT/bench/fhd-bench.yaml" "$W/full.pcap" "$SECONDS_FULL" >"$W/pmd.log" 2>&1 ||
	{ tail -5 "$W/pmd.log"; exit 1; }
grep -E "^pmd:" "$W/pmd.log" | sed 's/^/  /'
pmd_frames_s=$(sed -nE 's/^pmd: ([0-9.]+) M frames\/s.*/\1/p' "$W/pmd.log")
# Appends to each fhd throughput line its packets/s as a % of the PMD-alone rate above.
of_pmd() {
	awk -v pmd="$pmd_frames_s" '{
		for (i = 1; i < NF; i++)
			if ($(i + 1) == "packets/s," && pmd > 0) {
				printf "%s (%.0f%% of the PMD alone)\n", $0, 100 * $i / (pmd * 1e6)
				next
			}
		print
	}'
}
echo
echo "== full path: fhd --replay-loop (net_pcap infinite_rx=1), lines A+B, ${SECONDS_FULL}s"
"$B/fhd" -c "$ROOT/bench/fhd-bench.yaml" --replay "$W/full.pcap" --replay-loop \
	--duration "$SECONDS_FULL" >"$W/full.log" 2>&1 || { tail -5 "$W/full.log"; exit 1; }
grep -E "^throughput" "$W/full.log" | of_pmd | sed 's/^/  /'
grep -E "session_changes" "$W/full.log" | sed -E 's/.*session_changes ([0-9]+).*/  (capture looped \1 times; books reset at each restart)/'

echo
echo "== publish ring vs DPDK rte_ring SPSC, same 64-byte records (bench-ring)"
"$B/bench-ring" 2>/dev/null | sed -E 's/^== (.*)/  \1:/; t; s/^/  /'
echo
echo "== full path with publishing (fhd --publish), ${SECONDS_FULL}s each: alone, then with a slow consumer attached"
ring=fhbench$$
"$B/fhd" -c "$ROOT/bench/fhd-bench.yaml" --replay "$W/full.pcap" --replay-loop --publish $ring \
	--duration "$SECONDS_FULL" 2>/dev/null | grep -E "^throughput" | of_pmd | sed 's/^/  publishing, no consumer:   /'
"$B/fh" tail --ring $ring-1 --wait --quiet --slow-us 2000 2>"$W/slow.err" &
slow=$!
"$B/fhd" -c "$ROOT/bench/fhd-bench.yaml" --replay "$W/full.pcap" --replay-loop --publish $ring \
	--duration "$SECONDS_FULL" 2>/dev/null | grep -E "^throughput" | of_pmd | sed 's/^/  publishing, slow consumer: /'
kill $slow 2>/dev/null; wait $slow 2>/dev/null
sed 's/^/  /' "$W/slow.err" | tail -1
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top
echo
echo "== full path with publishing, by view (feeds[].publish.views), ${SECONDS_FULL}s each; compare within this run"
for views in "orders, levels" levels orders; do
	sed "s/^    book: .*/&\n    publish: { views: [$views] }/" "$ROOT/bench/fhd-bench.yaml" >"$W/views.yaml"
	"$B/fhd" -c "$W/views.yaml" --replay "$W/full.pcap" --replay-loop --publish $ring \
		--duration "$SECONDS_FULL" 2>/dev/null | grep -E "^throughput" | of_pmd |
		sed "s/^/  views [$views]: /"
done
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top

echo
echo "== RX -> publish latency of single-message packets (fh-pcap --per-packet 1, 200k messages, publishing on), 3 replays"
[ -f "$W/single.pcap" ] || "$B/fh-pcap" gen --seed 7 --messages 200000 --symbols 100 --per-packet 1 \
	--out "$W/single.pcap" 2>/dev/null
for run in 1 2 3; do
	"$B/fhd" --replay "$W/single.pcap" --publish $ring 2>/dev/null |
		awk -v r=$run '$1 == "itch" && $2 ~ /^rx_to_publish_/ { printf "  run %d: %s p50 %s p90 %s p99 %s us\n", r, $2, $4, $5, $6 }'
done
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top

echo
echo "== latency histogram recording cost (bench-hist)"
"$B/bench-hist"
echo
echo "== arbiter hold (bench-arbiter): ns per packet as the hold grows, at least ${FH_BENCH_ARBITER_MS:-200} ms a case; a ratio near 1 is O(1)"
"$B/bench-arbiter" 2>/dev/null | sed 's/^/  /'
if [ -n "${FH_BASELINE_BENCH_ARBITER:-}" ]; then
	echo "  baseline, $FH_BASELINE_BENCH_ARBITER:"
	"$FH_BASELINE_BENCH_ARBITER" 2>/dev/null | sed 's/^/  /'
fi
echo
echo "== journal writer (bench-journal): io_uring vs pwrite(2) of the same 1 MiB buffers, ITCH-sized frames, fdatasync every 64 MB and at close, best of 3"
J=$W/journal
mkdir -p "$J"
"$B/bench-journal" "$J" "${FH_BENCH_JOURNAL_MB:-512}"
echo
echo "== full path with the journal on (fhd --journal), ${SECONDS_FULL}s each, page cache then O_DIRECT; off: first figure above"
for direct in false true; do
	printf '%s\njournal:\n  dir: %s\n  o_direct: %s\n' "$(cat "$ROOT/bench/fhd-bench.yaml")" "$J" $direct >"$W/journal-$direct.yaml"
	"$B/fhd" -c "$W/journal-$direct.yaml" --replay "$W/full.pcap" --replay-loop \
		--duration "$SECONDS_FULL" >"$W/journal.log" 2>&1 || { tail -5 "$W/journal.log"; exit 1; }
	echo "  o_direct: $direct"
	grep -E "^throughput" "$W/journal.log" | of_pmd | sed 's/^/    RX /'
	grep -E "^journal " "$W/journal.log" | sed -E 's/^journal [^:]*: /    journal: /'
	grep -E "^  itch\.[AB]:" "$W/journal.log" | sed 's/^/  /'
	rm -f "$J"/fh-*.pcapng
done

echo
"$ROOT/bench/recovery.sh" "$B"
