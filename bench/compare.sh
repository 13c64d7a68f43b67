#!/usr/bin/env bash
# bench/compare.sh OLD_FHD [NEW_FHD] [RUNS]: the full path of two fhd builds, alternated
# on the same capture in the same run (publishing off, then on), so that a change is
# judged as a ratio against its reference and not against a figure from another day on
# another VM. Prints every run and the median new/old ratio per mode. Build the old one
# in a worktree: git worktree add /tmp/old REV && make -C /tmp/old build/fhd.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: bench/compare.sh OLD_FHD [NEW_FHD] [RUNS]}
new=${2:-$ROOT/build/fhd}
runs=${3:-5}
secs=${FH_BENCH_SECONDS:-4}
W=$ROOT/build/bench-data
mkdir -p "$W"
[ -f "$W/full.pcap" ] || "$ROOT/build/fh-pcap" gen --seed 42 --messages 300000 --symbols 100 \
	--out "$W/full.pcap" 2>/dev/null
ring=fhcmp$$
trap 'rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "old: $old"
echo "new: $new"
for ((i = 1; i <= runs; i++)); do
	for which in old new; do
		bin=$old
		[ $which = new ] && bin=$new
		for mode in off on; do
			args=()
			[ $mode = on ] && args=(--publish $ring)
			rate=$("$bin" -c "$ROOT/bench/fhd-bench.yaml" --replay "$W/full.pcap" --replay-loop \
				--duration "$secs" "${args[@]}" 2>/dev/null |
				sed -nE 's/^throughput:.* ([0-9]+) packets\/s.*/\1/p')
			echo "$which publishing-$mode $rate"
		done
	done
done | tee "$W/compare.log"
python3 - "$W/compare.log" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    which, mode, rate = line.split()
    rates.setdefault((which, mode), []).append(int(rate) / 1e6)
for mode in ("publishing-off", "publishing-on"):
    o, n = rates[("old", mode)], rates[("new", mode)]
    # Interference on a shared VM only slows a run down: best against best is the
    # other figure worth reading beside the medians.
    print("%-15s old median %.2f M packets/s (%.2f-%.2f), new %.2f (%.2f-%.2f): new/old %.2f, best/best %.2f"
          % (mode, statistics.median(o), min(o), max(o), statistics.median(n), min(n), max(n),
             statistics.median(n) / statistics.median(o), max(n) / max(o)))
PY
