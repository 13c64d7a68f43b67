#!/usr/bin/env bash
# Fuzzing the per-packet path: a seed corpus is cut from the bundled captures (each
# input: a run of consecutive frames as [2-byte length][frame] records) and replayed
# through tests/fuzz_feed.c under gcc ASan+UBSan, then libFuzzer (clang) mutates it
# for FH_FUZZ_SECONDS (default 20). Any crash, sanitizer report, lost packet handle
# or broken book invariant fails the test. Skips libFuzzer if clang cannot build it.
# The config loader (tests/fuzz_config.c, cfg_load_text) gets the same: its seed
# corpus (tests/corpus/config) under gcc ASan+UBSan, then a short libFuzzer run.
source "$(dirname "$0")/lib.sh"

corpus=$TMP/corpus
mkdir -p "$corpus"
python3 "$ROOT/tests/fuzz_seeds.py" "$ROOT/pcaps/itch-faults.pcap" "$corpus"
cp "$ROOT"/tests/corpus/feed/* "$corpus"/	# what earlier make fuzz runs found new coverage with
check "seed corpus under ASan+UBSan (gcc, $(ls "$corpus" | wc -l) inputs)" "$B/asan/fuzz_feed" "$corpus"/*

if [ -x "$B/fuzz_feed_libfuzzer" ]; then
	secs=${FH_FUZZ_SECONDS:-20}
	"$B/fuzz_feed_libfuzzer" -max_total_time="$secs" -print_final_stats=1 "$corpus" >"$TMP/fuzz.log" 2>&1
	rc=$?
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$TMP/fuzz.log"
	check "libFuzzer ${secs}s on the per-packet path: no finding" [ $rc = 0 ]
	[ $rc = 0 ] || tail -30 "$TMP/fuzz.log"
else
	echo "skip: libFuzzer build not available"
fi
# The config loader: seeds kept in the repository, mutated in a scratch copy.
cp -r "$ROOT/tests/corpus/config" "$TMP/config-corpus"
check "config seed corpus under ASan+UBSan (gcc, $(ls "$TMP/config-corpus" | wc -l) inputs)" \
	"$B/asan/fuzz_config" "$TMP/config-corpus"/*
if [ -x "$B/fuzz_config_libfuzzer" ]; then
	secs=${FH_FUZZ_SECONDS:-20}
	"$B/fuzz_config_libfuzzer" -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$TMP/" "$TMP/config-corpus" >"$TMP/fuzz-config.log" 2>&1
	rc=$?
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$TMP/fuzz-config.log"
	check "libFuzzer ${secs}s on the config loader: no finding" [ $rc = 0 ]
	[ $rc = 0 ] || tail -30 "$TMP/fuzz-config.log"
else
	echo "skip: libFuzzer build of the config target not available"
fi
finish
