#!/usr/bin/env bash
# The command-line conventions a newcomer meets first (issue 21, item 8):
#  - `--version` on fhd, fh and fh-pcap: one format, fh.h's FH_VERSION_MAJOR.MINOR.PATCH and the
#    tree's `git describe`, read here independently;
#  - fhd with no arguments says the built-in config listens on fh0 and what to do
#    instead (--replay FILE, -c CONFIG), and refuses a missing interface before DPDK;
#  - --replay-loop with too few mbufs names the mbufs value to set, not DPDK's errors;
#  - fh top: numeric options parsed strictly, no ANSI codes when stdout is not a
#    terminal, a stopped ring marked STOPPED;
#  - fh tail: exchange and receive times on every line (text and JSON), checked against
#    the capture's own records; status events with their trading state and reason,
#    checked against the capture's ITCH 'H' messages; --type takes the header's names
#    (--help lists them all); --from-now names symbols, not #KEY.
source "$(dirname "$0")/lib.sh"

ring=fhcli$$
stats=fh-cli-stats-$$
trap 'rm -f /dev/shm/$ring-* /dev/shm/$stats; rm -rf "$TMP"' EXIT

# --- --version ---
# "PROG VERSION (REVISION)": VERSION fh.h's FH_VERSION_MAJOR.MINOR.PATCH, REVISION what `git
# describe` said at build time, a commit of this repository (-dirty: built from an
# edited tree); the same text on all three, since one make built them.
version=$(sed -nE 's/^#define FH_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$/\2/p' "$ROOT/publish/libfh/fh.h" | paste -sd.)
versions=()
for prog in fhd fh fh-pcap; do
	out=$("$B/$prog" --version 2>&1)
	rc=$?
	text=${out#"$prog "}
	rev=$(sed -nE 's/^[^ ]+ \(([^)]*)\)$/\1/p' <<<"$text")
	rev=${rev%-dirty}
	check "$prog --version: '$out' is '$prog $version (REVISION)', exit 0 ($rc)" \
		bash -c '[ "$1" = 0 ] && [ "${2%% *}" = "$3" ] && [ "$4" != "$2" ]' _ $rc "$text" "$version" "$out"
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		check "$prog --version: revision '$rev' is a commit of this repository" \
			bash -c 'git -C "$1" rev-parse -q --verify "$2^{commit}" &>/dev/null' _ "$ROOT" "$rev"
	fi
	versions+=("$text")
done
check "the same version text on fhd, fh and fh-pcap (${versions[*]})" \
	bash -c '[ "$1" = "$2" ] && [ "$2" = "$3" ]' _ "${versions[@]}"

# --- fhd with no arguments ---
if ip link show fh0 >/dev/null 2>&1; then
	echo "this host has an interface fh0: the no-argument case would run; skipped"
else
	timeout 60 "$FHD" >"$TMP/noargs.out" 2>"$TMP/noargs.err"
	rc=$?
	check "fhd with no arguments exits 2 before DPDK ($rc)" [ $rc = 2 ]
	check "fhd with no arguments says the built-in config listens on fh0" \
		grep -q "built-in config, which receives one ITCH feed on the network interface fh0" "$TMP/noargs.err"
	check "fhd with no arguments suggests --replay FILE and -c CONFIG" \
		bash -c "grep -q 'fhd --replay FILE' '$TMP/noargs.err' && grep -q 'fhd -c CONFIG' '$TMP/noargs.err'"
	check "fhd with no arguments: no DPDK error (EAL never ran)" \
		bash -c "! grep -qE 'EAL|vdev_probe|rte_pmd' '$TMP/noargs.err'"
	cat "$TMP/noargs.err"
fi

# --- --replay-loop with too few mbufs ---
# A capture of more frames than the built-in config's mbufs (16383): the looping PMD
# keeps every frame in an mbuf.
"$FH_PCAP" gen --seed 3 --messages 40000 --per-packet 1 --out "$TMP/big.pcap" >/dev/null 2>&1
frames=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import ref_book
print(sum(1 for _ in ref_book.pcap_frames(open(sys.argv[2], "rb").read())))' "$ROOT/tests" "$TMP/big.pcap")
timeout 120 "$FHD" --replay "$TMP/big.pcap" --replay-loop --duration 1 >"$TMP/loop.out" 2>"$TMP/loop.err"
rc=$?
need=$(sed -nE 's/.*mbufs: expected at least ([0-9]+).*/\1/p' "$TMP/loop.err" | head -1)
check "--replay-loop of $frames frames with 16383 mbufs: refused before DPDK, exit 2 ($rc)" [ $rc = 2 ]
check "--replay-loop: it names the mbufs value to set ($need > $frames frames)" \
	bash -c "[ -n '$need' ] && [ '$need' -gt '$frames' ] && grep -q 'raise mbufs to $need' '$TMP/loop.err' &&
		 grep -q -- '--replay-loop keeps all $frames frames' '$TMP/loop.err'"
check "--replay-loop: no DPDK error, no ring message" bash -c "! grep -qE 'Not enough mbufs|RING:' '$TMP/loop.err'"
cat "$TMP/loop.err"
# The value it names is enough: the same loop with mbufs set to it runs.
"$FHD" --print-default-config | sed -E "s/^mbufs: [0-9]+/mbufs: $need/" >"$TMP/loop.yaml"
timeout 120 "$FHD" -c "$TMP/loop.yaml" --replay "$TMP/big.pcap" --replay-loop --duration 1 >"$TMP/loop2.out" 2>"$TMP/loop2.err"
rc=$?
check "--replay-loop with mbufs: $need runs (exit $rc)" [ $rc = 0 ] || tail -5 "$TMP/loop2.err"

# --- strict numbers ---
for args in "top --rows abc" "top --rows 5x" "top --rows -1" "top --interval-ms ''" "top --interval-ms 0" \
	    "tail --count abc" "tail --slow-us 1e3" "stat --watch abc"; do
	eval "\"$B/fh\" $args" >"$TMP/num.out" 2>"$TMP/num.err"
	rc=$?
	check "fh $args: a usage error (exit $rc: $(head -1 "$TMP/num.err"))" \
		bash -c "[ $rc = 2 ] && grep -q 'wants a whole number' '$TMP/num.err'"
done

# --- a published session, read after fhd stopped ---
pub_yaml "$ring" 65536 5 >"$TMP/pub.yaml"
"$FHD" -c "$TMP/pub.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/pub.out" 2>"$TMP/pub.err"
check "fhd publishes itch-demo.pcap (exit $?)" [ -e /dev/shm/$ring-1 ]
"$B/fh" tail --ring $ring-1 >"$TMP/tail.txt" 2>"$TMP/tail.err"
"$B/fh" tail --ring $ring-1 --json >"$TMP/tail.json" 2>>"$TMP/tail.err"
check "fh tail: text and JSON have a line per event ($(wc -l <"$TMP/tail.txt"))" \
	bash -c "[ \$(wc -l <'$TMP/tail.txt') = \$(wc -l <'$TMP/tail.json') ] && [ \$(wc -l <'$TMP/tail.txt') -gt 1000 ]"
python3 - "$ROOT/tests" "$ROOT/pcaps/itch-demo.pcap" "$TMP/tail.json" "$TMP/tail.txt" >"$TMP/times.out" 2>&1 <<'EOF'
import json, struct, sys
sys.path.insert(0, sys.argv[1])
import ref_book

# The capture's own records: their times, and its ITCH Stock Trading Action ('H')
# messages, once per sequence number (lines A and B carry the same ones).
data = open(sys.argv[2], 'rb').read()
assert data[:4] == b'\xd4\xc3\xb2\xa1', 'a little-endian microsecond pcap'
times, off = set(), 24
while off + 16 <= len(data):
    sec, usec, caplen = struct.unpack_from('<III', data, off)
    times.add((sec * 1000000 + usec) * 1000)
    off += 16 + caplen
status, seen = [], set()
for _, frame in ref_book.pcap_frames(data):
    udp = ref_book.udp_of(frame)
    mold = udp and ref_book.mold_parse(udp[3])
    if not mold:
        continue
    session, seq, msgs = mold
    for i, m in enumerate(msgs):
        if seq + i in seen:
            continue
        seen.add(seq + i)
        if m[:1] == b'H':
            ts = int.from_bytes(m[5:11], 'big')
            status.append((m[11:19].decode().rstrip(), chr(m[19]), m[21:25].decode().rstrip(), ts))

names = {'H': 'halted', 'P': 'paused', 'Q': 'quotation_only', 'T': 'trading'}
events = [json.loads(l) for l in open(sys.argv[3])]
texts = open(sys.argv[4]).read().splitlines()
bad = 0
for e, t in zip(events, texts):
    if 'exchange_ts_ns' not in e or 'rx_ts_ns' not in e:
        print('no times:', e); bad += 1; break
    words = t.split()
    if words[-4] != 'exch' or words[-2] != 'rx':
        print('text line without its times:', t); bad += 1; break
    # the text's times are the JSON's, as time of day (UTC for the capture's)
    for word, ns in ((words[-3], e['exchange_ts_ns']), (words[-1], e['rx_ts_ns'])):
        s = ns // 10**9 % 86400
        want = '-' if ns == 0 else '%02d:%02d:%02d.%09d' % (s // 3600, s // 60 % 60, s % 60, ns % 10**9)
        if word != want:
            print('text time %s, JSON %d (%s): %s' % (word, ns, want, t)); bad += 1; break
    if e['type'] in ('order_added', 'level', 'trade', 'top', 'status', 'instrument'):
        if e['rx_ts_ns'] not in times:
            print('rx_ts_ns %d is no record time of the capture: %s' % (e['rx_ts_ns'], e)); bad += 1
        if not 0 < e['exchange_ts_ns'] < 86400 * 10**9:
            print('exchange_ts_ns out of the day: %s' % e); bad += 1
    if bad > 5:
        break
got = [(e['symbol'], e['trading_state'], e['reason'], e['exchange_ts_ns'])
       for e in events if e['type'] == 'status']
want = [(s, names.get(st, '?'), r, ts) for s, st, r, ts in status]
print('%d status messages in the capture, %d status events' % (len(want), len(got)))
if got != want or not want:
    print('status events differ from the capture:', got[:3], want[:3]); bad += 1
text_status = [t for t in texts if ' status ' in t]
if len(text_status) != len(got) or not all(' trading_state ' in t and ' reason ' in t for t in text_status):
    print('text status lines lack the state or reason:', text_status[:2]); bad += 1
sys.exit(1 if bad else 0)
EOF
rc=$?
cat "$TMP/times.out"
check "fh tail: exchange and receive times on every line, text and JSON, the capture's times" [ $rc = 0 ]
check "fh tail: status events carry the capture's trading state and reason" \
	bash -c "[ $rc = 0 ] && grep -q 'status messages in the capture' '$TMP/times.out'"

# --type by the header's names, and --help lists them all
for t in $(sed -nE 's/^\s*FH_EVENT_([A-Z_]+) = [0-9]+,.*/\1/p' "$ROOT/publish/libfh/fh_event.h" | grep -v '^NONE$'); do
	"$B/fh" tail --help | grep -qE "^\s+$t\s" || fail "fh tail --help does not list $t"
done
levels=$(grep -c '^[0-9]* level ' "$TMP/tail.txt")
"$B/fh" tail --ring $ring-1 --type LEVEL_CHANGED >"$TMP/levels.txt" 2>/dev/null
check "fh tail --type LEVEL_CHANGED: the $levels level events ($(wc -l <"$TMP/levels.txt"))" \
	bash -c "[ $levels -gt 0 ] && [ \$(wc -l <'$TMP/levels.txt') = $levels ] && ! grep -vq '^[0-9]* level ' '$TMP/levels.txt'"
"$B/fh" tail --ring $ring-1 --type FH_EVENT_TRADING_STATUS >"$TMP/status.txt" 2>/dev/null
check "fh tail --type FH_EVENT_TRADING_STATUS: the status events" \
	[ "$(wc -l <"$TMP/status.txt")" = "$(grep -c '^[0-9]* status ' "$TMP/tail.txt")" ]
"$B/fh" tail --ring $ring-1 --type LEVEL >/dev/null 2>"$TMP/type.err"
rc=$?
check "fh tail --type LEVEL (no such name): exit 2 ($rc), pointing at --help" \
	bash -c "[ $rc = 2 ] && grep -q 'fh tail --help lists them' '$TMP/type.err'"

# fh top on a stopped ring, stdout a file: marked STOPPED, no escape sequence
timeout 5 "$B/fh" top --ring $ring-1 --interval-ms 100 >"$TMP/top.txt" 2>&1
check "fh top, stdout not a terminal: no ANSI escape sequence" bash -c "! grep -q $'\x1b' '$TMP/top.txt'"
check "fh top, stdout not a terminal: tables one after another ($(grep -c '^fh top' "$TMP/top.txt"))" \
	[ "$(grep -c '^fh top' "$TMP/top.txt")" -gt 1 ]
check "fh top on a ring fhd stopped: marked STOPPED" grep -q "^fh top  ring $ring-1  STOPPED" "$TMP/top.txt"
"$B/fh" top --ring $ring-1 --once >"$TMP/top1.txt" 2>&1
check "fh top --once on a stopped ring: STOPPED too, and symbols" \
	bash -c "grep -q 'STOPPED' '$TMP/top1.txt' && grep -qE '^itch +GENA ' '$TMP/top1.txt'"

# fh stat of a feed without recovery: its book state, no recovery: or snapshot: line
"$B/fh" stat --segment $ring-stats >"$TMP/stat.txt" 2>&1
check "fh stat, no recovery configured: a book_state line, no recovery: or snapshot: line" \
	bash -c "grep -q '^  book_state ok  losses 0 ' '$TMP/stat.txt' && ! grep -qE '^  (recovery|snapshot):' '$TMP/stat.txt'"
"$B/fh" stat --segment $ring-stats --json >"$TMP/stat.json" 2>&1
check "fh stat --json, no recovery configured: no recovery or snapshot object" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))["feeds"][0]
sys.exit(not (f["book_state"] == "ok" and f["losses"] == 0 and "recovery" not in f and "snapshot" not in f))' "$TMP/stat.json"

