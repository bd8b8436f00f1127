#include "spare.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch_abi.h"
#include "state.h"

/* A spare's name starts with its layout and limits; what follows makes it
 * unique. Spares of another layout or other limits are never taken. */
static int name_prefix(char *buf, size_t len, const struct skl_limits *l)
{
	int n = snprintf(buf, len, "v%u-%u-%u-%u-", SKL_ABI_VERSION, l->bindings, l->labels,
			 l->port_ranges);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int spare_dir(char *buf, size_t len, const char *root)
{
	int n = snprintf(buf, len, "%s/" SKL_SPARE_DIR, root);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int skl_spare_make(const char *root, const struct skl_limits *l, struct skl_err *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], prefix[64];
	struct skl_dispatcher d;
	int ret = -1;

	if (spare_dir(dir, sizeof(dir), root) || name_prefix(prefix, sizeof(prefix), l) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/:new-XXXXXX", dir) >= sizeof(tmp))
		return skl_errf(err, SKL_CNI_INTERNAL, "spare path under %s too long", root);
	/* As ADD does for root (it mounts bpffs at root's parent if need be),
	 * then the spare directory in it. */
	if (skl_bpffs_ensure(root, err))
		return -1;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot create %s: %s", dir,
				strerror(errno));
	if (!mkdtemp(tmp))
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot create a directory in %s: %s", dir,
				strerror(errno));
	/* The netns cookie is written when an ADD takes it. */
	if (skl_dispatcher_load(&d, l, 0, err))
		goto out;
	if (skl_dispatcher_pin(&d, tmp, err))
		goto out_close;
	/* The unique part: the :new- directory's own random suffix. */
	if ((size_t)snprintf(final, sizeof(final), "%s/%s%s", dir, prefix,
			     tmp + strlen(tmp) - 6) >= sizeof(final) ||
	    rename(tmp, final)) {
		skl_errf(err, SKL_CNI_INTERNAL, "cannot publish the spare %s: %s", tmp,
			 strerror(errno));
		goto out_close;
	}
	tmp[0] = 0;
	ret = 0;
out_close:
	skl_dispatcher_close(&d);
out:
	if (tmp[0] && strstr(tmp, "/:new-"))
		skl_state_remove_dir(tmp, NULL);
	return ret;
}

int skl_spare_each(const char *root, const struct skl_limits *l,
		      int (*fn)(const char *path, void *arg), void *arg)
{
	char dir[PATH_MAX], prefix[64] = "";
	struct dirent *e;
	DIR *d;
	int ret = 0;

	if (spare_dir(dir, sizeof(dir), root) || (l && name_prefix(prefix, sizeof(prefix), l)))
		return 0;
	d = opendir(dir);
	while (d && !ret && (e = readdir(d))) {
		char path[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (l && strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		ret = fn(path, arg);
	}
	if (d)
		closedir(d);
	return ret;
}

static int count_one(const char *path, void *arg)
{
	(void)path;
	++*(int *)arg;
	return 0;
}

int skl_spare_count(const char *root, const struct skl_limits *l)
{
	int n = 0;

	skl_spare_each(root, l, count_one, &n);
	return n;
}

struct take {
	const char *into;
	int errnum;
};

/* 1 when taken; 0 to try the next (another ADD took this one first). */
static int take_one(const char *path, void *arg)
{
	struct take *t = arg;

	if (!rename(path, t->into))
		return 1;
	if (errno == ENOENT)
		return 0;
	t->errnum = errno;
	return -1;
}

int skl_spare_take(const char *root, const struct skl_limits *l, const char *into,
		   struct skl_err *err)
{
	struct take t = { .into = into };
	int ret = skl_spare_each(root, l, take_one, &t);

	if (ret < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "taking a spare dispatcher under %s: %s",
				root, strerror(t.errnum));
	return ret;
}

/* Takes the spare away first, as an ADD would, so that an ADD never opens
 * a half-removed one; leftovers (hidden ':' names) are the agent's own. */
static int remove_one(const char *path, void *arg)
{
	const char *name = skl_state_last_component(path);
	char gone[PATH_MAX];

	(void)arg;
	if (!skl_state_name_hidden(name) &&
	    (size_t)snprintf(gone, sizeof(gone), "%.*s:gone-%s", (int)(name - path), path, name) <
		    sizeof(gone) &&
	    !rename(path, gone))
		path = gone;
	skl_state_remove_dir(path, NULL);
	return 0;
}

void skl_spare_clear(const char *root)
{
	char dir[PATH_MAX];

	skl_spare_each(root, NULL, remove_one, NULL);
	if (!spare_dir(dir, sizeof(dir), root))
		rmdir(dir);
}
