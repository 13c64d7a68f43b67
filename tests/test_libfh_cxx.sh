#!/usr/bin/env bash
# libfh from C++, its version and its ABI check.
#  - Headers: every header a consumer includes (<fh/fh.h>, <fh/fh_event.h>) compiles
#    alone as C11, C17 and gnu11 and as C++11, C++17 and C++20 with -Wall -Wextra
#    -Werror -pedantic (and -Wconversion, -Wold-style-cast and the like), with
#    gcc/g++ and clang/clang++ where present; so do the
#    in-tree segment layouts (ring_layout.h, stats_layout.h; conflated_layout.h, whose
#    flexible array member is a GNU extension in C++, without -pedantic there).
#  - Version: fh_version() of the library, FH_VERSION_STRING and the numbers of the
#    header, and `pkg-config --modversion fh` (the Makefile's FH_VERSION) agree.
#  - Exports: libfh.so exports exactly the functions fh.h declares, each with a
#    symbol version (FH_1.0 for 0.1's, FH_1.1 for fh_attach_abi and fh_version).
#  - A C++ consumer (tests/cxx_consumer.cpp), built with g++ against build/fh.pc,
#    dynamically and statically, reads a ring fhd published (a generated session
#    with holes both lines lost, then a second session: gaps, STALE, a clear, OK
#    again). What it prints equals, line for line, the reference model's expected
#    events (tests/ref_events.py pcap, from the capture) and what ref_events.py reads
#    from the same ring through ctypes.
#  - ABI: a consumer compiled against headers whose event layout version, event size
#    or fh_top size differ from the library's is refused at attach (-EPROTO, a message
#    naming both), though the ring is there and good. A program built against 0.1's
#    libfh.so.1 (unversioned symbols, the plain fh_attach) still runs on this one; a
#    program that needs FH_1.1 is refused by the loader on a libfh.so.1 without it.
source "$(dirname "$0")/lib.sh"

command -v g++ >/dev/null || { echo "g++ not installed (tools/install-deps.sh installs it): skip"; exit 77; }
command -v pkg-config >/dev/null || { echo "pkg-config not installed: skip"; exit 77; }
ring=fhcxx$$
trap 'rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top /dev/shm/$ring-stats; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
export PKG_CONFIG_PATH=$B
REFEV="python3 $ROOT/tests/ref_events.py"

# --- headers, alone, in every language standard ---
compilers=(gcc g++)
command -v clang >/dev/null && compilers+=(clang)
command -v clang++ >/dev/null && compilers+=(clang++)
# The warnings strict projects add, on top: C++ also -Wold-style-cast and
# -Wzero-as-null-pointer-constant, C -Wstrict-prototypes.
strict_c="-Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wstrict-prototypes"
strict_cxx="-Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wold-style-cast -Wzero-as-null-pointer-constant"
header_compiles() { # header_compiles COMPILER STD PEDANTIC INCLUDE: a TU of that header alone
	local lang=c strict=$strict_c
	case $1 in *++) lang=c++ strict=$strict_cxx ;; esac
	# shellcheck disable=SC2086
	printf '#include %s\nint fh_header_test;\n' "$4" |
		"$1" -x $lang -std="$2" -Wall -Wextra -Werror $strict $3 -I"$B/include" -I"$ROOT" -fsyntax-only - 2>"$TMP/hdr.err"
}
for cc in "${compilers[@]}"; do
	case $cc in *++) stds="c++11 c++17 c++20" ;; *) stds="c11 c17 gnu11" ;; esac
	for std in $stds; do
		for h in "<fh/fh.h>" "<fh/fh_event.h>" '"publish/libfh/ring_layout.h"' '"publish/libfh/stats_layout.h"'; do
			header_compiles "$cc" "$std" -pedantic "$h"
			check "$cc -std=$std -pedantic: $h alone" [ $? = 0 ] || head -5 "$TMP/hdr.err"
		done
		pedantic=-pedantic
		case $cc in *++) pedantic= ;; esac
		header_compiles "$cc" "$std" "$pedantic" '"publish/libfh/conflated_layout.h"'
		check "$cc -std=$std ${pedantic:-(no -pedantic)}: conflated_layout.h alone" [ $? = 0 ] || head -5 "$TMP/hdr.err"
	done
