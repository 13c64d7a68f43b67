#!/usr/bin/env bash
# make install as packagers use it: into a temporary PREFIX, the programs, libfh
# (static, and shared with its soname links and versioned symbols), the consumer
# headers as <fh/fh.h>, an fh.pc whose paths are the install's, and the examples
# (share/doc/fh/examples: strategy.c, strategy.cpp, their Makefile, quickstart.yaml);
# with DESTDIR, everything lands under it while fh.pc still names PREFIX. As root
# without DESTDIR it runs ldconfig, and says so when the loader does not search
# LIBDIR. The example strategy is built with `pkg-config --cflags --libs fh` against
# the installed fh.pc, waits for a ring not there yet, and reads a ring fhd published:
# as many events, trades and tops as `fh tail` reads. The build tree's fh.pc builds a
# program that starts too (libfh.so.1 beside it). fh.pc never follows a symlink
# planted at its name in DESTDIR; a symlink planted at a directory of fh's own
# (include/fh, share/doc/fh/examples) is refused by install and uninstall alike; and a
# PREFIX with a space gives an fh.pc pkg-config reads right. (tests/test_quickstart.sh runs the quick start from an install.)
source "$(dirname "$0")/lib.sh"

ring=fhinst$$
trap 'rm -f /dev/shm/$ring-*; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
command -v pkg-config >/dev/null || { echo "pkg-config not installed: skip"; exit 77; }
prefix=$TMP/prefix
# ldconfig is stood in for by a script that records its call: the test must not
# rewrite the machine's loader cache.
printf '#!/bin/sh\necho ran >>"%s"\n' "$TMP/ldconfig.calls" >"$TMP/ldconfig"
chmod +x "$TMP/ldconfig"
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" LDCONFIG="$TMP/ldconfig" install >"$TMP/install.log" 2>&1
check "make install PREFIX=... exits 0" [ $? = 0 ] || cat "$TMP/install.log"
so=$(cd "$prefix/lib" && ls libfh.so.1.*.* 2>/dev/null)
for f in bin/fhd bin/fh bin/fh-pcap lib/libfh.a lib/$so include/fh/fh.h include/fh/fh_event.h \
	 lib/pkgconfig/fh.pc share/doc/fh/examples/strategy.c share/doc/fh/examples/strategy.cpp \
	 share/doc/fh/examples/Makefile share/doc/fh/examples/quickstart.yaml; do
	check "installed $f" [ -f "$prefix/$f" ]
done
if [ "$(id -u)" = 0 ]; then
	check "as root without DESTDIR, make install runs ldconfig once" [ "$(cat "$TMP/ldconfig.calls" 2>/dev/null)" = ran ]
else
	check "not root: make install leaves ldconfig alone" [ ! -e "$TMP/ldconfig.calls" ]
fi
check "make install says the loader does not search the temporary LIBDIR" \
	grep -q "the loader does not search $prefix/lib" "$TMP/install.log"
check "the default PREFIX's lib (/usr/local/lib) is one the loader searches (ld.so.conf)" \
	bash -c "cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null | grep -qx /usr/local/lib"
