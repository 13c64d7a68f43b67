#!/usr/bin/env bash
# Gap recovery end to end (issue 12): fhd replays captures with packets lost on BOTH
# lines, asks tools/mold_server.py (MoldUDP64 re-request, loopback) for them, and
# joins mid-session through tools/glimpse_server.py (GLIMPSE over SoupBinTCP). Every
# dump is compared with tests/ref_book.py on the COMPLETE session, not on what the
# lines carried. The servers are independent Python implementations of the specs.
# Faults: loss at several rates, 20% of replies lost, a cap of messages per reply, a
# server that never answers (the loss is declared, the feed goes STALE, the counters
# name the lost ranges), a snapshot server that disconnects mid-snapshot or rejects
# the login. Throughout: ASan+UBSan fhd, no allocation on the RX lcore, and a consumer
# that checks no event comes out of sequence.
source "$(dirname "$0")/lib.sh"

[ -n "${KEEP:-}" ] && echo "scratch: $TMP"
MOLD="$ROOT/tools/mold_server.py"
GLIMPSE="$ROOT/tools/glimpse_server.py"
CRAFT="$ROOT/tests/pcap_craft.py"
FH=$B/fh
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"; rm -f /dev/shm/fhrec$$-*' EXIT

# start NAME COMMAND...: a server on a free loopback port ($port); stop: the last one.
start() { server_start "$@" --listen 127.0.0.1:0; }
stop() { server_stop; }

# config FILE SECTION...: one feed on a net_null port, lines A and B, with the given
# feed sections (recovery:, snapshot:).
config() {
	local file=$1
	shift
	feed_yaml "{ instruments: 256, orders: 262144, levels: 1024 }" "$@" >"$file"
	chmod 0600 "$file"	# a snapshot password: others may not read the config
}

# value LOG LABEL NAME: a counter of fhd's report (the first line containing LABEL).
value() { counter "$1" "$2" "$3"; }

