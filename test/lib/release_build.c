#include "release_build.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testbin.h"

/* A make started by a test must not join the jobserver of a make that ran the tests. */
#define MAKE "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2"

int release_sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

int release_source_tree(char *out, size_t len)
{
	char cmd[4200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse --show-toplevel 2>/dev/null",
		 testbin_dir());
	p = popen(cmd, "r");
	if (!p || !fgets(out, (int)len, p)) {
		if (p)
			pclose(p);
		fprintf(stderr, "%s is in no git checkout: the upgrade tests build the previous "
			"release from git history\n", testbin_dir());
		return -1;
	}
	pclose(p);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

int release_build_commit(const char *tree, const char *commit, struct release_bins *out)
{
	char dir[4000], tmp[] = "/tmp/sklt-release-XXXXXX";
	int ret;

	snprintf(dir, sizeof(dir), "%.3900s/build/release-%.40s", tree, commit);
	snprintf(out->plugin, sizeof(out->plugin), "%s/sklookup", dir);
	snprintf(out->ctl, sizeof(out->ctl), "%s/sklookup-ctl", dir);
	if (executable(out->plugin) && executable(out->ctl))
		return 0;
	if (release_sh("git -C '%s' cat-file -e '%s^{commit}' 2>/dev/null", tree, commit)) {
		bool shallow = !release_sh(
			"test \"$(git -C '%s' rev-parse --is-shallow-repository)\" = true", tree);

		fprintf(stderr, "the release of commit %s is not in the history of %s%s: the "
			"upgrade tests build it from git; clone with full history (git fetch "
			"--unshallow)\n", commit, tree, shallow ? " (a shallow clone)" : "");
		return -1;
	}
	if (!mkdtemp(tmp))
		return -1;
	rmdir(tmp); /* git worktree add makes it */
	ret = release_sh("git -C '%s' worktree add --quiet --detach '%s' '%s'", tree, tmp,
			 commit) ||
	      release_sh(MAKE " -C '%s' build/sklookup build/sklookup-ctl >/dev/null", tmp) ||
	      release_sh("mkdir -p '%s' && cp '%s/build/sklookup' '%s/build/sklookup-ctl' '%s/'",
			 dir, tmp, tmp, dir);
	release_sh("git -C '%s' worktree remove --force '%s' 2>/dev/null; rm -rf '%s'; "
		   "git -C '%s' worktree prune", tree, tmp, tmp, tree);
	if (ret)
		fprintf(stderr, "building the release of commit %s failed\n", commit);
	return ret ? -1 : 0;
}

int release_build_alt_layout(const char *tree, struct release_bins *out)
{
	char dir[4000];

	snprintf(dir, sizeof(dir), "%.3900s/layout-alt", testbin_dir());
	snprintf(out->plugin, sizeof(out->plugin), "%s/sklookup", dir);
	snprintf(out->ctl, sizeof(out->ctl), "%s/sklookup-ctl", dir);
	/* Sanitized like the suite's own build, when that one is. */
	if (release_sh(MAKE " -C '%s' LAYOUT_ALT=1 %s BUILD='%s' '%s' '%s' >/dev/null", tree,
		       strstr(testbin_dir(), "build-san") ? "SANITIZE=1" : "", dir, out->plugin,
		       out->ctl)) {
		fprintf(stderr, "building the LAYOUT_ALT=1 variant failed\n");
		return -1;
	}
	return 0;
}
