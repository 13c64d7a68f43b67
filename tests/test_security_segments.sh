#!/usr/bin/env bash
# Shared-memory segments against another local user and against a second fhd
# (issue 9 S3, L1, L2). Needs root and a throwaway user (useradd); skips (77) without.
#  - the user squats the ring, the conflated view, the stats segment (0666, keeping a
#    descriptor), or leaves a FIFO: fhd refuses before starting, naming the owner,
#    and leaves the file as it was;
#  - fhd's own stale segment is replaced by a new inode; a descriptor kept on the old
#    one sees nothing of the new run; fhd's own stale FIFO is removed without blocking;
#  - while fhd runs, the user can neither truncate nor write any of its segments;
#  - a second fhd on a live ring, or on a live stats segment, is refused naming the
#    first's pid; the first's consumer sees no restart, no lap;
#  - a reader that takes a stopped ring's lock into a set-uid-root program (passwd
#    waiting for a password: euid 0, the user's real uid) does not keep the next fhd out;
#  - the user makes the per-run stats name (fh-stats-<pid>) of the fhd about to start:
#    it runs on an unguessable name, swept once killed; decoys named like stats
#    segments, with escape sequences, are neither chosen nor printed by fh stat;
#  - two fhd side by side (root and root, root and the user) both run to the end, each
#    with its own stats segment, even with an XDG_RUNTIME_DIR the user cannot write;
#    what a killed one leaves under per-run names is swept by the next, a live one's not.
# fs.protected_regular: tested here at this machine's value; test_shm_segment tests
# the segment code at 0, 1 and 2.
source "$(dirname "$0")/lib.sh"

FH=${FH:-$B/fh}
PCAP=$ROOT/pcaps/itch-demo.pcap
n=fhsec$$
user=fhtest-seg$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f /dev/shm/$n-* /dev/shm/${n}b-* /dev/shm/${n}c-*
	userdel "$user" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! useradd -M -r "$user" 2>/dev/null; then
	echo "skip: needs root and useradd for a second user"
	exit 77
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
echo "fs.protected_regular = $(cat /proc/sys/fs/protected_regular 2>/dev/null || echo absent)"

# fhd with a guard against hanging on a FIFO (a hang fails the test; no timing is judged).
fhd_run() { timeout 300 "$FHD" "$@"; }
refused() { [ "$1" != 0 ] && [ "$1" != 124 ]; }
not_started() { ! grep -q "fhd: running" "$1"; }
not_in() { ! grep -q "$1" "$2"; }

# --- S3: squatted segments are refused, naming the owner ---
for seg in 1 1-top stats; do
	f=/dev/shm/$n-$seg
	as_user sh -c "umask 0; : >$f; chmod 666 $f"
	# The user keeps a descriptor on it (setpriv execs, so $! is that process).
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- sh -c "exec 3<>$f; exec sleep 600" \
		>/dev/null 2>&1 &
	holder=$!
	pids+=($holder)
	fhd_run --replay "$PCAP" --publish $n >"$TMP/squat-$seg.out" 2>"$TMP/squat-$seg.err"
	rc=$?
	grep -E "belongs|in use" "$TMP/squat-$seg.err"
	check "squatted $n-$seg: fhd refuses it (exit $rc)" refused $rc
	check "squatted $n-$seg: the refusal names the owner" \
		grep -q "/dev/shm/$n-$seg belongs to uid $uid ($user)" "$TMP/squat-$seg.err"
	check "squatted $n-$seg: refused before start" not_started "$TMP/squat-$seg.err"
	check "squatted $n-$seg: the user's file is untouched (owner, mode, size 0)" \
		[ "$(stat -c '%u %a %s' $f)" = "$uid 666 0" ]
	kill $holder 2>/dev/null
	rm -f /dev/shm/$n-*
