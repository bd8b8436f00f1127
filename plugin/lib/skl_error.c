#include "skl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int skl_errf(struct skl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void skl_err_prefix(struct skl_err *err, const char *fmt, ...)
{
	char head[256], old[sizeof(err->msg)], joined[sizeof(head) + sizeof(old) + 2];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(joined, sizeof(joined), "%s: %s", head, old);
	snprintf(err->msg, sizeof(err->msg), "%.*s", (int)sizeof(err->msg) - 1, joined);
}