# state LOG: the feed's book state at the end of the run.
state() { sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$1" | head -1; }

"$FH_PCAP" gen --seed 12 --messages 30000 --symbols 20 --out "$TMP/s.pcap" 2>/dev/null
$REF pcap "$TMP/s.pcap" >"$TMP/ref.dump"
messages=30000

# recover NAME RATE SERVER_OPTIONS RECOVERY_YAML: holes on both lines at RATE, served
# by mold_server with SERVER_OPTIONS; the dump must be the complete session's.
recover() {
	local name=$1 rate=$2 opts=$3 rec=$4 dropped
	dropped=$(python3 "$CRAFT" drop-both "$TMP/s.pcap" "$TMP/$name.pcap" "$rate" 7)
	# shellcheck disable=SC2086
	start "$name-mold" python3 "$MOLD" --pcap "$TMP/s.pcap" $opts || return
	config "$TMP/$name.yaml" "recovery: { server: \"127.0.0.1:$port\", $rec }"
	if ! "$FHD" -c "$TMP/$name.yaml" --replay "$TMP/$name.pcap" --dump-books "$TMP/$name.dump" \
		>"$TMP/$name.log" 2>"$TMP/$name.err"; then
		fail "$name: fhd exited non-zero"; tail -5 "$TMP/$name.err"; stop; return
	fi
	stop
	same_file "$name: $dropped packets lost on both lines, dump equals the complete session's" \
		"$TMP/ref.dump" "$TMP/$name.dump"
	check "$name: every message applied once, no gap, book_state ok" \
		[ "$(value "$TMP/$name.log" "^  messages" messages)" = $messages -a \
		"$(value "$TMP/$name.log" "^  gaps" gaps)" = 0 -a "$(state "$TMP/$name.log")" = ok ]
	check "$name: holes handed to recovery ($(value "$TMP/$name.log" "recovery: holes" holes)) all filled" \
		[ "$(value "$TMP/$name.log" "recovery: holes" holes)" -gt 0 -a \
		"$(value "$TMP/$name.log" "recovery: holes" holes)" = "$(value "$TMP/$name.log" "recovery: holes" filled)" ]
}

echo "== MoldUDP64 re-request"
recover rate1 0.01 "" "timeout_ms: 200"
recover rate5 0.05 "" "timeout_ms: 200"
recover rate20 0.2 "" "timeout_ms: 200"
recover lossy-server 0.05 "--loss 0.2 --seed 3" "timeout_ms: 30, retries: 10"
check "lossy-server: lost replies were re-requested (timeouts $(value "$TMP/lossy-server.log" "^  recovery:" timeouts))" \
	[ "$(value "$TMP/lossy-server.log" "^  recovery:" timeouts)" -gt 0 ]
recover capped 0.05 "--max-per-reply 3" "timeout_ms: 200"
check "capped: replies of at most 3 messages, the rest asked for again" \
	[ "$(value "$TMP/capped.log" "^  recovery:" requests)" -gt "$(value "$TMP/capped.log" "recovery: holes" holes)" ]
recover wrong-session 0.05 "--wrong-session-every 3" "timeout_ms: 30, retries: 10"
check "wrong-session: replies of another session counted bad ($(value "$TMP/wrong-session.log" "^  recovery:" datagrams_bad))" \
	[ "$(value "$TMP/wrong-session.log" "^  recovery:" datagrams_bad)" -gt 0 ]

echo "== server silent: the loss is declared after the retries, the feed goes STALE"
dropped=$(python3 "$CRAFT" drop-both "$TMP/s.pcap" "$TMP/down.pcap" 0.002 11)
start down-mold python3 "$MOLD" --pcap "$TMP/s.pcap" --refuse
config "$TMP/down.yaml" "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 20, retries: 2, backoff: 2 }"
ring=fhrec$$-down
"$FHD" -c "$TMP/down.yaml" --replay "$TMP/down.pcap" --publish $ring --dump-books "$TMP/down.dump" \
	>"$TMP/down.log" 2>"$TMP/down.err" || fail "down: fhd exited non-zero"
stop
holes=$(value "$TMP/down.log" "recovery: holes" holes)
check "down: $dropped packets lost, $holes holes, each given up after 1 + 2 retries" \
	[ "$holes" -gt 0 -a "$(value "$TMP/down.log" "^  recovery:" give_ups)" = "$holes" -a \
	"$(value "$TMP/down.log" "^  recovery:" requests)" = $((holes * 3)) ]
check "down: each hole declared a gap after every send timed out ($(value "$TMP/down.log" "^  recovery:" timeouts) timeouts)" \
	[ "$(value "$TMP/down.log" "^  gaps" gaps)" = "$holes" -a \
	"$(value "$TMP/down.log" "^  recovery:" timeouts)" = $((holes * 3)) ]
check "down: book_state stale" [ "$(state "$TMP/down.log")" = stale ]
# The lost ranges the log names are the ones the capture lacks (an independent count).
python3 - "$TMP/s.pcap" "$TMP/down.pcap" >"$TMP/down.expected" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[0].rsplit('/', 1)[0])
def seqs(path):
    d, at, out = open(path, 'rb').read(), 24, {}
    while at + 16 <= len(d):
        n = struct.unpack_from('<I', d, at + 8)[0]
        m = d[at + 16 + 42:at + 16 + n]
        if len(m) >= 20 and struct.unpack_from('>H', m, 18)[0] not in (0, 0xFFFF):
            out[struct.unpack_from('>Q', m, 10)[0]] = struct.unpack_from('>H', m, 18)[0]
        at += 16 + n
    return out
full, left = seqs(sys.argv[1]), seqs(sys.argv[2])
lost = sorted(s for s in full if s not in left)
ranges = []
for s in lost:
    if ranges and ranges[-1][1] == s:
        ranges[-1][1] = s + full[s]
    else:
        ranges.append([s, s + full[s]])
for a, b in ranges:
    print(f"  gap: seq {a}..{b - 1} ({b - a} messages)")
