#!/usr/bin/env bash
# Config errors reach the user from fhd itself: file:line:column, the key, exit status
# 2, and DPDK never starts (no EAL output). Complements tests/test_config.c, which
# checks the loader's every rejection. A config file others own or can write is refused.
source "$(dirname "$0")/lib.sh"

"$FHD" --print-default-config >"$TMP/ok.yaml"
check "--print-default-config prints the built-in config" grep -q "233.54.12.111" "$TMP/ok.yaml"

sed 's/udp_port: 26477, port: p0, queue: 0 }/udp_port: 70000, port: p0, queue: 0 }/;' "$TMP/ok.yaml" >"$TMP/range.yaml"
sed 's/lcore: 1$/lcore: 3/' "$TMP/ok.yaml" >"$TMP/xref.yaml"
sed 's/^mbufs:/mbuffs:/' "$TMP/ok.yaml" >"$TMP/unknown.yaml"
for c in range xref unknown; do
	"$FHD" -c "$TMP/$c.yaml" --replay /dev/null >"$TMP/$c.out" 2>&1
	rc=$?
	check "$c: exit status 2 ($rc)" [ $rc = 2 ]
	check "$c: names file:line:column ($(head -1 "$TMP/$c.out"))" grep -qE "$c.yaml:[0-9]+:[0-9]+: " "$TMP/$c.out"
	check "$c: stops before DPDK starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$TMP/$c.out'"
done
# Issue 9 L8: "publish:" then 100000 '[' and as many ']' took libyaml minutes (quadratic
# in the depth). The depth is capped before the document is built: an error at once.
# Not timed: timeout only keeps a regression from hanging the suite.
{ cat "$TMP/ok.yaml"; printf 'publish: '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } >"$TMP/bomb.yaml"
timeout 20 "$FHD" -c "$TMP/bomb.yaml" --replay /dev/null >"$TMP/bomb.out" 2>&1
rc=$?
check "nesting bomb: exit status 2 ($rc)" [ $rc = 2 ]
check "nesting bomb: file:line:column and the limit ($(head -1 "$TMP/bomb.out"))" \
	grep -qE "bomb.yaml:[0-9]+:[0-9]+: <yaml>: expected collections nested at most 64 deep" "$TMP/bomb.out"
# Issue 9 S4: a segment mode others can write is refused like any bad value.
for mode in 0666 0660 0642; do
	{ cat "$TMP/ok.yaml"; printf 'publish:\n  ring: r\n  mode: "%s"\n' $mode; } >"$TMP/mode.yaml"
	"$FHD" -c "$TMP/mode.yaml" --replay /dev/null >"$TMP/mode.out" 2>&1
	rc=$?
	check "publish.mode $mode: exit 2 ($rc), file:line:column" \
		bash -c "[ $rc = 2 ] && grep -qE 'mode.yaml:[0-9]+:[0-9]+: publish.mode: expected a mode writable by the owner alone' '$TMP/mode.out'"
done
# A feed's publish.views: orders and/or levels, each once, in a list.
for views in "[orders, quotes]|views\[1\]: expected 'orders' or 'levels', got 'quotes'" \
	     "[levels, levels]|views\[1\]: expected each view once, got 'levels' again" \
	     "[]|views: expected a list of 1..2 views, got 0" \
	     "levels|views: expected a list of 1..2 views, got 'levels'"; do
	sed "s/views: \[orders, levels\]/views: ${views%%|*}/" "$TMP/ok.yaml" >"$TMP/views.yaml"
	"$FHD" -c "$TMP/views.yaml" --replay /dev/null >"$TMP/views.out" 2>&1
	rc=$?
	check "publish.views ${views%%|*}: exit 2 ($rc), file:line:column ($(head -1 "$TMP/views.out"))" \
		bash -c "[ $rc = 2 ] && grep -qE \"views.yaml:[0-9]+:[0-9]+: feeds\[0\]\.publish\.${views#*|}\" '$TMP/views.out'"
done
# The config is code (eal: -d loads a shared object into fhd): a config that another
# user owns, or that group or others can write, is refused before anything is read.
cp "$TMP/ok.yaml" "$TMP/perm.yaml"
for how in 0666 0664 owner; do
	if [ $how = owner ]; then
		[ "$(id -u)" = 0 ] || { echo "not root: the other-owner case is not tried"; continue; }
		chmod 0644 "$TMP/perm.yaml"
		chown 65534 "$TMP/perm.yaml"
	else
		chmod $how "$TMP/perm.yaml"
	fi
	"$FHD" -c "$TMP/perm.yaml" --replay /dev/null >"$TMP/perm.out" 2>&1
	rc=$?
	check "config $how: exit 2 ($rc), refused ($(head -1 "$TMP/perm.out"))" \
		bash -c "[ $rc = 2 ] && grep -qE 'perm.yaml: refused: (owned by another user|writable by group or others)' '$TMP/perm.out'"
	check "config $how: stops before DPDK starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$TMP/perm.out'"
