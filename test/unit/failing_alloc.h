/*
 * A counting allocator that fails one chosen call, for the allocation-failure
 * tests: it replaces malloc, calloc, realloc and free in the binary it is
 * linked into (forwarding to glibc's own), so only those tests link it.
 * Where another allocator wins (AddressSanitizer, valgrind) the replacement
 * is not in effect and failing_alloc_require() skips the test.
 */
#ifndef FAILING_ALLOC_H
#define FAILING_ALLOC_H

#include <stdbool.h>

extern long failing_alloc_live;  /* allocations not yet freed */
extern long failing_alloc_calls; /* allocation calls since arming */

/* Call n (counted from now) fails; 0: none. */
void failing_alloc_arm(long n);
/* Disarms; true when the armed failure was reached. */
bool failing_alloc_disarm(void);
/* cmocka group setup: probes once whether the replacement is in effect. */
int failing_alloc_group_setup(void **state);
/* Skips the running test where the replacement is not in effect. */
void failing_alloc_require(void);

#endif