done
as_user mkfifo -m 666 /dev/shm/$n-1
fhd_run --replay "$PCAP" --publish $n >/dev/null 2>"$TMP/fifo.err"
rc=$?
check "the user's FIFO at $n-1: refused without blocking (exit $rc)" refused $rc
check "the user's FIFO: the refusal names the owner" grep -q "belongs to uid $uid ($user)" "$TMP/fifo.err"
rm -f /dev/shm/$n-*

# --- S3: fhd's own stale segment becomes a new inode; an old descriptor sees nothing new ---
fhd_run --replay "$PCAP" --publish $n >/dev/null 2>"$TMP/first.err"
check "first run exits 0" [ $? = 0 ]
ino_before=$(stat -c %i /dev/shm/$n-1)
exec 7</dev/shm/$n-1
sum_before=$(sha1sum </dev/fd/7 | cut -c1-40)
rm -f /dev/shm/$n-1-top
mkfifo -m 600 /dev/shm/$n-1-top	# fhd's own leftover FIFO: removed, never opened
fhd_run --replay "$PCAP" --publish $n >/dev/null 2>"$TMP/second.err"
rc=$?
check "second run over its own stale segments exits 0 (rc $rc)" [ $rc = 0 ]
ino_after=$(stat -c %i /dev/shm/$n-1)
check "the stale ring was replaced by a new inode ($ino_before -> $ino_after)" [ "$ino_before" != "$ino_after" ]
check "the stale FIFO was replaced by a segment" test -f /dev/shm/$n-1-top -a ! -p /dev/shm/$n-1-top
check "a descriptor kept from before reaches the old inode only" [ "$(stat -L -c %i /dev/fd/7)" = "$ino_before" ]
check "... which the new run left unchanged" [ "$(sha1sum </proc/$$/fd/7 | cut -c1-40)" = "$sum_before" ]
check "... while the new ring differs from it" [ "$(sha1sum </dev/shm/$n-1 | cut -c1-40)" != "$sum_before" ]
exec 7<&-
rm -f /dev/shm/$n-*

# --- L1: a second fhd on a live ring or stats segment is refused ---
{
	pub_yaml $n 4096 10 0640 "{ instruments: 256, orders: 4096, levels: 256 }"
	echo "stats: { segment: $n-st, interval_ms: 200 }"
} >"$TMP/live.yaml"
sed "s/ring: $n,/ring: ${n}b,/" "$TMP/live.yaml" >"$TMP/live-b.yaml"
"$FHD" -c "$TMP/live.yaml" >"$TMP/live.out" 2>"$TMP/live.err" &
first=$!
pids+=($first)
"$FH" tail --ring $n-1 --wait --quiet 2>"$TMP/consumer.err" &
consumer=$!
pids+=($consumer)
for _ in $(seq 600); do grep -q "fhd: running" "$TMP/live.err" && break; sleep 0.1; done
check "the first fhd is running" grep -q "fhd: running" "$TMP/live.err"
fhd_run -c "$TMP/live.yaml" --duration 3 >/dev/null 2>"$TMP/dup.err"
rc=$?
grep "in use" "$TMP/dup.err"
check "a second fhd on the live ring is refused (exit $rc)" refused $rc
check "... naming the first's pid" grep -q "/$n-1.* is in use by a running fhd (pid $first)" "$TMP/dup.err"
check "... before start" not_started "$TMP/dup.err"
fhd_run -c "$TMP/live-b.yaml" --duration 3 >/dev/null 2>"$TMP/dupstats.err"
rc=$?
grep "in use" "$TMP/dupstats.err"
check "another ring but the live stats segment: refused (exit $rc)" refused $rc
check "... naming the first's pid" grep -q "stats segment /$n-st is in use by a running fhd (pid $first)" "$TMP/dupstats.err"

# --- S3: the user cannot truncate or write the live segments ---
for seg in 1 1-top st; do
	f=/dev/shm/$n-$seg
	size=$(stat -c %s $f)
	as_user truncate -s 0 $f 2>"$TMP/trunc.err"
	rc=$?
	cat "$TMP/trunc.err"
	check "the user cannot truncate $n-$seg (exit $rc)" grep -q "Permission denied" "$TMP/trunc.err"
	as_user sh -c "printf PWNED 1<>$f" 2>/dev/null
	check "the user cannot write $n-$seg" [ $? != 0 ]
	check "$n-$seg is root's, mode 0640 or 0644, size unchanged" \
		grep -qE "^0 64[04] $size$" <<<"$(stat -c '%u %a %s' $f)"
