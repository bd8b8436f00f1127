/*
 * The compiler: bindings -> rules grouped by prefix, each group's port table
 * (compile_tables.c), then the prefix entries with their search markers and
 * the prefix lengths in use.
 */
#include "compile_internal.h"
#include "search_tree.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void skl_prefix_mask(uint8_t addr[SKL_ADDR_BYTES], uint8_t family, uint8_t plen)
{
	int bytes = family == SKL_FAMILY_V4 ? SKL_V4_BYTES : SKL_ADDR_BYTES;

	for (int i = 0; i < SKL_ADDR_BYTES; i++) {
		int bits = (int)plen - 8 * i;

		if (i >= bytes || bits <= 0)
			addr[i] = 0;
		else if (bits < 8)
			addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static int cmp_key(uint8_t fa, uint8_t pa, uint8_t la, const uint8_t *aa, uint8_t fb, uint8_t pb,
		   uint8_t lb, const uint8_t *ab)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(aa, ab, SKL_ADDR_BYTES);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	int c = cmp_key(x->family, x->proto, x->plen, x->addr, y->family, y->proto, y->plen,
			y->addr);

	if (c)
		return c;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1; /* wider first: parents before children */
	return x->binding < y->binding ? -1 : x->binding > y->binding;
}

int skl_compiled_prefix_cmp(const void *a, const void *b)
{
	const struct skl_compiled_prefix *x = a, *y = b;

	return cmp_key(x->family, x->proto, x->plen, x->addr, y->family, y->proto, y->plen,
		       y->addr);
}

int skl_compile_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*v, n * size);
	if (!p)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

