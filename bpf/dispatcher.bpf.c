// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sk_lookup dispatcher: (protocol, destination address, destination
 * port) -> binding -> label -> socket.
 *
 * Layout, chosen so the per-packet cost does not grow with the number of
 * bindings (an LPM trie walk gets deeper as prefixes get denser):
 *
 * 1. Address: binary search on prefix length over a hash table of
 *    (family, proto, plen, masked address) — Waldvogel's scheme. The table
 *    is a two-choice cuckoo table user space builds in an ARRAY map, probed
 *    with inline code: no call per probe (dispatch_abi.h). User space adds
 *    a marker on the search path of every prefix and gives every entry the
 *    port table of its best matching prefix, so a hit means "go longer"
 *    and the last hit is the answer. The search itself is a tree user
 *    space precomputes over the lengths in use ("search"): the longest
 *    length first (a hit there needs no search), then a balanced tree over
 *    the others. At most 9 probes, whatever the number of bindings; the
 *    walk has no index arithmetic, so the verifier checks it step by step
 *    rather than path by path (~1,750 instructions for the whole program,
 *    not 17,500). Before it, the summary of the (family, protocol) in the
 *    config line read first (config.summary): when its bindings are one
 *    prefix with one port range, as most pods' are, the summary holds the
 *    answer (prefix, range, binding) and there is no search and no port
 *    table; otherwise a 64-bit filter of the addresses in use turns most
 *    misses away without a probe.
 * 2. Port: each distinct prefix owns one port table, a sorted list of
 *    segments covering 0..65535 that already merges the bindings of all
 *    shorter prefixes containing it (longest prefix first, then narrowest
 *    range). A binary search over it takes <= 16 array reads; a range of
 *    any width is one or two segments, never one entry per port.
 * 3. The binding's label picks a SOCKMAP slot (per protocol and family);
 *    bpf_sk_assign selects the socket. Matched and assigned are counted
 *    per CPU; the rare outcomes in a shared array (dispatch_abi.h).
 *
 * Two generations of tables: user space fills the inactive one and flips
 * config.active_gen, so a packet never sees a half-applied set.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "dispatch_abi.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

#define EEXIST 17
#define EINVAL 22
#define EPROTOTYPE 91
#define ESOCKTNOSUPPORT 94
#define EAFNOSUPPORT 97


/* Set by the loader from the dispatcher's limits: read-only data, so the
 * verifier knows them and never walks the unrolled steps beyond them that
 * no table of this dispatcher can need (skl_search_steps_for and
 * skl_segment_probes_for in dispatch_abi.h). */
const volatile __u32 search_steps = SKL_SEARCH_STEPS;
const volatile __u32 segment_probes = SKL_SEGMENT_PROBES;

/* Sizes are set by the loader from the configured limits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_prefix_bucket);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_search_node);
} search SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_segment);
} segments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_binding_value);
} bindings SEC(".maps");

/* Read by user space only: the bindings' port ranges and the label names. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_port_entry);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_label);
} labels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_hot_counters);
} bind_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_hot_counters);
} label_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_counters);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_totals);
} totals SEC(".maps");

/* 1 if a == b, else 0, without a branch (a and b are below 2^32). */
static __always_inline __u32 equals(__u64 a, __u64 b)
{
	__u64 diff = a ^ b;

	asm volatile("" : "+r"(diff)); /* keep clang from making it a compare */
	return (diff - 1) >> 63;
}

#include "dispatcher_monitor.bpf.h"

/* The counter of a bpf_sk_assign error, computed without a branch: a
 * switch would give the verifier one path per errno through the rest of
 * the program. */
static __always_inline __u32 assign_error_counter(long err)
{
	__u64 e = (__u64)-err;

	return SKL_C_DROP_OTHER -
	       equals(e, ESOCKTNOSUPPORT) * (SKL_C_DROP_OTHER - SKL_C_DROP_ESOCKTNOSUPPORT) -
	       equals(e, EPROTOTYPE) * (SKL_C_DROP_OTHER - SKL_C_DROP_EPROTOTYPE) -
	       equals(e, EAFNOSUPPORT) * (SKL_C_DROP_OTHER - SKL_C_DROP_EAFNOSUPPORT) -
	       equals(e, EEXIST) * (SKL_C_DROP_OTHER - SKL_C_DROP_EEXIST) -
	       equals(e, EINVAL) * (SKL_C_DROP_OTHER - SKL_C_DROP_EINVAL);
}

/* A rare event: shared counters, atomic adds (a per-CPU copy of these for
 * every binding would cost more memory than the rest of the pod). */
static __always_inline void count_event(__u32 binding_key, __u32 label_key, __u32 what)
{
	struct skl_counters *b = bpf_map_lookup_elem(&events, &binding_key);
	struct skl_counters *l = bpf_map_lookup_elem(&events, &label_key);

	/* Both keys are below the map's size, what is a rare counter: the
	 * checks are for the verifier (what is checked in the register that
	 * indexes). */
	__u64 i = what;

	asm volatile("" : "+r"(i));
	if (!b || !l || i >= SKL_C_COUNT)
		return;
	__sync_fetch_and_add(&b->c[i], 1);
	__sync_fetch_and_add(&l->c[i], 1);
}

