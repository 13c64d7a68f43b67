#!/usr/bin/env bash
# The journal file format, checked by others: a capture converted into fh's pcapng
# (publish/journal/pcapng.c) must open in tshark with the same frames, per-line interfaces and
# nanosecond times, and fhd --replay of it must give the same books as the original.
source "$(dirname "$0")/lib.sh"

"$B/test_pcapng" "$ROOT/pcaps/itch-faults.pcap" "$TMP/j.pcapng" || { fail "conversion"; finish; }
orig=$(tshark -r "$ROOT/pcaps/itch-faults.pcap" 2>/dev/null | wc -l)
conv=$(tshark -r "$TMP/j.pcapng" 2>/dev/null | wc -l)
check "tshark reads every frame ($conv of $orig)" [ "$conv" = "$orig" -a "$conv" -gt 0 ]
ifaces=$(tshark -r "$TMP/j.pcapng" -T fields -e frame.interface_name 2>/dev/null | sort -u | tr '\n' ' ')
check "tshark sees the line interfaces ($ifaces)" [ "$ifaces" = "itch.A itch.B " ]
ns=$(tshark -r "$TMP/j.pcapng" -T fields -e frame.time_epoch -c 1 2>/dev/null)
check "nanosecond timestamps survive ($ns: the converter adds 7 ns to microsecond times)" bash -c "[[ '$ns' == *007 ]]"
fhd_replay "$TMP/orig" "$ROOT/pcaps/itch-faults.pcap"
fhd_replay "$TMP/jour" "$TMP/j.pcapng" || fail "fhd --replay of the pcapng exited non-zero"
same_file "fhd --replay of the pcapng gives the same books" "$TMP/orig.dump" "$TMP/jour.dump"
finish
