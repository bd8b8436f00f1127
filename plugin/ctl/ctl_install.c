/* sklookup-ctl install and uninstall: put sklookup on a node and take it off
 * (install.h does the work). Needs nothing but this static binary, so the
 * node image can be FROM scratch. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_install.h"
#include "install.h"

static const char install_help[] =
	"usage: sklookup-ctl install [--from DIR] [--cni-bin-dir DIR] [--cni-conf-dir DIR]\n"
	"                            [--bpffs DIR] [--entry JSON | --entry-file FILE]\n"
	"                            [--wait SECONDS] [--watch SECONDS [--uninstall-on-exit]]\n"
	"                            [STEP...]\n"
	"\n"
	"Puts sklookup on a Kubernetes node (the DaemonSet's init container runs it;\n"
	"it runs by hand on a node too). It needs nothing but this binary. The steps,\n"
	"in the order given (default: bpffs binaries config):\n"
	"\n"
	"  bpffs     mount bpffs (mode 0700) at --bpffs unless one is mounted there.\n"
	"            In the DaemonSet the host's /sys/fs/bpf is mounted with\n"
	"            Bidirectional propagation, so the mount appears on the host,\n"
	"            where the plugin pins each pod's state.\n"
	"  binaries  copy sklookup and sklookup-ctl from --from into --cni-bin-dir:\n"
	"            each to a temporary file in that directory, fsync, rename() over\n"
	"            the old one, so a runtime starting the plugin meanwhile runs the\n"
	"            old binary or the new one. An identical binary is left alone.\n"
	"            Then the plugin is asked for its VERSION, as a runtime would.\n"
	"  config    add the sklookup entry to the lexically first config file in\n"
	"            --cni-conf-dir (*.conf, *.conflist, *.json, hidden ones too, in\n"
	"            byte order, as libcni lists them): containerd and CRI-O read only\n"
	"            that one. An existing sklookup entry is replaced in place, never\n"
	"            duplicated; the file is written only when its content changes\n"
	"            (temporary file, fsync, rename(), its mode kept). A single-plugin\n"
	"            .conf or .json becomes a .conflist of the same name (the plugin,\n"
	"            then sklookup), the original kept as .NAME.sklookup-orig, which no\n"
	"            runtime reads. A first file that is a symbolic link is refused.\n"
	"\n"
	"  --from DIR          where sklookup and sklookup-ctl are (default: the\n"
	"                      directory of this binary, / in the node image)\n"
	"  --cni-bin-dir DIR   the host's CNI bin directory (default " DEFAULT_BIN_DIR ")\n"
	"  --cni-conf-dir DIR  the host's CNI config directory (default " DEFAULT_CONF_DIR ")\n"
	"  --bpffs DIR         where bpffs must be mounted (default " DEFAULT_BPFFS ")\n"
	"  --entry JSON        the plugin entry, an object with \"type\": \"sklookup\"\n"
	"  --entry-file FILE   or a file holding it (the DaemonSet's ConfigMap). Default:\n"
	"                      annotations allowed on the pod's own addresses and ports:\n"
	"                      " SKL_INSTALL_DEFAULT_ENTRY "\n"
	"  --wait SECONDS      how long config waits for the pod network to write its\n"
	"                      config file (default 0: fail at once when there is none)\n"
	"  --watch SECONDS     after the steps, keep running: apply config every SECONDS\n"
	"                      (the pod network's installer may rewrite its file; an\n"
	"                      unchanged file is not touched), logging changes and\n"
	"                      failures, until SIGTERM or SIGINT\n"
	"  --uninstall-on-exit with --watch: on SIGTERM or SIGINT, uninstall (below)\n"
	"                      before exiting. A rolling update of the DaemonSet stops\n"
	"                      the old pod too: pods started before the new one has\n"
	"                      installed again get no sklookup, and pods deleted then\n"
	"                      get no DEL from sklookup (the agent cleans up after them).\n"
	"\n"
	"Exit status 0 on success; 1 with a one-line message naming the path and the\n"
	"fix; 2 on a usage error. A failed step leaves its files as they were.\n"
	"\n"
	"Examples:\n"
	"  sklookup-ctl install --wait 600 --entry-file /etc/sklookup/sklookup-entry.json\n"
	"  sklookup-ctl install --cni-bin-dir /opt/cni/bin --cni-conf-dir /etc/cni/net.d \\\n"
	"      --from build-static binaries config\n";

static const char uninstall_help[] =
	"usage: sklookup-ctl uninstall [--cni-bin-dir DIR] [--cni-conf-dir DIR]\n"
	"\n"
	"Undoes install: removes the sklookup entries from the lexically first config\n"
	"file in --cni-conf-dir (when install had converted a .conf and nothing else\n"
	"changed in the .conflist since, the original .conf is put back instead), then\n"
	"sklookup and sklookup-ctl from --cni-bin-dir. bpffs stays mounted, and pods\n"
	"keep their dispatchers until they are deleted. Running it twice changes\n"
	"nothing the second time. Defaults as for install (" DEFAULT_BIN_DIR ",\n"
	DEFAULT_CONF_DIR "). On a node, by hand:\n"
	"  sklookup-ctl uninstall --cni-bin-dir /opt/cni/bin --cni-conf-dir /etc/cni/net.d\n";

/* The directory of this binary: the node image keeps both binaries in /. */
static int own_dir(char *out, size_t size, struct skl_err *err)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);
	char *slash;

	if (n < 0)
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"cannot read /proc/self/exe (%s): give --from DIR", strerror(errno));
	out[n] = 0;
	slash = strrchr(out, '/');
	if (slash == out)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	return 0;
}

