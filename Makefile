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

# make static (STATIC=1): build-static/, see "Static build" below.
ifeq ($(STATIC),1)
BUILD ?= build-static
endif

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
ifeq ($(STATIC),1)
override LDFLAGS += -static
LDLIBS := -lbpf $(BUILD)/libcjson.a -lelf -lz
endif

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

.PHONY: all tests test deps install clean bench soak static demo
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
	$(MAKE) SANITIZE=1 all tests
	$(MAKE) static
	./test/run-all.sh

install: all
	install -d $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)$(PREFIX)/sbin
	$(foreach b,$(filter $(BUILD)/sklookup,$(BINS)),install -m 0755 $(b) $(DESTDIR)$(CNI_BIN_DIR)/;)
	$(foreach b,$(filter $(BUILD)/sklookup-ctl,$(BINS)),install -m 0755 $(b) $(DESTDIR)$(PREFIX)/sbin/;)
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/sklookup.8 man/sklookup-ctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-san build-static

# The end-to-end demo (scripts/demo): installs what it needs, builds, runs
# the real chain in throwaway network namespaces, and cleans up.
demo:
	./scripts/demo

# The demo's socket-activated server (only libc).
$(BUILD)/examples/lfd-echo: examples/lfd-echo.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

# Static build: binaries that run on any x86_64 node whatever its libraries,
# for the DaemonSet (examples/daemonset.yaml) and minimal container images. libbpf.a,
# libelf.a, libz.a and glibc's libc.a come from Debian; Debian ships no
# libcjson.a, so cJSON is compiled from Debian's own source package of the
# installed libcjson-dev (same version and patches as the shared library,
# fetched with apt-get source by scripts/cjson-source.sh into
# build-static/cjson/, once). The check at the end proves the binaries are
# static and run.
STATIC_BINS := $(patsubst plugin/main_%.c,build-static/%,$(MAIN_SRCS)) build-static/examples/lfd-echo

static:
	$(MAKE) STATIC=1 all build-static/examples/lfd-echo
	@for b in $(STATIC_BINS); do \
		if ldd $$b >/dev/null 2>&1; then echo "static: $$b is dynamic" >&2; exit 1; fi; \
	done
	build-static/sklookup-ctl --help >/dev/null
	CNI_COMMAND=VERSION build-static/sklookup </dev/null >/dev/null
	@echo "static: $(STATIC_BINS) are static executables"

$(BUILD)/cjson/cJSON.c: scripts/cjson-source.sh
	./scripts/cjson-source.sh $(BUILD)/cjson

# Third-party code: its own warnings are not ours to fix (no -Werror).
$(BUILD)/libcjson.a: $(BUILD)/cjson/cJSON.c
	$(CC) -O2 -g -std=c89 -c $(BUILD)/cjson/cJSON.c -o $(BUILD)/cjson/cJSON.o
	$(AR) rcs $@ $(BUILD)/cjson/cJSON.o

ifeq ($(STATIC),1)
$(BINS): $(BUILD)/libcjson.a
endif

BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsklookup.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libsklookup.a $(LDLIBS) -o $@

# Performance figures: every figure beside its baseline, measured side by side
# in one run; bench/run.sh prints the summary table (bench/RESULTS.md).
# ADD and DEL are measured with the static binaries the DaemonSet ships
# (make static) and, beside them, with the dynamically linked ones.
bench: $(BENCHES) $(BUILD)/sklookup
	@if $(MAKE) --no-print-directory static >/dev/null; then \
		bench/run.sh $(BUILD) build-static; \
	else \
		echo "bench: make static failed; ADD and DEL measured dynamically linked only" >&2; \
		bench/run.sh $(BUILD); \
	fi

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

$(BENCHES): $(BUILD)/bench/%: bench/%.c $(BENCH_LIB_OBJS) $(BUILD)/libsklookup.a \
		$(wildcard bench/lib/*.h bench/bpf/*.h) $(BENCH_SKELS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) $< $(BENCH_LIB_OBJS) $(BUILD)/libsklookup.a \
		$(LDLIBS) -pthread -o $@

# The full load test: 1000 ADD/DEL cycles and 32 concurrent pods through libcni
# (make test runs a short form).
soak: all tests
	SOAK_CYCLES=1000 $(BUILD)/test/root/test_soak

# Fuzzing (fuzz/): libFuzzer targets for every parser of outside input,
# built with clang's libFuzzer, ASan and UBSan into build-fuzz/.
#   make fuzz [FUZZ_SECONDS=60]  each target FUZZ_SECONDS from its seeds
#   make fuzz-ci                 each target 10 s (test/run-all.sh runs this)
# Both first replay fuzz/regressions/ (stored crashes). fuzz/run.sh says where
# new inputs and crashes go (build-fuzz/, never the repo).
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 10
FUZZ_TARGETS := netconf bindings strings record agent
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iplugin -I$(BUILD)
# Each target links the plugin sources it needs, not libsklookup.a (whose
# kernel code the parsers do not use). netconf.c calls skl_limits_check in
# dispatcher.c, which brings libbpf and the skeleton; record.c's libbpf
# calls are faked (fuzz/fake_bpf.c) so the record parses without BPF.
FUZZ_MODEL := bindings conflicts precedence skl_error
FUZZ_PLUGIN_netconf := $(FUZZ_MODEL) netconf state compile search_tree portreserve dispatcher
FUZZ_PLUGIN_bindings := $(FUZZ_MODEL) compile search_tree
FUZZ_PLUGIN_strings := $(FUZZ_MODEL) state portreserve
FUZZ_PLUGIN_record := $(FUZZ_MODEL) record
FUZZ_PLUGIN_agent := $(FUZZ_MODEL) agent_proto
FUZZ_OWN_netconf := check_compiled
FUZZ_OWN_bindings := check_compiled
FUZZ_OWN_record := fake_bpf
FUZZ_LIBS_netconf := -lbpf -lelf -lz
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-ci clean-fuzz

fuzz: $(FUZZ_BINS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: $(FUZZ_BINS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_CI_SECONDS) $(FUZZ_TARGETS)

# Plugin code is compiled as it is (its -Werror is the normal build's job).
$(FUZZ_BUILD)/plugin/%.o: plugin/%.c $(wildcard plugin/*.h) $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: fuzz/%.c $(wildcard fuzz/*.h plugin/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -Werror -c $< -o $@

define FUZZ_LINK
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/obj/fuzz_$(1).o \
		$(patsubst %,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_OWN_$(1))) \
		$(patsubst %,$(FUZZ_BUILD)/plugin/%.o,$(FUZZ_PLUGIN_$(1)))
	$(CLANG) $(FUZZ_CFLAGS) $$^ -lcjson $(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK,$(t))))

clean: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_BUILD)
