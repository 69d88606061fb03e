# ntspool - build, test, install.  See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR_INSTALL = $(DESTDIR)$(PREFIX)/bin
MANDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/man

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
BUILD   ?= build
BIN     ?= bin

PKGS := openssl libevent libevent_openssl jansson sqlite3 libcurl inih libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ifeq ($(PKG_LIBS),)
$(error pkg-config could not find $(PKGS): run scripts/setup.sh)
endif

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef -Wvla -Wswitch-enum
VERSION := $(shell cat VERSION)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -I. $(WARN) -DNTSPOOL_VERSION='"$(VERSION)"' \
             $(PKG_CFLAGS) $(CFLAGS) -MMD -MP

LIB_SRCS := $(sort $(wildcard util/*.c monitor/*.c scorer/*.c db/*.c web/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libntspool.a

PROGS := $(patsubst cmd/%.c,$(BIN)/%,$(wildcard cmd/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TESTSRV_SRCS := $(sort $(wildcard tests/server/*.c))
TESTSRV := $(BUILD)/tests/ntstestd
# Helpers of the system tests (tests/tools/NAME.c -> build/tests/tools/NAME).
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

.PHONY: all test check sanitize fuzz install uninstall clean symbols test-progs bench-progs
.SECONDARY:
all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# A program's main may have helper files in cmd/NAME/ (cmd/ntspoold/,
# cmd/ntspool-monitor/).
NTSPOOLD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/ntspoold/*.c))
$(BIN)/ntspoold: $(BUILD)/cmd/ntspoold.o $(NTSPOOLD_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(PKG_LIBS) -lm -pthread

MONITOR_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/ntspool-monitor/*.c))
$(BIN)/ntspool-monitor: $(BUILD)/cmd/ntspool-monitor.o $(MONITOR_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(PKG_LIBS) -lm -pthread

$(BIN)/%: $(BUILD)/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm -pthread

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm -pthread

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm -pthread

$(TESTSRV): $(TESTSRV_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TESTSRV_SRCS:%.c=$(BUILD)/%.o) $(LIB) $(PKG_LIBS) -lm

test-progs: $(PROGS) $(UNIT_BINS) $(TOOL_BINS) $(if $(TESTSRV_SRCS),$(TESTSRV))

# tests/unit/test_corpus replays the seed corpora through every fuzz target,
# built here with the normal compiler and flags, each entry point renamed.
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
REPLAY_OBJS := $(FUZZ_NAMES:%=$(BUILD)/tests/replay/fuzz_%.o)
$(BUILD)/tests/replay/fuzz_%.o: fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DLLVMFuzzerTestOneInput=fuzz_replay_$* -c -o $@ $<
$(BUILD)/tests/unit/test_corpus: $(BUILD)/tests/unit/test_corpus.o $(REPLAY_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(REPLAY_OBJS) $(LIB) $(PKG_LIBS) -lm -pthread

# Benchmark programs (scripts/bench-*.sh build what they need): build/tools/bench_*.
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/tools/%,$(BENCH_SRCS))
bench-progs: $(BENCH_BINS)
test-progs: $(BENCH_BINS) # tests/system/085-soak-short.sh
# bench/benchutil.c: what they share (clocks, the seeded generator).
BENCH_UTIL := $(BUILD)/bench/benchutil.o
$(BUILD)/tools/bench_%: $(BUILD)/bench/bench_%.o $(BENCH_UTIL) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BENCH_UTIL) $(LIB) $(PKG_LIBS) -lm -pthread

# The whole suite: unit tests, then system tests against the loopback test bed.
test check: test-progs
	BIN=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) sh tests/run.sh

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer; leaks fail.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize:
	$(MAKE) BUILD=build/san BIN=build/san/bin CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" \
	    NTSPOOL_SANITIZE=1 test

# libFuzzer targets (clang): make fuzz, then scripts/fuzz.sh TARGET SECONDS
FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))
fuzz:
	$(MAKE) CC=clang BUILD=build/fuzzlib CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" build/fuzzlib/libntspool.a
	$(MAKE) CC=clang $(FUZZ_TARGETS)

# Development tool: capture real NTS responses for fuzz/corpus/pkt (mode 3).
$(BUILD)/tools/capture_ntp: $(BUILD)/fuzz/capture_ntp.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm
build/fuzz/%: fuzz/%.c build/fuzzlib/libntspool.a
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -I. $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< build/fuzzlib/libntspool.a $(PKG_LIBS) -lm

SHAREDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/ntspool
install: all
	install -d $(BINDIR_INSTALL) $(MANDIR_INSTALL)/man1 $(MANDIR_INSTALL)/man8 $(SHAREDIR_INSTALL)
	install -m 755 $(PROGS) $(BINDIR_INSTALL)
	install -m 644 man/*.1 $(MANDIR_INSTALL)/man1
	install -m 644 man/*.8 $(MANDIR_INSTALL)/man8
	install -m 644 contrib/*.service contrib/*.example $(SHAREDIR_INSTALL)

uninstall:
	rm -f $(patsubst $(BIN)/%,$(BINDIR_INSTALL)/%,$(PROGS))
	rm -f $(patsubst man/%,$(MANDIR_INSTALL)/man1/%,$(wildcard man/*.1))
	rm -f $(patsubst man/%,$(MANDIR_INSTALL)/man8/%,$(wildcard man/*.8))
	rm -rf $(SHAREDIR_INSTALL)

symbols: $(LIB)
	sh scripts/check-symbols.sh $(LIB)

clean:
	rm -rf build bin

-include $(LIB_OBJS:.o=.d) $(UNIT_BINS:=.d) $(TOOL_BINS:=.d) $(REPLAY_OBJS:.o=.d) $(NTSPOOLD_OBJS:.o=.d) $(MONITOR_OBJS:.o=.d) $(BENCH_SRCS:%.c=$(BUILD)/%.d) $(BENCH_UTIL:.o=.d) $(PROGS:$(BIN)/%=$(BUILD)/cmd/%.d) \
    $(TESTSRV_SRCS:%.c=$(BUILD)/%.d)
