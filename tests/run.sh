#!/usr/bin/env bash
# `make test`: every test, release and sanitizer builds. Each test exits 0 pass,
# 77 skip, anything else fail; its output is kept in build/test-logs/ and shown on
# failure, a skip's last line beside it. A test that leaves something in /dev/shm is
# named, and the suite fails if anything is left there at its end. Ends with
# "N passed, N failed, N skipped" and exits non-zero on a failure.
# tests/run.sh --quick (`make check`): the unit tests (both builds) and the core
# replays (CHECK_TESTS) only, for the edit-compile loop. tests/run.sh --about: what
# the suite does to the machine as root (make test prints it first, before building;
# FH_TEST_ABOUT=0 then keeps this run from saying it again).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# What the suite does to this machine (keep it in step with the tests: grep them for
# useradd, ip netns, ip link, mount, /proc/sys, chown).
about() {
	cat <<EOF
make test: every test, release and ASan+UBSan builds; logs in build/test-logs/.
As root it changes this machine while the tests run, and undoes each change:
  packages   missing Debian packages are installed first (tools/install-deps.sh, apt-get)
  users      fhtest-<pid> (test_security_files; an existing user fhtest is used instead)
             and fhtest-seg<pid> (test_security_segments): useradd -M -r, then userdel
  sysctl     fs.protected_regular set to 0, 1 and 2 in turn, then restored (test_shm_segment)
  network    namespace fhjr<pid> with a veth pair fhj<pid>a/b that tcpreplay sends
             into (test_journal_recovery); namespace pairs fhwrx/fhwtx<pid>,
             fhvrx/fhvtx<pid> and fhkrx/fhktx<pid>, each joined by a veth pair
             (fhw<pid>a/b, fhv<pid>a/b, fhk<pid>a/b) where fhd joins multicast groups
             and tcpreplay sends (test_paths, test_live, test_kernel_port; test_paths
             attaches an XDP program and sets the veth MTU; test_kernel_port adds a
             second pair fhk<pid>ao/bo between them; IPv6 off inside them);
             a namespace fhig<pid> holding one end of a veth pair fhi<pid>a/b, where
             tshark captures fhd's own IGMP reports and a script sends it queries
             (test_igmp_live); a veth pair fhp<pid>a/b without a namespace
             (test_privileges); namespaces fhcrx<pid> and fhctx<pid> joined by a
             veth pair fhc<pid>a/b, where fh-blast paces a session into fhd on each
             receive path, net_af_xdp loading an XDP program on the veth
             (test_bench_quick: bench/colo.sh)
  mounts     two small tmpfs (1 MiB, 64 KiB) inside the test's /tmp/fh-test.* directory
             (test_journal)
  files      /dev/shm segments named fh*<pid>* and /tmp/fh-test.* directories, removed;
             some are chowned to uids 65533/65534 or made by the test users
  no hugepages (every fhd and EAL runs with --no-huge), no firewall or route change
EOF
}
quick=0
case ${1:-} in
--about) about; exit 0 ;;
--quick) quick=1; shift ;;
esac
B=$(cd "${1:-$ROOT/build}" && pwd)
export B
LOGS=$B/test-logs
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0

if [ $quick = 1 ]; then
	echo "make check: the unit tests (release, ASan+UBSan) and the core replays; make test runs everything"
elif [ "${FH_TEST_ABOUT:-1}" != 0 ]; then
	about
fi

# The suite's entries in /dev/shm (all its names begin with fh), one per line: a
# test's leftovers are the new ones. Another program's are none of its business.
shm_list() { ls -A /dev/shm 2>/dev/null | grep '^fh' | sort; }
shm_list >"$LOGS/shm.start"

# The tests `make check` runs besides the unit tests: the reference models' self
# tests, and replays through fhd compared with them (books, events, faults; the
# malformed capture under ASan+UBSan).
CHECK_TESTS=" ref_book_selftest ref_mdp3_selftest ref_events_selftest test_replay test_differential test_gen_books test_malformed test_events "

