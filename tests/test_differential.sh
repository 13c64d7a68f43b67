#!/usr/bin/env bash
# Differential test: generated sessions (several seeds and sizes) with per-line faults
# (loss on one line, duplicates, reordering, malformed packets) replayed through fhd;
# every dump must equal the independent reference book (tests/ref_book.py). Seeds are
# printed; FH_SEEDS="..." reruns chosen ones.
source "$(dirname "$0")/lib.sh"

seeds=${FH_SEEDS:-"11 22 33 44"}
for seed in $seeds; do
	messages=$((20000 + seed * 500))
	symbols=$((seed % 7 * 10 + 3))
	"$FH_PCAP" gen --seed "$seed" --messages "$messages" --symbols "$symbols" --out "$TMP/s$seed.pcap" 2>/dev/null
	declare -A variants=(
		[clean]=""
		[loss-a]="--loss-a 0.2"
		[loss-b-dup-reorder]="--loss-b 0.3 --dup 0.1 --reorder 0.2 --reorder-depth 3"
		[all-faults]="--loss-a 0.1 --dup 0.05 --reorder 0.1 --malformed 0.1"
	)
	for v in clean loss-a loss-b-dup-reorder all-faults; do
		pcap=$TMP/s$seed-$v.pcap
		if [ -z "${variants[$v]}" ]; then
			cp "$TMP/s$seed.pcap" "$pcap"
		else
			# shellcheck disable=SC2086
			"$FH_PCAP" inject --in "$TMP/s$seed.pcap" --out "$pcap" --seed "$seed" ${variants[$v]} 2>/dev/null
		fi
		$REF pcap "$pcap" >"$TMP/ref"
		if ! fhd_replay "$TMP/out" "$pcap"; then
			fail "seed $seed $v: fhd exited non-zero"; tail -5 "$TMP/out.log"; continue
		fi
		same_file "seed $seed $v ($messages messages, $symbols symbols): dump equals reference" "$TMP/ref" "$TMP/out.dump"
		check "seed $seed $v: all $messages messages applied, no gap" \
			[ "$(counter "$TMP/out.log" "^  messages" messages)" = "$messages" -a "$(counter "$TMP/out.log" "gaps" gaps)" = 0 ]
	done
done

# Loss on both lines: real gaps. Every applied message once; gaps counted and logged.
"$FH_PCAP" gen --seed 5 --messages 20000 --out "$TMP/g.pcap" 2>/dev/null
python3 - "$TMP/g.pcap" "$TMP/both.pcap" <<'PY'
import struct, sys
# Drop MoldUDP64 packets with seq in [1000, 1100) from both lines: a hole no line fills.
data = open(sys.argv[1], 'rb').read()
out = [data[:24]]; at = 24
while at < len(data):
    incl = struct.unpack('<I', data[at+8:at+12])[0]
    frame = data[at+16:at+16+incl]
    seq = struct.unpack('>Q', frame[42+10:42+18])[0] if len(frame) >= 62 else 0
    if not (1000 <= seq < 1100):
        out.append(data[at:at+16+incl])
    at += 16 + incl
open(sys.argv[2], 'wb').write(b''.join(out))
PY
$REF pcap "$TMP/both.pcap" >"$TMP/both.ref"
fhd_replay "$TMP/both" "$TMP/both.pcap" || fail "both-lines loss: fhd exited non-zero"
same_file "both-lines loss: dump equals reference (gaps skipped)" "$TMP/both.ref" "$TMP/both.dump"
check "both-lines loss: gap counted" [ "$(counter "$TMP/both.log" "gaps" gaps)" -ge 1 ]
check "both-lines loss: gap range logged" grep -q "gap: seq" "$TMP/both.log"
finish
