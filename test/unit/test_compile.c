/*
 * The compiler against the reference precedence rule: random binding sets
 * with dense nesting, every probe resolved both ways; and what ranges and
 * prefixes cost in table entries.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bindings.h"
#include "compile.h"
#include "prefix_table.h"
#include "search_tree.h"

static void parse(const char *json, struct skl_binding_set *set)
{
	cJSON *doc = cJSON_Parse(json);
	struct skl_err err = { 0 };

	assert_non_null(doc);
	memset(set, 0, sizeof(*set));
	if (skl_bindings_parse(doc, "bindings", set, &err))
		fail_msg("%s", err.msg);
	cJSON_Delete(doc);
}

static void compile(const struct skl_binding_set *set, struct skl_compiled *c)
{
	struct skl_err err = { 0 };

	if (skl_compile(set, c, &err))
		fail_msg("%s", err.msg);
}

static void addr_of(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = SKL_FAMILY_V4;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, addr), 1);
	*family = SKL_FAMILY_V6;
}

static uint32_t lookup(const struct skl_compiled *c, uint8_t proto, const char *addr,
		       uint16_t port)
{
	uint8_t family, a[16];

	addr_of(addr, &family, a);
	return skl_compiled_lookup(c, proto, family, a, port);
}

/* A binding for all ports, or for 1-65535, is a couple of segments and a
 * couple of prefix entries, not one entry per port. */
static void wide_ranges_cost_a_handful_of_entries(void **state)
{
	const char *sets[] = {
		"[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]",
		"[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
		" \"ports\": [\"1-65535\"]}]",
		"[{\"label\": \"a\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::/48\","
		" \"ports\": [\"1000-60000\"]}]",
		"[{\"label\": \"a\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::1\","
		" \"ports\": [\"10000-20000\", \"30000-40000\"]}]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct skl_binding_set set;
		struct skl_compiled c;

		parse(sets[i], &set);
		compile(&set, &c);
		assert_in_range(c.n_segments, 2, 5);
		/* The entry and at most one marker per probe of the search. */
		assert_in_range(c.n_prefixes, 1, SKL_SEARCH_STEPS);
		skl_compiled_free(&c);
		skl_bindings_free(&set);
	}
}

static void precedence_examples(void **state)
{
	struct skl_binding_set set;
	struct skl_compiled c;

	(void)state;
	parse("[{\"label\": \"wide\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
	      " {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	      "  \"ports\": [\"80\", \"8000-8999\"]},"
	      " {\"label\": \"alt\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	      "  \"ports\": [\"8080\"]},"
	      " {\"label\": \"host\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.7\","
	      "  \"ports\": [\"22\"]},"
	      " {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::/64\","
	      "  \"ports\": [\"53\"]}]",
	      &set);
	compile(&set, &c);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.1", 443), 0);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.1", 80), 1);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.1", 8500), 1);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.1", 8080), 2);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.7", 22), 3);
	/* The /32 covers only 22: other ports fall back to the /24's table. */
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.7", 8080), 2);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.7", 0), SKL_NONE);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "198.51.100.1", 80), SKL_NONE);
	assert_int_equal(lookup(&c, IPPROTO_UDP, "192.0.2.1", 80), SKL_NONE);
	assert_int_equal(lookup(&c, IPPROTO_UDP, "2001:db8::5", 53), 4);
	assert_int_equal(lookup(&c, IPPROTO_UDP, "2001:db8::5", 54), SKL_NONE);
	assert_int_equal(lookup(&c, IPPROTO_TCP, "2001:db8::5", 53), SKL_NONE);
	assert_int_equal(lookup(&c, IPPROTO_UDP, "2001:db8:1::5", 53), SKL_NONE);
	skl_compiled_free(&c);
	skl_bindings_free(&set);
}

