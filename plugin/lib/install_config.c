/* The config step and its undoing, on the CNI config directory: the entry
 * goes into the first config file only (the one the runtime reads), which
 * is rewritten only when its content changes. */
#include "install.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const conf_exts[] = { ".conf", ".json" };

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* dir/name into out. */
static int path_in(char *out, size_t size, const char *dir, const char *name, struct skl_err *err)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s/%s: path too long", dir, name);
	return 0;
}

/* The first config file, read and parsed: 1 when there is none. */
static int read_first(const char *conf_dir, char *name, size_t size, char *path, size_t path_size,
		      cJSON **doc, mode_t *mode, struct skl_err *err)
{
	const char *end = NULL;
	struct stat st;
	size_t len;
	char *text;
	int rc;

	*doc = NULL;
	if (skl_install_check_dir(conf_dir, "--cni-conf-dir", "/etc/cni/net.d", err))
		return -1;
	rc = skl_install_first_config(conf_dir, name, size, err);
	if (rc)
		return rc;
	if (path_in(path, path_size, conf_dir, name, err))
		return -1;
	/* Replacing a link by rename() would cut it from what it points to,
	 * and writing through it could write anywhere on the host. */
	if (!lstat(path, &st) && S_ISLNK(st.st_mode))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s is a symbolic link, which sklookup does not write through: "
				"make it a regular file (the runtime reads this file first), or add "
				"the sklookup entry to its target by hand", path);
	if (skl_install_read(path, SKL_INSTALL_CONF_MAX, &text, &len, mode, err))
		return -1;
	*doc = cJSON_ParseWithOpts(text, &end, true);
	if (!*doc)
		skl_errf(err, SKL_CNI_DECODE_FAILURE,
			 "%s: not valid JSON (near \"%.24s\"); fix or remove the file (it is the "
			 "first config file, the one the runtime reads)", path, end ? end : "");
	free(text); /* after the message: end points into it */
	return *doc ? 0 : -1;
}

static int write_doc(const char *path, const cJSON *doc, mode_t mode, struct skl_err *err)
{
	char *text = cJSON_Print(doc);
	size_t len;
	int rc;

	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	len = strlen(text);
	text[len] = '\n'; /* over the NUL: cJSON_Print's buffer ends there */
	rc = skl_install_put(path, text, len + 1, mode, "--cni-conf-dir", err);
	free(text);
	return rc;
}

/* .NAME.sklookup-orig for a config file NAME. */
static int orig_path(char *out, size_t size, const char *conf_dir, const char *name,
		     struct skl_err *err)
{
	if ((size_t)snprintf(out, size, "%s/.%s" SKL_INSTALL_ORIG_SUFFIX, conf_dir, name) >= size)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s/%s: path too long", conf_dir, name);
	return 0;
}

int skl_install_config(const char *conf_dir, const cJSON *entry, struct skl_install_config *out,
		       struct skl_err *err)
{
	char path[PATH_MAX], target[PATH_MAX], orig[PATH_MAX];
	cJSON *doc = NULL, *list = NULL, *before = NULL;
	bool target_existed;
	struct stat st;
	mode_t mode;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	rc = read_first(conf_dir, out->file, sizeof(out->file), path, sizeof(path), &doc, &mode, err);
	if (rc == 1)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"no CNI config (*.conf, *.conflist, *.json) in %s: install the pod "
				"network first (or give --wait SECONDS)", conf_dir);
	if (rc)
		return -1;
	rc = -1;
	out->converted = !ends_with(out->file, ".conflist");
	if (out->converted) {
		list = skl_install_conf_to_conflist(doc, path, err);
		if (!list)
			goto out;
		/* NAME.conf -> NAME.conflist, which sorts right after it. */
		snprintf(out->target, sizeof(out->target), "%.*s.conflist",
			 (int)(strrchr(out->file, '.') - out->file), out->file);
	} else {
		list = doc;
		doc = NULL;
		before = cJSON_Duplicate(list, true);
		if (!before) {
			skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
			goto out;
		}
		snprintf(out->target, sizeof(out->target), "%s", out->file);
	}
	if (skl_install_conflist_put(list, entry, path, err))
		goto out;
	if (before && cJSON_Compare(before, list, true)) {
		rc = 0; /* already there: not written, same inode */
		goto out;
	}
	if (path_in(target, sizeof(target), conf_dir, out->target, err) ||
	    orig_path(orig, sizeof(orig), conf_dir, out->file, err))
		goto out;
	target_existed = !lstat(target, &st);
	if (write_doc(target, list, mode, err))
		goto out;
	out->changed = true;
	if (out->converted && rename(path, orig)) {
		/* The .conf still sorts first and the runtime reads it; take the
		 * new file back unless it replaced one (a conversion of an
		 * earlier run, now up to date). */
		skl_errf(err, SKL_CNI_IO_FAILURE, "cannot move %s aside to %s: %s; %s", path, orig,
			 strerror(errno),
			 target_existed ? "the runtime still reads it" : "nothing changed");
		if (!target_existed)
			unlink(target);
		out->changed = false;
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(before);
	cJSON_Delete(list);
	cJSON_Delete(doc);
	return rc;
}

