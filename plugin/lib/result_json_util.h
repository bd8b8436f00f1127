/* Strict JSON reading and writing shared by pod_result_json*.c. */
#ifndef SKL_RESULT_JSON_UTIL_H
#define SKL_RESULT_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "skl_error.h"

#define RJ_MAX_FIELDS 16

/* Fails with a message naming what of the agent's answer is wrong. */
int rj_bad(struct skl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* obj is an object whose keys are among names[0..n), each at most once;
 * out[i] is field names[i] (NULL if absent). Every field is required
 * unless optional has its bit. */
int rj_fields(const cJSON *obj, const char *what, const char *const *names, size_t n,
	      uint32_t optional, const cJSON **out, struct skl_err *err);

/* A decimal string of a uint64_t. */
bool rj_u64(const cJSON *item, uint64_t *out);
/* A JSON integer in [min, max]. */
bool rj_int(const cJSON *item, long min, long max, long *out);
/* A string without control characters, shorter than cap ("" allowed
 * when empty_ok). */
bool rj_str(const cJSON *item, char *buf, size_t cap, bool empty_ok);
/* An array of exactly n decimal-string uint64_t. */
bool rj_u64s(const cJSON *item, uint64_t *out, size_t n);

/* Adds a uint64_t as a decimal string; false when out of memory. */
bool rj_add_u64(cJSON *obj, const char *name, uint64_t v);
/* An array of n decimal-string uint64_t, or NULL. */
cJSON *rj_u64_array(const uint64_t *v, size_t n);
/* Prints doc unformatted and frees it (NULL doc or no memory: NULL). */
char *rj_print(cJSON *doc, bool ok);

#endif
