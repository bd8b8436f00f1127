/* sklookup-ctl install and uninstall: their options, shared by
 * ctl_install.c (the steps) and ctl_install_options.c (parsing them). */
#ifndef SKL_CTL_INSTALL_H
#define SKL_CTL_INSTALL_H

#include <limits.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "install.h"
#include "skl_error.h"

/* Where the DaemonSet mounts the host's directories. */
#define DEFAULT_BIN_DIR "/host/opt/cni/bin"
#define DEFAULT_CONF_DIR "/host/etc/cni/net.d"
#define DEFAULT_BPFFS "/sys/fs/bpf"
#define MAX_SECONDS 86400 /* --wait, --watch */

enum step { STEP_BPFFS, STEP_BINARIES, STEP_CONFIG };
#define N_STEPS 3
#define MAX_STEPS 16

struct install_opts {
	const char *from, *bin_dir, *conf_dir, *bpffs, *entry_text, *entry_file;
	long wait_s, watch_s;
	bool uninstall_on_exit;
	enum step steps[MAX_STEPS];
	int n_steps;
	char from_buf[PATH_MAX];
	cJSON *entry;
};

/* Options of install (all) and uninstall (the two directories). */
int skl_install_parse_options(int argc, char **argv, bool install, struct install_opts *o,
			      struct skl_err *err);

/* --entry, --entry-file or the default into o->entry, checked before any
 * step runs. */
int skl_install_load_entry(struct install_opts *o, struct skl_err *err);

#endif
