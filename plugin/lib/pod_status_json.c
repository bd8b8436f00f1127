/* status's result on the agent's wire (pod_result_json.h). */
#include "pod_result_json.h"

#include <stdlib.h>
#include <string.h>

#include "result_json_util.h"

static cJSON *label_json(const struct skl_status_label *l)
{
	cJSON *o = cJSON_CreateObject(), *locals;
	bool ok = o && cJSON_AddNumberToObject(o, "id", l->id) &&
		  cJSON_AddStringToObject(o, "name", l->name) &&
		  cJSON_AddItemToObject(o, "cookies", rj_u64_array(l->cookie, SKL_SOCKET_SLOTS)) &&
		  (locals = cJSON_AddArrayToObject(o, "locals")) &&
		  cJSON_AddItemToObject(o, "counters", rj_u64_array(l->counters, SKL_C_COUNT));

	for (int s = 0; ok && s < SKL_SOCKET_SLOTS; s++)
		ok = cJSON_AddItemToArray(locals, cJSON_CreateString(l->local[s]));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *shadowed_json(const struct skl_status_shadowed *sh)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "socket", sh->socket) &&
		  rj_add_u64(o, "cookie", sh->cookie) &&
		  cJSON_AddNumberToObject(o, "binding", sh->binding) &&
		  cJSON_AddStringToObject(o, "label", sh->label);

	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Bindings in config syntax (skl_bindings_parse reads them back), their
 * ids and counters alongside. */
static bool add_bindings(cJSON *doc, const struct skl_pod_status *st)
{
	cJSON *ids = cJSON_AddArrayToObject(doc, "bindingIds");
	cJSON *counters = cJSON_AddArrayToObject(doc, "bindingCounters");
	bool ok = ids && counters &&
		  cJSON_AddItemToObject(doc, "bindings", skl_bindings_to_json(&st->bindings));

	for (size_t i = 0; ok && i < st->bindings.n; i++)
		ok = cJSON_AddItemToArray(ids, cJSON_CreateNumber(st->binding_ids[i])) &&
		     cJSON_AddItemToArray(counters,
					  rj_u64_array(st->binding_counters[i], SKL_C_COUNT));
	return ok;
}

/* The totals on the wire: lookups and no match, as every release sends
 * them (the monitor's lost count is the monitor's). */
#define SKL_STATUS_TOTALS 2

char *skl_pod_status_encode(const struct skl_pod_status *st, unsigned version)
{
	cJSON *doc = cJSON_CreateObject(), *labels, *shadowed;
	bool ok = doc && cJSON_AddStringToObject(doc, "stateDir", st->state_dir) &&
		  rj_add_u64(doc, "netnsIno", st->netns_ino) &&
		  cJSON_AddNumberToObject(doc, "programId", st->prog_id) &&
		  cJSON_AddItemToObject(doc, "totals", rj_u64_array(st->totals, SKL_STATUS_TOTALS)) &&
		  (labels = cJSON_AddArrayToObject(doc, "labels")) && add_bindings(doc, st) &&
		  cJSON_AddBoolToObject(doc, "socketsVisible", st->sockets_visible) &&
		  (shadowed = cJSON_AddArrayToObject(doc, "shadowed"));

	/* Only when known: an agent answers an older client, which knows no
	 * "pod", for a nameless pod as before. */
	if (ok && version >= 3 && !skl_pod_identity_empty(&st->pod))
		ok = cJSON_AddItemToObject(doc, "pod", skl_pod_identity_to_json(&st->pod, false));
	for (size_t k = 0; ok && k < st->n_labels; k++)
		ok = cJSON_AddItemToArray(labels, label_json(&st->labels[k]));
	for (size_t k = 0; ok && k < st->n_shadowed; k++)
		ok = cJSON_AddItemToArray(shadowed, shadowed_json(&st->shadowed[k]));
	return rj_print(doc, ok);
}

/* An array of at most max entries, allocated for them (size each). */
static int array_of(const cJSON *arr, size_t max, size_t size, void **out, const char *what,
		    struct skl_err *err)
{
	int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;

	if (n < 0 || (size_t)n > max)
		return rj_bad(err, "status's \"%s\" is not an array of at most %zu", what, max);
	*out = calloc((size_t)n + 1, size);
	return *out ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
}

static int label_decode(const cJSON *o, struct skl_status_label *l, struct skl_err *err)
{
	static const char *const names[] = { "id", "name", "cookies", "locals", "counters" };
	const cJSON *f[5], *e;
	long id;
	int s = 0;

	if (rj_fields(o, "a status label", names, 5, 0, f, err))
		return -1;
	if (!rj_int(f[0], 0, UINT32_MAX, &id) || !rj_str(f[1], l->name, sizeof(l->name), false) ||
	    !skl_label_valid(l->name) || !rj_u64s(f[2], l->cookie, SKL_SOCKET_SLOTS) ||
	    !rj_u64s(f[4], l->counters, SKL_C_COUNT) || !cJSON_IsArray(f[3]) ||
	    cJSON_GetArraySize(f[3]) != SKL_SOCKET_SLOTS)
		return rj_bad(err, "a status label has a field of the wrong type or size");
	cJSON_ArrayForEach(e, f[3])
		if (s >= SKL_SOCKET_SLOTS || !rj_str(e, l->local[s++], sizeof(l->local[0]), true))
			return rj_bad(err, "a status label's \"locals\" are not 4 socket names");
	l->id = (uint32_t)id;
	return 0;
}

