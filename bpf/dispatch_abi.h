/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the BPF dispatcher and user space: map keys, values
 * and constants. Included by bpf/dispatcher.bpf.c and by plugin/ code, so it
 * uses only fixed-size kernel types. Any change to a struct here is a change
 * of SKL_ABI_VERSION (sklookup-ctl upgrade refuses incompatible layouts).
 */
#ifndef SKL_DISPATCH_ABI_H
#define SKL_DISPATCH_ABI_H

#include <linux/types.h>

#ifdef SKL_TEST_LAYOUT_ALT
/* A test build whose map layout differs (make LAYOUT_ALT=1): it plays a
 * next release for the upgrade tests until a real layout change exists. */
#define SKL_ABI_VERSION 1002
#else
#define SKL_ABI_VERSION 4
#endif

#define SKL_NONE 0xffffffffu /* "no binding" / "no table" */

/* Two generations of the rule tables: user space fills the inactive one and
 * flips config.active_gen, so a packet sees the old set or the new set,
 * never a mix. */
#define SKL_GENERATIONS 2

#define SKL_LABEL_MAX 32 /* bytes, without the NUL */

#define SKL_PORT_MAX 65535 /* the last port; port tables cover 0..SKL_PORT_MAX */

/* Prefix lengths in use: at most 33 for IPv4, 129 for IPv6. */
#define SKL_LENGTHS_MAX 129

enum skl_family { SKL_FAMILY_V4 = 0, SKL_FAMILY_V6 = 1 };

/* An address: IPv6's 16 bytes, or IPv4's 4 in the first of them. */
#define SKL_ADDR_BYTES 16
#define SKL_V4_BYTES 4
#define SKL_PLEN_MAX_V4 32
#define SKL_PLEN_MAX_V6 128

/* The "prefixes" table: a two-choice cuckoo hash table that user space
 * builds in an ARRAY map and the program probes with inline code (an array
 * lookup is a few instructions the kernel inlines; a BPF hash probe is a call
 * to the kernel's hash code, ~20 ns on a CPU with return-thunk mitigations).
 * Each generation owns n_buckets buckets from bucket_first (in every search
 * node); an entry sits in one of the two buckets skl_prefix_hash() names.
 * A slot holds a binding prefix or a search marker. */
#define SKL_PREFIX_SLOTS 2 /* slots per bucket */

/* What a slot of a given (family, protocol, prefix length) is tagged with;
 * 0 is an empty slot. */
#define SKL_TAG_IN_USE 0x1000000u
static inline __u32 skl_prefix_tag(__u32 family, __u32 proto, __u32 plen)
{
	return SKL_TAG_IN_USE | family << 16 | (proto & 0xff) << 8 | (plen & 0xff);
}

static inline __u32 skl_tag_plen(__u32 tag)
{
	return tag & 0xff;
}

/* An address as two 64-bit words, each built from two of its 32-bit words
 * (network byte order, as the program reads them), the same way in the
 * program and in user space. */
static inline __u64 skl_addr_pair(__u32 first, __u32 second)
{
	return (__u64)second << 32 | first;
}

struct skl_prefix_slot {
	__u64 addr[2];   /* masked: skl_addr_pair(words 0, 1), (words 2, 3); v4 in word 0 */
	__u32 tag;       /* skl_prefix_tag(), 0: empty */
	/* The port table of the longest binding prefix that contains the
	 * address bits and is no longer than the slot's ("best matching
	 * prefix"); seg_count == 0: no binding prefix does. */
	__u32 seg_first; /* index into "segments" (generation offset included) */
	__u32 seg_count;
	__u32 pad;
};

struct skl_prefix_bucket {
	struct skl_prefix_slot slot[SKL_PREFIX_SLOTS];
};

/* The two candidate buckets of a key: hash words 0 and 1, each scaled to
 * [0, n_buckets) by a multiply ("fast range"), so any table size works.
 * The multipliers are sign-extended 32-bit constants: one instruction each
 * in the program (a 64-bit constant takes two), whose size is memory. */