PY
grep "^  gap: " "$TMP/down.log" >"$TMP/down.named"
same_file "down: the gap log names exactly the lost ranges" "$TMP/down.expected" "$TMP/down.named"
if "$FH" tail --ring $ring-1 --json >"$TMP/down.json" 2>"$TMP/down.tail.err"; then
	check "down: a consumer sees the STALE state in the events" grep -q '"stale"' "$TMP/down.json"
	check "down: BOOK_STATE says why: the server was silent" \
		grep -q '"type":"book_state".*"reason":"server_silent"' "$TMP/down.json"
	# The GAP event itself says stale: the state changes before the GAP is published.
	check "down: every GAP event carries state stale ($(grep -c '"type":"gap"' "$TMP/down.json") gaps)" \
		bash -c "grep -q '\"type\":\"gap\"' '$TMP/down.json' && ! grep '\"type\":\"gap\"' '$TMP/down.json' | grep -qv '\"state\":\"stale\"'"
else
	fail "down: fh tail failed"; tail -3 "$TMP/down.tail.err"
fi
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top

echo "== GLIMPSE late join"
# The capture starts mid-session: no packet before sequence 12001.
python3 "$CRAFT" from-seq "$TMP/s.pcap" "$TMP/join.pcap" 12001 >/dev/null
# join NAME GLIMPSE_OPTIONS EXTRA_SECTION: a join through the snapshot server.
join() {
	local name=$1 opts=$2 extra=${3:-}
	# shellcheck disable=SC2086
	start "$name-glimpse" python3 "$GLIMPSE" --pcap "$TMP/s.pcap" --username fh --password secret $opts || return
	config "$TMP/$name.yaml" "snapshot: { server: \"127.0.0.1:$port\", username: fh, password: secret, timeout_ms: 3000, retries: 2 }" \
		${extra:+"$extra"}
	"$FHD" -c "$TMP/$name.yaml" --replay "$TMP/join.pcap" --dump-books "$TMP/$name.dump" \
		>"$TMP/$name.log" 2>"$TMP/$name.err" || fail "$name: fhd exited non-zero"
	stop
}
join join-ahead "--as-of 15000"
same_file "join-ahead: snapshot as of 15000, capture from 12001: dump equals the complete session's" \
	"$TMP/ref.dump" "$TMP/join-ahead.dump"
check "join-ahead: one snapshot, book_state ok" \
	[ "$(value "$TMP/join-ahead.log" "^  snapshot:" applied)" = 1 -a "$(state "$TMP/join-ahead.log")" = ok ]
check "join-ahead: live applied from 15000 on ($(value "$TMP/join-ahead.log" "^  messages" messages))" \
	[ "$(value "$TMP/join-ahead.log" "^  messages" messages)" = $((messages - 14999)) ]

join join-space "--as-of 15000 --g-pad space"
same_file "join-space: End of Snapshot's sequence padded with spaces (SoupBinTCP style): dump equals" \
	"$TMP/ref.dump" "$TMP/join-space.dump"

start behind-mold python3 "$MOLD" --pcap "$TMP/s.pcap"
mold_port=$port
join join-behind "--as-of 9000" "recovery: { server: \"127.0.0.1:$mold_port\", timeout_ms: 200 }"
stop
same_file "join-behind: snapshot as of 9000, capture from 12001, 9000..12000 re-requested: dump equals" \
	"$TMP/ref.dump" "$TMP/join-behind.dump"

join join-disconnect "--as-of 15000 --disconnect-after 40"
same_file "join-disconnect: the server cut the first snapshot after 40 messages; the second login's dump equals" \
	"$TMP/ref.dump" "$TMP/join-disconnect.dump"
check "join-disconnect: two logins, one failed" \
	[ "$(value "$TMP/join-disconnect.log" "^  snapshot:" logins)" = 2 -a "$(value "$TMP/join-disconnect.log" "^  snapshot:" failures)" = 1 ]

join join-rejected "--as-of 15000 --reject A"
check "join-rejected: every login rejected (1 + 2 retries), the feed is STALE" \
	[ "$(value "$TMP/join-rejected.log" "^  snapshot:" logins)" = 3 -a "$(state "$TMP/join-rejected.log")" = stale ]

echo "== a re-sync whose snapshot fails: fhd's books are emptied, and so are consumers'"
# The join succeeds; holes lost on both lines (no re-request server) make the feed
# re-sync through GLIMPSE, whose later logins are all refused.
python3 "$CRAFT" drop-both "$TMP/join.pcap" "$TMP/resync.pcap" 0.002 13 >/dev/null
start resync-glimpse python3 "$GLIMPSE" --pcap "$TMP/s.pcap" --username fh --password secret \
	--as-of 15000 --reject A --accept-first 1
