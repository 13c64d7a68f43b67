#!/usr/bin/env bash
# Issue 9, S1: no local user can make fhd write through a link into someone else's
# file, or into a directory it does not control. End to end through fhd:
#  - the issue's reproduction: a user's directory holding a link named like a torn
#    journal (fh-x.pcapng.part) to a root file: refused at start, the file untouched;
#    the same link planted in fhd's own directory: left alone, said, file untouched;
#  - a link in place of a --hist-out file, of the Prometheus file's PATH.tmp, of the
#    --dump-books file: never written through;
#  - directories another user owns, or anyone may write to (/tmp itself), or that are
#    links: refused with exit 2 before DPDK starts;
#  - a feed named ../../x is refused by the config, --publish ../x by fhd;
#  - a --replay path with ',' (it would smuggle tx_pcap=FILE to DPDK) cannot reach the driver.
# Needs root (to plant root's files and to act as another user); skips otherwise.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
PCAP=$ROOT/pcaps/itch-demo.pcap
VICTIM_TEXT="root's file: must stay as it is"
victim=$TMP/victim
echo "$VICTIM_TEXT" >"$victim"
chmod 0600 "$victim"
victim_intact() { [ "$(cat "$victim")" = "$VICTIM_TEXT" ]; }
# refused NAME LOG: exit 2 and DPDK never started.
refused() {
	check "$1: stops before DPDK starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$2'"
}

# A second, unprivileged user: a fixed fhtest if it exists, else one made for this run.
shm_prefixes+=(fhtest-sec-$$)
user=
if id fhtest >/dev/null 2>&1; then
	user=fhtest
elif useradd -M -r -s /usr/sbin/nologin "fhtest-$$" >/dev/null 2>&1; then
	user=fhtest-$$
	trap 'userdel "fhtest-$$" >/dev/null 2>&1; lib_cleanup' EXIT
fi
chmod 0755 "$TMP"	# the second user must reach its directory below

# 1. The issue's reproduction, as the user would do it: their own directory, a link.
if [ -n "$user" ]; then
	mkdir "$TMP/userdir" && chown "$user" "$TMP/userdir"
	runuser -u "$user" -- ln -s "$victim" "$TMP/userdir/fh-x.pcapng.part"
	"$FHD" --replay "$PCAP" --journal "$TMP/userdir" >"$TMP/r1.log" 2>&1
	check "user's journal dir: exit 2 ($?)" [ $? = 2 ]
	check "user's journal dir: a line says whose it is" \
		grep -q "journal directory $TMP/userdir: refused: the directory is owned by another user (owner uid $(id -u "$user") ($user)" "$TMP/r1.log"
	refused "user's journal dir" "$TMP/r1.log"
	check "user's journal dir: root's file untouched" victim_intact
	head -1 "$TMP/r1.log"
else
	echo "skip: no second user (useradd failed): the other-owner cases use uid 65534"
	mkdir "$TMP/userdir" && chown 65534 "$TMP/userdir"
	"$FHD" --replay "$PCAP" --journal "$TMP/userdir" >"$TMP/r1.log" 2>&1
	check "other-owned journal dir: exit 2" [ $? = 2 ]
	check "other-owned journal dir: says so" grep -q "owned by another user" "$TMP/r1.log"
fi

# ... and the same link found in fhd's own directory (planted before it was locked down).
mkdir -m 0750 "$TMP/j"
ln -s "$victim" "$TMP/j/fh-x.pcapng.part"
"$FHD" --replay "$PCAP" --journal "$TMP/j" >"$TMP/r2.log" 2>&1
check "planted .part link: fhd runs (exit $?)" [ $? = 0 ]
check "planted .part link: root's file untouched" victim_intact
check "planted .part link: the link is left alone" [ -L "$TMP/j/fh-x.pcapng.part" ]
check "planted .part link: a line says what and whose" \
	grep -q "not repaired: $TMP/j/fh-x.pcapng.part: left alone: a symbolic link owned by uid 0 (root)" "$TMP/r2.log"
check "planted .part link: counted" grep -q "1 unfinished file name(s) left alone" "$TMP/r2.log"
check "planted .part link: the journal is written beside it" bash -c "ls '$TMP/j'/fh-2*.pcapng >/dev/null"
grep "not repaired" "$TMP/r2.log"

# 2. --hist-out: a link in place of one of its files.
mkdir -m 0750 "$TMP/h"
ln -s "$victim" "$TMP/h/itch.feed_delay.hgrm"
"$FHD" --replay "$PCAP" --hist-out "$TMP/h" >"$TMP/h.log" 2>&1
check "hist-out link: exit 1 ($?)" [ $? = 1 ]
check "hist-out link: root's file untouched" victim_intact
check "hist-out link: says so" grep -q "fhd: --hist-out $TMP/h/itch.feed_delay.hgrm: refused to replace: a symbolic link" "$TMP/h.log"
check "hist-out link: the other files are written" grep -q "^#\[Buckets = " "$TMP/h/itch.rx_to_publish_packet.hgrm"
grep "refused to replace" "$TMP/h.log"

# 3. The Prometheus file: a link at PATH.tmp, and one at PATH itself.
mkdir -m 0750 "$TMP/p"
ln -s "$victim" "$TMP/p/metrics.prom.tmp"
{ "$FHD" --print-default-config; printf 'stats:\n  interval_ms: 100\n  segment: fhtest-sec-%s\n  prometheus_file: %s/p/metrics.prom\n' $$ "$TMP"; } >"$TMP/p.yaml"
"$FHD" -c "$TMP/p.yaml" --replay "$PCAP" >"$TMP/p.log" 2>&1
check "prometheus PATH.tmp link: fhd runs (exit $?)" [ $? = 0 ]
check "prometheus PATH.tmp link: root's file untouched" victim_intact
check "prometheus PATH.tmp link: says so, once" \
	[ "$(grep -c "stats.prometheus_file: $TMP/p/metrics.prom.tmp: refused to replace: a symbolic link" "$TMP/p.log")" = 1 ]
