# Shared helpers for the shell tests: paths, a scratch directory, and check/fail.
# A test script sources this, calls check/fail, and ends with `finish`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-$ROOT/build}
DATA=${FH_DATA:-$ROOT/../shared/data}
NASDAQ_SLICE=$DATA/itch50-nasdaq-snippet/12302019_SNIPPET.NASDAQ_ITCH50
SIMULATED=$DATA/itch50-simulated/ex20101224.TEST_ITCH_50
REF="python3 $ROOT/tests/ref_book.py"
FHD=${FHD:-$B/fhd}
FH_PCAP=${FH_PCAP:-$B/fh-pcap}
TMP=$(mktemp -d /tmp/fh-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# check NAME COMMAND...: runs the command, passes on exit 0.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# same_file NAME EXPECTED ACTUAL: byte-identical files, with a diff excerpt when not.
same_file() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1: $2 and $3 differ"
		diff "$2" "$3" | head -10
	fi
}

# counter FILE LABEL NAME: the value after "NAME " on the first line that contains LABEL.
counter() {
	grep -m1 -- "$2" "$1" | grep -oE "(^| )$3 [0-9]+" | head -1 | awk '{print $2}'
}

# fhd_replay OUT_PREFIX PCAP...: replays with the default config; OUT.dump, OUT.log.
fhd_replay() {
	local out=$1
	shift
	local args=()
	for p in "$@"; do args+=(--replay "$p"); done
	"$FHD" "${args[@]}" --dump-books "$out.dump" >"$out.log" 2>&1
}

finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$(basename "$0"): $failures failure(s)"
		exit 1
	fi
	exit 0
}
