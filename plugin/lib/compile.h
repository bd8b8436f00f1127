/*
 * Compiles a set of concrete bindings into the dispatcher's tables (see the
 * comment at the top of bpf/dispatcher.bpf.c): prefix entries with search
 * markers, and port tables of segments. Pure user-space code, so the tables
 * can be checked against the reference precedence rule without a kernel.
 */
#ifndef SKL_COMPILE_H
#define SKL_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "bindings.h"
#include "dispatch_abi.h"

struct skl_compiled_prefix {
	uint8_t family, proto, plen;
	uint8_t addr[SKL_ADDR_BYTES];
	uint32_t seg_first; /* relative to the generation's segment region */
	uint32_t seg_count; /* 0: a marker with no binding prefix at or above it */
};

struct skl_compiled {
	/* Prefix lengths in use, by skl_lengths_key(0, is_v6, is_udp). */
	struct skl_lengths lengths[4];
	size_t n_prefixes;
	struct skl_compiled_prefix *prefixes; /* sorted by (family, proto, plen, addr) */
	size_t n_segments;
	struct skl_segment *segments; /* .binding: index into the binding set */
};

/* Compiles set (which must hold only concrete prefixes; conflicts are
 * checked here too). */
int skl_compile(const struct skl_binding_set *set, struct skl_compiled *out,
		struct skl_err *err);

/* What the BPF program does, step for step, on the compiled tables: the
 * index of the winning binding, or SKL_NONE. Used to check the compiler. */
uint32_t skl_compiled_lookup(const struct skl_compiled *c, uint8_t proto, uint8_t family,
			     const uint8_t addr[SKL_ADDR_BYTES], uint16_t port);

void skl_compiled_free(struct skl_compiled *c);

/* Zeroes the host bits of a prefix (byte-wise, network order). */
void skl_prefix_mask(uint8_t addr[SKL_ADDR_BYTES], uint8_t family, uint8_t plen);

#endif
