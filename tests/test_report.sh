#!/usr/bin/env bash
# fh report treats names as data: run directories and .hgrm files named with quotes,
# semicolons, newlines, backticks, $(...) and backslashes, and an output path like
# them, give a PNG, run nothing, and never reach gnuplot's script (a gnuplot wrapper
# on PATH keeps what it was given); the legend's data headers carry the run names.
# Histograms holding one distinct value, only overflow, or zeros still draw. A
# missing gnuplot and a failing one are told apart, and gnuplot's own errors shown.
# A FIFO, a device or a huge file named .hgrm is left out, never waited on or read whole.
source "$(dirname "$0")/lib.sh"

real_gnuplot=$(command -v gnuplot) || { echo "gnuplot not installed: skip"; exit 77; }
export FH_PWNED=$TMP/PWNED TMPDIR=$TMP/tmpdir
mkdir -p "$TMPDIR" "$TMP/bin" "$TMP/rec" "$TMP/work"
cat >"$TMP/bin/gnuplot" <<WRAP
#!/bin/sh
# records the script and the files beside it, then draws with the real gnuplot
n=\$(ls "$TMP/rec" | wc -l)
mkdir "$TMP/rec/\$n" && cp -- "\$1" "$TMP/rec/\$n/script.gp" && cp -- "\$(dirname -- "\$1")"/*.dat "$TMP/rec/\$n/" 2>/dev/null
exec "$real_gnuplot" "\$@"
WRAP
chmod +x "$TMP/bin/gnuplot"

"$FH_PCAP" gen --seed 5 --messages 3000 --out "$TMP/g.pcap" 2>/dev/null
"$FHD" --replay "$TMP/g.pcap" --hist-out "$TMP/work" >"$TMP/fhd.out" 2>&1 || fail "replay with --hist-out"
hgrm=$TMP/work/itch.feed_delay.hgrm
check "a run wrote $hgrm" [ -s "$hgrm" ]

# fh report's table is fhd's own (its "latency per feed" table, from hist_percentile):
# the same count, p50, p90, p99, p99.9, p99.99 and max for every feed and latency of
# the run, none marked approximate. A file stripped of the histogram it carries is
# read off its rows instead, and said so (~).
mkdir "$TMP/same" "$TMP/rows"
cp "$TMP/work"/*.hgrm "$TMP/same/"
(cd "$TMP/work" && "$B/fh" report "$TMP/same" -o "$TMP/same.png") >"$TMP/same.txt" 2>&1
python3 - "$TMP/fhd.out" "$TMP/same.txt" <<'EOF'
import re, sys
fhd, report = {}, {}
table = False
for line in open(sys.argv[1]):
    table = table or line.startswith('latency per feed')
    m = re.match(r'^  (\S+) +(\S+) +([0-9]+)((?: +[0-9.]+){6})$', line) if table else None
    if m:
        fhd[m.group(1) + '.' + m.group(2)] = [m.group(3)] + m.group(4).split()
for line in open(sys.argv[2]):
    m = re.match(r'^(\S+) +\S+ +([0-9]+)((?: +[0-9.]+){6})( ~)?$', line)
    if m:
        report[m.group(1)] = [m.group(2)] + m.group(3).split() + (['~'] if m.group(4) else [])
print('fhd:   ', fhd)
print('report:', report)
sys.exit(0 if fhd and fhd == report and len(fhd) == 4 else 1)  # the four latencies
EOF
check "fh report's table is fhd's own, every column, on the same run" [ $? = 0 ]
# The histogram's Count lines are for the files; the report fhd prints for people has
# the rows alone.
check "fhd's printed report carries no #[Count lines" bash -c "! grep -q '^#\\[Count ' '$TMP/fhd.out'"
check "... and each .hgrm file carries them" bash -c "for f in '$TMP/work'/*.hgrm; do grep -q '^#\\[Count ' \"\$f\" || exit 1; done"
for f in "$TMP/work"/*.hgrm; do grep -v '^#\[Count ' "$f" >"$TMP/rows/$(basename "$f")"; done
(cd "$TMP/work" && "$B/fh" report "$TMP/rows" -o "$TMP/rows.png") >"$TMP/rows.txt" 2>&1
check "a .hgrm without its histogram: percentiles from the rows, marked ~" \
	bash -c "[ \$(grep -c ' ~\$' '$TMP/rows.txt') = 4 ] && grep -q '^~ percentiles read off' '$TMP/rows.txt'"

# Each name ends an open quote, runs a command three ways, and adds lines of script.
inject="x'; system('touch \"\$FH_PWNED\"'); y='\`touch \"\$FH_PWNED\"\` \$(touch \"\$FH_PWNED\") \\\\ \\\" \" ; z"
nl=$'\n'
run_a="$TMP/runA $inject${nl}print 'A' ${nl}"
run_b="$TMP/runB \"; system(\"touch \$FH_PWNED\"); \\"
mkdir -p "$run_a" "$run_b"
cp "$hgrm" "$run_a/itch.$inject${nl}set output 'x'.hgrm"
cp "$hgrm" "$run_a/itch.feed_delay.hgrm"
cp "$hgrm" "$run_b/itch.feed_delay.hgrm"
out="$TMP/out $inject.png"
(cd "$TMP/work" && PATH="$TMP/bin:$PATH" "$B/fh" report "$run_a" "$run_b" -o "$out") >"$TMP/report.txt" 2>&1
rc=$?
cat "$TMP/report.txt"
check "fh report with hostile names exits 0" [ $rc = 0 ]
check "no injected command ran" [ ! -e "$FH_PWNED" ]
check "the PNG is at the hostile output path" bash -c 'head -c 8 "$1" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a"' _ "$out"
check "gnuplot ran once, through the wrapper" [ -s "$TMP/rec/0/script.gp" ]
check "a panel title is the series name reduced to [A-Za-z0-9._+-]" \
	bash -c '! grep "^set title" "$1" | grep -vE "^set title '"'"'[A-Za-z0-9._+-]*'"'"'$"' _ "$TMP/rec/0/script.gp"
check "the rest of the script holds no name: no command, quote-breaking or substitution text" \
	bash -c '! grep -v "^set title" "$1" | grep -E "system|touch|PWNED|runA|runB|\\\$\(|\`|set output .x"' _ "$TMP/rec/0/script.gp"
check "the script reads only generated data files" \
	bash -c '[ -z "$(grep -oE "'"'"'[^'"'"']*\\.dat'"'"'" "$1" | grep -vE "^'"'"'d[0-9]+\\.dat'"'"'$")" ] && grep -q "d0.dat" "$1"' _ "$TMP/rec/0/script.gp"
check "the script writes into its own directory" grep -qx "set output 'plot.png'" "$TMP/rec/0/script.gp"
check "the legend of runA is its name, from the data header" \
	bash -c 'grep -l "^x \"$1/runA x'"'"'; system(" "$2"/*.dat | grep -q .' _ "$TMP" "$TMP/rec/0"
check "the legend of runB is its name, from the data header" \
	bash -c 'grep -l "^x \"$1/runB '"'"'; system(" "$2"/*.dat | grep -q .' _ "$TMP" "$TMP/rec/0"
check "a data header is one line: newlines in names are not kept" \
	bash -c 'for f in "$1"/*.dat; do [ "$(grep -c "^x " "$f")" = 1 ] && [ "$(grep -vcE "^(x |[0-9.e+-]+ [0-9.]+$)" "$f")" = 0 ] || exit 1; done' _ "$TMP/rec/0"
check "the table shows both runs, names with control characters as ?" \
	bash -c '[ "$(grep -c "^itch\\.feed_delay " "$1")" = 2 ] && grep -q "set output" "$1"' _ "$TMP/report.txt"

# A .hgrm whose histogram lies (issue 21): each file below differs from a true one
# (5 values of 0 ns, "#[Count 0 5]") by one hostile field, which sscanf's %u/%llu or
# an unchecked max took as a histogram: an index past 2^32 (wrapped to slot 0), a
# negative count (2^64 - 1) with a total to match, a count past 2^64 (saturated), a
# sign, a max negative, NaN or past the histogram's top. Each is tabled marked ~, its
# percentiles read off its rows, never printed as fhd's; the true one is not marked.
mkdir -p "$TMP/lies"
hgrm_counted() {	# NAME MAX TOTAL COUNT-LINE: one row of 0 us, footer MAX and TOTAL, then the line
	printf '       Value     Percentile TotalCount 1/(1-Percentile)\n\n       0.000 1.000000000000 %10s\n' "$3" \
		>"$TMP/lies/itch.$1.hgrm"
	printf '#[Mean    =        0.000, StdDeviation   =        0.000]\n#[Max     = %12s, Total count    = %12s]\n%s\n' \
		"$2" "$3" "$4" >>"$TMP/lies/itch.$1.hgrm"
}
hgrm_counted true 0.000 5 '#[Count 0 5]'
hgrm_counted index_wrapped 0.000 5 '#[Count 4294967296 5]'
hgrm_counted count_negative 0.000 -1 '#[Count 0 -1]'
hgrm_counted count_saturated 0.000 18446744073709551615 '#[Count 0 99999999999999999999999]'
hgrm_counted count_signed 0.000 5 '#[Count 0 +5]'
hgrm_counted max_negative -5.000 5 '#[Count 0 5]'
hgrm_counted max_nan nan 5 '#[Count 0 5]'
hgrm_counted max_huge 1e300 5 '#[Count 0 5]'
timeout -k 5 60 "$B/fh" report "$TMP/lies" -o "$TMP/lies.png" >"$TMP/lies.txt" 2>&1
rc=$?
check "lying histograms: exit 0 ($rc)" [ $rc = 0 ]
check "... the true one tabled as fhd's (no ~)" grep -qE '^itch\.true .*[0-9]$' "$TMP/lies.txt"
for name in index_wrapped count_negative count_saturated count_signed max_negative max_nan max_huge; do
	check "... $name: marked ~, not taken as fhd's histogram" grep -qE "^itch\.$name .* ~( \*)?\$" "$TMP/lies.txt"
done

# Histograms of one distinct value, only overflow (a capture clock hours away from
# the exchange's), and zeros: each draws.
mkdir -p "$TMP/odd"
hgrm_one() {	# FILE VALUE COUNT: a histogram whose values are all VALUE (us)
	printf '       Value     Percentile TotalCount 1/(1-Percentile)\n\n%12.3f 1.000000000000 %10d\n' "$2" "$3" >"$1"
	printf '#[Mean    = %12.3f, StdDeviation   =        0.000]\n#[Max     = %12.3f, Total count    = %12d]\n' "$2" "$2" "$3" >>"$1"
	printf '#[Buckets =           26, SubBuckets     =         2048]\n' >>"$1"
}
hgrm_one "$TMP/odd/itch.feed_delay.hgrm" 68719476.735 556
hgrm_one "$TMP/odd/itch.one_value.hgrm" 42.5 10
hgrm_one "$TMP/odd/itch.zero.hgrm" 0 7
for i in 1 2 3 4; do	# nothing recorded: left out, without upsetting the others
	printf '       Value     Percentile TotalCount 1/(1-Percentile)\n\n#[Max     =        0.000, Total count    =            0]\n' \
		>"$TMP/odd/itch.empty$i.hgrm"
done
PATH="$TMP/bin:$PATH" "$B/fh" report "$TMP/odd" -o "$TMP/odd.png" >"$TMP/odd.txt" 2>&1
rc=$?
cat "$TMP/odd.txt"
check "one value, only overflow, zeros: fh report exits 0" [ $rc = 0 ]
check "... and draws a PNG" bash -c "head -c 8 '$TMP/odd.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "... and tables all three, leaving the empty ones out" \
	bash -c '[ "$(grep -cE "^itch\.(feed_delay|one_value|zero) " "$1")" = 3 ] && [ "$(grep -c "empty, left out" "$1")" = 4 ]' _ "$TMP/odd.txt"
check "... and flags the overflow in its table" grep -q "a clock problem" "$TMP/odd.txt"
check "... and gives each curve two points at least" \
	bash -c 'for f in "$1"/*.dat; do [ "$(grep -c "^[0-9]" "$f")" -ge 2 ] || exit 1; done' _ "$TMP/rec/1"

# A run directory is anyone's: a FIFO, a link to /dev/zero and a garbage file named
# *.hgrm are left out, said so, and the good histogram beside them still draws. The
# FIFO blocked the open and /dev/zero was read forever. Not timed: timeout only keeps
# a regression from hanging the suite.
mkdir -p "$TMP/hostile"
cp "$hgrm" "$TMP/hostile/itch.feed_delay.hgrm"
mkfifo "$TMP/hostile/itch.fifo.hgrm"
ln -s /dev/zero "$TMP/hostile/itch.zero.hgrm"
truncate -s 1T "$TMP/hostile/itch.sparse.hgrm"
printf ' nan 0.5 10 2\n inf 0.6 1\n -5 0.7 10 3\n 1e308 2 1 1\n#[Max     = nan, Total count    = -1]\n' \
	>"$TMP/hostile/itch.garbage.hgrm"
timeout -k 5 120 "$B/fh" report "$TMP/hostile" -o "$TMP/hostile.png" >"$TMP/hostile.txt" 2>&1
rc=$?
cat "$TMP/hostile.txt"
check "hostile run directory: exit 0 ($rc), a PNG" bash -c "[ $rc = 0 ] && [ -s '$TMP/hostile.png' ]"
check "... the FIFO and the device left out, said so" \
	bash -c '[ "$(grep -cE "itch\.(fifo|zero)\.hgrm: not a regular file, left out" "$1")" = 2 ]' _ "$TMP/hostile.txt"
check "... the sparse terabyte left out as too large" grep -q "itch.sparse.hgrm: larger than 16 MiB" "$TMP/hostile.txt"
check "... the good histogram tabled" grep -q "^itch.feed_delay " "$TMP/hostile.txt"

# 300 histograms in one run: the 256 a report takes are drawn (cairo refused the
# 84480-pixel image of 256 panels), the 44 beyond them are said, not dropped silently.
mkdir -p "$TMP/many"
for i in $(seq 300); do cp "$hgrm" "$TMP/many/f$i.feed_delay.hgrm"; done
"$B/fh" report "$TMP/many" -o "$TMP/many.png" >"$TMP/many.txt" 2>&1
check "300 histograms: exit 0 ($?), a PNG" [ -s "$TMP/many.png" ]
check "... the 44 beyond 256 said" grep -q "many: 44 .hgrm files beyond the 256 a report takes, left out" "$TMP/many.txt"

# gnuplot missing, and gnuplot failing: said as such.
mkdir -p "$TMP/nobin" "$TMP/badbin"
ln -s "$(command -v env)" "$TMP/nobin/env"
PATH="$TMP/nobin" "$B/fh" report "$TMP/odd" -o "$TMP/none.png" >"$TMP/none.txt" 2>&1
check "no gnuplot: exit 1" [ $? = 1 ]
check "no gnuplot: says it is not on PATH" grep -q "gnuplot is not on PATH" "$TMP/none.txt"
printf '#!/bin/sh\necho "gnuplot-test-error: line 3: bad thing" >&2\nexit 1\n' >"$TMP/badbin/gnuplot"
chmod +x "$TMP/badbin/gnuplot"
PATH="$TMP/badbin:$PATH" "$B/fh" report "$TMP/odd" -o "$TMP/bad.png" >"$TMP/bad.txt" 2>&1
check "gnuplot failing: exit 1" [ $? = 1 ]
check "gnuplot failing: its stderr is shown" grep -q "gnuplot-test-error: line 3: bad thing" "$TMP/bad.txt"
check "gnuplot failing: no blame on installation" bash -c "! grep -q 'is gnuplot installed' '$TMP/bad.txt'"
check "gnuplot failing: no PNG" [ ! -e "$TMP/bad.png" ]
check "no private directory left behind" [ -z "$(ls -A "$TMPDIR")" ]
finish
