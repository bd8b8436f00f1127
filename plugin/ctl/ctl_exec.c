/*
 * sklookup-ctl exec: create the sockets --listen asks for in the pod's
 * network namespace, register them for a label (the checks and handover of
 * register, ctl_sources.h), and run a socket-activated server with them
 * (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, as systemd passes them).
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_sources.h"
#include "dispatch_abi.h"
#include "sockets.h"

static const char exec_help[] =
	"usage: sklookup-ctl [OPTIONS] exec --label LABEL --listen URL [--listen URL]...\n"
	"                    [--reuseport] [--freebind] -- CMD [ARGS]...\n"
	"\n"
	"Creates the sockets, registers them for LABEL (with register's checks, all\n"
	"at once), and runs CMD in place of sklookup-ctl with them passed the systemd\n"
	"way: fds 3, 4, ... in --listen order, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES\n"
	"(LABEL for each). A socket-activated server needs no change. Sockets this\n"
	"process got the same way (LISTEN_PID its pid) stay first: chain execs for\n"
	"the sockets of several labels. The sockets belong to CMD: when it exits\n"
	"they close and leave the dispatcher. If anything fails before CMD runs,\n"
	"nothing stays registered.\n"
	"\n"
	"  --listen URL   tcp://ADDR:PORT (listen(SOMAXCONN)) or udp://ADDR:PORT. ADDR\n"
	"                 is an IPv4 address, 0.0.0.0, [IPv6] (v6only), or [::]: one\n"
	"                 dual-stack socket for IPv4 and IPv6 (IPV6_V6ONLY=0). PORT may\n"
	"                 be 0. The bindings decide the traffic the socket gets; its\n"
	"                 own address also takes ordinary traffic. At most one socket\n"
	"                 per protocol and family.\n"
	"  --reuseport    set SO_REUSEPORT, so that more workers can join the group\n"
	"  --freebind     set IP_FREEBIND / IPV6_FREEBIND: a UDP server may then reply\n"
	"                 from any address of the bindings with IPV6_PKTINFO, also an\n"
	"                 IPv6 address only a local route covers (unbound needs it)\n"
	"  --             required before CMD\n"
	"\n"
	"The sockets are created in the pod's network namespace; CMD runs where\n"
	"sklookup-ctl runs (inside the pod, typically as its entrypoint). A UDP server\n"
	"answers from its socket's port: bind UDP to the port the bindings serve, and\n"
	"reply with IP_PKTINFO / IPV6_PKTINFO to answer from the address asked.\n"
	"\n"
	"Examples:\n"
	"  sklookup-ctl exec --label web --listen tcp://[::]:8080 -- nginx -g 'daemon off;'\n"
	"  sklookup-ctl exec --label dns --listen udp://0.0.0.0:53 --listen udp://[::1]:53 \\\n"
	"      -- /usr/sbin/mydns\n";

struct listen_spec {
	const char *url;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;
	socklen_t len;
	bool dual_stack; /* [::]: IPV6_V6ONLY=0 */
};

struct exec_args {
	const char *label;
	struct listen_spec listen[SKL_SOCKET_SLOTS];
	size_t n_listen;
	bool reuseport;
	bool freebind; /* IP_FREEBIND / IPV6_FREEBIND before handover */
	char **cmd;
};

static int bad_url(const char *url, struct skl_err *err)
{
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"exec: --listen \"%s\": expected tcp://ADDR:PORT or udp://ADDR:PORT with "
			"ADDR an IPv4 address or [IPv6] and PORT 0.." SKL_STR(SKL_PORT_MAX),
			url);
}

#define SCHEME_LEN (sizeof("tcp://") - 1) /* and "udp://" */

static int parse_url(const char *url, struct listen_spec *l, struct skl_err *err)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&l->addr;
	char host[INET6_ADDRSTRLEN + 2];
	const char *rest = url + SCHEME_LEN, *colon;
	size_t host_len;
	long port;

	memset(l, 0, sizeof(*l));
	l->url = url;
	if (strncmp(url, "tcp://", SCHEME_LEN) && strncmp(url, "udp://", SCHEME_LEN))
		return bad_url(url, err);
	l->type = url[0] == 't' ? SOCK_STREAM : SOCK_DGRAM;
	colon = strrchr(rest, ':');
	if (!colon || skl_ctl_parse_long(colon + 1, 0, SKL_PORT_MAX, &port))
		return bad_url(url, err);
	host_len = (size_t)(colon - rest);
	if (rest[0] == '[') {
		if (host_len < 3 || rest[host_len - 1] != ']' || host_len - 2 >= sizeof(host))
			return bad_url(url, err);
		memcpy(host, rest + 1, host_len - 2);
		host[host_len - 2] = 0;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return bad_url(url, err);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		l->len = sizeof(*in6);
		l->dual_stack = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
		return 0;
	}
	if (host_len >= sizeof(host))
		return bad_url(url, err);
	memcpy(host, rest, host_len);
	host[host_len] = 0;
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return bad_url(url, err);
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	l->len = sizeof(*in4);
	return 0;
}

