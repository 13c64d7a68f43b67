#!/usr/bin/env bash
# Recovery replies in the journal (issue 20, item 10): a replay of the journal of a
# recovered run gives that run's books, with the recovery server gone.
#  - a session with packets lost on both lines is replayed with --journal against
#    tools/mold_server.py: the books are the complete session's (tests/ref_book.py);
#  - tshark reads the journal: an interface "itch.recovery" holding exactly the replies
#    fhd took, each a UDP datagram from the server's address and port to fhd's
#    recovery socket with a right IPv4 checksum, whose MoldUDP64 ranges cover exactly
#    the messages the capture lacks (counted from the captures, not by fhd);
#  - fhd --replay of the journal with the server STOPPED takes recovery from the
#    capture: the same books, book_state ok, the same holes filled, nothing asked;
#  - the journal without one reply: that hole waits for recovery.hold packets, is
#    declared (STALE, the gap log names the reply's range), the others still fill;
#  - live (root, tcpreplay into a veth, as test_paths.sh): the journal of a run on a
#    wire, the replies stamped with the live RX clock, replays to that run's books.
source "$(dirname "$0")/lib.sh"

MOLD="$ROOT/tools/mold_server.py"
CRAFT="$ROOT/tests/pcap_craft.py"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
[ -n "${KEEP:-}" ] && echo "scratch: $TMP"
HANG=120	# seconds: only a hang reaches it (fhd's report is still written)

