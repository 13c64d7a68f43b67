#!/usr/bin/env bash
# test_fh_pcap: cross-checks fh-pcap output with tshark, an independent
# dissector. Checks framing (IPv4/UDP to the right groups and port, valid
# checksums), MoldUDP64 sequencing and message counts, determinism, conversion
# of the NASDAQ snippet and the zero-prefix simulated file, and that inject's
# one-line loss leaves the other line untouched. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
set -e
fh_pcap=${1:-$FH_PCAP}
snippet=$NASDAQ_SLICE
simulated=$SIMULATED
group_a=233.54.12.111
group_b=233.49.196.111
port=26477

if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark not installed"
	exit 77
fi
if [[ ! -x $fh_pcap ]]; then
	echo "FAIL: $fh_pcap not built"
	exit 1
fi
data_require

tmp=$TMP

fields() {
	tshark -r "$1" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-T fields -E separator=, "${@:2}" 2>/dev/null
}

# Walks line A's MoldUDP64 payloads (hex, one per line) and prints
# "packets messages end_seen sequence_ok": sequences must run 1..N without gaps
# and every block must fit its packet exactly.
mold_summary() {
	awk '
	function hexval(s,    i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	BEGIN { next_seq = 1; ok = 1; end = 0 }
	{
		p = $0
		seq = hexval(substr(p, 21, 16))
		count = hexval(substr(p, 37, 4))
		if (seq != next_seq)
			ok = 0
		packets++
		if (count == 65535) {
			end++
			if (length(p) != 40)
				ok = 0
			next
		}
		off = 41
		for (i = 0; i < count; i++) {
			len = hexval(substr(p, off, 4))
			off += 4 + 2 * len
		}
		if (off != length(p) + 1)
			ok = 0
		messages += count
		next_seq += count
	}
	END { printf "%d %d %d %d\n", packets, messages, end, ok }'
}

line_payloads() {
	fields "$1" -Y "ip.dst==$2" -e udp.payload
}

# check_capture FILE MESSAGES LABEL: full cross-check of a gen/convert capture.
check_capture() {
	local file=$1 messages=$2 label=$3 frames bad summary a_payloads b_payloads

	frames=$(fields "$file" -e frame.number | wc -l)
	bad=$(fields "$file" -e ip.dst -e udp.dstport -e ip.checksum.status \
		-e udp.checksum.status -e ip.flags.mf -e ip.ttl |
		awk -F, -v a=$group_a -v b=$group_b -v port=$port \
			'!(($1 == a || $1 == b) && $2 == port && $3 == 1 && $4 == 1 &&
			   $5 == 0 && $6 == 64)' | wc -l)
	[[ $bad -eq 0 ]] || fail "$label: $bad of $frames frames not valid IPv4/UDP to the groups"

	a_payloads=$(line_payloads "$file" $group_a)
	b_payloads=$(line_payloads "$file" $group_b)
	[[ "$a_payloads" == "$b_payloads" ]] || fail "$label: line A and line B payloads differ"

	summary=$(mold_summary <<<"$a_payloads")
	read -r packets got end seq_ok <<<"$summary"
	[[ $frames -eq $((2 * packets)) ]] ||
		fail "$label: $frames frames for $packets MoldUDP64 packets"
	[[ $got -eq $messages ]] || fail "$label: $got messages, expected $messages"
	[[ $end -eq 1 ]] || fail "$label: $end end-of-session packets"
	[[ $seq_ok -eq 1 ]] || fail "$label: sequence numbers or block lengths wrong"
	# A and B interleave: frame 2k-1 is A, 2k is B.
	bad=$(fields "$file" -e ip.dst | awk -v a=$group_a -v b=$group_b \
		'(NR % 2 == 1 && $1 != a) || (NR % 2 == 0 && $1 != b)' | wc -l)
	[[ $bad -eq 0 ]] || fail "$label: lines do not alternate A, B"
	pass "$label: $frames frames, $packets packets, $got messages"
}

# Usage errors exit 2, help exits 0.
"$fh_pcap" --help >/dev/null || fail "--help"
rc=0; "$fh_pcap" gen --seed 1 --messages 100 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "gen without --out exits $rc, expected 2"
rc=0; "$fh_pcap" bogus 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "unknown command exits $rc, expected 2"
rc=0; "$fh_pcap" inject --in x --out y --seed 1 --loss-a 1.5 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "bad probability exits $rc, expected 2"

# Broken input files are refused with exit 1 and no output left behind.
head -c 1000 "$snippet" >"$tmp/truncated.itch"
rc=0; "$fh_pcap" convert --in "$tmp/truncated.itch" --out "$tmp/t.pcap" 2>"$tmp/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "offset" "$tmp/err" || fail "truncated ITCH file not refused"
printf '\0\0Z' >"$tmp/unknown.itch"
rc=0; "$fh_pcap" convert --in "$tmp/unknown.itch" --out "$tmp/t.pcap" 2>/dev/null || rc=$?
[[ $rc -eq 1 ]] || fail "unknown type with zero prefix not refused"
# A cut record after a whole one (a 14-byte 'S': prefix, type, 11 bytes) is named at
# byte 14 whether the whole one's prefix says 12 or 0 (the length from its type).
for prefix in '\0\14' '\0\0'; do
	{ printf "${prefix}S"; head -c 11 /dev/zero; printf '\0\5ab'; } >"$tmp/cut.itch"
	"$fh_pcap" convert --in "$tmp/cut.itch" --out "$tmp/t.pcap" 2>"$tmp/err" || true
	grep -q "truncated record at byte offset 14:" "$tmp/err" ||
		fail "cut record after a prefix of $prefix: $(cat "$tmp/err")"
done
[[ ! -e $tmp/t.pcap ]] || fail "failed convert left its output file"

# gen: framing, counts, determinism.
messages=5000
"$fh_pcap" gen --seed 42 --messages $messages --out "$tmp/g1.pcap" 2>/dev/null
"$fh_pcap" gen --seed 42 --messages $messages --out "$tmp/g2.pcap" 2>/dev/null
"$fh_pcap" gen --seed 43 --messages $messages --out "$tmp/g3.pcap" 2>/dev/null
check_capture "$tmp/g1.pcap" $messages "gen seed 42"
cmp -s "$tmp/g1.pcap" "$tmp/g2.pcap" || fail "gen is not deterministic"
! cmp -s "$tmp/g1.pcap" "$tmp/g3.pcap" || fail "gen ignores the seed"
pass "gen determinism"

"$fh_pcap" gen --seed 5 --messages 3000 --symbols 40 --per-packet 3 --vlan 7 \
	--out "$tmp/v.pcap" 2>/dev/null
check_capture "$tmp/v.pcap" 3000 "gen vlan, 3 per packet"
bad=$(fields "$tmp/v.pcap" -e vlan.id | grep -cvx 7 || true)
[[ $bad -eq 0 ]] || fail "gen --vlan 7: $bad frames without the tag"

# convert: NASDAQ snippet (standard prefixes) and simulated file (zero prefixes).
"$fh_pcap" convert --in "$snippet" --out "$tmp/snippet.pcap" 2>/dev/null
check_capture "$tmp/snippet.pcap" 1000 "convert NASDAQ snippet"
"$fh_pcap" convert --in "$simulated" --out "$tmp/simulated.pcap" 2>/dev/null
sim_messages=$(line_payloads "$tmp/simulated.pcap" $group_a | mold_summary | cut -d' ' -f2)
[[ $sim_messages -gt 0 ]] || fail "convert simulated: no messages"
check_capture "$tmp/simulated.pcap" "$sim_messages" "convert simulated file"
"$fh_pcap" convert --in "$simulated" --limit 100 --per-packet 7 --out "$tmp/limit.pcap" 2>/dev/null
check_capture "$tmp/limit.pcap" 100 "convert --limit 100"

# inject: loss on line A only leaves line B intact and still carries all data.
count_dst() {
	fields "$1" -Y "ip.dst==$2" -e frame.number | wc -l
}
"$fh_pcap" inject --in "$tmp/g1.pcap" --out "$tmp/i1.pcap" --seed 9 --loss-a 0.3 2>/dev/null
in_a=$(count_dst "$tmp/g1.pcap" $group_a)
in_b=$(count_dst "$tmp/g1.pcap" $group_b)
out_a=$(count_dst "$tmp/i1.pcap" $group_a)
out_b=$(count_dst "$tmp/i1.pcap" $group_b)
[[ $out_b -eq $in_b ]] || fail "inject --loss-a changed line B: $in_b -> $out_b"
[[ $out_a -lt $in_a && $out_a -gt $((in_a / 2)) ]] ||
	fail "inject --loss-a 0.3: line A $in_a -> $out_a"
[[ "$(line_payloads "$tmp/i1.pcap" $group_b)" == "$(line_payloads "$tmp/g1.pcap" $group_b)" ]] ||
	fail "inject --loss-a altered line B payloads"
pass "inject loss A: line A $in_a -> $out_a, line B $in_b -> $out_b"

# inject: every fault at once is deterministic and keeps timestamps ordered.
faults=(--seed 11 --loss-a 0.2 --dup 0.1 --reorder 0.1 --malformed 0.1)
"$fh_pcap" inject --in "$tmp/g1.pcap" --out "$tmp/i2.pcap" "${faults[@]}" 2>/dev/null
"$fh_pcap" inject --in "$tmp/g1.pcap" --out "$tmp/i3.pcap" "${faults[@]}" 2>/dev/null
cmp -s "$tmp/i2.pcap" "$tmp/i3.pcap" || fail "inject is not deterministic"
bad=$(fields "$tmp/i2.pcap" -e frame.time_delta | awk '$1 < 0' | wc -l)
[[ $bad -eq 0 ]] || fail "inject output timestamps go backwards $bad times"
[[ $(count_dst "$tmp/i2.pcap" $group_b) -gt $in_b ]] ||
	fail "inject --dup/--malformed added nothing to line B"
pass "inject all faults"

if [[ $failures -ne 0 ]]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all fh-pcap checks passed"
exit 0