static int parse_exec(int argc, char **argv, struct exec_args *a, struct skl_err *err)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *value = NULL;
		int got;

		if (!strcmp(argv[i], "--reuseport")) {
			a->reuseport = true;
			continue;
		}
		if (!strcmp(argv[i], "--freebind")) {
			a->freebind = true;
			continue;
		}
		if ((got = skl_ctl_take_value(argc, argv, &i, "--label", &value, err)) < 0)
			return -1;
		if (got) {
			a->label = value;
			continue;
		}
		if ((got = skl_ctl_take_value(argc, argv, &i, "--listen", &value, err)) < 0)
			return -1;
		if (!got)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"exec: unexpected \"%s\"; put -- before the command "
					"(sklookup-ctl exec --label L --listen URL -- CMD ...)",
					argv[i]);
		if (a->n_listen == SKL_SOCKET_SLOTS)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"exec: at most %d --listen: a label holds one socket per "
					"protocol and family", SKL_SOCKET_SLOTS);
		if (parse_url(value, &a->listen[a->n_listen++], err))
			return -1;
	}
	if (!a->label)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"exec: give --label LABEL; see exec --help");
	if (!a->n_listen)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"exec: give --listen tcp://ADDR:PORT or udp://ADDR:PORT; see "
				"exec --help");
	if (i + 1 >= argc)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"exec: give the command after --: sklookup-ctl exec --label L "
				"--listen URL -- CMD [ARGS]");
	a->cmd = argv + i + 1;
	return 0;
}

/* Finds cmd as execvp will, so that a typo fails before anything is
 * registered. */
static int check_command(const char *cmd, struct skl_err *err)
{
	const char *path = getenv("PATH");
	char full[PATH_MAX];

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s: %s", cmd, strerror(errno));
		return 0;
	}
	if (!path)
		path = "/bin:/usr/bin"; /* execvp's default */
	for (const char *dir = path; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
		int len = (int)strcspn(dir, ":");

		snprintf(full, sizeof(full), "%.*s/%s", len ? len : 1, len ? dir : ".", cmd);
		if (!access(full, X_OK))
			return 0;
	}
	return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: command not found in PATH", cmd);
}

static const char *bind_hint(int error)
{
	switch (error) {
	case EADDRNOTAVAIL:
		return " (not an address of the pod; 0.0.0.0 or [::] will do: the bindings "
		       "decide the traffic)";
	case EADDRINUSE:
		return " (another socket has it; use another port, port 0, or --reuseport "
		       "with a group that has SO_REUSEPORT)";
	default:
		return "";
	}
}

/* The kernel accepts an IPV6_PKTINFO source address that no interface has
 * (an address of a local route) only from a socket with this flag; it is
 * the same flag as IP_FREEBIND. */
static int set_freebind(int fd, int family)
{
	int one = 1;

	return family == AF_INET6
		       ? setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))
		       : setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
}

static int open_socket(const struct listen_spec *l, const struct exec_args *a, int *out,
		       struct skl_err *err)
{
	int one = 1, v6only = !l->dual_stack;
	int fd = socket(l->addr.ss_family, l->type | SOCK_CLOEXEC, 0);
	const char *step = "socket";

	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "%s: socket: %s", l->url, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		step = "SO_REUSEADDR";
	else if (a->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		step = "SO_REUSEPORT";
	else if (a->freebind && set_freebind(fd, l->addr.ss_family))
		step = "FREEBIND";
	else if (l->addr.ss_family == AF_INET6 &&
		 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		step = "IPV6_V6ONLY";
	else if (bind(fd, (const struct sockaddr *)&l->addr, l->len))
		step = "bind";
	else if (l->type == SOCK_STREAM && listen(fd, SOMAXCONN))
		step = "listen";
	else
		step = NULL;
	if (step) {
		int error = errno;

		close(fd);
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%s: %s: %s%s", l->url, step, strerror(error),
				!strcmp(step, "bind") ? bind_hint(error) : "");
	}
	*out = fd;
	return 0;
}

struct opening {
	const struct exec_args *a;
	struct skl_sources *s;
	int first; /* fds 3.. already passed to this process */
};

/* Runs in the pod's netns: the sockets belong to it. */
static int open_sockets(void *arg, struct skl_err *err)
{
	const struct opening *o = arg;

	for (size_t i = 0; i < o->a->n_listen; i++) {
		const struct listen_spec *l = &o->a->listen[i];
		int fd = -1;

		if (open_socket(l, o->a, &fd, err) ||
		    skl_sources_add(o->s, fd, true, LISTEN_FDS_START + o->first + (int)i, err,
				    "%s", l->url))
			return -1;
	}
	return 0;
}

/* The sockets an enclosing exec (or systemd) passed to this very process:
 * LISTEN_PID is ours and fds 3.. are open. They stay where they are, and
 * the new sockets follow them, so that execs chain for a server that takes
 * the sockets of several labels. The count is capped where fds stop being
 * plausible. */
#define INHERITED_MAX 1024

static int inherited_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long p, n;

