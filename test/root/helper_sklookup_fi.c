/*
 * The sklookup plugin with fault injection, for tests only: with
 * SKLOOKUP_FAIL_STEP=N in the environment, ADD fails right after step N
 * (enum skl_add_step) took effect, so a test can prove ADD undoes it; with
 * SKLOOKUP_KILL_STEP=N the process is killed (SIGKILL) there instead, so a
 * test can prove DEL and the next ADD clean up after it. The plugin binary
 * itself has no such switch.
 */
#include <signal.h>
#include <stdlib.h>

#include "cni.h"

static int fail_step, kill_step;

static int fail_at(int step)
{
	if (step == kill_step)
		raise(SIGKILL);
	return step == fail_step;
}

int main(int argc, char **argv)
{
	const char *fail = getenv("SKLOOKUP_FAIL_STEP"), *kill = getenv("SKLOOKUP_KILL_STEP");

	if (fail || kill) {
		fail_step = fail ? atoi(fail) : 0;
		kill_step = kill ? atoi(kill) : 0;
		skl_cni_fault_hook = fail_at;
	}
	return skl_cni_main(argc, argv);
}
