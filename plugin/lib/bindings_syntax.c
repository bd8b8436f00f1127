/*
 * The values of a binding as text: port ranges ("N", "N-M"), prefixes
 * ("ADDR/LEN"), labels, and the quoting of bad input in messages.
 */
#include "bindings_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_SYNTAX                                                                        \
	"use \"N\" or \"N-M\" with " SKL_STR(SKL_PORT_MIN) " <= N <= M <= " SKL_STR(SKL_PORT_MAX)

/* ------------------------------------------------------------------------
 * Quoting
 */

const char *skl_quote(struct skl_quoted *q, const char *s)
{
	size_t o = 0, i;

	q->s[o++] = '"';
	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)sprintf(q->s + o, "\\x%02x", c);
		} else {
			q->s[o++] = (char)c;
		}
	}
	if (s[i]) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

/* ------------------------------------------------------------------------
 * Ports
 */

/*
 * Plain decimal only: digits, no sign, no spaces, no leading zero ("080"
 * reads as octal to some tools). Six digits are enough to tell a value
 * above 65535 from a port.
 */
static bool parse_decimal(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 6 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool is_port(unsigned long v)
{
	return v >= SKL_PORT_MIN && v <= SKL_PORT_MAX;
}

int skl_port_range_parse(const char *s, struct skl_port_range *out, struct skl_err *err)
{
	unsigned long lo, hi;
	struct skl_quoted q;
	const char *dash;
	size_t lo_len;

	if (!s)
		return skl_errf(err, INVALID, "no port given; " PORT_SYNTAX);
	dash = strchr(s, '-');
	if (!dash) {
		if (!parse_decimal(s, strlen(s), &lo) || !is_port(lo))
			return skl_errf(err, INVALID, "%s is not a port; " PORT_SYNTAX,
					skl_quote(&q, s));
		hi = lo;
	} else {
		lo_len = (size_t)(dash - s);
		if (!parse_decimal(s, lo_len, &lo) ||
		    !parse_decimal(dash + 1, strlen(dash + 1), &hi) || !is_port(lo) || !is_port(hi))
			return skl_errf(err, INVALID, "%s is not a port range; " PORT_SYNTAX,
					skl_quote(&q, s));
		if (lo > hi)
			return skl_errf(err, INVALID,
					"%s is not a port range (%lu > %lu); " PORT_SYNTAX,
					skl_quote(&q, s), lo, hi);
	}
	out->lo = (__u16)lo;
	out->hi = (__u16)hi;
	return 0;
}

/* Binding order of ranges: lo ascending, hi descending, so a range comes
 * before the ranges nested in it. */
static int port_range_cmp(const void *a, const void *b)
{
	const struct skl_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return 0;
}

/* Sorts and drops exact duplicates; nested and adjacent ranges stay apart
 * because a narrower range changes precedence. Returns the new count. */
size_t skl_port_ranges_normalise(struct skl_port_range *v, size_t n)
{
	size_t i, kept = 0;

	qsort(v, n, sizeof(*v), port_range_cmp);
	for (i = 0; i < n; i++) {
		if (kept && port_range_cmp(&v[kept - 1], &v[i]) == 0)
			continue;
		v[kept++] = v[i];
	}
	return kept;
}

/* ------------------------------------------------------------------------
 * Prefixes
 */

static void mask_addr(uint8_t addr[SKL_ADDR_BYTES], unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < SKL_ADDR_BYTES; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits < 8)
			addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

/* ::ffff:0:0/96, the IPv4-mapped addresses: the IPv4 address in the last
 * SKL_V4_BYTES. */
#define MAPPED_PREFIX_BYTES (SKL_ADDR_BYTES - SKL_V4_BYTES)
#define MAPPED_PLEN (MAPPED_PREFIX_BYTES * 8)

static bool is_v4_mapped(const uint8_t a[SKL_ADDR_BYTES])
{
	static const uint8_t mapped[MAPPED_PREFIX_BYTES] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, mapped, sizeof(mapped)) == 0;
}

static int not_a_prefix(struct skl_err *err, const char *s, const char *also)
{
	struct skl_quoted q;

	return skl_errf(err, INVALID, "%s is not an IPv4 or IPv6 prefix; " PREFIX_SYNTAX "%s",
			skl_quote(&q, s), also);
}

/* ::ffff:a.b.c.d/96+n is the IPv4 prefix a.b.c.d/n: only that spelling is
 * accepted, so that a prefix has one family. */
