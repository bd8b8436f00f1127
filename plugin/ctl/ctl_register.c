/*
 * sklookup-ctl register: puts sockets into the pod's socket map under a
 * label (exec, which creates them, is in ctl_exec.c). Where the sockets come
 * from is ctl_sources.c; the checks and the handover are the library's
 * skl_pod_register; the output is ctl_register_print.c's.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include "ctl_results.h"
#include "ctl_sources.h"

static const char register_help[] =
	"usage: sklookup-ctl [OPTIONS] register LABEL [--fd N]...\n"
	"       sklookup-ctl [OPTIONS] register LABEL --pid PID --fd N [--fd N]...\n"
	"\n"
	"Puts a socket into the pod's dispatcher for LABEL: the traffic of every binding\n"
	"of LABEL goes to it, whatever address and port it is bound to. The socket is:\n"
	"  --fd N             fd N of the caller (repeat for several sockets);\n"
	"  --pid PID --fd N   fd N of the running process PID, taken with pidfd_getfd\n"
	"                     without changing it (needs ptrace access to PID:\n"
	"                     CAP_SYS_PTRACE or the same user);\n"
	"  by default         systemd's socket activation when LISTEN_FDS is set and\n"
	"                     LISTEN_PID is unset or this process: fds 3.. (with\n"
	"                     LISTEN_FDNAMES, only those named LABEL); else fd 3.\n"
	"\n"
	"A socket is refused, with the reason, if LABEL is not a label of the pod's\n"
	"bindings, if LABEL has no binding of the socket's protocol or of a family it\n"
	"serves, if it belongs to another network namespace than the pod's (a TCP\n"
	"connection to it would complete its handshake and then break), if it is a TCP\n"
	"socket that is not listening, or a UDP socket that is not bound or is\n"
	"connected. An IPv6 socket that is not v6only (e.g. bound to [::]) serves IPv4\n"
	"bindings too. For a SO_REUSEPORT group register one member: the kernel spreads\n"
	"the connections over the group.\n"
	"\n"
	"A label holds one socket per protocol and family. Registering replaces the\n"
	"label's socket atomically (one map update per slot): no connection is refused\n"
	"during a handover, each reaches the old socket or the new one. When the\n"
	"replaced socket also held a family the new sockets do not serve (a dual-stack\n"
	"socket replaced by a v6only or an IPv4 one) it is removed from there as well,\n"
	"so a server handing over keeps no part of the traffic; register the new\n"
	"sockets in one command (several --fd, or LISTEN_FDS) for a handover without\n"
	"a gap. A socket registered on its own for the other family stays. A closed\n"
	"socket leaves the dispatcher by itself.\n"
	"\n"
	"Output: one line per socket, or with --json an object {\"label\", \"fd\",\n"
	"\"pid\" (with --pid), \"protocol\", \"family\", \"v6only\", \"local\", \"cookie\",\n"
	"\"slots\": [\"tcp4\", \"tcp6\"], \"cleared\": [{\"slot\", \"cookie\"}]} (an array of\n"
	"them when several sockets were registered).\n"
	"\n"
	"Examples:\n"
	"  sklookup-ctl register web 3<&\"$LISTENER_FD\"\n"
	"  sklookup-ctl --container 1a2b3c register dns --pid 4242 --fd 5\n"
	"  systemd-socket-activate -l 8080 --fdname=web sklookup-ctl register web\n";

struct register_args {
	const char *label;
	int fds[SKL_SOCKET_SLOTS];
	size_t n_fds;
	long pid; /* 0: none */
};

static int parse_register(int argc, char **argv, struct register_args *a, struct skl_err *err)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *value = NULL;
		long n;
		int got;

		if ((got = skl_ctl_take_value(argc, argv, &i, "--fd", &value, err)) < 0)
			return -1;
		if (got) {
			if (skl_ctl_parse_long(value, 0, INT32_MAX, &n))
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"register: --fd \"%s\" is not an fd number", value);
			if (a->n_fds == SKL_SOCKET_SLOTS)
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"register: at most %d --fd: a label holds one "
						"socket per protocol and family",
						SKL_SOCKET_SLOTS);
			a->fds[a->n_fds++] = (int)n;
			continue;
		}
		if ((got = skl_ctl_take_value(argc, argv, &i, "--pid", &value, err)) < 0)
			return -1;
		if (got) {
			if (skl_ctl_parse_long(value, 1, INT32_MAX, &a->pid))
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"register: --pid \"%s\" is not a process id",
						value);
			continue;
		}
		if (argv[i][0] == '-' || a->label)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"register: unexpected \"%s\"; see register --help",
					argv[i]);
		a->label = argv[i];
	}
	if (!a->label)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"register: give a LABEL; see register --help");
	if (a->pid && !a->n_fds)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"register: --pid needs --fd N, the socket's fd number in that "
				"process");
	return 0;
}

static int run_register(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	uint64_t cleared[SKL_SOCKET_SLOTS];
	struct skl_sources s = { .n = 0 };
	struct skl_registered result;
	struct register_args a;
	struct skl_target t;
	int ret = -1;

	if (parse_register(argc, argv, &a, err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (ctl->agent) {
		if (!skl_ctl_sources_collect(a.label, a.fds, a.n_fds, a.pid, &s, err))
			ret = skl_ctl_via_agent(ctl, a.label, &s, a.pid, false, err);
		skl_ctl_sources_close(&s);
		return ret;
	}
	/* The label first: its error is the one a user acts on first. */
	if (skl_pod_target_open(&pod, a.label, &t, err))
		return -1;
	if (!skl_ctl_sources_collect(a.label, a.fds, a.n_fds, a.pid, &s, err) &&
	    !skl_pod_sources_check(&pod, &t, &s, err) &&
	    !skl_pod_handover(&pod, &t, &s, cleared, err)) {
		skl_pod_registered(&t, &s, a.pid, cleared, &result);
		ret = skl_ctl_print_registered(&result, ctl->json, err);
	}
	skl_ctl_sources_close(&s);
	return ret;
}

const struct skl_ctl_command skl_ctl_register_cmd = {
	.name = "register",
	.run = run_register,
	.needs_state = true,
	.synopsis = "put a socket into the pod's dispatcher for a label",
	.help = register_help,
};

