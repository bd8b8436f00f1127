/* One socket more for register (pod_sources.h). */
#include "pod_sources.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int skl_sources_add(struct skl_sources *s, int fd, bool owned, int user_fd, struct skl_err *err,
		    const char *fmt, ...)
{
	struct skl_source *src;
	va_list ap;

	if (s->n == SKL_SOCKET_SLOTS) {
		if (owned)
			close(fd);
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"more than %d sockets for one label; it holds one per protocol "
				"(tcp, udp) and family (IPv4, IPv6)",
				SKL_SOCKET_SLOTS);
	}
	src = &s->v[s->n++];
	memset(src, 0, sizeof(*src));
	src->fd = fd;
	src->owned = owned;
	src->user_fd = user_fd;
	va_start(ap, fmt);
	vsnprintf(src->name, sizeof(src->name), fmt, ap);
	va_end(ap);
	return 0;
}
