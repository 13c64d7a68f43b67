#!/usr/bin/env bash
# fhd under systemd. tools/systemd/fhd.service passes systemd-analyze verify (with its
# ExecStart pointed at the built fhd; a unit naming a missing fhd is refused, so the
# check can fail). Then fhd replays pcaps/itch-demo.pcap in a loop for 3 s with
# NOTIFY_SOCKET at a datagram socket tests/sd_notify_listener.py owns and
# WATCHDOG_USEC=400000: READY=1 arrives once, before the WATCHDOG=1 pings, which come
# about every 0.2 s (half the timeout); STOPPING=1 comes last, after the pings. Without
# WATCHDOG_USEC no ping is sent. With the RX lcore's thread held, no ping is sent. make install puts the unit in UNITDIR with ExecStart
# naming BINDIR's fhd, and make uninstall removes it.
source "$(dirname "$0")/lib.sh"

unit=$ROOT/tools/systemd/fhd.service
check "the unit says Type=notify, Restart=on-failure and a WatchdogSec" \
	bash -c "grep -qx 'Type=notify' '$unit' && grep -qx 'Restart=on-failure' '$unit' && grep -qE '^WatchdogSec=[0-9]+' '$unit'"
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/fhd|$FHD|" "$unit" >"$TMP/fhd.service"
	systemd-analyze verify --man=no "$TMP/fhd.service" >"$TMP/verify.out" 2>&1
	check "systemd-analyze verify accepts fhd.service ($(head -1 "$TMP/verify.out"))" [ $? = 0 ]
	mkdir -p "$TMP/bad"
	sed "s|/usr/local/bin/fhd|$TMP/no-such-fhd|" "$unit" >"$TMP/bad/fhd.service"
	check "systemd-analyze verify refuses a unit whose fhd is missing" \
		bash -c "! systemd-analyze verify --man=no '$TMP/bad/fhd.service' >/dev/null 2>&1"
else
	echo "systemd-analyze not installed: the unit's verify is skipped"
	skipped_verify=1
fi

# notify_run LABEL WATCHDOG_USEC: fhd replaying under a stand-in notify socket.
notify_run() {
	local label=$1 usec=$2 sock=$TMP/notify-$1.sock listener i
	python3 "$ROOT/tests/sd_notify_listener.py" "$sock" "$TMP/$label.notify" 30 &
	listener=$!
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	env NOTIFY_SOCKET="$sock" ${usec:+WATCHDOG_USEC=$usec} "$FHD" -c "$(small_config)" \
		--replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 3 >"$TMP/$label.log" 2>&1
	check "$label: fhd exits 0 ($?)" [ $? = 0 ]
	sleep 0.3
	kill "$listener" 2>/dev/null
	wait "$listener" 2>/dev/null
}

notify_run watchdog 400000
n=$TMP/watchdog.notify
check "READY=1 arrives once" [ "$(grep -c ' READY=1$' "$n")" = 1 ]
check "READY=1 comes with a STATUS line" grep -qE ' STATUS=running: [0-9]+ feed' "$n"
pings=$(grep -c ' WATCHDOG=1$' "$n")
# 3 s of pings every 0.2 s: 15; allow for a slow machine, and refuse a ping each turn.
check "WATCHDOG=1 pings about every 0.2 s ($pings in 3 s)" [ "$pings" -ge 8 -a "$pings" -le 20 ]
check "READY=1 before the first ping" \
	[ "$(grep -nE ' (READY|WATCHDOG)=1$' "$n" | head -1 | cut -d' ' -f2)" = READY=1 ]
check "STOPPING=1 arrives once, last of the states" \
	bash -c "[ \"\$(grep -cE ' STOPPING=1$' '$n')\" = 1 ] && [ \"\$(grep -E ' (READY|WATCHDOG|STOPPING)=1$' '$n' | tail -1 | cut -d' ' -f2)\" = STOPPING=1 ]"
