#include "compile.h"
#include "search_tree.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PORT_SPACE_END ((unsigned)SKL_PORT_MAX)

struct rule {
	uint8_t family, proto, plen;
	uint8_t addr[SKL_ADDR_BYTES];
	uint16_t lo, hi;
	uint32_t binding;
};

/* All rules of one (family, proto, prefix), and that prefix's merged table. */
struct group {
	const struct rule *rules;
	size_t n_rules;
	uint32_t table_first, table_count;
};

struct seglist {
	size_t n, cap;
	struct skl_segment *v;
};

struct table_index {
	size_t cap; /* power of two */
	struct {
		uint64_t hash;
		uint32_t first, count;
		bool used;
	} *slot;
};

struct compiler {
	struct skl_compiled *out;
	size_t out_seg_cap, out_prefix_cap;
	struct rule *rules;
	size_t n_rules;
	struct group *groups;
	size_t n_groups;
	bool used_plen[2][2][129]; /* [family][proto is UDP][plen] */
	struct table_index index;
};

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

static int cmp_prefix(const void *a, const void *b)
{
	const struct skl_compiled_prefix *x = a, *y = b;

	return cmp_key(x->family, x->proto, x->plen, x->addr, y->family, y->proto, y->plen,
		       y->addr);
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
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

static int seg_emit(struct seglist *l, uint32_t start, uint32_t binding)
{
	if (l->n && l->v[l->n - 1].binding == binding)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -1;
	l->v[l->n++] = (struct skl_segment){ .start = start, .binding = binding };
	return 0;
}

static uint32_t seg_end(const struct skl_segment *v, size_t n, size_t i)
{
	return i + 1 < n ? v[i + 1].start - 1 : PORT_SPACE_END;
}

/* The group's own table: the narrowest of its (laminar) ranges per port,
 * SKL_NONE where none covers it. Rules come sorted by lo, wider first, so
 * a stack holds the chain of ranges that contain the current port. */
static int own_segments(const struct group *g, struct seglist *out)
{
	const struct rule **stack = malloc(g->n_rules * sizeof(*stack));
	uint32_t cur = 0;
	size_t sp = 0;
	int ret = -1;

	if (!stack)
		return -1;
	for (size_t i = 0; i < g->n_rules; i++) {
		const struct rule *r = &g->rules[i];

		while (sp && stack[sp - 1]->hi < r->lo) {
			const struct rule *t = stack[--sp];

			if (cur <= t->hi) {
				if (seg_emit(out, cur, t->binding))
					goto out;
				cur = t->hi + 1u;
			}
		}
		if (cur < r->lo) {
			if (seg_emit(out, cur, sp ? stack[sp - 1]->binding : SKL_NONE))
				goto out;
			cur = r->lo;
		}
		/* Identical ranges (same label, or conflicts would have refused
		 * them): the first binding keeps the range. */
		if (sp && stack[sp - 1]->lo == r->lo && stack[sp - 1]->hi == r->hi)
			continue;
		stack[sp++] = r;
	}
	while (sp) {
		const struct rule *t = stack[--sp];

		if (cur <= t->hi) {
			if (seg_emit(out, cur, t->binding))
				goto out;
			cur = t->hi + 1u;
		}
	}
	if (cur <= PORT_SPACE_END && seg_emit(out, cur, SKL_NONE))
		goto out;
	ret = 0;
out:
	free(stack);
	return ret;
}

/* Fills the gaps of own with the parent prefix's merged table. */
static int merge_parent(const struct seglist *own, const struct skl_segment *parent,
			size_t n_parent, struct seglist *out)
{
	size_t i = 0, j = 0;
	uint32_t pos = 0;

	while (pos <= PORT_SPACE_END) {
		uint32_t own_end = seg_end(own->v, own->n, i);
		uint32_t parent_end = seg_end(parent, n_parent, j);
		uint32_t end = own_end < parent_end ? own_end : parent_end;
		uint32_t b = own->v[i].binding != SKL_NONE ? own->v[i].binding : parent[j].binding;

		if (seg_emit(out, pos, b))
			return -1;
		pos = end + 1;
		if (own_end == end)
			i++;
		if (parent_end == end)
			j++;
	}
	return 0;
}

static uint64_t hash_segments(const struct skl_segment *v, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ v[i].start) * 1099511628211ull;
		h = (h ^ v[i].binding) * 1099511628211ull;
	}
	return h;
}