/* The slot of bucket idx that holds (tag, k01, k23), or NULL. The tag is
 * compared in 64 bits: both sides are zero-extended loads, so no
 * instructions go to clearing upper halves. */
static __always_inline struct skl_prefix_slot *probe_bucket(__u32 idx, __u64 tag, __u64 k01,
							    __u64 k23)
{
	struct skl_prefix_bucket *b = bpf_map_lookup_elem(&prefixes, &idx);
	struct skl_prefix_slot *s;

	if (!b)
		return NULL;
	s = &b->slot[0];
	if (!((s->addr[0] ^ k01) | (s->addr[1] ^ k23) | ((__u64)s->tag ^ tag)))
		return s;
	s = &b->slot[1];
	if (!((s->addr[0] ^ k01) | (s->addr[1] ^ k23) | ((__u64)s->tag ^ tag)))
		return s;
	return NULL;
}

/* The port table of the longest binding prefix containing the address:
 * *first and *count, or *count == 0. Each step reads its node by key, so
 * the verifier sees the same state after a hit as after a miss and checks
 * the step once; the unrolled steps keep a loop counter out of its way. */
static __always_inline void find_prefix(__u64 a01, __u64 a23, __u32 node, __u32 *first,
					__u32 *count)
{
	*count = 0;
#pragma unroll
	for (int i = 0; i < SKL_SEARCH_STEPS; i++) {
		struct skl_search_node *n;
		struct skl_prefix_slot *s;
		__u32 on_hit, on_miss, nb, base;
		__u64 h, k01, k23, tag;

		if (i >= search_steps)
			return;
		n = bpf_map_lookup_elem(&search, &node);
		if (!n || !n->tag)
			return;
		/* Both read into registers: clang would otherwise pick the
		 * field by pointer offset, which makes the verifier track
		 * (and split on) the offset. */
		on_hit = n->on_hit;
		on_miss = n->on_miss;
		asm volatile("" : "+r"(on_hit), "+r"(on_miss));
		tag = n->tag;
		nb = n->n_buckets;
		base = n->bucket_first;
		k01 = a01 & n->mask[0];
		k23 = a23 & n->mask[1];
		h = skl_prefix_hash(n->seed, tag, k01, k23);
		s = probe_bucket(base + skl_prefix_bucket_of(h, 0, nb), tag, k01, k23);
		if (!s)
			s = probe_bucket(base + skl_prefix_bucket_of(h, 1, nb), tag, k01, k23);
		if (s) {
			*first = s->seg_first;
			*count = s->seg_count;
			node = on_hit;
		} else {
			node = on_miss;
		}
		if (node == SKL_NONE)
			return;
	}
}

/* The binding a port maps to in a port table, or SKL_NONE. */
static __always_inline __u32 find_segment(__u32 first, __u32 count, __u32 port)
{
	struct skl_segment *seg;
	__u32 lo = first, hi = first + count - 1;

	/* Invariant: the answer is in [lo, hi]; segment `first` starts at 0. */
#pragma unroll
	for (int i = 0; i < SKL_SEGMENT_PROBES; i++) {
		__u32 mid;

		if (i >= segment_probes || lo >= hi)
			break;
		mid = (lo + hi + 1) >> 1;
		seg = bpf_map_lookup_elem(&segments, &mid);
		if (!seg)
			return SKL_NONE;
		if (seg->start <= port)
			lo = mid;
		else
			hi = mid - 1;
	}
	seg = bpf_map_lookup_elem(&segments, &lo);
	return seg ? seg->binding : SKL_NONE;
}

/* binding if first <= port <= last (ports: skl_inline_ports()), else
 * SKL_NONE; without a branch, so the verifier follows one path. */
static __always_inline __u32 inline_binding(__u32 binding, __u32 ports, __u32 port)
{
	__u64 lo = ports & 0xffff, hi = ports >> 16;
	/* Negative when port is outside (port - lo wraps below lo). */
	__u64 outside = (hi - lo) - (__u64)(__u32)(port - lo);

	asm volatile("" : "+r"(outside)); /* no compare: clang would branch */
	return (__u32)(SKL_NONE ^ ((binding ^ SKL_NONE) & ((outside >> 63) - 1)));
}

/* All ones if x != 0, else 0, without a branch (the barrier hides from
 * clang that it is a comparison, which it would turn into one). */
static __always_inline __u32 ones_if_nonzero(__u64 x)
{
	__u64 m = (x | -x) >> 63;

	asm volatile("" : "+r"(m));
	return (__u32)-m;
}

