/*
 * Walking the state tree: bpffsRoot/NETWORK/CONTAINER/IFNAME, each level
 * opened from its parent's fd without following a symbolic link.
 */
#include "state.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_internal.h"

struct walk {
	int levels;
	unsigned flags;
	int (*fn)(const struct skl_state_visit *v, void *arg);
	void *arg;
	char path[PATH_MAX];
	char names[SKL_STATE_FROM_ROOT][NAME_MAX + 1];
	struct skl_state_visit visit;
};

static bool is_dir(DIR *d, const struct dirent *e)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_DIR;
	return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int walk_dir(struct walk *w, int fd, size_t path_len, int depth);

/* One entry of a directory depth levels below the start. */
static int walk_entry(struct walk *w, DIR *d, const struct dirent *e, size_t path_len, int depth)
{
	bool last = depth + 1 == w->levels;
	bool temporary = e->d_name[0] == SKL_BPFFS_DOT;
	int n, fd;

	if (skl_state_name_hidden(e->d_name) &&
	    !(last && temporary && (w->flags & SKL_STATE_WALK_TEMPORARIES)))
		return 0;
	n = snprintf(w->path + path_len, sizeof(w->path) - path_len, "/%s", e->d_name);
	if (n < 0 || (size_t)n >= sizeof(w->path) - path_len)
		return 0;
	snprintf(w->names[depth], sizeof(w->names[depth]), "%s", e->d_name);
	w->visit.name[depth] = w->names[depth];
	if (last) {
		if (!is_dir(d, e))
			return 0;
		w->visit.temporary = temporary;
		return w->fn(&w->visit, w->arg);
	}
	fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) /* not a directory, a link, or gone meanwhile */
		return 0;
	return walk_dir(w, fd, path_len + (size_t)n, depth + 1);
}

/* Walks the directory open at fd (its path in w->path, path_len long);
 * takes fd. */
static int walk_dir(struct walk *w, int fd, size_t path_len, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int stop = 0;

	if (!d) {
		close(fd);
		return 0;
	}
	while (!stop && (e = readdir(d))) {
		stop = walk_entry(w, d, e, path_len, depth);
		w->path[path_len] = '\0';
	}
	closedir(d);
	return stop;
}

int skl_state_walk(const char *start, int levels, unsigned flags,
		   int (*fn)(const struct skl_state_visit *v, void *arg), void *arg)
{
	struct walk w = { .levels = levels, .flags = flags, .fn = fn, .arg = arg };
	int n = snprintf(w.path, sizeof(w.path), "%s", start);
	int fd;

	if (levels < 1 || levels > SKL_STATE_FROM_ROOT || n < 0 || (size_t)n >= sizeof(w.path))
		return 0;
	/* "/" and a trailing '/' would double the separator in what we visit. */
	if (n > 1 && w.path[n - 1] == '/')
		w.path[--n] = '\0';
	w.visit.dir = w.path;
	fd = skl_state_open_dir_nofollow(start);
	return fd < 0 ? 0 : walk_dir(&w, fd, (size_t)n, 0);
}