static int shadowed_decode(const cJSON *o, struct skl_status_shadowed *sh, struct skl_err *err)
{
	static const char *const names[] = { "socket", "cookie", "binding", "label" };
	const cJSON *f[4];
	long binding;

	if (rj_fields(o, "a shadowed listener", names, 4, 0, f, err))
		return -1;
	if (!rj_str(f[0], sh->socket, sizeof(sh->socket), false) || !rj_u64(f[1], &sh->cookie) ||
	    !rj_int(f[2], 0, UINT32_MAX, &binding) ||
	    !rj_str(f[3], sh->label, sizeof(sh->label), false) || !skl_label_valid(sh->label))
		return rj_bad(err, "a shadowed listener has a field of the wrong type");
	sh->binding = (uint32_t)binding;
	return 0;
}

static int bindings_decode(const cJSON *set, const cJSON *ids, const cJSON *counters,
			   struct skl_pod_status *st, struct skl_err *err)
{
	const cJSON *e;
	size_t i = 0;
	long id;

	if (!cJSON_IsArray(set) || cJSON_GetArraySize(set) > SKL_LIMIT_BINDINGS_MAX)
		return rj_bad(err, "status's \"bindings\" is not an array");
	if (skl_bindings_parse(set, "the node agent's answer: bindings", &st->bindings, err))
		return -1;
	if (!cJSON_IsArray(ids) || !cJSON_IsArray(counters) ||
	    (size_t)cJSON_GetArraySize(ids) != st->bindings.n ||
	    (size_t)cJSON_GetArraySize(counters) != st->bindings.n)
		return rj_bad(err, "status's \"bindingIds\" and \"bindingCounters\" do not match "
				   "its bindings");
	st->binding_ids = calloc(st->bindings.n + 1, sizeof(*st->binding_ids));
	st->binding_counters = calloc(st->bindings.n + 1, sizeof(*st->binding_counters));
	if (!st->binding_ids || !st->binding_counters)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	cJSON_ArrayForEach(e, ids) {
		if (i >= st->bindings.n || !rj_int(e, 0, UINT32_MAX, &id))
			return rj_bad(err, "status's \"bindingIds\" are not binding ids");
		st->binding_ids[i++] = (uint32_t)id;
	}
	i = 0;
	cJSON_ArrayForEach(e, counters)
		if (i >= st->bindings.n || !rj_u64s(e, st->binding_counters[i++], SKL_C_COUNT))
			return rj_bad(err, "status's \"bindingCounters\" are not counters");
	return 0;
}

static int status_lists(const cJSON *labels, const cJSON *shadowed, struct skl_pod_status *st,
			struct skl_err *err)
{
	const cJSON *e;

	if (array_of(labels, SKL_LIMIT_LABELS_MAX, sizeof(*st->labels), (void **)&st->labels,
		     "labels", err))
		return -1;
	cJSON_ArrayForEach(e, labels)
		if (label_decode(e, &st->labels[st->n_labels++], err))
			return -1;
	if (array_of(shadowed, SKL_STATUS_MAX_SHADOWED, sizeof(*st->shadowed),
		     (void **)&st->shadowed, "shadowed", err))
		return -1;
	cJSON_ArrayForEach(e, shadowed)
		if (shadowed_decode(e, &st->shadowed[st->n_shadowed++], err))
			return -1;
	return 0;
}

static int status_fields(const cJSON *doc, struct skl_pod_status *st, struct skl_err *err)
{
	static const char *const names[] = { "stateDir",	 "netnsIno",	  "programId",
					     "totals",		 "labels",	  "bindings",
					     "bindingIds",	 "bindingCounters", "socketsVisible",
					     "shadowed",	 "pod" };
	const cJSON *f[11];
	long prog_id;

	if (rj_fields(doc, "status's result", names, 11, 1u << 10, f, err))
		return -1;
	if (f[10] && skl_pod_identity_from_json(f[10], "the node agent's answer", &st->pod, err))
		return -1;
	if (!rj_str(f[0], st->state_dir, sizeof(st->state_dir), false) ||
	    !rj_u64(f[1], &st->netns_ino) || !rj_int(f[2], 0, UINT32_MAX, &prog_id) ||
	    !rj_u64s(f[3], st->totals, SKL_STATUS_TOTALS) || !cJSON_IsBool(f[8]))
		return rj_bad(err, "status's pod fields have the wrong type");
	st->prog_id = (uint32_t)prog_id;
	st->sockets_visible = cJSON_IsTrue(f[8]);
	if (status_lists(f[4], f[9], st, err))
		return -1;
	return bindings_decode(f[5], f[6], f[7], st, err);
}

int skl_pod_status_decode(const char *text, struct skl_pod_status *st, struct skl_err *err)
{
	cJSON *doc = cJSON_Parse(text);
	int ret;

	memset(st, 0, sizeof(*st));
	ret = doc ? status_fields(doc, st, err) : rj_bad(err, "status's result is not JSON");
	cJSON_Delete(doc);
	if (ret)
		skl_pod_status_free(st);
	return ret;
}

/* Here, not in pod_status.c: the decoder fills the struct too, and this
 * file needs no kernel (the fuzz target links it alone). */
void skl_pod_status_free(struct skl_pod_status *st)
{
	free(st->labels);
	free(st->shadowed);
	skl_bindings_free(&st->bindings);
	free(st->binding_ids);
	free(st->binding_counters);
	memset(st, 0, sizeof(*st));
}