static int step_bpffs(const struct install_opts *o, struct skl_err *err)
{
	bool mounted;

	if (skl_install_bpffs(o->bpffs, &mounted, err))
		return -1;
	printf("install: %s bpffs at %s\n", mounted ? "mounted" : "found", o->bpffs);
	return 0;
}

static int step_binaries(struct install_opts *o, struct skl_err *err)
{
	char plugin[PATH_MAX], version[512];
	struct skl_err verr = { 0 };

	/* Only this step reads /proc (the config container needs none). */
	if (!o->from) {
		if (own_dir(o->from_buf, sizeof(o->from_buf), err))
			return -1;
		o->from = o->from_buf;
	}
	if (skl_install_check_dir(o->bin_dir, "--cni-bin-dir", "/opt/cni/bin", err))
		return -1;
	for (size_t i = 0; i < 2; i++) {
		bool changed;

		if (skl_install_binary(o->from, o->bin_dir, skl_install_binaries[i], &changed, err))
			return -1;
		printf("install: %s %s/%s\n", changed ? "installed" : "up to date:", o->bin_dir,
		       skl_install_binaries[i]);
	}
	/* Not fatal, as before: the runtime will say the same at the first
	 * pod, and the config step may still be wanted. */
	snprintf(plugin, sizeof(plugin), "%s/%s", o->bin_dir, skl_install_binaries[0]);
	fflush(stdout); /* the lines above first */
	if (skl_install_plugin_version(plugin, version, sizeof(version), &verr))
		fprintf(stderr, "install: warning: %s\n", verr.msg);
	else
		printf("install: plugin: %s\n", version);
	fflush(stdout);
	return 0;
}

/* Waits up to --wait for the pod network's config file. */
static int wait_for_config(const struct install_opts *o, struct skl_err *err)
{
	char name[256];

	for (long waited = 0;; waited++) {
		int rc;

		if (skl_install_check_dir(o->conf_dir, "--cni-conf-dir", "/etc/cni/net.d", err))
			return -1;
		rc = skl_install_first_config(o->conf_dir, name, sizeof(name), err);
		if (rc <= 0 || waited >= o->wait_s)
			return rc < 0 ? -1 : 0; /* none: skl_install_config says so */
		if (!waited) {
			printf("install: waiting up to %ld s for the pod network's config in %s\n",
			       o->wait_s, o->conf_dir);
			fflush(stdout);
		}
		sleep(1);
	}
}

/* quiet: say nothing when nothing changed (the watch). */
static int step_config(const struct install_opts *o, bool quiet, struct skl_err *err)
{
	struct skl_install_config c;

	if (skl_install_config(o->conf_dir, o->entry, &c, err))
		return -1;
	if (!c.changed) {
		if (!quiet)
			printf("install: %s/%s already has the sklookup entry\n", o->conf_dir,
			       c.target);
	} else if (c.converted) {
		printf("install: converted %s/%s to %s with the sklookup entry (original kept as "
		       ".%s" SKL_INSTALL_ORIG_SUFFIX ")\n", o->conf_dir, c.file, c.target, c.file);
	} else {
		printf("install: added the sklookup entry to %s/%s\n", o->conf_dir, c.target);
	}
	fflush(stdout);
	return 0;
}

