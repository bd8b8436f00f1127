// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sk_lookup dispatcher: (protocol, destination address, destination
 * port) -> binding -> label -> socket.
 *
 * Layout, chosen so the per-packet cost does not grow with the number of
 * bindings (an LPM trie walk gets deeper as prefixes get denser):
 *
 * 1. Address: binary search on prefix length over a hash of
 *    (gen, family, proto, plen, masked address) — Waldvogel's scheme. The
 *    search runs over the prefix lengths in use ("lengths"); user space adds
 *    a marker on the search path of every prefix and gives every entry the
 *    port table of its best matching prefix, so a hit means "go longer" and
 *    the last hit is the answer. The longest length is probed first (a hit
 *    there needs no search), then ceil(log2(other lengths + 1)) probes:
 *    never more than 7 (IPv4) or 9 (IPv6), whatever the number of bindings.
 * 2. Port: each distinct prefix owns one port table, a sorted list of
 *    segments covering 0..65535 that already merges the bindings of all
 *    shorter prefixes containing it (longest prefix first, then narrowest
 *    range). A binary search over it takes <= 16 array reads; a range of
 *    any width is one or two segments, never one entry per port.
 * 3. The binding's label picks a SOCKMAP slot (per protocol and family);
 *    bpf_sk_assign selects the socket.
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

/* A port table has at most 65536 segments: 16 halvings. */
#define SKL_SEGMENT_PROBES 17

/* Sizes are set by the loader from the configured limits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct skl_prefix_key);
	__type(value, struct skl_prefix_val);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SKL_LENGTHS_ENTRIES);
	__type(key, __u32);
	__type(value, struct skl_lengths);
} lengths SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct skl_port_key);
	__type(value, struct skl_port_range);
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
	__type(value, struct skl_counters);
} bind_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_counters);
} label_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct skl_totals);
} totals SEC(".maps");

static __always_inline __u32 mask_word(__u32 word, int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return word;
	return word & bpf_htonl(0xffffffffu << (32 - bits));
}

static __always_inline void count(struct skl_counters *bc, struct skl_counters *lc, int what)
{
	if (bc)
		bc->c[what]++;
	if (lc)
		lc->c[what]++;
}

static __always_inline int assign_error_counter(long err)
{
	switch (-err) {
	case ESOCKTNOSUPPORT:
		return SKL_C_DROP_ESOCKTNOSUPPORT;
	case EPROTOTYPE:
		return SKL_C_DROP_EPROTOTYPE;
	case EAFNOSUPPORT:
		return SKL_C_DROP_EAFNOSUPPORT;
	case EEXIST:
		return SKL_C_DROP_EEXIST;
	case EINVAL:
		return SKL_C_DROP_EINVAL;
	default:
		return SKL_C_DROP_OTHER;
	}
}

/* The entry for the address masked to plen, if any. */
static __always_inline struct skl_prefix_val *probe(struct skl_prefix_key *key,
						     const __u32 addr[4], int plen)
{
	key->plen = plen;
	for (int w = 0; w < 4; w++)
		key->addr[w] = mask_word(addr[w], plen - 32 * w);
	return bpf_map_lookup_elem(&prefixes, key);
}

/* Longest binding prefix containing the address: its port table, or NULL. */
static __always_inline struct skl_prefix_val *find_prefix(struct skl_prefix_key *key,
							   const __u32 addr[4])
{
	__u32 lkey = skl_lengths_key(key->gen, key->family == SKL_FAMILY_V6,
				     key->proto == IPPROTO_UDP);
	struct skl_prefix_val *best = NULL;
	struct skl_lengths *lens;
	__u32 longest;
	int lo = 0, hi;

	lens = bpf_map_lookup_elem(&lengths, &lkey);
	if (!lens)
		return NULL;
	longest = lens->n - 1;
	if (longest >= SKL_LENGTHS_MAX) /* no lengths at all (n == 0) wraps here */
		return NULL;
	/* The longest length first: a hit there is the answer (no marker is
	 * that long), and host bindings are found in one probe. */
	best = probe(key, addr, lens->len[longest]);
	if (best)
		return best;
	hi = (int)longest - 1;
	for (int i = 0; i < SKL_PROBES_V6; i++) {
		struct skl_prefix_val *val;
		__u32 mid;
		int plen;

		if (lo > hi)
			break;
		mid = (__u32)(lo + hi) >> 1;
		if (mid >= SKL_LENGTHS_MAX)
			break;
		plen = lens->len[mid];
		val = probe(key, addr, plen);
		if (val) {
			best = val;
			lo = (int)mid + 1;
		} else {
			hi = (int)mid - 1;
		}
	}
	return best;
}

