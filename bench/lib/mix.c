#include "mix.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

const struct mix_probe mix_probes[] = {
	{ "v6 host, its port", "2001:db8:a::1", 443 },
	{ "v6 host, other port -> /64", "2001:db8:a::1", 9999 },
	{ "v6 unbound host -> /64", "2001:db8:a::ffff:ffff:ffff", 80 },
	{ "v6 miss", "2001:db8:b::1", 80 },
	{ "v4 host, its port", "198.18.0.1", 443 },
	{ "v4 unbound host -> /16 range", "198.18.0.0", 8500 },
	{ "v4 miss", "203.0.113.1", 80 },
};
const unsigned mix_n_probes = sizeof(mix_probes) / sizeof(mix_probes[0]);

/* Single ports are the ones many addresses share in practice. */
static const uint16_t common_ports[] = { 80, 443, 53, 8080, 25, 22, 993, 5432 };
#define N_COMMON_PORTS (sizeof(common_ports) / sizeof(common_ports[0]))

static void set_v6(struct mix_binding *b, uint8_t plen, uint64_t host)
{
	static const uint8_t net[8] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a, 0, 0 };

	b->family = SKL_FAMILY_V6;
	b->plen = plen;
	memcpy(b->addr, net, sizeof(net));
	for (int k = 0; k < 8; k++)
		b->addr[15 - k] = (uint8_t)(host >> (8 * k));
}

static void set_v4(struct mix_binding *b, uint8_t plen, uint32_t host)
{
	uint32_t addr = (198u << 24 | 18u << 16) + host; /* 198.18.0.0/15 */

	b->family = SKL_FAMILY_V4;
	b->plen = plen;
	b->addr[0] = (uint8_t)(addr >> 24);
	b->addr[1] = (uint8_t)(addr >> 16);
	b->addr[2] = (uint8_t)(addr >> 8);
	b->addr[3] = (uint8_t)addr;
}

static void set_ports(struct mix_binding *b, uint16_t lo, uint16_t hi)
{
	b->lo = lo;
	b->hi = hi;
}

static void base_binding(uint32_t i, struct mix_binding *b)
{
	switch (i) {
	case 0: /* 2001:db8:a::1/128 port 443 */
		set_v6(b, 128, 1);
		set_ports(b, 443, 443);
		break;
	case 1: /* 2001:db8:a::/64, all ports */
		set_v6(b, 64, 0);
		set_ports(b, 1, 65535);
		break;
	case 2: /* 198.18.0.1/32 port 443 */
		set_v4(b, 32, 1);
		set_ports(b, 443, 443);
		break;
	default: /* 198.18.0.0/16 ports 8000-8999 */
		set_v4(b, 16, 0);
		set_ports(b, 8000, 8999);
		break;
	}
}

/* Groups of 8: three v6 hosts (one port + a range on the first, all ports
 * on the second, one port + a range on the third) and one v4 host with one
 * port, a range and all ports. Ranges on a host nest, so nothing conflicts. */
static void group_binding(uint32_t k, struct mix_binding *b)
{
	uint32_t g = k / 8;
	uint16_t port = common_ports[g % N_COMMON_PORTS];
	uint64_t v6_host = 2 + 3 * (uint64_t)g;

	switch (k % 8) {
	case 0:
		set_v6(b, 128, v6_host);
		set_ports(b, port, port);
		break;
	case 1:
		set_v6(b, 128, v6_host);
		set_ports(b, 8000, 8007);
		break;
	case 2:
		set_v6(b, 128, v6_host + 1);
		set_ports(b, 1, 65535);
		break;
	case 3:
		set_v6(b, 128, v6_host + 2);
		set_ports(b, port, port);
		break;
	case 4:
		set_v6(b, 128, v6_host + 2);
		set_ports(b, 8000, 8007);
		break;
	case 5:
		set_v4(b, 32, 2 + g);
		set_ports(b, port, port);
		break;
	case 6:
		set_v4(b, 32, 2 + g);
		set_ports(b, 8000, 8007);
		break;
	default:
		set_v4(b, 32, 2 + g);
		set_ports(b, 1, 65535);
		break;
	}
}

void mix_binding(uint32_t i, struct mix_binding *out)
{
	if (i >= MIX_MAX)
		bench_fail("the binding mix has %u bindings, not %u", MIX_MAX, i + 1);
	memset(out, 0, sizeof(*out));
	if (i < MIX_BASE)
		base_binding(i, out);
	else
		group_binding(i - MIX_BASE, out);
	out->label = i % MIX_LABELS;
}

void mix_append_set(struct skl_binding_set *set, uint32_t n, uint8_t proto)
{
	for (uint32_t i = 0; i < n; i++) {
		struct mix_binding m;
		struct skl_port_range range;
		struct skl_binding_spec b = { .proto = proto, .kind = SKL_PREFIX_CIDR,
					      .n_ports = 1, .ports = &range };
		struct skl_err err;

		mix_binding(i, &m);
		range = (struct skl_port_range){ m.lo, m.hi };
		b.family = m.family;
		b.plen = m.plen;
		memcpy(b.addr, m.addr, sizeof(b.addr));
		snprintf(b.label, sizeof(b.label), "l%u", m.label);
		snprintf(b.where, sizeof(b.where), "bindings[%zu]", set->n);
		if (skl_bindings_append(set, &b, &err))
			bench_fail("building the binding mix: %s", err.msg);
	}
}
