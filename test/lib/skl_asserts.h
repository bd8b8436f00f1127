/* Assertions on skl_err results shared by the tests. Include after
 * <cmocka.h>. */
#ifndef SKL_TEST_ASSERTS_H
#define SKL_TEST_ASSERTS_H

#include <string.h>

#include "skl_error.h"

/* rc must be 0; otherwise the failure shows the call and err's message. */
#define assert_ok(rc, err)                                                   \
	do {                                                                 \
		if ((rc) != 0)                                               \
			fail_msg("%s failed: %s", #rc, (err).msg);           \
	} while (0)

static inline void assert_msg_contains(const struct skl_err *err, const char *part)
{
	if (!strstr(err->msg, part))
		fail_msg("error message <%s> lacks <%s>", err->msg, part);
}

#endif
