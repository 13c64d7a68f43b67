#!/usr/bin/env bash
# Fuzzing libfh, the consumer side (tests/fuzz_libfh.c): the corpus in
# tests/corpus/libfh (a good ring and view and a torn ring, made with tests/segments.py,
# and the inputs that each added coverage edges in two 15-minute libFuzzer runs) is
# replayed under gcc ASan+UBSan, then libFuzzer
# (clang) mutates a copy of it for FH_FUZZ_SECONDS (default 20). Any crash, sanitizer
# report, hang or unexplained refusal fails the test. Skips libFuzzer if clang cannot
# build it.
source "$(dirname "$0")/lib.sh"

seeds=$ROOT/tests/corpus/libfh
check "libfh seed corpus under ASan+UBSan (gcc, $(ls "$seeds" | wc -l) inputs)" \
	timeout 300 "$B/asan/fuzz_libfh" "$seeds"/*

if [ -x "$B/fuzz_libfh_libfuzzer" ]; then
	secs=${FH_FUZZ_SECONDS:-20}
	mkdir -p "$TMP/corpus"
	cp "$seeds"/* "$TMP/corpus/"
	timeout $((secs + 120)) "$B/fuzz_libfh_libfuzzer" -max_total_time="$secs" -max_len=20000 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$TMP/" "$TMP/corpus" >"$TMP/fuzz.log" 2>&1
	rc=$?
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$TMP/fuzz.log"
	grep -E "DONE +cov" "$TMP/fuzz.log"
	check "libFuzzer ${secs}s on libfh segments: no finding" [ $rc = 0 ]
	[ $rc = 0 ] || tail -30 "$TMP/fuzz.log"
else
	echo "skip: libFuzzer build not available"
fi
finish
