#!/usr/bin/env bash
# fhd's DPDK telemetry commands (issue 22 item 7): while fhd replays in a loop,
# tools/fh_telemetry.py reads /fh/feeds, /fh/latency and DPDK's own /ethdev/stats,0 from
# the socket fhd says it made, twice. The feeds listed are the config's (one named with
# '.' and '-', which DPDK refuses in a key); the counters only grow between the reads,
# never pass fhd's own exit report for the run, nor the port's ipackets DPDK reported in
# the same read; the percentiles are ordered and their counts and max never pass the
# exit report's latency table. Skips (77) when EAL made no telemetry socket.
source "$(dirname "$0")/lib.sh"

CLIENT="python3 $ROOT/tools/fh_telemetry.py"
shm_prefixes+=(fh-stats-)
{
	feed_yaml "{ instruments: 256, orders: 262144, levels: 1024 }"
	cat <<'YAML'
  - name: quiet.feed-2
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.112, udp_port: 26478, port: p0 }
      B: { group: 233.49.196.112, udp_port: 26478, port: p0 }
    book: { instruments: 16, orders: 1024, levels: 64 }
stats: { interval_ms: 100 }
YAML
} >"$TMP/telemetry.yaml"
timeout 60 "$FHD" -c "$TMP/telemetry.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" --replay-loop \
	>"$TMP/fhd.out" 2>"$TMP/fhd.err" &
fhd=$!
sock=
# fhd names the socket before it says it is running (or exits): up to 30 s on a busy host.
for _ in $(seq 600); do
	done=$(grep -c "^fhd: running" "$TMP/fhd.err"; kill -0 $fhd 2>/dev/null || echo exited)
	sock=$(sed -nE 's/^fhd: DPDK telemetry on ([^ ]+) .*/\1/p' "$TMP/fhd.err")
	[ -n "$sock" ] || [ "$done" != 0 ] && break
	sleep 0.05
done
if [ -z "$sock" ]; then
	kill $fhd 2>/dev/null; wait $fhd
	why=$(grep -m1 -i telemetry "$TMP/fhd.err")
	echo "no DPDK telemetry socket: fhd named none${why:+ ($why)}: skip"
	exit 77
fi
check "the socket fhd names is a socket ($sock)" [ -S "$sock" ]
dir=$(dirname "$sock")
perms=$(stat -c '%a %U' "$dir")
check "its directory is ours alone: 700 $(id -un) ($perms)" [ "$perms" = "700 $(id -un)" ]
sleep 0.3	# a stats interval or two: the image has counters
$CLIENT --socket "$sock" --greeting /fh/feeds /fh/latency /ethdev/stats,0 >"$TMP/read1.json" 2>"$TMP/client.err"
rc1=$?
sleep 0.5
$CLIENT --socket "$sock" /fh/feeds /fh/latency /ethdev/stats,0 '/fh/feeds,quiet.feed-2' /fh/feeds,nosuch \
	>"$TMP/read2.json" 2>>"$TMP/client.err"
rc2=$?
kill -TERM $fhd
wait $fhd
rc=$?
cat "$TMP/client.err"
check "the client read both times (exit $rc1, $rc2)" [ "$rc1$rc2" = 00 ]
check "fhd stopped by SIGTERM exits 0 (rc $rc)" [ $rc = 0 ]
check "the socket is gone after fhd" [ ! -e "$sock" ]
check "a client of a socket that is not there exits 2" \
	bash -c "$CLIENT --socket '$sock' /fh/feeds 2>/dev/null; [ \$? = 2 ]"
python3 - "$TMP/telemetry.yaml" "$TMP/read1.json" "$TMP/read2.json" "$TMP/fhd.out" <<'PY'
import json, re, sys

config, read1, read2, report = sys.argv[1:]
failures = 0


def check(name, ok):
    global failures
    print(("ok: " if ok else "FAIL: ") + name)
    failures += 0 if ok else 1


def replies(path):
    out = {}
    lines = open(path).read().splitlines()
    for line in lines:
        reply = json.loads(line)
        for command, value in reply.items():
            out.setdefault(command, []).append(value)
    return out


r1, r2 = replies(read1), replies(read2)
greeting = json.loads(open(read1).readline())
check(f"the greeting is DPDK's ({greeting.get('version')}, pid {greeting.get('pid')})",
      str(greeting.get("version", "")).startswith("DPDK") and greeting.get("pid", 0) > 0)