done
# A config that is not a regular file is refused at once with a file-level line: a FIFO
# with no writer made fhd wait in open() forever. Not timed: timeout only keeps a
# regression from hanging the suite.
mkfifo "$TMP/fifo.yaml"
mkdir "$TMP/dir.yaml"
for c in "$TMP/fifo.yaml" /dev/zero "$TMP/dir.yaml"; do
	timeout 20 "$FHD" -c "$c" --replay /dev/null >"$TMP/nonreg.out" 2>&1
	rc=$?
	check "config $c: exit 2 ($rc), not a regular file ($(head -1 "$TMP/nonreg.out"))" \
		bash -c "[ $rc = 2 ] && grep -qF '$c: not a regular file' '$TMP/nonreg.out'"
done
# A config larger than 1 MiB is refused by size.
{ cat "$TMP/ok.yaml"; head -c 1100000 /dev/zero | tr '\0' '#'; echo; } >"$TMP/big.yaml"
"$FHD" -c "$TMP/big.yaml" --replay /dev/null >"$TMP/big.out" 2>&1
check "1 MiB config: exit 2, refused by size" \
	bash -c "[ $? = 2 ] && grep -q 'larger than 1048576 bytes' '$TMP/big.out'"
# Alias expansion bombs ("billion laughs") under keys the loader reads: an alias is a
# reference to one node, never expanded; the value is the wrong kind, reported once.
python3 - "$TMP/ok.yaml" "$TMP/laughs.yaml" <<'PY'
import sys
d = open(sys.argv[1]).read()
bomb = '[&a0 [x,x,x,x,x,x,x,x,x,x], ' + ', '.join(
    '&a%d [%s]' % (i, ','.join(['*a%d' % (i - 1)] * 10)) for i in range(1, 10)) + ']'
open(sys.argv[2], 'w').write(d.replace('rx: [1]', 'rx: ' + bomb))
PY
timeout 20 "$FHD" -c "$TMP/laughs.yaml" --replay /dev/null >"$TMP/laughs.out" 2>&1
rc=$?
check "alias bomb: exit 2 ($rc), file:line:column ($(head -1 "$TMP/laughs.out"))" \
	bash -c "[ $rc = 2 ] && grep -qE 'laughs.yaml:[0-9]+:[0-9]+: lcores.rx\[0\]' '$TMP/laughs.out'"
# The anchor bomb: 110000 anchors in 1 MiB took libyaml's loader 40 s (each new
# anchor compared with every earlier one). Refused at anchor 257, before the load.
python3 -c 'import sys; sys.stdout.write("x: [" + ",".join("&%x 0" % i for i in range(110000)) + "]\n")' \
	>"$TMP/anchors.yaml"
timeout 20 "$FHD" -c "$TMP/anchors.yaml" --replay /dev/null >"$TMP/anchors.out" 2>&1
rc=$?
check "anchor bomb: exit 2 ($rc), file:line:column ($(head -1 "$TMP/anchors.out"))" \
	bash -c "[ $rc = 2 ] && grep -qE 'anchors.yaml:1:[0-9]+: <yaml>: expected at most 256 anchors' '$TMP/anchors.out'"
# Numbers on the command line are whole or refused: "--duration nan" was taken and
# meant "never stop", "--top -1" wrapped to 4294967295.
for a in "--duration nan" "--duration inf" "--duration 5x" "--top -1" "--top 0x10" "--top 99999999999"; do
	# shellcheck disable=SC2086
	"$FHD" --replay /dev/null $a >"$TMP/arg.out" 2>&1
	rc=$?
	check "fhd $a: exit 2 ($rc), said ($(head -1 "$TMP/arg.out"))" \
		bash -c "[ $rc = 2 ] && grep -qE '^fhd: --(duration|top) wants' '$TMP/arg.out'"
done
"$FHD" -c "$TMP/missing.yaml" >"$TMP/missing.out" 2>&1
check "missing config file: exit 2" [ $? = 2 ]
"$FHD" --replay "$TMP/nonexistent.pcap" >"$TMP/nopcap.out" 2>&1
check "missing capture: exit 2, named" bash -c "[ $? = 2 ] && grep -q nonexistent.pcap '$TMP/nopcap.out'"
# Issue 20: the snapshot section's hold, confirm_ms, resync_backoff_ms and resyncs, each
# in its range (the files are 0600: they hold a password).
snap='snapshot: { server: "127.0.0.1:9", username: fh, password: pw'
for kv in "hold: 8|hold: expected a decimal integer in 1024..1048576" \
	  "confirm_ms: 0|confirm_ms: expected a decimal integer in 1..600000" \
	  "resync_backoff_ms: 600001|resync_backoff_ms: expected a decimal integer in 0..600000" \
	  "resyncs: 1001|resyncs: expected a decimal integer in 0..1000"; do
	{ cat "$TMP/ok.yaml"; echo "    $snap, ${kv%%|*} }"; } >"$TMP/snap.yaml"
	chmod 0600 "$TMP/snap.yaml"
	"$FHD" -c "$TMP/snap.yaml" --replay /dev/null >"$TMP/snap.out" 2>&1
	rc=$?
	check "snapshot.${kv%%|*}: exit 2 ($rc), file:line:column ($(head -1 "$TMP/snap.out"))" \
		bash -c "[ $rc = 2 ] && grep -qE 'snap.yaml:[0-9]+:[0-9]+: feeds\[0\]\.snapshot\.${kv#*|}' '$TMP/snap.out'"