	if (!pid || !fds || skl_ctl_parse_long(pid, 1, INT32_MAX, &p) || p != (long)getpid() ||
	    skl_ctl_parse_long(fds, 1, INHERITED_MAX, &n))
		return 0;
	for (long i = 0; i < n; i++)
		if (fcntl(LISTEN_FDS_START + (int)i, F_GETFD) < 0)
			return 0;
	return (int)n;
}

/* Moves the sockets to fds 3+first.. (without close-on-exec) in order. The
 * ctl's own fds may sit there, so its state is closed first and opened
 * again above them. */
static int place_sockets(struct skl_ctl *ctl, struct skl_sources *s, int first,
			 struct skl_err *err)
{
	int first_free = LISTEN_FDS_START + first + (int)s->n;

	skl_ctl_close(ctl);
	/* Out of the way first, so that no dup2 below closes another of them. */
	for (size_t i = 0; i < s->n; i++) {
		int fd = fcntl(s->v[i].fd, F_DUPFD_CLOEXEC, first_free);

		if (fd < 0)
			return skl_errf(err, SKL_CNI_INTERNAL, "moving a socket: %s",
					strerror(errno));
		close(s->v[i].fd);
		s->v[i].fd = fd;
	}
	for (size_t i = 0; i < s->n; i++) {
		int target = LISTEN_FDS_START + first + (int)i;

		if (dup2(s->v[i].fd, target) < 0)
			return skl_errf(err, SKL_CNI_INTERNAL,
					"moving a socket to fd %d: %s", target,
					strerror(errno));
		close(s->v[i].fd);
		s->v[i].fd = target;
	}
	return ctl->agent ? 0 : skl_dispatcher_open(&ctl->d, ctl->state_dir, err);
}

/* LISTEN_FDNAMES: the inherited names (systemd's "unknown" for each when
 * there were none), then LABEL for each new socket. */
static int set_listen_env(const struct exec_args *a, int first, size_t n, struct skl_err *err)
{
	const char *before = first ? getenv("LISTEN_FDNAMES") : NULL;
	size_t len = (before ? strlen(before) : (size_t)first * sizeof("unknown")) +
		     n * (SKL_LABEL_MAX + 1) + 1;
	char count[16], pid[16], *names = malloc(len);
	int ret = 0;

	if (!names)
		return skl_errf(err, SKL_CNI_INTERNAL, "setting LISTEN_FDNAMES: out of memory");
	names[0] = 0;
	if (before)
		snprintf(names, len, "%s", before);
	for (int i = 0; !before && i < first; i++)
		snprintf(names + strlen(names), len - strlen(names), "%sunknown", i ? ":" : "");
	for (size_t i = 0; i < n; i++)
		snprintf(names + strlen(names), len - strlen(names), "%s%.*s",
			 first || i ? ":" : "", SKL_LABEL_MAX, a->label);
	snprintf(count, sizeof(count), "%zu", (size_t)first + n);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (setenv("LISTEN_FDS", count, 1) || setenv("LISTEN_PID", pid, 1) ||
	    setenv("LISTEN_FDNAMES", names, 1))
		ret = skl_errf(err, SKL_CNI_INTERNAL, "setting LISTEN_FDS: %s", strerror(errno));
	free(names);
	return ret;
}

static void withdraw(struct skl_ctl *ctl, const struct skl_target *t, const struct skl_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		skl_socket_withdraw(&ctl->d, t->id, s->v[i].info.cookie, NULL);
}

static int run_exec(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	uint64_t cleared[SKL_SOCKET_SLOTS];
	struct skl_pod pod = skl_ctl_pod(ctl);
	struct skl_sources s = { .n = 0 };
	struct opening o = { .s = &s };
	struct exec_args a;
	struct skl_target t;
	int first = inherited_fds();

	if (parse_exec(argc, argv, &a, err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (check_command(a.cmd[0], err) ||
	    (!ctl->agent && skl_pod_target_open(&pod, a.label, &t, err)))
		return -1;
	o.a = &a;
	o.first = first;
	/* Through the agent we run in the pod already; if exec fails below,
	 * the sockets close and so leave the dispatcher by themselves. */
	if (ctl->agent ? open_sockets(&o, err) || place_sockets(ctl, &s, first, err) ||
				 skl_ctl_via_agent(ctl, a.label, &s, 0, true, err)
		       : skl_ctl_in_pod(ctl, open_sockets, &o, err) ||
				 skl_pod_sources_check(&pod, &t, &s, err) ||
				 place_sockets(ctl, &s, first, err) ||
				 skl_pod_handover(&pod, &t, &s, cleared, err)) {
		skl_ctl_sources_close(&s);
		return -1;
	}
	if (!set_listen_env(&a, first, s.n, err)) {
		fflush(NULL);
		execvp(a.cmd[0], a.cmd);
		skl_errf(err, SKL_CNI_INTERNAL, "%s: exec: %s", a.cmd[0], strerror(errno));
	}
	if (!ctl->agent)
		withdraw(ctl, &t, &s);
	skl_ctl_sources_close(&s);
	return -1;
}

const struct skl_ctl_command skl_ctl_exec_cmd = {
	.name = "exec",
	.run = run_exec,
	.needs_state = true,
	.synopsis = "create sockets, register them, run a server with them",
	.help = exec_help,
};
