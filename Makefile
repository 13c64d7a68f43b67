# fh: build, test, demo and bench. Everything is built under build/; `make V=1` shows
# the commands. Dependencies come from pkg-config; tools/install-deps.sh installs the
# Debian packages when they are missing.

V ?= 0
Q := $(if $(filter 1,$(V)),,@)
B := build

# `make install`: where, as packagers expect (DESTDIR stages, PREFIX is the final place).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
FH_VERSION := 0.1
FH_SO_MAJOR := 1
FH_SO := libfh.so.$(FH_SO_MAJOR).0.0
FH_HEADERS := publish/libfh/fh.h publish/libfh/fh_event.h

PKGS := libdpdk yaml-0.1 liburing libpcap
DEPS_STAMP := $(B)/.deps-ok

CC := gcc
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 -g $(WARN) -I. -D_GNU_SOURCE
# NATIVE=1: a colo build tuned for the build machine's CPU (-march=native); the default
# runs on any x86-64. Build it in its own tree: make NATIVE=1 B=build-native ...
NATIVE ?= 0
OPT := -O2 $(if $(filter 1,$(NATIVE)),-march=native)
SAN := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

comma := ,
empty :=
space := $(empty) $(empty)
pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs = $(shell pkg-config --libs $(1) 2>/dev/null)

# Everything that does not need DPDK: the data path after rx_burst (feed/, decoders/,
# book/ with its helpers in book/util/), the producer side of publishing (publish/),
# the journal's writer (publish/journal/) and the config. Unit tests, fuzz targets and
# benchmarks link exactly these.
CORE_SRC := book/util/memory.c book/util/hist.c book/order_table.c book/book.c \
	decoders/decoder.c decoders/moldudp64.c decoders/itch50.c \
	feed/packet.c feed/arbiter.c feed/feed.c feed/stats.c feed/recovery.c feed/recovery_worker.c feed/soupbin.c \
	publish/shm_segment.c publish/ring.c publish/conflated.c publish/publisher.c publish/output_file.c \
	publish/libfh/fh.c publish/journal/pcapng.c publish/journal/journal.c \
	config/yaml_reader.c config/config.c config/default_yaml.S