run() {
	local name=$1 rc start=$SECONDS log=$LOGS/${1//\//_}.log left
	shift
	if [ $quick = 1 ] && [ $unit = 0 ] && [[ $CHECK_TESTS != *" $name "* ]]; then
		return 0
	fi
	shm_list >"$LOGS/shm.before"
	"$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0) passed=$((passed + 1)); printf '  PASS  %-34s %3ss\n' "$name" $((SECONDS - start)) ;;
	77) skipped=$((skipped + 1)); printf '  SKIP  %-34s %s\n' "$name" "$(grep -v '^$' "$log" | tail -1 | cut -c1-100)" ;;
	*) failed=$((failed + 1)); printf '  FAIL  %s (exit %d)\n' "$name" "$rc"; tail -30 "$log" | sed 's/^/        /' ;;
	esac
	left=$(shm_list | comm -13 "$LOGS/shm.before" - | tr '\n' ' ')
	[ -z "$left" ] || printf '        %s left in /dev/shm: %s\n' "$name" "$left"
}

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

unit=1	# the unit tests: make check runs them all
echo "unit tests (release, then ASan+UBSan):"
for t in "$B"/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
	[ -x "$B/asan/$(basename "$t")" ] && run "asan/$(basename "$t")" "$B/asan/$(basename "$t")"
done

