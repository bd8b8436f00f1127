/*
 * sklookup-ctl unregister: takes a label's sockets out of the pod's socket
 * map (the library's skl_pod_unregister), directly or through the node agent.
 */
#include "ctl.h"

#include <netinet/in.h>
#include <string.h>

#include "ctl_results.h"

static const char unregister_help[] =
	"usage: sklookup-ctl [OPTIONS] unregister LABEL [--protocol tcp|udp]\n"
	"\n"
	"Removes LABEL's sockets from the pod's dispatcher (both protocols unless\n"
	"--protocol says one). Traffic for LABEL is then dropped (or passed, for\n"
	"bindings with \"missing\": \"pass\") until a socket is registered again. An\n"
	"unknown label is an error; a label without sockets is not.\n"
	"\n"
	"Output: what was removed, or with --json {\"label\", \"removed\":\n"
	"[{\"cookie\", \"slots\"}]}.\n"
	"\n"
	"Example:\n"
	"  sklookup-ctl unregister web --protocol udp\n";

static int parse_unregister(int argc, char **argv, const char **label, int *protocol,
			    struct skl_err *err)
{
	*label = NULL;
	*protocol = 0;
	for (int i = 1; i < argc; i++) {
		const char *value = NULL;
		int got = skl_ctl_take_value(argc, argv, &i, "--protocol", &value, err);

		if (got < 0)
			return -1;
		if (got) {
			if (strcmp(value, "tcp") && strcmp(value, "udp"))
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"unregister: --protocol \"%s\": use tcp or udp",
						value);
			*protocol = value[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		} else if (argv[i][0] == '-' || *label) {
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"unregister: unexpected \"%s\"; see unregister --help",
					argv[i]);
		} else {
			*label = argv[i];
		}
	}
	if (!*label)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"unregister: give a LABEL; see unregister --help");
	return 0;
}

static int run_unregister(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	struct skl_unregistered result;
	const char *label;
	int protocol;

	if (parse_unregister(argc, argv, &label, &protocol, err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (ctl->agent)
		return skl_ctl_agent_unregister(ctl, label, protocol, err);
	if (skl_pod_unregister(&pod, label, protocol, &result, err))
		return -1;
	return skl_ctl_print_unregistered(&result, ctl->json, err);
}

const struct skl_ctl_command skl_ctl_unregister_cmd = {
	.name = "unregister",
	.run = run_unregister,
	.needs_state = true,
	.synopsis = "take a label's sockets out of the dispatcher",
	.help = unregister_help,
};
