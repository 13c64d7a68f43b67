#!/usr/bin/env bash
# Fuzzing libfh, the consumer side (tests/fuzz_libfh.c): the corpus in
# tests/corpus/libfh (a good ring and view and a torn ring, made with tests/segments.py,
# and the inputs that each added coverage edges in two 15-minute libFuzzer runs) is
# replayed under gcc ASan+UBSan, then libFuzzer
# (clang) mutates a copy of it for FH_FUZZ_SECONDS (default 20). Any crash, sanitizer
# report, hang or unexplained refusal fails the test. Skips libFuzzer if clang cannot
# build it.
source "$(dirname "$0")/lib.sh"

fuzz_check "libfh segments" libfh 20000
finish