/* Identical bindings that compile to identical port tables share them. */
static void identical_tables_are_shared(void **state)
{
	struct skl_binding_set set;
	struct skl_compiled c;

	(void)state;
	parse("[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
	      " {\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
	      " {\"label\": \"a\", \"protocol\": \"udp\", \"prefix\": \"192.0.2.0/24\"}]",
	      &set);
	compile(&set, &c);
	/* tcp and udp /24 both map ports 1-65535 to binding 0 and 2: two tables. */
	assert_int_equal(lookup(&c, IPPROTO_TCP, "192.0.2.1", 1), 0);
	assert_int_equal(lookup(&c, IPPROTO_UDP, "192.0.2.1", 1), 2);
	assert_int_equal(c.n_segments, 4);
	skl_compiled_free(&c);
	skl_bindings_free(&set);
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* A random binding inside a tiny universe, so prefixes and ranges nest and
 * collide a lot: v4 192.0.2.0/28 region, v6 2001:db8::/124 region, ports
 * 1..24. */
static void random_binding(uint64_t *s, struct skl_binding_spec *b, struct skl_port_range *ports)
{
	static const char *const labels[] = { "a", "b", "c", "d" };
	int v6 = rnd(s) % 2;
	int host_bits = (int)(rnd(s) % 5);

	memset(b, 0, sizeof(*b));
	snprintf(b->label, sizeof(b->label), "%s", labels[rnd(s) % 4]);
	b->proto = rnd(s) % 3 ? IPPROTO_TCP : IPPROTO_UDP;
	b->kind = SKL_PREFIX_CIDR;
	b->family = v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	b->plen = (uint8_t)((v6 ? 128 : 32) - host_bits);
	if (v6) {
		inet_pton(AF_INET6, "2001:db8::", b->addr);
		b->addr[15] = (uint8_t)(rnd(s) % 16);
	} else {
		inet_pton(AF_INET, "192.0.2.0", b->addr);
		b->addr[3] = (uint8_t)(rnd(s) % 16);
	}
	if (rnd(s) % 8 == 0) /* a short prefix now and then */
		b->plen = (uint8_t)(v6 ? 32 + rnd(s) % 64 : 24 + rnd(s) % 4);
	skl_prefix_mask(b->addr, b->family, b->plen);
	b->missing_pass = rnd(s) % 4 == 0;
	b->n_ports = 1 + rnd(s) % 2;
	for (size_t k = 0; k < b->n_ports; k++) {
		uint16_t lo = (uint16_t)(1 + rnd(s) % 24), width = (uint16_t)(rnd(s) % 6);

		ports[k] = (struct skl_port_range){ lo, (uint16_t)(lo + width) };
		if (rnd(s) % 10 == 0)
			ports[k] = (struct skl_port_range){ 1, 65535 };
	}
	if (b->n_ports == 2 && (ports[0].lo > ports[1].lo ||
				(ports[0].lo == ports[1].lo && ports[0].hi < ports[1].hi))) {
		struct skl_port_range t = ports[0];

		ports[0] = ports[1];
		ports[1] = t;
	}
	if (b->n_ports == 2 && ports[0].lo == ports[1].lo && ports[0].hi == ports[1].hi)
		b->n_ports = 1;
	b->ports = ports;
	snprintf(b->where, sizeof(b->where), "random");
}

/* On a mismatch, shows the bindings and entries of that protocol and family. */
static void dump_tables(const struct skl_binding_set *set, const struct skl_compiled *c,
			uint8_t proto, uint8_t family)
{
	char buf[64];

	for (size_t i = 0; i < set->n; i++) {
		const struct skl_binding_spec *b = &set->v[i];

		if (b->proto != proto || b->family != family)
			continue;
		skl_prefix_format(b->family, b->plen, b->addr, buf, sizeof(buf));
		fprintf(stderr, "binding %zu %s %s %u-%u%s\n", i, b->label, buf, b->ports[0].lo,
			b->ports[0].hi, b->n_ports > 1 ? " (+1 range)" : "");
	}
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *e = &c->prefixes[i];

		if (e->proto != proto || e->family != family)
			continue;
		skl_prefix_format(e->family, e->plen, e->addr, buf, sizeof(buf));
		fprintf(stderr, "entry %s -> segments %u+%u\n", buf, e->seg_first, e->seg_count);
	}
}

