#!/usr/bin/env bash
# test_recovery_servers: the recovery test servers (tools/mold_server.py,
# tools/glimpse_server.py) against the session they serve. A small independent client
# (tests/recovery_client.py, built on ref_book.py's parsers and book) checks replies
# and snapshots message by message; tshark's own moldudp64 and soupbintcp dissectors
# decode the traffic the client saw, an independent check of the framing; the servers'
# counter lines must match what was done to them. Sessions: a small `fh-pcap gen`
# session (as pcap and as ITCH file), the NASDAQ slice and the simulated file (zero
# length prefixes). Exit 0 pass, 1 fail, 77 skip.
source "$(dirname "$0")/lib.sh"

if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark not installed"
	exit 77
fi
if [[ ! -x $FH_PCAP ]]; then
	echo "FAIL: $FH_PCAP not built"
	exit 1
fi
data_require
CLIENT=(python3 "$ROOT/tests/recovery_client.py")
MOLD=(python3 "$ROOT/tools/mold_server.py")
GLIMPSE=(python3 "$ROOT/tools/glimpse_server.py")
N=3000
"$FH_PCAP" gen --seed 7 --messages $N --symbols 6 --out "$TMP/s.pcap" 2>/dev/null
"$FH_PCAP" gen --seed 7 --messages $N --symbols 6 --format itch --out "$TMP/s.itch" 2>/dev/null
PCAP=pcap:$TMP/s.pcap
ITCH=itch:$TMP/s.itch

