#!/usr/bin/env bash
# fhd --check: the config and the files and directories it names, checked as fhd checks
# them at start, without DPDK and without creating anything. Every shipped config
# passes ("config OK", exit 0); a bad key, a journal directory others can write, or a
# prometheus file's directory reached through a symbolic link exits 2 with the same
# line fhd itself prints, and fhd without --check refuses the same configs. A vdev
# (net_af_packet, net_af_xdp) on an interface the host lacks: --check warns, fhd refuses.
source "$(dirname "$0")/lib.sh"

# check_ok LABEL ARGS...: exit 0, stdout exactly "config OK", no DPDK output.
check_ok() {
	local label=$1 rc
	shift
	"$FHD" --check "$@" >"$TMP/ok.out" 2>"$TMP/ok.err"
	rc=$?
	check "$label: exit 0 ($rc; $(head -1 "$TMP/ok.err"))" [ $rc = 0 ]
	check "$label: prints one line, config OK" [ "$(cat "$TMP/ok.out")" = "config OK" ]
	check "$label: DPDK never starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$TMP/ok.out' '$TMP/ok.err'"
}

# check_bad LABEL PATTERN CONFIG: --check exits 2 with PATTERN, and so does fhd itself.
check_bad() {
	local label=$1 pattern=$2 config=$3 rc
	"$FHD" --check -c "$config" >"$TMP/bad.out" 2>&1
	rc=$?
	check "$label: --check exits 2 ($rc)" [ $rc = 2 ]
	check "$label: says why ($(head -1 "$TMP/bad.out"))" grep -qE "$pattern" "$TMP/bad.out"
	check "$label: --check does not print config OK" bash -c "! grep -q 'config OK' '$TMP/bad.out'"
	check "$label: DPDK never starts" bash -c "! grep -qE 'EAL|TELEMETRY' '$TMP/bad.out'"
	"$FHD" -c "$config" --replay /dev/null >"$TMP/run.out" 2>&1
	rc=$?
	check "$label: fhd itself refuses it too, exit 2 ($rc)" \
		bash -c "[ $rc = 2 ] && grep -qE '$pattern' '$TMP/run.out'"
}

check_ok "built-in config"
for c in config/default.yaml examples/quickstart.yaml bench/fhd-bench.yaml; do
	check_ok "$c" -c "$ROOT/$c"
done
# Any other fhd config someone adds to the tree (an fhd config has an lcores: key).
while IFS= read -r c; do
	case $c in config/default.yaml|examples/quickstart.yaml|bench/fhd-bench.yaml) continue ;; esac
	grep -q '^lcores:' "$ROOT/$c" && check_ok "$c" -c "$ROOT/$c"
done < <(cd "$ROOT" && git ls-files '*.yaml' 2>/dev/null | grep -v '^tests/corpus/')

"$FHD" --print-default-config >"$TMP/base.yaml"
sed 's/^mbufs:/mbuffs:/' "$TMP/base.yaml" >"$TMP/unknown.yaml"
check_bad "unknown key" "unknown.yaml:[0-9]+:[0-9]+: " "$TMP/unknown.yaml"

# A journal directory others can write: fhd's ownership check, not only the loader's.
mkdir -m 0777 "$TMP/open-journal"
chmod 0777 "$TMP/open-journal"
{ cat "$TMP/base.yaml"; printf 'journal:\n  dir: "%s"\n' "$TMP/open-journal"; } >"$TMP/journal.yaml"
check_bad "journal dir mode 0777" "journal directory .*writable by group or others" "$TMP/journal.yaml"

# The prometheus file's directory through a symbolic link.
mkdir -m 0750 "$TMP/metrics"
ln -s "$TMP/metrics" "$TMP/metrics-link"
{ cat "$TMP/base.yaml"; printf 'stats:\n  prometheus_file: "%s/fh.prom"\n' "$TMP/metrics-link"; } >"$TMP/prom.yaml"
check_bad "prometheus dir a symlink" "prometheus_file .*symbolic link" "$TMP/prom.yaml"

