/*
 * --version of sklookup and sklookup-ctl: one line, "NAME RELEASE (git
 * COMMIT)", the release being the file VERSION and the whole text the one
 * make compiled into this test (the same build's version.o), and the CNI
 * VERSION answer still the spec's JSON, with no release in it. Runs the
 * binaries of SKL_BUILD (default build/) from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "testbin.h"
#include "version.h"

/* Runs "<build>/<bin> <args>" with a shell, returns its exit status and
 * stdout and stderr in out. */
static int run(const char *env, const char *bin, const char *args, char *out, size_t len)
{
	char path[4096], cmd[8192];
	size_t n;
	FILE *p;
	int status;

	testbin_path(path, sizeof(path), bin);
	snprintf(cmd, sizeof(cmd), "%s '%s' %s </dev/null 2>&1", env, path, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void read_release(char *out, size_t len)
{
	FILE *f = fopen("VERSION", "r");

	assert_non_null(f);
	assert_non_null(fgets(out, (int)len, f));
	fclose(f);
	out[strcspn(out, "\n")] = 0;
	assert_true(out[0] != 0);
}

static void assert_version_line(const char *name, const char *out)
{
	char release[64], expected[256];

	read_release(release, sizeof(release));
	snprintf(expected, sizeof(expected), "%s %s (git ", name, release);
	if (strncmp(out, expected, strlen(expected)))
		fail_msg("<%s> does not start with <%s>", out, expected);
	snprintf(expected, sizeof(expected), "%s %s\n", name, skl_version);
	if (strcmp(out, expected))
		fail_msg("<%s> is not <%s> (this build's version)", out, expected);
}

static void plugin_version(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(run("", "sklookup", "--version", out, sizeof(out)), 0);
	assert_version_line("sklookup", out);
	/* A runtime's CNI_COMMAND does not change it. */
	assert_int_equal(run("CNI_COMMAND=ADD", "sklookup", "--version", out, sizeof(out)), 0);
	assert_version_line("sklookup", out);
}

static void ctl_version(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(run("", "sklookup-ctl", "--version", out, sizeof(out)), 0);
	assert_version_line("sklookup-ctl", out);
	/* A global option, like --help: beside the others, before a command. */
	assert_int_equal(run("", "sklookup-ctl", "--json --version status", out, sizeof(out)), 0);
	assert_version_line("sklookup-ctl", out);
}

static void help_names_version(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(run("", "sklookup", "--help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--version"));
	assert_int_equal(run("", "sklookup-ctl", "--help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--version"));
}

/* The CNI VERSION command answers the spec's JSON only: the release is not
 * a CNI version. */
static void cni_version_is_the_spec_answer(void **state)
{
	static const char expected[] = "{\n"
				       "\t\"cniVersion\":\t\"1.1.0\",\n"
				       "\t\"supportedVersions\":\t[\"0.3.0\", \"0.3.1\", \"0.4.0\", "
				       "\"1.0.0\", \"1.1.0\"]\n"
				       "}\n";
	char out[1024];

	(void)state;
	assert_int_equal(run("CNI_COMMAND=VERSION", "sklookup", "", out, sizeof(out)), 0);
	assert_string_equal(out, expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plugin_version),
		cmocka_unit_test(ctl_version),
		cmocka_unit_test(help_names_version),
		cmocka_unit_test(cni_version_is_the_spec_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
