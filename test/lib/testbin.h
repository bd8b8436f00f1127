/* Where root tests find the binaries they run: the build directory named by
 * SKL_BUILD ("build" by default; "build-san" runs every suite against the
 * ASan+UBSan binaries). */
#ifndef SKL_TEST_TESTBIN_H
#define SKL_TEST_TESTBIN_H

#include <stddef.h>

/* The build directory, absolute. */
const char *testbin_dir(void);

/* <build directory>/<rel>, e.g. testbin_path(buf, len, "sklookup-ctl"). */
void testbin_path(char *out, size_t len, const char *rel);

#endif
