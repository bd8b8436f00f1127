/*
 * Loader of the tubular-style baseline (bpf/baseline_lpm.bpf.c): one LPM
 * trie entry per (binding, port), port 0 for a binding of all ports.
 */
#ifndef SKL_BENCH_BASELINE_H
#define SKL_BENCH_BASELINE_H

#include <stdint.h>

struct baseline {
	struct baseline_lpm_bpf *skel;
	int prog_fd, bindings_fd, sockets_fd;
	uint64_t entries; /* in the trie */
};

/* Trie entries the first n bindings of the mix take. */
uint64_t baseline_entries_for(uint32_t n);

/* Loads the program with a trie of max_entries; fails the benchmark on error. */
void baseline_load(struct baseline *b, uint64_t max_entries);

/* Adds the first n bindings of the mix for protocol proto (label l ->
 * destination slot skl_socket_slot(l, proto == UDP, family)). */
void baseline_add_mix(struct baseline *b, uint32_t n, uint8_t proto);

/* Adds one binding (proto IPPROTO_TCP or IPPROTO_UDP) for label. */
struct mix_binding;
void baseline_add(struct baseline *b, const struct mix_binding *m, uint8_t proto);

/* Puts a socket into a destination slot. */
void baseline_register(struct baseline *b, uint32_t slot, int fd);

/* memlock of the program and its maps, as the kernel accounts them. */
uint64_t baseline_memlock(const struct baseline *b);

void baseline_close(struct baseline *b);

#endif