unit=0
echo "tools, replay, differential, sanitizer and allocation tests:"
run ref_book_selftest python3 "$ROOT/tests/ref_book.py" selftest
run ref_mdp3_selftest python3 "$ROOT/tests/ref_mdp3.py" selftest
run test_mdp3_book_ref "$ROOT/tests/test_mdp3_book_ref.sh" "$B/mdp3-book-replay"
run asan/test_mdp3_book_ref "$ROOT/tests/test_mdp3_book_ref.sh" "$B/asan/mdp3-book-replay"
run ref_events_selftest python3 "$ROOT/tests/ref_events.py" selftest
run test_fh_pcap "$ROOT/tests/test_fh_pcap.sh" "$B/fh-pcap"
run asan/test_fh_pcap "$ROOT/tests/test_fh_pcap.sh" "$B/asan/fh-pcap"
run test_gen_books "$ROOT/tests/test_gen_books.sh"
run test_gen_mdp3 "$ROOT/tests/test_gen_mdp3.sh"
run test_fh_pcap_hostile "$ROOT/tests/test_fh_pcap_hostile.sh" "$B/fh-pcap"
run asan/test_fh_pcap_hostile "$ROOT/tests/test_fh_pcap_hostile.sh" "$B/asan/fh-pcap"
run test_fh_pcap_pcapng "$ROOT/tests/test_fh_pcap_pcapng.sh" "$B/fh-pcap"
run asan/test_fh_pcap_pcapng "$ROOT/tests/test_fh_pcap_pcapng.sh" "$B/asan/fh-pcap"
run test_recovery_servers "$ROOT/tests/test_recovery_servers.sh"
run test_config_errors "$ROOT/tests/test_config_errors.sh"
run test_fhd_check "$ROOT/tests/test_fhd_check.sh"
run test_config_doc python3 "$ROOT/tests/test_config_doc.py" "$B/config_probe"
run test_docs "$ROOT/tests/test_docs.sh"
run test_man "$ROOT/tests/test_man.sh"
run test_cli "$ROOT/tests/test_cli.sh"
run test_prometheus "$ROOT/tests/test_prometheus.sh"
run test_telemetry "$ROOT/tests/test_telemetry.sh"
run test_http_metrics "$ROOT/tests/test_http_metrics.sh"
run test_capacity "$ROOT/tests/test_capacity.sh"
run test_replay "$ROOT/tests/test_replay.sh"
run test_replay_end "$ROOT/tests/test_replay_end.sh"
run test_sighup "$ROOT/tests/test_sighup.sh"
run test_differential "$ROOT/tests/test_differential.sh"
run test_malformed "$ROOT/tests/test_malformed.sh"
run test_hostile_input "$ROOT/tests/test_hostile_input.sh"
run test_pcapng_format "$ROOT/tests/test_pcapng.sh"
run test_journal "$ROOT/tests/test_journal.sh"
run test_journal_recovery "$ROOT/tests/test_journal_recovery.sh"
run test_security_files "$ROOT/tests/test_security_files.sh"
run test_privileges "$ROOT/tests/test_privileges.sh"
run test_latency "$ROOT/tests/test_latency.sh"
run test_report "$ROOT/tests/test_report.sh"
run test_clock_skew "$ROOT/tests/test_clock_skew.sh"
run test_publish "$ROOT/tests/test_publish.sh"
run test_install "$ROOT/tests/test_install.sh"
run test_systemd "$ROOT/tests/test_systemd.sh"
run test_log_severity "$ROOT/tests/test_log_severity.sh"
run test_libfh_cxx "$ROOT/tests/test_libfh_cxx.sh"
run test_quickstart "$ROOT/tests/test_quickstart.sh"
run test_bench_quick "$ROOT/tests/test_bench_quick.sh"
run test_events "$ROOT/tests/test_events.sh"
run asan/test_events env FHD="$B/asan/fhd" FH_SEEDS=11 "$ROOT/tests/test_events.sh"
run test_recovery "$ROOT/tests/test_recovery.sh"
run test_recovery_hostile "$ROOT/tests/test_recovery_hostile.sh"
run test_recovery_retry "$ROOT/tests/test_recovery_retry.sh"
run test_security_segments "$ROOT/tests/test_security_segments.sh"
run test_fuzz "$ROOT/tests/test_fuzz.sh"
run test_fuzz_libfh "$ROOT/tests/test_fuzz_libfh.sh"
run test_fuzz_recovery "$ROOT/tests/test_fuzz_recovery.sh"
run test_fuzz_mdp3 "$ROOT/tests/test_fuzz_mdp3.sh"
# The recovery path's simulation over fixed seeds (a few seconds; `make simulate` runs longer).
run sim_recovery "$B/sim_recovery" --seed 1 --seeds 300
# Found by longer runs: a corrupt far-future line copy confirming a snapshot that lies as far ahead.
run sim_recovery_1131 "$B/sim_recovery" --seed 1131
run sim_recovery_1779 "$B/sim_recovery" --seed 1779
# Found by the attack review: a far-future copy believed as a hole's end (7295), the
# last packet before silence (8656, 11904).
run sim_recovery_7295 "$B/sim_recovery" --seed 7295
run sim_recovery_8656 "$B/sim_recovery" --seed 8656
run sim_recovery_11904 "$B/sim_recovery" --seed 11904
run asan/sim_recovery "$B/asan/sim_recovery" --seed 1 --seeds 50
run test_consumer "$ROOT/tests/test_consumer.sh"
run test_alloc "$ROOT/tests/test_alloc.sh"
run test_paths "$ROOT/tests/test_paths.sh"
run test_live "$ROOT/tests/test_live.sh"
run test_kernel_port "$ROOT/tests/test_kernel_port.sh"
run test_igmp_live "$ROOT/tests/test_igmp.sh"
run asan/test_igmp_live env FHD="$B/asan/fhd" "$ROOT/tests/test_igmp.sh"
run test_flow "$ROOT/tests/test_flow.sh"

# Nothing of the suite's own may stay behind in /dev/shm.
left=$(shm_list | comm -13 "$LOGS/shm.start" - | tr '\n' ' ')
if [ -n "$left" ]; then
	failed=$((failed + 1))
	printf '  FAIL  %-34s %s\n' "/dev/shm left clean" "left behind: $left"
else
	passed=$((passed + 1))
	printf '  PASS  %-34s\n' "/dev/shm left clean"
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
