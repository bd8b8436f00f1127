# sklookup — build in the libbpf-bootstrap pattern:
#   bpf/*.bpf.c --clang -target bpf--> build/*.bpf.o --bpftool gen skeleton--> build/*.skel.h
#   plugin/lib/*.c (the library) -> build/libsklookup.a, which embeds the BPF object;
#   plugin/cni/*.c + the library -> build/sklookup (the CNI plugin);
#   plugin/ctl/*.c + plugin/agent/*.c + the library -> build/sklookup-ctl (and its agent).
#
#   make            build everything (build/)
#   make tests      the test binaries
#   make test       build (plain, ASan+UBSan, static) and run every suite, as root; it
#                   installs nothing: scripts/test runs scripts/install-deps.sh, then this
#   make install    sklookup -> $(CNI_BIN_DIR), sklookup-ctl -> $(SBINDIR), man pages -> $(MANDIR)
#   make clean      build/, build-san/, build-static/, build-fuzz/ and $(BUILD)
#   make SANITIZE=1 an ASan+UBSan build in build-san/
#   make static     static PIE binaries in build-static/
#   make image      build/sklookup-image.tar: the node image (OCI archive FROM scratch)
#   make check-hardening  scripts/check-hardening.sh on build/'s binaries
#
# Settings: CC (gcc or clang), CLANG, CPPFLAGS, CFLAGS, LDFLAGS, BPF_CFLAGS, BUILD,
# WERROR=0 (warnings stay warnings), PREFIX, SBINDIR, MANDIR, CNI_BIN_DIR, DESTDIR.
# Hardening (stack protector, _FORTIFY_SOURCE, PIE, full RELRO) and the flags that
# make builds reproducible are added to CFLAGS and LDFLAGS, not replaced by them.

CC ?= cc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
# Debian puts bpftool in /usr/sbin, which a normal user's PATH does not have.
ifeq ($(origin BPFTOOL),undefined)
BPFTOOL := $(firstword $(shell PATH="$$PATH:/usr/sbin:/sbin" command -v bpftool) bpftool)
endif
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
CNI_BIN_DIR ?= /opt/cni/bin
WERROR ?= 1

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# make static (STATIC=1): build-static/, see "Static build" below.
STATIC_BUILD := build-static
ifeq ($(STATIC),1)
BUILD ?= $(STATIC_BUILD)
endif

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif
ifneq ($(words $(BUILD)),1)
$(error BUILD must be one directory name, not "$(BUILD)")
endif
# The compilers and flags of the last build (see "write_if_changed").
FLAGS_STAMP := $(BUILD)/build_flags
# make clean removes $(BUILD): never the tree, a directory above it, or a
# source directory in it.
BUILD_ABS := $(patsubst %/,%,$(abspath $(BUILD)))
ifneq ($(filter $(BUILD_ABS)/%,$(CURDIR)/)$(filter $(BUILD_ABS)/,\
	$(addprefix $(CURDIR)/,$(filter-out build%,$(wildcard */)))),)
$(error BUILD=$(BUILD) holds the sources; make clean would remove them)
endif

# The version: the release (VERSION) and the commit, from git describe in a git
# checkout, "unknown" in a tarball (a packager may set SKL_COMMIT). Nothing that
# differs between two builds of one commit (no date, no path).
SKL_RELEASE := $(shell cat VERSION)
ifeq ($(origin SKL_COMMIT),undefined)
SKL_COMMIT := $(or $(shell test -e .git && git describe --always --dirty --abbrev=12 2>/dev/null),unknown)
endif

ifeq ($(WERROR),1)
WERROR_FLAGS := -Werror
else
WERROR_FLAGS :=
endif

# Hardening: canaries in every function with a local array or address-taken
# local, guard-page probes for large stack frames, position-independent code
# (the binaries are PIE, the static ones static-pie), x86's CET markers.
HARDEN_CFLAGS := -fstack-protector-strong -fstack-clash-protection -fPIE
ifeq ($(ARCH),x86)
HARDEN_CFLAGS += -fcf-protection
endif
# glibc's checked string and stdio functions, unless CPPFLAGS chose a level or
# CFLAGS turn off the optimizer they need. Not in the sanitized build: its
# checked variants would bypass ASan's interceptors, which check every access.
ifeq ($(SANITIZE)$(findstring _FORTIFY_SOURCE,$(CPPFLAGS))$(filter -O0,$(CFLAGS)),)
HARDEN_CPPFLAGS := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
else
HARDEN_CPPFLAGS :=
endif
# Full RELRO: the GOT and the other relocated data read-only after start-up.
HARDEN_LDFLAGS := -Wl,-z,relro,-z,now

