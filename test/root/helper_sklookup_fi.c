/*
 * The sklookup plugin with fault injection, for tests only: with
 * SKLOOKUP_FAIL_STEP=N in the environment, ADD fails right after step N
 * (enum skl_add_step) took effect, so a test can prove ADD undoes it. The
 * plugin binary itself has no such switch.
 */
#include <stdlib.h>

#include "cni.h"

static int fail_step;

static int fail_at(int step)
{
	return step == fail_step;
}

int main(int argc, char **argv)
{
	const char *step = getenv("SKLOOKUP_FAIL_STEP");

	if (step) {
		fail_step = atoi(step);
		skl_cni_fault_hook = fail_at;
	}
	return skl_cni_main(argc, argv);
}
