#!/usr/bin/env bash
# fhd's own IGMP (ports[].igmp: fhd) where DPDK owns the port: fhd on net_af_packet
# on one end of a veth pair, told not to let the kernel join; tshark captures on the
# other end, in a network namespace, and its IGMP decoder (not fhd's code) reads what
# came: fhd's IGMPv3 join reports at start (the lines' groups, the source record for
# the line with a source, checksums right, TTL 1 and Router Alert, from the port's
# MAC and igmp_source), the answers to a general and a group-specific query sent from
# the namespace (bytes written here from RFC 3376 §4.1) within their Max Resp Time,
# nothing for a query with a bad checksum (counted), and the leave reports after
# SIGTERM. `ip maddr` shows no kernel membership on fhd's end meanwhile, so what
# tshark saw is fhd's. The log names the interface for every report and says the
# port's MAC filter. Needs root, ip netns and tshark: skips (77) without.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v tshark >/dev/null || ! command -v ip >/dev/null; then
	echo "skip: needs root, iproute2 and tshark"
	exit 77
fi
ns=fhig$$
host_if=fhi$$a
peer_if=fhi$$b
cleanup() {
	[ -n "${tshark_pid:-}" ] && kill "$tshark_pid" 2>/dev/null
	[ -n "${fhd_pid:-}" ] && kill -KILL "$fhd_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip link del "$host_if" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null || ! ip link add "$host_if" type veth peer name "$peer_if" 2>/dev/null; then
	echo "skip: network namespaces or veth pairs are not allowed here"
	exit 77
fi
ip link set "$peer_if" netns "$ns"
ip link set "$host_if" up
ip -n "$ns" link set "$peer_if" up
ip -n "$ns" link set lo up
host_mac=$(cat "/sys/class/net/$host_if/address")

cat >"$TMP/igmp.yaml" <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: veth, device: "net_af_packet0,iface=$host_if", igmp: fhd, igmp_source: 192.0.2.99 }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: veth }
      B: { group: 233.49.196.111, udp_port: 26477, port: veth, source: 10.0.0.2 }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML

# query GROUP DST MAX_RESP_CODE [bad] [COUNT [SECONDS]]: one IGMPv3 Membership Query
# (RFC 3376 §4.1: type 0x11, Max Resp Code, checksum, group, S/QRV, QQIC, no sources)
# in IPv4 with Router Alert (RFC 2113), TTL 1, from 10.0.0.9, sent as an Ethernet
# frame on the peer's end (COUNT times, as fast as it goes or spread over SECONDS).
# Prints the time it was sent (seconds since the epoch).
query() {
	ip netns exec "$ns" python3 - "$peer_if" "$1" "$2" "$3" "${4:-}" "${5:-1}" "${6:-0}" <<'PY'
import socket, struct, sys, time
iface, group, dst, code, bad = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == 'bad'
count, seconds = int(sys.argv[6]), float(sys.argv[7])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
igmp = struct.pack('!BBH4sBBH', 0x11, code, 0, socket.inet_aton(group), 2, 125, 0)
c = csum(igmp) ^ (0x5555 if bad else 0)
igmp = igmp[:2] + struct.pack('!H', c) + igmp[4:]
ip = struct.pack('!BBHHHBBH4s4s', 0x46, 0xc0, 24 + len(igmp), 0, 0, 1, 2, 0,
                 socket.inet_aton('10.0.0.9'), socket.inet_aton(dst)) + b'\x94\x04\x00\x00'
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
d = socket.inet_aton(dst)
mac = bytes([1, 0, 0x5e, d[1] & 0x7f, d[2], d[3]])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
t = time.time()
for i in range(count):
    s.send(mac + b'\x02\x00\x00\x00\x00\x09' + b'\x08\x00' + ip + igmp)
    if seconds > 0 and i % 100 == 99:
        time.sleep(max(0, t + seconds * (i + 1) / count - time.time()))
print('%.6f' % t)
PY
}

ip netns exec "$ns" tshark -n -i "$peer_if" -f igmp -w "$TMP/igmp.pcapng" >"$TMP/tshark.log" 2>&1 &
tshark_pid=$!
for _ in $(seq 100); do grep -q "Capturing on" "$TMP/tshark.log" && break; sleep 0.1; done
"$FHD" -c "$TMP/igmp.yaml" >"$TMP/fhd.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/fhd.log" && break; sleep 0.1; done
check "fhd started on net_af_packet with igmp: fhd" grep -q "running" "$TMP/fhd.log"
sleep 1.5	# the second join report goes out a second after the first
ip maddr show dev "$host_if" >"$TMP/maddr.during"
t_general=$(query 0.0.0.0 224.0.0.1 20)		# Max Resp 2.0 s
sleep 2.5
t_group=$(query 233.49.196.111 233.49.196.111 10)	# Max Resp 1.0 s, line B's group
sleep 1.5
t_bad=$(query 0.0.0.0 224.0.0.1 10 bad)
sleep 1.5
kill -TERM "$fhd_pid"
wait "$fhd_pid"
rc=$?
fhd_pid=
sleep 0.5
kill "$tshark_pid"
wait "$tshark_pid" 2>/dev/null
tshark_pid=
check "SIGTERM stops fhd cleanly (exit $rc)" [ "$rc" = 0 ]
grep -E "igmp|IGMP|MAC filter|joined|left|answered" "$TMP/fhd.log"