# Reproducible: no absolute source path in debug info, __FILE__ or BTF line
# info, so builds of one commit in two directories are byte-identical.
REPRO_FLAGS := -ffile-prefix-map=$(CURDIR)=.

# Header dependencies, written by the compiler into $(BUILD)/dep/ (one file per target).
DEPFLAGS = -MMD -MP -MT $@ -MF $(BUILD)/dep/$(subst /,.,$(patsubst $(BUILD)/%,%,$@)).d

CFLAGS ?= -O2 -g
override CPPFLAGS += $(HARDEN_CPPFLAGS) -D_GNU_SOURCE -I$(BUILD) -Iplugin/lib -Ibpf
override CFLAGS += -std=c11 -Wall -Wextra $(WERROR_FLAGS) $(HARDEN_CFLAGS) $(REPRO_FLAGS) \
	$(SANFLAGS)
LDLIBS := -lbpf -lcjson -lelf -lz -lm
# The node agent's metrics endpoint (sklookup-ctl and the tests only).
MHD_LIBS := -lmicrohttpd
ifeq ($(STATIC),1)
override LDFLAGS += -static-pie $(HARDEN_LDFLAGS)
LDLIBS := -lbpf $(BUILD)/libcjson.a -lelf -lz -lm
MHD_LIBS := $(BUILD)/libmicrohttpd.a
else
override LDFLAGS += -pie $(HARDEN_LDFLAGS) $(SANFLAGS)
endif

# clang -target bpf knows no system include directories: give it the host's,
# taken from clang itself as libbpf-bootstrap does (asm/types.h is under the
# multiarch one), whatever CC is. -g makes the BTF libbpf needs (llvm-strip -g
# drops the DWARF, not the BTF).
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS ?= -O2 -Wall
# -mcpu=v3: 32-bit ALU ops and jumps (any kernel with sk_lookup has them),
# so 32-bit values need no shifts to clear upper halves: a smaller program,
# whose size is memory charged to every pod.
BPF_FLAGS = -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ibpf $(CLANG_BPF_SYS_INCLUDES) \
	$(REPRO_FLAGS) $(BPF_CFLAGS) $(WERROR_FLAGS)

# make LAYOUT_ALT=1 (with its own BUILD): a build whose map layout differs
# (dispatch_abi.h), for the upgrade tests.
ifeq ($(LAYOUT_ALT),1)
override CPPFLAGS += -DSKL_TEST_LAYOUT_ALT
BPF_FLAGS += -DSKL_TEST_LAYOUT_ALT
endif

