#!/usr/bin/env bash
# test_bench_quick: `make bench QUICK=1` (bench/run.sh with FH_BENCH_QUICK=1) runs every
# section on tiny inputs, so the bench cannot rot unseen. Checks: exit 0; the last line
# says as many sections ran as the output has section headers ("== "), none failed; no
# section failed or missed a figure; every section printed a number under its header;
# the slow consumer read events from the ring of the run it measured; no segment the
# bench made is left in /dev/shm; bench/colo.sh's looped paced session reached the
# kernel port and bench-kernel-rx whole. Then that the checks can fail: with an `fh`
# whose tail reads nothing (a consumer never attached), the publishing section must
# fail, say why, and the run must exit non-zero. Exit 0 pass, 1 fail, 77 skip.
source "$(dirname "$0")/lib.sh"

for bin in fhd fh fh-pcap bench-book bench-mdp3 bench-ring bench-pmd bench-journal bench-hist bench-arbiter fh-blast bench-kernel-rx; do
	[ -x "$B/$bin" ] || { echo "FAIL: $B/$bin not built"; exit 1; }
done
# Segments of bench runs: fhbench<pid>-... and bench-ring's own.
shm_bench() { ls /dev/shm | grep -E '^(fhbench|fh-bench-ring-)' | sort; }
shm_bench >"$TMP/shm.before"

FH_BENCH_QUICK=1 timeout 600 "$ROOT/bench/run.sh" "$B" >"$TMP/bench.out" 2>&1
rc=$?
cat "$TMP/bench.out"
echo "--"
check "bench QUICK=1 exits 0 (exit $rc)" [ $rc = 0 ]
headers=$(grep -c '^== ' "$TMP/bench.out")
last=$(tail -1 "$TMP/bench.out")
check "last line: $headers sections, none failed ('$last')" [ "$last" = "bench: $headers sections, none failed" ]
check "at least the 14 sections of today" [ "$headers" -ge 14 ]
check "no section failed" bash -c "! grep -E 'SECTION FAILED|no figure' '$TMP/bench.out'"
# Every section's body (header to the next blank line) has a line with a number.
awk '/^== / { if (h != "" && !n) print h; h = $0; n = 0; next }
     /^$/ { if (h != "" && !n) print h; h = ""; next }
     h != "" && /[0-9]/ { n = 1 }
     END { if (h != "" && !n) print h }' "$TMP/bench.out" >"$TMP/empty"
check "every section printed a figure" [ ! -s "$TMP/empty" ] || cat "$TMP/empty"
read -r events < <(sed -nE 's/.*slow consumer .* read ([0-9]+) events.*/\1/p' "$TMP/bench.out")
check "the slow consumer read events from the run it measured (${events:-none})" [ "${events:-0}" -gt 0 ]
shm_bench >"$TMP/shm.after"
check "no bench segment left in /dev/shm" cmp -s "$TMP/shm.before" "$TMP/shm.after" ||
	comm -13 "$TMP/shm.before" "$TMP/shm.after"
# bench/colo.sh: where namespaces are allowed, fh-blast looped its short session
# (sequence numbers moved on each pass) into fhd's kernel port and bench-kernel-rx's
# recvmmsg at a rate a 32 MiB socket buffer takes: every frame received, every packet
# new (won once by fhd; never below the line's next sequence number in
# bench-kernel-rx), no gap. A pass not moved on, or moved too far, shows here as loss.
if grep -q "skipped (0 runs)" "$TMP/bench.out"; then
	echo "colo sections skipped: $(grep -m1 "skipped (0 runs)" "$TMP/bench.out")"
else
	check "colo: fhd's kernel port took the looped session without loss" \
		grep -qE "^    kernel +[0-9]+ frames/s: sender reached [0-9]+, no loss" "$TMP/bench.out"
	check "colo: ... and so did bench-kernel-rx's recvmmsg" \
		grep -qE "^    rx:recvmmsg +[0-9]+ frames/s: sender reached [0-9]+, no loss" "$TMP/bench.out"
	check "colo: a table row per path that ran" \
		bash -c "grep -q '^  | kernel | (quick) ' '$TMP/bench.out' && grep -q '^  | recvmmsg | (quick) ' '$TMP/bench.out'"
fi

# A consumer that never attaches: an fh whose tail reads nothing and exits.
mkdir -p "$TMP/b"
for f in "$B"/*; do ln -s "$f" "$TMP/b/"; done
rm "$TMP/b/fh"
printf '#!/bin/sh\necho "fh tail: 0 events read, 0 lost in 0 laps" >&2\n' >"$TMP/b/fh"
chmod +x "$TMP/b/fh"
FH_BENCH_QUICK=1 FH_BENCH_ONLY=publishing timeout 300 "$ROOT/bench/run.sh" "$TMP/b" >"$TMP/bad.out" 2>&1
rc=$?
cat "$TMP/bad.out"
echo "--"
check "a consumer that read nothing: exit non-zero (exit $rc)" [ $rc != 0 ]
check "... the publishing section failed" grep -q "SECTION FAILED: publishing" "$TMP/bad.out"
check "... saying the consumer was not attached" grep -q "slow consumer read no event" "$TMP/bad.out"
check "... and the last line says so" [ "$(tail -1 "$TMP/bad.out")" = "bench: 1 of 1 sections failed: publishing" ]
shm_bench >"$TMP/shm.after"
check "no bench segment left in /dev/shm" cmp -s "$TMP/shm.before" "$TMP/shm.after" ||
	comm -13 "$TMP/shm.before" "$TMP/shm.after"
finish