static int uninstall(const char *bin_dir, const char *conf_dir, struct skl_err *err)
{
	struct skl_install_unconfig u;

	/* The config first: it must never name a plugin that is gone. */
	if (skl_install_unconfig(conf_dir, &u, err))
		return -1;
	if (u.restored)
		printf("uninstall: put %s/%s back in place of %s, which sklookup had made of it\n",
		       conf_dir, u.original, u.file);
	else if (u.changed)
		printf("uninstall: removed the sklookup entry from %s/%s\n", conf_dir, u.file);
	else
		printf("uninstall: no sklookup entry in %s%s%s\n", conf_dir, *u.file ? "/" : "",
		       u.file);
	for (size_t i = 0; i < 2; i++) {
		bool removed;

		if (skl_install_remove_binary(bin_dir, skl_install_binaries[i], &removed, err))
			return -1;
		printf("uninstall: %s %s/%s\n", removed ? "removed" : "no", bin_dir,
		       skl_install_binaries[i]);
	}
	fflush(stdout);
	return 0;
}

/* --watch: config every watch_s until SIGTERM or SIGINT (blocked since
 * before the steps, so one sent meanwhile is not lost). */
static int watch(const struct install_opts *o, const sigset_t *stop, struct skl_err *err)
{
	struct timespec period = { .tv_sec = o->watch_s };

	printf("install: applying the config every %ld s until SIGTERM\n", o->watch_s);
	fflush(stdout);
	for (;;) {
		struct skl_err cerr = { 0 };
		int sig = sigtimedwait(stop, NULL, &period);

		if (sig > 0) {
			printf("install: %s: stopping\n", strsignal(sig));
			return o->uninstall_on_exit ? uninstall(o->bin_dir, o->conf_dir, err) : 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			return skl_errf(err, SKL_CNI_INTERNAL, "sigtimedwait: %s", strerror(errno));
		if (errno == EAGAIN && step_config(o, true, &cerr)) {
			fprintf(stderr, "install: %s; again in %ld s\n", cerr.msg, o->watch_s);
			fflush(stderr);
		}
	}
}

/* install and uninstall work on the node, not on a pod. */
static int node_wide(const struct skl_ctl *ctl, const char *name, struct skl_err *err)
{
	if (ctl->container || ctl->netns || ctl->network || ctl->ifname || ctl->agent || ctl->json)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s works on the node: it takes no --container, --netns, --network, "
				"--ifname, --agent or --json", name);
	return 0;
}

static int run_install(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct install_opts o = { .bin_dir = DEFAULT_BIN_DIR, .conf_dir = DEFAULT_CONF_DIR,
				  .bpffs = DEFAULT_BPFFS };
	sigset_t stop, old;
	bool blocked = false;
	int rc = -1;

	if (skl_install_parse_options(argc, argv, true, &o, err) || node_wide(ctl, "install", err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (skl_install_load_entry(&o, err))
		return -1;
	if (o.watch_s) {
		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigprocmask(SIG_BLOCK, &stop, &old);
		blocked = true;
	}
	for (int i = 0; i < o.n_steps; i++) {
		int failed = 0;

		switch (o.steps[i]) {
		case STEP_BPFFS:
			failed = step_bpffs(&o, err);
			break;
		case STEP_BINARIES:
			failed = step_binaries(&o, err);
			break;
		case STEP_CONFIG:
			failed = wait_for_config(&o, err) || step_config(&o, false, err);
			break;
		}
		if (failed)
			goto out;
	}
	rc = o.watch_s ? watch(&o, &stop, err) : 0;
out:
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	cJSON_Delete(o.entry);
	return rc;
}

static int run_uninstall(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct install_opts o = { .bin_dir = DEFAULT_BIN_DIR, .conf_dir = DEFAULT_CONF_DIR };

	if (skl_install_parse_options(argc, argv, false, &o, err) || node_wide(ctl, "uninstall", err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	return uninstall(o.bin_dir, o.conf_dir, err);
}

const struct skl_ctl_command skl_ctl_install_cmd = {
	.name = "install",
	.run = run_install,
	.needs_state = false,
	.synopsis = "put sklookup on this node: bpffs, binaries, CNI config",
	.help = install_help,
};

const struct skl_ctl_command skl_ctl_uninstall_cmd = {
	.name = "uninstall",
	.run = run_uninstall,
	.needs_state = false,
	.synopsis = "take sklookup off this node (what install added)",
	.help = uninstall_help,
};