#define SKL_HASH_M1 ((__u64)(__s64)(__s32)0x9e3779b1)
#define SKL_HASH_M2 ((__u64)(__s64)(__s32)0x85ebca77)
#define SKL_HASH_M3 ((__u64)(__s64)(__s32)0xc2b2ae3d)
static inline __u64 skl_prefix_hash(__u32 seed, __u32 tag, __u64 a01, __u64 a23)
{
	__u64 h = ((a01 ^ ((__u64)tag << 32 | seed)) * SKL_HASH_M1) ^ (a23 * SKL_HASH_M2);

	h ^= h >> 32;
	h *= SKL_HASH_M3;
	h ^= h >> 29;
	return h;
}

static inline __u32 skl_prefix_bucket_of(__u64 hash, int second, __u32 n_buckets)
{
	__u32 word = second ? (__u32)(hash >> 32) : (__u32)hash;

	return (__u32)(((__u64)word * n_buckets) >> 32);
}

/* One entry of a port table: ports [start, next entry's start) go to
 * binding. Tables cover 0..65535 and are sorted by start. */
struct skl_segment {
	__u32 start;
	__u32 binding; /* index into "bindings", or SKL_NONE: no match */
#ifdef SKL_TEST_LAYOUT_ALT
	__u32 alt_unused[2]; /* another value size for "segments" */
#endif
};

/* The prefix lengths in use, ascending, for one (family, protocol): the
 * compiler's output, from which user space builds the search tree below. */
struct skl_lengths {
	__u32 n;
	__u8 len[SKL_LENGTHS_MAX + 3];
};

static inline __u32 skl_lengths_key(__u32 gen, int is_v6, int is_udp)
{
	return gen * 4 + (is_v6 ? 2 : 0) + (is_udp ? 1 : 0);
}

/* The search over prefix lengths, precomputed by user space as a tree in the
 * "search" array, so the program walks it with map lookups and no index
 * arithmetic: the verifier then checks each step once instead of every
 * path through a binary search (that was 17,573 instructions and ~14 ms on
 * every pod start). The root of (generation, family, protocol) is node
 * skl_lengths_key(); it probes the longest length in use (a hit there is the
 * answer: no marker is that long), its on_miss leads to a balanced tree over
 * the other lengths. A node not in use (tag 0) ends the search. Every node
 * also names its generation's prefix table (seed, buckets), so a step reads
 * one node and one or two buckets. */
struct skl_search_node {
	__u64 mask[2];  /* the first plen bits set, as skl_addr_pair() words */
	__u32 tag;      /* skl_prefix_tag() of the length probed; 0: not in use */
	__u32 on_hit;   /* next node after a hit, or SKL_NONE: done */
	__u32 on_miss;  /* next node after a miss, or SKL_NONE: done */
	__u32 seed;     /* the generation's prefix table: hash seed, */
	__u32 bucket_first; /* its first bucket in "prefixes" */
	__u32 n_buckets;    /* and its number of buckets */
};

/* Search trees per generation: one per (family, protocol). */
#define SKL_SEARCH_TREES 4
#define SKL_SEARCH_ROOTS (SKL_GENERATIONS * SKL_SEARCH_TREES)
/* The longest length, then a balanced tree over at most 128 others. */
#define SKL_SEARCH_STEPS 9
/* The smallest k with 2^k >= n (0 for n <= 1). */
static inline __u32 skl_ceil_log2(__u64 n)
{
	__u32 k = 0;

	while (k < 63 && ((__u64)1 << k) < n)
		k++;
	return k;
}

/* Steps the search can take when a (family, protocol) has at most
 * max_lengths lengths in use: the root, then a balanced tree over the
 * others (depth ceil(log2(max_lengths))). */
static inline __u32 skl_search_steps_for(__u32 max_lengths)
{
	__u32 n = max_lengths < SKL_LENGTHS_MAX ? max_lengths : SKL_LENGTHS_MAX;

	return 1 + skl_ceil_log2(n ? n : 1);
}

/* Halvings a port table of at most max_segments segments can need. */
#define SKL_SEGMENT_PROBES 17
static inline __u32 skl_segment_probes_for(__u32 max_segments)
{
	__u32 k = skl_ceil_log2(max_segments ? max_segments : 1);

	return k < SKL_SEGMENT_PROBES ? (k ? k : 1) : SKL_SEGMENT_PROBES;
}

