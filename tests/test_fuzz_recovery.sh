#!/usr/bin/env bash
# Fuzzing the recovery core without sockets (tests/fuzz_recovery.c): SoupBinTCP framing
# and number parsing over an arbitrary byte stream, and the arbiter's recovery and
# snapshot modes driven by arbitrary programs of packets, give-ups and snapshot
# events. The corpus in tests/corpus/recovery (hand-made seeds: a GLIMPSE-like stream
# cut into chunks, a few arbiter programs) is replayed under gcc ASan+UBSan, then
# libFuzzer (clang) mutates a copy of it for FH_FUZZ_SECONDS (default 20). Any crash,
# sanitizer report or broken check fails the test. Skips libFuzzer if clang cannot
# build it.
source "$(dirname "$0")/lib.sh"

fuzz_check "the recovery core" recovery 4096
finish
