/* Strict JSON reading and writing for the agent's answers (result_json_util.h). */
#include "result_json_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rj_bad(struct skl_err *err, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return skl_errf(err, SKL_CNI_DECODE_FAILURE,
			"the node agent's answer is not understood (a different release?): %s",
			what);
}

int rj_fields(const cJSON *obj, const char *what, const char *const *names, size_t n,
	      uint32_t optional, const cJSON **out, struct skl_err *err)
{
	const cJSON *f;

	if (!cJSON_IsObject(obj))
		return rj_bad(err, "%s is not an object", what);
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	cJSON_ArrayForEach(f, obj) {
		size_t i = 0;

		while (i < n && strcmp(f->string, names[i]))
			i++;
		if (i == n)
			return rj_bad(err, "%s has an unknown field \"%.64s\"", what, f->string);
		if (out[i])
			return rj_bad(err, "%s has \"%s\" more than once", what, names[i]);
		out[i] = f;
	}
	for (size_t i = 0; i < n; i++)
		if (!out[i] && !(optional & (1u << i)))
			return rj_bad(err, "%s lacks \"%s\"", what, names[i]);
	return 0;
}

bool rj_u64(const cJSON *item, uint64_t *out)
{
	const char *s = cJSON_IsString(item) ? item->valuestring : NULL;
	char *end;

	if (!s || !s[0] || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s) ||
	    (s[0] == '0' && s[1]))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

bool rj_int(const cJSON *item, long min, long max, long *out)
{
	if (!cJSON_IsNumber(item) || item->valuedouble < (double)min ||
	    item->valuedouble > (double)max ||
	    (double)(long)item->valuedouble != item->valuedouble)
		return false;
	*out = (long)item->valuedouble;
	return true;
}

bool rj_str(const cJSON *item, char *buf, size_t cap, bool empty_ok)
{
	const char *s = cJSON_IsString(item) ? item->valuestring : NULL;
	size_t len = s ? strlen(s) : 0;

	if (!s || len >= cap || (!len && !empty_ok))
		return false;
	/* No control characters (terminal escapes); UTF-8 passes. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	memcpy(buf, s, len + 1);
	return true;
}

bool rj_u64s(const cJSON *item, uint64_t *out, size_t n)
{
	const cJSON *e;
	size_t i = 0;

	if (!cJSON_IsArray(item) || (size_t)cJSON_GetArraySize(item) != n)
		return false;
	cJSON_ArrayForEach(e, item)
		if (i >= n || !rj_u64(e, &out[i++]))
			return false;
	return i == n;
}

bool rj_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return cJSON_AddStringToObject(obj, name, text) != NULL;
}

cJSON *rj_u64_array(const uint64_t *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		char text[24];
		cJSON *s;

		snprintf(text, sizeof(text), "%" PRIu64, v[i]);
		if (!(s = cJSON_CreateString(text)) || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

char *rj_print(cJSON *doc, bool ok)
{
	char *text = ok && doc ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	return text;
}
