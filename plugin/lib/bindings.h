/*
 * The bindings model: (protocol, destination prefix, ports) -> label, parsed
 * from JSON, validated and normalised, with the precedence and conflict rules
 * of DESIGN.md. Pure user-space code: no kernel, no I/O.
 */
#ifndef SKL_BINDINGS_H
#define SKL_BINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dispatch_abi.h"
#include "skl_error.h"

#define SKL_PORT_MIN 1

/* Pod addresses taken from prevResult, at most. */
#define SKL_POD_ADDRS_MAX 16

/* The text of a prefix ("2001:db8::/64"), NUL included, at most. */
#define SKL_PREFIX_STR_MAX 64

enum skl_prefix_kind {
	SKL_PREFIX_CIDR, /* a concrete prefix: family, plen, addr are set */
	SKL_PREFIX_POD,  /* the pod's own addresses, both families */
	SKL_PREFIX_POD4, /* the pod's IPv4 addresses */
	SKL_PREFIX_POD6, /* the pod's IPv6 addresses */
};

/* One binding. Port ranges are sorted by (lo ascending, hi descending) with
 * exact duplicates removed; a binding without "ports" has one range 1-65535.
 * Ranges of one binding may nest (the narrower wins) but not partially
 * overlap (a conflict). */
struct skl_binding_spec {
	char label[SKL_LABEL_MAX + 1];
	uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	enum skl_prefix_kind kind;
	uint8_t family; /* enum skl_family; meaningful for SKL_PREFIX_CIDR */
	uint8_t plen;
	uint8_t addr[SKL_ADDR_BYTES]; /* network order, host bits zero; v4 in addr[0..3] */
	bool missing_pass; /* "missing": "pass" (default "drop") */
	size_t n_ports;
	struct skl_port_range *ports;
	char where[64]; /* where it came from, for messages: "bindings[2]" */
};

struct skl_binding_set {
	size_t n, cap;
	struct skl_binding_spec *v;
};

/* The pod's own addresses (from prevResult), for pod/pod4/pod6 prefixes. */
struct skl_pod_addrs {
	size_t n;
	struct {
		uint8_t family; /* enum skl_family */
		uint8_t addr[SKL_ADDR_BYTES];
	} v[SKL_POD_ADDRS_MAX];
};

/* Parses a port string "N" or "N-M" (1..65535, N <= M). */
int skl_port_range_parse(const char *s, struct skl_port_range *out, struct skl_err *err);

/* Parses "ADDR/LEN" or a bare address (/32, /128). Host bits set is an
 * error that suggests the masked prefix. */
int skl_prefix_parse(const char *s, uint8_t *family, uint8_t *plen, uint8_t addr[SKL_ADDR_BYTES],
		     struct skl_err *err);

/* Formats a prefix as "192.0.2.0/24" / "2001:db8::/64". buf >= SKL_PREFIX_STR_MAX bytes. */
void skl_prefix_format(uint8_t family, uint8_t plen, const uint8_t addr[SKL_ADDR_BYTES], char *buf,
		       size_t len);

/* True if label matches [A-Za-z0-9][A-Za-z0-9_.-]* and has 1 to
 * SKL_LABEL_MAX bytes. */
bool skl_label_valid(const char *label);

/*
 * Appends the bindings of a JSON array to set. `where` names the array in
 * messages ("bindings", "runtimeConfig.bindings", "annotation
 * sklookup.dev/bindings"); entries are named "<where>[i]". Unknown fields,
 * wrong types, bad values are errors (SKL_CNI_INVALID_CONFIG) naming the
 * entry and field and saying what is accepted. On error set is unchanged.
 */
int skl_bindings_parse(const cJSON *array, const char *where, struct skl_binding_set *set,
		       struct skl_err *err);

/* Replaces pod/pod4/pod6 bindings by one /32 or /128 binding per matching
 * pod address. A pod4 (pod6) binding with no IPv4 (IPv6) pod address is an
 * error; a "pod" binding needs at least one address. */
int skl_bindings_resolve_pod(struct skl_binding_set *set, const struct skl_pod_addrs *pod,
			     struct skl_err *err);

/* Checks the conflict rules of DESIGN.md over concrete bindings: at equal
 * protocol and prefix, port ranges that overlap without nesting, or identical
 * ranges with a different label or "missing", are an error naming both
 * bindings ("bindings[0] (label "web") and bindings[3] (label "api") ...").
 * Runs in O(n log n). */
int skl_bindings_check_conflicts(const struct skl_binding_set *set, struct skl_err *err);

/* The reference precedence rule, by brute force: the index of the binding
 * that wins for a packet (longest prefix, then narrowest port range, then
 * the first binding), or SKL_NONE. addr is network order (4 or 16 bytes). */
uint32_t skl_bindings_resolve(const struct skl_binding_set *set, uint8_t proto, uint8_t family,
			      const uint8_t addr[SKL_ADDR_BYTES], uint16_t port);

/* A JSON array of the set in config syntax (for listings). NULL on ENOMEM. */
cJSON *skl_bindings_to_json(const struct skl_binding_set *set);

/* Deep-copies src's binding i onto the end of dst. */
int skl_bindings_append(struct skl_binding_set *dst, const struct skl_binding_spec *b,
			struct skl_err *err);

void skl_bindings_free(struct skl_binding_set *set);

#endif