static int mapped_error(struct skl_err *err, const char *s, const uint8_t raw[SKL_ADDR_BYTES],
			unsigned int plen)
{
	uint8_t v4[SKL_ADDR_BYTES] = {0};
	char suggestion[SKL_PREFIX_STR_MAX];
	struct skl_quoted q;

	memcpy(v4, raw + MAPPED_PREFIX_BYTES, SKL_V4_BYTES);
	mask_addr(v4, plen - MAPPED_PLEN);
	skl_prefix_format(SKL_FAMILY_V4, (uint8_t)(plen - MAPPED_PLEN), v4, suggestion,
			  sizeof(suggestion));
	return skl_errf(err, INVALID,
			"%s is an IPv4-mapped IPv6 address; write the IPv4 prefix \"%s\"",
			skl_quote(&q, s), suggestion);
}

static int host_bits_error(struct skl_err *err, const char *s, uint8_t family, unsigned int plen,
			   const uint8_t masked[SKL_ADDR_BYTES], const char *host)
{
	char network[SKL_PREFIX_STR_MAX];
	struct skl_quoted q, h;

	skl_prefix_format(family, (uint8_t)plen, masked, network, sizeof(network));
	return skl_errf(err, INVALID,
			"%s has host bits set; use \"%s\" for the network, or %s for the one address",
			skl_quote(&q, s), network, skl_quote(&h, host));
}

/* skl_prefix_parse, with `also` naming further accepted forms in the
 * syntax message (the pod keywords, for a binding's prefix). */
int skl_prefix_parse_also(const char *s, const char *also, uint8_t *family, uint8_t *plen,
			  uint8_t addr[SKL_ADDR_BYTES], struct skl_err *err)
{
	uint8_t raw[SKL_ADDR_BYTES] = {0}, masked[SKL_ADDR_BYTES];
	char host[INET6_ADDRSTRLEN];
	unsigned long len, max;
	struct skl_quoted q;
	const char *slash;
	size_t host_len;
	bool v6;

	if (!s)
		return skl_errf(err, INVALID, "no prefix given; " PREFIX_SYNTAX "%s", also);
	slash = strchr(s, '/');
	host_len = slash ? (size_t)(slash - s) : strlen(s);
	if (host_len == 0 || host_len >= sizeof(host))
		return not_a_prefix(err, s, also);
	memcpy(host, s, host_len);
	host[host_len] = '\0';
	v6 = strchr(host, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, raw) != 1)
		return not_a_prefix(err, s, also);

	max = v6 ? SKL_PLEN_MAX_V6 : SKL_PLEN_MAX_V4;
	len = max;
	if (slash && (!parse_decimal(slash + 1, strlen(slash + 1), &len) || len > max))
		return skl_errf(err, INVALID, "%s has an invalid prefix length; use /0 to /%lu for %s",
				skl_quote(&q, s), max, v6 ? "IPv6" : "IPv4");
	if (v6 && is_v4_mapped(raw) && len >= MAPPED_PLEN)
		return mapped_error(err, s, raw, (unsigned int)len);

	memcpy(masked, raw, sizeof(masked));
	mask_addr(masked, (unsigned int)len);
	if (memcmp(masked, raw, sizeof(raw)) != 0)
		return host_bits_error(err, s, v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4,
				       (unsigned int)len, masked, host);

	*family = v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	*plen = (uint8_t)len;
	memcpy(addr, masked, sizeof(masked));
	return 0;
}

int skl_prefix_parse(const char *s, uint8_t *family, uint8_t *plen, uint8_t addr[SKL_ADDR_BYTES],
		     struct skl_err *err)
{
	return skl_prefix_parse_also(s, "", family, plen, addr, err);
}

void skl_prefix_format(uint8_t family, uint8_t plen, const uint8_t addr[SKL_ADDR_BYTES], char *buf,
		       size_t len)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (family == SKL_FAMILY_V4 || family == SKL_FAMILY_V6)
		inet_ntop(family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, addr, text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, plen);
}

/* ------------------------------------------------------------------------
 * Labels
 */

/* ASCII only, whatever the locale. */
static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool skl_label_valid(const char *label)
{
	size_t i;

	if (!label || !is_alnum(label[0]))
		return false;
	for (i = 1; label[i]; i++) {
		if (i >= SKL_LABEL_MAX)
			return false;
		if (!is_alnum(label[i]) && label[i] != '_' && label[i] != '.' && label[i] != '-')
			return false;
	}
	return true;
}