/* Nodes a generation can need besides its roots: one per length in use. */
#define SKL_SEARCH_NODES_MAX (33 + 33 + 129 + 129 - 4)

#define SKL_BINDING_F_IN_USE 0x1
#define SKL_BINDING_F_MISSING_PASS 0x2 /* "missing": "pass" */

/* A binding as the dispatcher and the tools see it (value of "bindings"). Ids are stable for the
 * life of a binding, so its counters survive unrelated changes. */
struct skl_binding_value {
	__u32 label;  /* index into "labels" */
	__u8 flags;   /* SKL_BINDING_F_* */
	__u8 proto;
	__u8 family;
	__u8 plen;
	__u32 addr[4];
	__u32 n_ports;    /* port ranges of this binding, a chain in "ports" */
	__u32 port_first; /* its first entry there */
};

/* An entry of the "ports" array (user space only): one port range of a
 * binding, for listing bindings back out of the maps. A binding's ranges are
 * a chain from its port_first; an entry no binding in use reaches is free. */
struct skl_port_range {
	__u16 lo;
	__u16 hi;
};

struct skl_port_entry {
	struct skl_port_range range;
	__u32 next; /* the binding's next range, or SKL_NONE */
};

#define SKL_LABEL_F_IN_USE 0x1

struct skl_label {
	__u32 flags;
	char name[SKL_LABEL_MAX + 4]; /* NUL-terminated */
};

/* Socket slots in the SOCKMAP: four per label, by protocol and family of the
 * packet. A dual-stack IPv6 socket fills both family slots. */
#define SKL_SOCKETS_PER_LABEL 4
static inline __u32 skl_socket_slot(__u32 label, int is_udp, int is_v6)
{
	return label * SKL_SOCKETS_PER_LABEL + (is_udp ? 2 : 0) + (is_v6 ? 1 : 0);
}

/* Counters, kept per binding and per label. The two of every lookup that
 * matches are per CPU ("bind_counters", "label_counters": struct
 * skl_hot_counters); the rest count rare events, with atomic adds to one
 * shared struct skl_counters per binding and per label ("events"), so a
 * pod's counters do not cost 80 bytes per binding on every CPU. */
enum skl_counter {
	SKL_C_MATCHED,          /* a binding matched */
	SKL_C_ASSIGNED,         /* its socket was selected */
	SKL_C_HOT,              /* the per-CPU ones end here */
	SKL_C_PASSED_NO_SOCKET = SKL_C_HOT, /* no socket, "missing": "pass" */
	SKL_C_DROP_NO_SOCKET,   /* no socket, dropped */
	SKL_C_DROP_ESOCKTNOSUPPORT, /* bpf_sk_assign errors, by errno */
	SKL_C_DROP_EPROTOTYPE,
	SKL_C_DROP_EAFNOSUPPORT,
	SKL_C_DROP_EEXIST,
	SKL_C_DROP_EINVAL,
	SKL_C_DROP_OTHER,
	SKL_C_COUNT
};

struct skl_hot_counters {
	__u64 c[SKL_C_HOT];
};

/* All counters of a binding or label; in "events" only [SKL_C_HOT, ..)
 * are used. Key of "events": the binding id, or config.label_events plus
 * the label id. */
struct skl_counters {
	__u64 c[SKL_C_COUNT];
};

/* Per-CPU totals of the whole dispatcher. */
enum skl_total {
	SKL_T_LOOKUPS,   /* program runs */
	SKL_T_NO_MATCH,  /* no binding matched: normal lookup goes on */
	SKL_T_MONITOR_LOST, /* decisions a full monitor ring had no room for */
	SKL_T_COUNT
};

struct skl_totals {
	__u64 t[SKL_T_COUNT];
};

/* Which addresses can match at all, per (generation, family, protocol), so
 * a miss costs no probe: the addresses of every prefix in use, masked to
 * the shortest length in use, each set one bit of a 64-bit filter. An
 * address whose bit is clear is inside no binding prefix. (It sits in
 * "config", which the program reads anyway.)
 *
 * A (generation, family, protocol) whose bindings are one prefix with one
 * port range, as most pods' are, is answered here outright ("direct"): the
 * prefix masked by mask[], and the range's binding, with no search and no
 * port table. */
