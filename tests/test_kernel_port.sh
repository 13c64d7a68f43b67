#!/usr/bin/env bash
# The kernel port's own loss accounting (device "kernel:IFACE"): fhd runs in a network
# namespace with one end of a veth pair and is stopped (SIGSTOP) while tcpreplay plays a
# generated session into a 64 KiB socket buffer from the other end. The kernel's drops
# (SO_RXQ_OVFL) are counted per line and per port, every datagram sent is received or
# counted dropped, and the journal keeps the kernel's RX times. Books, joins, recovery and
# the source filter on this port are test_paths', beside the other live paths.
# Needs root, ip netns and tcpreplay: skips (77) without.
source "$(dirname "$0")/lib.sh"

veth_netns fhk
"$FH_PCAP" gen --seed 22 --messages 20000 --symbols 20 --out "$TMP/session.pcap" 2>/dev/null
frames=$(python3 "$ROOT/tests/pcap_craft.py" count "$TMP/session.pcap")

cat >"$TMP/drops.yaml" <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "--log-level=lib.eal:warning"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: k, device: "kernel:$rx_if", rcvbuf_bytes: 65536 }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: k }
      B: { group: 233.49.196.111, udp_port: 26477, port: k }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML

# Kernel drops: fhd stopped (SIGSTOP) while the session plays into a 64 KiB buffer;
# after SIGCONT the session plays again, and its datagrams carry the socket's drop
# count (SO_RXQ_OVFL). Every datagram sent is either received or counted dropped,
# per line and per port.
mkdir -m 0700 "$TMP/journal"
started=$(date +%s.%N)
ip netns exec "$rx_ns" "$FHD" -c "$TMP/drops.yaml" --journal "$TMP/journal" >"$TMP/drops.log" 2>&1 &
fhd_pid=$!
for _ in $(seq 100); do grep -q "running" "$TMP/drops.log" && break; sleep 0.1; done
kill -STOP "$fhd_pid"
live_play "$TMP/session.pcap"
played=$(date +%s.%N)
sleep 1
kill -CONT "$fhd_pid"
sleep 0.5
live_play "$TMP/session.pcap"
sleep 0.5
kill -TERM "$fhd_pid"
wait "$fhd_pid"
ended=$(date +%s.%N)
received=$(counter "$TMP/drops.log" "^port k:" received)
dropped=$(counter "$TMP/drops.log" "^port k:" kernel_dropped)
line_a=$(counter "$TMP/drops.log" "^  line A:" kernel_dropped)
line_b=$(counter "$TMP/drops.log" "^  line B:" kernel_dropped)
check "drops: the kernel dropped some ($dropped) while fhd was stopped" [ "${dropped:-0}" -gt 0 ]
check "drops: received $received + dropped $dropped = sent $((2 * frames))" \
	[ "$((received + dropped))" = "$((2 * frames))" ]
check "drops: the lines' kernel_dropped ($line_a + $line_b) are the port's" [ "$((line_a + line_b))" = "$dropped" ]
# The journal's times are the kernel's RX stamps: what the first play left in the
# buffer was stamped before fhd was let go (1 s later), not when fhd read it.
tshark -r "$TMP"/journal/fh-*.pcapng -T fields -e frame.time_epoch >"$TMP/times" 2>/dev/null
early=$(awk -v t="$played" '$1 <= t + 0.2 { n++ } END { print n + 0 }' "$TMP/times")
inside=$(awk -v a="$started" -v b="$ended" '$1 >= a && $1 <= b { n++ } END { print n + 0 }' "$TMP/times")
check "drops: the journal has the kernel's RX times ($early frames stamped while fhd was stopped, read 1 s later)" \
	[ "$early" -gt 0 ]
check "drops: every journal time is within the run ($inside of $received)" [ "$inside" = "$received" ]
finish
