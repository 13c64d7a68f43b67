#!/usr/bin/env bash
# fhd's Prometheus file passes `promtool check metrics` (issue 20: fh_recovery_fill_*_ns
# and fh_recovery_lost_count broke Prometheus's naming rules), on a replay with a
# recovery section whose holes are given up on. What the RX lcores count while fhd
# runs is there, and in the stats segment `fh stat` reads, not only in the exit
# report: the book's capacity refusals (books too small for the session here), the
# snapshot counters, each line's bad_sequence and kernel_dropped, and the ports with pool_low beside
# no_mbuf. Skips (77) without promtool (Debian: prometheus).
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "promtool not installed (apt-get install prometheus): skip"; exit 77; }
seg=fh-prom-test-$$
trap 'rm -f /dev/shm/$seg; rm -rf "$TMP"' EXIT
mkdir -m 0700 "$TMP/out"
feed_yaml "{ instruments: 2, orders: 4096, levels: 64 }" \
	'recovery: { server: "127.0.0.1:9", timeout_ms: 20, retries: 0 }' >"$TMP/prom.yaml"
echo "stats: { segment: $seg, interval_ms: 100, prometheus_file: $TMP/out/fh.prom }" >>"$TMP/prom.yaml"
"$FHD" -c "$TMP/prom.yaml" --replay "$ROOT/pcaps/itch-faults.pcap" >"$TMP/fhd.out" 2>"$TMP/fhd.err"
rc=$?
check "fhd replays with a recovery section and a Prometheus file (exit $rc)" [ $rc = 0 ] || tail -5 "$TMP/fhd.err"
check "the Prometheus file is written" [ -s "$TMP/out/fh.prom" ]
promtool check metrics <"$TMP/out/fh.prom" >"$TMP/promtool.out" 2>&1
rc=$?
cat "$TMP/promtool.out"
check "promtool check metrics: no complaint (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$TMP/promtool.out' ]"
# fh_build_info names the build: fh.h's FH_VERSION_MAJOR.MINOR.PATCH (read here independently of
# fhd) and the revision `git describe` gave at build time, a commit of this repository
# (-dirty: an edited tree); fhd --version says the same.
version=$(sed -nE 's/^#define FH_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$/\2/p' "$ROOT/publish/libfh/fh.h" | paste -sd.)
info=$(grep -E '^fh_build_info\{' "$TMP/out/fh.prom")
check "fh_build_info has the Makefile's version ($info)" \
	grep -qE "^fh_build_info\{version=\"${version//./\\.}\",revision=\"[^\"]*\"\} 1$" "$TMP/out/fh.prom"
built=$(sed -nE 's/.*revision="([^"]*)".*/\1/p' <<<"$info")
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	check "fh_build_info's revision '$built' is a commit of this repository" \
		bash -c 'git -C "$1" rev-parse -q --verify "$2^{commit}" &>/dev/null' _ "$ROOT" "${built%-dirty}"
fi
check "fhd --version says the same build ($("$FHD" --version))" \
	[ "$("$FHD" --version)" = "fhd $version${built:+ ($built)}" ]
check "durations in seconds: fh_recovery_fill_last_seconds" grep -q '^fh_recovery_fill_last_seconds{feed="itch"} ' "$TMP/out/fh.prom"
refused=$(sed -nE 's/^fh_book_refused_total\{feed="itch",what="instruments"\} ([0-9]+)$/\1/p' "$TMP/out/fh.prom")
report=$(counter "$TMP/fhd.out" "  book:" instruments_full)
check "fh_book_refused_total{what=\"instruments\"} is the exit report's instruments_full ($refused = $report, > 0)" \
	bash -c "[ -n '$refused' ] && [ '$refused' = '$report' ] && [ '$refused' -gt 0 ]"
for m in 'fh_book_refused_total{feed="itch",what="orders"}' 'fh_book_refused_total{feed="itch",what="levels"}' \
	 'fh_snapshot_dropped_packets_total{feed="itch"}' 'fh_snapshot_confirmed_total{feed="itch"}' \
	 'fh_snapshot_unconfirmed_total{feed="itch"}' 'fh_bad_sequence_total{feed="itch",line="A"}' \
	 'fh_bad_sequence_total{feed="itch",line="B"}' 'fh_bad_sequence_total{feed="itch",line="recovery"}' \
	 'fh_kernel_dropped_total{feed="itch",line="A"}' 'fh_kernel_dropped_total{feed="itch",line="B"}' \
	 'fh_port_no_mbuf_total{port="itch-faults.pcap"}' 'fh_port_pool_low_total{port="itch-faults.pcap"}'; do
	check "Prometheus has $m" grep -qF "$m " "$TMP/out/fh.prom"
done
received=$(sed -nE 's/^fh_port_packets_total\{port="itch-faults.pcap"\} ([0-9]+)$/\1/p' "$TMP/out/fh.prom")
check "fh_port_packets_total is the port's received ($received)" \
	[ "$received" = "$(counter "$TMP/fhd.out" "^port " received)" ]
check "the exit report's port line has pool_low beside no_mbuf" \
	grep -qE "^port .*itch-faults.pcap: received [0-9]+  missed [0-9]+  no_mbuf [0-9]+  pool_low 0  errors [0-9]+$" "$TMP/fhd.out"
"$B/fh" stat --segment $seg >"$TMP/stat.txt" 2>&1
check "fh stat: the book's refusals ($(grep 'book refused' "$TMP/stat.txt"))" \
	grep -qE "^  book refused \(capacity\): instruments_full $report  orders_full [0-9]+  levels_full [0-9]+  \(raise feeds\[\]\.book\." "$TMP/stat.txt"
