/*
 * The precedence rule of DESIGN.md by brute force: the reference that the
 * dispatcher's tables and `sklookup-ctl trace` are tested against. Speed
 * does not matter here; being obviously right does.
 */
#include "bindings.h"

#include <string.h>

/* Reads only the bytes the prefix covers, so a v4 caller may pass 4. */
static bool prefix_contains(const struct skl_binding_spec *b, const uint8_t *addr)
{
	unsigned int whole = b->plen / 8, bits = b->plen % 8;
	uint8_t mask;

	if (memcmp(b->addr, addr, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - bits));
	return (addr[whole] & mask) == b->addr[whole];
}

static bool binding_covers(const struct skl_binding_spec *b, uint8_t proto, uint8_t family,
			   const uint8_t *addr)
{
	unsigned int max = family == SKL_FAMILY_V6 ? SKL_PLEN_MAX_V6 : SKL_PLEN_MAX_V4;

	return b->kind == SKL_PREFIX_CIDR && b->proto == proto && b->family == family &&
	       b->plen <= max && prefix_contains(b, addr);
}

/* The width (hi - lo) of b's narrowest range holding port, if any. */
static bool narrowest_range(const struct skl_binding_spec *b, uint16_t port, uint32_t *width)
{
	uint32_t narrowest = UINT32_MAX;
	size_t i;

	for (i = 0; i < b->n_ports; i++) {
		const struct skl_port_range *r = &b->ports[i];
		uint32_t w = (uint32_t)r->hi - r->lo;

		if (port >= r->lo && port <= r->hi && w < narrowest)
			narrowest = w;
	}
	*width = narrowest;
	return narrowest != UINT32_MAX;
}

uint32_t skl_bindings_resolve(const struct skl_binding_set *set, uint8_t proto, uint8_t family,
			      const uint8_t addr[SKL_ADDR_BYTES], uint16_t port)
{
	uint32_t best = SKL_NONE, best_width = 0, width;
	uint8_t best_plen = 0;
	size_t i;

	for (i = 0; i < set->n && i < SKL_NONE; i++) {
		const struct skl_binding_spec *b = &set->v[i];

		if (!binding_covers(b, proto, family, addr) || !narrowest_range(b, port, &width))
			continue;
		/* strict comparisons: at a full tie the first binding stays */
		if (best == SKL_NONE || b->plen > best_plen ||
		    (b->plen == best_plen && width < best_width)) {
			best = (uint32_t)i;
			best_plen = b->plen;
			best_width = width;
		}
	}
	return best;
}
