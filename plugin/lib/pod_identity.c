/* A pod's namespace, name and uid (pod_identity.h): checks, display, JSON. */
#include "pod_identity.h"

#include <stdio.h>
#include <string.h>

bool skl_pod_identity_known(const struct skl_pod_identity *id)
{
	return id->ns[0] || id->name[0];
}

bool skl_pod_identity_empty(const struct skl_pod_identity *id)
{
	return !id->ns[0] && !id->name[0] && !id->uid[0];
}

bool skl_pod_identity_value_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

void skl_pod_identity_format(const struct skl_pod_identity *id, char *out, size_t len)
{
	if (id->ns[0])
		snprintf(out, len, "%s/%s", id->ns, id->name);
	else
		snprintf(out, len, "%s", id->name[0] ? id->name : "-");
}

static bool add_part(cJSON *o, const char *key, const char *value, bool nulls)
{
	if (value[0])
		return cJSON_AddStringToObject(o, key, value) != NULL;
	return !nulls || cJSON_AddNullToObject(o, key) != NULL;
}

cJSON *skl_pod_identity_to_json(const struct skl_pod_identity *id, bool nulls)
{
	cJSON *o = cJSON_CreateObject();

	if (o && add_part(o, "namespace", id->ns, nulls) && add_part(o, "name", id->name, nulls) &&
	    add_part(o, "uid", id->uid, nulls))
		return o;
	cJSON_Delete(o);
	return NULL;
}

static const struct {
	const char *key;
	size_t offset, max;
} parts[] = {
	{ "namespace", offsetof(struct skl_pod_identity, ns), SKL_POD_NAMESPACE_MAX },
	{ "name", offsetof(struct skl_pod_identity, name), SKL_POD_NAME_MAX },
	{ "uid", offsetof(struct skl_pod_identity, uid), SKL_POD_UID_MAX },
};

int skl_pod_identity_from_json(const cJSON *o, const char *what, struct skl_pod_identity *id,
			       struct skl_err *err)
{
	bool seen[3] = { false };
	const cJSON *f;

	memset(id, 0, sizeof(*id));
	if (!cJSON_IsObject(o))
		return skl_errf(err, SKL_CNI_DECODE_FAILURE, "%s: \"pod\" is not an object", what);
	cJSON_ArrayForEach(f, o) {
		size_t i = 0;

		while (i < 3 && strcmp(f->string, parts[i].key))
			i++;
		if (i == 3 || seen[i])
			return skl_errf(err, SKL_CNI_DECODE_FAILURE,
					"%s: \"pod\" has an unknown or repeated key \"%.32s\"", what,
					f->string);
		seen[i] = true;
		if (cJSON_IsNull(f))
			continue;
		if (!cJSON_IsString(f) || !skl_pod_identity_value_valid(f->valuestring, parts[i].max))
			return skl_errf(err, SKL_CNI_DECODE_FAILURE,
					"%s: \"pod\".\"%s\" is not 1..%zu of [A-Za-z0-9_.-]", what,
					parts[i].key, parts[i].max);
		memcpy((char *)id + parts[i].offset, f->valuestring, strlen(f->valuestring) + 1);
	}
	return 0;
}
