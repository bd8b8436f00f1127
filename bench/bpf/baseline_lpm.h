/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map layout of the benchmark's tubular-style baseline (baseline_lpm.bpf.c),
 * shared with its loader (lib/baseline.c). */
#ifndef SKL_BENCH_BASELINE_LPM_H
#define SKL_BENCH_BASELINE_LPM_H

#include <linux/types.h>

/* Destinations (label, protocol, family): the slot scheme of
 * skl_socket_slot(), so the same listeners can be registered in both. */
#define BASELINE_DESTINATIONS 256

/* 8 bits of protocol, 16 of port, 128 of (v4-mapped) address. */
#define BASELINE_FULL_PREFIX (8 + 16 + 128)

struct baseline_key {
	__u32 prefixlen;
	__u8 proto;
	__u16 port; /* network order; 0 = every port */
	__u8 addr[16];
} __attribute__((packed));

struct baseline_value {
	__u32 id;        /* destination */
	__u32 prefixlen; /* the address prefix length: the trie does not say */
};

struct baseline_metrics {
	__u64 lookups, misses, errors;
};

#endif
