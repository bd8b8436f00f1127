#include "monitor_start.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "result_json_util.h"
#include "rules.h"

#define MAX_CPUS 8192

void skl_monitor_start_free(struct skl_monitor_start *s)
{
	free(s->labels);
	free(s->sockets);
	free(s->lost);
	memset(s, 0, sizeof(*s));
}

/* The labels in use and the sockets in their slots. */
static int read_labels(const struct skl_dispatcher *d, struct skl_monitor_start *s,
		       struct skl_err *err)
{
	uint32_t labels = d->limits.labels ? d->limits.labels : 1;

	s->labels = calloc(labels, sizeof(*s->labels));
	s->sockets = calloc((size_t)labels * SKL_SOCKETS_PER_LABEL, sizeof(*s->sockets));
	if (!s->labels || !s->sockets)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t id = 0; id < d->limits.labels; id++) {
		uint64_t cookie[SKL_SOCKETS_PER_LABEL];
		int in_use = skl_label_read(d, id, s->labels[s->n_labels].name, cookie, err);

		if (in_use < 0)
			return -1;
		if (!in_use)
			continue;
		s->labels[s->n_labels++].id = id;
		for (uint32_t k = 0; k < SKL_SOCKETS_PER_LABEL; k++)
			if (cookie[k]) {
				s->sockets[s->n_sockets].slot = id * SKL_SOCKETS_PER_LABEL + k;
				s->sockets[s->n_sockets++].cookie = cookie[k];
			}
	}
	return 0;
}

int skl_monitor_start_read(const struct skl_dispatcher *d, struct skl_monitor_start *s,
			   struct skl_err *err)
{
	struct skl_config cfg;
	int ncpus = libbpf_num_possible_cpus();

	memset(s, 0, sizeof(*s));
	if (ncpus <= 0 || ncpus > MAX_CPUS)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot count the CPUs");
	s->n_cpus = (size_t)ncpus;
	s->lost = calloc(s->n_cpus, sizeof(*s->lost));
	if (!s->lost) {
		skl_monitor_start_free(s);
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	}
	if (read_labels(d, s, err)) {
		skl_monitor_start_free(s);
		return -1;
	}
	if (skl_dispatcher_config(d, &cfg, err) || skl_monitor_lost(d, s->lost, s->n_cpus, err)) {
		skl_monitor_start_free(s);
		return -1;
	}
	s->netns_cookie = cfg.netns_cookie;
	return 0;
}

char *skl_monitor_start_encode(const struct skl_monitor_start *s)
{
	cJSON *doc = cJSON_CreateObject(), *labels, *sockets;
	bool ok = doc && rj_add_u64(doc, "netns_cookie", s->netns_cookie) &&
		  (labels = cJSON_AddArrayToObject(doc, "labels")) &&
		  (sockets = cJSON_AddArrayToObject(doc, "sockets")) &&
		  cJSON_AddItemToObject(doc, "lost", rj_u64_array(s->lost, s->n_cpus));

	for (size_t i = 0; ok && i < s->n_labels; i++) {
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(labels, o) &&
		     cJSON_AddNumberToObject(o, "id", s->labels[i].id) &&
		     cJSON_AddStringToObject(o, "name", s->labels[i].name);
	}
	for (size_t i = 0; ok && i < s->n_sockets; i++) {
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(sockets, o) &&
		     cJSON_AddNumberToObject(o, "slot", s->sockets[i].slot) &&
		     rj_add_u64(o, "cookie", s->sockets[i].cookie);
	}
	return rj_print(doc, ok);
}

static int decode_labels(const cJSON *arr, struct skl_monitor_start *s, struct skl_err *err)
{
	static const char *const names[] = { "id", "name" };
	int n = cJSON_GetArraySize(arr);
	const cJSON *o;

	if (!cJSON_IsArray(arr) || n > SKL_LIMIT_LABELS_MAX)
		return rj_bad(err, "\"labels\" is not an array of at most %d labels",
			      SKL_LIMIT_LABELS_MAX);
	s->labels = calloc(n ? (size_t)n : 1, sizeof(*s->labels));
	if (!s->labels)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	cJSON_ArrayForEach(o, arr) {
		const cJSON *f[2];
		long id;

		if (s->n_labels >= (size_t)n || rj_fields(o, "a label", names, 2, 0, f, err))
			return -1;
		if (!rj_int(f[0], 0, SKL_LIMIT_LABELS_MAX - 1, &id) ||
		    !rj_str(f[1], s->labels[s->n_labels].name, sizeof(s->labels[0].name), false))
			return rj_bad(err, "a label is not {\"id\": N, \"name\": TEXT}");
		s->labels[s->n_labels++].id = (uint32_t)id;
	}
	return 0;
}

static int decode_sockets(const cJSON *arr, struct skl_monitor_start *s, struct skl_err *err)
{
	static const char *const names[] = { "slot", "cookie" };
	long max = (long)SKL_SOCKETS_PER_LABEL * SKL_LIMIT_LABELS_MAX;
	int n = cJSON_GetArraySize(arr);
	const cJSON *o;

	if (!cJSON_IsArray(arr) || n > max)
		return rj_bad(err, "\"sockets\" is not an array of at most %ld sockets", max);
	s->sockets = calloc(n ? (size_t)n : 1, sizeof(*s->sockets));
	if (!s->sockets)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	cJSON_ArrayForEach(o, arr) {
		const cJSON *f[2];
		long slot;

		if (s->n_sockets >= (size_t)n || rj_fields(o, "a socket", names, 2, 0, f, err))
			return -1;
		if (!rj_int(f[0], 0, max - 1, &slot) ||
		    !rj_u64(f[1], &s->sockets[s->n_sockets].cookie))
			return rj_bad(err, "a socket is not {\"slot\": N, \"cookie\": \"N\"}");
		s->sockets[s->n_sockets++].slot = (uint32_t)slot;
	}
	return 0;
}

int skl_monitor_start_decode(const char *text, struct skl_monitor_start *s, struct skl_err *err)
{
	static const char *const names[] = { "netns_cookie", "labels", "sockets", "lost" };
	cJSON *doc = cJSON_Parse(text);
	const cJSON *f[4];
	int n, ret = -1;

	memset(s, 0, sizeof(*s));
	if (!doc)
		return rj_bad(err, "the monitor's start is not JSON");
	if (rj_fields(doc, "the monitor's start", names, 4, 0, f, err))
		goto out;
	n = cJSON_GetArraySize(f[3]);
	if (!rj_u64(f[0], &s->netns_cookie) || !cJSON_IsArray(f[3]) || n < 1 || n > MAX_CPUS) {
		rj_bad(err, "the monitor's start has no netns cookie or per-CPU lost counts");
		goto out;
	}
	s->n_cpus = (size_t)n;
	s->lost = calloc(s->n_cpus, sizeof(*s->lost));
	if (!s->lost) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	if (!rj_u64s(f[3], s->lost, s->n_cpus)) {
		rj_bad(err, "\"lost\" is not an array of counts");
		goto out;
	}
	ret = decode_labels(f[1], s, err) || decode_sockets(f[2], s, err) ? -1 : 0;
out:
	if (ret)
		skl_monitor_start_free(s);
	cJSON_Delete(doc);
	return ret;
}
