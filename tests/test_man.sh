#!/usr/bin/env bash
# test_man: the man pages make builds from docs/man/*.md (tools/md2man.py). Each renders
# with no groff warning (groff -man -Tutf8 -ww -z) and reads with man -l; fhd(8), fh(1)
# and fh-pcap(1) document every option their --help lists (fh: every command's), and
# --version; libfh(3) every function fh.h declares. make install-man puts them under
# MANDIR/man{1,3,8} and make uninstall-man takes them away. md2man refuses Markdown
# outside its subset rather than render it wrong.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		failures=$((failures + 1))
	fi
}

command -v groff >/dev/null && command -v man >/dev/null || { echo "groff or man not installed: skip"; exit 77; }
for p in fhd.8 fh.1 fh-pcap.1 libfh.3; do
	[ -f "$B/man/$p" ] || { echo "$B/man/$p not built (make all builds it)"; exit 1; }
done

# The page as text, one long line per paragraph, with groff's minus and hyphen signs
# as ASCII '-' and no hyphenation breaks.
render() {
	MANWIDTH=2000 man -l "$1" 2>/dev/null | col -b | sed 's/\xe2\x88\x92/-/g; s/\xe2\x80\x90/-/g; s/\xc2\xad//g'
}

for p in fhd.8 fh.1 fh-pcap.1 libfh.3; do
	groff -man -Tutf8 -ww -z "$B/man/$p" 2>"$TMP/warn"
	check "$p: groff -ww renders it without a warning" [ ! -s "$TMP/warn" ] || sed 's/^/     /' "$TMP/warn"
	render "$B/man/$p" >"$TMP/$p.txt"
	check "$p: man -l shows its NAME and DESCRIPTION" grep -q '^DESCRIPTION' "$TMP/$p.txt"
	check "$p: the page is the one built from docs/man/$p.md" \
		cmp -s <(python3 "$ROOT/tools/md2man.py" --version X "$ROOT/docs/man/$p.md" | sed 1d) <(sed 1d "$B/man/$p")
done

# Every option a --help lists is in the page (word-bounded), and --version too.
options_check() {
	local page=$1 help=$2 opt
	for opt in $(grep -oE '(^|[][ ,|(])--?[A-Za-z][A-Za-z0-9-]*' "$help" | sed -E 's/^[][ ,|(]//' | sort -u) --version; do
		check "$page documents $opt" grep -qE -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|$)" "$TMP/$page.txt"
	done
}
"$B/fhd" --help >"$TMP/fhd.help" 2>&1
options_check fhd.8 "$TMP/fhd.help"
{ "$B/fh" --help; for c in tail top stat report; do "$B/fh" "$c" --help; done; } >"$TMP/fh.help" 2>&1
options_check fh.1 "$TMP/fh.help"
"$B/fh-pcap" --help >"$TMP/fh-pcap.help" 2>&1
options_check fh-pcap.1 "$TMP/fh-pcap.help"
for c in tail top stat report; do
	check "fh.1 documents the command fh $c" grep -q "fh $c" "$TMP/fh.1.txt"
done
for f in $(grep -oE '^[a-z].*[^a-z_](fh_[a-z_]+)\(' "$ROOT/publish/libfh/fh.h" | grep -oE 'fh_[a-z_]+\($' | tr -d '(' | sort -u); do
	check "libfh.3 documents $f" grep -qw "$f" "$TMP/libfh.3.txt"
done

# Installed where man looks for them, and removed again.
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$TMP/dest" PREFIX=/usr install-man >"$TMP/install.log" 2>&1
check "make install-man exits 0" [ $? = 0 ] || cat "$TMP/install.log"
for p in man8/fhd.8 man1/fh.1 man1/fh-pcap.1 man3/libfh.3; do
	check "installed /usr/share/man/$p" [ -f "$TMP/dest/usr/share/man/$p" ]
done
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$TMP/dest" PREFIX=/usr uninstall-man >>"$TMP/install.log" 2>&1
check "make uninstall-man removes them" [ -z "$(find "$TMP/dest" -type f)" ]

# md2man refuses what it cannot render faithfully: a table, a nested list.
printf '# x(1) - y\n\n| a | b |\n' >"$TMP/table.md"
check "md2man refuses a table" bash -c "! python3 '$ROOT/tools/md2man.py' '$TMP/table.md' >/dev/null 2>&1"
printf '# x(1) - y\n\n- a\n  - b\n' >"$TMP/nested.md"
check "md2man refuses a nested list" bash -c "! python3 '$ROOT/tools/md2man.py' '$TMP/nested.md' >/dev/null 2>&1"

echo "$failures failures"
[ "$failures" -eq 0 ]
