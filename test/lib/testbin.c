#include "testbin.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

const char *testbin_dir(void)
{
	static char dir[PATH_MAX];
	const char *build = getenv("SKL_BUILD");

	if (!dir[0] && !realpath(build && build[0] ? build : "build", dir))
		snprintf(dir, sizeof(dir), "%s", build && build[0] ? build : "build");
	return dir;
}

void testbin_path(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", testbin_dir(), rel);
}