# value LOG LABEL NAME: a counter of fhd's report; state LOG: the feed's book state.
value() { counter "$1" "$2" "$3"; }
state() { sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$1" | head -1; }
# won LOG: the replies whose messages were (partly) applied (recovery: ... reply_won N).
won() { counter "$1" "^  recovery:" reply_won; }
# run NAME PCAP: fhd --replay PCAP on NAME.yaml into NAME.dump, NAME.log, NAME.err; $rc.
run() {
	timeout -k 5 $HANG "$FHD" -c "$TMP/$1.yaml" --replay "$2" --dump-books "$TMP/$1.dump" "${@:3}" \
		>"$TMP/$1.log" 2>"$TMP/$1.err"
	rc=$?
}

"$FH_PCAP" gen --seed 12 --messages 30000 --symbols 20 --out "$TMP/full.pcap" 2>/dev/null
$REF pcap "$TMP/full.pcap" >"$TMP/ref.dump"
dropped=$(python3 "$CRAFT" drop-both "$TMP/full.pcap" "$TMP/lossy.pcap" 0.002 11)

echo "== a recovered run, journaled"
server_start mold python3 "$MOLD" --pcap "$TMP/full.pcap" --listen 127.0.0.1:0 || finish
server=$port
feed_yaml "{ instruments: 256, orders: 262144, levels: 1024 }" \
	"recovery: { server: \"127.0.0.1:$server\", timeout_ms: 100, retries: 2 }" >"$TMP/live.yaml"
mkdir "$TMP/j"
LD_PRELOAD=$B/alloc_guard.so run live "$TMP/lossy.pcap" --journal "$TMP/j"
server_stop
check "recovered run: fhd exits 0" [ $rc = 0 ]
n=$(grep -oE "alloc-guard: [0-9]+" "$TMP/live.err" | awk '{print $2}')
check "recovered run: journaling the replies allocates nothing on the RX lcore (${n:-none} counted)" [ "${n:-x}" = 0 ]
same_file "recovered run: $dropped packets lost on both lines, books equal the complete session's" \
	"$TMP/ref.dump" "$TMP/live.dump"
holes=$(value "$TMP/live.log" "recovery: holes" holes)
check "recovered run: $holes holes, all filled by the server, book_state ok" \
	[ "${holes:-0}" -gt 0 -a "$(value "$TMP/live.log" "recovery: holes" filled)" = "$holes" -a \
	"$(value "$TMP/live.log" "^  gaps" gaps)" = 0 -a "$(state "$TMP/live.log")" = ok ]
files=$(ls "$TMP/j"/fh-*.pcapng 2>/dev/null)
check "recovered run: one journal file" [ "$(echo "$files" | grep -c .)" = 1 ]
journal=$(echo "$files" | head -1)

echo "== tshark reads the replies in the journal"
tshark -r "$journal" -T fields -e frame.interface_name 2>/dev/null | sort | uniq -c | awk '{print $2, $1}' \
	>"$TMP/ifaces"
in_file=$(awk '$1 == "itch.recovery" {print $2}' "$TMP/ifaces")
journaled=$(value "$TMP/live.log" "itch.recovery:" journaled)
taken=$(value "$TMP/live.log" "line recovery:" packets)
check "journal: interface itch.recovery holds ${in_file:-no} frames: what fhd journaled ($journaled), every reply it took ($taken)" \
	[ "${in_file:-0}" -gt 0 -a "${in_file:-0}" = "$journaled" -a "$journaled" = "$taken" -a \
	"$(value "$TMP/live.log" "line recovery:" journal_dropped)" = 0 ]
tshark -r "$journal" -o ip.check_checksum:TRUE -Y 'frame.interface_name == "itch.recovery"' -T fields \
	-e ip.src -e udp.srcport -e ip.dst -e ip.checksum.status -e udp.checksum 2>/dev/null | sort | uniq -c \
	>"$TMP/replies.addr"
check "journal: each is UDP from the server 127.0.0.1:$server to fhd's socket, IPv4 checksum good, no UDP checksum" \
	[ "$(awk -v p="$server" '$2 == "127.0.0.1" && $3 == p && $4 == "127.0.0.1" && $5 == 1 && $6 == "0x0000" {n += $1} END {print n + 0}' \
	"$TMP/replies.addr")" = "$in_file" ]
check "journal: nothing from the server on another interface" \
	[ "$(tshark -r "$journal" -Y "udp.srcport == $server && frame.interface_name != \"itch.recovery\"" 2>/dev/null | wc -l)" = 0 ]
check "journal: the line frames are all there (itch.A, itch.B: $(grep -c . "$TMP/ifaces") interfaces)" \
	[ "$(awk '$1 == "itch.A" || $1 == "itch.B" {n += $2} END {print n}' "$TMP/ifaces")" = \
	"$(tshark -r "$TMP/lossy.pcap" 2>/dev/null | wc -l)" ]
# The replies' MoldUDP64 ranges (session 10, sequence 8, count 2) are the messages the
# lossy capture lacks: counted from the two captures (pcap_craft.py), not by fhd.
tshark -r "$journal" -Y 'frame.interface_name == "itch.recovery"' -T fields -e udp.payload 2>/dev/null \
	>"$TMP/replies.hex"
python3 "$CRAFT" lost "$TMP/full.pcap" "$TMP/lossy.pcap" >"$TMP/lost.runs"
python3 - "$ROOT/tests" "$TMP/replies.hex" >"$TMP/replies.runs" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
from pcap_craft import runs
seqs = set()
for line in open(sys.argv[2]):
    seq, count = struct.unpack_from('>QH', bytes.fromhex(line.strip()), 10)
    seqs.update(range(seq, seq + count))
print('\n'.join(runs(seqs)))
PY
check "journal: the capture lacks $(grep -c . "$TMP/lost.runs") runs of messages" [ -s "$TMP/lost.runs" ]
same_file "journal: the replies carry exactly the messages lost on both lines" "$TMP/lost.runs" "$TMP/replies.runs"

echo "== the journal replayed, the server stopped"
cp "$TMP/live.yaml" "$TMP/replayed.yaml"
run replayed "$journal"
check "replayed: fhd exits 0" [ $rc = 0 ]
check "replayed: fhd says the feed takes recovery from the capture" \
	grep -q "feed itch: recovery from the capture: it holds $in_file replies from 127.0.0.1:$server" "$TMP/replayed.err"
same_file "replayed: books equal the recovered run's" "$TMP/live.dump" "$TMP/replayed.dump"
check "replayed: the same $holes holes, filled from the capture, no gap, book_state ok" \
	[ "$(value "$TMP/replayed.log" "recovery: holes" holes)" = "$holes" -a \
	"$(value "$TMP/replayed.log" "recovery: holes" filled)" = "$holes" -a \
	"$(value "$TMP/replayed.log" "^  gaps" gaps)" = 0 -a "$(state "$TMP/replayed.log")" = ok ]
check "replayed: every reply from the capture won, nothing asked of the server" \
	[ "$(won "$TMP/replayed.log")" = "$(won "$TMP/live.log")" -a "$(won "$TMP/live.log")" -gt 0 -a \
	"$(value "$TMP/replayed.log" "line recovery:" packets)" = "$in_file" -a \
	"$(value "$TMP/replayed.log" "^  recovery:" requests)" = 0 ]
check "replayed: held as in the recovered run ($(grep -oE "held [0-9]+ \(max [0-9]+" "$TMP/live.log"))" \
	[ "$(grep -oE "held [0-9]+ \(max [0-9]+" "$TMP/live.log")" = "$(grep -oE "held [0-9]+ \(max [0-9]+" "$TMP/replayed.log")" ]

echo "== the journal with forged replies: the checks the worker makes live"
# Two frames from the server's address merged in: one far ahead (2^40) at the start, one
# just before the first real reply that starts where it does but runs 50 messages past
# it (so past its hole). Each must be refused (bad), not taken as the server's word: the
# same books, no gap, ok.
t0=$(tshark -r "$journal" -T fields -e frame.time_epoch -c 1 2>/dev/null)
t1=$(tshark -r "$journal" -Y 'frame.interface_name == "itch.recovery"' -T fields -e frame.time_epoch 2>/dev/null | head -1)
python3 - "$TMP/forged.pcap" "$server" "$t0" "$t1" "$(head -1 "$TMP/replies.hex")" <<'PY'
import struct, sys
out, port, t0, t1, first = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), bytes.fromhex(sys.argv[5])
def csum(h):
    s = sum(struct.unpack('>10H', h))
    s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff
def frame(payload):
    udp = struct.pack('>HHHH', port, 40000, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))
    struct.pack_into('>H', ip, 10, csum(bytes(ip)))
    return b'\0' * 12 + b'\x08\x00' + bytes(ip) + udp
seq, count = struct.unpack_from('>QH', first, 10)
msgs, at = [], 20
while at + 2 <= len(first):
    n = struct.unpack_from('>H', first, at)[0]
    msgs.append(first[at:at + 2 + n])
    at += 2 + n
far = first[:10] + struct.pack('>QH', 1 << 40, count) + first[20:]
past = first[:10] + struct.pack('>QH', seq, count + 50) + b''.join(msgs) + msgs[-1] * 50
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for t, p in ((t0, far), (t1 - 0.000001, past)):
        fr = frame(p)
        f.write(struct.pack('<IIII', int(t), int(round((t - int(t)) * 1e6)), len(fr), len(fr)) + fr)
PY
mergecap -w "$TMP/forged.pcapng" "$journal" "$TMP/forged.pcap" 2>/dev/null
cp "$TMP/live.yaml" "$TMP/forged.yaml"
run forged "$TMP/forged.pcapng"
check "forged: fhd exits 0" [ $rc = 0 ]
same_file "forged: books equal the recovered run's" "$TMP/live.dump" "$TMP/forged.dump"
check "forged: both forged replies refused (bad $(value "$TMP/forged.log" "^  recovery:" reply_bad)), no gap, ok" \
	[ "$(value "$TMP/forged.log" "^  recovery:" reply_bad)" -ge 2 -a "$(value "$TMP/forged.log" "^  gaps" gaps)" = 0 -a \
	"$(state "$TMP/forged.log")" = ok ]

echo "== the journal without its first reply"
first=$(tshark -r "$journal" -Y 'frame.interface_name == "itch.recovery"' -T fields -e frame.number 2>/dev/null | head -1)
[ -n "$first" ] || { fail "missing: the journal holds no reply to leave out"; finish; }
range=$(head -1 "$TMP/replies.hex" | python3 -c 'import struct, sys; s, c = struct.unpack_from(">QH", bytes.fromhex(sys.stdin.read().strip()), 10); print(f"{s}..{s + c - 1}")')
editcap "$journal" "$TMP/missing.pcapng" "$first" 2>/dev/null
sed 's/retries: 2 }/retries: 2, hold: 1024 }/' "$TMP/live.yaml" >"$TMP/missing.yaml"
run missing "$TMP/missing.pcapng"
check "missing: fhd exits 0" [ $rc = 0 ]
check "missing: the hole of the reply left out ($range) waits for 1024 packets, then is declared; STALE" \
	[ "$(value "$TMP/missing.log" "^  gaps" gaps)" = 1 -a "$(value "$TMP/missing.log" "^  gaps" window_full)" = 1 -a \
	"$(state "$TMP/missing.log")" = stale -a "$(grep -c "^  gap: seq $range " "$TMP/missing.log")" = 1 ]
# The holes after it came while it waited: their replies, held, filled them before any was handed over.
missing_holes=$(value "$TMP/missing.log" "recovery: holes" holes)
check "missing: every other hole filled from the capture ($missing_holes handed over, one lost), nothing asked" \
	[ "${missing_holes:-0}" -gt 1 -a "$(value "$TMP/missing.log" "recovery: holes" filled)" = $((missing_holes - 1)) -a \
	"$(won "$TMP/missing.log")" = $((in_file - 1)) -a \
	"$(value "$TMP/missing.log" "^  recovery:" requests)" = 0 ]

echo "== live: the journal of a run on a wire replays to its books"
# As tests/test_paths.sh: fhd on a veth (net_af_packet), tcpreplay into the other end
# from a namespace, a wire that does not wait for recovery. The replies are stamped
# with the live RX clock; the replay of the journal must keep them where they came.
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
	echo "skip: the live case needs root, iproute2 and tcpreplay"
	finish
fi
ns=fhjr$$
host_if=fhj$$a
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; ip netns del "$ns" 2>/dev/null; ip link del "$host_if" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
if ! ip netns add "$ns" || ! ip link add "$host_if" type veth peer name fhj$$b; then
	echo "skip: cannot make a veth pair in a namespace"
	finish
fi
ip link set fhj$$b netns "$ns"
ip link set "$host_if" up
ip -n "$ns" link set fhj$$b up
"$FH_PCAP" gen --seed 31 --messages 20000 --symbols 20 --out "$TMP/wire-full.pcap" 2>/dev/null
python3 "$CRAFT" drop-both "$TMP/wire-full.pcap" "$TMP/wire.pcap" 0.02 31 >/dev/null
$REF pcap "$TMP/wire-full.pcap" >"$TMP/wire-ref.dump"
server_start wire-mold python3 "$MOLD" --pcap "$TMP/wire-full.pcap" --listen 127.0.0.1:0 || finish
sed -e "s/net_null0/net_af_packet0,iface=$host_if/" -e "s/127.0.0.1:$server/127.0.0.1:$port/" \
	"$TMP/live.yaml" >"$TMP/wire.yaml"
mkdir "$TMP/jw"
"$FHD" -c "$TMP/wire.yaml" --journal "$TMP/jw" --dump-books "$TMP/wire.dump" >"$TMP/wire.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/wire.log" && break; sleep 0.1; done
sleep 0.5	# the RX lcore polling, not only launched
ip netns exec "$ns" tcpreplay -q --intf1=fhj$$b --pps=20000 "$TMP/wire.pcap" >"$TMP/tcpreplay.log" 2>&1
sleep 1
kill -TERM "$fhd_pid"
wait "$fhd_pid"
check "wire: fhd stops cleanly on SIGTERM" [ $? = 0 ]
server_stop
# What the wire delivered is test_paths.sh's to check (a loaded host may lose frames
# before fhd polls); here the journal must give back whatever the run made of it.
cmp -s "$TMP/wire-ref.dump" "$TMP/wire.dump" ||
	echo "note: wire: the run's books are not the complete session's (frames lost before fhd: see test_paths.sh)"
wire_holes=$(value "$TMP/wire.log" "recovery: holes" holes)
check "wire: $wire_holes holes filled, $(value "$TMP/wire.log" "itch.recovery:" journaled) replies journaled" \
	[ "${wire_holes:-0}" -gt 0 -a "$(value "$TMP/wire.log" "recovery: holes" filled)" = "$wire_holes" -a \
	"$(value "$TMP/wire.log" "itch.recovery:" journaled)" = "$(value "$TMP/wire.log" "line recovery:" packets)" ]
cp "$TMP/wire.yaml" "$TMP/wire-replayed.yaml"
run wire-replayed "$TMP"/jw/fh-*.pcapng
same_file "wire: the journal replayed, server stopped: the same books" "$TMP/wire.dump" "$TMP/wire-replayed.dump"
check "wire: the same holes, filled from the capture, nothing asked" \
	[ "$(value "$TMP/wire-replayed.log" "recovery: holes" filled)" = "$wire_holes" -a \
	"$(state "$TMP/wire-replayed.log")" = ok -a "$(value "$TMP/wire-replayed.log" "^  recovery:" requests)" = 0 ]
finish
