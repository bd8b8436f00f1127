/*
 * The node agent's log and clock, at the bottom of its files: the loop, the
 * reaper and the releaser all log, and none of them may need another for it.
 */
#ifndef SKL_AGENT_LOG_H
#define SKL_AGENT_LOG_H

#include <stdint.h>

/* One line on stderr, prefixed "sklookup-ctl agent: ". */
void skl_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Milliseconds since boot (CLOCK_BOOTTIME): deadlines, rates and the grace
 * of detached pods go on across a suspend. */
uint64_t skl_agent_now_ms(void);

#endif
