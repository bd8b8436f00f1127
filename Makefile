# sklookup — build in the libbpf-bootstrap pattern:
#   bpf/*.bpf.c --clang -target bpf--> build/*.bpf.o --bpftool gen skeleton--> build/*.skel.h
#   plugin/*.c (the shared code) -> build/libsklookup.a; the binaries embed the BPF object.
#
#   make            build everything
#   make test       install missing dependencies, then run every suite (root)
#   make install    sklookup -> $(CNI_BIN_DIR), sklookup-ctl -> $(PREFIX)/sbin
#   make clean
#   make SANITIZE=1 an ASan+UBSan build in build-san/

CC ?= cc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -dumpmachine)

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif

CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(SANFLAGS) -I$(BUILD) -Iplugin
override LDFLAGS += $(SANFLAGS)
LDLIBS := -lbpf -lcjson -lelf -lz

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(MULTIARCH) -Iplugin \
	-Wall -Werror

# Entry points of the binaries are plugin/main_*.c; everything else is the shared library.
MAIN_SRCS := $(wildcard plugin/main_*.c)
LIB_SRCS := $(filter-out $(MAIN_SRCS),$(wildcard plugin/*.c))
LIB_OBJS := $(patsubst plugin/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BINS := $(patsubst plugin/main_%.c,$(BUILD)/%,$(MAIN_SRCS))

TESTLIB_SRCS := $(wildcard test/lib/*.c)
TESTLIB_OBJS := $(patsubst test/lib/%.c,$(BUILD)/obj/testlib/%.o,$(TESTLIB_SRCS))
UNIT_TESTS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(wildcard test/unit/test_*.c))
ROOT_TESTS := $(patsubst test/root/%.c,$(BUILD)/test/root/%,$(wildcard test/root/test_*.c))
TEST_HELPERS := $(patsubst test/root/%.c,$(BUILD)/test/root/%,$(wildcard test/root/helper_*.c))

.PHONY: all tests test deps install clean bench
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/libsklookup.a $(BINS)

# A libcni client (the library runtimes use), built offline from Debian's Go sources.
CNICLIENT := $(BUILD)/test/cniclient

tests: $(UNIT_TESTS) $(ROOT_TESTS) $(TEST_HELPERS) $(CNICLIENT)

$(CNICLIENT): test/cniclient/main.go
	@mkdir -p $(@D)
	GO111MODULE=off GOPATH=/usr/share/gocode go build -o $@ ./test/cniclient

$(BUILD)/%.bpf.o: bpf/%.bpf.c plugin/dispatch_abi.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/obj/%.o: plugin/%.c $(wildcard plugin/*.h) $(SKELS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsklookup.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/%: $(BUILD)/obj/main_%.o $(BUILD)/libsklookup.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/obj/testlib/%.o: test/lib/%.c $(wildcard test/lib/*.h) $(wildcard plugin/*.h) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itest/lib -c $< -o $@

$(BUILD)/test/%: test/%.c $(TESTLIB_OBJS) $(BUILD)/libsklookup.a $(wildcard test/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itest/lib $(LDFLAGS) $< $(TESTLIB_OBJS) $(BUILD)/libsklookup.a \
		$(LDLIBS) -lcmocka -o $@

$(BUILD):
	mkdir -p $@

deps:
	./scripts/install-deps.sh

# The one test command: dependencies, bpffs, build (plain and sanitized), every suite.
test: deps
	$(MAKE) all tests
	$(MAKE) SANITIZE=1 tests
	./test/run-all.sh

install: all
	install -d $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)$(PREFIX)/sbin
	$(foreach b,$(filter $(BUILD)/sklookup,$(BINS)),install -m 0755 $(b) $(DESTDIR)$(CNI_BIN_DIR)/;)
	$(foreach b,$(filter $(BUILD)/sklookup-ctl,$(BINS)),install -m 0755 $(b) $(DESTDIR)$(PREFIX)/sbin/;)
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/sklookup.8 man/sklookup-ctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-san

BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsklookup.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libsklookup.a $(LDLIBS) -o $@

# Performance figures: every figure beside its baseline, measured side by side
# in one run; bench/run.sh prints the summary table (bench/RESULTS.md).
bench: $(BENCHES) $(BUILD)/sklookup
	bench/run.sh $(BUILD)

# Below: bench-only rules. bench/lib/*.c is linked into every benchmark;
# bench/bpf/*.bpf.c are comparison programs (not the product's), embedded as
# skeletons like bpf/*.bpf.c.
BENCH_LIB_OBJS := $(patsubst bench/lib/%.c,$(BUILD)/bench/obj/%.o,$(wildcard bench/lib/*.c))
BENCH_SKELS := $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard bench/bpf/*.bpf.c))
BENCH_CFLAGS := -Ibench/lib -Ibench/bpf -I$(BUILD)/bench

$(BUILD)/bench/%.bpf.o: bench/bpf/%.bpf.c $(wildcard bench/bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibench/bpf -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/bench/obj/%.o: bench/lib/%.c $(wildcard bench/lib/*.h bench/bpf/*.h plugin/*.h) \
		$(BENCH_SKELS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) -c $< -o $@

$(BENCHES): $(BUILD)/bench/%: bench/%.c $(BENCH_LIB_OBJS) \
		$(BUILD)/libsklookup.a $(wildcard bench/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) $< $(BENCH_LIB_OBJS) $(BUILD)/libsklookup.a \
		$(LDLIBS) -pthread -o $@