SEC("sk_lookup")
int sklookup_dispatch(struct bpf_sk_lookup *ctx)
{
	struct skl_counters *bc, *lc;
	struct skl_binding_value *b;
	struct skl_totals *tot;
	struct skl_config *cfg;
	__u32 zero = 0, family, proto, port, binding, label, slot;
	__u32 seg_first = 0, seg_count, is_v6, gen, root;
	struct skl_summary *sum;
	__u64 a01, a23, k01, k23;
	__u32 direct_ports;
	__u32 what;
	int verdict;
	struct bpf_sock *sk;
	long err;

	/* Read every ctx field up front, unconditionally: a load picked by a
	 * family branch lets clang fold the choice into the ctx pointer, which
	 * the verifier rejects ("dereference of modified ctx ptr"). */
	family = ctx->family;
	proto = ctx->protocol;
	port = ctx->local_port;
	__u32 ip4 = ctx->local_ip4;
	__u32 ip6_0 = ctx->local_ip6[0], ip6_1 = ctx->local_ip6[1];
	__u32 ip6_2 = ctx->local_ip6[2], ip6_3 = ctx->local_ip6[3];
	asm volatile("" ::: "memory");

	tot = bpf_map_lookup_elem(&totals, &zero);
	if (tot)
		tot->t[SKL_T_LOOKUPS]++;
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return SK_PASS;

	/* No branch on the family: the other family's address fields read
	 * as zero (prog_sk_lookup.rst), and a v4 search node masks out words
	 * 1-3. One path for both families is one path for the verifier. */
	is_v6 = equals(family, AF_INET6);
	gen = cfg->active_gen & 1;
	root = gen * 4 + is_v6 * 2 + equals(proto, IPPROTO_UDP);
	a01 = skl_addr_pair(ip4 | ip6_0, ip6_1);
	a23 = skl_addr_pair(ip6_2, ip6_3);
	sum = &cfg->summary[root];
	k01 = a01 & sum->mask[0];
	k23 = a23 & sum->mask[1];
	direct_ports = sum->direct_ports;
	seg_count = 0;
	binding = SKL_NONE;
	if (__builtin_expect(direct_ports != SKL_INLINE_NONE, 0)) {
		/* One prefix, one port range: the answer is in the summary.
		 * Another prefix sets every bit (SKL_NONE). */
		binding = inline_binding(sum->direct_binding, direct_ports, port) |
			  ones_if_nonzero((k01 ^ sum->direct_addr[0]) | (k23 ^ sum->direct_addr[1]));
	} else if ((sum->bits >> skl_summary_bit(k01, k23)) & 1) {
		/* An address inside no prefix in use is a miss without a probe. */
		find_prefix(a01, a23, root, &seg_first, &seg_count);
	}
	if (seg_count)
		binding = find_segment(seg_first, seg_count, port);
	b = binding == SKL_NONE ? NULL : bpf_map_lookup_elem(&bindings, &binding);
	if (!b) {
		if (tot)
			tot->t[SKL_T_NO_MATCH]++;
		if (bpf_map_lookup_elem(&monitor, &zero))
			skl_monitor_report(ctx, SKL_NONE, SKL_NONE, SKL_NONE,
					   SKL_M_NO_BINDING | SK_PASS << 8);
		return SK_PASS;
	}

	label = b->label;
	bc = bpf_map_lookup_elem(&bind_counters, &binding);
	lc = bpf_map_lookup_elem(&label_counters, &label);
	/* Cannot fail (ids are below the maps' sizes); checked once here so
	 * every later step has one state for the verifier, not four. */
	if (!bc || !lc)
		return SK_PASS;
	bc->c[SKL_C_MATCHED]++;
	lc->c[SKL_C_MATCHED]++;

	slot = skl_socket_slot(label, proto == IPPROTO_UDP, is_v6);
	sk = bpf_map_lookup_elem(&sockets, &slot);
	if (!sk) {
		/* Traffic meant for a label never falls through to some other
		 * socket by accident, unless the binding asks for it. */
		__u32 pass = !!(b->flags & SKL_BINDING_F_MISSING_PASS);

		asm volatile("" : "+r"(pass)); /* one path: no branch on the flag */
		what = SKL_C_DROP_NO_SOCKET - pass * (SKL_C_DROP_NO_SOCKET - SKL_C_PASSED_NO_SOCKET);
		verdict = pass; /* SK_PASS is 1, SK_DROP 0 */
		err = 0;
	} else {
		__u32 failed;

		err = bpf_sk_assign(ctx, sk, 0);
		bpf_sk_release(sk);
		/* Without branches, as above: one path on to the counters. */
		failed = (__u64)err >> 63; /* 0, or a negative errno */
		asm volatile("" : "+r"(failed));
		what = SKL_C_ASSIGNED + failed * (assign_error_counter(err) - SKL_C_ASSIGNED);
		verdict = 1 - failed;
	}
	if (what == SKL_C_ASSIGNED) {
		bc->c[SKL_C_ASSIGNED]++;
		lc->c[SKL_C_ASSIGNED]++;
	} else {
		count_event(binding, cfg->label_events + label, what);
	}
	if (bpf_map_lookup_elem(&monitor, &zero))
		skl_monitor_report(ctx, binding, label, slot,
				   monitor_reason(what) | verdict << 8 | (__u32)(-err) << 16);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
