#!/usr/bin/env bash
# Retries and timeouts of gap recovery that the other recovery tests let through
# (issue 20: each case below was a planted mutation the suite did not catch):
#   paced     a GLIMPSE server whose snapshot arrives in short gaps but takes longer
#             than snapshot.timeout_ms in all: every sequenced message is progress,
#             so one login takes it (mutated, only Login Accepted re-armed the silence
#             timeout: three logins, each failed);
#   one-each  a MoldUDP64 server that puts one message in each reply and loses 10% of
#             them (tools/mold_server.py --loss-keyed: which replies are lost depends on
#             the requests, not on timing, and never more than 2 in a row to one
#             request): a request's retries count from its last reply, so nothing is
#             given up (mutated, never reset after a partial reply: given up);
#   sessions  the first session's snapshot fails whole, then a new session starts and
#             loses packets on both lines: a new session may take snapshots again, so
#             the feed re-syncs (mutated, feed_session_start keeping snapshot_failed:
#             STALE to the end).
# Dumps are compared with tests/ref_book.py on the complete session. `timeout` turns a
# hang into a failure; it times nothing. Exit 0 pass, 1 fail.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recovery_lib.sh"

[ -n "${KEEP:-}" ] && echo "scratch: $TMP"
MOLD="$ROOT/tools/mold_server.py"
GLIMPSE="$ROOT/tools/glimpse_server.py"
CRAFT="$ROOT/tests/pcap_craft.py"

# ok NAME REF: fhd exited, its book_state is ok, and its dump is REF's.
ok() {
	check "$1: fhd exited 0 (exit $rc; 124: hung)" [ "$rc" = 0 ]
	check "$1: book_state ok ($(state "$TMP/$1.log"))" [ "$(state "$TMP/$1.log")" = ok ]
	same_file "$1: the dump equals the complete session's" "$2" "$TMP/$1.dump"
}

# snapshot_case NAME PCAP REF TIMEOUT_MS SERVER_OPTION...: PCAP replayed with a
# glimpse_server.py (SERVER_OPTIONS) as the snapshot server, timeout_ms TIMEOUT_MS,
# 2 retries; then ok NAME REF.
snapshot_case() {
	local name=$1 pcap=$2 ref=$3 timeout_ms=$4
	shift 4
	server_start "$name-srv" python3 "$GLIMPSE" --listen 127.0.0.1:0 --username fh --password secret "$@" || true
	config "$TMP/$name.yaml" "snapshot: { server: \"127.0.0.1:$port\", username: fh, password: secret, timeout_ms: $timeout_ms, retries: 2 }"
	run_fhd "$name" "$pcap"
	server_stop
	ok "$name" "$ref"
}

# logins NAME LOGINS FAILED: the snapshot counters of NAME's report; one snapshot.
logins() {
	local log=$TMP/$1.log
	check "$1: $2 logins, $3 failed, one snapshot (logins $(counter "$log" "^  snapshot:" logins), failed $(counter "$log" "^  snapshot:" failures))" \
		[ "$(counter "$log" "^  snapshot:" logins)" = "$2" -a "$(counter "$log" "^  snapshot:" failures)" = "$3" -a \
		"$(counter "$log" "^  snapshot:" applied)" = 1 ]
}

echo "== paced: a snapshot in 20 ms gaps, 2 s in all, with timeout_ms 250"
# A short session joined at 1201 (everything before lost); the snapshot as of 1500.
"$FH_PCAP" gen --seed 12 --messages 3000 --symbols 4 --out "$TMP/s1.pcap" 2>/dev/null
$REF pcap "$TMP/s1.pcap" >"$TMP/s1.ref"
python3 "$CRAFT" holes "$TMP/s1.pcap" "$TMP/join.pcap" 1-1200
snapshot_case paced "$TMP/join.pcap" "$TMP/s1.ref" 250 --pcap "$TMP/s1.pcap" --as-of 1500 --pace-ms 20 \
	--no-heartbeat
logins paced 1 0
check "paced: it took longer than timeout_ms ($(sed -nE 's/^  snapshot:.* last_ms ([0-9.]+).*/\1/p' "$TMP/paced.log") ms)" \
	awk -v ms="$(sed -nE 's/^  snapshot:.* last_ms ([0-9.]+).*/\1/p' "$TMP/paced.log")" 'BEGIN { exit !(ms > 250) }'

echo "== one-each: one message a reply, 10% of replies lost (seeded, keyed by request)"
# One hole of about 600 messages; in_flight 1, so the requests are one chain and no
# reply waits ahead of the hole. retries 2 >= --loss-run-max 2: no request can be
# given up unless its retries are not reset by a reply.
"$FH_PCAP" gen --seed 12 --messages 30000 --symbols 20 --out "$TMP/s.pcap" 2>/dev/null
$REF pcap "$TMP/s.pcap" >"$TMP/s.ref"
python3 "$CRAFT" holes "$TMP/s.pcap" "$TMP/big.pcap" 10001-10600
server_start one-each-srv python3 "$MOLD" --pcap "$TMP/s.pcap" --listen 127.0.0.1:0 --max-per-reply 1 \
	--loss 0.1 --loss-keyed --loss-run-max 2 --seed 5 || true
config "$TMP/one-each.yaml" "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 20, retries: 2, in_flight: 1 }"
run_fhd one-each "$TMP/big.pcap"
server_stop
ok one-each "$TMP/s.ref"
lost=$(counter "$TMP/one-each-srv.err" "mold_server:" lost)
check "one-each: no give-up ($(counter "$TMP/one-each.log" "^  recovery:" give_ups)) though the server lost $lost replies" \
	[ "$(counter "$TMP/one-each.log" "^  recovery:" give_ups)" = 0 -a "${lost:-0}" -gt 10 ]

echo "== sessions: the first session's snapshot fails whole; the second's loss re-syncs"
# Session 1 joined at 1201 (the s1 join above); its 3 logins (1 + retries) are refused.
# Session 2 (another name) loses 1001..1100 on both lines, with no re-request server:
# declared, then re-synced from the 4th login (after snapshot.resync_backoff_ms of
# wall time), a snapshot as of 2500, which the lines then reach within confirm_ms of
# the capture's clock.
"$FH_PCAP" gen --seed 13 --messages 3000 --symbols 4 --session FHGEN00002 --out "$TMP/s2.pcap" 2>/dev/null
$REF pcap "$TMP/s2.pcap" >"$TMP/s2.ref"
python3 "$CRAFT" holes "$TMP/s2.pcap" "$TMP/s2-holes.pcap" 1001-1100
python3 "$CRAFT" concat "$TMP/join.pcap" "$TMP/s2-holes.pcap" "$TMP/sessions.pcap"
snapshot_case sessions "$TMP/sessions.pcap" "$TMP/s2.ref" 2000 --pcap "$TMP/s2.pcap" --as-of 2500 \
	--reject A --reject-first 3
logins sessions 4 3
check "sessions: one session change" [ "$(counter "$TMP/sessions.log" "^  gaps" session_changes)" = 1 ]
finish
