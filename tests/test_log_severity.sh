#!/usr/bin/env bash
# fhd's log lines carry a journald severity when stderr is the journal: with
# JOURNAL_STREAM naming stderr's device:inode (as systemd sets it), each fhd line
# starts with <6> (start, running, stopping), <4> (warnings) or <3> (errors), and the
# text after the prefix is exactly what fhd prints elsewhere; with JOURNAL_STREAM
# naming another file, or unset, nothing is prefixed. DPDK's "TELEMETRY: No legacy
# callbacks" line is gone, and comes back when the command line asks for telemetry's
# info level (so the check can fail).
source "$(dirname "$0")/lib.sh"

config=$(small_config) || exit 1
pcap=$ROOT/pcaps/itch-demo.pcap

# journal_run OUT ARGS...: fhd ARGS with stderr into OUT and JOURNAL_STREAM naming it.
journal_run() {
	local out=$1
	shift
	: >"$out"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$out") "$FHD" "$@" >/dev/null 2>>"$out"
}

journal_run "$TMP/replay.err" -c "$config" --replay "$pcap"
grep 'fhd: ' "$TMP/replay.err" >"$TMP/replay.fhd"
check "a replay logs lines ($(wc -l <"$TMP/replay.fhd"))" [ -s "$TMP/replay.fhd" ]
check "every fhd line starts with a <N> severity" bash -c "! grep -vE '^<[0-7]>fhd: ' '$TMP/replay.fhd'"
# every_line_prefixed FILE: not only fhd.c's lines: the statistics, journal, segment,
# privilege and preflight code's, DPDK's own (EAL, PMDs), the usage text: each line.
every_line_prefixed() {
	local bare
	bare=$(grep -cvE '^<[0-7]>' "$1")
	[ "$bare" = 0 ] || { echo "lines without a severity in $(basename "$1"):"; grep -vE '^<[0-7]>' "$1" | head -5; return 1; }
}
check "a replay: every line on stderr has a severity" every_line_prefixed "$TMP/replay.err"
check "start and running lines are <6> (info)" \
	bash -c "grep -qE '^<6>fhd: packet pool: ' '$TMP/replay.err' && grep -qE '^<6>fhd: running: ' '$TMP/replay.err'"
check "the stop line is <6>" grep -qE '^<6>fhd: stopping: every RX lcore finished$' "$TMP/replay.err"
check "the missing snapshot server is a <4> warning" grep -qE '^<4>fhd: feed .*: no snapshot server' "$TMP/replay.err"
check "no TELEMETRY legacy-socket line" bash -c "! grep -q 'TELEMETRY' '$TMP/replay.err'"

"$FHD" -c "$config" --replay "$pcap" >/dev/null 2>"$TMP/plain.err"
check "without JOURNAL_STREAM nothing is prefixed" bash -c "! grep -qE '^<[0-7]>' '$TMP/plain.err'"
check "without JOURNAL_STREAM: the same lines, unprefixed" \
	bash -c "diff <(sed -E 's/^<[0-7]>//' '$TMP/replay.fhd' | grep -v 'statistics on' | grep -v 'DPDK telemetry on') <(grep 'fhd: ' '$TMP/plain.err' | grep -v 'statistics on' | grep -v 'DPDK telemetry on')"
: >"$TMP/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/other") "$FHD" -c "$config" --replay "$pcap" >/dev/null 2>"$TMP/other.err"
check "JOURNAL_STREAM naming another file: nothing prefixed" bash -c "! grep -qE '^<[0-7]>' '$TMP/other.err'"
JOURNAL_STREAM=garbage "$FHD" -c "$config" --replay "$pcap" >/dev/null 2>"$TMP/garbage.err"
check "JOURNAL_STREAM not DEV:INO: nothing prefixed" bash -c "! grep -qE '^<[0-7]>' '$TMP/garbage.err'"

# An error: <3>, same text as without the journal, exit status unchanged.
journal_run "$TMP/error.err" -c "$config" --replay "$pcap" --journal "$TMP/no-such-dir"
rc=$?
"$FHD" -c "$config" --replay "$pcap" --journal "$TMP/no-such-dir" >/dev/null 2>"$TMP/error-plain.err"
check "an error exits 2 as ever ($rc)" [ $rc = 2 ]
check "an error is <3> ($(head -1 "$TMP/error.err"))" grep -qE '^<3>fhd: --journal .*no-such-dir: expected a writable directory' "$TMP/error.err"
check "the error's text is the unprefixed one" \
	bash -c "diff <(sed -E 's/^<[0-7]>//' '$TMP/error.err') '$TMP/error-plain.err'"

# Live on net_null for 1 s, with a journal, the stats log line, Prometheus and
# DPDK's EAL at info level: the preflight warnings, the rte_flow and clock lines, the
# journal's and the statistics' lines, and DPDK's own are all prefixed; DPDK's lines
# with DPDK's level (EAL's info lines <6>).
mkdir -m 0700 "$TMP/journal"
{ feed_yaml "{ instruments: 16, orders: 1024, levels: 64 }" | sed 's/"--log-level=lib.eal:warning"/"--log-level=lib.eal:info"/'
  printf 'stats: { interval_ms: 200, log: true, prometheus_file: %s/fh.prom }\n' "$TMP"; } >"$TMP/live.yaml"
journal_run "$TMP/live.err" -c "$TMP/live.yaml" --journal "$TMP/journal" --duration 1
check "live: lines of every kind came ($(wc -l <"$TMP/live.err"))" \
	bash -c "grep -q 'rte_flow' '$TMP/live.err' && grep -q 'journaling every frame' '$TMP/live.err' &&
		grep -q 'pkt/s' '$TMP/live.err' && grep -q 'EAL: ' '$TMP/live.err'"
check "live: every line on stderr has a severity" every_line_prefixed "$TMP/live.err"
check "live: DPDK's EAL info lines are <6>, the stats line <6>" \
	bash -c "grep -qE '^<6>EAL: ' '$TMP/live.err' && grep -qE '^<6>fhd: itch: .* pkt/s' '$TMP/live.err'"
journal_run "$TMP/usage.err" --no-such-option
rc=$?
check "a bad option: exit 2 ($rc), said as an error, the usage text <3> too" \
	bash -c "[ $rc = 2 ] && grep -qx '<3>fhd: --no-such-option: unknown option, or its argument is missing' '$TMP/usage.err' &&
		grep -q '^<3>usage: fhd' '$TMP/usage.err'"
check "a bad option: every line has a severity" every_line_prefixed "$TMP/usage.err"

# A message of two lines gets a prefix on each (journald makes an entry of each line).
# (the built-in config without -c: said in two lines, then its missing interface fh0,
# or on a host with fh0 whatever fhd says next; EAL never gets the bad option's chance
# to matter, the run is only for the message).
journal_run "$TMP/default.err" -- --no-such-eal-option
check "a two-line message: both lines <6> ($(head -1 "$TMP/default.err"))" \
	bash -c "[ \"\$(grep -cE '^<6>fhd: (no -c CONFIG|to replay a capture)' '$TMP/default.err')\" = 2 ]"

"$FHD" -c "$config" --replay "$pcap" -- --log-level=lib.telemetry:info >/dev/null 2>"$TMP/telemetry.err"
check "asked for telemetry's info level, its legacy-socket line shows (the filter is what drops it)" \
	grep -q 'TELEMETRY: No legacy callbacks' "$TMP/telemetry.err"
finish
