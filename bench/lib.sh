# Shared by bench/run.sh and bench/recovery.sh (B set first): the quick mode, the
# scratch directory W, sections, figures, and the segments a bench run makes. Sourced,
# never run.
#
# FH_BENCH_QUICK=1 (`make bench QUICK=1`, tests/test_bench_quick.sh): every section on
# tiny inputs for a fraction of a second, so that `make test` proves the bench still
# runs and prints every figure; the figures themselves then mean nothing.
#
# A section runs in a subshell under set -e: a command that fails, or a figure that is
# missing (figure), ends that section with one "SECTION FAILED" line and the next
# section runs. sections_end prints the summary and fails if any section did.

QUICK=${FH_BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0

# sized FULL QUICK: the value for this mode.
sized() {
	if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi
}

# The sourcing script's scratch directory under its build directory B: inputs made
# once and kept, logs of the last run; one per mode.
W=$B/bench-data$(sized "" -quick)
mkdir -p "$W"

# Background processes a section started (its EXIT trap kills them).
section_pids=()
bench_sections=0
bench_failed=()

section_cleanup() {
	local p
	for p in "${section_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${section_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	return 0
}

# section NAME FUNCTION [ARGS...]: runs FUNCTION as one section (see the file head).
# FH_BENCH_ONLY="NAME..." runs only the sections named (tests/test_bench_quick.sh).
section() {
	local name=$1 rc
	shift
	if [ -n "${FH_BENCH_ONLY:-}" ] && [[ " $FH_BENCH_ONLY " != *" $name "* ]]; then
		return 0
	fi
	bench_sections=$((bench_sections + 1))
	(
		set -e
		trap section_cleanup EXIT
		"$@"
	)
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "  SECTION FAILED: $name (exit $rc)"
		bench_failed+=("$name")
	fi
	return 0
}

# figure WHAT VALUE: VALUE must be a number, a figure the section read from its
# program's output; if not, says so and fails (ending the section).
figure() {
	if [[ ! $2 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
		echo "  no figure: $1 (got '$2')"
		return 1
	fi
}

# sections_end: "bench: N sections ..." as the last line; non-zero if one failed.
sections_end() {
	if [ ${#bench_failed[@]} = 0 ]; then
		echo "bench: $bench_sections sections, none failed"
		return 0
	fi
	echo "bench: ${#bench_failed[@]} of $bench_sections sections failed: ${bench_failed[*]}"
	return 1
}

# segments_sweep PREFIX: removes /dev/shm/PREFIX<pid>-* of this user left by a bench
# run that was killed (its pid gone), so they do not pile up.
segments_sweep() {
	local f pid
	for f in /dev/shm/"$1"*; do
		[ -O "$f" ] || continue
		pid=${f#/dev/shm/"$1"}
		pid=${pid%%-*}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null || rm -f "$f"
	done
}
