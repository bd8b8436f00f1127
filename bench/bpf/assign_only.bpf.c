// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of any SOCKMAP dispatcher, written for the traffic benchmark:
 * no lookup at all, only what every dispatcher that selects a socket does —
 * a SOCKMAP lookup (slot 0: TCP, 1: UDP), bpf_sk_assign, bpf_sk_release.
 * A socket in a SOCKMAP also gets the kernel's sockmap hooks on its own
 * paths, which this pays too.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define IPPROTO_UDP 17

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

SEC("sk_lookup")
int assign_only(struct bpf_sk_lookup *ctx)
{
	__u32 slot = ctx->protocol == IPPROTO_UDP;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sockets, &slot);

	if (!sk)
		return SK_PASS;
	bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