/* When file NAME.conflist is install's conversion of NAME.conf (or .json),
 * kept as .NAME.conf.sklookup-orig, and holds nothing else than it did
 * then (list, sklookup taken out): puts the original back. 1 if it did. */
static int restore_original(const char *conf_dir, const char *file, const cJSON *list,
			    char *original, size_t size, struct skl_err *err)
{
	char stem[256], name[300], orig[PATH_MAX], back[PATH_MAX], path[PATH_MAX];

	snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(file) - strlen(".conflist")), file);
	for (size_t i = 0; i < sizeof(conf_exts) / sizeof(conf_exts[0]); i++) {
		cJSON *conf, *was;
		struct stat st;
		size_t len;
		char *text;
		bool same;

		snprintf(name, sizeof(name), "%s%s", stem, conf_exts[i]);
		if (orig_path(orig, sizeof(orig), conf_dir, name, err) ||
		    path_in(back, sizeof(back), conf_dir, name, err) ||
		    path_in(path, sizeof(path), conf_dir, file, err))
			return -1;
		if (lstat(orig, &st) || !S_ISREG(st.st_mode))
			continue;
		if (skl_install_read(orig, SKL_INSTALL_CONF_MAX, &text, &len, NULL, NULL))
			continue;
		conf = cJSON_Parse(text);
		free(text);
		was = conf ? skl_install_conf_to_conflist(conf, orig, NULL) : NULL;
		same = was && cJSON_Compare(was, list, true);
		cJSON_Delete(was);
		cJSON_Delete(conf);
		if (!same)
			continue;
		/* The original first: it sorts before NAME.conflist, so the
		 * runtime reads it from this moment on. */
		if (rename(orig, back))
			return skl_errf(err, SKL_CNI_IO_FAILURE, "cannot put %s back as %s: %s", orig,
					back, strerror(errno));
		if (unlink(path))
			return skl_errf(err, SKL_CNI_IO_FAILURE,
					"%s is back, but %s cannot be removed: %s; remove it", back,
					path, strerror(errno));
		snprintf(original, size, "%.*s", (int)size - 1, name);
		return 1;
	}
	return 0;
}

int skl_install_unconfig(const char *conf_dir, struct skl_install_unconfig *out,
			 struct skl_err *err)
{
	char path[PATH_MAX];
	cJSON *doc = NULL;
	mode_t mode;
	int rc, dropped;

	memset(out, 0, sizeof(*out));
	if (skl_install_check_dir(conf_dir, "--cni-conf-dir", "/etc/cni/net.d", err))
		return -1;
	/* Only a .conflist can have the entry: install writes no other. */
	rc = skl_install_first_config(conf_dir, out->file, sizeof(out->file), err);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (!ends_with(out->file, ".conflist"))
		return 0;
	rc = read_first(conf_dir, out->file, sizeof(out->file), path, sizeof(path), &doc, &mode, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	dropped = skl_install_conflist_drop(doc, path, err);
	rc = dropped < 0 ? -1 : restore_original(conf_dir, out->file, doc, out->original,
								 sizeof(out->original), err);
	if (rc > 0) {
		out->changed = out->restored = true;
		rc = 0;
	} else if (rc == 0 && dropped > 0) {
		rc = write_doc(path, doc, mode, err);
		out->changed = !rc;
	}
	cJSON_Delete(doc);
	return rc;
}
