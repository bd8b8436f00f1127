/* sklookup-ctl upgrade: give a running pod the dispatcher this binary
 * carries, keeping its maps, sockets and connections (see upgrade.h). */
#include "ctl.h"

#include <stdio.h>

#include "state.h"
#include "upgrade.h"

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] upgrade\n"
	"\n"
	"Replaces the program in the pod's sk_lookup link with the dispatcher this\n"
	"binary carries (bpf_link_update: one atomic swap in the kernel) and re-pins\n"
	"it as the state directory's \"prog\". The maps stay: bindings, labels,\n"
	"registered sockets and counters are kept, and established connections and\n"
	"listening sockets are not touched.\n"
	"\n"
	"Nothing changes unless every map of the pod has the type, key size, value\n"
	"size and flags this binary's program expects; otherwise upgrade names the\n"
	"map and the difference and exits 1: such a pod must be re-created to get the\n"
	"new dispatcher. When the link already runs this program, upgrade says\n"
	"\"already up to date\" and exits 0.\n"
	"\n"
	"Options: --json ({\"stateDir\", \"oldProgramId\", \"newProgramId\", \"changed\"}).\n";

static int report(const struct skl_ctl *ctl, const struct skl_upgrade *up, struct skl_err *err)
{
	cJSON *doc;

	if (!ctl->json) {
		if (up->changed)
			printf("upgraded the dispatcher of %s: program id %u -> %u (maps and sockets "
			       "kept)\n", ctl->state_dir, up->old_prog_id, up->new_prog_id);
		else
			printf("the dispatcher of %s is already up to date (program id %u)\n",
			       ctl->state_dir, up->old_prog_id);
		return 0;
	}
	doc = cJSON_CreateObject();
	if (!doc)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	cJSON_AddStringToObject(doc, "stateDir", ctl->state_dir);
	cJSON_AddNumberToObject(doc, "oldProgramId", up->old_prog_id);
	cJSON_AddNumberToObject(doc, "newProgramId", up->new_prog_id);
	cJSON_AddBoolToObject(doc, "changed", up->changed);
	return skl_ctl_print_json(doc, err);
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_upgrade up;
	int lock_fd = -1, ret;

	(void)argv;
	if (argc != 1)
		return skl_ctl_usage(ctl, err,
				     "upgrade takes no arguments; see sklookup-ctl upgrade --help");
	if (!ctl->netns_ino)
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"the pod's network namespace is gone (its link is detached): nothing "
				"to upgrade; the plugin's DEL or GC removes %s", ctl->state_dir);
	if (skl_ctl_lock(ctl, &lock_fd, err))
		return -1;
	ret = skl_dispatcher_upgrade(&ctl->d, ctl->state_dir, &up, err);
	skl_state_unlock(lock_fd);
	if (ret)
		return -1;
	return report(ctl, &up, err);
}

const struct skl_ctl_command skl_ctl_upgrade_cmd = {
	.name = "upgrade",
	.run = run,
	.needs_state = true,
	.synopsis = "swap in this binary's dispatcher, keeping maps and sockets",
	.help = help,
};