# The library never prints and includes nothing from the programs; each
# program's main() is main.c in its folder. sklookup-ctl carries the agent.
LIB_OBJS := $(patsubst plugin/%.c,$(BUILD)/obj/%.o,$(sort $(wildcard plugin/lib/*.c)))
CNI_OBJS := $(patsubst plugin/%.c,$(BUILD)/obj/%.o,$(sort $(wildcard plugin/cni/*.c)))
CTL_OBJS := $(patsubst plugin/%.c,$(BUILD)/obj/%.o,$(sort $(wildcard plugin/ctl/*.c plugin/agent/*.c)))
# The programs' code without main(), for the tests that drive it in-process.
PROG_OBJS := $(filter-out %/main.o,$(CNI_OBJS) $(CTL_OBJS))
BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BINS := $(BUILD)/sklookup $(BUILD)/sklookup-ctl
VERSION_H := $(BUILD)/build_version.h

TESTLIB_SRCS := $(sort $(wildcard test/lib/*.c))
TESTLIB_OBJS := $(patsubst test/lib/%.c,$(BUILD)/obj/testlib/%.o,$(TESTLIB_SRCS))
UNIT_TESTS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(wildcard test/unit/test_*.c))
ROOT_TESTS := $(patsubst test/root/%.c,$(BUILD)/test/root/%,$(wildcard test/root/test_*.c))
TEST_HELPERS := $(patsubst test/root/%.c,$(BUILD)/test/root/%,$(wildcard test/root/helper_*.c))

.PHONY: all tests test install clean bench soak static demo check-hardening image FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/libsklookup.a $(BINS)

# A libcni client (the library runtimes use), built offline from Debian's Go sources.
CNICLIENT := $(BUILD)/test/cniclient
# The containerd suite's CRI client (Python, Debian's python3-grpcio) with
# its messages compiled from test/cri/cri.proto, and its sandbox image: a
# static pause program, FROM scratch (scripts/oci-image). Not sanitized: it
# runs inside the pod's sandbox container, which has no libraries.
CRI_TEST := $(BUILD)/test/cri/cri-client $(BUILD)/test/cri/cri_pb2.py $(BUILD)/test/cri/pause.tar

tests: $(UNIT_TESTS) $(ROOT_TESTS) $(TEST_HELPERS) $(CNICLIENT) $(CRI_TEST)

$(CNICLIENT): test/cniclient/main.go
	@mkdir -p $(@D)
	GO111MODULE=off GOPATH=/usr/share/gocode go build -o $@ ./test/cniclient

$(BUILD)/test/cri/cri_pb2.py: test/cri/cri.proto
	@mkdir -p $(@D)
	protoc --python_out=$(@D) -Itest/cri $<

$(BUILD)/test/cri/cri-client: test/cri/cri-client
	@mkdir -p $(@D)
	install -m 0755 $< $@

$(BUILD)/test/cri/pause: test/cri/pause.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -s -std=c11 -Wall -Wextra $(WERROR_FLAGS) $< -o $@

$(BUILD)/test/cri/pause.tar: $(BUILD)/test/cri/pause scripts/oci-image
	scripts/oci-image --name sklookup.test/pause:1 --entrypoint /pause -o $@ $<=/pause

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(FLAGS_STAMP) | $(BUILD)
	@mkdir -p $(BUILD)/dep
	$(CLANG) $(BPF_FLAGS) $(DEPFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# $(call write_if_changed,TEXT): the recipe of a file that is rewritten only
# when TEXT (printf %b: \n is a newline) changes, so that only what depends on
# it is rebuilt then.
define write_if_changed
	@printf '%b\n' '$(subst ','\'',$(1))' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
endef

$(VERSION_H): FORCE | $(BUILD)
	$(call write_if_changed,#define SKL_RELEASE "$(SKL_RELEASE)"\n#define SKL_COMMIT "$(SKL_COMMIT)")

# The compilers and flags: another CC, CFLAGS, WERROR=... (or a build
# directory from before this file) rebuilds everything (FLAGS_STAMP is set
# near the top: a rule's prerequisites are expanded where the rule is read).
$(FLAGS_STAMP): FORCE | $(BUILD)
	$(call write_if_changed,$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS) / $(CLANG) $(BPF_FLAGS))

# The generated headers come first (order-only); after the first build the
# dependency files name the headers each object really includes.
$(BUILD)/obj/%.o: plugin/%.c $(FLAGS_STAMP) | $(SKELS) $(VERSION_H)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Made anew: an object whose source is gone must not stay in the archive.
$(BUILD)/libsklookup.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libsklookup-programs.a: $(PROG_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/sklookup: $(CNI_OBJS) $(BUILD)/libsklookup.a $(FLAGS_STAMP)
	$(CC) $(LDFLAGS) $(filter %.o %.a,$^) $(LDLIBS) -o $@

$(BUILD)/sklookup-ctl: $(CTL_OBJS) $(BUILD)/libsklookup.a $(FLAGS_STAMP)
	$(CC) $(LDFLAGS) $(CTL_OBJS) $(BUILD)/libsklookup.a $(MHD_LIBS) $(LDLIBS) -o $@

# Tests see every folder: they drive the programs' code too.
TEST_INCLUDES := -Itest/lib -Iplugin/cni -Iplugin/ctl -Iplugin/agent

$(BUILD)/obj/testlib/%.o: test/lib/%.c $(FLAGS_STAMP) | $(SKELS) $(VERSION_H)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(TEST_INCLUDES) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/test/%: test/%.c $(TESTLIB_OBJS) $(BUILD)/libsklookup-programs.a $(BUILD)/libsklookup.a
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_INCLUDES) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< \
		$(TEST_OBJS) $(TESTLIB_OBJS) $(BUILD)/libsklookup-programs.a $(BUILD)/libsklookup.a \
		$(MHD_LIBS) $(LDLIBS) -lcmocka -o $@

# The allocation-failure tests (test_*_oom) replace malloc with a failing
# allocator: linked into those binaries only.
OOM_TESTS := $(filter %_oom,$(UNIT_TESTS))
FAILING_ALLOC_OBJ := $(BUILD)/obj/testunit/failing_alloc.o
$(OOM_TESTS): private TEST_OBJS := $(FAILING_ALLOC_OBJ)
$(OOM_TESTS): $(FAILING_ALLOC_OBJ)
$(FAILING_ALLOC_OBJ): test/unit/failing_alloc.c $(FLAGS_STAMP)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The fault-injection hook (cni.h) is in no shipped binary: only the test
# helper links a copy of cni_add.c built with it, ahead of the library's.
FAULT_OBJ := $(BUILD)/obj/fault-injection/cni_add.o
$(FAULT_OBJ): plugin/cni/cni_add.c $(FLAGS_STAMP) | $(SKELS) $(VERSION_H)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) -DSKL_FAULT_INJECTION $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/test/root/helper_sklookup_fi: private TEST_CPPFLAGS := -DSKL_FAULT_INJECTION
$(BUILD)/test/root/helper_sklookup_fi: private TEST_OBJS := $(FAULT_OBJ)
$(BUILD)/test/root/helper_sklookup_fi: $(FAULT_OBJ)

$(BUILD):
	mkdir -p $@

# Runs every suite (as root) after building what they need. Dependencies come
# from scripts/install-deps.sh (scripts/test runs it first); run-all.sh reads
# build/, build-san/ and build-static/.
test:
	$(MAKE) BUILD=build all tests
	$(MAKE) SANITIZE=1 BUILD=build-san all tests
	$(MAKE) static
	$(MAKE) image
	./test/run-all.sh

install: all
	install -d $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/sklookup $(DESTDIR)$(CNI_BIN_DIR)/
	install -m 0755 $(BUILD)/sklookup-ctl $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/sklookup.8 man/sklookup-ctl.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-san $(STATIC_BUILD) $(BUILD)

# The end-to-end demo (scripts/demo): installs what it needs, builds, runs
# the real chain in throwaway network namespaces, and cleans up.
demo:
	./scripts/demo

# The demo's socket-activated server (only libc).
$(BUILD)/examples/lfd-echo: examples/lfd-echo.c $(FLAGS_STAMP) | $(BUILD)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< -o $@

# The shipped binaries are PIE with full RELRO, stack protector and
# _FORTIFY_SOURCE (scripts/check-hardening.sh says what it reads).
check-hardening: all
	scripts/check-hardening.sh $(BINS)

# Static build: binaries that run on any x86_64 node whatever its libraries,
# for the DaemonSet (examples/daemonset.yaml) and minimal container images. libbpf.a,
# libelf.a, libz.a and glibc's libc.a come from Debian; Debian ships no
# libcjson.a, so cJSON is compiled from Debian's own source package of the
# installed libcjson-dev (same version and patches as the shared library,
# fetched with apt-get source by scripts/cjson-source.sh into
# build-static/cjson-source/, once; not cjson/, where -I$(BUILD) would make
# <cjson/cJSON.h> resolve there or to /usr/include depending on which rule ran
# first, and the debug info differ). They are static-pie: glibc relocates them
# at start, so ASLR and RELRO protect them as they do the dynamic ones. The
# check at the end proves they are static, hardened, and run.
STATIC_BINS := $(STATIC_BUILD)/sklookup $(STATIC_BUILD)/sklookup-ctl \
	$(STATIC_BUILD)/examples/lfd-echo

static:
	$(MAKE) STATIC=1 BUILD=$(STATIC_BUILD) all $(STATIC_BUILD)/examples/lfd-echo
	scripts/check-hardening.sh --static $(STATIC_BINS)
	$(STATIC_BUILD)/sklookup-ctl --version
	$(STATIC_BUILD)/sklookup --version
	CNI_COMMAND=VERSION $(STATIC_BUILD)/sklookup </dev/null >/dev/null
	@echo "static: $(STATIC_BINS) are static executables"

# The node image: an OCI image archive FROM scratch with the static binaries
# and nothing else (no shell, no libc outside them), built offline and
# reproducibly by scripts/oci-image; `ctr images import` and `podman load`
# read it. The entrypoint is sklookup-ctl; the DaemonSet gives its arguments.
IMAGE := build/sklookup-image.tar
IMAGE_NAME := localhost/sklookup:$(SKL_RELEASE)

image: static
	@mkdir -p $(dir $(IMAGE))
	scripts/oci-image --name $(IMAGE_NAME) --entrypoint /sklookup-ctl -o $(IMAGE) \
		$(STATIC_BUILD)/sklookup=/sklookup $(STATIC_BUILD)/sklookup-ctl=/sklookup-ctl
	@echo "image: $(IMAGE) ($(IMAGE_NAME), $$(stat -c %s $(IMAGE)) bytes)"

$(BUILD)/cjson-source/cJSON.c: scripts/cjson-source.sh
	rm -rf $(BUILD)/cjson # where earlier builds put it
	./scripts/cjson-source.sh $(BUILD)/cjson-source

# Third-party code: its own warnings are not ours to fix (no -Werror, no
# -Wall); hardened and reproducible like ours.
$(BUILD)/libcjson.a: $(BUILD)/cjson-source/cJSON.c $(FLAGS_STAMP)
	$(CC) -O2 -g -std=c89 $(HARDEN_CPPFLAGS) $(HARDEN_CFLAGS) $(REPRO_FLAGS) \
		-c $< -o $(BUILD)/cjson-source/cJSON.o
	$(AR) rcs $@ $(BUILD)/cjson-source/cJSON.o

ifeq ($(STATIC),1)
$(BINS): $(BUILD)/libcjson.a
$(BUILD)/sklookup-ctl: $(BUILD)/libmicrohttpd.a
endif

# Debian's libmicrohttpd.a is built with HTTPS and needs GnuTLS and its
# dependencies, which Debian has no static archives of (p11-kit): the static
# sklookup-ctl links libmicrohttpd built from Debian's own source package of
# the installed libmicrohttpd-dev (scripts/debian-source.sh), without HTTPS
# and without what the endpoint does not use (authentication, POST
# processing, upgrades), hardened and reproducible like the rest. The header
# it is compiled against must be the one the project's code includes.
MHD_SRC := $(BUILD)/microhttpd-source
MHD_OBJDIR := $(BUILD)/microhttpd-build
$(MHD_SRC)/.debian-source-version: scripts/debian-source.sh
	./scripts/debian-source.sh libmicrohttpd-dev $(MHD_SRC)
	@cmp -s $(MHD_SRC)/src/include/microhttpd.h /usr/include/microhttpd.h || { \
		echo "$(MHD_SRC)/src/include/microhttpd.h differs from /usr/include/microhttpd.h" >&2; \
		exit 1; }
	touch $@

$(BUILD)/libmicrohttpd.a: $(MHD_SRC)/.debian-source-version $(FLAGS_STAMP)
	rm -rf $(MHD_OBJDIR)
	mkdir -p $(MHD_OBJDIR)
	cd $(MHD_OBJDIR) && $(abspath $(MHD_SRC))/configure --quiet --enable-static \
		--disable-shared --disable-https --without-gnutls --disable-curl --disable-doc \
		--disable-examples --disable-nls --disable-dauth --disable-bauth \
		--disable-postprocessor --disable-httpupgrade --disable-heavy-tests \
		CC="$(CC)" CPPFLAGS="$(HARDEN_CPPFLAGS)" \
		CFLAGS="-O2 -g $(HARDEN_CFLAGS) $(REPRO_FLAGS)" >configure.log
	@# Its own make, without our command line's variables (CFLAGS=... would
	@# replace its flags, hardening included).
	env -u MAKEFLAGS -u MFLAGS $(MAKE) -C $(MHD_OBJDIR)/src/microhttpd libmicrohttpd.la \
		>$(MHD_OBJDIR)/make.log
	cp $(MHD_OBJDIR)/src/microhttpd/.libs/libmicrohttpd.a $@

BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

# Performance figures: every figure beside its baseline, measured side by side
# in one run; bench/run.sh prints the summary table (bench/RESULTS.md).
# ADD and DEL are measured with the static binaries the DaemonSet ships
# (make static) and, beside them, with the dynamically linked ones.
bench: $(BENCHES) $(BUILD)/sklookup
	@if $(MAKE) --no-print-directory static >/dev/null; then \
		bench/run.sh $(BUILD) $(STATIC_BUILD); \
	else \
		echo "bench: make static failed; ADD and DEL measured dynamically linked only" >&2; \
		bench/run.sh $(BUILD); \
	fi

# Below: bench-only rules. bench/lib/*.c is linked into every benchmark;
# bench/bpf/*.bpf.c are comparison programs (not the product's), embedded as
# skeletons like bpf/*.bpf.c.
BENCH_LIB_OBJS := $(patsubst bench/lib/%.c,$(BUILD)/bench/obj/%.o,$(sort $(wildcard bench/lib/*.c)))
BENCH_SKELS := $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard bench/bpf/*.bpf.c))
BENCH_CPPFLAGS := -Ibench/lib -Ibench/bpf -I$(BUILD)/bench

$(BUILD)/bench/%.bpf.o: bench/bpf/%.bpf.c $(FLAGS_STAMP) | $(BUILD)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CLANG) $(BPF_FLAGS) -Ibench/bpf $(DEPFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/bench/obj/%.o: bench/lib/%.c $(FLAGS_STAMP) | $(BENCH_SKELS) $(SKELS) $(VERSION_H)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(BENCH_CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BENCHES): $(BUILD)/bench/%: bench/%.c $(BENCH_LIB_OBJS) $(BUILD)/libsklookup.a $(FLAGS_STAMP) \
		| $(BENCH_SKELS) $(SKELS)
	@mkdir -p $(@D) $(BUILD)/dep
	$(CC) $(CPPFLAGS) $(BENCH_CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(BENCH_LIB_OBJS) \
		$(BUILD)/libsklookup.a $(LDLIBS) -pthread -o $@

# The full load test: 1000 ADD/DEL cycles and 32 concurrent pods through libcni
# (make test runs a short form).
soak: all tests
	SOAK_CYCLES=1000 $(BUILD)/test/root/test_soak

-include $(wildcard $(BUILD)/dep/*.d)

# Fuzzing (fuzz/): libFuzzer targets for every parser of outside input,
# built with clang's libFuzzer, ASan and UBSan into build-fuzz/.
#   make fuzz [FUZZ_SECONDS=60]  each target FUZZ_SECONDS from its seeds
#   make fuzz-ci                 each target 10 s (test/run-all.sh runs this)
# Both first replay fuzz/regressions/ (stored crashes). fuzz/run.sh says where
# new inputs and crashes go (build-fuzz/, never the repo).
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 10
FUZZ_TARGETS := netconf bindings strings record agent cniargs
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iplugin/lib -Iplugin/cni -Ibpf -I$(BUILD)
# Each target links the plugin sources it needs, not libsklookup.a (whose
# kernel code the parsers do not use). netconf.c calls skl_limits_check in
# dispatcher.c, which brings libbpf and the skeleton; record.c's libbpf
# calls are faked (fuzz/fake_bpf.c) so the record parses without BPF.
FUZZ_MODEL := $(addprefix lib/,bindings_syntax bindings_set bindings_parse bindings_pod \
	bindings_json conflicts precedence skl_error)
FUZZ_PORTRESERVE := $(addprefix lib/,portreserve portreserve_ranges portreserve_syntax)
FUZZ_COMPILE := $(addprefix lib/,compile compile_tables compile_lookup search_tree prefix_table)
FUZZ_PLUGIN_netconf := $(FUZZ_MODEL) $(FUZZ_COMPILE) $(FUZZ_PORTRESERVE) \
	$(addprefix cni/,netconf netconf_annotation netconf_pod) \
	$(addprefix lib/,state_paths dispatcher state_link record pod_identity version)
FUZZ_PLUGIN_bindings := $(FUZZ_MODEL) $(FUZZ_COMPILE)
FUZZ_PLUGIN_strings := $(FUZZ_MODEL) lib/state_paths $(FUZZ_PORTRESERVE)
FUZZ_PLUGIN_record := $(FUZZ_MODEL) lib/record lib/pod_identity lib/version
FUZZ_PLUGIN_agent := $(FUZZ_MODEL) $(addprefix lib/,agent_proto agent_answer pod_result_json \
	pod_status_json result_json_util pod_identity)
FUZZ_PLUGIN_cniargs := $(addprefix lib/,cni_args pod_identity skl_error)
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
$(FUZZ_BUILD)/plugin/%.o: plugin/%.c $(wildcard plugin/*/*.h bpf/*.h) $(SKELS) $(VERSION_H)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: fuzz/%.c $(wildcard fuzz/*.h plugin/*/*.h bpf/*.h)
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
