#!/usr/bin/env bash
# fh-pcap gen --protocol cme-mdp3 against tests/ref_mdp3.py, the MDP3 reference model
# written from the doc alone: for several seeds the books the generator says are true
# (--books, price levels; --orders, the order books) are exactly what the reference
# builds from the capture, clean and after fh-pcap inject's faults: loss on one line,
# duplicates and reordering, malformed copies (before or after their good copy). Both
# lines losing the same packets recover from the snapshot loop to the complete
# session's books, and not without the loop (so the comparison sees a gap). The
# session holds every template and book action the generator claims, the same seed
# gives the same bytes, and the ASan+UBSan build writes them too, reporting nothing.
source "$(dirname "$0")/lib.sh"

MREF="python3 $ROOT/tests/ref_mdp3.py"

# gen_mdp3 NAME SEED MESSAGES INSTRUMENTS [options]: NAME.pcap, NAME.books, NAME.orders.
gen_mdp3() {
	local name=$1 seed=$2 messages=$3 instruments=$4
	shift 4
	"$FH_PCAP" gen --protocol cme-mdp3 --seed "$seed" --messages "$messages" \
		--instruments "$instruments" --out "$TMP/$name.pcap" --books "$TMP/$name.books" \
		--orders "$TMP/$name.orders" "$@" 2>/dev/null || fail "gen $name"
}

# ref_same WHAT PCAP TRUE: the reference's price-level and order books of PCAP equal
# TRUE.books and TRUE.orders, and every instrument it saw ends OK.
ref_same() {
	local what=$1 pcap=$2 true=$3
	$MREF pcap "$pcap" --states "$pcap.states" >"$pcap.ref" 2>/dev/null || fail "ref_mdp3 on $what"
	$MREF pcap "$pcap" --book mbo >"$pcap.refo" 2>/dev/null || fail "ref_mdp3 --book mbo on $what"
	check "$what: books not empty" [ -s "$true.books" ] && [ -s "$true.orders" ]
	same_file "$what: reference price levels = generator's true books" "$true.books" "$pcap.ref"
	same_file "$what: reference order books = generator's true orders" "$true.orders" "$pcap.refo"
	check "$what: every instrument OK at the end" \
		awk '$3 != "OK" || $5 !~ /mbo=(OK|-)/ { bad = 1 } END { exit bad + (NR == 0) }' "$pcap.states"
}

# drop_window IN OUT LO HI: IN without the incremental packets LO..HI, on both lines.
drop_window() {
	python3 - "$@" <<'PY'
import struct, sys
src, dst, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
inc = {(bytes([224, 0, 31, 1]), 14310), (bytes([224, 0, 32, 1]), 15310)}
data = open(src, 'rb').read()
out, off, dropped = [data[:24]], 24, 0
while off + 16 <= len(data):
    caplen = struct.unpack_from('<I', data, off + 8)[0]
    frame = data[off + 16:off + 16 + caplen]
    ip = 14 + (4 if frame[12:14] == b'\x81\x00' else 0)
    ihl = (frame[ip] & 15) * 4
    udp = ip + ihl
    key = (frame[ip + 16:ip + 20], struct.unpack_from('>H', frame, udp + 2)[0])
    seq = struct.unpack_from('<I', frame, udp + 8)[0]
    if key in inc and lo <= seq <= hi:
        dropped += 1
    else:
        out.append(data[off:off + 16 + caplen])
    off += 16 + caplen
open(dst, 'wb').write(b''.join(out))
print(dropped)
PY
}

not_same() {
	! cmp -s "$1" "$2"
}

