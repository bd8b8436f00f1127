/*
 * The kernel's text of the port sysctls: the reserved-ports list
 * ("1000-2000,3000") in and out, and the ephemeral range ("32768\t60999").
 */
#include "portreserve_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "65535-65535," */
#define RANGE_TEXT_MAX 12
/* Input bytes a syntax error quotes, at most. */
#define QUOTE_MAX 64

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Reads a decimal port at *p (before end) and moves *p past it. */
static bool parse_port(const char **p, const char *end, uint32_t *port)
{
	const char *start = *p;
	uint32_t value = 0;

	while (*p < end && **p >= '0' && **p <= '9' && value <= SKL_PORT_MAX) {
		value = value * 10 + (uint32_t)(**p - '0');
		(*p)++;
	}
	*port = value;
	return *p > start && value <= SKL_PORT_MAX;
}

/* s is quoted up to end (without the kernel's newline), at most QUOTE_MAX bytes. */
static int list_syntax_error(struct skl_err *err, const char *s, const char *end, const char *at,
			     const char *what)
{
	int shown = end - s > QUOTE_MAX ? QUOTE_MAX : (int)(end - s);

	return skl_errf(err, SKL_CNI_INTERNAL,
			RESERVED_SYSCTL " \"%.*s\" is not a port list: %s at offset %zu; the "
			"syntax is \"1000-2000,3000\" with ports 0-" SKL_STR(SKL_PORT_MAX),
			shown, s, what, (size_t)(at - s));
}

/* Parses one "N" or "N-M" at *p and moves *p past it. */
static int parse_list_item(const char *s, const char **p, const char *end,
			   struct skl_port_range *range, struct skl_err *err)
{
	uint32_t lo, hi;

	if (!parse_port(p, end, &lo))
		return list_syntax_error(err, s, end, *p, "expected a port");
	hi = lo;
	if (*p < end && **p == '-') {
		(*p)++;
		if (!parse_port(p, end, &hi))
			return list_syntax_error(err, s, end, *p, "expected a port after '-'");
	}
	if (lo > hi)
		return list_syntax_error(err, s, end, *p, "a range ends below its start");
	*range = (struct skl_port_range){ .lo = (__u16)lo, .hi = (__u16)hi };
	return 0;
}

int skl_reserved_ports_parse(const char *s, struct skl_port_range **out, size_t *n,
			     struct skl_err *err)
{
	const char *p = s, *end = s + strlen(s);
	size_t count = 0, items = 1;

	while (end > s && is_space(end[-1]))
		end--;
	*out = NULL;
	*n = 0;
	if (p == end)
		return 0;
	for (const char *c = p; c < end; c++)
		items += *c == ',';
	if (skl_port_ranges_alloc(items, out, err) < 0)
		return -1;
	for (;;) {
		if (parse_list_item(s, &p, end, &(*out)[count], err) < 0)
			goto fail;
		count++;
		if (p == end)
			break;
		if (*p != ',') {
			list_syntax_error(err, s, end, p, "expected ',' or the end");
			goto fail;
		}
		p++;
	}
	skl_port_ranges_normalize(*out, &count);
	*n = count;
	return 0;
fail:
	free(*out);
	*out = NULL;
	return -1;
}

int skl_reserved_ports_format(const struct skl_port_range *v, size_t n, char **out,
			      struct skl_err *err)
{
	size_t cap = n * RANGE_TEXT_MAX + 1, used = 0;
	char *text = malloc(cap);

	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory formatting %zu port ranges",
				n);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "";

		if (v[i].lo == v[i].hi)
			used += (size_t)snprintf(text + used, cap - used, "%s%u", sep, v[i].lo);
		else
			used += (size_t)snprintf(text + used, cap - used, "%s%u-%u", sep, v[i].lo,
						 v[i].hi);
	}
	*out = text;
	return 0;
}

int skl_ephemeral_ports_parse(const char *s, uint16_t *lo, uint16_t *hi, struct skl_err *err)
{
	const char *p = s, *end = s + strlen(s);
	uint32_t first, last;

	while (p < end && is_space(*p))
		p++;
	if (!parse_port(&p, end, &first) || p == end || !is_space(*p))
		goto bad;
	while (p < end && is_space(*p))
		p++;
	if (!parse_port(&p, end, &last))
		goto bad;
	while (p < end && is_space(*p))
		p++;
	if (p != end || first > last)
		goto bad;
	*lo = (uint16_t)first;
	*hi = (uint16_t)last;
	return 0;
bad:
	return skl_errf(err, SKL_CNI_INTERNAL,
			EPHEMERAL_SYSCTL " \"%.64s\" is not a port range: expected two ports "
			"\"LOW HIGH\" with LOW <= HIGH",
			s);
}