static void compiled_lookup_matches_reference(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t probes = 0, hits = 0;

	(void)state;
	for (int round = 0; round < 60; round++) {
		struct skl_binding_set set = { 0 };
		struct skl_compiled c;
		struct skl_err err;

		for (int tries = 0; tries < 120; tries++) {
			struct skl_port_range ports[2];
			struct skl_binding_spec b;

			random_binding(&seed, &b, ports);
			assert_int_equal(skl_bindings_append(&set, &b, &err), 0);
			if (skl_bindings_check_conflicts(&set, &err)) {
				set.n--;
				free(set.v[set.n].ports);
			}
		}
		compile(&set, &c);
		for (int v6 = 0; v6 <= 1; v6++)
			for (int proto = 0; proto <= 1; proto++)
				for (int host = 0; host < 20; host++)
					for (uint16_t port = 0; port <= 32; port++) {
						uint8_t addr[16] = { 0 };
						uint8_t p = proto ? IPPROTO_UDP : IPPROTO_TCP;
						uint32_t want, got;

						inet_pton(v6 ? AF_INET6 : AF_INET,
							  v6 ? "2001:db8::" : "192.0.2.0", addr);
						addr[v6 ? 15 : 3] = (uint8_t)host;
						want = skl_bindings_resolve(&set, p, (uint8_t)v6, addr, port);
						got = skl_compiled_lookup(&c, p, (uint8_t)v6, addr, port);
						if (want != got)
							dump_tables(&set, &c, p, (uint8_t)v6);
						if (want != got)
							fail_msg("round %d %s proto %u host %d port %u: "
								 "reference %u, compiled %u",
								 round, v6 ? "v6" : "v4", p, host, port,
								 want, got);
						probes++;
						hits += want != SKL_NONE;
					}
		skl_compiled_free(&c);
		skl_bindings_free(&set);
	}
	/* The universe is dense enough that most probes match something. */
	assert_true(hits > probes / 4);
	assert_true(hits < probes);
}

/* The prefix table the program probes holds every compiled entry with its
 * port table, in one of its two buckets, and nothing else answers; the
 * miss filter lets every bound address through: checked on random sets,
 * at the size a dispatcher of that many bindings gets. */
static void prefix_table_holds_every_entry(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;

	(void)state;
	for (int round = 0; round < 40; round++) {
		struct skl_binding_set set = { 0 };
		struct skl_prefix_bucket *buckets;
		struct skl_compiled c;
		struct skl_err err;
		uint32_t n_buckets, table_seed, found = 0;

		for (int tries = 0; tries < 60 + 10 * round; tries++) {
			struct skl_port_range ports[2];
			struct skl_binding_spec b;

			random_binding(&seed, &b, ports);
			assert_int_equal(skl_bindings_append(&set, &b, &err), 0);
			if (skl_bindings_check_conflicts(&set, &err)) {
				set.n--;
				free(set.v[set.n].ports);
			}
		}
		compile(&set, &c);
		n_buckets = skl_prefix_buckets_for((uint32_t)set.n);
		assert_true(c.n_prefixes <= skl_prefix_capacity(n_buckets));
		buckets = calloc(n_buckets, sizeof(*buckets));
		assert_non_null(buckets);
		assert_int_equal(skl_prefix_table_build(&c, 1000, n_buckets, buckets, &table_seed), 0);
		for (size_t i = 0; i < c.n_prefixes; i++) {
			const struct skl_compiled_prefix *p = &c.prefixes[i];
			uint32_t tag = skl_prefix_tag(p->family, p->proto, p->plen);
			const struct skl_prefix_slot *s;
			__u64 key[2];

			skl_prefix_table_key(p->addr, key);
			s = skl_prefix_table_find(buckets, n_buckets, table_seed, tag, key);
			assert_non_null(s);
			assert_int_equal(s->seg_first, 1000 + p->seg_first);
			assert_int_equal(s->seg_count, p->seg_count);
			/* v4 entries: no other length (+128) or address (word 1
			 * is 0 in every v4 key) answers for them. */
			if (p->family != SKL_FAMILY_V4)
				continue;
			assert_null(skl_prefix_table_find(buckets, n_buckets, table_seed, tag ^ 0x80,
							  key));
			key[1] ^= 1ull << 63;
			assert_null(skl_prefix_table_find(buckets, n_buckets, table_seed, tag, key));
		}
		/* The miss filter never turns away an address inside a binding:
		 * each binding's prefix, host bits set at random. */
		for (size_t i = 0; i < set.n; i++) {
			const struct skl_binding_spec *b = &set.v[i];
			uint32_t k = skl_lengths_key(0, b->family == SKL_FAMILY_V6,
						     b->proto == IPPROTO_UDP);
			uint8_t addr[SKL_ADDR_BYTES], host[SKL_ADDR_BYTES];
			struct skl_summary sum;
			__u64 key[2];

			skl_prefix_summary(&c, k, NULL, &sum);
			for (int j = 0; j < SKL_ADDR_BYTES; j++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				host[j] = (uint8_t)(seed >> 56);
			}
			/* The binding's prefix bits, then random host bits. */
			memcpy(addr, b->addr, sizeof(addr));
			for (int j = 0; j < (b->family == SKL_FAMILY_V6 ? 16 : 4); j++) {
				int bits = (int)b->plen - 8 * j;
				uint8_t keep = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

				addr[j] = (uint8_t)((b->addr[j] & keep) | (host[j] & ~keep));
			}
			skl_prefix_table_key(addr, key);
			assert_true((sum.bits >> skl_summary_bit(key[0] & sum.mask[0],
								 key[1] & sum.mask[1])) & 1);
		}
		for (uint32_t b = 0; b < n_buckets; b++)
			for (int k = 0; k < SKL_PREFIX_SLOTS; k++)
				found += buckets[b].slot[k].tag != 0;
		assert_int_equal(found, c.n_prefixes);
		/* More entries than the capacity are refused, not squeezed in. */
		if (c.n_prefixes > 1) {
			uint32_t small = 1;

			while (skl_prefix_capacity(small + 1) < c.n_prefixes)
				small++;
			assert_int_equal(skl_prefix_table_build(&c, 0, small, buckets, &table_seed),
					 -1);
		}
		free(buckets);
		skl_compiled_free(&c);
		skl_bindings_free(&set);
	}
}