# serve NAME CMD...: starts a server; waits (reading, not sleeping) for its
# "listening HOST:PORT" line; sets addr, port and spid. Its stderr goes to $TMP/NAME.err.
serve() {
	local name=$1 line
	shift
	exec {sfd}< <(exec "$@" 2>"$TMP/$name.err")
	spid=$!
	read -r -u "$sfd" line || true
	addr=${line#listening }
	port=${addr##*:}
	if [[ $line != "listening 127.0.0.1:"* ]]; then
		fail "$name did not start: '$line'"
		cat "$TMP/$name.err"
	fi
}

# unserve NAME: SIGTERM; the server must exit 0 with its counter line on stderr.
unserve() {
	kill -TERM "$spid"
	wait "$spid"
	local rc=$?
	exec {sfd}<&-
	check "$1 exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
	tail -1 "$TMP/$1.err"
}

# is NAME FILE LABEL COUNTER VALUE: the server's counter equals VALUE.
is() {
	local got
	got=$(counter "$2" "$3" "$4")
	check "$1: $4 $got == $5" test "$got" = "$5"
}

# ---------------------------------------------------------------- MoldUDP64
echo "== mold_server: the gen'd session from the capture, whole walk, no faults"
serve m1 "${MOLD[@]}" --pcap "$TMP/s.pcap"
check "walk (pcap source) with the pcap written" \
	"${CLIENT[@]}" mold-walk "$addr" "$PCAP" --pcap-out "$TMP/m1.pcap"
check "requests that get no reply" "${CLIENT[@]}" mold-bad "$addr" "$PCAP"
unserve m1
is m1 "$TMP/m1.err" mold_server: bad 7
is m1 "$TMP/m1.err" mold_server: messages $((N + 3 + 1))
is m1 "$TMP/m1.err" mold_server: lost 0

echo "== tshark decodes the MoldUDP64 traffic"
tshark -r "$TMP/m1.pcap" -d udp.port==$port,moldudp64 -Y "udp.srcport==$port" -T fields \
	-e moldudp64.msgdata 2>/dev/null | tr ',' '\n' | grep . >"$TMP/m1.tshark"
"${CLIENT[@]}" hexlist "$PCAP" 1 $N >"$TMP/m1.want"
same_file "tshark's reply messages are the session's" "$TMP/m1.want" "$TMP/m1.tshark"
tshark -r "$TMP/m1.pcap" -d udp.port==$port,moldudp64 -Y "udp.srcport==$port" -T fields \
	-e moldudp64.session -e moldudp64.sequence -e moldudp64.count -e moldudp64.msgseq \
	2>/dev/null >"$TMP/m1.hdr"
awk -F'\t' -v n=$N 'BEGIN { next_seq = 1; ok = 1 }
	{
		k = split($4, s, ",")
		if ($1 != "FHGEN00001" || $2 != next_seq || $3 != k || s[1] != $2 || s[k] != $2 + k - 1)
			ok = 0
		next_seq += k
	}
	END { exit !(ok && next_seq == n + 1) }' "$TMP/m1.hdr"
check "tshark: replies in sequence, counts equal the message blocks, session name" test $? -eq 0
check "tshark sees 20-byte requests as MoldUDP64 requests" test "$(tshark -r "$TMP/m1.pcap" \
	-d udp.port==$port,moldudp64 -Y "udp.dstport==$port && moldudp64.request" 2>/dev/null |
	wc -l)" -eq "$(wc -l <"$TMP/m1.hdr")"

echo "== mold_server: ITCH file source, --max-per-reply 7"
serve m2 "${MOLD[@]}" --itch "$TMP/s.itch" --max-per-reply 7
check "walk, every reply exactly min(asked, 7, left)" \
	"${CLIENT[@]}" mold-walk "$addr" "$ITCH" --cap 7 --step 10
check "the same walk with requests of 3" "${CLIENT[@]}" mold-walk "$addr" "$ITCH" --cap 7 --step 3
unserve m2
is m2 "$TMP/m2.err" mold_server: messages $((2 * N))

echo "== mold_server: --loss 0.2 --seed 5, --wrong-session-every 5"
serve m3 "${MOLD[@]}" --pcap "$TMP/s.pcap" --loss 0.2 --seed 5 --wrong-session-every 5
check "walk with retries completes" \
	"${CLIENT[@]}" mold-walk "$addr" "$PCAP" --wrong-every 5 --step 100 --timeout-ms 100
unserve m3
lost=$(counter "$TMP/m3.err" mold_server: lost)
replies=$(counter "$TMP/m3.err" mold_server: replies)
check "loss $lost of $((lost + replies)) within 0.1 of 0.2" \
	awk -v l="$lost" -v r="$replies" 'BEGIN { p = l / (l + r); exit !(l + r >= 50 && p > 0.1 && p < 0.3) }'

echo "== mold_server: --drop-first 3, then --refuse, then --delay-ms 30"
serve m4 "${MOLD[@]}" --itch "$TMP/s.itch" --drop-first 3
check "3 requests ignored, the 4th answered" "${CLIENT[@]}" mold-ignored "$addr" "$ITCH" 3
unserve m4
is m4 "$TMP/m4.err" mold_server: ignored 3
is m4 "$TMP/m4.err" mold_server: replies 1
serve m5 "${MOLD[@]}" --itch "$TMP/s.itch" --refuse
check "a refusing server does not answer" "${CLIENT[@]}" mold-refused "$addr" "$ITCH" 5
unserve m5
is m5 "$TMP/m5.err" mold_server: ignored 5
is m5 "$TMP/m5.err" mold_server: replies 0
serve m6 "${MOLD[@]}" --itch "$TMP/s.itch" --delay-ms 30
check "walk through a delaying server" \
	"${CLIENT[@]}" mold-walk "$addr" "$ITCH" --step 500 --timeout-ms 5000
unserve m6

echo "== mold_server: the NASDAQ slice and the simulated file (zero length prefixes)"
serve m7 "${MOLD[@]}" --itch "$NASDAQ_SLICE" --session NASDAQ0001
check "NASDAQ slice walk" "${CLIENT[@]}" mold-walk "$addr" "itch:$NASDAQ_SLICE:NASDAQ0001"
unserve m7
serve m8 "${MOLD[@]}" --itch "$SIMULATED"
check "simulated file walk" "${CLIENT[@]}" mold-walk "$addr" "itch:$SIMULATED" --step 1000
unserve m8

# ---------------------------------------------------------------- GLIMPSE
echo "== glimpse_server: the gen'd session as of 1700; login checks"
serve g1 "${GLIMPSE[@]}" --pcap "$TMP/s.pcap" --as-of 1700 --username fh --password Secret \
	--heartbeat-ms 100
check "snapshot == ref_book's live orders at 1699; 2 heartbeats; logout" \
	"${CLIENT[@]}" glimpse "$addr" "$PCAP" 1700 --user FH --password SECRET --heartbeats 2 \
	--pcap-out "$TMP/g1.pcap" --snap-out "$TMP/g1.snap" --recv-size 7 --split-login
check "wrong password: J A, close" "${CLIENT[@]}" glimpse "$addr" "$PCAP" 1700 --user fh \
	--password wrong --expect reject:A
check "another session: J S, close" "${CLIENT[@]}" glimpse "$addr" "$PCAP" 1700 --user fh \
	--password secret --session OTHER00001 --expect reject:S
unserve g1
is g1 "$TMP/g1.err" "glimpse_server: connections" connections 3
is g1 "$TMP/g1.err" "glimpse_server: connections" logins 1
is g1 "$TMP/g1.err" "glimpse_server: connections" rejected 2
is g1 "$TMP/g1.err" "glimpse_server: connections" snapshots 1

check "G carries 1700 as 20 zero-padded digits by default" \
	test "$(tail -1 "$TMP/g1.snap")" = "$(printf G%020d 1700 | od -An -tx1 | tr -d ' \n')"

echo "== tshark decodes the SoupBinTCP traffic"
tshark -r "$TMP/g1.pcap" -d tcp.port==$port,soupbintcp -T fields -e soupbintcp.message \
	2>/dev/null | tr ',' '\n' | grep . >"$TMP/g1.tshark"
same_file "tshark's sequenced messages are the client's snapshot" "$TMP/g1.snap" "$TMP/g1.tshark"
types=$(tshark -r "$TMP/g1.pcap" -d tcp.port==$port,soupbintcp -T fields \
	-e soupbintcp.packet_type 2>/dev/null | tr -d "'\n" | tr ',' ' ' | tr -s ' ')
squeezed=$(echo "$types" | tr -d ' HR' | tr -s 'S')
check "tshark: packet types L A S.. O, heartbeats aside (got $squeezed)" test "$squeezed" = LASO
check "tshark: 2 client heartbeats, at least 2 server ones" test "$(echo "$types" | tr -cd R |
	wc -c)" -eq 2 -a "$(echo "$types" | tr -cd H | wc -c)" -ge 2
