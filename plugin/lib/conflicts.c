/*
 * The conflict rules of DESIGN.md: at equal protocol and prefix, no two port
 * ranges may overlap without one containing the other, and identical ranges
 * must agree on label and "missing" (so that precedence always has a single
 * answer).
 *
 * Every (binding, range) is a rule. Sorted by group, then by (lo ascending,
 * hi descending), the ranges of a group arrive outer before inner; a stack
 * holds the chain of open ranges that contain each other. A range that ends
 * before the current one starts is closed; the current range must then fit
 * in the innermost open range or equal it. O(n log n) for the sort.
 */
#include "bindings.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule {
	uint8_t proto, family, plen;
	uint8_t addr[SKL_ADDR_BYTES];
	struct skl_port_range ports;
	size_t binding;
};

static int group_cmp(const struct rule *x, const struct rule *y)
{
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static int rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	int by_group = group_cmp(x, y);

	if (by_group)
		return by_group;
	if (x->ports.lo != y->ports.lo)
		return x->ports.lo < y->ports.lo ? -1 : 1;
	if (x->ports.hi != y->ports.hi)
		return x->ports.hi > y->ports.hi ? -1 : 1;
	if (x->binding != y->binding)
		return x->binding < y->binding ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Messages
 */

struct range_text {
	char s[16];
};

static const char *range_text(struct range_text *t, __u16 lo, __u16 hi)
{
	if (lo == hi)
		snprintf(t->s, sizeof(t->s), "%u", lo);
	else
		snprintf(t->s, sizeof(t->s), "%u-%u", lo, hi);
	return t->s;
}

/* "tcp 192.0.2.0/24" */
struct group_text {
	char s[72];
};

static const char *group_text(struct group_text *t, const struct rule *r)
{
	char prefix[SKL_PREFIX_STR_MAX];

	skl_prefix_format(r->family, r->plen, r->addr, prefix, sizeof(prefix));
	snprintf(t->s, sizeof(t->s), "%s %s", r->proto == IPPROTO_UDP ? "udp" : "tcp", prefix);
	return t->s;
}

#define OVERLAP_FIX                                                                        \
	"make one range contain the other, or split them so that they do not overlap"

static int overlap_error(const struct skl_binding_set *set, const struct rule *x,
			 const struct rule *y, struct skl_err *err)
{
	const struct skl_binding_spec *a, *b;
	struct range_text ra, rb, common;
	struct group_text g;

	/* name the bindings in config order */
	if (y->binding < x->binding) {
		const struct rule *t = x;

		x = y;
		y = t;
	}
	a = &set->v[x->binding];
	b = &set->v[y->binding];
	range_text(&ra, x->ports.lo, x->ports.hi);
	range_text(&rb, y->ports.lo, y->ports.hi);
	range_text(&common, x->ports.lo > y->ports.lo ? x->ports.lo : y->ports.lo,
		   x->ports.hi < y->ports.hi ? x->ports.hi : y->ports.hi);
	if (a == b)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s (label \"%.32s\"): %s ports %s and %s overlap on %s without one "
				"containing the other; " OVERLAP_FIX,
				a->where, a->label, group_text(&g, x), ra.s, rb.s, common.s);
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"%s (label \"%.32s\") and %s (label \"%.32s\"): %s ports %s and %s overlap "
			"on %s without one containing the other; " OVERLAP_FIX,
			a->where, a->label, b->where, b->label, group_text(&g, x), ra.s, rb.s,
			common.s);
}

static const char *missing_word(const struct skl_binding_spec *b)
{
	return b->missing_pass ? "pass" : "drop";
}

/* x and y have the same range; x's binding comes first (sort order). */
static int identical_error(const struct skl_binding_set *set, const struct rule *x,
			   const struct rule *y, struct skl_err *err)
{
	const struct skl_binding_spec *a = &set->v[x->binding], *b = &set->v[y->binding];
	struct range_text r;
	struct group_text g;

	range_text(&r, x->ports.lo, x->ports.hi);
	if (strcmp(a->label, b->label) != 0)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s (label \"%.32s\") and %s (label \"%.32s\"): both bind %s ports "
				"%s, and a packet can go to one label only; remove one of them or "
				"change its ports or prefix",
				a->where, a->label, b->where, b->label, group_text(&g, x), r.s);
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"%s (label \"%.32s\", missing \"%s\") and %s (label \"%.32s\", missing "
			"\"%s\"): both bind %s ports %s with a different \"missing\"; give both the "
			"same \"missing\"",
			a->where, a->label, missing_word(a), b->where, b->label, missing_word(b),
			group_text(&g, x), r.s);
}

/* ------------------------------------------------------------------------
 * The check
 */

static bool same_target(const struct skl_binding_spec *a, const struct skl_binding_spec *b)
{
	return strcmp(a->label, b->label) == 0 && a->missing_pass == b->missing_pass;
}

/* One group, sorted; stack has room for n entries. */
static int check_group(const struct skl_binding_set *set, const struct rule *r, size_t n,
		       const struct rule **stack, struct skl_err *err)
{
	size_t i, depth = 0;

	for (i = 0; i < n; i++) {
		const struct rule *cur = &r[i], *top;

		while (depth && stack[depth - 1]->ports.hi < cur->ports.lo)
			depth--;
		if (depth) {
			top = stack[depth - 1];
			if (top->ports.lo == cur->ports.lo && top->ports.hi == cur->ports.hi) {
				if (!same_target(&set->v[top->binding], &set->v[cur->binding]))
					return identical_error(set, top, cur, err);
				continue; /* a harmless duplicate */
			}
			if (top->ports.hi < cur->ports.hi)
				return overlap_error(set, top, cur, err);
		}
		stack[depth++] = cur;
	}
	return 0;
}

static size_t count_rules(const struct skl_binding_set *set)
{
	size_t i, n = 0;

	for (i = 0; i < set->n; i++)
		if (set->v[i].kind == SKL_PREFIX_CIDR)
			n += set->v[i].n_ports;
	return n;
}

static void fill_rules(const struct skl_binding_set *set, struct rule *rules)
{
	size_t i, j, n = 0;

	for (i = 0; i < set->n; i++) {
		const struct skl_binding_spec *b = &set->v[i];

		if (b->kind != SKL_PREFIX_CIDR)
			continue;
		for (j = 0; j < b->n_ports; j++) {
			struct rule *r = &rules[n++];

			r->proto = b->proto;
			r->family = b->family;
			r->plen = b->plen;
			memcpy(r->addr, b->addr, sizeof(r->addr));
			r->ports = b->ports[j];
			r->binding = i;
		}
	}
}

int skl_bindings_check_conflicts(const struct skl_binding_set *set, struct skl_err *err)
{
	size_t n = count_rules(set), start, end;
	const struct rule **stack;
	struct rule *rules;
	int rc = 0;

	if (n == 0)
		return 0;
	rules = calloc(n, sizeof(*rules));
	stack = calloc(n, sizeof(*stack));
	if (!rules || !stack) {
		free(rules);
		free(stack);
		return skl_errf(err, SKL_CNI_INTERNAL,
				"checking binding conflicts: out of memory for %zu port ranges", n);
	}
	fill_rules(set, rules);
	qsort(rules, n, sizeof(*rules), rule_cmp);
	for (start = 0; start < n && rc == 0; start = end) {
		for (end = start + 1; end < n && group_cmp(&rules[start], &rules[end]) == 0; end++)
			;
		rc = check_group(set, rules + start, end - start, stack, err);
	}
	free(rules);
	free(stack);
	return rc;
}
