#!/usr/bin/env bash
# Bad input never crashes fhd: captures of truncated, oversized, mis-counted and random
# packets replayed through the sanitizer build (ASan + UBSan, any finding aborts),
# and every bad packet shows up in the counters.
source "$(dirname "$0")/lib.sh"

FHD=$B/asan/fhd
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

"$FH_PCAP" gen --seed 3 --messages 5000 --out "$TMP/g.pcap" 2>/dev/null
"$FH_PCAP" inject --in "$TMP/g.pcap" --out "$TMP/m.pcap" --seed 3 --malformed 0.9 --dup 0.2 \
	--reorder 0.3 2>/dev/null
if fhd_replay "$TMP/m" "$TMP/m.pcap"; then
	pass "malformed capture: sanitizer build exits 0"
	$REF pcap "$TMP/m.pcap" >"$TMP/m.ref"
	same_file "malformed capture: books still equal the reference" "$TMP/m.ref" "$TMP/m.dump"
	bad=$(grep -E "^  line [AB]:|^unrouted" "$TMP/m.log" | grep -oE "(bad_frame|truncated|bad_ip|fragment|bad_udp|not_udp|not_ipv4) [0-9]+" | awk '{s+=$2} END {print s+0}')
	injected=$(python3 - "$TMP/m.pcap" "$TMP/g.pcap" <<'PY'
import struct, sys
def frames(p):
    d = open(p, 'rb').read(); at = 24; n = 0
    while at < len(d):
        incl = struct.unpack('<I', d[at+8:at+12])[0]; at += 16 + incl; n += 1
    return n
# frames added by inject beyond the clean capture and its duplicates are malformed
print(frames(sys.argv[1]))
PY
)
	check "malformed capture: bad packets counted ($bad of $injected frames)" [ "$bad" -gt 0 ]
else
	fail "malformed capture: sanitizer build failed"; tail -20 "$TMP/m.log"
fi

# The publish path under the sanitizers: the same capture with events, conflated view
# and a consumer rebuilding the books from them.
ring=fhasan$$
shm_prefixes+=($ring-)
"$FHD" --replay "$TMP/m.pcap" --publish $ring --dump-books "$TMP/mp.dump" >"$TMP/mp.log" 2>&1
check "malformed capture with publishing: sanitizer build exits 0" [ $? = 0 ]
"$B/fh" tail --ring $ring-1 --quiet --dump-books "$TMP/mp.tail" 2>/dev/null
same_file "malformed capture: books from published events equal the dump" "$TMP/mp.dump" "$TMP/mp.tail"
rm -f /dev/shm/$ring-*

# Pure garbage: random frames of random lengths, some addressed to the feed's lines.
python3 - "$TMP/r.pcap" <<'PY'
import random, struct, sys
rng = random.Random(1234)
out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
groups = [bytes([233, 54, 12, 111]), bytes([233, 49, 196, 111])]
for i in range(3000):
    kind = i % 3
    if kind == 0:      # random bytes of any length
        frame = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
    else:              # plausible headers to a line, random lengths and payload
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120)))
        if kind == 2 and len(payload) >= 20:  # a MoldUDP64 header with a random count
            payload = b'FHGEN00001' + struct.pack('>QH', rng.randint(0, 50), rng.randint(0, 65535)) + payload[20:]
        udp_len = rng.choice([8 + len(payload), rng.randint(0, 2000)])
        ip_total = rng.choice([20 + 8 + len(payload), rng.randint(0, 2000)])
        ihl = rng.choice([5, 5, 5, rng.randint(0, 15)])
        flags = rng.choice([0x4000, 0x4000, 0x2000, 0x0010])
        ip = struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, ip_total, i, flags, 64, 17, 0,
                         bytes([10, 0, 0, 1]), rng.choice(groups))
        udp = struct.pack('>HHHH', 40001, 26477, udp_len, 0)
        frame = b'\x01\x00\x5e\x36\x0c\x6f' + b'\x02' * 6 + b'\x08\x00' + ip + udp + payload
        frame = frame[:rng.choice([len(frame), rng.randint(0, len(frame))])]
    out.append(struct.pack('<IIII', 1577698200, i, len(frame), len(frame)) + frame)
open(sys.argv[1], 'wb').write(b''.join(out))
PY
if fhd_replay "$TMP/r" "$TMP/r.pcap"; then
	pass "random frames: sanitizer build exits 0"
	seen=$(grep -E "^port " "$TMP/r.log" | grep -oE "received [0-9]+" | awk '{print $2}')
	check "random frames: all 3000 received by the port (${seen:-?})" [ "${seen:-0}" = 3000 ]
	routed=$(grep -E "^  line [AB]:|^unrouted" "$TMP/r.log" | grep -oE "(packets|bad_frame|truncated|bad_ip|fragment|bad_udp|not_udp|not_ipv4|wrong_source|udp) [0-9]+" | awk '{s+=$2} END {print s+0}')
	check "random frames: every frame accounted for in the counters ($routed)" [ "$routed" = 3000 ]
else
	fail "random frames: sanitizer build failed"; tail -20 "$TMP/r.log"
fi
finish