# Every IGMP frame tshark decoded, one line each: time, source MAC, source IP, TTL,
# Router Alert, IP and IGMP checksum status, IGMP type, record types, groups, sources.
tshark -n -r "$TMP/igmp.pcapng" -o ip.check_checksum:TRUE -Y igmp -T fields -E separator='|' \
	-e frame.time_epoch -e eth.src -e ip.src -e ip.ttl -e ip.opt.ra -e ip.checksum.status \
	-e igmp.checksum.status -e igmp.type -e igmp.record_type -e igmp.maddr -e igmp.saddr \
	>"$TMP/decoded" 2>"$TMP/tshark-read.log"
cat "$TMP/decoded"
# fhd's reports: IGMPv3 Membership Reports (type 0x22) from the port's MAC.
grep -F "|$host_mac|" "$TMP/decoded" | awk -F'|' '$8 == "0x22" || $8 == "34"' >"$TMP/reports"
check "fhd sent IGMPv3 reports ($(wc -l <"$TMP/reports"))" [ -s "$TMP/reports" ]
check "every report: source igmp_source, TTL 1, Router Alert, IP and IGMP checksums good (tshark)" \
	awk -F'|' '$3 != "192.0.2.99" || $4 != 1 || $5 == "" || $6 != 1 || $7 != 1 { bad = 1 } END { exit bad }' "$TMP/reports"
# Record types (RFC 3376 §4.2.12): 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE, 3
# CHANGE_TO_INCLUDE, 4 CHANGE_TO_EXCLUDE, 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES.
joins=$(awk -F'|' '$9 == "4,5" && $10 == "233.54.12.111,233.49.196.111" && $11 == "10.0.0.2"' "$TMP/reports" | wc -l)
check "two join reports: CHANGE_TO_EXCLUDE {} for line A's group, ALLOW {10.0.0.2} for line B's ($joins)" [ "$joins" = 2 ]
# answered TIME MAX_S RECORDS GROUPS: a report of those records after TIME, within MAX_S.
answered() {
	awk -F'|' -v t="$1" -v max="$2" -v r="$3" -v g="$4" \
		'$9 == r && $10 == g && $1 >= t && $1 - t <= max { n++ } END { exit n != 1 }' "$TMP/reports"
}
check "general query answered once within its 2.0 s: MODE_IS_EXCLUDE {}, MODE_IS_INCLUDE {10.0.0.2}" \
	answered "$t_general" 2.0 "2,1" "233.54.12.111,233.49.196.111"
check "group-specific query answered once within its 1.0 s: line B's group alone" \
	answered "$t_group" 1.0 "1" "233.49.196.111"
check "a query with a bad checksum: no answer" \
	awk -F'|' -v t="$t_bad" '$1 >= t && ($9 == "2,1" || $9 == "1") { bad = 1 } END { exit bad }' "$TMP/reports"
leaves=$(awk -F'|' -v t="$t_bad" '$1 > t && $9 == "3,6" && $10 == "233.54.12.111,233.49.196.111" && $11 == "10.0.0.2"' "$TMP/reports" | wc -l)
check "after SIGTERM two leave reports: CHANGE_TO_INCLUDE {} and BLOCK {10.0.0.2} ($leaves)" [ "$leaves" = 2 ]
check "no kernel membership on $host_if while fhd ran (ip maddr): the reports were fhd's" \
	bash -c "! grep -qE '233.54.12.111|233.49.196.111' '$TMP/maddr.during'"
check "no kernel join logged (membership only)" bash -c "! grep -q 'membership only' '$TMP/fhd.log'"
check "the log names the interface for each join and leave (4 + 4 lines)" \
	[ "$(grep -cE "port veth: (joined|left) group .* on $host_if \(IGMPv3 report [12] of 2\)$" "$TMP/fhd.log")" = 8 ]
check "the log names the interface for each answer" \
	[ "$(grep -cE "port veth: answered a (general )?query on $host_if" "$TMP/fhd.log")" = 2 ]
