/*
 * libFuzzer target: the string parsers. The first byte picks one, the rest
 * is its input:
 *   0 port string "N" / "N-M"          (skl_port_range_parse)
 *   1 prefix "ADDR/LEN" or an address   (skl_prefix_parse)
 *   2 label                             (skl_label_valid)
 *   3 one CNI_* value as a path component (skl_state_check_component, with
 *     the limits of CNI_CONTAINERID, CNI_IFNAME and the network name)
 *   4 "root\nnetwork\ncontainer\nifname" (skl_state_path)
 *   5 the sysctl texts ip_local_reserved_ports / ip_local_port_range
 *     (skl_reserved_ports_parse, skl_ephemeral_ports_parse), and the list
 *     arithmetic on what they return
 * Each result is checked against a small independent reference or a round
 * trip; a disagreement is an abort().
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>

#include "bindings.h"
#include "fuzz.h"
#include "portreserve.h"
#include "state.h"

#include "fuzz_strings_ref.h"

static void port_range(const char *s)
{
	struct skl_port_range r, again;
	struct skl_err err = { 0 };
	uint16_t lo, hi;
	bool ok = skl_port_range_parse(s, &r, &err) == 0;
	bool want = ref_port_range(s, &lo, &hi);
	char text[16];

	FUZZ_CHECK(ok == want, "skl_port_range_parse says %s, the reference %s",
		   ok ? "valid" : err.msg, want ? "valid" : "invalid");
	if (!ok) {
		fuzz_check_err(&err, "skl_port_range_parse");
		return;
	}
	FUZZ_CHECK(r.lo == lo && r.hi == hi, "%u-%u, reference %u-%u", r.lo, r.hi, lo, hi);
	snprintf(text, sizeof(text), "%u-%u", r.lo, r.hi);
	FUZZ_CHECK(skl_port_range_parse(text, &again, &err) == 0 && again.lo == r.lo &&
			   again.hi == r.hi, "\"%s\" does not parse back", text);
}

static void prefix(const char *s)
{
	uint8_t family, plen, addr[16], rfamily, rplen, raddr[16];
	struct skl_err err = { 0 };
	bool ok = skl_prefix_parse(s, &family, &plen, addr, &err) == 0;
	bool want = ref_prefix(s, &rfamily, &rplen, raddr);
	char text[64];

	FUZZ_CHECK(ok == want, "skl_prefix_parse says %s, the reference %s",
		   ok ? "valid" : err.msg, want ? "valid" : "invalid");
	if (!ok) {
		fuzz_check_err(&err, "skl_prefix_parse");
		return;
	}
	FUZZ_CHECK(family == rfamily && plen == rplen && !memcmp(addr, raddr, 16),
		   "family %u /%u, reference family %u /%u", family, plen, rfamily, rplen);
	/* The listing and every message print prefixes with skl_prefix_format. */
	skl_prefix_format(family, plen, addr, text, sizeof(text));
	FUZZ_CHECK(skl_prefix_parse(text, &rfamily, &rplen, raddr, &err) == 0 &&
			   rfamily == family && rplen == plen && !memcmp(raddr, addr, 16),
		   "\"%s\" does not parse back", text);
}

static void label(const char *s)
{
	FUZZ_CHECK(skl_label_valid(s) == ref_label(s), "skl_label_valid says %d",
		   skl_label_valid(s));
}

static void component(const char *s)
{
	/* CNI_CONTAINERID and CNI_IFNAME (cni_main.c), the network name
	 * (netconf.c), and the limits skl_state_path itself applies. */
	static const size_t limits[] = { 256, 255, 15, 128 };

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct skl_err err = { 0 };
		bool ok = skl_state_check_component("CNI_CONTAINERID", s, limits[i], &err) == 0;

		FUZZ_CHECK(ok == ref_component(s, limits[i]), "max %zu: %s", limits[i],
			   ok ? "accepted" : err.msg);
		if (!ok)
			fuzz_check_err(&err, "skl_state_check_component");
	}
}

/* Splits s at newlines into at most n fields; missing fields are NULL. */
static void split(char *s, char **field, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		field[i] = s;
		if (s && (s = strchr(s, '\n')))
			*s++ = '\0';
	}
}

static void state_path(char *s)
{
	char *f[4], want[PATH_MAX], *out;
	struct skl_err err = { 0 };
	size_t len;

	split(s, f, 4);
	if (skl_state_path(want, sizeof(want), f[0], f[1], f[2], f[3], &err)) {
		fuzz_check_err(&err, "skl_state_path");
		return;
	}
	/* No way out of the root, whatever the names hold. */
	FUZZ_CHECK(ref_state_path(want, f[0], f[1], f[2], f[3]), "path \"%s\"", want);
	/* Exactly as long a buffer works, one byte less is refused (ASan
	 * watches the heap buffer's end). */
	len = strlen(want) + 1;
	out = malloc(len);
	FUZZ_CHECK(out != NULL, "out of memory");
	FUZZ_CHECK(skl_state_path(out, len, f[0], f[1], f[2], f[3], &err) == 0 &&
			   !strcmp(out, want), "a %zu-byte buffer", len);
	FUZZ_CHECK(skl_state_path(out, len - 1, f[0], f[1], f[2], f[3], &err) != 0,
		   "a %zu-byte buffer took %zu bytes", len - 1, len);
	fuzz_check_err(&err, "skl_state_path (short buffer)");
	free(out);
}

static void check_list(const struct skl_port_range *v, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(v[i].lo <= v[i].hi, "%s[%zu] = %u-%u", what, i, v[i].lo, v[i].hi);
		FUZZ_CHECK(i == 0 || (uint32_t)v[i - 1].hi + 1 < v[i].lo,
			   "%s not sorted and merged at %zu", what, i);
	}
}

static void sysctl_text(const char *s)
{
	struct skl_port_range *v = NULL, *again = NULL, *rest = NULL;
	size_t n, n_again, n_rest;
	struct skl_err err = { 0 };
	uint16_t lo, hi;
	char *text;

	if (!skl_ephemeral_ports_parse(s, &lo, &hi, &err))
		FUZZ_CHECK(lo <= hi, "ephemeral range %u %u", lo, hi);
	else
		fuzz_check_err(&err, "skl_ephemeral_ports_parse");
	if (skl_reserved_ports_parse(s, &v, &n, &err)) {
		fuzz_check_err(&err, "skl_reserved_ports_parse");
		FUZZ_CHECK(v == NULL, "a failed parse returned a list");
		return;
	}
	check_list(v, n, "parsed");
	FUZZ_CHECK(skl_reserved_ports_format(v, n, &text, &err) == 0, "format: %s", err.msg);
	FUZZ_CHECK(skl_reserved_ports_parse(text, &again, &n_again, &err) == 0 && n_again == n &&
			   (n == 0 || !memcmp(again, v, n * sizeof(*v))),
		   "\"%s\" does not parse back", text);
	/* What DEL does with it: removing the list from itself leaves nothing. */
	FUZZ_CHECK(skl_port_ranges_subtract(v, n, again, n_again, &rest, &n_rest, &err) == 0 &&
			   n_rest == 0 && rest == NULL, "list minus itself has %zu ranges", n_rest);
	free(text);
	free(v);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstring(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		port_range(s);
		break;
	case 1:
		prefix(s);
		break;
	case 2:
		label(s);
		break;
	case 3:
		component(s);
		break;
	case 4:
		state_path(s);
		break;
	default:
		sysctl_text(s);
		break;
	}
	free(s);
	return 0;
}