config "$TMP/resync.yaml" "snapshot: { server: \"127.0.0.1:$port\", username: fh, password: secret, timeout_ms: 3000, retries: 1 }"
ring=fhrec$$-resync
"$FHD" -c "$TMP/resync.yaml" --replay "$TMP/resync.pcap" --publish $ring --dump-books "$TMP/resync.dump" \
	>"$TMP/resync.log" 2>"$TMP/resync.err" || fail "resync: fhd exited non-zero"
stop
check "resync: one snapshot (the join), then a re-sync refused twice; the feed is STALE" \
	[ "$(value "$TMP/resync.log" "^  snapshot:" applied)" = 1 -a "$(value "$TMP/resync.log" "^  snapshot:" logins)" = 3 -a \
	"$(state "$TMP/resync.log")" = stale ]
if "$FH" tail --ring $ring-1 --json >"$TMP/resync.json" 2>"$TMP/resync.tail.err"; then
	# The feed is STALE from the loss on: the failure changes no state, it empties the books.
	check "resync: after the join's snapshot, the loss (STALE), then BOOK_CLEARED when the re-sync failed" \
		python3 - "$TMP/resync.json" <<'PY'
import json, sys
seen = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e['type'] + ':' + e.get('reason', '') for e in seen if e['type'] in ('cleared', 'book_state')]
print(kinds)
sys.exit(0 if kinds == ['book_state:snapshot_started', 'cleared:', 'book_state:snapshot',
                        'book_state:lost', 'cleared:'] else 1)
PY
else
	fail "resync: fh tail failed"; tail -3 "$TMP/resync.tail.err"
fi
"$FH" tail --ring $ring-1 --quiet --dump-books "$TMP/resync.consumer" 2>/dev/null
same_file "resync: a consumer of the events ends with fhd's books" "$TMP/resync.dump" "$TMP/resync.consumer"
rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top

echo "== sanitizers, allocation guard, consumer order"
start asan-mold python3 "$MOLD" --pcap "$TMP/s.pcap" --loss 0.1 --seed 5
config "$TMP/asan.yaml" "recovery: { server: \"127.0.0.1:$port\", timeout_ms: 30, retries: 10 }"
if [ -x "$B/asan/fhd" ]; then
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$B/asan/fhd" -c "$TMP/asan.yaml" --replay "$TMP/rate5.pcap" \
		--dump-books "$TMP/asan.dump" >"$TMP/asan.log" 2>"$TMP/asan.err"
	rc=$?
	check "ASan+UBSan fhd: clean exit, no report" \
		[ $rc = 0 -a "$(grep -cE "ERROR: AddressSanitizer|runtime error" "$TMP/asan.err")" = 0 ]
	same_file "ASan+UBSan fhd: dump equals" "$TMP/ref.dump" "$TMP/asan.dump"
fi
LD_PRELOAD=$B/alloc_guard.so "$FHD" -c "$TMP/asan.yaml" --replay "$TMP/rate5.pcap" --publish fhrec$$-g \
	>"$TMP/guard.log" 2>"$TMP/guard.err"
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/guard.err" | awk '{print $2}')
check "recovering: no allocation on the RX lcore (${n:-none} counted)" [ "${n:-x}" = 0 ]
# The consumer's view: end-of-packet sequence numbers strictly rising, every message once.
"$FH" tail --ring fhrec$$-g-1 --json >"$TMP/guard.json" 2>/dev/null
python3 - "$TMP/guard.json" $messages <<'PY' >"$TMP/order.out"
import json, sys
last, total, bad = 0, 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get('type') != 'end_of_packet':
        continue
    seq, n = e['last_seq'], e['messages']
    if seq - n != last:
        bad += 1
    last, total = seq, total + n
print(f"{bad} {total}")
PY
read -r bad total <"$TMP/order.out"
check "consumer: every packet's messages follow the last ($bad out of sequence), $total of $messages" \
	[ "$bad" = 0 -a "$total" = $messages ]
stop
rm -f /dev/shm/fhrec$$-g-1 /dev/shm/fhrec$$-g-1-top
finish