# What needs DPDK: EAL, ports, the RX and journal lcores, and fhd's main (feed/dpdk/).
FHD_SRC := $(wildcard feed/dpdk/*.c)
TESTS := test_config $(patsubst tests/%.c,%,$(filter-out tests/test_config.c,$(wildcard tests/test_*.c)))

.PHONY: all deps asan test check demo bench fuzz simulate run-test run-check run-demo run-bench run-fuzz run-simulate \
	clean install uninstall
all: $(B)/fhd $(B)/fh $(B)/bench-ring $(B)/bench-pmd $(B)/libfh.a $(B)/libfh.so $(B)/libfh.so.$(FH_SO_MAJOR) $(B)/fh.pc $(B)/fh-pcap $(B)/bench-book $(B)/bench-journal $(B)/bench-hist $(B)/bench-arbiter $(B)/alloc_guard.so $(addprefix $(B)/,$(TESTS)) $(B)/sim_recovery

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/install-deps.sh
	$(Q)./tools/install-deps.sh
	$(Q)mkdir -p $(B) && touch $@

# --- objects: release and sanitizer variants of the same sources ---
$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(call pc_cflags,$(PKGS)) -MMD -MP -c $< -o $@
$(B)/obj/%.o: %.S config/default.yaml
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c $< -o $@
$(B)/asan/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC-SAN  $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN) $(call pc_cflags,$(PKGS)) -MMD -MP -c $< -o $@
$(B)/asan/obj/%.o: %.S config/default.yaml
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c $< -o $@

core_objs = $(patsubst %.S,$(1)/obj/%.o,$(patsubst %.c,$(1)/obj/%.o,$(CORE_SRC)))
CORE_OBJS := $(call core_objs,$(B))
ASAN_CORE_OBJS := $(call core_objs,$(B)/asan)
CORE_LIBS = $(call pc_libs,yaml-0.1 liburing) -lpthread -lm
FHD_LIBS = $(call pc_libs,libdpdk yaml-0.1 liburing libpcap) -lpthread -lm

$(B)/fhd: $(CORE_OBJS) $(FHD_SRC:%.c=$(B)/obj/%.o)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(OPT) -g -o $@ $^ $(FHD_LIBS)
$(B)/asan/fhd: $(ASAN_CORE_OBJS) $(FHD_SRC:%.c=$(B)/asan/obj/%.o)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SAN) -g -o $@ $^ $(FHD_LIBS)

# fh-pcap: one file per subcommand and per shared piece, all in tools/fh_pcap/.
FH_PCAP_SRC := $(wildcard tools/fh_pcap/*.c)
$(B)/fh-pcap: $(FH_PCAP_SRC:%.c=$(B)/obj/%.o)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^
$(B)/asan/fh-pcap: $(FH_PCAP_SRC:%.c=$(B)/asan/obj/%.o)
	$(Q)$(CC) $(SAN) -o $@ $^

# libfh: the client library for strategy processes (no DPDK), static and shared,
# with a pkg-config file; fh is the command-line client built on it alone. The
# shared library is libfh.so.1.0.0 with soname libfh.so.1 and the usual links. The
# build tree's fh.pc serves a consumer built before any install: its headers as
# <fh/fh.h> (build/include/fh), and an rpath to build/ so the program starts.
$(B)/libfh.a: $(B)/obj/publish/libfh/fh.o
	$(Q)ar rcs $@ $^
$(B)/pic/publish/libfh/fh.o: publish/libfh/fh.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -fPIC -c $< -o $@
$(B)/$(FH_SO): $(B)/pic/publish/libfh/fh.o
	$(Q)$(CC) -shared -Wl,-soname,libfh.so.$(FH_SO_MAJOR) -o $@ $^
$(B)/libfh.so.$(FH_SO_MAJOR): $(B)/$(FH_SO)
	$(Q)ln -sfn $(FH_SO) $@
$(B)/libfh.so: $(B)/libfh.so.$(FH_SO_MAJOR)
	$(Q)ln -sfn libfh.so.$(FH_SO_MAJOR) $@
$(B)/include/fh/%.h: publish/libfh/%.h
	@mkdir -p $(dir $@)
	$(Q)cp $< $@
# fh_pc PREFIX INCLUDEDIR LIBDIR EXTRA_CFLAGS EXTRA_LIBS: the text of an fh.pc.
# pc_escape: a path as a .pc variable wants it, each space after a backslash (pkg-config
# splits Cflags and Libs as a shell would, after expanding the variables).
pc_escape = $(subst $(space),\$(space),$(1))
fh_pc = printf 'prefix=%s\nincludedir=%s\nlibdir=%s\n\nName: fh\nDescription: client library for fh publish rings\nVersion: $(FH_VERSION)\nCflags: -I$${includedir}%s\nLibs: -L$${libdir} %s-lfh\n' '$(1)' '$(2)' '$(3)' '$(4)' '$(5)'
$(B)/fh.pc: Makefile $(FH_HEADERS:publish/libfh/%=$(B)/include/fh/%)
	@mkdir -p $(B)
	$(Q)$(call fh_pc,$(abspath $(B)),$${prefix}/include,$${prefix}, -I$(CURDIR),-Wl$(comma)-rpath$(comma)$${libdir} ) >$@
# The fh command (tools/fh/): main.c dispatches to one file per subcommand.
FH_CLI_SRC := $(wildcard tools/fh/*.c)
$(B)/fh: $(FH_CLI_SRC:%.c=$(B)/obj/%.o) $(B)/libfh.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^
$(B)/asan/fh: $(FH_CLI_SRC:%.c=$(B)/asan/obj/%.o) $(B)/asan/obj/publish/libfh/fh.o
	$(Q)$(CC) $(SAN) -o $@ $^

$(B)/bench-ring: $(B)/obj/bench/bench_ring.o $(B)/obj/publish/ring.o $(B)/obj/publish/shm_segment.o $(B)/obj/publish/libfh/fh.o
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(FHD_LIBS)

# The PMD alone on a capture, set up as fhd's replay (its port and replay code).
$(B)/bench-pmd: $(B)/obj/bench/bench_pmd.o $(CORE_OBJS) $(B)/obj/feed/dpdk/port.o $(B)/obj/feed/dpdk/replay.o
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(FHD_LIBS)

$(B)/bench-hist: $(B)/obj/bench/bench_hist.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)

$(B)/bench-journal: $(B)/obj/bench/bench_journal.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)

$(B)/bench-book: $(B)/obj/bench/bench_book.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)

# The arbiter's hold alone (its public API: an older arbiter.c links the same way).
$(B)/bench-arbiter: $(B)/obj/bench/bench_arbiter.o $(B)/obj/feed/arbiter.o
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^

# The unit tests' objects are kept (not make's intermediates, deleted after each build
# and so rebuilt by the next): a second `make test` builds nothing.
.SECONDARY: $(TESTS:%=$(B)/obj/tests/%.o) $(TESTS:%=$(B)/asan/obj/tests/%.o)
$(B)/test_%: $(B)/obj/tests/test_%.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)
$(B)/asan/test_%: $(B)/asan/obj/tests/test_%.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

# The recovery path's deterministic simulation (tests/sim_recovery.c), both builds.
$(B)/sim_recovery: $(B)/obj/tests/sim_recovery.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)
$(B)/asan/sim_recovery: $(B)/asan/obj/tests/sim_recovery.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

$(B)/alloc_guard.so: tests/alloc_guard.c
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

# The fuzz target: gcc ASan+UBSan with a replay main, and clang libFuzzer when present.
$(B)/asan/fuzz_feed: $(B)/asan/obj/tests/fuzz_feed.o $(B)/asan/obj/tests/fuzz_replay.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)
$(B)/fuzz_feed_libfuzzer: tests/fuzz_feed.c $(filter %.c,$(CORE_SRC)) config/default_yaml.S config/default.yaml
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(call pc_cflags,yaml-0.1) tests/fuzz_feed.c $(filter %.c,$(CORE_SRC)) \
		config/default_yaml.S -o $@ $(CORE_LIBS) 2>$(B)/fuzz-build.log || rm -f $@

# libfh over arbitrary segment bytes (tests/fuzz_libfh.c): the same two builds.
$(B)/asan/fuzz_libfh: $(B)/asan/obj/tests/fuzz_libfh.o $(B)/asan/obj/tests/fuzz_replay.o $(B)/asan/obj/publish/libfh/fh.o
	$(Q)$(CC) $(SAN) -o $@ $^
$(B)/fuzz_libfh_libfuzzer: tests/fuzz_libfh.c publish/libfh/fh.c publish/libfh/fh.h publish/libfh/ring_layout.h publish/libfh/conflated_layout.h
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		tests/fuzz_libfh.c publish/libfh/fh.c -o $@ 2>$(B)/fuzz-libfh-build.log || rm -f $@

# The config loader's target (cfg_load_text), built the same two ways.
$(B)/asan/fuzz_config: $(B)/asan/obj/tests/fuzz_config.o $(B)/asan/obj/tests/fuzz_replay.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)
$(B)/fuzz_config_libfuzzer: tests/fuzz_config.c config/yaml_reader.c config/config.c config/default_yaml.S config/default.yaml
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(call pc_cflags,yaml-0.1) tests/fuzz_config.c config/yaml_reader.c config/config.c \
		config/default_yaml.S -o $@ $(call pc_libs,yaml-0.1) 2>$(B)/fuzz-config-build.log || rm -f $@

# The recovery core without sockets (tests/fuzz_recovery.c: SoupBinTCP framing, the arbiter's
# recovery and snapshot modes), built the same two ways.
$(B)/asan/fuzz_recovery: $(B)/asan/obj/tests/fuzz_recovery.o $(B)/asan/obj/tests/fuzz_replay.o \
		$(B)/asan/obj/feed/arbiter.o $(B)/asan/obj/feed/soupbin.o
	$(Q)$(CC) $(SAN) -o $@ $^
$(B)/fuzz_recovery_libfuzzer: tests/fuzz_recovery.c feed/arbiter.c feed/arbiter.h feed/soupbin.c feed/soupbin.h
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		tests/fuzz_recovery.c feed/arbiter.c feed/soupbin.c -o $@ 2>$(B)/fuzz-recovery-build.log || rm -f $@

asan: $(B)/asan/fhd $(B)/asan/sim_recovery $(B)/asan/fuzz_feed $(B)/fuzz_feed_libfuzzer $(B)/asan/fuzz_config $(B)/fuzz_config_libfuzzer $(B)/asan/fh-pcap $(addprefix $(B)/asan/,$(TESTS)) \
	$(B)/asan/fh $(B)/asan/fuzz_libfh $(B)/fuzz_libfh_libfuzzer $(B)/asan/fuzz_recovery $(B)/fuzz_recovery_libfuzzer

# --- the two commands of the README (and bench) ---
# They install missing packages first, then build in a second make so that
# pkg-config answers with the packages present.
demo bench: deps
	$(Q)$(MAKE) --no-print-directory run-$@
# make test says what it does to the machine as root first (tests/run.sh --about),
# before installing packages and building.
test:
	$(Q)./tests/run.sh --about
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory run-test

run-test: all asan
	$(Q)FH_TEST_ABOUT=0 ./tests/run.sh $(B)

# `make check`, the edit-compile loop: the unit tests in both builds and the core
# replays (tests/run.sh --quick says which), in a few minutes; `make test` runs all.
check: deps
	$(Q)$(MAKE) --no-print-directory run-check
run-check: $(addprefix $(B)/,$(TESTS)) $(addprefix $(B)/asan/,$(TESTS)) $(B)/fhd $(B)/fh $(B)/fh-pcap \
		$(B)/libfh.so $(B)/libfh.so.$(FH_SO_MAJOR)
	$(Q)./tests/run.sh --quick $(B)

# tools/demo.sh runs fhd and fh (fh report draws the PNG).
run-demo: $(B)/fhd $(B)/fh
	$(Q)./tools/demo.sh $(B)

# `make bench QUICK=1`: every section on tiny inputs, a few seconds in all (bench/lib.sh).
QUICK ?= 0
BENCH_BINS := $(B)/fhd $(B)/fh $(B)/fh-pcap $(B)/bench-book $(B)/bench-ring $(B)/bench-pmd $(B)/bench-journal \
	$(B)/bench-hist $(B)/bench-arbiter
run-bench: $(BENCH_BINS)
	$(Q)FH_BENCH_QUICK=$(QUICK) ./bench/run.sh $(B)

# `make fuzz`: every libFuzzer target for FUZZ_SECONDS each (tests/fuzz.sh says more).
FUZZ_SECONDS ?= 900
FUZZ_BINS := $(B)/fuzz_feed_libfuzzer $(B)/fuzz_libfh_libfuzzer $(B)/fuzz_config_libfuzzer $(B)/fuzz_recovery_libfuzzer
fuzz: deps
	$(Q)$(MAKE) --no-print-directory run-fuzz
run-fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz.sh $(B)

# `make simulate SEED=N SECONDS=S`: the recovery simulation over seeds N, N+1, ... for S
# seconds (SEED left out: one from the clock); a failing seed replays exactly with
# build/sim_recovery --seed N (-v traces it).
SECONDS ?= 60
simulate: deps
	$(Q)$(MAKE) --no-print-directory run-simulate
run-simulate: $(B)/sim_recovery
	$(Q)$(B)/sim_recovery $(if $(SEED),--seed $(SEED)) --seconds $(SECONDS)

# Installs fhd, fh, fh-pcap, libfh (static, shared with its soname links), the
# consumer headers as <fh/fh.h> and <fh/fh_event.h>, and an fh.pc whose paths are the
# installed ones (PREFIX, not DESTDIR). After installing into a directory the loader
# does not search, run ldconfig or set LD_LIBRARY_PATH. fh.pc is written in build/ and
# copied with install, which replaces whatever is at its name: a redirect into DESTDIR
# would write through a symlink planted there.
install: $(B)/fhd $(B)/fh $(B)/fh-pcap $(B)/libfh.a $(B)/$(FH_SO)
	$(Q)install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBDIR)/pkgconfig' '$(DESTDIR)$(INCLUDEDIR)/fh'
	$(Q)install -m 0755 $(B)/fhd $(B)/fh $(B)/fh-pcap '$(DESTDIR)$(BINDIR)/'
	$(Q)install -m 0644 $(B)/libfh.a '$(DESTDIR)$(LIBDIR)/'
	$(Q)install -m 0755 $(B)/$(FH_SO) '$(DESTDIR)$(LIBDIR)/'
	$(Q)ln -sfn $(FH_SO) '$(DESTDIR)$(LIBDIR)/libfh.so.$(FH_SO_MAJOR)'
	$(Q)ln -sfn libfh.so.$(FH_SO_MAJOR) '$(DESTDIR)$(LIBDIR)/libfh.so'
	$(Q)install -m 0644 $(FH_HEADERS) '$(DESTDIR)$(INCLUDEDIR)/fh/'
	$(Q)mkdir -p $(B)/install && rm -f $(B)/install/fh.pc
	$(Q)$(call fh_pc,$(call pc_escape,$(PREFIX)),$(call pc_escape,$(INCLUDEDIR)),$(call pc_escape,$(LIBDIR)),,) >$(B)/install/fh.pc
	$(Q)install -m 0644 $(B)/install/fh.pc '$(DESTDIR)$(LIBDIR)/pkgconfig/fh.pc'
	@echo "installed under $(DESTDIR)$(PREFIX)"

uninstall:
	$(Q)rm -f '$(DESTDIR)$(BINDIR)/fhd' '$(DESTDIR)$(BINDIR)/fh' '$(DESTDIR)$(BINDIR)/fh-pcap' \
		'$(DESTDIR)$(LIBDIR)/libfh.a' '$(DESTDIR)$(LIBDIR)/$(FH_SO)' '$(DESTDIR)$(LIBDIR)/libfh.so.$(FH_SO_MAJOR)' \
		'$(DESTDIR)$(LIBDIR)/libfh.so' '$(DESTDIR)$(LIBDIR)/pkgconfig/fh.pc' \
		$(addprefix '$(DESTDIR)$(INCLUDEDIR)/fh/,$(addsuffix ',$(notdir $(FH_HEADERS))))
	$(Q)rmdir '$(DESTDIR)$(INCLUDEDIR)/fh' 2>/dev/null || true

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
