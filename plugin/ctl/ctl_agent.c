/* sklookup-ctl agent: the node agent's command line (agent.c does the work). */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../agent/agent.h"
#include "../agent/agent_metrics.h"
#include "state.h"

static const char agent_help[] =
	"usage: sklookup-ctl [--bpffs-root DIR] agent [--socket PATH] [--grace SECONDS]\n"
	"                    [--interval SECONDS] [--spares N] [--metrics-address HOST:PORT]\n"
	"\n"
	"Runs the node agent (the DaemonSet runs it on every node, as root with\n"
	"CAP_BPF and CAP_NET_ADMIN), through which pods without privileges and without\n"
	"bpffs register their sockets: sklookup-ctl register, unregister, exec and\n"
	"status inside a pod use it when the pod's state is out of reach, or with\n"
	"--agent PATH. The pod mounts only the socket's directory.\n"
	"\n"
	"A request carries the verb, the label, and sockets passed with SCM_RIGHTS;\n"
	"the first is one the client created itself, and the pod is the one whose\n"
	"dispatcher serves that socket's network namespace (SO_NETNS_COOKIE): a\n"
	"process without CAP_SYS_ADMIN creates sockets only in its own. Nothing in a\n"
	"request can name another pod. Then the agent runs register's checks (the\n"
	"label is the pod's, the socket's type, state and network namespace fit) and\n"
	"answers with what sklookup-ctl would print.\n"
	"\n"
	"The agent is not on the data path: while it is stopped, dispatch goes on and\n"
	"registered sockets stay; it keeps nothing of its own, so a restart loses\n"
	"nothing. It also reconciles: the state of a pod whose network namespace is\n"
	"gone (its link reports netns_ino 0) and that no DEL removed is removed as DEL\n"
	"would (recorded host routes, pins) once it has been seen so for --grace.\n"
	"\n"
	"It keeps --spares dispatchers loaded ahead of time at the default limits\n"
	"(bpffsRoot/:spare): an ADD with those limits takes one instead of waiting\n"
	"for the kernel to verify the program, and the agent loads a new one within\n"
	"a second. It removes them when it stops.\n"
	"\n"
	"  --socket PATH       the Unix socket (default " SKL_AGENT_DEFAULT_SOCKET ");\n"
	"                      a missing directory is created 0755, the socket is\n"
	"                      0666 so that any user of any pod can connect\n"
	"  --grace SECONDS     how long a pod's state may stay after its network\n"
	"                      namespace is gone (default " SKL_STR(SKL_AGENT_GRACE_DEFAULT) ")\n"
	"  --interval SECONDS  between reconcile rounds (default "
	SKL_STR(SKL_AGENT_INTERVAL_DEFAULT) ")\n"
	"  --spares N          spare dispatchers to keep, 0 to " SKL_STR(SKL_AGENT_SPARES_MAX)
	" (default " SKL_STR(SKL_AGENT_SPARES_DEFAULT) "; each\n"
	"                      takes the kernel memory of an empty pod's, ~55 KiB)\n"
	"  --metrics-address HOST:PORT\n"
	"                      serve Prometheus metrics over HTTP at\n"
	"                      http://HOST:PORT" SKL_METRICS_PATH " (HOST an IPv4 address or an\n"
	"                      IPv6 one in brackets; default: no endpoint): every pod's\n"
	"                      counters per binding and label, sockets per label,\n"
	"                      bindings per pod, and the agent's own health\n"
	"  --bpffs-root DIR    the plugin's bpffsRoot (default " SKL_DEFAULT_BPFFS_ROOT ")\n"
	"\n"
	"Limits: " SKL_STR(SKL_AGENT_MAX_CLIENTS) " connections (" SKL_STR(SKL_AGENT_MAX_PER_PEER)
	" per client), one request of at most " SKL_STR(SKL_AGENT_MAX_REQUEST) " bytes and\n"
	"5 fds per connection, " SKL_STR(SKL_AGENT_DEADLINE_S) " s per connection, per pod a burst of "
	SKL_STR(SKL_AGENT_RATE_BURST) " requests then\n"
	SKL_STR(SKL_AGENT_RATE_PER_S) " a second, 1 MiB of output per answer. It logs one line per "
	"request on\n"
	"stderr and stops on SIGTERM or SIGINT, removing its socket.\n"
	"The metrics endpoint runs in a thread of its own: " SKL_STR(SKL_METRICS_MAX_CONNECTIONS)
	" connections (" SKL_STR(SKL_METRICS_MAX_PER_IP) " per\n"
	"address), " SKL_STR(SKL_METRICS_DEADLINE_S) " s and " SKL_STR(SKL_METRICS_MEMORY)
	" bytes of request per connection; it reads the pods'\n"
	"maps, at most every " SKL_STR(SKL_METRICS_REUSE_MS) " ms, and takes no lock of theirs.\n"
	"\n"
	"Example (the DaemonSet's container):\n"
	"  sklookup-ctl agent --socket /run/sklookup/agent.sock --metrics-address 0.0.0.0:9977\n";

