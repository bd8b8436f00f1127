/*
 * Reference checks for fuzz_strings.c, written from the documented syntax
 * (README, state.h, bindings.h) rather than from the code they check, and
 * as plainly as possible.
 */
#ifndef SKL_FUZZ_STRINGS_REF_H
#define SKL_FUZZ_STRINGS_REF_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dispatch_abi.h"

static inline bool ref_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A port: 1-65535 in plain decimal, no sign, no leading zero. */
static inline bool ref_port(const char *s, size_t len, uint16_t *out)
{
	uint32_t v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!ref_digit(s[i]))
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*out = (uint16_t)v;
	return v <= 65535;
}

/* "N" or "N-M" with N <= M. */
static inline bool ref_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');

	if (!dash) {
		if (!ref_port(s, strlen(s), lo))
			return false;
		*hi = *lo;
		return true;
	}
	return ref_port(s, (size_t)(dash - s), lo) && ref_port(dash + 1, strlen(dash + 1), hi) &&
	       *lo <= *hi;
}

/* Clears every bit from plen on, and the bytes an IPv4 address does not use. */
static inline void ref_mask(uint8_t addr[16], uint8_t family, unsigned int plen)
{
	unsigned int bits = family == SKL_FAMILY_V6 ? 128 : 32;
	unsigned int keep = plen < bits ? plen : bits;

	for (unsigned int bit = keep; bit < 128; bit++)
		addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static inline bool ref_is_v4_mapped(const uint8_t a[16])
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

/* bindings.h and README: "ADDR/LEN" or a bare address (the full length);
 * the family is IPv6 when ADDR has a ':'; LEN is plain decimal up to 32 or
 * 128; host bits must be clear; ::ffff:a.b.c.d/96+n must be written as the
 * IPv4 prefix. */
static inline bool ref_prefix(const char *s, uint8_t *family, uint8_t *plen, uint8_t addr[16])
{
	const char *slash = strchr(s, '/');
	size_t host_len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int len = 0, max;
	char host[INET6_ADDRSTRLEN];
	uint8_t masked[16];

	memset(addr, 0, 16);
	if (host_len == 0 || host_len >= sizeof(host))
		return false;
	memcpy(host, s, host_len);
	host[host_len] = '\0';
	*family = strchr(host, ':') ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	if (inet_pton(*family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return false;
	max = *family == SKL_FAMILY_V6 ? 128 : 32;
	len = max;
	if (slash) {
		const char *d = slash + 1;

		if (!d[0] || strlen(d) > 3 || (d[0] == '0' && d[1]))
			return false;
		for (len = 0; *d; d++) {
			if (!ref_digit(*d))
				return false;
			len = len * 10 + (unsigned int)(*d - '0');
		}
		if (len > max)
			return false;
	}
	if (*family == SKL_FAMILY_V6 && len >= 96 && ref_is_v4_mapped(addr))
		return false;
	memcpy(masked, addr, 16);
	ref_mask(masked, *family, len);
	*plen = (uint8_t)len;
	return memcmp(masked, addr, 16) == 0;
}

static inline bool ref_alnum(char c)
{
	return ref_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool ref_name_char(char c)
{
	return ref_alnum(c) || c == '_' || c == '.' || c == '-';
}

/* README: 1-32 of [A-Za-z0-9_.-], starting with a letter or digit. */
static inline bool ref_label(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > SKL_LABEL_MAX || !ref_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ref_name_char(s[i]))
			return false;
	return true;
}

/* state.h: 1..max bytes of [A-Za-z0-9_.-], not starting with '.'. */
static inline bool ref_component(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 1 || n > max || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ref_name_char(s[i]))
			return false;
	return true;
}

/* root is absolute and normalised: every component between slashes is
 * non-empty and neither "." nor ".."; one trailing slash is allowed. */
static inline bool ref_root(const char *root)
{
	size_t n = root ? strlen(root) : 0;

	if (n < 2 || root[0] != '/')
		return false;
	if (root[n - 1] == '/')
		n--;
	for (size_t i = 1; i <= n;) {
		size_t len = strcspn(root + i, "/");

		if (len > n - i)
			len = n - i;
		if (len == 0 || (len == 1 && root[i] == '.') ||
		    (len == 2 && root[i] == '.' && root[i + 1] == '.'))
			return false;
		i += len + 1;
	}
	return true;
}

/* A component as stored in bpffs: '.' becomes ':'. */
static inline void ref_encode(char *out, const char *s)
{
	for (; *s; s++)
		*out++ = *s == '.' ? ':' : *s;
	*out = '\0';
}

/* path must be root (without its trailing slash) and the three encoded
 * components, each valid, so that it names a directory under root. */
static inline bool ref_state_path(const char *path, const char *root, const char *network,
				  const char *container, const char *ifname)
{
	char want[3 * 4096], net[256 + 1], ctr[256 + 1], ifn[16 + 1];
	size_t root_len;

	if (!ref_root(root) || !network || !container || !ifname ||
	    !ref_component(network, 255) || !ref_component(container, 255) ||
	    !ref_component(ifname, 15))
		return false;
	root_len = strlen(root);
	if (root[root_len - 1] == '/')
		root_len--;
	ref_encode(net, network);
	ref_encode(ctr, container);
	ref_encode(ifn, ifname);
	snprintf(want, sizeof(want), "%.*s/%s/%s/%s", (int)root_len, root, net, ctr, ifn);
	return strcmp(path, want) == 0;
}

#endif
