#!/usr/bin/env bash
# fh-pcap reads pcapng (issue 21): `fh-pcap inject` with no fault converts a pcapng to
# a classic pcap, checked record by record (time in us, original length, bytes)
# against tshark's own conversion (wireshark's pcapng reader, independent of ours):
#  - fhd's journal of a replay (the bundled capture); replayed, the conversion gives
#    fhd the same books as the capture journaled;
#  - a crafted file of two sections, little- then big-endian, whose interfaces have
#    nanosecond, binary (2^-20 s) and default (us) resolutions and a time offset, with
#    blocks fh-pcap has no use for (name resolution, statistics, custom) in between;
#  - damaged files (cut short, a wrong trailing length, a packet of an undescribed
#    interface, longer than its block, a non-Ethernet interface, resolutions and offsets
#    beyond 64 bits, an option longer than its block, a block of 4 GiB or unaligned,
#    4097 interfaces): refused, exit 1, with the byte offset, never a crash (the ASan
#    build runs this too); a small file cut at every byte is read whole only where the
#    cut falls between blocks.
# Usage: test_fh_pcap_pcapng.sh [FH_PCAP]. Skips (77) without tshark.
source "$(dirname "$0")/lib.sh"
fh_pcap=${1:-$FH_PCAP}
command -v tshark >/dev/null || { echo "tshark not installed: skip"; exit 77; }

# records PCAP: one line per record of a classic pcap: seconds, us, original length, bytes in hex.
records() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
e = '<' if d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
ns = d[:4] in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
o = 24
while o + 16 <= len(d):
    s, frac, c, w = struct.unpack_from(e + 'IIII', d, o)
    print(s, frac // 1000 if ns else frac, w, d[o + 16:o + 16 + c].hex())
    o += 16 + c
EOF
}

# converted NAME PCAPNG: fh-pcap's and tshark's conversions of PCAPNG, record by record.
converted() {
	"$fh_pcap" inject --in "$2" --out "$TMP/$1.fh.pcap" --seed 1 >"$TMP/$1.out" 2>&1
	local rc=$?
	tshark -r "$2" -F pcap -w "$TMP/$1.tshark.pcap" 2>/dev/null
	records "$TMP/$1.fh.pcap" >"$TMP/$1.fh.txt"
	records "$TMP/$1.tshark.pcap" >"$TMP/$1.tshark.txt"
	check "$1: fh-pcap converts it (exit $rc)" [ $rc = 0 ]
	check "$1: the same $(wc -l <"$TMP/$1.tshark.txt") records as tshark's conversion (time, length, bytes)" \
		bash -c "[ -s '$TMP/$1.tshark.txt' ] && cmp -s '$TMP/$1.fh.txt' '$TMP/$1.tshark.txt'"
	diff "$TMP/$1.fh.txt" "$TMP/$1.tshark.txt" | cut -c1-100 | head -8
}

# --- fhd's journal ---
mkdir -m 0700 "$TMP/j" "$TMP/out"
"$FHD" --replay "$ROOT/pcaps/itch-faults.pcap" --journal "$TMP/j" --dump-books "$TMP/out/capture.dump" \
	>/dev/null 2>&1 || fail "fhd --journal exited non-zero"
journal=$(ls "$TMP/j"/fh-*.pcapng | head -1)
converted journal "$journal"
"$FHD" --replay "$TMP/journal.fh.pcap" --dump-books "$TMP/out/converted.dump" >/dev/null 2>&1 ||
	fail "fhd --replay of the converted journal exited non-zero"
same_file "journal: the converted journal replays to the capture's books" "$TMP/out/capture.dump" \
	"$TMP/out/converted.dump"

# --- a crafted file: two sections, each byte order, three resolutions ---
python3 - "$TMP/crafted.pcapng" "$TMP/bad" "$TMP/cuts" <<'EOF'
import os, struct, sys

def frame(n):
    """An Ethernet/IPv4/UDP frame to 233.54.12.111:26477, n bytes of payload."""
    payload = bytes((n + i) & 0xff for i in range(n))
    udp = struct.pack('>HHHH', 5000, 26477, 8 + len(payload), 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 1, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([233, 54, 12, 111]))
    return b'\x01\x00\x5e\x36\x0c\x6f' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + ip + udp

def block(e, kind, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(e + 'II', kind, n) + body + struct.pack(e + 'I', n)

def option(e, code, value):
    return struct.pack(e + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)

def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + 'IHHq', 0x1A2B3C4D, 1, 0, -1))

def idb(e, opts=b'', link=1, snap=0):
    return block(e, 1, struct.pack(e + 'HHI', link, 0, snap) + opts + (option(e, 0, b'') if opts else b''))

def epb(e, ifid, ticks, data, orig=None):
    return block(e, 6, struct.pack(e + 'IIIII', ifid, ticks >> 32, ticks & 0xffffffff, len(data),
                                   len(data) if orig is None else orig) + data)

