/* sklookup-ctl upgrade: give running pods the dispatcher this binary
 * carries, keeping their bindings, sockets and connections (see upgrade.h). */
#include "ctl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "state.h"
#include "dispatch_abi.h"
#include "upgrade.h"
#include "version.h"

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] upgrade [--all] [--new-maps]\n"
	"\n"
	"Gives the pod (or with --all every pod under --bpffs-root) the dispatcher\n"
	"this binary carries. Bindings, labels, registered sockets and counters are\n"
	"kept, and established connections and listening sockets are not touched.\n"
	"\n"
	"When the pod's maps have this binary's layout, the program in the pod's\n"
	"sk_lookup link is replaced (bpf_link_update: one atomic swap) and the maps\n"
	"stay. When a release with another map layout made the pod (or with\n"
	"--new-maps), this binary's dispatcher is built beside the old one: bindings,\n"
	"labels and port ranges are copied, the registered sockets are carried over\n"
	"by a BPF program that moves each socket of the old sockets map into the new\n"
	"one, counters are copied where they map; the new program is attached next\n"
	"to the old one (both give the same verdicts, so no connection is refused),\n"
	"the state directory is switched in one rename, and the old link is detached.\n"
	"Any failure before the switch removes what was built and leaves the old\n"
	"dispatcher serving.\n"
	"\n"
	"A pod whose labels, bindings or port ranges this release cannot read is\n"
	"refused, naming the release that made it. When the link already runs this\n"
	"program, upgrade says \"already up to date\" and exits 0. --all prints one\n"
	"line per pod and a summary, skips pods whose netns is gone (GC or DEL\n"
	"removes them), and exits 1 if any pod failed.\n"
	"\n"
	"Options: --json ({\"stateDir\", \"oldProgramId\", \"newProgramId\", \"changed\",\n"
	"\"newMaps\", \"sockets\", \"bindings\"}; with --all, {\"release\", \"pods\": [...],\n"
	"\"failed\", \"milliseconds\"}, a failed pod with \"error\").\n";

static cJSON *result_json(const char *dir, const struct skl_upgrade *up)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "stateDir", dir);
	cJSON_AddNumberToObject(o, "oldProgramId", up->old_prog_id);
	cJSON_AddNumberToObject(o, "newProgramId", up->new_prog_id);
	cJSON_AddBoolToObject(o, "changed", up->changed);
	cJSON_AddBoolToObject(o, "newMaps", up->new_maps);
	cJSON_AddNumberToObject(o, "sockets", up->sockets);
	cJSON_AddNumberToObject(o, "bindings", up->bindings);
	return o;
}

static void print_result(const char *dir, const struct skl_upgrade *up)
{
	if (!up->changed)
		printf("the dispatcher of %s is already up to date (program id %u)\n", dir,
		       up->old_prog_id);
	else if (up->new_maps)
		printf("upgraded the dispatcher of %s to new maps (layout %u -> %u): program id "
		       "%u -> %u, %u bindings and %u sockets carried over\n", dir, up->old_abi,
		       SKL_ABI_VERSION, up->old_prog_id, up->new_prog_id, up->bindings,
		       up->sockets);
	else
		printf("upgraded the dispatcher of %s: program id %u -> %u (maps and sockets "
		       "kept)\n", dir, up->old_prog_id, up->new_prog_id);
}

/* One pod, under its lock. */
static int upgrade_one(const struct skl_ctl *ctl, const char *dir, bool new_maps,
		       struct skl_upgrade *up, struct skl_err *err)
{
	int wait = ctl->lock_wait_ms ? ctl->lock_wait_ms : SKL_STATE_LOCK_WAIT_MS, lock_fd;
	int ret;

	if (skl_state_lock_existing(dir, wait, &lock_fd, err))
		return -1;
	ret = skl_upgrade_pod(dir, new_maps, up, err);
	skl_state_unlock(lock_fd);
	return ret;
}

struct all {
	const struct skl_ctl *ctl;
	bool new_maps;
	cJSON *pods; /* --json */
	int upgraded, current, failed, skipped;
};