# A vdev on an interface this host lacks: --check warns (it may run where the config
# is written), fhd refuses it before DPDK starts, for AF_PACKET and AF_XDP alike.
for vdev in net_af_packet0 net_af_xdp0; do
	sed "s/\"net_af_packet0,iface=fh0\"/\"$vdev,iface=fhnone$$\"/" "$TMP/base.yaml" >"$TMP/$vdev.yaml"
	grep -q "iface=fhnone$$" "$TMP/$vdev.yaml" || fail "$vdev: the built-in config's port is no longer net_af_packet0,iface=fh0"
	"$FHD" --check -c "$TMP/$vdev.yaml" >"$TMP/iface.out" 2>&1
	rc=$?
	check "$vdev on no interface: --check warns, exit 0 ($rc)" \
		bash -c "[ $rc = 0 ] && grep -q 'warning: port .*: no network interface fhnone$$ on this host' '$TMP/iface.out'"
	"$FHD" -c "$TMP/$vdev.yaml" >"$TMP/iface.out" 2>&1
	rc=$?
	check "$vdev on no interface: fhd refuses it, exit 2 ($rc), before DPDK" \
		bash -c "[ $rc = 2 ] && grep -q 'no network interface fhnone$$ on this host' '$TMP/iface.out' &&
			! grep -qE 'EAL|vdev_probe' '$TMP/iface.out'"
done

# Two ports on one interface where they would split or take each other's frames:
# refused before DPDK starts (exit 2), by --check too; a kernel: port beside
# net_af_packet on one interface is not (AF_PACKET takes copies).
two_ports() {
	cat <<YAML
eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci"]
lcores: { main: 0, rx: [1] }
ports:
  - { name: p1, device: "$1" }
  - { name: p2, device: "$2" }
feeds:
  - name: itch
    protocol: itch50-moldudp64
    lcore: 1
    lines:
      A: { group: 233.54.12.111, udp_port: 26477, port: p1 }
      B: { group: 233.49.196.111, udp_port: 26477, port: p2 }
    book: { instruments: 256, orders: 65536, levels: 256 }
YAML
}
for pair in "net_af_packet0,iface=lo net_af_packet1,iface=lo" "net_af_packet0,iface=lo net_af_xdp0,iface=lo" \
	"kernel:lo net_af_xdp0,iface=lo"; do
	two_ports $pair >"$TMP/two.yaml"
	for mode in --check ""; do
		"$FHD" $mode -c "$TMP/two.yaml" >"$TMP/two.out" 2>&1
		rc=$?
		check "two ports on lo (${pair// / + }) ${mode:-start}: refused, exit 2 ($rc), before DPDK" \
			bash -c "[ $rc = 2 ] && grep -q 'ports p1 and p2 are both on interface lo' '$TMP/two.out' &&
				! grep -qE 'EAL|vdev_probe' '$TMP/two.out'"
	done
done
two_ports "kernel:lo" "net_af_packet0,iface=lo" >"$TMP/two.yaml"
"$FHD" --check -c "$TMP/two.yaml" >"$TMP/two.out" 2>&1
rc=$?
check "kernel:lo beside net_af_packet on lo: accepted by --check ($rc)" [ $rc = 0 ]

# A good journal and prometheus directory pass, and --check creates nothing in them.
mkdir -m 0750 "$TMP/journal"
{ cat "$TMP/base.yaml"; printf 'journal:\n  dir: "%s"\nstats:\n  prometheus_file: "%s/fh.prom"\n' \
	"$TMP/journal" "$TMP/metrics"; } >"$TMP/good.yaml"
ls /dev/shm >"$TMP/shm.before"
check_ok "journal and prometheus directories" -c "$TMP/good.yaml"
check "--check writes nothing in the journal or prometheus directory" \
	bash -c "[ -z \"\$(find '$TMP/journal' '$TMP/metrics' -mindepth 1)\" ]"
check "--check makes no /dev/shm segment" bash -c "ls /dev/shm | cmp -s - '$TMP/shm.before'"
finish