check "fh stat: bad_sequence and kernel_dropped per line" bash -c \
	"grep -qE '^  bad_sequence: A 0  B 0  recovery 0$' '$TMP/stat.txt' &&
	 grep -qE '^  kernel_dropped: A 0  B 0  recovery 0$' '$TMP/stat.txt'"
check "fh stat: a recovery: line (the feed has recovery), no snapshot: line (it has none)" \
	bash -c "grep -q '^  recovery: holes ' '$TMP/stat.txt' && ! grep -q '^  snapshot:' '$TMP/stat.txt'"
check "fh stat: the port with pool_low" \
	grep -qE "^port itch-faults.pcap: received $received  missed 0  no_mbuf 0  pool_low 0  errors 0$" "$TMP/stat.txt"
"$B/fh" stat --segment $seg --json >"$TMP/stat.json" 2>&1
check "fh stat --json: the same, as JSON" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
f = s["feeds"][0]
sys.exit(not (f["instruments_full"] == int(sys.argv[2]) and f["bad_sequence"] == {"A": 0, "B": 0, "recovery": 0}
              and f["kernel_dropped"] == {"A": 0, "B": 0, "recovery": 0}
              and "holes" in f["recovery"] and "snapshot" not in f and s["ports"][0]["pool_low"] == 0
              and s["ports"][0]["name"] == "itch-faults.pcap"))
' "$TMP/stat.json" "$report"

# Instruments per book state (issue 23): ITCH holds whole-feed states, so every
# instrument is at the feed's book_state; fh stat's text, JSON and Prometheus agree.
python3 - "$TMP/stat.txt" "$TMP/stat.json" "$TMP/out/fh.prom" <<'EOF'
import json, re, sys
text = re.search(r'^  instruments: ok ([0-9]+)  recovering ([0-9]+)  stale ([0-9]+)$', open(sys.argv[1]).read(), re.M)
feed = json.load(open(sys.argv[2]))['feeds'][0]
prom = dict(re.findall(r'^fh_instruments\{feed="itch",state="([a-z]+)"\} ([0-9]+)$', open(sys.argv[3]).read(), re.M))
states = ['ok', 'recovering', 'stale']
want = [int(text.group(i + 1)) for i in range(3)] if text else None
ok = (want is not None and [feed['instruments'][s] for s in states] == want
      and [int(prom.get(s, -1)) for s in states] == want and sum(want) > 0
      and want[states.index(feed['book_state'])] == sum(want))
print('instruments per state: text %r, JSON %r, Prometheus %r, book_state %s'
      % (want, feed.get('instruments'), prom, feed['book_state']))
sys.exit(0 if ok else 1)
EOF
check "fh stat and Prometheus: instruments per state agree, all at the feed's book_state" [ $? = 0 ]

# One vocabulary: every counter of fhd's exit report (its book_state and group lines)
# is in fh stat's text under the same word with the same value, in fh stat --json, and
# in Prometheus as fh_<group>_<word>_total (or no suffix: a gauge; _seconds for a
# duration, the report's _us or _ms). fhd stopped: all four hold the final figures.
python3 - "$TMP/fhd.out" "$TMP/stat.txt" "$TMP/stat.json" "$TMP/out/fh.prom" <<'EOF'
import json, re, sys
def groups(path):
    out = {}
    for line in open(path):
        m = re.match(r'^  (book_state [a-z]+|recovery:|snapshot:)(.*)$', line.rstrip('\n'))
        if m:
            g = 'book' if m.group(1).startswith('book_state') else m.group(1)[:-1]
            out[g] = dict((w, v) for w, v in re.findall(r'([a-z_]+) ([0-9.]+)', m.group(2)))
    return out
report, stat = groups(sys.argv[1]), groups(sys.argv[2])
feed = json.load(open(sys.argv[3]))['feeds'][0]
prom = dict(re.findall(r'^fh_([a-z_]+)\{feed="itch"\} (\S+)$', open(sys.argv[4]).read(), re.M))
bad = []
if report != stat:
    bad.append('fh stat text differs from the exit report: %r / %r' % (stat, report))
if sorted(report) != ['book', 'recovery'] or len(report['recovery']) < 10:
    bad.append('the exit report has the book and recovery groups only: %r' % sorted(report))
for g, words in report.items():
    member = feed if g == 'book' else feed.get(g, {})
    for word, value in words.items():
        unit = re.search(r'_(us|ms)$', word)
        base = word[:-3] if unit else word
        prefix = '' if g == 'book' else g + '_'
        if unit:
            scale = {'us': 1e3, 'ms': 1e6}[unit.group(1)]
            ns = member.get(base + '_ns')
            seconds = prom.get(prefix + base + '_seconds')
            if ns is None or abs(ns / scale - float(value)) > 0.051 or seconds is None \
               or abs(float(seconds) * 1e9 - ns) > 1:
                bad.append('%s %s %s: JSON %r, Prometheus %r' % (g, word, value, ns, seconds))
            continue
        names = [prefix + base + '_total', prefix + base]
        found = [prom[n] for n in names if n in prom]
        if member.get(word) != int(value) or found != [value]:
            bad.append('%s %s %s: JSON %r, Prometheus %r' % (g, word, value, member.get(word), found))
print('\n'.join(bad) or 'every counter: %d words' % sum(len(w) for w in report.values()))
sys.exit(1 if bad else 0)
EOF
check "one vocabulary: the exit report's counters are fh stat's (text, JSON) and Prometheus's" [ $? = 0 ]
finish