static int upgrade_visit(const struct skl_state_visit *v, void *arg)
{
	struct all *a = arg;
	struct skl_upgrade up = { 0 };
	struct skl_err err = { 0 };
	uint64_t ino = 0;
	cJSON *o;

	if (!skl_state_link_netns(v->dir, &ino, NULL) && !ino) {
		if (!a->ctl->json)
			printf("upgrade: %s: skipped, its network namespace is gone (DEL or GC "
			       "removes it)\n", v->dir);
		a->skipped++;
		return 0;
	}
	if (upgrade_one(a->ctl, v->dir, a->new_maps, &up, &err)) {
		a->failed++;
		if (a->ctl->json) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "stateDir", v->dir);
			cJSON_AddStringToObject(o, "error", err.msg);
			cJSON_AddItemToArray(a->pods, o);
		} else {
			printf("upgrade: %s: failed, the old dispatcher serves on: %s\n", v->dir,
			       err.msg);
		}
		return 0;
	}
	if (up.changed)
		a->upgraded++;
	else
		a->current++;
	if (a->ctl->json) {
		cJSON_AddItemToArray(a->pods, result_json(v->dir, &up));
	} else {
		fputs("upgrade: ", stdout);
		print_result(v->dir, &up);
	}
	fflush(stdout);
	return 0;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int upgrade_all(struct skl_ctl *ctl, bool new_maps, struct skl_err *err)
{
	const char *root = ctl->bpffs_root ? ctl->bpffs_root : SKL_DEFAULT_BPFFS_ROOT;
	struct all a = { .ctl = ctl, .new_maps = new_maps };
	long start = now_ms(), took;
	cJSON *doc = NULL;

	if (skl_bpffs_is_mounted(root) && skl_bpffs_check_root(root, err))
		return -1;
	if (ctl->json) {
		doc = cJSON_CreateObject();
		if (!doc || !cJSON_AddStringToObject(doc, "release", skl_version) ||
		    !(a.pods = cJSON_AddArrayToObject(doc, "pods"))) {
			cJSON_Delete(doc);
			return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		}
	} else {
		printf("upgrade: every pod under %s to sklookup %s (map layout %u)\n", root,
		       skl_version, SKL_ABI_VERSION);
		fflush(stdout);
	}
	skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, upgrade_visit, &a);
	took = now_ms() - start;
	if (ctl->json) {
		cJSON_AddNumberToObject(doc, "failed", a.failed);
		cJSON_AddNumberToObject(doc, "milliseconds", (double)took);
		if (skl_ctl_print_json(doc, err))
			return -1;
	} else {
		printf("upgrade: %d upgraded, %d already up to date, %d skipped, %d failed "
		       "(%ld ms)\n", a.upgraded, a.current, a.skipped, a.failed, took);
	}
	if (a.failed)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%d pod(s) could not be upgraded and keep their old dispatcher; "
				"the lines above say why", a.failed);
	return 0;
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_upgrade up;
	bool all = false, new_maps = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = true;
		else if (!strcmp(argv[i], "--new-maps"))
			new_maps = true;
		else
			return skl_ctl_usage(ctl, err,
					     "upgrade: unknown argument \"%.64s\"; see sklookup-ctl "
					     "upgrade --help", argv[i]);
	}
	if (all) {
		if (ctl->container || ctl->netns)
			return skl_ctl_usage(ctl, err, "upgrade --all takes no --container or "
						       "--netns: it upgrades every pod");
		return upgrade_all(ctl, new_maps, err);
	}
	if (skl_ctl_find(ctl, err))
		return -1;
	if (upgrade_one(ctl, ctl->state_dir, new_maps, &up, err))
		return -1;
	if (!ctl->json) {
		print_result(ctl->state_dir, &up);
		return 0;
	}
	return skl_ctl_print_json(result_json(ctl->state_dir, &up), err);
}

const struct skl_ctl_command skl_ctl_upgrade_cmd = {
	.name = "upgrade",
	.run = run,
	.needs_state = false,
	.synopsis = "give pods this binary's dispatcher, keeping bindings and sockets",
	.help = help,
};