static int index_grow(struct table_index *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 64;
	__typeof__(ix->slot) slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -1;
	for (size_t i = 0; i < ix->cap; i++) {
		size_t k;

		if (!ix->slot[i].used)
			continue;
		for (k = ix->slot[i].hash & (cap - 1); slot[k].used; k = (k + 1) & (cap - 1))
			;
		slot[k] = ix->slot[i];
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return 0;
}

/* Adds a table to the output, sharing it with an identical earlier one. */
static int intern_table(struct compiler *cc, const struct seglist *t, struct group *g)
{
	struct skl_compiled *out = cc->out;
	struct table_index *ix = &cc->index;
	uint64_t h = hash_segments(t->v, t->n);
	size_t k;

	/* At most one table per group: keep the load factor under 1/2. */
	while (cc->n_groups * 2 >= ix->cap)
		if (index_grow(ix))
			return -1;
	for (k = h & (ix->cap - 1); ix->slot[k].used; k = (k + 1) & (ix->cap - 1)) {
		if (ix->slot[k].hash == h && ix->slot[k].count == t->n &&
		    !memcmp(&out->segments[ix->slot[k].first], t->v, t->n * sizeof(*t->v))) {
			g->table_first = ix->slot[k].first;
			g->table_count = ix->slot[k].count;
			return 0;
		}
	}
	if (grow((void **)&out->segments, &cc->out_seg_cap, out->n_segments + t->n,
		 sizeof(*out->segments)))
		return -1;
	memcpy(&out->segments[out->n_segments], t->v, t->n * sizeof(*t->v));
	g->table_first = (uint32_t)out->n_segments;
	g->table_count = (uint32_t)t->n;
	out->n_segments += t->n;
	ix->slot[k].used = true;
	ix->slot[k].hash = h;
	ix->slot[k].first = g->table_first;
	ix->slot[k].count = g->table_count;
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
		if (own_segments(g, &own))
			goto out;
		if (parent) {
			if (merge_parent(&own, &cc->out->segments[parent->table_first],
					 parent->table_count, &merged) ||
			    intern_table(cc, &merged, g))
				goto out;
		} else if (intern_table(cc, &own, g)) {
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

	if (grow((void **)&out->prefixes, &cc->out_prefix_cap, out->n_prefixes + 1,
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
			struct skl_lengths *l = lengths_of(cc->out, (uint8_t)family, udp ? IPPROTO_UDP : IPPROTO_TCP);

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
			int mid = (lo + hi) / 2;

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
		qsort(out->prefixes, out->n_prefixes, sizeof(*out->prefixes), cmp_prefix);
	for (size_t i = 0; i < out->n_prefixes; i++)
		if (!n || cmp_prefix(&out->prefixes[n - 1], &out->prefixes[i]))
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

static const struct skl_compiled_prefix *probe(const struct skl_compiled *c, uint8_t proto,
					       uint8_t family, const uint8_t addr[SKL_ADDR_BYTES], uint8_t plen)
{
	struct skl_compiled_prefix key = { .family = family, .proto = proto, .plen = plen };

	memcpy(key.addr, addr, SKL_ADDR_BYTES);
	skl_prefix_mask(key.addr, family, plen);
	return bsearch(&key, c->prefixes, c->n_prefixes, sizeof(key), cmp_prefix);
}

uint32_t skl_compiled_lookup(const struct skl_compiled *c, uint8_t proto, uint8_t family,
			     const uint8_t addr[SKL_ADDR_BYTES], uint16_t port)
{
	const struct skl_lengths *l = &c->lengths[skl_lengths_key(0, family == SKL_FAMILY_V6,
								   proto == IPPROTO_UDP)];
	struct skl_search_node root, nodes[SKL_LENGTHS_MAX];
	const struct skl_search_node *n = &root;
	const struct skl_compiled_prefix *best = NULL;
	uint32_t first, last, n_nodes;

	/* As the program does: walk the search tree it is given. */
	skl_search_tree_build(l, 0, &root, nodes, &n_nodes);
	for (int step = 0; step < SKL_SEARCH_STEPS && n->in_use; step++) {
		const struct skl_compiled_prefix *hit = probe(c, proto, family, addr, n->plen);
		uint32_t next = hit ? n->on_hit : n->on_miss;

		if (hit)
			best = hit;
		if (next == SKL_NONE || next >= n_nodes)
			break;
		n = &nodes[next];
	}
	if (!best || !best->seg_count)
		return SKL_NONE;
	first = best->seg_first;
	last = first + best->seg_count - 1;
	while (first < last) {
		uint32_t mid = (first + last + 1) / 2;

		if (c->segments[mid].start <= port)
			first = mid;
		else
			last = mid - 1;
	}
	return c->segments[first].binding;
}
