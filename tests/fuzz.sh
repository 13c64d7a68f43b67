#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target (build/fuzz_<name>_libfuzzer) for
# FUZZ_SECONDS each (default 900), one after the other, starting from the corpus kept
# in the repository (tests/corpus/<name>/) plus a working corpus under
# build/fuzz-corpus/<name>/ that grows across runs. Prints executions, coverage and
# findings per target; a crash leaves its input in build/fuzz-findings/<name>/ and
# makes the run fail. FUZZ_KEEP=1 merges the inputs that found new coverage back into
# tests/corpus/<name>/ (libFuzzer -merge=1 keeps only inputs that add coverage).
# FUZZ_TARGETS="feed config" limits the run to those targets.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$ROOT/build}" && pwd)
secs=${FUZZ_SECONDS:-900}
export ASAN_OPTIONS=detect_leaks=0
failed=0 ran=0

# The per-packet target's seeds are cut from the bundled captures as test_fuzz.sh does.
seed_feed() { python3 "$ROOT/tests/fuzz_seeds.py" "$ROOT/pcaps/itch-faults.pcap" "$1" pcap-seed; }

for bin in "$B"/fuzz_*_libfuzzer; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	name=${name#fuzz_}
	name=${name%_libfuzzer}
	if [ -n "${FUZZ_TARGETS:-}" ] && ! grep -qw -- "$name" <<<"$FUZZ_TARGETS"; then
		continue
	fi
	kept=$ROOT/tests/corpus/$name
	work=$B/fuzz-corpus/$name
	findings=$B/fuzz-findings/$name
	mkdir -p "$work" "$findings"
	[ "$name" = feed ] && seed_feed "$work"	# the kept corpus holds only what these seeds lack
	log=$B/fuzz-$name.log
	echo "fuzz $name: ${secs}s from $(ls "$kept" 2>/dev/null | wc -l) kept and $(ls "$work" | wc -l) working inputs"
	"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$findings/" \
		"$work" $([ -d "$kept" ] && echo "$kept") >"$log" 2>&1
	rc=$?
	ran=$((ran + 1))
	grep -E "^#[0-9]+.*(DONE|pulse)" "$log" | tail -1 | sed 's/^/  last: /'
	grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss" "$log" | sed 's/^/  /'
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		echo "  FINDING (exit $rc): $(ls "$findings" | head -5 | tr '\n' ' ')"
		grep -m1 -E "ERROR|runtime error" "$log" | sed 's/^/  /'
	fi
	if [ "${FUZZ_KEEP:-0}" = 1 ]; then
		mkdir -p "$kept"
		"$bin" -merge=1 "$kept" "$work" >"$log.merge" 2>&1
		echo "  kept corpus: $(ls "$kept" | wc -l) inputs, $(du -sk "$kept" | cut -f1) KiB"
	fi
done
echo "$((ran - failed)) passed, $failed failed"
[ "$ran" -gt 0 ] && [ "$failed" -eq 0 ]