struct skl_summary {
	__u64 mask[2]; /* the shortest length in use, as skl_addr_pair() words */
	__u64 bits;    /* bit skl_summary_bit() of every prefix in use */
	__u64 direct_addr[2];  /* direct: the prefix, as skl_addr_pair() words */
	__u32 direct_binding;  /* direct: the binding of ports direct_ports */
	__u32 direct_ports;    /* skl_inline_ports(first, last), or SKL_INLINE_NONE */
};

/* A port range as one word: first | last << 16. */
static inline __u32 skl_inline_ports(__u32 first, __u32 last)
{
	return first | last << 16;
}
/* First port above the last: no port is inside; a summary that is not direct. */
#define SKL_INLINE_NONE skl_inline_ports(SKL_PORT_MAX, 0)

/* The address folded to 32 bits, then Fibonacci hashing: the top 6 bits
 * of a 32-bit product depend on every bit folded in. */
static inline __u32 skl_summary_bit(__u64 a01, __u64 a23)
{
	__u64 x = a01 ^ a23;

	return ((__u32)(x ^ (x >> 32)) * 0x9e3779b1u) >> 26;
}

/*
 * Live decisions (sklookup-ctl monitor). The "monitor" map holds, in its
 * one slot, a ring buffer while a monitor watches the pod and nothing
 * otherwise: with nobody watching, a lookup pays one inlined array read and
 * a branch. Every decision then goes into the ring as one event. The ring's
 * size is part of the layout (an inner map must match the map's template).
 */
#define SKL_MONITOR_RING_KIB 256
#define SKL_MONITOR_RING_BYTES (SKL_MONITOR_RING_KIB * 1024)
/* The program wakes the reader once this much waits in the ring; a reader
 * also reads every SKL_MONITOR_READ_MS on its own. */
#define SKL_MONITOR_WAKEUP_BYTES (SKL_MONITOR_RING_BYTES / 4)
#define SKL_MONITOR_READ_MS 100

enum skl_monitor_reason {
	SKL_M_NO_BINDING,      /* no binding matched: SK_PASS, the normal lookup goes on */
	SKL_M_ASSIGNED,        /* the label's socket was selected */
	SKL_M_NO_SOCKET_PASS,  /* the label has no socket, "missing": "pass" */
	SKL_M_NO_SOCKET_DROP,  /* the label has no socket: SK_DROP */
	SKL_M_ASSIGN_ERROR,    /* bpf_sk_assign refused the socket (err): SK_DROP */
	SKL_M_REASONS
};

struct skl_monitor_event {
	__u64 time_ns;      /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 netns_cookie; /* the pod: config.netns_cookie */
	__u64 lost;         /* this CPU's SKL_T_MONITOR_LOST when the event was made */
	__u32 src[4];       /* remote address; IPv4 in src[0], network byte order */
	__u32 dst[4];       /* local address */
	__u16 src_port;     /* host byte order */
	__u16 dst_port;
	__u8 family;        /* enum skl_family */
	__u8 proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 verdict;       /* SK_PASS (1) or SK_DROP (0) */
	__u8 reason;        /* enum skl_monitor_reason */
	__u32 binding;      /* SKL_NONE when none matched */
	__u32 label;        /* SKL_NONE when none */
	__u32 slot;         /* the SOCKMAP slot looked up, SKL_NONE when none */
	__s32 err;          /* SKL_M_ASSIGN_ERROR: bpf_sk_assign's errno, positive */
	__u32 cpu;
	__u32 pad;
};

/* The single entry of the "config" array. */
struct skl_config {
	__u32 active_gen;
	__u32 abi_version;
	__u32 max_segments; /* per generation: gen g owns [g*max, (g+1)*max) */
	__u32 label_events; /* key of label 0's counters in "events" */
	__u64 netns_cookie; /* the netns the dispatcher serves (SO_NETNS_COOKIE) */
	struct skl_summary summary[SKL_SEARCH_ROOTS]; /* by skl_lengths_key() */
};

#endif
