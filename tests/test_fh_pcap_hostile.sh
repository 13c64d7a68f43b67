#!/usr/bin/env bash
# fh-pcap inject on hostile pcap record headers: an original length below the
# captured length (clamped, counted, and the output kept consistent), a captured
# length beyond the snapshot length or 2^31, a file cut inside a record header or
# its data, a header alone. Each ends with a clean exit status and a message,
# never an abort or a sanitizer report. --out at a symbolic link, hard link, FIFO or
# another user's file (as planted in /tmp) is refused, never written through.
# Usage: test_fh_pcap_hostile.sh [FH_PCAP].
source "$(dirname "$0")/lib.sh"
fh_pcap=${1:-$FH_PCAP}

"$fh_pcap" gen --seed 3 --messages 400 --out "$TMP/g.pcap" 2>/dev/null || fail "fh-pcap gen"
# craft KIND OUT: the generated capture with its record headers edited as KIND says.
craft() {
	python3 - "$TMP/g.pcap" "$2" "$1" <<'PY'
import struct, sys
src, dst, kind = sys.argv[1:]
d = bytearray(open(src, 'rb').read())
first = 24				# the first record header
caplen = struct.unpack_from('<I', d, first + 8)[0]
if kind == 'short_orig':		# every record claims fewer bytes on the wire than captured
    o = 24
    while o + 16 <= len(d):
        incl = struct.unpack_from('<I', d, o + 8)[0]
        struct.pack_into('<I', d, o + 12, incl // 2)
        o += 16 + incl
elif kind == 'orig_zero':
    struct.pack_into('<I', d, first + 12, 0)
elif kind == 'caplen_huge':
    struct.pack_into('<I', d, first + 8, 0x7fffffff)
elif kind == 'caplen_max':
    struct.pack_into('<I', d, first + 8, 0xffffffff)
elif kind == 'over_snaplen':		# snaplen 64, the records are longer
    struct.pack_into('<I', d, 16, 64)
elif kind == 'cut_header':
    d = d[:first + 16 + caplen + 7]
elif kind == 'cut_data':
    d = d[:first + 16 + caplen // 2]
elif kind == 'header_only':
    d = d[:24]
elif kind == 'caplen_zero':		# a record of no bytes, the others intact
    nxt = first + 16 + caplen
    d = d[:first] + struct.pack('<IIII', 1577698200, 0, 0, 60) + d[nxt:]
open(dst, 'wb').write(d)
PY
}
# inject_rc KIND: fh-pcap inject's exit status on the crafted file; output in KIND.log
inject_rc() {
	craft "$1" "$TMP/$1.pcap"
	"$fh_pcap" inject --in "$TMP/$1.pcap" --out "$TMP/$1.out.pcap" --seed 1 --loss-a 0.1 --dup 0.1 \
		--reorder 0.1 --malformed 0.1 --vlan-strip >"$TMP/$1.log" 2>&1
	echo $?
}
said() { grep -q "$2" "$TMP/$1.log" || { echo "--- $1.log:"; cat "$TMP/$1.log"; return 1; }; }
no_abort() { ! grep -qE "Assertion|AddressSanitizer|runtime error|Aborted" "$TMP/$1.log"; }

rc=$(inject_rc short_orig)
check "orig_len below caplen: exit 0 (rc $rc)" [ "$rc" = 0 ]
check "orig_len below caplen: counted and said" said short_orig "records with an original length below their captured length"
check "orig_len below caplen: output records have orig_len >= caplen" python3 - "$TMP/short_orig.out.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
o, n = 24, 0
while o + 16 <= len(d):
    incl, orig = struct.unpack_from('<II', d, o + 8)
    if orig < incl:
        sys.exit('record %d: orig %d < incl %d' % (n, orig, incl))
    o += 16 + incl
    n += 1
sys.exit(0 if n > 0 and o == len(d) else 'bad file')
PY
rc=$(inject_rc orig_zero)
check "orig_len 0 on the first record: exit 0 (rc $rc)" [ "$rc" = 0 ]
for kind in caplen_huge caplen_max over_snaplen; do
	rc=$(inject_rc $kind)
	check "$kind: exit 1 (rc $rc)" [ "$rc" = 1 ]
	check "$kind: says the record exceeds the snapshot length" said $kind "exceeds the snapshot length"
	check "$kind: no abort or sanitizer report" no_abort $kind
done
rc=$(inject_rc cut_header)
check "cut inside a record header: exit 1 (rc $rc)" [ "$rc" = 1 ]
check "cut inside a record header: said" said cut_header "truncated record header"
rc=$(inject_rc cut_data)
check "cut inside a record's data: exit 1 (rc $rc)" [ "$rc" = 1 ]
check "cut inside a record's data: said" said cut_data "truncated packet data"
rc=$(inject_rc header_only)
check "header alone: exit 0 (rc $rc)" [ "$rc" = 0 ]
check "header alone: says there are no packets" said header_only "no packets"
check "header alone: no abort" no_abort header_only
rc=$(inject_rc caplen_zero)
check "a record of 0 bytes: exit 0 (rc $rc)" [ "$rc" = 0 ]
check "a record of 0 bytes: no abort" no_abort caplen_zero

# --out in a directory others can write (/tmp): what another user left at the name
# is refused, never written through, truncated or waited on. The directory is sticky
# and world-writable, as /tmp is; the planted entries are root's stand-ins for the
# user's (the rule does not depend on who planted them).
mkdir -m 1777 "$TMP/shared"
printf 'precious\n' >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/shared/link.pcap"
ln "$TMP/victim" "$TMP/shared/hard.pcap"
mkfifo "$TMP/shared/fifo.pcap"
printf 'theirs\n' >"$TMP/shared/theirs.pcap"
chown 65534 "$TMP/shared/theirs.pcap" 2>/dev/null || rm "$TMP/shared/theirs.pcap"
for name in link hard fifo theirs; do
	[ -e "$TMP/shared/$name.pcap" ] || { echo "$name: not made (not root)"; continue; }
	for cmd in gen "gen --format itch"; do
		timeout -k 5 60 "$fh_pcap" $cmd --seed 1 --messages 50 --out "$TMP/shared/$name.pcap" 2>"$TMP/out.err"
		rc=$?
		check "--out at a planted $name ($cmd): refused, exit 1 (rc $rc)" [ $rc = 1 ]
		check "... saying why ($(head -c 120 "$TMP/out.err"))" grep -qE "refused" "$TMP/out.err"
	done
done
check "the link's and the hard link's target is untouched" [ "$(cat "$TMP/victim")" = precious ]
[ -e "$TMP/shared/theirs.pcap" ] && check "the other user's file is untouched" [ "$(cat "$TMP/shared/theirs.pcap")" = theirs ]
"$fh_pcap" gen --seed 1 --messages 50 --out "$TMP/shared/mine.pcap" 2>/dev/null &&
	"$fh_pcap" gen --seed 2 --messages 60 --out "$TMP/shared/mine.pcap" 2>/dev/null
check "one's own file there is replaced as before" [ $? = 0 ]
"$fh_pcap" gen --seed 2 --messages 60 --out "$TMP/again.pcap" 2>/dev/null
check "... by the second run's capture" cmp -s "$TMP/shared/mine.pcap" "$TMP/again.pcap"
finish
