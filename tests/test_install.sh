#!/usr/bin/env bash
# make install as packagers use it: into a temporary PREFIX, the programs, libfh
# (static, and shared with its soname links), the consumer headers as <fh/fh.h>, and
# an fh.pc whose paths are the install's; with DESTDIR, everything lands under it
# while fh.pc still names PREFIX. The README's consumer (tests/example_strategy.c) is
# built with `pkg-config --cflags --libs fh` against the installed fh.pc, refuses a
# missing ring with a clear line, and reads a ring fhd published: as many events,
# trades and tops as `fh tail` reads. The build tree's fh.pc builds a program that
# starts too (libfh.so.1 beside it).
source "$(dirname "$0")/lib.sh"

ring=fhinst$$
trap 'rm -f /dev/shm/$ring-1 /dev/shm/$ring-1-top; rm -rf "$TMP"' EXIT
command -v pkg-config >/dev/null || { echo "pkg-config not installed: skip"; exit 77; }
prefix=$TMP/prefix
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" install >"$TMP/install.log" 2>&1
check "make install PREFIX=... exits 0" [ $? = 0 ] || cat "$TMP/install.log"
for f in bin/fhd bin/fh bin/fh-pcap lib/libfh.a lib/libfh.so.1.0.0 include/fh/fh.h include/fh/fh_event.h \
	 lib/pkgconfig/fh.pc; do
	check "installed $f" [ -f "$prefix/$f" ]
done
check "libfh.so.1 -> libfh.so.1.0.0" [ "$(readlink "$prefix/lib/libfh.so.1")" = libfh.so.1.0.0 ]
check "libfh.so -> libfh.so.1" [ "$(readlink "$prefix/lib/libfh.so")" = libfh.so.1 ]
check "the library's soname is libfh.so.1" bash -c "objdump -p '$prefix/lib/libfh.so.1.0.0' | grep -qE 'SONAME +libfh.so.1$'"
check "fh.pc names the install" bash -c "grep -qx 'prefix=$prefix' '$prefix/lib/pkgconfig/fh.pc' &&
	[ \"\$(PKG_CONFIG_PATH='$prefix/lib/pkgconfig' pkg-config --variable=libdir fh)\" = '$prefix/lib' ]"
check "fh.pc points nowhere in the source tree" bash -c "! grep -q '$ROOT' '$prefix/lib/pkgconfig/fh.pc'"

# The consumer, built against the install alone.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs fh)
echo "pkg-config --cflags --libs fh: $flags"
cp "$ROOT/tests/example_strategy.c" "$TMP/strategy.c"
(cd "$TMP" && cc -Wall -Wextra -Werror strategy.c $flags -o strategy) >"$TMP/cc.log" 2>&1
check "the README's consumer builds with pkg-config against the install" [ -x "$TMP/strategy" ] || cat "$TMP/cc.log"
LD_LIBRARY_PATH=$prefix/lib "$TMP/strategy" $ring-1 >"$TMP/none.out" 2>&1
rc=$?
check "no ring yet: exit 1 (rc $rc)" [ $rc = 1 ]
check "no ring yet: a clear line" grep -q "no such ring" "$TMP/none.out"
check "it loads the installed libfh.so.1" bash -c "LD_LIBRARY_PATH='$prefix/lib' ldd '$TMP/strategy' | grep -q '=> $prefix/lib/libfh.so.1 '"

pub_yaml $ring 262144 10 >"$TMP/pub.yaml"
"$prefix/bin/fhd" -c "$TMP/pub.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/fhd.log" 2>&1
check "the installed fhd publishes a replay" [ $? = 0 ]
LD_LIBRARY_PATH=$prefix/lib timeout 60 "$TMP/strategy" $ring-1 >"$TMP/strategy.out" 2>&1
rc=$?
tail -1 "$TMP/strategy.out"
check "the consumer reads the ring to fhd's stop: exit 0 (rc $rc)" [ $rc = 0 ]
"$prefix/bin/fh" tail --ring $ring-1 --quiet 2>"$TMP/tail.err" >/dev/null
"$prefix/bin/fh" tail --ring $ring-1 --type trade 2>/dev/null >"$TMP/tail.trades"
"$prefix/bin/fh" tail --ring $ring-1 --type top 2>/dev/null >"$TMP/tail.tops"
events=$(grep -oE "^[0-9]+ events read" "$TMP/tail.err" | awk '{print $1}')
[ -n "$events" ] || events=$(grep -oE "[0-9]+ events read" "$TMP/tail.err" | awk '{print $1}')
summary=$(tail -1 "$TMP/strategy.out")
check "as many events as fh tail ($events)" [ "$(echo "$summary" | awk '{print $1}')" = "$events" ]
check "as many trades as fh tail ($(wc -l <"$TMP/tail.trades"))" \
	[ "$(echo "$summary" | awk '{print $3}')" = "$(wc -l <"$TMP/tail.trades")" ]
check "as many tops as fh tail ($(wc -l <"$TMP/tail.tops"))" \
	[ "$(echo "$summary" | awk '{print $5}')" = "$(wc -l <"$TMP/tail.tops")" ]
check "nothing lost" [ "$(echo "$summary" | awk '{print $7}')" = 0 ]
check "trades print by symbol" grep -qE "^[A-Z]+ trade [0-9]+ @ [0-9]+\.[0-9]{4}$" "$TMP/strategy.out"

# DESTDIR: staged under it, fh.pc still names PREFIX.
stage=$TMP/stage
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$stage" PREFIX=/opt/fh-test-$$ install >"$TMP/stage.log" 2>&1
check "make install DESTDIR=... PREFIX=/opt/... exits 0" [ $? = 0 ]
check "staged under DESTDIR" test -f "$stage/opt/fh-test-$$/lib/libfh.so.1.0.0" -a ! -e /opt/fh-test-$$
check "staged fh.pc names PREFIX, not DESTDIR" bash -c "grep -qx 'prefix=/opt/fh-test-$$' '$stage/opt/fh-test-$$/lib/pkgconfig/fh.pc' &&
	! grep -q '$stage' '$stage/opt/fh-test-$$/lib/pkgconfig/fh.pc'"
(cd "$TMP" && PKG_CONFIG_PATH=$stage/opt/fh-test-$$/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage \
	cc strategy.c $(PKG_CONFIG_PATH=$stage/opt/fh-test-$$/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs fh) \
	-o staged) >"$TMP/cc2.log" 2>&1
check "the consumer builds against the staged tree (PKG_CONFIG_SYSROOT_DIR)" [ -x "$TMP/staged" ] || cat "$TMP/cc2.log"
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$stage" PREFIX=/opt/fh-test-$$ uninstall >/dev/null 2>&1
check "make uninstall removes what install put" [ -z "$(find "$stage" -type f -o -type l)" ]

# The build tree's fh.pc: the README's in-tree command gives a program that starts.
(cd "$TMP" && cc strategy.c $(PKG_CONFIG_PATH=$B pkg-config --cflags --libs fh) -o intree) >"$TMP/cc3.log" 2>&1
check "in-tree build with build/fh.pc" [ -x "$TMP/intree" ] || cat "$TMP/cc3.log"
env -u LD_LIBRARY_PATH "$TMP/intree" $ring-1 >"$TMP/intree.out" 2>&1
check "in-tree program starts without LD_LIBRARY_PATH and reads the ring" \
	[ "$(tail -1 "$TMP/intree.out")" = "$summary" ]
check "build/libfh.so.1 exists for LD_LIBRARY_PATH=build" [ -e "$B/libfh.so.1" ]
finish