# coverage PCAP: the session holds every template and 46 action and entry type the
# generator makes; prints what is missing.
coverage() {
	python3 - "$ROOT/tests" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ref_mdp3 as r
seen = set()
data = open(sys.argv[2], 'rb').read()
st = r.new_stats()
for line, _, payload in r.line_frames(data, r.line_map(dict(r.DEFAULT_LINES)), st):
    for tid, root, groups in r.iter_messages(payload, st):
        seen.add('t%d' % tid)
        if tid == 46:
            for e in groups['NoMDEntries']:
                seen.add('a%d' % e['MDUpdateAction'])
                seen.add('e' + e['MDEntryType'].decode())
                if e['MDUpdateAction'] == 0 and e['MDPriceLevel'] > 1:
                    seen.add('new-below-top')
            if groups['NoOrderIDEntries']:
                seen.add('46-orders')
        if tid == 48:
            for e in groups['NoMDEntries']:
                seen.add('aggressor%d' % e['AggressorSide'])
        if tid == 53 and root['NoChunks'] > 1:
            seen.add('53-chunks')
want = ['t%d' % t for t in (12, 30, 37, 46, 47, 48, 52, 53, 54, 56)] + \
    ['a%d' % a for a in range(5)] + ['e0', 'e1', 'eE', 'eF', 'new-below-top', '46-orders',
                                     'aggressor1', 'aggressor2', '53-chunks']
missing = [w for w in want if w not in seen]
if missing:
    print(' '.join(missing))
sys.exit(1 if missing else 0)
PY
}

# Clean sessions: several seeds and sizes, with and without the snapshot loop.
gen_mdp3 s1 1 20000 8 --snapshot-loop
gen_mdp3 s2 2 12000 13
gen_mdp3 s3 2026 30000 5 --snapshot-loop
for s in s1 s2 s3; do
	ref_same "clean $s" "$TMP/$s.pcap" "$TMP/$s"
done
check "s1 holds every template, 46 action and entry type the generator makes" coverage "$TMP/s1.pcap"
gen_mdp3 again 1 20000 8 --snapshot-loop
check "the same seed writes the same capture and books" \
	cmp -s "$TMP/s1.pcap" "$TMP/again.pcap" && cmp -s "$TMP/s1.books" "$TMP/again.books"

# Loss on one line: the other carries every packet.
"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/s1.pcap" --out "$TMP/lossa.pcap" --seed 3 \
	--loss-a 0.3 2>/dev/null || fail "inject loss-a"
ref_same "s1, 30% loss on line A" "$TMP/lossa.pcap" "$TMP/s1"
"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/s2.pcap" --out "$TMP/lossb.pcap" --seed 4 \
	--loss-b 0.5 2>/dev/null || fail "inject loss-b"
ref_same "s2, 50% loss on line B" "$TMP/lossb.pcap" "$TMP/s2"
# Duplicates and reordering, with loss on both lines (never of both copies).
for s in s1 s3; do
	"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/$s.pcap" --out "$TMP/$s.dr.pcap" --seed 5 \
		--dup 0.1 --reorder 0.1 --reorder-depth 5 --loss-a 0.05 --loss-b 0.05 \
		2>"$TMP/$s.dr.log" || fail "inject dup/reorder $s"
	check "$s: inject paired the lines by MsgSeqNum (some losses protected)" \
		grep -q 'loss-protected [1-9]' "$TMP/$s.dr.log"
	ref_same "$s, duplicates, reordering, loss on both lines" "$TMP/$s.dr.pcap" "$TMP/$s"
done
# Malformed copies, each after its good copy on the same line; then with loss on B,
# whose malformed copies come after line A's good ones.
"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/s1.pcap" --out "$TMP/mal.pcap" --seed 6 \
	--malformed 0.2 2>/dev/null || fail "inject malformed"
ref_same "s1, malformed copies" "$TMP/mal.pcap" "$TMP/s1"
"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/s3.pcap" --out "$TMP/malb.pcap" --seed 7 \
	--malformed 0.1 --loss-b 0.3 2>/dev/null || fail "inject malformed loss-b"
ref_same "s3, malformed copies and loss on line B" "$TMP/malb.pcap" "$TMP/s3"
# Loss on line A with malformed copies: where A's good copy is lost, A's malformed
# copy comes before B's good one. It cannot frame, so it does not use up the MsgSeqNum
# (fh's wire layer refuses it the same way), and B's copy is applied. A reference that
# took the first copy whatever it was would differ here.
"$FH_PCAP" inject --protocol cme-mdp3 --in "$TMP/s1.pcap" --out "$TMP/mala.pcap" --seed 9 \
	--malformed 0.2 --loss-a 0.3 2>/dev/null || fail "inject malformed loss-a"