/* Steps of the walk from the root to a node, the longest path of all. */
static int tree_depth(const struct skl_search_node *n, const struct skl_search_node *nodes,
		      uint32_t n_nodes)
{
	int hit = 0, miss = 0;

	if (n->on_hit != SKL_NONE) {
		assert_true(n->on_hit < n_nodes);
		hit = tree_depth(&nodes[n->on_hit], nodes, n_nodes);
	}
	if (n->on_miss != SKL_NONE) {
		assert_true(n->on_miss < n_nodes);
		miss = tree_depth(&nodes[n->on_miss], nodes, n_nodes);
	}
	return 1 + (hit > miss ? hit : miss);
}

/* The summary of a (family, protocol) answers it outright exactly when its
 * bindings are one prefix with one port range: that range, that prefix
 * (masked), that binding; any other set leaves it to the search. */
static void summary_answers_one_prefix_one_range(void **state)
{
	static const struct {
		const char *json;
		int v6, udp;
		int direct; /* 1: direct, with binding 0 on ports lo..hi */
		uint32_t lo, hi;
	} cases[] = {
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		  " \"ports\": [\"8000-8099\"]}]",
		  0, 0, 1, 8000, 8099 },
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\"}]",
		  0, 0, 1, 1, 65535 }, /* no ports: every port but 0 */
		{ "[{\"label\": \"a\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::/64\","
		  " \"ports\": [\"53\"]}]", 1, 1, 1, 53, 53 },
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		  " \"ports\": [\"53\"]}]",
		  0, 1, 0, 0, 0 }, /* no UDP binding: nothing to answer */
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		  " \"ports\": [\"53\", \"80\"]}]",
		  0, 0, 0, 0, 0 }, /* two ranges */
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.1\", \"ports\": [\"80\"]},"
		  " {\"label\": \"b\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.2\", \"ports\": [\"80\"]}]",
		  0, 0, 0, 0, 0 }, /* two prefixes of one length */
		{ "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		  " \"ports\": [\"80\"]},"
		  " {\"label\": \"b\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/25\", \"ports\": [\"80\"]}]",
		  0, 0, 0, 0, 0 }, /* nested */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct skl_binding_set set;
		struct skl_summary sum;
		struct skl_compiled c;
		__u64 key[2];

		parse(cases[i].json, &set);
		compile(&set, &c);
		skl_prefix_summary(&c, skl_lengths_key(0, cases[i].v6, cases[i].udp), NULL, &sum);
		if (!cases[i].direct) {
			assert_int_equal(sum.direct_ports, SKL_INLINE_NONE);
		} else {
			assert_int_equal(sum.direct_ports, skl_inline_ports(cases[i].lo, cases[i].hi));
			assert_int_equal(sum.direct_binding, 0);
			skl_prefix_table_key(set.v[0].addr, key);
			assert_true(key[0] == sum.direct_addr[0] && key[1] == sum.direct_addr[1]);
			assert_true((key[0] & sum.mask[0]) == key[0] && (key[1] & sum.mask[1]) == key[1]);
		}
		skl_compiled_free(&c);
		skl_bindings_free(&set);
	}
}

/* The program walks at most SKL_SEARCH_STEPS nodes: the tree must never be
 * deeper, for any number of lengths in use, and must hold each length once
 * with the mask of its length. */
