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
"$FHD" -c "$TMP/missing.yaml" >"$TMP/missing.out" 2>&1
check "missing config file: exit 2" [ $? = 2 ]
"$FHD" --replay "$TMP/nonexistent.pcap" >"$TMP/nopcap.out" 2>&1
check "missing capture: exit 2, named" bash -c "[ $? = 2 ] && grep -q nonexistent.pcap '$TMP/nopcap.out'"
finish