# Times rise through the file (inject keeps them non-decreasing): each round of four
# packets, one per interface, lies in its own second, the second section 100 s later.
out = []
for e, t0 in (('<', 1577698200), ('>', 1577698300)):               # 2019-12-30 09:30 UTC
    out.append(shb(e))
    out.append(idb(e, option(e, 9, b'\x09')))                       # nanoseconds
    out.append(idb(e, option(e, 9, b'\x94')))                       # 2^-20 s
    out.append(idb(e))                                              # default: microseconds
    out.append(idb(e, option(e, 9, b'\x09') + option(e, 14, struct.pack(e + 'q', t0))))  # offset
    out.append(block(e, 4, struct.pack(e + 'HH', 1, 4) + bytes([10, 0, 0, 1]) + b'\0' * 4))  # NRB
    for i in range(6):
        out.append(epb(e, 0, (t0 + i) * 10**9 + 1000 + i * 7000, frame(40 + i)))
        out.append(epb(e, 1, ((t0 + i) << 20) + 16384 * (i + 1), frame(60 + i)))
        out.append(epb(e, 2, (t0 + i) * 10**6 + 200000 + i, frame(80 + i)))
        out.append(epb(e, 3, i * 10**9 + 500005000, frame(100 + i)))
        out.append(block(e, 0x80000BAD, b'custom'))                 # a custom block
    out.append(block(e, 5, struct.pack(e + 'III', 0, t0 >> 0, 0)))  # ISB
open(sys.argv[1], 'wb').write(b''.join(out))

# Damaged copies, each refused.
good = b''.join(out[:6])
e = '<'
bad = {
    'cut': b''.join(out)[:-7],
    'trailer': good + epb(e, 0, 1, frame(40))[:-4] + struct.pack('<I', 999),
    'interface': good + epb(e, 9, 1, frame(40)),
    'caplen': good + block(e, 6, struct.pack('<IIIII', 0, 0, 1, 5000, 5000) + frame(40)),
    'link': shb(e) + idb(e, link=113) + epb(e, 0, 1, frame(40)),
    'length': good + struct.pack('<II', 6, 13) + b'\0' * 5,
    'noshb': idb(e) + epb(e, 0, 1, frame(40)),
    'tsresol': shb(e) + idb(e, option(e, 9, b'\x7f')) + epb(e, 0, 1, frame(40)),
    'tsresol_binary64': shb(e) + idb(e, option(e, 9, b'\xc0')) + epb(e, 0, 1, frame(40)),
    'tsoffset_wraps': shb(e) + idb(e, option(e, 14, struct.pack('<q', 2**62))) + epb(e, 0, 1, frame(40)),
    'before_epoch': shb(e) + idb(e, option(e, 14, struct.pack('<q', -1))) + epb(e, 0, 1, frame(40)),
    'option_long': shb(e) + block(e, 1, struct.pack('<HHI', 1, 0, 0) + struct.pack('<HH', 9, 200) + b'\x06\0\0\0'),
    'spb_first': shb(e) + block(e, 3, struct.pack('<I', 82) + frame(40)),
    'block_huge': good + struct.pack('<II', 6, 0xfffffffc) + b'\0' * 64,
    'block_unaligned': good + struct.pack('<II', 0x99, 21) + b'\0' * 13,
    'shb_short': struct.pack('<III', 0x0A0D0D0A, 12, 0x1A2B3C4D) + struct.pack('<I', 12),
    'interfaces_4097': shb(e) + idb(e) * 4097 + epb(e, 0, 1, frame(40)),
}
os.makedirs(sys.argv[2])
for name, data in bad.items():
    open(os.path.join(sys.argv[2], name + '.pcapng'), 'wb').write(data)

# A small file cut at every byte: whole blocks read (exit 0), anything else refused.
small = [shb(e), idb(e, option(e, 9, b'\x09')), epb(e, 0, 10**18, frame(20)),
         block(e, 3, struct.pack('<I', 62) + frame(20)), block(e, 0x99, b'skip'), epb(e, 0, 10**18 + 1, frame(24))]
whole = b''.join(small)
ends = {sum(len(b) for b in small[:k]) for k in range(1, len(small) + 1)}
os.makedirs(sys.argv[3])
for cut in range(len(whole)):
    open(os.path.join(sys.argv[3], '%04d.%s.pcapng' % (cut, 'whole' if cut in ends else 'cut')), 'wb').write(whole[:cut])
EOF
converted crafted "$TMP/crafted.pcapng"
check "crafted: all 48 packets of both sections" [ "$(wc -l <"$TMP/crafted.fh.txt")" = 48 ]

for f in "$TMP"/bad/*.pcapng; do
	name=$(basename "$f" .pcapng)
	"$fh_pcap" inject --in "$f" --out "$TMP/bad-$name.pcap" --seed 1 >"$TMP/bad-$name.out" 2>&1
	rc=$?
	check "damaged ($name): refused, exit 1 ($rc: $(grep -m1 'fh-pcap: ' "$TMP/bad-$name.out"))" \
		bash -c "[ $rc = 1 ] && grep -qE 'corrupt file|not Ethernet|neither a classic pcap' '$TMP/bad-$name.out'"
done
wrong=
for f in "$TMP"/cuts/*.pcapng; do
	"$fh_pcap" inject --in "$f" --out "$TMP/cut.pcap" --seed 1 >"$TMP/cut.out" 2>&1
	rc=$?
	case "$f:$rc" in
	*.whole.pcapng:0 | *.cut.pcapng:1) grep -qE 'Sanitizer|runtime error' "$TMP/cut.out" && wrong+=" $(basename "$f")" ;;
	*) wrong+=" $(basename "$f"):$rc" ;;
	esac
done
check "cut at each of $(ls "$TMP/cuts" | wc -l) bytes: whole blocks read, the rest refused, exit 1 (wrong:${wrong:- none})" \
	[ -z "$wrong" ]
finish
