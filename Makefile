# fh: build, test, demo and bench. Everything is built under build/; `make V=1` shows
# the commands. Dependencies come from pkg-config; tools/install-deps.sh installs the
# Debian packages when they are missing.

V ?= 0
Q := $(if $(filter 1,$(V)),,@)
B := build

PKGS := libdpdk yaml-0.1 liburing libpcap
DEPS_STAMP := $(B)/.deps-ok

CC := gcc
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 -g $(WARN) -I. -D_GNU_SOURCE
OPT := -O2
SAN := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs = $(shell pkg-config --libs $(1) 2>/dev/null)

# The data path without DPDK: books, decoders, packet parsing, arbitration, config.
CORE_SRC := book/memory.c book/order_table.c book/book.c \
	decoders/decoder.c decoders/moldudp64.c decoders/itch50.c \
	feed/packet.c feed/arbiter.c feed/feed.c feed/stats.c \
	publish/ring.c publish/conflated.c publish/publisher.c publish/fh.c publish/pcapng.c publish/output_file.c publish/journal.c publish/hist.c \
	config/config.c config/default_yaml.S
FHD_SRC := feed/fhd.c feed/rx.c feed/port.c feed/journal_lcore.c
TESTS := test_config $(patsubst tests/%.c,%,$(filter-out tests/test_config.c,$(wildcard tests/test_*.c)))

.PHONY: all deps asan test demo bench run-test run-demo run-bench clean
all: $(B)/fhd $(B)/fh $(B)/bench-ring $(B)/libfh.a $(B)/libfh.so $(B)/fh.pc $(B)/fh-pcap $(B)/bench-book $(B)/bench-journal $(B)/bench-hist $(B)/alloc_guard.so $(addprefix $(B)/,$(TESTS))

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
CORE_LIBS := $(call pc_libs,yaml-0.1 liburing) -lpthread -lm
FHD_LIBS := $(call pc_libs,libdpdk yaml-0.1 liburing libpcap) -lpthread -lm

$(B)/fhd: $(CORE_OBJS) $(FHD_SRC:%.c=$(B)/obj/%.o)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(OPT) -g -o $@ $^ $(FHD_LIBS)
$(B)/asan/fhd: $(ASAN_CORE_OBJS) $(FHD_SRC:%.c=$(B)/asan/obj/%.o)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SAN) -g -o $@ $^ $(FHD_LIBS)

$(B)/fh-pcap: $(B)/obj/tools/fh_pcap.o
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^
$(B)/asan/fh-pcap: $(B)/asan/obj/tools/fh_pcap.o
	$(Q)$(CC) $(SAN) -o $@ $^

# libfh: the client library for strategy processes (no DPDK), static and shared,
# with a pkg-config file; fh is the command-line client built on it alone.
$(B)/libfh.a: $(B)/obj/publish/fh.o
	$(Q)ar rcs $@ $^
$(B)/pic/publish/fh.o: publish/fh.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -fPIC -c $< -o $@
$(B)/libfh.so: $(B)/pic/publish/fh.o
	$(Q)$(CC) -shared -Wl,-soname,libfh.so.1 -o $@ $^
$(B)/fh.pc: Makefile
	@mkdir -p $(B)
	@printf 'prefix=%s\nincludedir=$${prefix}\nlibdir=$${prefix}/build\n\nName: fh\nDescription: client library for fh publish rings\nVersion: 0.1\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lfh\n' "$(CURDIR)" >$@
$(B)/fh: $(B)/obj/tools/fh.o $(B)/obj/tools/fh_stat.o $(B)/obj/tools/fh_report.o $(B)/libfh.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^

$(B)/bench-ring: $(B)/obj/bench/bench_ring.o $(B)/obj/publish/ring.o $(B)/obj/publish/fh.o
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

$(B)/test_%: $(B)/obj/tests/test_%.o $(CORE_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(CORE_LIBS)
$(B)/asan/test_%: $(B)/asan/obj/tests/test_%.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

$(B)/alloc_guard.so: tests/alloc_guard.c
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

# The fuzz target: gcc ASan+UBSan with a replay main, and clang libFuzzer when present.
$(B)/asan/fuzz_feed: $(B)/asan/obj/tests/fuzz_feed.o $(B)/asan/obj/tests/fuzz_main.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)
$(B)/fuzz_feed_libfuzzer: tests/fuzz_feed.c $(filter %.c,$(CORE_SRC)) config/default_yaml.S config/default.yaml
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(call pc_cflags,yaml-0.1) tests/fuzz_feed.c $(filter %.c,$(CORE_SRC)) \
		config/default_yaml.S -o $@ $(CORE_LIBS) 2>$(B)/fuzz-build.log || rm -f $@

# The config loader's target (cfg_load_text), built the same two ways.
$(B)/asan/fuzz_config: $(B)/asan/obj/tests/fuzz_config.o $(B)/asan/obj/tests/fuzz_config_main.o $(ASAN_CORE_OBJS)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)
$(B)/fuzz_config_libfuzzer: tests/fuzz_config.c config/config.c config/default_yaml.S config/default.yaml
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(call pc_cflags,yaml-0.1) tests/fuzz_config.c config/config.c \
		config/default_yaml.S -o $@ $(call pc_libs,yaml-0.1) 2>$(B)/fuzz-config-build.log || rm -f $@

asan: $(B)/asan/fhd $(B)/asan/fuzz_feed $(B)/fuzz_feed_libfuzzer $(B)/asan/fuzz_config $(B)/fuzz_config_libfuzzer $(B)/asan/fh-pcap $(addprefix $(B)/asan/,$(TESTS))

# --- the two commands of the README (and bench) ---
# They install missing packages first, then build in a second make so that
# pkg-config answers with the packages present.
test demo bench: deps
	$(Q)$(MAKE) --no-print-directory run-$@

run-test: all asan
	$(Q)./tests/run.sh $(B)

run-demo: $(B)/fhd $(B)/fh-pcap
	$(Q)./tools/demo.sh $(B)

run-bench: $(B)/fhd $(B)/fh $(B)/fh-pcap $(B)/bench-book $(B)/bench-ring $(B)/bench-journal $(B)/bench-hist
	$(Q)./bench/run.sh $(B)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
