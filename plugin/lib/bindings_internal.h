/*
 * What the bindings_*.c files share and nothing else uses: the message
 * helpers and the steps the JSON parser takes from the other files.
 */
#ifndef SKL_BINDINGS_INTERNAL_H
#define SKL_BINDINGS_INTERNAL_H

#include "bindings.h"

#define INVALID SKL_CNI_INVALID_CONFIG

#define PREFIX_SYNTAX                                                                      \
	"use \"ADDR/LEN\" such as \"192.0.2.0/24\" or \"2001:db8::/64\", or a bare address"

/* Input bytes shown when a value is quoted in a message: enough to
 * recognise it, short enough to leave room for the fix. */
#define QUOTE_MAX 48

/* A value as it appears in a message: quoted, escaped, pure ASCII (the
 * message ends up in JSON, and a cut UTF-8 sequence would be invalid). */
struct skl_quoted {
	char s[2 + QUOTE_MAX * 4 + sizeof("...")];
};

/* s as a message shows it; the text lives in q. */
const char *skl_quote(struct skl_quoted *q, const char *s);

/* "<where>: out of memory"; returns -1. */
int skl_bindings_oom(struct skl_err *err, const char *where);

/* Sorts ranges (lo ascending, hi descending) and drops exact duplicates;
 * returns the new count. */
size_t skl_port_ranges_normalise(struct skl_port_range *v, size_t n);

/* skl_prefix_parse, with `also` naming further accepted forms in the
 * syntax message (the pod keywords, for a binding's prefix). */
int skl_prefix_parse_also(const char *s, const char *also, uint8_t *family, uint8_t *plen,
			  uint8_t addr[SKL_ADDR_BYTES], struct skl_err *err);

/* Room for extra more bindings in set; -1 on ENOMEM or overflow. */
int skl_bindings_reserve(struct skl_binding_set *set, size_t extra);

/* Moves every binding of src onto the end of dst (port arrays change
 * owner) and empties src. dst is unchanged on failure. */
int skl_bindings_move_all(struct skl_binding_set *dst, struct skl_binding_set *src,
			  const char *where, struct skl_err *err);

#endif
