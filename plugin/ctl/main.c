/*
 * sklookup-ctl: register sockets in a pod's dispatcher, change its bindings,
 * see what it does. Global options may come before or after the command.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "ctl.h"
#include "state.h"
#include "version.h"

static const struct skl_ctl_command *const commands[] = {
	&skl_ctl_register_cmd, &skl_ctl_unregister_cmd, &skl_ctl_exec_cmd,
	&skl_ctl_bindings_cmd, &skl_ctl_status_cmd,     &skl_ctl_trace_cmd,
	&skl_ctl_metrics_cmd,  &skl_ctl_monitor_cmd,    &skl_ctl_upgrade_cmd,
	&skl_ctl_agent_cmd,    &skl_ctl_pods_cmd,       &skl_ctl_install_cmd,
	&skl_ctl_uninstall_cmd,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("usage: sklookup-ctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Registers sockets in a pod's sk_lookup dispatcher and shows what it does.\n"
	      "The pod is found by --container, by --pod, by --netns, or by default as the\n"
	      "network namespace this command runs in.\n"
	      "\n"
	      "Options (before or after the command):\n"
	      "  --container ID     the pod's container (sandbox) ID\n"
	      "  --pod NS/NAME      the pod by its namespace and name (from CNI_ARGS at ADD;\n"
	      "                     as `sklookup-ctl pods` shows it)\n"
	      "  --netns PATH       the pod's network namespace\n"
	      "  --network NAME     the CNI network, when the pod has several\n"
	      "  --ifname NAME      the pod's interface, when it has several\n"
	      "  --bpffs-root DIR   the plugin's bpffsRoot (default " SKL_DEFAULT_BPFFS_ROOT ")\n"
	      "  --agent PATH       go through the node agent at PATH (register, unregister,\n"
	      "                     exec, status); inside a pod that cannot reach bpffs they\n"
	      "                     use " SKL_AGENT_DEFAULT_SOCKET " when it exists\n"
	      "  --json             machine-readable output\n"
	      "  -h, --help         this text; COMMAND --help for a command\n"
	      "  --version          the release and the commit this was built from\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-11s %s\n", commands[i]->name, commands[i]->synopsis);
	fputs("\nExit status: 0 success, 1 failure, 2 usage error, 3 no dispatcher found.\n", out);
}

static const struct {
	const char *name;
	size_t offset; /* of the const char * in struct skl_ctl */
} value_options[] = {
	{ "--container", offsetof(struct skl_ctl, container) },
	{ "--pod", offsetof(struct skl_ctl, pod) },
	{ "--netns", offsetof(struct skl_ctl, netns) },
	{ "--network", offsetof(struct skl_ctl, network) },
	{ "--ifname", offsetof(struct skl_ctl, ifname) },
	{ "--bpffs-root", offsetof(struct skl_ctl, bpffs_root) },
	{ "--agent", offsetof(struct skl_ctl, agent) },
};

/* Takes the global options out of argv (up to a "--"), wherever they are;
 * returns the new argc, or -1 on a missing value. */
static int take_global_options(struct skl_ctl *ctl, int argc, char **argv, bool *help,
			       bool *version)
{
	int out = 1, i;

	for (i = 1; i < argc; i++) {
		bool taken = false;

		if (!strcmp(argv[i], "--"))
			break;
		for (size_t k = 0; k < sizeof(value_options) / sizeof(value_options[0]); k++) {
			size_t n = strlen(value_options[k].name);

			if (strncmp(argv[i], value_options[k].name, n) ||
			    (argv[i][n] != 0 && argv[i][n] != '='))
				continue;
			if (argv[i][n] == '=') {
				*(const char **)((char *)ctl + value_options[k].offset) = argv[i] + n + 1;
			} else {
				if (i + 1 >= argc) {
					fprintf(stderr, "sklookup-ctl: %s needs a value\n", argv[i]);
					return -1;
				}
				*(const char **)((char *)ctl + value_options[k].offset) = argv[++i];
			}
			taken = true;
		}
		if (!strcmp(argv[i], "--json")) {
			ctl->json = true;
			taken = true;
		}
		/* -h before the command is global help; after it, the command's. */
		if ((!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) && out == 1) {
			*help = true;
			taken = true;
		}
		if (!strcmp(argv[i], "--version") && out == 1) {
			*version = true;
			taken = true;
		}
		if (!taken)
			argv[out++] = argv[i];
	}
	for (; i < argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct skl_ctl ctl = { .netns_fd = -1 };
	struct skl_err err = { 0 };
	const struct skl_ctl_command *cmd = NULL;
	bool help = false, version = false;
	int status;

	argc = take_global_options(&ctl, argc, argv, &help, &version);
	if (argc < 0)
		return SKL_EXIT_USAGE;
	if (version) {
		printf("sklookup-ctl %s\n", skl_version);
		return SKL_EXIT_OK;
	}
	if (argc < 2) {
		usage(help ? stdout : stderr);
		return help ? SKL_EXIT_OK : SKL_EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i]->name))
			cmd = commands[i];
	if (!cmd) {
		fprintf(stderr, "sklookup-ctl: unknown command \"%s\"; see sklookup-ctl --help\n",
			argv[1]);
		return SKL_EXIT_USAGE;
	}
	if (help || skl_ctl_wants_help(cmd, argc - 1, argv + 1)) {
		if (help)
			fputs(cmd->help, stdout);
		return SKL_EXIT_OK;
	}
	if (cmd->needs_state && skl_ctl_locate(&ctl, cmd, &err))
		status = -1;
	else
		status = ctl.agent ? skl_ctl_agent_run(&ctl, cmd, argc - 1, argv + 1, &err)
				   : cmd->run(&ctl, argc - 1, argv + 1, &err);
	if (status < 0)
		fprintf(stderr, "sklookup-ctl: %s\n", err.msg);
	skl_ctl_close(&ctl);
	/* Through the agent, "no dispatcher" comes from the agent's answer. */
	return skl_ctl_exit_status(&ctl, status);
}