done
# The check must be able to fail: a C++ compiler on 0.1's header (_Static_assert, no
# extern "C") is refused, as the issue found.
sed 's/^FH_STATIC_ASSERT(/_Static_assert(/' "$B/include/fh/fh_event.h" >"$TMP/old_event.h"
printf '#include "%s"\n' "$TMP/old_event.h" | g++ -x c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only - 2>/dev/null
check "control: g++ refuses a header with _Static_assert" [ $? != 0 ]

# --- version: the library, the header and pkg-config say the same ---
cat >"$TMP/version.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <fh/fh.h>
int main(void)
{
	printf("%s %s %d.%d.%d %d\n", fh_version(), FH_VERSION_STRING, FH_VERSION_MAJOR, FH_VERSION_MINOR,
	       FH_VERSION_PATCH, FH_VERSION_NUMBER);
	return 0;
}
EOF
cc -Wall -Wextra -Werror "$TMP/version.c" $(pkg-config --cflags --libs fh) -o "$TMP/version" 2>"$TMP/version.err"
read -r lib header numbers number <<<"$("$TMP/version")"
modversion=$(pkg-config --modversion fh)
echo "fh_version() $lib, FH_VERSION_STRING $header, numbers $numbers ($number), pkg-config --modversion $modversion"
check "fh_version() = FH_VERSION_STRING = the numbers = pkg-config --modversion fh" \
	[ -n "$lib" -a "$lib" = "$header" -a "$header" = "$numbers" -a "$numbers" = "$modversion" ]
IFS=. read -r ma mi pa <<<"$numbers"
check "FH_VERSION_NUMBER is MAJOR*10000 + MINOR*100 + PATCH" [ "$number" = $((ma * 10000 + mi * 100 + pa)) ]

# --- exports: exactly fh.h's functions, each versioned ---
declared=$(grep -oE '^[a-z][a-z0-9_ ]*[ *](fh_[a-z_]+)\(' "$ROOT/publish/libfh/fh.h" | grep -oE 'fh_[a-z_]+' | sort -u)
exported=$(nm -D --defined-only "$B/libfh.so.1" | awk '$2 == "T" { print $3 }' | sort -u)
echo "exported: $(echo "$exported" | tr '\n' ' ')"
check "libfh.so exports exactly the functions fh.h declares" [ "$(echo "$exported" | sed 's/@.*//')" = "$declared" ]
check "each with a symbol version (FH_1.x), the two of 0.2.0 in FH_1.1" bash -c "
	! echo '$exported' | grep -v '@@FH_1\.[0-9]*$' &&
	echo '$exported' | grep -qx 'fh_attach_abi@@FH_1.1' && echo '$exported' | grep -qx 'fh_version@@FH_1.1' &&
	echo '$exported' | grep -qx 'fh_attach@@FH_1.0'"

# --- the C++ consumer on a ring, against the reference ---
g++ -std=c++17 -Wall -Wextra -Werror -pedantic "$ROOT/tests/cxx_consumer.cpp" $(pkg-config --cflags --libs fh) \
	-o "$TMP/cxx_consumer" 2>"$TMP/cxx.err"
check "the C++ consumer builds with g++ and pkg-config (shared libfh)" [ -x "$TMP/cxx_consumer" ] || cat "$TMP/cxx.err"
g++ -std=c++11 -Wall -Wextra -Werror -pedantic "$ROOT/tests/cxx_consumer.cpp" $(pkg-config --cflags fh) "$B/libfh.a" \
	-o "$TMP/cxx_static" 2>"$TMP/cxx_static.err"
check "and as C++11 against libfh.a" [ -x "$TMP/cxx_static" ] || cat "$TMP/cxx_static.err"
check "it loads build/libfh.so.1" bash -c "ldd '$TMP/cxx_consumer' | grep -q '=> $B/libfh.so.1 '"