# The file's version: libfh.so.<soname>.<newest symbol node>.<patch>, from fh.h and libfh.map.
major=$(sed -n 's/^#define FH_ABI_MAJOR \([0-9]*\).*/\1/p' "$ROOT/publish/libfh/fh.h")
node=$(grep -oE "^FH_$major\.[0-9]+" "$ROOT/publish/libfh/libfh.map" | tail -1)
patch=$(sed -n 's/^#define FH_VERSION_PATCH \([0-9]*\).*/\1/p' "$ROOT/publish/libfh/fh.h")
check "the library file is libfh.so.$major.${node#FH_$major.}.$patch ($so)" [ "$so" = "libfh.so.$major.${node#FH_$major.}.$patch" ]
check "libfh.so.1 -> $so" [ "$(readlink "$prefix/lib/libfh.so.1")" = "$so" ]
check "libfh.so -> libfh.so.1" [ "$(readlink "$prefix/lib/libfh.so")" = libfh.so.1 ]
check "the library's soname is libfh.so.1" bash -c "objdump -p '$prefix/lib/$so' | grep -qE 'SONAME +libfh.so.1$'"
check "fh.pc names the install" bash -c "grep -qx 'prefix=$prefix' '$prefix/lib/pkgconfig/fh.pc' &&
	[ \"\$(PKG_CONFIG_PATH='$prefix/lib/pkgconfig' pkg-config --variable=libdir fh)\" = '$prefix/lib' ]"
check "fh.pc points nowhere in the source tree" bash -c "! grep -q '$ROOT' '$prefix/lib/pkgconfig/fh.pc'"

# The consumer, built against the install alone.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs fh)
echo "pkg-config --cflags --libs fh: $flags"
cp "$prefix/share/doc/fh/examples/strategy.c" "$TMP/strategy.c"
(cd "$TMP" && cc -Wall -Wextra -Werror strategy.c $flags -o strategy) >"$TMP/cc.log" 2>&1
check "the example strategy builds with pkg-config against the install" [ -x "$TMP/strategy" ] || cat "$TMP/cc.log"
LD_LIBRARY_PATH=$prefix/lib timeout 2 "$TMP/strategy" $ring-1 >"$TMP/none.out" 2>&1
rc=$?
check "no ring yet: it keeps waiting (killed by timeout, rc $rc)" [ $rc = 124 ]
check "no ring yet: a clear line, once" [ "$(grep -c "waiting for fhd: .*no such ring" "$TMP/none.out")" = 1 ]
check "it loads the installed libfh.so.1" bash -c "LD_LIBRARY_PATH='$prefix/lib' ldd '$TMP/strategy' | grep -q '=> $prefix/lib/libfh.so.1 '"

pub_yaml $ring 262144 10 >"$TMP/pub.yaml"
"$prefix/bin/fhd" -c "$TMP/pub.yaml" --replay "$ROOT/pcaps/itch-demo.pcap" >"$TMP/fhd.log" 2>&1
check "the installed fhd publishes a replay" [ $? = 0 ]
LD_LIBRARY_PATH=$prefix/lib timeout 60 "$TMP/strategy" --exit-on-stop $ring-1 >"$TMP/strategy.out" 2>&1
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
check "it said fhd stopped" grep -qx "fhd stopped" "$TMP/strategy.out"

# DESTDIR: staged under it, fh.pc still names PREFIX.
stage=$TMP/stage
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$stage" PREFIX=/opt/fh-test-$$ install >"$TMP/stage.log" 2>&1
check "make install DESTDIR=... PREFIX=/opt/... exits 0" [ $? = 0 ]
check "staged under DESTDIR" test -f "$stage/opt/fh-test-$$/lib/$so" -a ! -e /opt/fh-test-$$
check "staged fh.pc names PREFIX, not DESTDIR" bash -c "grep -qx 'prefix=/opt/fh-test-$$' '$stage/opt/fh-test-$$/lib/pkgconfig/fh.pc' &&
	! grep -q '$stage' '$stage/opt/fh-test-$$/lib/pkgconfig/fh.pc'"
(cd "$TMP" && PKG_CONFIG_PATH=$stage/opt/fh-test-$$/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage \
	cc strategy.c $(PKG_CONFIG_PATH=$stage/opt/fh-test-$$/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs fh) \
	-o staged) >"$TMP/cc2.log" 2>&1
check "the consumer builds against the staged tree (PKG_CONFIG_SYSROOT_DIR)" [ -x "$TMP/staged" ] || cat "$TMP/cc2.log"
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$stage" PREFIX=/opt/fh-test-$$ uninstall >/dev/null 2>&1
check "make uninstall removes what install put" [ -z "$(find "$stage" -type f -o -type l)" ]
# And the PREFIX install: its files go, and as root the loader cache forgets them
# (ldconfig -p listed a removed libfh.so.1 until the next ldconfig).
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$prefix" LDCONFIG="$TMP/ldconfig" uninstall >"$TMP/uninstall.log" 2>&1
check "make uninstall PREFIX=... removes what install put" [ -z "$(find "$prefix" -type f -o -type l)" ] || find "$prefix"
if [ "$(id -u)" = 0 ]; then
	check "as root without DESTDIR, make uninstall runs ldconfig too" [ "$(grep -c ran "$TMP/ldconfig.calls")" = 2 ]
fi

# A DESTDIR where someone planted a symlink at fh.pc's name: install replaces the link,
# it never writes through it (the shell redirect did: the link's target was rewritten).
planted=$TMP/planted
mkdir -p "$planted/opt/fh-link-$$/lib/pkgconfig"
echo "not fh's" >"$TMP/victim"
chmod 0600 "$TMP/victim"
ln -s "$TMP/victim" "$planted/opt/fh-link-$$/lib/pkgconfig/fh.pc"
make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$planted" PREFIX=/opt/fh-link-$$ install >"$TMP/planted.log" 2>&1
check "make install over a planted fh.pc symlink exits 0" [ $? = 0 ] || cat "$TMP/planted.log"
check "the link's target is untouched ($(head -1 "$TMP/victim"), mode $(stat -c %a "$TMP/victim"))" \
	bash -c "[ \"\$(cat '$TMP/victim')\" = \"not fh's\" ] && [ \"\$(stat -c %a '$TMP/victim')\" = 600 ]"
check "fh.pc is a regular file now, mode 644" bash -c "[ ! -L '$planted/opt/fh-link-$$/lib/pkgconfig/fh.pc' ] &&
	[ \"\$(stat -c %a '$planted/opt/fh-link-$$/lib/pkgconfig/fh.pc')\" = 644 ] &&
	grep -qx 'prefix=/opt/fh-link-$$' '$planted/opt/fh-link-$$/lib/pkgconfig/fh.pc'"

# A DESTDIR where someone planted a symlink at a directory of fh's own (the examples
# -> a directory of theirs, or /etc; include/fh likewise): install refuses it rather
# than write the examples through it, and uninstall refuses it rather than delete
# through it the files of the same names in the link's target.
for own in share/doc/fh/examples include/fh; do
	dir=$TMP/dirlink-${own//\//-}
	mkdir -p "$dir/stage/opt/fh-dl/${own%/*}" "$dir/victim"
	for f in Makefile quickstart.yaml strategy.c fh.h; do echo "not fh's" >"$dir/victim/$f"; done
	ln -s "$dir/victim" "$dir/stage/opt/fh-dl/$own"
	make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$dir/stage" PREFIX=/opt/fh-dl install >"$dir/install.log" 2>&1
	check "$own a planted symlink: make install refuses ($?), says why" \
		grep -q "$own is a symbolic link, not fh's directory: refused" "$dir/install.log"
	make -C "$ROOT" --no-print-directory B="$B" DESTDIR="$dir/stage" PREFIX=/opt/fh-dl uninstall >"$dir/uninstall.log" 2>&1
	check "... and make uninstall refuses it too ($?)" grep -q "$own is a symbolic link" "$dir/uninstall.log"
	check "... the link's target holds its own files, untouched" \
		bash -c "[ \"\$(ls '$dir/victim' | tr '\n' ' ')\" = 'Makefile fh.h quickstart.yaml strategy.c ' ] &&
		[ \"\$(cat '$dir/victim'/* | sort -u)\" = \"not fh's\" ]"
done

# A PREFIX with a space: fh.pc escapes it as pkg-config wants (a backslash), so the
# flags stay one argument each in a shell, and the consumer builds and runs.
spaced="$TMP/pre fix"
make -C "$ROOT" --no-print-directory B="$B" PREFIX="$spaced" LDCONFIG="$TMP/ldconfig" install >"$TMP/spaced.log" 2>&1
check "make install PREFIX='.../pre fix' exits 0" [ $? = 0 ] || cat "$TMP/spaced.log"
check "fh.pc escapes the space" grep -qxF "libdir=${spaced// /\\ }/lib" "$spaced/lib/pkgconfig/fh.pc"
sflags=$(PKG_CONFIG_PATH="$spaced/lib/pkgconfig" pkg-config --cflags --libs fh)
echo "pkg-config --cflags --libs fh (spaced): $sflags"
eval "set -- $sflags"
check "pkg-config reads it: -I and -L name the spaced install, one argument each ($*)" \
	bash -c "[ \"\$1\" = '-I$spaced/include' ] && [ \"\$2\" = '-L$spaced/lib' ] && [ \"\$3\" = -lfh ]" _ "$@"
(cd "$TMP" && eval "cc -Wall -Wextra -Werror strategy.c $sflags -o spaced") >"$TMP/cc4.log" 2>&1
check "the consumer builds against the spaced install" [ -x "$TMP/spaced" ] || cat "$TMP/cc4.log"
LD_LIBRARY_PATH="$spaced/lib" "$TMP/spaced" --exit-on-stop $ring-1 >"$TMP/spaced.out" 2>&1
check "and reads the ring as before" [ "$(tail -1 "$TMP/spaced.out")" = "$summary" ]

# The build tree's fh.pc: the README's in-tree command gives a program that starts.
(cd "$TMP" && cc strategy.c $(PKG_CONFIG_PATH=$B pkg-config --cflags --libs fh) -o intree) >"$TMP/cc3.log" 2>&1
check "in-tree build with build/fh.pc" [ -x "$TMP/intree" ] || cat "$TMP/cc3.log"
env -u LD_LIBRARY_PATH "$TMP/intree" --exit-on-stop $ring-1 >"$TMP/intree.out" 2>&1
check "in-tree program starts without LD_LIBRARY_PATH and reads the ring" \
	[ "$(tail -1 "$TMP/intree.out")" = "$summary" ]
check "build/libfh.so.1 exists for LD_LIBRARY_PATH=build" [ -e "$B/libfh.so.1" ]
finish
