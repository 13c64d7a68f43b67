#!/usr/bin/env bash
# The quick start, as its text gives it, from an installed tree (make install into a
# temporary PREFIX; PATH and PKG_CONFIG_PATH point there, as they would need to for
# any PREFIX but the default): copy the installed examples, make a capture with
# fh-pcap, build the C and C++ strategies with their Makefile (pkg-config alone),
# start fhd on quickstart.yaml looping the capture, `fh tail` it, run the strategies.
# One difference: fhd gets --publish with a name of this test's own instead of the
# config's fh, so that runs side by side do not meet.
#  - The C++ strategy is started before fhd: it waits and then attaches.
#  - Both see events, trades, tops, GAPs, book state changes (STALE, then OK at each
#    loop's new session), BOOK_CLEARED; they act on some tops and hold back others.
#  - fhd stopped (SIGTERM): both say so and wait; fhd started again: both reattach.
#  - Exactness: both strategies, run to fhd's stop on a finite replay of the same
#    capture, count the trades, tops, gaps, state changes and clears that
#    ref_events.py reads from the ring through ctypes, and act on exactly the tops it
#    finds OK with both sides (never on a STALE one).
source "$(dirname "$0")/lib.sh"

command -v pkg-config >/dev/null || { echo "pkg-config not installed: skip"; exit 77; }
command -v c++ >/dev/null || { echo "no C++ compiler (tools/install-deps.sh installs g++): skip"; exit 77; }
ring=fhqs$$
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats;
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
prefix=$TMP/prefix
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" LDCONFIG=true install >"$TMP/install.log" 2>&1
check "make install PREFIX=... exits 0" [ $? = 0 ] || cat "$TMP/install.log"
export PATH=$prefix/bin:$PATH PKG_CONFIG_PATH=$prefix/lib/pkgconfig
unset LD_LIBRARY_PATH
cd "$TMP" || exit 1

# --- the quick start ---
cp -r "$prefix/share/doc/fh/examples" . && cd examples || exit 1
fh-pcap gen --seed 1 --messages 100000 --symbols 20 --out session.pcap 2>"$TMP/gen.err"
fh-pcap inject --in session.pcap --out lossy.pcap --seed 1 --loss-a 0.001 2>"$TMP/inject.err"
check "fh-pcap makes the capture" [ -s lossy.pcap ]
make >"$TMP/make.log" 2>&1
check "make builds strategy and strategy-cxx with pkg-config alone" [ -x strategy -a -x strategy-cxx ] || cat "$TMP/make.log"
check "the Makefile used nothing but pkg-config's flags for fh" \
	bash -c "! grep -E '^(cc|c\+\+|g\+\+|gcc) ' '$TMP/make.log' | grep -qE -- '-I$ROOT|-L$ROOT'"
./strategy-cxx $ring-1 >"$TMP/cxx.out" 2>&1 &
pids+=($!) cxx=$!
sleep 0.5
fhd -c quickstart.yaml --replay lossy.pcap --replay-loop --publish $ring >"$TMP/fhd.log" 2>&1 &
pids+=($!) fhd=$!
for _ in $(seq 100); do grep -q "^attached" "$TMP/cxx.out" && break; sleep 0.1; done
fh tail --ring $ring-1 --count 20 >"$TMP/tail.out" 2>"$TMP/tail.err"
check "fh tail --count 20 prints 20 events" [ "$(wc -l <"$TMP/tail.out")" = 20 ] || cat "$TMP/tail.err"
./strategy $ring-1 >"$TMP/c.out" 2>&1 &
pids+=($!) c=$!
sleep 3
kill -TERM $fhd
wait $fhd
check "fhd stops on SIGTERM, exit 0" [ $? = 0 ] || tail -5 "$TMP/fhd.log"
grep -E "^fhd: packet pool|session_changes" "$TMP/fhd.log" | sed 's/^ */  /'
sleep 0.5
# fhd again, on the capture once (no loop): the strategies reattach and read it.
fhd -c quickstart.yaml --replay session.pcap --publish $ring >"$TMP/fhd2.log" 2>&1
check "fhd runs again" [ $? = 0 ]
sleep 1
kill -TERM $c $cxx
wait $c
check "strategy ends on SIGTERM, exit 0" [ $? = 0 ]
wait $cxx
check "strategy-cxx ends on SIGTERM, exit 0" [ $? = 0 ]

check "strategy-cxx, started first, waited for fhd, then attached" \
	bash -c "grep -n . '$TMP/cxx.out' | grep -m1 -q '^1:waiting for fhd: .*no such ring' &&
		 grep -q '^attached to $ring-1 (libfh ' '$TMP/cxx.out'"
