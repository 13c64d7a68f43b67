# Helpers the gap-recovery shell tests share (sourced after lib.sh): the feed's
# config, an fhd replay bounded by `timeout`, its book state, and the test servers
# killed at exit. `timeout` turns a hang into a failure; it times nothing.

HANG=${HANG:-120}	# seconds: far beyond any case's retries x timeouts; only a hang reaches it
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

# config FILE SECTION...: one feed on net_null, lines A and B (lib.sh's feed_yaml), plus
# the sections; mode 0600 (it may hold a password).
config() {
	local file=$1
	shift
	feed_yaml "{ instruments: 256, orders: 262144, levels: 1024 }" "$@" >"$file"
	chmod 0600 "$file"
}

# run_fhd NAME PCAP [SECONDS]: fhd on the config NAME.yaml, stopped after SECONDS
# (default HANG); $rc is its exit status (124: hung). Stopped, it still writes its report.
run_fhd() {
	timeout -k 5 "${3:-$HANG}" "$FHD" -c "$TMP/$1.yaml" --replay "$2" --dump-books "$TMP/$1.dump" \
		>"$TMP/$1.log" 2>"$TMP/$1.err"
	rc=$?
}

# state LOG: the feed's book state at the end of the run.
state() { sed -nE 's/^  book_state ([a-z]+).*/\1/p' "$1" | head -1; }
