/*
 * Putting sklookup on a node (sklookup-ctl install and uninstall): bpffs
 * mounted, the static binaries copied into the CNI bin directory, the
 * sklookup entry merged into the CNI config file the runtime reads. Every
 * file is replaced by rename() of a complete, fsynced temporary file in the
 * same directory (".sklookup-XXXXXX.tmp": hidden, and not a config
 * extension), so a runtime reading it meanwhile sees the old content or the
 * new one; a file whose content would not change is not written. Nothing
 * here prints: results come back in the structs below, failures in struct
 * skl_err naming the path and the fix.
 */
#ifndef SKL_INSTALL_H
#define SKL_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "skl_error.h"

/* The binaries installed, in this order (the plugin first: a config naming
 * it must never be written before it is in place). */
extern const char *const skl_install_binaries[2];

/* The entry used when none is given: annotations allowed on the pod's own
 * addresses and ports (the plugin's defaults). */
#define SKL_INSTALL_DEFAULT_ENTRY                                                      \
	"{\"type\": \"sklookup\", \"capabilities\": {\"io.kubernetes.cri.pod-annotations\": " \
	"true}, \"annotations\": {\"allow\": true}}"

/* The largest config file read (bytes) and the largest binary copied. */
#define SKL_INSTALL_CONF_MAX (1 << 20)
#define SKL_INSTALL_BINARY_MAX (256 << 20)

/* --- atomic files (install_atomic.c) --- */

/* data as path: a temporary file in path's directory, written, chmod mode,
 * fsync, rename() over path, fsync of the directory. On failure path is as
 * it was and no temporary file is left. what names the option that chose
 * the directory, for the message ("--cni-conf-dir"). */
int skl_install_put(const char *path, const void *data, size_t len, mode_t mode, const char *what,
		    struct skl_err *err);

/* The whole of a regular file (not a symbolic link) of at most max bytes,
 * NUL-terminated (*len without the NUL); the caller frees *data. */
int skl_install_read(const char *path, size_t max, char **data, size_t *len, mode_t *mode,
		     struct skl_err *err);

/* 0 if dir is a directory; else an error naming the option and the fix. */
int skl_install_check_dir(const char *dir, const char *what, const char *host_path,
			  struct skl_err *err);

/* --- bpffs (install_bpffs.c) --- */

/* Mounts bpffs at dir (mode 0700, made if missing) unless one is mounted
 * there; *mounted says whether this call mounted it. */
int skl_install_bpffs(const char *dir, bool *mounted, struct skl_err *err);

/* --- binaries (install_binaries.c) --- */

/* from/name into bin_dir/name, mode 0755, unless it is there already with
 * the same content (*changed false). */
int skl_install_binary(const char *from, const char *bin_dir, const char *name, bool *changed,
		       struct skl_err *err);

/* Removes bin_dir/name; *removed false when there was none. */
int skl_install_remove_binary(const char *bin_dir, const char *name, bool *removed,
			      struct skl_err *err);

/* Runs the plugin at path with CNI_COMMAND=VERSION (at most 5 s) and gives
 * its answer, compact, in out: a plugin that does not run on this node
 * shows here, before any pod needs it. */
int skl_install_plugin_version(const char *path, char *out, size_t size, struct skl_err *err);

/* --- the sklookup entry and the conflist (install_entry.c, install_merge.c) --- */

/* Parses the entry to install: a JSON object with "type": "sklookup". where
 * names its origin for messages (e.g. "--entry-file /etc/x.json"). */
cJSON *skl_install_entry_parse(const char *text, const char *where, struct skl_err *err);

/* Puts a copy of entry into the conflist's "plugins": in place of the first
 * sklookup entry (dropping any other), or at the end. */
int skl_install_conflist_put(cJSON *conflist, const cJSON *entry, const char *where,
			     struct skl_err *err);

/* Removes every sklookup entry from the conflist's "plugins"; the number
 * removed, or -1. */
int skl_install_conflist_drop(cJSON *conflist, const char *where, struct skl_err *err);

/* A single-plugin config as a conflist: {cniVersion, name, plugins: [the
 * rest]}. A new document, or NULL. */
cJSON *skl_install_conf_to_conflist(const cJSON *conf, const char *where, struct skl_err *err);

/* --- the CNI config directory (install_confdir.c, install_config.c) --- */

/* The file a runtime reads: the first in byte order of the directory's
 * entries that are not directories and end in .conf, .conflist or .json
 * (libcni's ConfFiles, then sort.Strings, as containerd and CRI-O do).
 * 0 with its name, 1 when there is none, -1 on error. */
int skl_install_first_config(const char *conf_dir, char *name, size_t size, struct skl_err *err);

/* The name under which a converted .conf/.json is kept: ".NAME.sklookup-orig"
 * (hidden, and no config extension: no runtime reads it). */
#define SKL_INSTALL_ORIG_SUFFIX ".sklookup-orig"

struct skl_install_config {
	char file[256];   /* the first config file, as found */
	char target[256]; /* the file that has the entry (file, or NAME.conflist) */
	bool changed;     /* target was written */
	bool converted;   /* file was a .conf/.json, now .FILE.sklookup-orig */
};

/* Merges entry into the first config file of conf_dir (see the top of this
 * file); a .conf/.json becomes NAME.conflist, the original kept as
 * .FILE.sklookup-orig. Refuses a file that is a symbolic link. */
int skl_install_config(const char *conf_dir, const cJSON *entry, struct skl_install_config *out,
		       struct skl_err *err);

struct skl_install_unconfig {
	char file[256];   /* the first config file, "" when there is none */
	bool changed;     /* sklookup entries were removed from it */
	bool restored;    /* it was converted by install: the original is back */
	char original[256]; /* then: the original's name (NAME.conf or NAME.json) */
};

/* Undoes skl_install_config: removes the sklookup entries of the first
 * config file; when that file is a conversion whose other plugins are as
 * install left them, puts the original .conf/.json back instead. */
int skl_install_unconfig(const char *conf_dir, struct skl_install_unconfig *out,
			 struct skl_err *err);

#endif
