#include "baseline.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baseline_lpm.h"
#include "baseline_lpm.skel.h"
#include "bench.h"
#include "dispatch_abi.h"
#include "mix.h"

static uint32_t ports_of(const struct mix_binding *m)
{
	return m->lo == 1 && m->hi == 65535 ? 1 : (uint32_t)(m->hi - m->lo) + 1;
}

uint64_t baseline_entries_for(uint32_t n)
{
	uint64_t entries = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct mix_binding m;

		mix_binding(i, &m);
		entries += ports_of(&m);
	}
	return entries;
}

void baseline_load(struct baseline *b, uint64_t max_entries)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->skel = baseline_lpm_bpf__open();
	if (!b->skel)
		bench_fail("opening the baseline BPF object: %s", strerror(errno));
	bpf_map__set_max_entries(b->skel->maps.bindings, (uint32_t)max_entries);
	ret = baseline_lpm_bpf__load(b->skel);
	if (ret)
		bench_fail("loading the baseline program: %s", strerror(-ret));
	b->prog_fd = bpf_program__fd(b->skel->progs.baseline_dispatch);
	b->bindings_fd = bpf_map__fd(b->skel->maps.bindings);
	b->sockets_fd = bpf_map__fd(b->skel->maps.sockets);
}

static void make_key(const struct mix_binding *m, uint8_t proto, uint16_t port,
		     struct baseline_key *key)
{
	memset(key, 0, sizeof(*key));
	key->proto = proto;
	key->port = htons(port);
	if (m->family == SKL_FAMILY_V6) {
		memcpy(key->addr, m->addr, 16);
		key->prefixlen = 8 + 16 + m->plen;
	} else {
		key->addr[10] = key->addr[11] = 0xff;
		memcpy(&key->addr[12], m->addr, 4);
		key->prefixlen = 8 + 16 + 96 + m->plen;
	}
}

static void add_entry(struct baseline *b, const struct mix_binding *m, uint8_t proto,
		      uint16_t port)
{
	struct baseline_value value = {
		.id = skl_socket_slot(m->label, proto == IPPROTO_UDP, m->family == SKL_FAMILY_V6),
		.prefixlen = m->family == SKL_FAMILY_V6 ? m->plen : 96u + m->plen,
	};
	struct baseline_key key;

	make_key(m, proto, port, &key);
	if (bpf_map_update_elem(b->bindings_fd, &key, &value, BPF_NOEXIST))
		bench_fail("baseline trie insert #%llu: %s", (unsigned long long)b->entries,
			   strerror(errno));
	b->entries++;
}

void baseline_add(struct baseline *b, const struct mix_binding *m, uint8_t proto)
{
	if (m->lo == 1 && m->hi == 65535) {
		add_entry(b, m, proto, 0);
		return;
	}
	for (uint32_t port = m->lo; port <= m->hi; port++)
		add_entry(b, m, proto, (uint16_t)port);
}

void baseline_add_mix(struct baseline *b, uint32_t n, uint8_t proto)
{
	for (uint32_t i = 0; i < n; i++) {
		struct mix_binding m;

		mix_binding(i, &m);
		baseline_add(b, &m, proto);
	}
}

void baseline_register(struct baseline *b, uint32_t slot, int fd)
{
	uint64_t value = (uint64_t)fd;

	if (bpf_map_update_elem(b->sockets_fd, &slot, &value, BPF_ANY))
		bench_fail("baseline: registering fd %d in slot %u: %s", fd, slot,
			   strerror(errno));
}

uint64_t baseline_memlock(const struct baseline *b)
{
	return bench_memlock(b->prog_fd) + bench_memlock(b->bindings_fd) +
	       bench_memlock(b->sockets_fd) + bench_memlock(bpf_map__fd(b->skel->maps.metrics));
}

void baseline_close(struct baseline *b)
{
	if (b->skel)
		baseline_lpm_bpf__destroy(b->skel);
	memset(b, 0, sizeof(*b));
}