"$FH_PCAP" gen --seed 21 --messages 12000 --symbols 9 --out "$TMP/s.pcap" 2>/dev/null
python3 "$ROOT/tests/pcap_craft.py" holes "$TMP/s.pcap" "$TMP/holes.pcap" 700-760 3000-3004
"$FH_PCAP" gen --seed 22 --messages 2000 --symbols 3 --session SECOND0001 --out "$TMP/second.pcap" 2>/dev/null
python3 "$ROOT/tests/pcap_craft.py" concat "$TMP/holes.pcap" "$TMP/second.pcap" "$TMP/two.pcap"
$REFEV pcap "$TMP/two.pcap" >"$TMP/expected"
check "the reference has gaps, stale events, a clear and ok again" bash -c "
	grep -q '^gap ' '$TMP/expected' && grep -q '^trade .* state stale | ' '$TMP/expected' &&
	grep -q '^cleared state stale$' '$TMP/expected' && grep -q '^book_state new_session 0 0$' '$TMP/expected'"
pub_yaml $ring 262144 4 0600 >"$TMP/pub.yaml"
"$FHD" -c "$TMP/pub.yaml" --replay "$TMP/two.pcap" >"$TMP/fhd.log" 2>&1
check "fhd publishes the two sessions" [ $? = 0 ] || tail -5 "$TMP/fhd.log"
for consumer in cxx_consumer cxx_static; do
	"$TMP/$consumer" $ring-1 >"$TMP/$consumer.out" 2>"$TMP/$consumer.err"
	rc=$?
	cat "$TMP/$consumer.err"
	check "$consumer reads the ring whole (rc $rc)" [ $rc = 0 ]
	cut -d' ' -f2- "$TMP/$consumer.out" >"$TMP/$consumer.lines"
	same_file "$consumer: its $(wc -l <"$TMP/$consumer.lines") events are the reference model's" \
		"$TMP/expected" "$TMP/$consumer.lines"
done
check "and its conflated view holds the second session's instruments" grep -q " 3 instruments in the conflated view" \
	"$TMP/cxx_consumer.err"
$REFEV ring "$B/libfh.so" $ring-1 >"$TMP/ctypes.out" 2>"$TMP/ctypes.err"
same_file "C++ and ctypes read the same ring the same, seq for seq" "$TMP/ctypes.out" "$TMP/cxx_consumer.out"

# --- the ABI check: consumers built against other headers are refused ---
# mismatch NAME SED: the consumer built against a copy of the headers edited by SED.
mismatch() {
	local dir=$TMP/hdr-$1
	mkdir -p "$dir/fh"
	cp "$B/include/fh/"*.h "$dir/fh/"
	sed -i "$2" "$dir/fh/fh.h" "$dir/fh/fh_event.h"
	if cmp -s "$dir/fh/fh.h" "$B/include/fh/fh.h" && cmp -s "$dir/fh/fh_event.h" "$B/include/fh/fh_event.h"; then
		fail "$1: the edit changed nothing"; return
	fi
	g++ -std=c++17 -Wall -Wextra -I"$dir" "$ROOT/tests/cxx_consumer.cpp" -L"$B" -Wl,-rpath,"$B" -lfh \
		-o "$TMP/cxx-$1" 2>"$TMP/cxx-$1.err" || { fail "$1: does not build"; cat "$TMP/cxx-$1.err"; return; }
	"$TMP/cxx-$1" $ring-1 >"$TMP/cxx-$1.out" 2>&1
	local rc=$?
	head -1 "$TMP/cxx-$1.out"
	check "$1: refused at attach (rc $rc), nothing read" [ $rc = 1 -a "$(wc -l <"$TMP/cxx-$1.out")" = 1 ]
	check "$1: -EPROTO, the message names both builds" \
		grep -qE "built against fh headers .* but the libfh it loaded is .*: refused.*\(Protocol error\)$" "$TMP/cxx-$1.out"
}
mismatch "event layout 3" 's/^#define FH_EVENT_LAYOUT_VERSION 2$/#define FH_EVENT_LAYOUT_VERSION 3/'
mismatch "a 72-byte event" 's/^\t\tuint8_t raw\[24\];$/\t\tuint8_t raw[32];/; s/sizeof(struct fh_event) == 64/sizeof(struct fh_event) == 72/'
mismatch "fh_top of 32 levels" 's/^#define FH_TOP_DEPTH_MAX 64$/#define FH_TOP_DEPTH_MAX 32/'
grep -q "event layout 3" "$TMP/cxx-event layout 3.out" && grep -q "72-byte events" "$TMP/cxx-a 72-byte event.out"
check "the messages say which: layout 3, 72-byte events" [ $? = 0 ]

