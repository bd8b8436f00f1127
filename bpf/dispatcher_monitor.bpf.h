// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The dispatcher's side of sklookup-ctl monitor (dispatch_abi.h): the
 * monitor slot and the report of one decision into the ring it holds.
 * Included by dispatcher.bpf.c after its maps and equals().
 */
#ifndef SKL_DISPATCHER_MONITOR_BPF_H
#define SKL_DISPATCHER_MONITOR_BPF_H

/* A monitor's ring (dispatch_abi.h), in "monitor" only while one watches. */
struct skl_monitor_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SKL_MONITOR_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct skl_monitor_ring);
} monitor SEC(".maps");

static __always_inline __u8 monitor_reason(int what)
{
	switch (what) {
	case SKL_C_ASSIGNED:
		return SKL_M_ASSIGNED;
	case SKL_C_PASSED_NO_SOCKET:
		return SKL_M_NO_SOCKET_PASS;
	case SKL_C_DROP_NO_SOCKET:
		return SKL_M_NO_SOCKET_DROP;
	default:
		return SKL_M_ASSIGN_ERROR;
	}
}

/* One decision into the monitor's ring; when it is full, counted as lost
 * (per CPU, and carried by the next event so a reader sees the gap). Only
 * called while a monitor watches. A global function: the verifier checks it
 * once on its own, not again at each call (the program's instruction
 * budget), so it takes scalars and finds the ring, totals and config
 * itself. how: reason | verdict << 8 | errno << 16. */
__attribute__((noinline)) int skl_monitor_report(struct bpf_sk_lookup *ctx, __u32 binding,
						 __u32 label, __u32 slot, __u32 how)
{
	struct skl_monitor_event e = {};
	struct skl_totals *tot;
	struct skl_config *cfg;
	__u32 zero = 0;
	__u64 wakeup;
	void *ring;

	ring = bpf_map_lookup_elem(&monitor, &zero);
	tot = bpf_map_lookup_elem(&totals, &zero);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!ctx || !ring || !tot || !cfg)
		return 0;
	e.time_ns = bpf_ktime_get_ns();
	e.netns_cookie = cfg->netns_cookie;
	e.lost = tot->t[SKL_T_MONITOR_LOST];
	/* Every field read, whatever the family: the other family's read as
	 * zero, and no branch picks a ctx offset. */
	e.src[0] = ctx->remote_ip4 | ctx->remote_ip6[0];
	e.src[1] = ctx->remote_ip6[1];
	e.src[2] = ctx->remote_ip6[2];
	e.src[3] = ctx->remote_ip6[3];
	e.dst[0] = ctx->local_ip4 | ctx->local_ip6[0];
	e.dst[1] = ctx->local_ip6[1];
	e.dst[2] = ctx->local_ip6[2];
	e.dst[3] = ctx->local_ip6[3];
	e.src_port = bpf_ntohs(ctx->remote_port);
	e.dst_port = ctx->local_port;
	e.family = equals(ctx->family, AF_INET6) ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	e.proto = ctx->protocol;
	e.reason = how & 0xff;
	e.verdict = (how >> 8) & 0xff;
	e.err = how >> 16;
	e.binding = binding;
	e.label = label;
	e.slot = slot;
	e.cpu = bpf_get_smp_processor_id();
	/* Waking the reader is the costly part of an event: it is woken once
	 * a batch is waiting, and otherwise reads on its own timer. */
	wakeup = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= SKL_MONITOR_WAKEUP_BYTES
			 ? BPF_RB_FORCE_WAKEUP
			 : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(ring, &e, sizeof(e), wakeup))
		tot->t[SKL_T_MONITOR_LOST]++;
	return 0;
}

#endif