done
kill -INT $first
wait $first
check "the first fhd ends cleanly (no SIGBUS) with exit 0" [ $? = 0 ]
wait $consumer
check "its consumer exits 0" [ $? = 0 ]
cat "$TMP/consumer.err"
check "its consumer saw no restart" not_in "restarted" "$TMP/consumer.err"
check "its consumer was never lapped" grep -q " 0 lost in 0 laps" "$TMP/consumer.err"
rm -f /dev/shm/$n-* /dev/shm/${n}b-*

# --- A reader cannot pin the name by taking the lock into a set-uid-root program ---
# The user can read the ring (mode 0644), waits for the lock fhd holds, and once fhd
# has stopped takes it and execs passwd in a pseudo-terminal: passwd waits for a
# password with euid 0 (so /proc/PID is root's) but keeps the user's real uid, and the
# descriptor with its lock. The next fhd must not take that for a running fhd.
passwd=$(command -v passwd)
user_python=/usr/bin/python3	# the user's own PATH may reach no python (root's pyenv)
if [ -n "$passwd" ] && [ -u "$passwd" ] && [ "$(stat -c %u "$passwd")" = 0 ] &&
	as_user "$user_python" -c "import pty" 2>/dev/null; then
	sed "s/ring: $n,/ring: ${n}c,/; s/mode: \"0640\"/mode: \"0644\"/; s/segment: $n-st/segment: ${n}c-st/" \
		"$TMP/live.yaml" >"$TMP/pin.yaml"
	cat >"$TMP/pin.py" <<'PY'
import fcntl, os, pty, sys
pid, master = pty.fork()
if pid == 0:
	fd = os.open(sys.argv[1], os.O_RDONLY)
	os.set_inheritable(fd, True)
	fcntl.flock(fd, fcntl.LOCK_EX)	# blocks while fhd runs
	os.execv(sys.argv[2], [sys.argv[2]])
print(pid, flush=True)
try:
	while os.read(master, 256):
		pass
except OSError:
	pass
PY
	"$FHD" -c "$TMP/pin.yaml" --duration 2 >/dev/null 2>"$TMP/pin1.err" &
	pin_fhd=$!
	pids+=($pin_fhd)
	for _ in $(seq 600); do grep -q "fhd: running" "$TMP/pin1.err" && break; sleep 0.1; done
	as_user "$user_python" - /dev/shm/${n}c-1 "$passwd" <"$TMP/pin.py" >"$TMP/pin.pid" 2>&1 &
	pids+=($!)
	wait $pin_fhd
	ino=$(stat -c %i /dev/shm/${n}c-1)
	for _ in $(seq 300); do grep -q "FLOCK .*WRITE .*:$ino " /proc/locks && break; sleep 0.1; done
	holder=$(head -1 "$TMP/pin.pid")
	if [[ $holder =~ ^[0-9]+$ ]]; then
		pids+=($holder)
		grep "Uid" /proc/$holder/status
		check "the user's set-uid program holds the stopped ring's lock with euid 0" \
			grep -qE "^Uid:[[:space:]]+$uid[[:space:]]+0[[:space:]]" /proc/$holder/status
		check "... (the kernel says so)" grep -q "FLOCK .*WRITE *$holder .*:$ino " /proc/locks
		fhd_run -c "$TMP/pin.yaml" --duration 1 >/dev/null 2>"$TMP/pin2.err"
		rc=$?
		grep -E "in use|locked|replacing" "$TMP/pin2.err"
		check "the next fhd starts anyway (exit $rc)" [ $rc = 0 ]
		check "... saying the lock is no running fhd's" grep -q "locked, but by no running fhd" "$TMP/pin2.err"
		check "... and the name is a new inode" [ "$(stat -c %i /dev/shm/${n}c-1)" != "$ino" ]
		kill $holder 2>/dev/null
	else
		fail "the user's lock holder did not start: $holder"
	fi
	rm -f /dev/shm/${n}c-*