static const struct group *find_group(const struct compiler *cc, uint8_t family, uint8_t proto,
				      uint8_t plen, const uint8_t addr[SKL_ADDR_BYTES])
{
	size_t lo = 0, hi = cc->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rule *r = cc->groups[mid].rules;
		int c = cmp_key(family, proto, plen, addr, r->family, r->proto, r->plen, r->addr);

		if (!c)
			return &cc->groups[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The longest binding prefix of length <= max_plen containing addr. */
static const struct group *longest_match(const struct compiler *cc, uint8_t family,
					 uint8_t proto, const uint8_t addr[SKL_ADDR_BYTES], int max_plen)
{
	const bool *used = cc->used_plen[family][proto == IPPROTO_UDP];

	for (int l = max_plen; l >= 0; l--) {
		uint8_t masked[SKL_ADDR_BYTES];
		const struct group *g;

		if (!used[l])
			continue;
		memcpy(masked, addr, SKL_ADDR_BYTES);
		skl_prefix_mask(masked, family, (uint8_t)l);
		g = find_group(cc, family, proto, (uint8_t)l, masked);
		if (g)
			return g;
	}
	return NULL;
}

static int build_tables(struct compiler *cc)
{
	struct seglist own = { 0 }, merged = { 0 };
	int ret = -1;

	/* Groups are sorted by prefix length within (family, proto), so a
	 * parent's merged table exists before its children need it. */
	for (size_t i = 0; i < cc->n_groups; i++) {
		struct group *g = &cc->groups[i];
		const struct rule *r = g->rules;
		const struct group *parent =
			r->plen ? longest_match(cc, r->family, r->proto, r->addr, r->plen - 1) : NULL;

		own.n = merged.n = 0;
		if (skl_compile_own_segments(g, &own))
			goto out;
		if (parent) {
			if (skl_compile_merge_parent(&own, &cc->out->segments[parent->table_first],
					 parent->table_count, &merged) ||
			    skl_compile_intern_table(cc, &merged, g))
				goto out;
		} else if (skl_compile_intern_table(cc, &own, g)) {
			goto out;
		}
	}
	ret = 0;
out:
	free(own.v);
	free(merged.v);
	return ret;
}

static int add_prefix(struct compiler *cc, uint8_t family, uint8_t proto, uint8_t plen,
		      const uint8_t addr[SKL_ADDR_BYTES])
{
	struct skl_compiled *out = cc->out;
	const struct group *best = longest_match(cc, family, proto, addr, plen);
	struct skl_compiled_prefix *p;

	if (skl_compile_grow((void **)&out->prefixes, &cc->out_prefix_cap, out->n_prefixes + 1,
		 sizeof(*out->prefixes)))
		return -1;
	p = &out->prefixes[out->n_prefixes++];
	*p = (struct skl_compiled_prefix){ .family = family, .proto = proto, .plen = plen };
	memcpy(p->addr, addr, SKL_ADDR_BYTES);
	skl_prefix_mask(p->addr, family, plen);
	p->seg_first = best ? best->table_first : 0;
	p->seg_count = best ? best->table_count : 0;
	return 0;
}

static struct skl_lengths *lengths_of(struct skl_compiled *c, uint8_t family, uint8_t proto)
{
	return &c->lengths[skl_lengths_key(0, family == SKL_FAMILY_V6, proto == IPPROTO_UDP)];
}

static void build_lengths(struct compiler *cc)
{
	for (int family = 0; family <= 1; family++)
		for (int udp = 0; udp <= 1; udp++) {
			uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
			struct skl_lengths *l = lengths_of(cc->out, (uint8_t)family, proto);

			for (int plen = 0; plen <= SKL_PLEN_MAX_V6; plen++)
				if (cc->used_plen[family][udp][plen])
					l->len[l->n++] = (uint8_t)plen;
		}
}

/* Each prefix gets its entry and a marker wherever the binary search over
 * the lengths in use, heading for its length, must be told to go longer. */
static int build_prefixes(struct compiler *cc)
{
	struct skl_compiled *out = cc->out;
	size_t n = 0;

	for (size_t i = 0; i < cc->n_groups; i++) {
		const struct rule *r = cc->groups[i].rules;
		const struct skl_lengths *l = lengths_of(out, r->family, r->proto);
		/* The longest length is probed first and needs no markers; the
		 * search runs over the others. */
		int lo = 0, hi = (int)l->n - 2;

		while (r->plen != l->len[l->n - 1] && lo <= hi) {
			int mid = skl_search_mid(lo, hi);

			if (l->len[mid] == r->plen)
				break;
			if (l->len[mid] > r->plen) {
				hi = mid - 1; /* a miss there sends the search left */
				continue;
			}
			if (add_prefix(cc, r->family, r->proto, l->len[mid], r->addr))
				return -1;
			lo = mid + 1;
		}
		if (add_prefix(cc, r->family, r->proto, r->plen, r->addr))
			return -1;
	}
	/* A marker can coincide with another prefix or marker: same key, and
	 * the same value, since values depend only on the key. */
	if (out->n_prefixes) /* an empty set has no array: qsort(NULL) is undefined */
		qsort(out->prefixes, out->n_prefixes, sizeof(*out->prefixes), skl_compiled_prefix_cmp);
	for (size_t i = 0; i < out->n_prefixes; i++)
		if (!n || skl_compiled_prefix_cmp(&out->prefixes[n - 1], &out->prefixes[i]))
			out->prefixes[n++] = out->prefixes[i];
	out->n_prefixes = n;
	return 0;
}

static int collect_rules(struct compiler *cc, const struct skl_binding_set *set,
			 struct skl_err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].kind != SKL_PREFIX_CIDR)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s: the pod prefix was not resolved to addresses", set->v[i].where);
		n += set->v[i].n_ports;
	}
	cc->rules = calloc(n ? n : 1, sizeof(*cc->rules));
	if (!cc->rules)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		const struct skl_binding_spec *b = &set->v[i];

		for (size_t k = 0; k < b->n_ports; k++) {
			struct rule *r = &cc->rules[cc->n_rules++];

			*r = (struct rule){ .family = b->family, .proto = b->proto, .plen = b->plen,
					    .lo = b->ports[k].lo, .hi = b->ports[k].hi,
					    .binding = (uint32_t)i };
			memcpy(r->addr, b->addr, SKL_ADDR_BYTES);
			skl_prefix_mask(r->addr, b->family, b->plen);
			cc->used_plen[b->family][b->proto == IPPROTO_UDP][b->plen] = true;
		}
	}
	qsort(cc->rules, cc->n_rules, sizeof(*cc->rules), cmp_rule);
	return 0;
}

static int group_rules(struct compiler *cc, struct skl_err *err)
{
	cc->groups = calloc(cc->n_rules ? cc->n_rules : 1, sizeof(*cc->groups));
	if (!cc->groups)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (size_t i = 0; i < cc->n_rules; i++) {
		const struct rule *r = &cc->rules[i];
		struct group *last = cc->n_groups ? &cc->groups[cc->n_groups - 1] : NULL;

		if (last && !cmp_key(r->family, r->proto, r->plen, r->addr, last->rules->family,
				     last->rules->proto, last->rules->plen, last->rules->addr)) {
			last->n_rules++;
			continue;
		}
		cc->groups[cc->n_groups++] = (struct group){ .rules = r, .n_rules = 1 };
	}
	return 0;
}

int skl_compile(const struct skl_binding_set *set, struct skl_compiled *out,
		struct skl_err *err)
{
	struct compiler cc = { .out = out };
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (skl_bindings_check_conflicts(set, err) || collect_rules(&cc, set, err) ||
	    group_rules(&cc, err))
		goto out;
	build_lengths(&cc);
	if (build_tables(&cc) || build_prefixes(&cc)) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory while compiling %zu bindings",
			 set->n);
		goto out;
	}
	ret = 0;
out:
	if (ret)
		skl_compiled_free(out);
	free(cc.rules);
	free(cc.groups);
	free(cc.index.slot);
	return ret;
}

void skl_compiled_free(struct skl_compiled *c)
{
	free(c->prefixes);
	free(c->segments);
	memset(c, 0, sizeof(*c));
}