check "the MAC filter decision said once for the port" \
	[ "$(grep -cE "^fhd: port veth \($host_if\): MAC filter: (multicast address list|allmulticast|promiscuous|none)" "$TMP/fhd.log")" = 1 ]
line=$(grep "^igmp port veth" "$TMP/fhd.log")
# The exit report comes before the leaves (sent as the port closes).
check "exit report: 2 joins + 2 answers sent, 2 queries, 1 bad checksum, none dropped" \
	[ "$(counter "$TMP/fhd.log" "^igmp port veth" reports)" = 4 -a "$(counter "$TMP/fhd.log" "^igmp port veth" answers)" = 2 \
	  -a "$(counter "$TMP/fhd.log" "^igmp port veth" queries)" = 2 -a "$(counter "$TMP/fhd.log" "^igmp port veth" bad_checksum)" = 1 \
	  -a "$(counter "$TMP/fhd.log" "^igmp port veth" ring_dropped)" = 0 ]
echo "$line"

# A query flood: 20,000 general queries with Max Resp 0 ("answer now") over 3 s.
# The answers stay within the budget (10 a second), the RX lcore's ring drops what
# the control loop cannot take (counted), fhd still stops at once on SIGTERM (the
# control loop was not starved), and the log holds 10 answer lines, then one per
# 10 s, saying how many it held back: the flood cannot fill the journal.
"$FHD" -c "$TMP/igmp.yaml" >"$TMP/flood.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/flood.log" && break; sleep 0.1; done
ip netns exec "$ns" tshark -n -i "$peer_if" -f igmp -w "$TMP/flood.pcapng" >"$TMP/tshark.log" 2>&1 &
tshark_pid=$!
for _ in $(seq 100); do grep -q "Capturing on" "$TMP/tshark.log" && break; sleep 0.1; done
t_flood=$(query 0.0.0.0 224.0.0.1 0 "" 20000 3)
t_end=$(date +%s.%N)
sleep 1
stop_started=$(date +%s.%N)
kill -TERM "$fhd_pid"
wait "$fhd_pid"
rc=$?
stopped=$(date +%s.%N)
fhd_pid=
kill "$tshark_pid"
wait "$tshark_pid" 2>/dev/null
tshark_pid=
grep "^igmp port" "$TMP/flood.log"
host_answers=$(tshark -n -r "$TMP/flood.pcapng" -Y "igmp.type == 0x22 && eth.src == $host_mac && igmp.record_type == 2" \
	-T fields -e frame.time_epoch 2>/dev/null | awk -v t="$t_flood" '$1 >= t' | wc -l)
seconds=$(echo "$stop_started - $t_flood" | bc)
echo "flood: $host_answers answers in ${seconds}s; stopped in $(echo "$stopped - $stop_started" | bc)s"
check "flood: fhd answered ($host_answers), at most 10 a second over ${seconds}s" \
	bash -c "[ $host_answers -ge 1 ] && [ \$(echo '$host_answers <= 10 * ($seconds + 1)' | bc) = 1 ]"
check "flood: SIGTERM stops fhd cleanly and at once (exit $rc)" \
	bash -c "[ $rc = 0 ] && [ \$(echo '$stopped - $stop_started < 3' | bc) = 1 ]"
logged=$(grep -c "port veth: answered a general query" "$TMP/flood.log")
check "flood: $logged answer lines logged for $host_answers answers: at most 10, then 1 per 10 s" \
	bash -c "[ $host_answers -gt $logged ] && [ \$(echo '$logged <= 10 + $seconds / 10 + 1' | bc) = 1 ]"
check "flood: the lines held back are said" grep -qE "port veth: [0-9]+ more IGMP line\(s\) on $host_if held back|IGMP line\(s\) before this one held back" "$TMP/flood.log"
taken=$(counter "$TMP/flood.log" "^igmp port veth" frames)
dropped=$(counter "$TMP/flood.log" "^igmp port veth" ring_dropped)
check "flood: frames taken ($taken) and dropped at the full ring ($dropped) are counted" \
	[ "${taken:-0}" -gt 0 -a "$((taken + dropped))" -le 20000 ]

# A config that asks the kernel to join on a device it does not own is refused before DPDK.
sed 's/igmp: fhd, igmp_source: 192.0.2.99/igmp: kernel/; s/net_af_packet0,iface=[^"]*/net_null0/' "$TMP/igmp.yaml" >"$TMP/bad.yaml"
"$FHD" --check -c "$TMP/bad.yaml" >"$TMP/bad.log" 2>&1
rc=$?
check "igmp: kernel on a device the kernel does not own: refused, exit 2 ($rc)" \
	bash -c "[ $rc = 2 ] && grep -q 'igmp: kernel: the kernel does not own' '$TMP/bad.log'"
finish