done
{ cat "$TMP/ok.yaml"; echo "    $snap, hold: 4096, confirm_ms: 600000, resync_backoff_ms: 0, resyncs: 1000 }"; } >"$TMP/snap.yaml"
chmod 0600 "$TMP/snap.yaml"
"$FHD" -c "$TMP/snap.yaml" --replay /dev/null >"$TMP/snap.out" 2>&1
check "snapshot hold, confirm_ms, resync_backoff_ms, resyncs in range: loaded ($(head -1 "$TMP/snap.out"))" \
	bash -c "! grep -q 'config error' '$TMP/snap.out'"
# Issue 20: a held packet keeps its mbuf, so the pool must back every hold, the RX
# descriptors, the journal's rings, the lcore caches and bursts at once, proven at
# load (with or without a journal) and refused at the mbufs key, before DPDK starts.
rec='recovery: { server: "127.0.0.1:9", timeout_ms: 50, retries: 0'
mbufs_refused() {	# NAME FILE WHAT: exit 2 at the mbufs key, the message names WHAT; fhd's ARGS after
	local name=$1 file=$2 what=$3
	shift 3
	"$FHD" -c "$file" "$@" >"$TMP/mbufs.out" 2>&1
	rc=$?
	check "$name: exit 2 ($rc) at the mbufs key ($(head -1 "$TMP/mbufs.out" | cut -c1-160))" \
		bash -c "[ $rc = 2 ] && grep -qE '$(basename "$file"):[0-9]+:[0-9]+: mbufs: expected at least [0-9]+, what can hold mbufs at once \(' '$TMP/mbufs.out'"
	check "$name: says what to lower ($what)" grep -qF -- "$what" "$TMP/mbufs.out"
	check "$name: stops before DPDK starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$TMP/mbufs.out'"
}
{ cat "$TMP/ok.yaml"; echo "    $rec }"; } >"$TMP/rec.yaml"
mbufs_refused "the default recovery.hold with mbufs 16383" "$TMP/rec.yaml" "or lower feeds[0].recovery.hold" \
	--replay "$ROOT/pcaps/itch-demo.pcap"
{ sed 's/^mbufs: .*/mbufs: 4095/' "$TMP/ok.yaml"; echo "    $rec, hold: 1048576 }"; } >"$TMP/rec1m.yaml"
mbufs_refused "recovery.hold 1048576 with mbufs 4095" "$TMP/rec1m.yaml" "got 4095: raise mbufs to 1050432 or more" \
	--replay "$ROOT/pcaps/itch-demo.pcap"
sed 's/^mbufs: .*/mbufs: 4095/' "$TMP/ok.yaml" >"$TMP/m4095.yaml"
mbufs_refused "three replay ports' descriptors" "$TMP/m4095.yaml" "RX descriptors 3072 of 3 replay port(s) of 1024" \
	--replay "$ROOT/pcaps/itch-demo.pcap" --replay "$ROOT/pcaps/itch-demo.pcap" --replay "$ROOT/pcaps/itch-demo.pcap"
mkdir -m 0700 "$TMP/journal"
mbufs_refused "--journal's rings" "$TMP/m4095.yaml" "journal rings 8256" --journal "$TMP/journal" \
	--replay "$ROOT/pcaps/itch-demo.pcap"
# Without mbufs, fhd sizes the pool for what the config holds and says so.
{ grep -v '^mbufs:' "$TMP/ok.yaml"; echo "    $rec }"; } >"$TMP/sized.yaml"
"$FHD" -c "$TMP/sized.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/sized.out" 2>&1
rc=$?
check "no mbufs, a recovery section: runs (exit $rc)" [ $rc = 0 ]
check "no mbufs: the pool is sized for the hold and said ($(grep -m1 'packet pool' "$TMP/sized.out" | cut -c1-110))" \
	grep -qE '^fhd: packet pool: 131071 mbufs of [0-9]+ bytes, [0-9.]+ MiB of EAL memory \(sized by fhd: no mbufs in the config\); at most 67392 held at once' "$TMP/sized.out"
"$FHD" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/default.out" 2>&1
check "the default config's pool is said ($(grep -m1 'packet pool' "$TMP/default.out" | cut -c1-90))" \
	grep -qE '^fhd: packet pool: 16383 mbufs of [0-9]+ bytes, [0-9.]+ MiB of EAL memory \(mbufs from the config\)' "$TMP/default.out"
finish