# A program built against 0.1's libfh.so.1: unversioned symbols, the plain fh_attach
# (FH_LIBRARY_BUILD declares it as 0.1's header did). It runs on this library.
mkdir -p "$TMP/old"
cc -shared -fPIC -O1 -std=gnu11 -D_GNU_SOURCE -I"$ROOT" "$ROOT/publish/libfh/fh.c" -Wl,-soname,libfh.so.1 \
	-o "$TMP/old/libfh.so.1" && ln -sf libfh.so.1 "$TMP/old/libfh.so"
cat >"$TMP/legacy.c" <<'EOF'
#define FH_LIBRARY_BUILD	/* the declarations of 0.1's fh.h: fh_attach is the exported one */
#include <stdio.h>
#include <fh/fh.h>
int main(int argc, char **argv)
{
	struct fh_consumer *c;
	struct fh_event ev[64];
	long events = 0;
	char err[256];
	int n;

	if (argc != 2 || fh_attach(argv[1], FH_START_OLDEST, &c, err, sizeof(err)) != 0)
		return 1;
	while ((n = fh_poll(c, ev, 64)) > 0)
		events += n;
	printf("%ld events\n", events);
	n = n == 0 && fh_stopped(c) ? 0 : 1;
	fh_detach(c);
	return n;
}
EOF
cc -Wall -Wextra -Werror -I"$B/include" "$TMP/legacy.c" -L"$TMP/old" -lfh -o "$TMP/legacy" 2>"$TMP/legacy.err"
check "a program linked against an unversioned libfh.so.1 (0.1) builds" [ -x "$TMP/legacy" ] || cat "$TMP/legacy.err"
check "its symbols are unversioned" bash -c "objdump -T '$TMP/legacy' | grep -E ' fh_attach$' | grep -qv FH_1"
LD_LIBRARY_PATH=$B "$TMP/legacy" $ring-1 >"$TMP/legacy.out" 2>&1
rc=$?
whole=$(grep -oE '[0-9]+ events read whole' "$TMP/cxx_consumer.err" | awk '{ print $1 }')
check "it runs on this libfh.so.1 and reads the whole ring (rc $rc, $(cat "$TMP/legacy.out"), C++: $whole)" \
	[ $rc = 0 -a "$(cat "$TMP/legacy.out")" = "$whole events" ]
# A program that needs FH_1.1, on a libfh.so.1 with FH_1.0 alone: the loader refuses it.
sed '/^FH_1.1 {/,$d' "$ROOT/publish/libfh/libfh.map" >"$TMP/map10"
mkdir -p "$TMP/lib10"
cc -shared -fPIC -O1 -std=gnu11 -D_GNU_SOURCE -I"$ROOT" "$ROOT/publish/libfh/fh.c" -Wl,-soname,libfh.so.1 \
	-Wl,--version-script="$TMP/map10" -o "$TMP/lib10/libfh.so.1"
LD_LIBRARY_PATH=$TMP/lib10 "$TMP/cxx_consumer" $ring-1 >"$TMP/lib10.out" 2>&1
rc=$?
head -1 "$TMP/lib10.out"
check "a program needing FH_1.1 on a libfh.so.1 of FH_1.0: refused at load (rc $rc)" \
	bash -c "[ $rc != 0 ] && grep -q \"version \\\`FH_1.1' not found\" '$TMP/lib10.out'"
finish
