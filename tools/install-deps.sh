#!/usr/bin/env bash
# Installs the Debian 12 packages fh needs to build, test and benchmark, when missing.
# Idempotent and quiet when everything is there; needs root (or sudo) to install.
set -euo pipefail

# prometheus: for promtool (tests/test_prometheus.sh checks fhd's metrics file with it);
# no smaller Debian package carries promtool.
# libmicrohttpd-dev: fhd's HTTP /metrics (stats.http); only fhd links it.
# libsystemd-dev: fhd's sd_notify (readiness and watchdog under systemd, Type=notify);
# systemd: systemd-analyze, which tests/test_systemd.sh verifies fhd.service with.
# g++: the C++ consumer test (libfh's headers and library from C++; build-essential has it too).
packages=(build-essential g++ pkg-config libdpdk-dev dpdk libyaml-dev liburing-dev libpcap-dev libmicrohttpd-dev
	  python3 tshark tcpreplay gnuplot-nox iproute2 clang libclang-rt-14-dev valgrind prometheus
	  libsystemd-dev systemd)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
