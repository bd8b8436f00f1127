// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The comparison point for the lookup benchmark: a dispatcher in the style
 * of Cloudflare's tubular, written here for the benchmark (not the product;
 * not tubular's code). One LPM trie keyed protocol | port | address, IPv4
 * stored v4-mapped, so a binding has one exact port or port 0 for "all";
 * a port range has to be spelled out one port per entry. A packet costs two
 * trie walks (its port, then port 0) and takes the longer prefix; then a
 * per-CPU counter, the SOCKMAP lookup and bpf_sk_assign, as the real thing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "baseline_lpm.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct baseline_key);
	__type(value, struct baseline_value);
} bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, BASELINE_DESTINATIONS);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BASELINE_DESTINATIONS);
	__type(key, __u32);
	__type(value, struct baseline_metrics);
} metrics SEC(".maps");

SEC("sk_lookup")
int baseline_dispatch(struct bpf_sk_lookup *ctx)
{
	struct baseline_key key = { .prefixlen = BASELINE_FULL_PREFIX };
	struct baseline_value *exact, *any, *best;
	struct baseline_metrics *m;
	struct bpf_sock *sk;
	__u32 family, ip4, ip6[4];
	long err;

	/* Every ctx field read up front: see bpf/dispatcher.bpf.c. */
	family = ctx->family;
	key.proto = (__u8)ctx->protocol;
	key.port = bpf_htons((__u16)ctx->local_port);
	ip4 = ctx->local_ip4;
	ip6[0] = ctx->local_ip6[0];
	ip6[1] = ctx->local_ip6[1];
	ip6[2] = ctx->local_ip6[2];
	ip6[3] = ctx->local_ip6[3];
	asm volatile("" ::: "memory");

	if (family == AF_INET6) {
		__builtin_memcpy(key.addr, ip6, 16);
	} else {
		__builtin_memset(key.addr, 0, 10);
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &ip4, 4);
	}

	exact = bpf_map_lookup_elem(&bindings, &key);
	key.port = 0;
	any = bpf_map_lookup_elem(&bindings, &key);
	/* Longer prefix first; at equal length the exact port. */
	best = exact;
	if (any && (!exact || any->prefixlen > exact->prefixlen))
		best = any;
	if (!best)
		return SK_PASS;

	m = bpf_map_lookup_elem(&metrics, &best->id);
	if (m)
		m->lookups++;
	sk = bpf_map_lookup_elem(&sockets, &best->id);
	if (!sk) {
		if (m)
			m->misses++;
		return SK_DROP;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		if (m)
			m->errors++;
		return SK_DROP;
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