ref_same "s1, malformed copies and loss on line A (a damaged copy first)" "$TMP/mala.pcap" "$TMP/s1"
# A malformed copy alone (its good copy lost) is not the packet: the reference then
# disagrees, so the comparison above would see one taken for the other.
# (Frames the reference cannot read as UDP of the lines are not counted here.)
python3 - "$ROOT/tests" "$TMP/mal.pcap" >"$TMP/mal.kinds" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ref_mdp3 as r
st, first, bad = r.new_stats(), {}, 0
data = open(sys.argv[2], 'rb').read()
for line, _, payload in r.line_frames(data, r.line_map(dict(r.DEFAULT_LINES)), st):
    if line.startswith('inc') and len(payload) >= 4:
        seq = int.from_bytes(payload[:4], 'little')
        bad += first.setdefault(seq, payload) != payload
print(bad)
PY
check "malformed copies carry their packet's MsgSeqNum ($(cat "$TMP/mal.kinds") read on the lines)" \
	[ "$(cat "$TMP/mal.kinds")" -gt 100 ]

# Both lines lose the same packets: with the snapshot loop every instrument recovers
# to the complete session's books; without it the reference's books differ.
n=$(drop_window "$TMP/s1.pcap" "$TMP/gap.pcap" 300 1500)
check "both lines lost $n frames" [ "$n" -gt 2000 ]
ref_same "s1, packets 300-1500 lost on both lines, snapshot loop" "$TMP/gap.pcap" "$TMP/s1"
$MREF pcap "$TMP/gap.pcap" --stats >/dev/null 2>"$TMP/gap.stats"
check "s1 gap: recovered from snapshots (52 and 53)" \
	awk '$1 == "snapshots_applied" && $2 > 0 { a = 1 } $1 == "mbo_snapshots_applied" && $2 > 0 { b = 1 }
	     END { exit !(a && b) }' "$TMP/gap.stats"
drop_window "$TMP/s2.pcap" "$TMP/gap2.pcap" 300 1500 >/dev/null
$MREF pcap "$TMP/gap2.pcap" >"$TMP/gap2.ref" 2>/dev/null
check "s2 gap without the snapshot loop: the reference's books differ from the true ones" \
	not_same "$TMP/s2.books" "$TMP/gap2.ref"

# Under ASan+UBSan (when built, as make test does): the same bytes, and no report,
# for a wide session (200 instruments, snapshot chunks) and inject's MDP3 faults.
if [ -x "$B/asan/fh-pcap" ]; then
	gen_mdp3 wide 11 6000 200 --snapshot-loop
	"$B/asan/fh-pcap" gen --protocol cme-mdp3 --seed 11 --messages 6000 --instruments 200 \
		--snapshot-loop --out "$TMP/wide.asan.pcap" --books "$TMP/wide.asan.books" \
		2>"$TMP/asan.log" || fail "asan gen"
	"$B/asan/fh-pcap" inject --protocol cme-mdp3 --in "$TMP/wide.pcap" --out "$TMP/wide.f.pcap" \
		--seed 8 --malformed 0.5 --dup 0.2 --reorder 0.2 --loss-a 0.2 2>>"$TMP/asan.log" ||
		fail "asan inject"
	check "ASan+UBSan: gen and inject report nothing" \
		bash -c "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' '$TMP/asan.log'"
	check "ASan+UBSan: the same capture and books as the plain build" \
		cmp -s "$TMP/wide.pcap" "$TMP/wide.asan.pcap" && cmp -s "$TMP/wide.books" "$TMP/wide.asan.books"
	ref_same "wide, 200 instruments" "$TMP/wide.pcap" "$TMP/wide"
fi

# Usage: MDP3 options need the protocol, ITCH options do not apply to it.
"$FH_PCAP" gen --seed 1 --messages 100 --out "$TMP/x.pcap" --books "$TMP/x.books" 2>/dev/null
check "--books without --protocol cme-mdp3: usage error" [ $? = 2 ]
"$FH_PCAP" gen --protocol cme-mdp3 --seed 1 --messages 100 --profile deep --out "$TMP/x.pcap" 2>/dev/null
check "--protocol cme-mdp3 --profile deep: usage error" [ $? = 2 ]
"$FH_PCAP" gen --protocol cme-mdp3 --seed 1 --messages 3 --instruments 8 --out "$TMP/x.pcap" 2>/dev/null
check "fewer messages than definitions: usage error" [ $? = 2 ]
finish
