#!/usr/bin/env bash
# rte_flow and the queues of DPDK ports (issue 22 item 5), on net_null, which needs no
# root: a PMD without rte_flow is said in one line per port at start (with where
# rx_to_publish starts); ports[].flow_isolate on it is refused at start (exit 1); a
# line on queue 1 of such a port is warned about (nothing steers to it); two RX
# lcores polling one queue are refused (needs 3 CPUs). flow_isolate on a kernel: port
# is a config error (exit 2). test_live checks the same line on net_af_packet.
source "$(dirname "$0")/lib.sh"

feed_yaml "{ instruments: 16, orders: 1024, levels: 64 }" >"$TMP/null.yaml"
timeout 60 "$FHD" -c "$TMP/null.yaml" --duration 1 >"$TMP/null.out" 2>"$TMP/null.err"
rc=$?
check "net_null live for 1 s: exit 0 ($rc)" [ $rc = 0 ]
check "one rte_flow line, for the port ($(grep rte_flow "$TMP/null.err"))" \
	bash -c "[ \"\$(grep -c rte_flow '$TMP/null.err')\" = 1 ] &&
		grep -qx 'fhd: port p0: no rte_flow on this PMD (net_null): all lines on queue 0, as received' '$TMP/null.err'"
check "one line says where rx_to_publish starts" \
	bash -c "[ \"\$(grep -c 'rx_to_publish starts at' '$TMP/null.err')\" = 1 ] &&
		grep -qx 'fhd: port p0: rx_to_publish starts at: TSC after rx_burst (the PMD offers no NIC RX timestamp)' '$TMP/null.err'"

sed 's/device: "net_null0" }/device: "net_null0", flow_isolate: true }/' "$TMP/null.yaml" >"$TMP/isolate.yaml"
timeout 60 "$FHD" -c "$TMP/isolate.yaml" --duration 1 >"$TMP/isolate.out" 2>"$TMP/isolate.err"
rc=$?
check "flow_isolate on net_null: exit 1 ($rc), said ($(grep flow_isolate "$TMP/isolate.err"))" \
	bash -c "[ $rc = 1 ] && grep -q '^fhd: port p0: flow_isolate: the PMD (net_null) cannot isolate: ' '$TMP/isolate.err'"
check "... before anything is received (no running line)" bash -c "! grep -q '^fhd: running' '$TMP/isolate.err'"

sed -e 's/device: "net_null0" }/device: "net_null0", rx_queues: 2 }/' \
	-e 's/\(B: {.*port: p0\) }/\1, queue: 1 }/' "$TMP/null.yaml" >"$TMP/queue1.yaml"
timeout 60 "$FHD" -c "$TMP/queue1.yaml" --duration 1 >"$TMP/queue1.out" 2>"$TMP/queue1.err"
rc=$?
check "line B on queue 1 without rte_flow: runs ($rc), warned ($(grep 'queue 1' "$TMP/queue1.err"))" \
	bash -c "[ $rc = 0 ] && grep -qx 'fhd: warning: port p0: feed itch line B is on queue 1, which receives nothing without rte_flow' '$TMP/queue1.err'"

sed 's/device: "net_null0" }/device: "kernel:lo", flow_isolate: true }/' "$TMP/null.yaml" >"$TMP/kernel.yaml"
"$FHD" --check -c "$TMP/kernel.yaml" >"$TMP/kernel.out" 2>&1
rc=$?
check "flow_isolate on a kernel: port: config error, exit 2 ($rc: $(head -1 "$TMP/kernel.out"))" \
	bash -c "[ $rc = 2 ] && grep -qE 'kernel.yaml:[0-9]+:[0-9]+: ports\[0\]\.flow_isolate: expected flow_isolate on a DPDK port only' '$TMP/kernel.out'"

if [ "$(nproc)" -ge 3 ]; then
	{ sed 's/rx: \[1\]/rx: [1, 2]/' "$TMP/null.yaml"; cat <<'YAML'
  - name: itch2
    protocol: itch50-moldudp64
    lcore: 2
    lines:
      A: { group: 233.54.12.112, udp_port: 26477, port: p0 }
    book: { instruments: 16, orders: 1024, levels: 64 }
YAML
	} >"$TMP/shared.yaml"
	timeout 60 "$FHD" -c "$TMP/shared.yaml" --duration 1 >"$TMP/shared.out" 2>"$TMP/shared.err"
	rc=$?
	check "queue 0 polled by lcores 1 and 2: refused, exit 1 ($rc: $(grep 'polled by' "$TMP/shared.err"))" \
		bash -c "[ $rc = 1 ] && grep -q '^fhd: port p0: queue 0 is polled by lcores 1 and 2' '$TMP/shared.err'"
else
	echo "two RX lcores on one queue: not run ($(nproc) CPUs, 3 needed)"
fi
finish
