#!/usr/bin/env bash
# Fuzzing the CME MDP 3.0 wire layer (tests/fuzz_mdp3.c): one arbitrary UDP payload
# walked message by message, every root, entry, order and leg read, the walk's
# accounting and frame_parse checked against a MsgSize chain counted by the target
# itself. The corpus in tests/corpus/mdp3 (hand-made packets: every template fh
# decodes, 54 in its v9 and v13 layouts, skipped schemas, versions and templates,
# appended fields, a cut packet, hostile groups) is replayed under gcc ASan+UBSan, then
# libFuzzer (clang) mutates a copy of it for FH_FUZZ_SECONDS (default 20). Any crash,
# sanitizer report or broken check fails the test. Skips libFuzzer if clang cannot
# build it.
source "$(dirname "$0")/lib.sh"

fuzz_check "the MDP3 wire layer" mdp3 4096
finish
