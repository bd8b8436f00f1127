/* Root-test helper: builds of other releases for the upgrade tests. The
 * previous release comes from git history (a worktree of a commit in a
 * temporary directory, only its two binaries built, kept in the tree's
 * build/ for the next run); this release with another map layout from the
 * tree itself (make LAYOUT_ALT=1, sanitized when the suite's build is). */
#ifndef SKL_TEST_RELEASE_BUILD_H
#define SKL_TEST_RELEASE_BUILD_H

#include <stddef.h>

/* A release's two binaries. */
struct release_bins {
	char plugin[4096], ctl[4096];
};

/* Runs a printf-formatted shell command: its exit status, -1 if it did not exit. */
int release_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The source tree: the git checkout SKL_BUILD's directory is in; -1 (with a
 * message on stderr) when it is in none. */
int release_source_tree(char *out, size_t len);

/* The release of commit (a name git knows) built from tree's history; -1
 * with a message on stderr naming the cause (no such commit, a shallow
 * clone, a failed build). */
int release_build_commit(const char *tree, const char *commit, struct release_bins *out);

/* tree built with LAYOUT_ALT=1 into SKL_BUILD's directory/layout-alt. */
int release_build_alt_layout(const char *tree, struct release_bins *out);

#endif
