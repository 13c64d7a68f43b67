#!/usr/bin/env bash
# `make demo`: replays the bundled capture through the real DPDK data path (net_pcap
# vdev, no hugepages, no root needed) with the built-in default config, then prints
# the per-feed and per-line counters and the top of a few books, and plots the latency
# distributions to build/demo-latency.png (fh report, gnuplot). Uses build/fhd and
# build/fh (the Makefile's run-demo depends on both); exits non-zero without the plot.
set -euo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
pcap=$ROOT/pcaps/itch-demo.pcap

hist=$B/demo-hist
rm -rf "$hist" && mkdir -p "$hist"
echo "== fhd --replay pcaps/itch-demo.pcap --hist-out $hist  (default config: feed itch, lines A and B)"
"$B/fhd" --replay "$pcap" --dump-books "$B/demo.dump" --top 3 --hist-out "$hist" >"$B/demo.log"
# everything but the percentile distributions, which are in $hist and the log
awk '/^latency .* percentile distribution:/ {skip = 1} /^latency per feed/ {skip = 0; exit} !skip' "$B/demo.log"
echo
echo "== book dump: $B/demo.dump ($(wc -l <"$B/demo.dump") levels); first lines:"
head -5 "$B/demo.dump"
echo
echo "== the same session with loss on line A, duplicates, reordering and malformed packets:"
"$B/fhd" --replay "$ROOT/pcaps/itch-faults.pcap" --dump-books "$B/demo-faults.dump" | grep -E "^feed|^  (messages|gaps|line)"
if cmp -s "$B/demo.dump" "$B/demo-faults.dump"; then
	echo "== books identical to the clean run: line B filled every hole line A left."
else
	echo "== books differ from the clean run (see the gap counters above)."
fi
echo
echo "== latency per feed, clean run (full distributions: $hist/*.hgrm, HdrHistogram format)"
sed -n '/^latency per feed/,$p' "$B/demo.log"
rm -f "$B/demo-latency.png"
if "$B/fh" report "$hist" -o "$B/demo-latency.png" >/dev/null && [ -s "$B/demo-latency.png" ]; then
	echo "== plot: $B/demo-latency.png (fh report $hist -o $B/demo-latency.png)"
else
	echo "== no plot: fh report $hist -o $B/demo-latency.png failed (its reason above)" >&2
	exit 1
fi