else
	echo "no set-uid-root passwd, or no $user_python for the user: the pinned-lock case is not tried"
fi

# --- Names the user makes in advance: this run's stats name, decoys for fh stat ---
# fh-stats-<pid> is predictable: the user makes the one of the fhd about to start
# (the shell's pid, which exec keeps). fhd takes an unguessable name instead, leaves
# the user's file alone, and the next fhd sweeps that name when its fhd was killed.
timeout 300 sh -c 'setpriv --reuid="$2" --regid="$3" --clear-groups -- touch /dev/shm/fh-stats-$$
	echo $$ >"$4"; exec "$0" --replay "$1"' "$FHD" "$PCAP" "$uid" "$gid" "$TMP/squat.pid" \
	>/dev/null 2>"$TMP/squat-run.err"
rc=$?
squat_pid=$(cat "$TMP/squat.pid")
grep "stats segment" "$TMP/squat-run.err"
check "the user made fh-stats-$squat_pid first" [ "$(stat -c %u /dev/shm/fh-stats-$squat_pid)" = "$uid" ]
check "fhd with its per-run stats name taken still runs (exit $rc)" [ $rc = 0 ]
check "... on an unguessable name" grep -qE "using fh-stats-$squat_pid-[0-9a-f]{16} instead" "$TMP/squat-run.err"
check "... removed at exit" [ -z "$(ls /dev/shm | grep -E "^fh-stats-$squat_pid-")" ]
check "... leaving the user's file as it was" [ "$(stat -c '%u %s' /dev/shm/fh-stats-$squat_pid)" = "$uid 0" ]
rm -f /dev/shm/fh-stats-$squat_pid
sh -c 'setpriv --reuid="$2" --regid="$3" --clear-groups -- touch /dev/shm/fh-stats-$$
	exec "$0" --replay "$1" --replay-loop --duration 120' "$FHD" "$PCAP" "$uid" "$gid" \
	>/dev/null 2>"$TMP/squat-killed.err" &
squat_killed=$!
pids+=($squat_killed)
for _ in $(seq 600); do grep -q "fhd: running" "$TMP/squat-killed.err" && break; sleep 0.1; done
kill -9 $squat_killed
wait $squat_killed 2>/dev/null
left=$(ls /dev/shm | grep -E "^fh-stats-$squat_killed-[0-9a-f]{16}$")
check "a killed fhd leaves its unguessable per-run name ($left)" [ -n "$left" ]
fhd_run --replay "$PCAP" >/dev/null 2>&1
check "... which the next fhd sweeps" [ ! -e "/dev/shm/$left" ]
check "... but not the user's" [ -e /dev/shm/fh-stats-$squat_killed ]
rm -f /dev/shm/fh-stats-$squat_killed
# A decoy for fh stat's search, named with terminal escape sequences: not chosen, not
# printed, but counted.
decoy=$'\e]0;PWNED\a\e[2J'"$n-stats"
as_user touch "/dev/shm/$decoy"
timeout -k 5 60 "$FH" stat >"$TMP/decoy.out" 2>&1
cat -v "$TMP/decoy.out" | head -5
check "fh stat does not take the user's decoy" not_in "owned by" "$TMP/decoy.out"
check "... prints no escape sequence from its name" not_in $'\e' "$TMP/decoy.out"
check "... says it passed files over" grep -q "passed over" "$TMP/decoy.out"
rm -f "/dev/shm/$decoy"