check "tshark: as many S packets as snapshot messages" \
	test "$(echo "$types" | tr -cd S | wc -c)" -eq "$(wc -l <"$TMP/g1.snap")"
# (its -T fields value of next_seq_num is not the number: read the decoded tree)
tshark -r "$TMP/g1.pcap" -d tcp.port==$port,soupbintcp -Y 'soupbintcp.packet_type == 65' \
	-O soupbintcp 2>/dev/null | grep -A4 'Login Accepted$' | tail -2 >"$TMP/g1.accepted"
printf '    Session: FHGEN00001\n    Next sequence number: 1\n' >"$TMP/g1.accepted.want"
same_file "tshark: login accepted names session FHGEN00001, sequence 1" "$TMP/g1.accepted.want" \
	"$TMP/g1.accepted"

echo "== glimpse_server: whole session from the ITCH file, --end-session"
serve g2 "${GLIMPSE[@]}" --itch "$TMP/s.itch" --end-session
check "snapshot of the whole session, G $((N + 1)), Z, close" \
	"${CLIENT[@]}" glimpse "$addr" "$ITCH" $((N + 1)) --end-session
unserve g2

echo "== glimpse_server: --reject A and --reject S"
for code in A S; do
	serve g3$code "${GLIMPSE[@]}" --itch "$TMP/s.itch" --reject $code
	check "--reject $code" "${CLIENT[@]}" glimpse "$addr" "$ITCH" 1 --expect reject:$code
	unserve g3$code
done

echo "== glimpse_server: --disconnect-after 50 --disconnect-times 2, then a whole snapshot"
serve g4 "${GLIMPSE[@]}" --itch "$TMP/s.itch" --as-of 2000 --disconnect-after 50 \
	--disconnect-times 2
check "first login: closed after 50" "${CLIENT[@]}" glimpse "$addr" "$ITCH" 2000 --expect cut:50
check "second login: closed after 50" "${CLIENT[@]}" glimpse "$addr" "$ITCH" 2000 --expect cut:50
check "third login: the whole snapshot" "${CLIENT[@]}" glimpse "$addr" "$ITCH" 2000
unserve g4
is g4 "$TMP/g4.err" "glimpse_server: connections" faults 2
is g4 "$TMP/g4.err" "glimpse_server: connections" snapshots 1

echo "== glimpse_server: --stall-after 20 (heartbeats every 50 ms otherwise); --delay-ms 200 with --no-heartbeat"
serve g5 "${GLIMPSE[@]}" --itch "$TMP/s.itch" --stall-after 20 --heartbeat-ms 50
check "20 messages, then silence on an open socket" \
	"${CLIENT[@]}" glimpse "$addr" "$ITCH" $((N + 1)) --expect stall:20
unserve g5
is g5 "$TMP/g5.err" "glimpse_server: connections" heartbeats 0
serve g6 "${GLIMPSE[@]}" --itch "$TMP/s.itch" --delay-ms 200 --heartbeat-ms 50 --no-heartbeat
check "a delayed snapshot" "${CLIENT[@]}" glimpse "$addr" "$ITCH" $((N + 1))
unserve g6
is g6 "$TMP/g6.err" "glimpse_server: connections" heartbeats 0

echo "== glimpse_server: the NASDAQ slice and the simulated file, cut and whole"
nasdaq_n=$("${CLIENT[@]}" hexlist "itch:$NASDAQ_SLICE" 1 100000000 | wc -l)
for seq in 400 $((nasdaq_n + 1)); do
	serve g7 "${GLIMPSE[@]}" --itch "$NASDAQ_SLICE" --as-of $seq --g-pad space
	check "NASDAQ slice as of $seq" "${CLIENT[@]}" glimpse "$addr" "itch:$NASDAQ_SLICE" $seq
	unserve g7
done
for seq in 5000 12000; do
	serve g8 "${GLIMPSE[@]}" --itch "$SIMULATED" --as-of $seq
	check "simulated file as of $seq" "${CLIENT[@]}" glimpse "$addr" "itch:$SIMULATED" $seq
	unserve g8
done

finish
