/*
 * What the libFuzzer targets share: the input as the C string the plugin
 * would see, and property checks that abort() (so libFuzzer keeps the input
 * as a crash) with a line saying which property broke.
 */
#ifndef SKL_FUZZ_H
#define SKL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skl_error.h"

/* Every outside input reaches the parsers NUL-terminated (stdin with a NUL
 * is refused before parsing; env values and sysctl text cannot hold one),
 * so the input is cut at its first NUL, as the plugin would see it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_CHECK(cond, ...)                                                              \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz: %s:%d: property broken: %s: ", __FILE__,    \
				__LINE__, #cond);                                          \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* A failing call must say why: main() prints err as the CNI error, and an
 * empty message or code 0 would be a useless (or invalid) error result. */
static inline void fuzz_check_err(const struct skl_err *err, const char *call)
{
	FUZZ_CHECK(err->code != 0, "%s failed with error code 0 (msg \"%s\")", call, err->msg);
	FUZZ_CHECK(err->msg[0] != '\0', "%s failed with an empty message", call);
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL,
		   "%s left an unterminated message", call);
}

#endif