names = re.findall(r"^  - name: (\S+)$", open(config).read(), re.M)
feeds1, feeds2 = r1["/fh/feeds"][0], r2["/fh/feeds"][0]
lat1, lat2 = r1["/fh/latency"][0], r2["/fh/latency"][0]
eth1, eth2 = r1["/ethdev/stats"][0], r2["/ethdev/stats"][0]
for what, reply in (("/fh/feeds", feeds1), ("/fh/latency", lat2)):
    listed = sorted(f["name"] for f in reply.values())
    check(f"{what} lists the config's feeds ({listed})", listed == sorted(names))
    keys = sorted(reply)
    check(f"{what} keys them by name, '.' and '-' made '_' ({keys})",
          keys == sorted(re.sub(r"[^A-Za-z0-9_]", "_", n) for n in names))
only = r2["/fh/feeds"][1]
check("/fh/feeds,quiet.feed-2 answers for that feed alone",
      [f["name"] for f in only.values()] == ["quiet.feed-2"])
check("/fh/feeds,nosuch answers null", r2["/fh/feeds"][2] is None)

# fhd's exit report: per feed, messages, gaps and each line's packets, duplicates, bad_sequence.
final, section = {}, None
for line in open(report):
    m = re.match(r"^feed (\S+) \(", line)
    if m:
        section = final.setdefault(m.group(1), {"lines": {}})
        continue
    if section is None:
        continue
    m = re.match(r"^  messages (\d+) ", line)
    if m:
        section["messages"] = int(m.group(1))
    m = re.match(r"^  gaps (\d+) ", line)
    if m:
        section["gaps"] = int(m.group(1))
    m = re.match(r"^  line (\S+): (.*)$", line)
    if m:
        section["lines"][m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", m.group(2))}
table = {}
for line in open(report):
    m = re.match(r"^  (\S+) +(rx_to_publish_packet|rx_to_publish_message|feed_delay|processing) +(\d+)((?: +[\d.]+){6})$", line)
    if m:
        table[(m.group(1), m.group(2))] = (int(m.group(3)), [float(v) for v in m.group(4).split()])
port = re.search(r"^port \S+: received (\d+) ", open(report).read(), re.M)
check("the exit report has every feed, its lines, and the port", sorted(final) == sorted(names) and port is not None
      and all(set(f["lines"]) >= {"A", "B"} for f in final.values()))
received = int(port.group(1)) if port else 0

check(f"/ethdev/stats ipackets grows and stays within the port's final received "
      f"({eth1['ipackets']} <= {eth2['ipackets']} <= {received})",
      0 < eth1["ipackets"] <= eth2["ipackets"] <= received)
busy = feeds2["itch"]
check(f"itch's packets grew between the reads ({feeds1['itch']['packets']} < {busy['packets']})",
      feeds1["itch"]["packets"] < busy["packets"])
for key, f2 in feeds2.items():
    f1, fin = feeds1[key], final.get(f2["name"], {"lines": {}})
    lines = fin["lines"]
    bounds = {
        "packets": sum(lines[l]["packets"] for l in lines),
        "messages": fin.get("messages", -1),
        "gaps": fin.get("gaps", -1),
        "duplicates": sum(lines[l]["duplicates"] for l in lines),
        "line_A_bad_sequence": lines.get("A", {}).get("bad_sequence", -1),
        "line_B_bad_sequence": lines.get("B", {}).get("bad_sequence", -1),
    }
    for counter, bound in bounds.items():
        check(f"{f2['name']} {counter}: {f1[counter]} <= {f2[counter]} <= exit report's {bound}",
              0 <= f1[counter] <= f2[counter] <= bound)
    check(f"{f2['name']} book_state {f2['book_state']}", f2["book_state"] in ("ok", "recovering", "stale"))
    check(f"{f2['name']}: packets {f1['packets']}, {f2['packets']} within /ethdev/stats ipackets of the same read",
          f1["packets"] <= eth1["ipackets"] and f2["packets"] <= eth2["ipackets"])
for key, l2 in lat2.items():
    name, l1 = l2["name"], lat1[key]
    for kind in ("rx_to_publish_packet", "rx_to_publish_message", "feed_delay", "processing"):
        count, values = table.get((name, kind), (-1, [0] * 6))
        p = [l2[f"{kind}_{s}_ns"] for s in ("p50", "p90", "p99", "p999", "p9999", "max")]
        check(f"{name} {kind}: percentiles in order {p}", p == sorted(p))
        check(f"{name} {kind} count: {l1[kind + '_count']} <= {l2[kind + '_count']} <= exit table's {count}",
              0 <= l1[kind + "_count"] <= l2[kind + "_count"] <= count)
        check(f"{name} {kind} max: {l1[kind + '_max_ns']} <= {p[5]} ns <= exit table's {values[5]} us",
              l1[kind + "_max_ns"] <= p[5] <= values[5] * 1000 + 1)
    check(f"{name}: packets timed once the feed has packets",
          l2["rx_to_publish_packet_count"] > 0 or feeds2[key]["packets"] == 0)
sys.exit(1 if failures else 0)
PY
check "the replies agree with each other and with fhd's exit report" [ $? = 0 ]
finish
