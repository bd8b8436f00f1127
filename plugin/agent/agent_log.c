/* The node agent's log line and clock (agent_log.h). */
#include "agent_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void skl_agent_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sklookup-ctl agent: %s\n", line);
}

uint64_t skl_agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