# field N of the last line (the summary: N events, N trades, N tops, N lost, N acted,
# N held back, N state changes, N clears, N gaps, N restarts)
field() { tail -1 "$1" | awk -v n="$2" '{ print $n }'; }
for s in c cxx; do
	out=$TMP/$s.out
	echo "$s: $(tail -1 "$out")"
	check "$s: events, trades and tops" [ "$(field "$out" 1)" -gt 100000 -a "$(field "$out" 3)" -gt 0 -a "$(field "$out" 5)" -gt 0 ]
	check "$s: gaps, book state changes and clears" \
		[ "$(field "$out" 19)" -gt 0 -a "$(field "$out" 14)" -gt 1 -a "$(field "$out" 17)" -gt 0 ]
	check "$s: acted on some tops, held others back" [ "$(field "$out" 9)" -gt 0 -a "$(field "$out" 11)" -gt 0 ]
	check "$s: said the feed went stale, and ok again at a new session" \
		bash -c "grep -q 'book state ok -> stale' '$out' && grep -q 'book state stale -> ok' '$out' &&
			 grep -q 'books cleared (new session)' '$out' && grep -q 'messages lost from sequence' '$out'"
	check "$s: fhd stopped, it waited, then followed the restart (1 restart)" \
		bash -c "grep -q '^fhd stopped: waiting for it to restart$' '$out' && grep -q '^fhd restarted: reattaching$' '$out' &&
			 [ \"\$(grep -c '^attached to' '$out')\" = 2 ] && [ $(field "$out" 21) = 1 ]"
done

# --- exactness: a finite replay, read whole by both and by the reference reader ---
# The ring fhd left stopped above is an earlier run's: a strategy started now reads
# none of it and waits for this fhd (its events plus what it lost are this run's alone).
./strategy $ring-1 >"$TMP/late.out" 2>&1 &
pids+=($!) late=$!
for _ in $(seq 50); do grep -q "earlier fhd's ring" "$TMP/late.out" && break; sleep 0.1; done
fhd -c quickstart.yaml --replay lossy.pcap --publish $ring >"$TMP/fhd3.log" 2>&1
check "fhd replays the capture once" [ $? = 0 ]
sleep 1
kill -TERM $late
wait $late
./strategy --exit-on-stop $ring-1 >"$TMP/c3.out" 2>&1
check "strategy --exit-on-stop: exit 0" [ $? = 0 ]
./strategy-cxx --exit-on-stop $ring-1 >"$TMP/cxx3.out" 2>&1
check "strategy-cxx --exit-on-stop: exit 0" [ $? = 0 ]
python3 "$ROOT/tests/ref_events.py" ring "$prefix/lib/libfh.so.1" $ring-1 >"$TMP/ref.ring" 2>"$TMP/ref.err"
check "ref_events.py reads the ring through the installed libfh" [ $? = 0 ] || cat "$TMP/ref.err"
# What the reference reader's lines say: trades tops gaps state-changes clears acted held-back.
want=$(awk '{ t = $2 }
	t == "trade" { trades++ } t == "gap" { gaps++ } t == "book_state" { states++ } t == "cleared" { clears++ }
	t == "top" { tops++; if ($0 ~ / state [a-z]+ \|/ || $4 == "-" || $6 == "-") held++; else acted++ }
	END { printf "%d %d %d %d %d %d %d\n", trades, tops, gaps, states, clears, acted, held }' "$TMP/ref.ring")
echo "reference reader: trades tops gaps state-changes clears acted held-back = $want"
check "the reference reader sees stale tops in this replay" [ "$(echo "$want" | awk '{ print $7 }')" -gt 0 ]
for s in c3 cxx3; do
	got="$(field "$TMP/$s.out" 3) $(field "$TMP/$s.out" 5) $(field "$TMP/$s.out" 19) $(field "$TMP/$s.out" 14)"
	got="$got $(field "$TMP/$s.out" 17) $(field "$TMP/$s.out" 9) $(field "$TMP/$s.out" 11)"
	check "${s%3}: the same counts, acted and held back as the reference reader ($got)" [ "$got" = "$want" ]
	check "${s%3}: nothing lost, said fhd stopped" bash -c "[ $(field "$TMP/$s.out" 7) = 0 ] && grep -qx 'fhd stopped' '$TMP/$s.out'"
done
check "C and C++ read as many events" [ "$(field "$TMP/c3.out" 1)" = "$(field "$TMP/cxx3.out" 1)" ]
check "strategy started on an earlier fhd's stopped ring: said so, read none of it" \
	bash -c "grep -n . '$TMP/late.out' | grep -m1 -q \"^1:$ring-1 is an earlier fhd's ring, stopped: waiting for fhd to start\" &&
		 grep -q '^fhd restarted: reattaching' '$TMP/late.out'"
check "... then read the next fhd's run, all of it or lost by lapping ($(field "$TMP/late.out" 1) + $(field "$TMP/late.out" 7))" \
	[ $(($(field "$TMP/late.out" 1) + $(field "$TMP/late.out" 7))) = "$(field "$TMP/c3.out" 1)" ]
finish