gap=$(grep ' WATCHDOG=1$' "$n" | awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { printf "%.2f", m }')
check "no gap between pings reaches the 0.4 s timeout (largest $gap s)" awk "BEGIN { exit !($gap < 0.4) }"
check "fhd says it pings the watchdog" grep -q "watchdog: pinging every 0.2 s" "$TMP/watchdog.log"

notify_run nowatchdog ""
check "without WATCHDOG_USEC: READY=1 and STOPPING=1, no ping" \
	bash -c "grep -q ' READY=1$' '$TMP/nowatchdog.notify' && grep -q ' STOPPING=1$' '$TMP/nowatchdog.notify' &&
		! grep -q WATCHDOG '$TMP/nowatchdog.notify'"

# A wedged RX lcore stops the pings: tests/thread_stop.py holds the RX lcore's thread
# (rte-worker-1) in ptrace-stop for 1.5 s while the main lcore runs on. No ping may
# come while it is held (the largest gap spans the stop), fhd says which lcore, and
# the pings resume after it. Pinging from the control loop alone would go on every
# 0.2 s. Skipped when ptrace is not allowed here.
sock=$TMP/notify-wedged.sock
python3 "$ROOT/tests/sd_notify_listener.py" "$sock" "$TMP/wedged.notify" 30 &
listener=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 "$FHD" -c "$(small_config)" \
	--replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop --duration 4 >"$TMP/wedged.log" 2>&1 &
fhd=$!
for _ in $(seq 200); do grep -q "watchdog: pinging" "$TMP/wedged.log" && break; sleep 0.05; done
sleep 0.5
python3 "$ROOT/tests/thread_stop.py" $fhd rte-worker-1 1.5 >"$TMP/stop.out" 2>&1
stop_rc=$?
wait $fhd
rc=$?
sleep 0.3
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
if [ $stop_rc = 2 ]; then
	echo "a wedged RX lcore: not tried ($(head -1 "$TMP/stop.out"))"
else
	n=$TMP/wedged.notify
	gap=$(grep ' WATCHDOG=1$' "$n" | awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { printf "%.2f", m }')
	check "wedged: fhd exits 0 ($rc) after the RX lcore was held ($(tr '\n' ' ' <"$TMP/stop.out"))" [ $rc = 0 ]
	check "wedged: no ping while the RX lcore was held (largest gap $gap s, the stop 1.5 s)" \
		awk "BEGIN { exit !($gap >= 1.2) }"
	check "wedged: fhd names the lcore that made no progress" \
		grep -q "^fhd: RX lcore(s) 1 made no progress since the last watchdog ping: not pinging" "$TMP/wedged.log"
	check "wedged: the pings resume after it ($(grep -c ' WATCHDOG=1$' "$n") in all), and fhd says so" \
		bash -c "grep -q 'watchdog pings resume' '$TMP/wedged.log' &&
			[ \"\$(grep -E ' (WATCHDOG|STOPPING)=1$' '$n' | tail -2 | head -1 | cut -d' ' -f2)\" = WATCHDOG=1 ]"
fi

# make install and uninstall: the unit in UNITDIR, naming the installed fhd.
prefix=$TMP/prefix
printf '#!/bin/sh\n' >"$TMP/ldconfig" && chmod +x "$TMP/ldconfig"
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" LDCONFIG="$TMP/ldconfig" install >"$TMP/install.log" 2>&1
installed=$prefix/lib/systemd/system/fhd.service
check "make install puts fhd.service in PREFIX/lib/systemd/system" [ -f "$installed" ]
check "the installed unit starts BINDIR's fhd" grep -qx "ExecStart=$prefix/bin/fhd -c /etc/fh/fhd.yaml" "$installed"
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" LDCONFIG="$TMP/ldconfig" uninstall >>"$TMP/install.log" 2>&1
check "make uninstall removes it" [ ! -e "$installed" ]
[ "$failures" = 0 ] && [ -n "${skipped_verify:-}" ] && { echo "SKIP: systemd-analyze not installed (the notify checks passed)"; exit 77; }
finish
