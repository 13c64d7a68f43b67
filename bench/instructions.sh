#!/usr/bin/env bash
# bench/instructions.sh OLD_BENCH_BOOK NEW_BENCH_BOOK FILE [BENCH-BOOK OPTIONS]: what two
# builds of bench-book execute on the same ITCH file, counted by cachegrind rather than
# timed: instructions and simulated L1 data misses per message (cachegrind ignores
# prefetch instructions, so its misses count the cold lines each build touches). The
# counts do not depend on the machine's load, where timings on a shared VM swing by
# ±5-30%; they say nothing of overlap between misses, so judge a change by both.
# Needs valgrind (Debian: apt-get install valgrind); about 30x slower than a timed run,
# so use a file of about 1M messages. Example:
#   bench/instructions.sh /tmp/old/build/bench-book build/bench-book \
#       build/bench-data/deep1m-2000.itch
#   bench/instructions.sh OLD NEW FILE --publish 2
set -euo pipefail

if [ $# -lt 3 ]; then
	echo "usage: bench/instructions.sh OLD_BENCH_BOOK NEW_BENCH_BOOK FILE [--publish K]" >&2
	exit 2
fi
old=$1 new=$2 file=$3
shift 3
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One build's run: prints "messages instructions d1_misses" (bench-book runs 5 passes).
count() {
	local bin=$1 tag=$2
	local out=$work/cg.$tag
	shift 2
	valgrind --tool=cachegrind --cache-sim=yes --LL=33554432,16,64 --cachegrind-out-file="$out" \
		"$bin" "$@" "$file" >"$work/stdout.$tag" 2>"$work/stderr.$tag" || {
		echo "instructions.sh: $bin failed:" >&2
		tail -5 "$work/stderr.$tag" >&2
		exit 1
	}
	local messages
	messages=$(sed -nE 's/^([0-9]+) messages,.*/\1/p' "$work/stdout.$tag")
	awk -v m="$messages" '/^summary:/ { print m * 5, $2, $6 + $9 }' "$out"
}
read -r m_old ir_old d1_old < <(count "$old" old "$@")
read -r m_new ir_new d1_new < <(count "$new" new "$@")
awk -v mo="$m_old" -v io="$ir_old" -v dmo="$d1_old" -v mn="$m_new" -v inew="$ir_new" -v dmn="$d1_new" 'BEGIN {
	printf "old: %.1f instructions/msg, %.2f D1 misses/msg\n", io / mo, dmo / mo
	printf "new: %.1f instructions/msg, %.2f D1 misses/msg\n", inew / mn, dmn / mn
	printf "new/old: instructions %.3f, D1 misses %.3f\n", (inew / mn) / (io / mo), (dmn / mn) / (dmo / mo)
}'