check "prometheus PATH.tmp link: the failures are counted" grep -qE "stats.prometheus_file: [0-9]+ refreshes could not be written" "$TMP/p.log"
rm "$TMP/p/metrics.prom.tmp"
ln -s "$victim" "$TMP/p/metrics.prom"
"$FHD" -c "$TMP/p.yaml" --replay "$PCAP" >"$TMP/p2.log" 2>&1
check "prometheus PATH link: root's file untouched" victim_intact
check "prometheus PATH link: replaced by a regular file" bash -c "[ ! -L '$TMP/p/metrics.prom' ] && grep -q '^fh_packets_total' '$TMP/p/metrics.prom'"
rm -f "/dev/shm/fhtest-sec-$$"

# 4. --dump-books: a link in place of the file.
mkdir -m 0750 "$TMP/d"
ln -s "$victim" "$TMP/d/books.txt"
"$FHD" --replay "$PCAP" --dump-books "$TMP/d/books.txt" >"$TMP/d.log" 2>&1
check "dump-books link: exit 1 ($?)" [ $? = 1 ]
check "dump-books link: root's file untouched" victim_intact
check "dump-books link: says so" grep -q "fhd: --dump-books $TMP/d/books.txt: refused to replace: a symbolic link" "$TMP/d.log"

# 5. Directories anyone may write to: /tmp itself, and a group-writable one.
"$FHD" --replay "$PCAP" --journal /tmp >"$TMP/t.log" 2>&1
check "--journal /tmp: exit 2 ($?)" [ $? = 2 ]
check "--journal /tmp: says why" grep -q "journal directory /tmp: refused: the directory is writable by group or others (owner uid 0 (root), mode 1777)" "$TMP/t.log"
refused "--journal /tmp" "$TMP/t.log"
head -1 "$TMP/t.log"
"$FHD" --replay "$PCAP" --hist-out /tmp >"$TMP/t2.log" 2>&1
check "--hist-out /tmp: exit 2 ($?)" [ $? = 2 ]
"$FHD" --replay "$PCAP" --dump-books /tmp/fh-dump-$$ >"$TMP/t3.log" 2>&1
check "--dump-books /tmp/FILE: exit 2 ($?)" [ $? = 2 ]
check "--dump-books /tmp/FILE: nothing written" [ ! -e /tmp/fh-dump-$$ ]
mkdir -m 0750 "$TMP/gw" && chmod 0770 "$TMP/gw"
journal_yaml() { { "$FHD" --print-default-config; printf 'journal:\n  dir: %s\n' "$1"; } >"$2"; }
journal_yaml "$TMP/gw" "$TMP/gw.yaml"
"$FHD" -c "$TMP/gw.yaml" --replay "$PCAP" >"$TMP/gw.log" 2>&1
check "group-writable journal.dir: exit 2 ($?)" [ $? = 2 ]
check "group-writable journal.dir: says why" grep -q "refused: the directory is writable by group or others (owner uid 0 (root), mode 0770)" "$TMP/gw.log"
check "group-writable journal.dir: nothing written" [ -z "$(ls "$TMP/gw")" ]

# 6. A directory given through a link.
ln -s "$TMP/j" "$TMP/jlink"
"$FHD" --replay "$PCAP" --journal "$TMP/jlink" >"$TMP/l.log" 2>&1
check "journal dir through a link: exit 2 ($?)" [ $? = 2 ]
check "journal dir through a link: says so" grep -q "$TMP/jlink: refused: a symbolic link" "$TMP/l.log"

# 7. A feed name that would leave --hist-out's directory.
"$FHD" --print-default-config | sed 's/  - name: itch$/  - name: ..\/..\/x/' >"$TMP/n.yaml"
"$FHD" -c "$TMP/n.yaml" --replay "$PCAP" --hist-out "$TMP/h" >"$TMP/n.log" 2>&1
check "feed named ../../x: exit 2 ($?)" [ $? = 2 ]
check "feed named ../../x: file:line:column" grep -qE "n.yaml:[0-9]+:[0-9]+: feeds\[0\].name: expected a name of \[A-Za-z0-9_.-\]" "$TMP/n.log"
check "feed named ../../x: nothing written outside" [ ! -e "$(dirname "$TMP")/x.rx_to_publish_packet.hgrm" ]
head -1 "$TMP/n.log"
"$FHD" --replay "$PCAP" --publish "../x" >"$TMP/pub.log" 2>&1
check "--publish ../x: exit 2 ($?)" [ $? = 2 ]

# 8. A capture path with ',' would reach DPDK's pcap driver as more arguments: tx_pcap=FILE
# makes the driver create (truncate) FILE. fhd passes the driver /proc/self/fd/N of the
# file it opened instead, so such a name replays like any other and FILE is untouched.
cp "$PCAP" "$TMP/a.pcap"
mkdir -p "$(dirname "$TMP/a.pcap,tx_pcap=$victim")"
ln -s "$TMP/a.pcap" "$TMP/a.pcap,tx_pcap=$victim"
"$FHD" --replay "$TMP/a.pcap,tx_pcap=$victim" >"$TMP/c.log" 2>&1
check "--replay path with ',': replays, exit 0 ($?)" [ $? = 0 ]
check "--replay path with ',': root's file untouched" victim_intact
finish