static void search_tree_fits_the_program(void **state)
{
	(void)state;
	for (uint32_t n = 0; n <= SKL_LENGTHS_MAX; n++) {
		struct skl_lengths l = { .n = n };
		struct skl_search_node root, nodes[SKL_LENGTHS_MAX];
		uint32_t n_nodes;

		for (uint32_t i = 0; i < n; i++)
			l.len[i] = (uint8_t)i;
		skl_search_tree_build(&l, SKL_FAMILY_V6, IPPROTO_UDP, 0, &root, nodes, &n_nodes);
		if (!n) {
			assert_int_equal(root.tag, 0);
			continue;
		}
		assert_int_equal(root.tag, skl_prefix_tag(SKL_FAMILY_V6, IPPROTO_UDP, n - 1));
		assert_int_equal(root.on_hit, SKL_NONE);
		assert_int_equal(n_nodes, n - 1);
		assert_true(tree_depth(&root, nodes, n_nodes) <= SKL_SEARCH_STEPS);
		/* The bound the loader gives a dispatcher whose bindings allow
		 * n lengths: never fewer steps than the tree needs. */
		assert_true(tree_depth(&root, nodes, n_nodes) <= (int)skl_search_steps_for(n));
		for (uint32_t i = 0; i < n_nodes; i++) {
			uint8_t bytes[16];
			__u64 mask[2];

			assert_int_equal(nodes[i].tag & ~0xffu,
					 skl_prefix_tag(SKL_FAMILY_V6, IPPROTO_UDP, 0));
			memset(bytes, 0xff, sizeof(bytes));
			skl_prefix_mask(bytes, SKL_FAMILY_V6, (uint8_t)skl_tag_plen(nodes[i].tag));
			skl_prefix_table_key(bytes, mask);
			assert_memory_equal(nodes[i].mask, mask, sizeof(mask));
		}
	}
}

/* The probe bound the loader gives the port search suffices for every
 * table size up to the dispatcher's segments, and for every answer. */
static void segment_probe_bound_suffices(void **state)
{
	(void)state;
	for (uint32_t max = 1; max <= 5000; max += max < 300 ? 1 : 97) {
		uint32_t bound = skl_segment_probes_for(max);

		for (uint32_t count = 1; count <= max; count += count < 300 ? 1 : 89) {
			for (uint32_t answer = 0; answer < count; answer += count < 64 ? 1 : 7) {
				uint32_t lo = 0, hi = count - 1, steps = 0;

				/* The program's search, with segment i starting at i. */
				while (lo < hi) {
					uint32_t mid = (lo + hi + 1) >> 1;

					if (mid <= answer)
						lo = mid;
					else
						hi = mid - 1;
					steps++;
				}
				assert_int_equal(lo, answer);
				assert_true(steps <= bound);
			}
		}
	}
	assert_int_equal(skl_segment_probes_for(1u << 20), SKL_SEGMENT_PROBES);
}

static void pod_prefix_must_be_resolved(void **state)
{
	struct skl_binding_set set;
	struct skl_compiled c;
	struct skl_err err = { 0 };

	(void)state;
	parse("[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"pod\"}]", &set);
	assert_int_equal(skl_compile(&set, &c, &err), -1);
	assert_non_null(strstr(err.msg, "bindings[0]"));
	skl_bindings_free(&set);
}

static void conflicts_are_refused(void **state)
{
	struct skl_binding_set set;
	struct skl_compiled c;
	struct skl_err err = { 0 };

	(void)state;
	parse("[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	      " \"ports\": [\"1-100\"]},"
	      " {\"label\": \"b\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	      " \"ports\": [\"50-150\"]}]",
	      &set);
	assert_int_equal(skl_compile(&set, &c, &err), -1);
	assert_non_null(strstr(err.msg, "bindings[0]"));
	assert_non_null(strstr(err.msg, "bindings[1]"));
	skl_bindings_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wide_ranges_cost_a_handful_of_entries),
		cmocka_unit_test(precedence_examples),
		cmocka_unit_test(identical_tables_are_shared),
		cmocka_unit_test(compiled_lookup_matches_reference),
		cmocka_unit_test(prefix_table_holds_every_entry),
		cmocka_unit_test(summary_answers_one_prefix_one_range),
		cmocka_unit_test(search_tree_fits_the_program),
		cmocka_unit_test(segment_probe_bound_suffices),
		cmocka_unit_test(pod_prefix_must_be_resolved),
		cmocka_unit_test(conflicts_are_refused),
	};

	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
