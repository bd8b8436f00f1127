/* A counting allocator that fails one chosen call (failing_alloc.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "failing_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define ALLOCATOR_REPLACED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCATOR_REPLACED 0
#endif
#endif
#ifndef ALLOCATOR_REPLACED
#define ALLOCATOR_REPLACED 1
#endif

/* ------------------------------------------------------------------------
 * A counting allocator with one injected failure
 */

long failing_alloc_live;
long failing_alloc_calls;
static long fail_at;      /* the call that fails, 0: none */

#if ALLOCATOR_REPLACED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static bool injected_failure(void)
{
	if (fail_at && ++failing_alloc_calls == fail_at) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *malloc(size_t size)
{
	void *p = injected_failure() ? NULL : __libc_malloc(size);

	failing_alloc_live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = injected_failure() ? NULL : __libc_calloc(n, size);

	failing_alloc_live += p != NULL;
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	if (injected_failure())
		return NULL;
	p = __libc_realloc(old, size);
	failing_alloc_live += (p != NULL) - (old != NULL);
	return p;
}

void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * size);
}

void free(void *p)
{
	failing_alloc_live -= p != NULL;
	__libc_free(p);
}
#endif

void failing_alloc_arm(long n)
{
	failing_alloc_calls = 0;
	fail_at = n;
}

/* True when the armed failure was reached. */
bool failing_alloc_disarm(void)
{
	bool reached = fail_at && failing_alloc_calls >= fail_at;

	fail_at = 0;
	return reached;
}

/* Whether every entry point of the replacement is the one in use: probed
 * once, because valgrind intercepts some of them in the executable. */
static bool replacement_works;

static bool probe_replacement(void)
{
	/* through volatile pointers, so the compiler cannot elide the failing_alloc_calls */
	void *(*volatile do_malloc)(size_t) = malloc;
	void *(*volatile do_calloc)(size_t, size_t) = calloc;
	void *(*volatile do_realloc)(void *, size_t) = realloc;
	void (*volatile do_free)(void *) = free;
	long live_before = failing_alloc_live;
	void *p, *q, *r;

	failing_alloc_arm(1);
	p = do_malloc(1);
	failing_alloc_arm(1);
	q = do_calloc(1, 1);
	failing_alloc_arm(1);
	r = do_realloc(NULL, 1);
	fail_at = 0;
	if (p || q || r) {
		do_free(p);
		do_free(q);
		do_free(r);
		return false;
	}
	p = do_malloc(1);
	if (failing_alloc_live != live_before + 1) {
		do_free(p);
		return false;
	}
	do_free(p);
	return failing_alloc_live == live_before;
}

int failing_alloc_group_setup(void **state)
{
	(void)state;
	replacement_works = ALLOCATOR_REPLACED && probe_replacement();
	if (!replacement_works)
		print_message("allocator replacement not in effect here: skipping\n");
	return 0;
}

void failing_alloc_require(void)
{
	if (!replacement_works)
		skip();
}

