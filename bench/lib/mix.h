/*
 * The binding mix every size of the lookup and memory benchmarks is made
 * of, so that 1,000 and 1,000,000 bindings differ only in how many there
 * are: v6 and v4 hosts with one port, an 8-port range or all ports, nested
 * under a v6 /64 and a v4 /16; the same prefix lengths (/128, /64, /32, /16)
 * and the same proportions at every size from MIX_BASE on.
 *
 * The v4 hosts lie in 198.18.0.0/15 (RFC 2544, set aside for benchmarks),
 * the v6 ones in 2001:db8::/32. These are only ever keys in BPF maps: no
 * address or route is configured for them anywhere.
 */
#ifndef SKL_BENCH_MIX_H
#define SKL_BENCH_MIX_H

#include <stdint.h>

#include "bindings.h"

#define MIX_LABELS 16
/* The first MIX_BASE bindings hold one binding per prefix length of the
 * mix: the smallest set whose lookups take as many probes as the large
 * ones. Binding 0 alone is the 1-binding set. */
#define MIX_BASE 4
/* 125,000 groups of 8 fit the /15's v4 hosts: the mix reaches 1,000,004. */
#define MIX_MAX 1000004u

struct mix_binding {
	uint8_t family; /* enum skl_family */
	uint8_t plen;
	uint8_t addr[16]; /* v4 in addr[0..3] */
	uint16_t lo, hi;  /* ports; 1-65535 means all */
	uint32_t label;
};

/* Binding i of the mix. */
void mix_binding(uint32_t i, struct mix_binding *out);

/* Appends the first n bindings, for protocol proto (IPPROTO_TCP/UDP), to
 * set (zeroed or built before); fails the benchmark on error. */
void mix_append_set(struct skl_binding_set *set, uint32_t n, uint8_t proto);

/* The packets probed: hits, nested matches and misses in both families. */
struct mix_probe {
	const char *name;
	const char *addr;
	uint16_t port;
};
extern const struct mix_probe mix_probes[];
extern const unsigned mix_n_probes;

#endif