# --- fh tail --from-now on a running fhd: symbols, not #KEY ---
"$FHD" -c "$TMP/pub.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 30 >"$TMP/live.out" 2>&1 &
fhd=$!
for _ in $(seq 100); do
	grep -q "^fhd: running" "$TMP/live.out" && break
	sleep 0.1
done
sleep 1
timeout 20 "$B/fh" tail --ring $ring-1 --from-now --count 3000 >"$TMP/now.txt" 2>"$TMP/now.err"
timeout 20 "$B/fh" top --ring $ring-1 --once >"$TMP/top2.txt" 2>&1
# fh stat --watch: a report a second until interrupted (exit 0), stdout a file: no escapes
timeout --preserve-status -s INT 2.5 "$B/fh" stat --segment $ring-stats --watch >"$TMP/watch.txt" 2>&1
rc=$?
timeout --preserve-status -s INT 2.5 "$B/fh" stat --segment $ring-stats --watch 2 --json >"$TMP/watch.json" 2>&1
rc2=$?
kill -INT $fhd 2>/dev/null
wait $fhd
unnamed=$(grep -cE '^[0-9]+ (order_[a-z]+|level|trade|top|status) [^ ]+ #[0-9]+ ' "$TMP/now.txt")
named=$(grep -cE '^[0-9]+ (order_[a-z]+|level|trade|top) [^ ]+ [A-Z]+ ' "$TMP/now.txt")
# A lap (the machine loaded: fh tail descheduled while fhd loops the capture) skips
# INSTRUMENT_DEFINED events the view may not hold yet: the #KEY count holds for an
# unlapped read, which is what --from-now promises.
if grep -q lapped "$TMP/now.err"; then
	echo "note: fh tail was lapped ($(grep -c lapped "$TMP/now.err") laps): #KEY not counted"
	unnamed=0
fi
check "fh tail --from-now: instrument events name their symbol ($named named, $unnamed as #KEY)" \
	bash -c "[ $named -gt 100 ] && [ $unnamed = 0 ]"
reports=$(grep -c '^fhd pid' "$TMP/watch.txt")
check "fh stat --watch: a report each second ($reports in 2.5 s), exit 0 on SIGINT ($rc)" \
	bash -c "[ $rc = 0 ] && [ $reports -ge 2 ] && [ $reports -le 4 ] && ! grep -q $'\x1b' '$TMP/watch.txt'"
check "fh stat --watch 2 --json: JSON lines, every 2 s ($(wc -l <"$TMP/watch.json") in 2.5 s, exit $rc2)" \
	bash -c "[ $rc2 = 0 ] && [ \$(wc -l <'$TMP/watch.json') = 2 ] &&
		 python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' '$TMP/watch.json'"
check "fh top on a running ring: not marked STOPPED" bash -c "grep -q '^fh top  ring' '$TMP/top2.txt' && ! grep -q STOPPED '$TMP/top2.txt'"
finish