# --- L2: instances side by side, each with its own stats ---
"$FHD" --replay "$PCAP" --replay-loop --duration 120 >"$TMP/a.out" 2>"$TMP/a.err" &
a=$!
pids+=($a)
"$FHD" --replay "$PCAP" --replay-loop --duration 120 >"$TMP/b.out" 2>"$TMP/b.err" &
b=$!
pids+=($b)
for _ in $(seq 600); do
	grep -q "fhd: running" "$TMP/a.err" && grep -q "fhd: running" "$TMP/b.err" && break
	kill -0 $a 2>/dev/null && kill -0 $b 2>/dev/null || break
	sleep 0.1
done
seg_a=$(grep -oE "statistics on /dev/shm/[^ ]+" "$TMP/a.err" | sed 's#.*/dev/shm/##')
seg_b=$(grep -oE "statistics on /dev/shm/[^ ]+" "$TMP/b.err" | sed 's#.*/dev/shm/##')
check "two root fhd side by side both start ($seg_a, $seg_b)" test -n "$seg_a" -a -n "$seg_b" -a "$seg_a" != "$seg_b"
"$FH" stat --segment "$seg_a" >"$TMP/stat-a.txt" 2>&1
"$FH" stat --segment "$seg_b" >"$TMP/stat-b.txt" 2>&1
check "fh stat on the first's segment shows the first (pid $a)" grep -q "^fhd pid $a," "$TMP/stat-a.txt"
check "fh stat on the second's segment shows the second (pid $b)" grep -q "^fhd pid $b," "$TMP/stat-b.txt"
# The user, meanwhile, with an XDG_RUNTIME_DIR it cannot write (as su or runuser leave it).
mkdir -m 700 "$TMP/xdg-root"
as_user env XDG_RUNTIME_DIR="$TMP/xdg-root" "$FHD" --replay "$PCAP" >"$TMP/user.out" 2>"$TMP/user.err"
rc=$?
grep -E "EAL|fhd: (stats|statistics)|Permission" "$TMP/user.err"
check "the user's fhd beside root's runs to the end (exit $rc)" [ $rc = 0 ]
check "the user's fhd had its own stats segment" grep -q "statistics on /dev/shm/fh-stats-" "$TMP/user.err"
check "the user's fhd had its own EAL runtime directory" not_in "Error creating" "$TMP/user.err"
check "the user's fhd left no runtime directory behind" \
	[ -z "$(find /tmp -maxdepth 1 -name "fhd-$uid.*" 2>/dev/null)" ]
kill -INT $a $b
wait $a
rc_a=$?
wait $b
rc_b=$?
check "both root fhd end with exit 0 ($rc_a, $rc_b)" test $rc_a = 0 -a $rc_b = 0
check "their per-run stats segments are removed at exit" test ! -e "/dev/shm/$seg_a" -a ! -e "/dev/shm/$seg_b"
check "their EAL runtime directories are removed at exit" \
	test ! -e "/var/run/dpdk/fhd-$a" -a ! -e "/var/run/dpdk/fhd-$b"
# A per-run name left by a killed fhd is swept by the next one; a live one's is not.
"$FHD" --replay "$PCAP" --replay-loop --duration 120 >/dev/null 2>"$TMP/killed.err" &
killed=$!
pids+=($killed)
"$FHD" --replay "$PCAP" --replay-loop --duration 120 >/dev/null 2>"$TMP/alive.err" &
alive=$!
pids+=($alive)
for _ in $(seq 600); do
	grep -q "fhd: running" "$TMP/killed.err" && grep -q "fhd: running" "$TMP/alive.err" && break
	sleep 0.1
done
kill -9 $killed
wait $killed 2>/dev/null
check "a killed fhd leaves its per-run segment and EAL directory" \
	test -e /dev/shm/fh-stats-$killed -a -e /var/run/dpdk/fhd-$killed
fhd_run --replay "$PCAP" >/dev/null 2>&1
check "the next fhd sweeps them" test ! -e /dev/shm/fh-stats-$killed -a ! -e /var/run/dpdk/fhd-$killed
check "... but not a live fhd's" test -e /dev/shm/fh-stats-$alive -a -e /var/run/dpdk/fhd-$alive
kill -INT $alive
wait $alive
check "the live one ends with exit 0" [ $? = 0 ]
finish