/* The binding a port maps to in a port table, or SKL_NONE. */
static __always_inline __u32 find_segment(__u32 first, __u32 count, __u32 port)
{
	struct skl_segment *seg;
	__u32 lo = first, hi = first + count - 1;

	/* Invariant: the answer is in [lo, hi]; segment `first` starts at 0. */
	for (int i = 0; i < SKL_SEGMENT_PROBES; i++) {
		__u32 mid;

		if (lo >= hi)
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

SEC("sk_lookup")
int sklookup_dispatch(struct bpf_sk_lookup *ctx)
{
	struct skl_counters *bc, *lc;
	struct skl_prefix_key key = {};
	struct skl_binding_value *b;
	struct skl_prefix_val *table;
	struct skl_totals *tot;
	struct skl_config *cfg;
	__u32 zero = 0, addr[4], family, proto, port, binding, label, slot;
	struct bpf_sock *sk;
	long err;

	/* Read every ctx field up front, unconditionally: a load picked by a
	 * family branch lets clang fold the choice into the ctx pointer, which
	 * the verifier rejects ("dereference of modified ctx ptr"). */
	family = ctx->family;
	proto = ctx->protocol;
	port = ctx->local_port;
	addr[0] = ctx->local_ip4;
	__u32 ip6_0 = ctx->local_ip6[0], ip6_1 = ctx->local_ip6[1];
	__u32 ip6_2 = ctx->local_ip6[2], ip6_3 = ctx->local_ip6[3];
	asm volatile("" ::: "memory");

	tot = bpf_map_lookup_elem(&totals, &zero);
	if (tot)
		tot->t[SKL_T_LOOKUPS]++;
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return SK_PASS;

	key.gen = cfg->active_gen & 1;
	key.proto = proto;
	if (family == AF_INET6) {
		key.family = SKL_FAMILY_V6;
		addr[0] = ip6_0;
		addr[1] = ip6_1;
		addr[2] = ip6_2;
		addr[3] = ip6_3;
		table = find_prefix(&key, addr);
	} else {
		key.family = SKL_FAMILY_V4;
		addr[1] = addr[2] = addr[3] = 0;
		table = find_prefix(&key, addr);
	}

	binding = SKL_NONE;
	if (table && table->seg_count)
		binding = find_segment(table->seg_first, table->seg_count, port);
	b = binding == SKL_NONE ? NULL : bpf_map_lookup_elem(&bindings, &binding);
	if (!b) {
		if (tot)
			tot->t[SKL_T_NO_MATCH]++;
		return SK_PASS;
	}

	label = b->label;
	bc = bpf_map_lookup_elem(&bind_counters, &binding);
	lc = bpf_map_lookup_elem(&label_counters, &label);
	count(bc, lc, SKL_C_MATCHED);

	slot = skl_socket_slot(label, proto == IPPROTO_UDP, family == AF_INET6);
	sk = bpf_map_lookup_elem(&sockets, &slot);
	if (!sk) {
		/* Traffic meant for a label never falls through to some other
		 * socket by accident, unless the binding asks for it. */
		if (b->flags & SKL_BINDING_F_MISSING_PASS) {
			count(bc, lc, SKL_C_PASSED_NO_SOCKET);
			return SK_PASS;
		}
		count(bc, lc, SKL_C_DROP_NO_SOCKET);
		return SK_DROP;
	}

	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		count(bc, lc, assign_error_counter(err));
		return SK_DROP;
	}
	count(bc, lc, SKL_C_ASSIGNED);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