#define MAX_SECONDS (7 * 86400)

/* A whole number min..max for option name; what says what it counts. */
static int parse_number(const char *name, const char *value, unsigned min, unsigned max,
			const char *what, unsigned *out, struct skl_err *err)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || n < min || n > max)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"agent: %s \"%s\": give a number%s, %u to %u",
				name, value, what, min, max);
	*out = (unsigned)n;
	return 0;
}

/* The agent binds --socket: an absolute path that fits a Unix socket's
 * address, else a usage error before it starts. */
static int check_socket_path(const char *path, struct skl_err *err)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (path[0] == '/' && strlen(path) <= max)
		return 0;
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"--socket %s: give an absolute path of at most %zu bytes", path, max);
}

static int parse_agent(int argc, char **argv, struct skl_agent_options *o, struct skl_err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *value;
		int got;

		if ((got = skl_ctl_take_value(argc, argv, &i, "--socket", &value, err)) != 0) {
			if (got < 0 || check_socket_path(value, err))
				return -1;
			o->socket_path = value;
		} else if ((got = skl_ctl_take_value(argc, argv, &i, "--grace", &value, err)) != 0) {
			if (got < 0 || parse_number("--grace", value, 0, MAX_SECONDS, " of seconds",
						    &o->grace_s, err))
				return -1;
		} else if ((got = skl_ctl_take_value(argc, argv, &i, "--spares", &value, err)) != 0) {
			if (got < 0 || parse_number("--spares", value, 0, SKL_AGENT_SPARES_MAX, "",
						    &o->spares, err))
				return -1;
		} else if ((got = skl_ctl_take_value(argc, argv, &i, "--metrics-address", &value,
						     err)) != 0) {
			struct sockaddr_storage ss;
			socklen_t len;

			if (got < 0 || skl_agent_metrics_address(value, &ss, &len, err))
				return -1;
			o->metrics_address = value;
		} else if ((got = skl_ctl_take_value(argc, argv, &i, "--interval", &value, err)) != 0) {
			if (got < 0 || parse_number("--interval", value, 1, MAX_SECONDS, " of seconds",
						    &o->interval_s, err))
				return -1;
		} else {
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"agent: unexpected \"%s\"; see agent --help", argv[i]);
		}
	}
	return 0;
}

static int run_agent(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_agent_options o = {
		.socket_path = SKL_AGENT_DEFAULT_SOCKET,
		.bpffs_root = ctl->bpffs_root ? ctl->bpffs_root : SKL_DEFAULT_BPFFS_ROOT,
		.grace_s = SKL_AGENT_GRACE_DEFAULT,
		.interval_s = SKL_AGENT_INTERVAL_DEFAULT,
		.spares = SKL_AGENT_SPARES_DEFAULT,
	};

	if (parse_agent(argc, argv, &o, err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (ctl->container || ctl->netns || ctl->network || ctl->ifname || ctl->agent)
		return skl_ctl_usage(ctl, err,
				"agent serves every pod under --bpffs-root; it takes no "
				"--container, --netns, --network, --ifname or --agent");
	return skl_agent_run(&o, err) ? -1 : 0;
}

const struct skl_ctl_command skl_ctl_agent_cmd = {
	.name = "agent",
	.run = run_agent,
	.needs_state = false,
	.synopsis = "the node agent: pods without privileges register through it",
	.help = agent_help,
};
