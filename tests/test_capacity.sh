#!/usr/bin/env bash
# The default config holds a full NASDAQ day (issue 20): a session of 9,000 instruments
# (NASDAQ's stock locates run past 8,000; book.c maps each locate to an instrument of
# its own) replays with the built-in config without one capacity refusal. It held
# 4,096: the rest of the session was refused (instruments_full) and its orders became
# unknown_order.
source "$(dirname "$0")/lib.sh"

"$FH_PCAP" gen --seed 20 --messages 30000 --symbols 9000 --out "$TMP/day.pcap" >/dev/null
check "a 9,000-instrument session is made" [ -s "$TMP/day.pcap" ]
fhd_replay "$TMP/day" "$TMP/day.pcap"
check "fhd replays it with the default config (exit $?)" grep -q "^  book:" "$TMP/day.log"
grep "^  book:" "$TMP/day.log"
check "every instrument has its book (instruments $(counter "$TMP/day.log" "  book:" instruments))" \
	[ "$(counter "$TMP/day.log" "  book:" instruments)" = 9000 ]
for c in instruments_full orders_full levels_full; do
	check "no refusal: $c $(counter "$TMP/day.log" "  book:" $c)" [ "$(counter "$TMP/day.log" "  book:" $c)" = 0 ]
done
"$FHD" --print-default-config >"$TMP/default.yaml"
check "the built-in config says so" grep -qE "instruments: 16384 .*over 8,000" "$TMP/default.yaml"
finish
