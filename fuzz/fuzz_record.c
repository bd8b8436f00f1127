/*
 * libFuzzer target: the state record (record.c), the JSON an ADD pins in
 * the pod's bpffs directory and DEL, CHECK and GC read back to undo or
 * verify what ADD did. It is reached through a pinned BPF array; here the
 * libbpf calls are file-backed fakes (fake_bpf.c), so the input is the
 * array's contents: the text, cut into record.c's chunks.
 * Properties (abort()): a record that loads holds valid routes and port
 * ranges, and saving it and loading it again gives the same record (what
 * ADD writes, DEL must read); failures say why.
 */
#include <limits.h>
#include <unistd.h>

#include "bindings.h"
#include "fake_bpf.h"
#include "fuzz.h"
#include "record.h"

static char record_path[PATH_MAX];
static uint32_t chunk; /* record.c's entry size, learned from a save */

static void cleanup(void)
{
	char path[PATH_MAX];

	unlink(record_path);
	snprintf(path, sizeof(path), "%s-new", record_path);
	unlink(path);
	rmdir(fake_bpf_dir());
}

/* cJSON prints numbers with 15 significant digits, so only numbers below
 * 1e15 survive a save exactly; the record's numbers are a netns inode (32
 * bits in the kernel) and a count of port ranges, far below that. */
static bool same_number(uint64_t a, uint64_t b)
{
	return a == b || (a >= 1000000000000000ull && b >= 1000000000000000ull);
}

static bool same_record(const struct skl_record *a, const struct skl_record *b)
{
	return !strcmp(a->state_dir, b->state_dir) && a->link_id == b->link_id &&
	       same_number(a->netns_ino, b->netns_ino) &&
	       same_number(a->n_unreserved, b->n_unreserved) &&
	       a->n_pod_routes == b->n_pod_routes && a->n_host_routes == b->n_host_routes &&
	       a->n_reserved == b->n_reserved && !memcmp(&a->pod, &b->pod, sizeof(a->pod)) &&
	       (!a->n_pod_routes ||
		!memcmp(a->pod_routes, b->pod_routes, a->n_pod_routes * sizeof(*a->pod_routes))) &&
	       (!a->n_host_routes ||
		!memcmp(a->host_routes, b->host_routes, a->n_host_routes * sizeof(*a->host_routes))) &&
	       (!a->n_reserved ||
		!memcmp(a->reserved, b->reserved, a->n_reserved * sizeof(*a->reserved)));
}

static void check_routes(const struct skl_route *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(v[i].family <= SKL_FAMILY_V6, "route %zu family %u", i, v[i].family);
		FUZZ_CHECK(v[i].plen <= (v[i].family == SKL_FAMILY_V6 ? 128 : 32), "route %zu /%u",
			   i, v[i].plen);
		FUZZ_CHECK(v[i].kind == SKL_ROUTE_LOCAL || v[i].kind == SKL_ROUTE_VIA,
			   "route %zu kind %u", i, v[i].kind);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct skl_record empty = { 0 }, back;
	struct skl_err err = { 0 };

	(void)argc;
	(void)argv;
	snprintf(record_path, sizeof(record_path), "%s/%s", fake_bpf_dir(), SKL_PIN_RECORD);
	atexit(cleanup);
	/* The fakes must model what record.c expects, or every input would
	 * just be "not a state record": an empty record goes round first. */
	FUZZ_CHECK(skl_record_save(&empty, fake_bpf_dir(), &err) == 0, "save: %s", err.msg);
	chunk = fake_bpf_last_value_size;
	FUZZ_CHECK(skl_record_load(fake_bpf_dir(), &back, &err) == 0, "load: %s", err.msg);
	skl_record_free(&back);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skl_record r, again;
	struct skl_err err = { 0 };

	FUZZ_CHECK(fake_bpf_write_map(record_path, chunk, data, size) == 0, "writing %s",
		   record_path);
	if (skl_record_load(fake_bpf_dir(), &r, &err)) {
		fuzz_check_err(&err, "skl_record_load");
		return 0;
	}
	check_routes(r.pod_routes, r.n_pod_routes);
	check_routes(r.host_routes, r.n_host_routes);
	for (size_t i = 0; i < r.n_reserved; i++)
		FUZZ_CHECK(r.reserved[i].lo <= r.reserved[i].hi && r.reserved[i].lo >= 1,
			   "reserved[%zu] = %u-%u", i, r.reserved[i].lo, r.reserved[i].hi);
	FUZZ_CHECK(skl_record_save(&r, fake_bpf_dir(), &err) == 0, "save: %s", err.msg);
	FUZZ_CHECK(skl_record_load(fake_bpf_dir(), &again, &err) == 0,
		   "a saved record does not load: %s", err.msg);
	FUZZ_CHECK(same_record(&r, &again), "the record changed on its way through a save");
	skl_record_free(&r);
	skl_record_free(&again);
	return 0;
}
