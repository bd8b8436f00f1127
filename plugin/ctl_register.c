/*
 * sklookup-ctl register and unregister: put sockets into the pod's socket
 * map under a label, or take them out (exec, which creates them, is in
 * ctl_exec.c). Every socket meets the same checks, in
 * the order a user can act on them: the label exists, its bindings take the
 * socket's protocol and a family the socket serves, then what
 * skl_socket_check refuses (another netns, not listening, not bound,
 * connected). A label's sockets change by skl_socket_handover: one map update
 * per slot, so no lookup ever finds the label without a socket.
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctl_sources.h"
#include "ctl_view.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"


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

static int slot_of(int udp, int v6)
{
	return (int)skl_socket_slot(0, udp, v6);
}

static const char *protocol_name(int protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

/* --- command lines --- */


/* --- where the sockets come from --- */

/* Takes fd into s (closing it on failure when owned). */
int skl_ctl_sources_add(struct sources *s, int fd, bool owned, int user_fd, struct skl_err *err,
			const char *fmt, ...)
{
	struct source *src;
	va_list ap;

	if (s->n == SKL_SOCKET_SLOTS) {
		if (owned)
			close(fd);
		return skl_errf(err, SKL_EXIT_ERROR,
				"more than %d sockets for one label; it holds one per protocol "
				"(tcp, udp) and family (IPv4, IPv6)",
				SKL_SOCKET_SLOTS);
	}
	src = &s->v[s->n++];
	memset(src, 0, sizeof(*src));
	src->fd = fd;
	src->owned = owned;
	src->user_fd = user_fd;
	va_start(ap, fmt);
	vsnprintf(src->name, sizeof(src->name), fmt, ap);
	va_end(ap);
	return 0;
}

void skl_ctl_sources_close(struct sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].owned && s->v[i].fd >= 0)
			close(s->v[i].fd);
	s->n = 0;
}

/* An fd the caller passed: open, and not one of ours (every fd sklookup-ctl
 * opens is close-on-exec; an inherited one cannot be). */
static int check_passed(int fd, const char *hint, struct skl_err *err)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || (flags & FD_CLOEXEC))
		return skl_errf(err, SKL_EXIT_ERROR, "fd %d is not open in the caller%s", fd, hint);
	return 0;
}

static int from_caller(const int *fds, size_t n, struct sources *s, struct skl_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (check_passed(fds[i], "", err) ||
		    skl_ctl_sources_add(s, fds[i], false, fds[i], err, "fd %d", fds[i]))
			return -1;
	return 0;
}

static const char *pidfd_getfd_reason(int error)
{
	switch (error) {
	case EPERM:
		return "needs ptrace access (CAP_SYS_PTRACE or same user)";
	case EBADF:
		return "no such fd in that process";
	default:
		return strerror(error);
	}
}

/* Duplicates fd of process pid into this process (pidfd_getfd(2)): the
 * process keeps its socket and notices nothing. */
static int from_process(pid_t pid, const int *fds, size_t n, struct sources *s,
			struct skl_err *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return skl_errf(err, SKL_EXIT_ERROR, "pid %d: pidfd_open: %s", (int)pid,
				errno == ESRCH ? "no such process" : strerror(errno));
	for (size_t i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, fds[i], 0);

		if (fd < 0) {
			skl_errf(err, SKL_EXIT_ERROR, "pid %d fd %d: pidfd_getfd: %s", (int)pid,
				 fds[i], pidfd_getfd_reason(errno));
			close(pidfd);
			return -1;
		}
		if (skl_ctl_sources_add(s, fd, true, fds[i], err, "pid %d fd %d", (int)pid, fds[i])) {
			close(pidfd);
			return -1;
		}
	}
	close(pidfd);
	return 0;
}

/* systemd passes fds 3.. to the process named by LISTEN_PID (sd_listen_fds(3));
 * a wrapper that does not set it means us. */
static bool listen_fds_are_ours(void)
{
	const char *pid = getenv("LISTEN_PID");
	long value;

	if (!getenv("LISTEN_FDS"))
		return false;
	return !pid || (!skl_ctl_parse_long(pid, 1, INT32_MAX, &value) && value == (long)getpid());
}

/* True if field i of the colon-separated list is want. */
static bool field_is(const char *list, long i, const char *want)
{
	size_t len = strlen(want);

	for (; i > 0 && list; i--) {
		list = strchr(list, ':');
		list = list ? list + 1 : NULL;
	}
	return list && !strncmp(list, want, len) && (list[len] == ':' || !list[len]);
}

static int from_listen_fds(const char *label, struct sources *s, struct skl_err *err)
{
	const char *count = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	long n;

	if (skl_ctl_parse_long(count, 1, INT32_MAX - LISTEN_FDS_START, &n))
		return skl_errf(err, SKL_EXIT_ERROR,
				"LISTEN_FDS=\"%.32s\" is not a positive number of fds", count);
	for (long i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + (int)i;

		if (names && !field_is(names, i, label))
			continue;
		if (check_passed(fd, " (LISTEN_FDS)", err) ||
		    skl_ctl_sources_add(s, fd, false, fd, err, "fd %d", fd))
			return -1;
	}
	if (s->n == 0)
		return skl_errf(err, SKL_EXIT_ERROR,
				"no fd in LISTEN_FDS is named \"%s\" (LISTEN_FDNAMES=\"%.200s\"); "
				"name the socket %s (systemd: FileDescriptorName=%s) or give "
				"--fd N",
				label, names, label, label);
	return 0;
}

/* --- the checks --- */

/* Reads which slots the label's bindings use. */
int skl_ctl_target_open(struct skl_ctl *ctl, const char *label, struct target *t,
			struct skl_err *err)
{
	struct skl_binding_set set;
	uint32_t *ids;

	memset(t, 0, sizeof(*t));
	t->name = label;
	if (skl_label_lookup(&ctl->d, label, &t->id, err) ||
	    skl_rules_read(&ctl->d, &set, &ids, err))
		return -1;
	for (size_t i = 0; i < set.n; i++)
		if (!strcmp(set.v[i].label, label))
			t->needs[slot_of(set.v[i].proto == IPPROTO_UDP,
					 set.v[i].family == SKL_FAMILY_V6)] = true;
	free(ids);
	skl_bindings_free(&set);
	return 0;
}

/* Library messages name this process's fd number ("fd 5: ..."); say which
 * socket the user meant instead. */
static int named(const struct source *s, struct skl_err *err)
{
	char prefix[32], rest[sizeof(err->msg)];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "fd %d: ", s->fd);

	if (strncmp(err->msg, prefix, n)) {
		skl_err_prefix(err, "%s", s->name);
	} else {
		memcpy(rest, err->msg + n, sizeof(err->msg) - n);
		snprintf(err->msg, sizeof(err->msg), "%s: %.*s", s->name,
			 (int)(sizeof(err->msg) - n), rest);
	}
	err->code = SKL_EXIT_ERROR;
	return -1;
}

static int check_protocol(const struct target *t, const struct source *s, struct skl_err *err)
{
	int udp = s->info.protocol == IPPROTO_UDP;

	if (t->needs[slot_of(udp, 0)] || t->needs[slot_of(udp, 1)])
		return 0;
	if (t->needs[slot_of(!udp, 0)] || t->needs[slot_of(!udp, 1)])
		return skl_errf(err, SKL_EXIT_ERROR,
				"%s: label %s has only %s bindings; this is a %s socket", s->name,
				t->name, protocol_name(udp ? IPPROTO_TCP : IPPROTO_UDP),
				protocol_name(s->info.protocol));
	return skl_errf(err, SKL_EXIT_ERROR,
			"%s: label %s has no bindings now; no traffic would reach this socket",
			s->name, t->name);
}

static int check_family(const struct target *t, const struct source *s, struct skl_err *err)
{
	const char *proto = protocol_name(s->info.protocol);
	bool slots[SKL_SOCKET_SLOTS];

	skl_socket_slots(&s->info, slots);
	for (int i = 0; i < SKL_SOCKET_SLOTS; i++)
		if (slots[i] && t->needs[i])
			return 0;
	if (s->info.family == AF_INET)
		return skl_errf(err, SKL_EXIT_ERROR,
				"%s: label %s has only IPv6 %s bindings; this is an IPv4 socket "
				"(use an IPv6 one; bound to [::] and not v6only it serves IPv4 "
				"and IPv6)",
				s->name, t->name, proto);
	return skl_errf(err, SKL_EXIT_ERROR,
			"%s: label %s has only IPv4 %s bindings; this IPv6 socket is v6only (a "
			"dual-stack one, IPV6_V6ONLY=0 as for [::], serves IPv4 and IPv6)",
			s->name, t->name, proto);
}

static int check_source(struct skl_ctl *ctl, const struct target *t, struct source *s,
			struct skl_err *err)
{
	if (skl_socket_identify(s->fd, &s->info, err))
		return named(s, err);
	if (check_protocol(t, s, err) || check_family(t, s, err))
		return -1;
	if (skl_socket_check(&ctl->d, s->fd, &s->info, err) ||
	    skl_socket_local_addr(s->fd, s->local, sizeof(s->local), err))
		return named(s, err);
	return 0;
}

int skl_ctl_sources_check(struct skl_ctl *ctl, const struct target *t, struct sources *s,
			  struct skl_err *err)
{
	struct skl_socket_info infos[SKL_SOCKET_SLOTS];
	size_t a, b;
	int slot;

	for (size_t i = 0; i < s->n; i++) {
		if (check_source(ctl, t, &s->v[i], err))
			return -1;
		infos[i] = s->v[i].info;
	}
	if (skl_socket_clash(infos, s->n, &a, &b, &slot))
		return skl_errf(err, SKL_EXIT_ERROR,
				"%s and %s would both serve %s IPv%d of label %s; a label holds "
				"one socket per protocol and family (for a SO_REUSEPORT group, "
				"register one member)",
				s->v[a].name, s->v[b].name,
				protocol_name(slot & 2 ? IPPROTO_UDP : IPPROTO_TCP),
				slot & 1 ? 6 : 4, t->name);
	return 0;
}

/* Under the pod's lock: a bindings change since skl_ctl_target_open may
 * have moved or removed the label, so it is read and checked again. */
static int handover_locked(struct skl_ctl *ctl, const struct target *t, const struct sources *s,
			   uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	int fds[SKL_SOCKET_SLOTS];
	struct target now;

	if (skl_ctl_target_open(ctl, t->name, &now, err))
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		if (check_protocol(&now, &s->v[i], err) || check_family(&now, &s->v[i], err))
			return -1;
		fds[i] = s->v[i].fd;
	}
	if (skl_socket_handover(&ctl->d, now.id, fds, s->n, cleared, err)) {
		err->code = SKL_EXIT_ERROR;
		return -1;
	}
	return 0;
}

int skl_ctl_handover(struct skl_ctl *ctl, const struct target *t, const struct sources *s,
		     uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	int lock_fd = -1, ret;

	if (skl_ctl_lock(ctl, &lock_fd, err))
		return -1;
	ret = handover_locked(ctl, t, s, cleared, err);
	skl_state_unlock(lock_fd);
	return ret;
}

/* --- output --- */

/* "IPv4", "IPv6" or "IPv4+IPv6" for the slots of one protocol. */
static const char *families_text(const bool slots[SKL_SOCKET_SLOTS], int udp)
{
	bool v4 = slots[slot_of(udp, 0)], v6 = slots[slot_of(udp, 1)];

	return v4 && v6 ? "IPv4+IPv6" : v4 ? "IPv4" : "IPv6";
}

static void print_registered(const struct target *t, const struct source *s,
			     const uint64_t cleared[SKL_SOCKET_SLOTS])
{
	int udp = s->info.protocol == IPPROTO_UDP;
	bool slots[SKL_SOCKET_SLOTS];

	skl_socket_slots(&s->info, slots);
	printf("registered %s (%s %s, cookie %llu) for label %s: %s %s\n", s->name,
	       protocol_name(s->info.protocol), s->local, (unsigned long long)s->info.cookie,
	       t->name, protocol_name(s->info.protocol), families_text(slots, udp));
	for (int v6 = 0; v6 <= 1; v6++)
		if (cleared[slot_of(udp, v6)])
			printf("removed the replaced socket (cookie %llu) from %s IPv%d of label "
			       "%s: the new socket does not serve it\n",
			       (unsigned long long)cleared[slot_of(udp, v6)],
			       protocol_name(s->info.protocol), v6 ? 6 : 4, t->name);
}

static cJSON *slots_json(const bool slots[SKL_SOCKET_SLOTS])
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < SKL_SOCKET_SLOTS; i++)
		if (slots[i])
			cJSON_AddItemToArray(arr, cJSON_CreateString(skl_slot_names[i]));
	return arr;
}

static cJSON *registered_json(const struct target *t, const struct source *s, pid_t pid,
			      const uint64_t cleared[SKL_SOCKET_SLOTS])
{
	int udp = s->info.protocol == IPPROTO_UDP;
	cJSON *o = cJSON_CreateObject(), *gone;
	bool slots[SKL_SOCKET_SLOTS];

	skl_socket_slots(&s->info, slots);
	cJSON_AddStringToObject(o, "label", t->name);
	cJSON_AddNumberToObject(o, "fd", s->user_fd);
	if (pid)
		cJSON_AddNumberToObject(o, "pid", pid);
	cJSON_AddStringToObject(o, "protocol", protocol_name(s->info.protocol));
	cJSON_AddStringToObject(o, "family", s->info.family == AF_INET6 ? "ipv6" : "ipv4");
	cJSON_AddBoolToObject(o, "v6only", s->info.v6only);
	cJSON_AddStringToObject(o, "local", s->local);
	cJSON_AddNumberToObject(o, "cookie", (double)s->info.cookie);
	cJSON_AddItemToObject(o, "slots", slots_json(slots));
	gone = cJSON_AddArrayToObject(o, "cleared");
	for (int v6 = 0; gone && v6 <= 1; v6++) {
		uint64_t cookie = cleared[slot_of(udp, v6)];
		cJSON *c;

		if (!cookie)
			continue;
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "slot", skl_slot_names[slot_of(udp, v6)]);
		cJSON_AddNumberToObject(c, "cookie", (double)cookie);
		cJSON_AddItemToArray(gone, c);
	}
	return o;
}

/* A cleared slot belongs to the one new socket of that protocol: only a
 * protocol with a single new socket can leave one of its slots unserved. */
static void cleared_by(const struct source *s, const uint64_t cleared[SKL_SOCKET_SLOTS],
		       uint64_t out[SKL_SOCKET_SLOTS], bool *reported)
{
	int udp = s->info.protocol == IPPROTO_UDP;

	memset(out, 0, SKL_SOCKET_SLOTS * sizeof(out[0]));
	if (reported[udp])
		return;
	reported[udp] = true;
	out[slot_of(udp, 0)] = cleared[slot_of(udp, 0)];
	out[slot_of(udp, 1)] = cleared[slot_of(udp, 1)];
}

static int report_registered(const struct skl_ctl *ctl, const struct target *t,
			     const struct sources *s, pid_t pid,
			     const uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	bool reported[2] = { false, false };
	cJSON *arr = ctl->json && s->n > 1 ? cJSON_CreateArray() : NULL, *one = NULL;

	for (size_t i = 0; i < s->n; i++) {
		uint64_t mine[SKL_SOCKET_SLOTS];

		cleared_by(&s->v[i], cleared, mine, reported);
		if (!ctl->json)
			print_registered(t, &s->v[i], mine);
		else if (arr)
			cJSON_AddItemToArray(arr, registered_json(t, &s->v[i], pid, mine));
		else
			one = registered_json(t, &s->v[i], pid, mine);
	}
	return ctl->json ? skl_ctl_print_json(arr ? arr : one, err) : 0;
}

/* --- register --- */

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
				return skl_errf(err, SKL_EXIT_USAGE,
						"register: --fd \"%s\" is not an fd number", value);
			if (a->n_fds == SKL_SOCKET_SLOTS)
				return skl_errf(err, SKL_EXIT_USAGE,
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
				return skl_errf(err, SKL_EXIT_USAGE,
						"register: --pid \"%s\" is not a process id",
						value);
			continue;
		}
		if (argv[i][0] == '-' || a->label)
			return skl_errf(err, SKL_EXIT_USAGE,
					"register: unexpected \"%s\"; see register --help",
					argv[i]);
		a->label = argv[i];
	}
	if (!a->label)
		return skl_errf(err, SKL_EXIT_USAGE, "register: give a LABEL; see register --help");
	if (a->pid && !a->n_fds)
		return skl_errf(err, SKL_EXIT_USAGE,
				"register: --pid needs --fd N, the socket's fd number in that "
				"process");
	return 0;
}

static int collect(const struct register_args *a, struct sources *s, struct skl_err *err)
{
	static const int fd3 = LISTEN_FDS_START;

	if (a->pid)
		return from_process((pid_t)a->pid, a->fds, a->n_fds, s, err);
	if (a->n_fds)
		return from_caller(a->fds, a->n_fds, s, err);
	if (listen_fds_are_ours())
		return from_listen_fds(a->label, s, err);
	if (check_passed(fd3, "; pass the socket on fd 3, or give --fd N, --pid PID --fd N or "
			      "LISTEN_FDS (see register --help)", err))
		return -1;
	return from_caller(&fd3, 1, s, err);
}

/* The client side through the node agent (ctl->agent): the agent checks,
 * registers and says what register would. */
int skl_ctl_via_agent(struct skl_ctl *ctl, const char *label, const struct sources *s, long pid,
		      bool quiet, struct skl_err *err)
{
	struct skl_ctl_passed p[SKL_SOCKET_SLOTS];

	for (size_t i = 0; i < s->n; i++) {
		p[i].fd = s->v[i].fd;
		p[i].user_fd = s->v[i].user_fd;
		snprintf(p[i].name, sizeof(p[i].name), "%s", s->v[i].name);
	}
	return skl_ctl_agent_register(ctl, label, p, s->n, pid, quiet, err);
}

static int run_register(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	uint64_t cleared[SKL_SOCKET_SLOTS];
	struct sources s = { .n = 0 };
	struct register_args a;
	struct target t;
	int ret = -1;

	if (parse_register(argc, argv, &a, err))
		return -1;
	if (ctl->agent) {
		if (!collect(&a, &s, err))
			ret = skl_ctl_via_agent(ctl, a.label, &s, a.pid, false, err);
		skl_ctl_sources_close(&s);
		return ret;
	}
	if (skl_ctl_target_open(ctl, a.label, &t, err))
		return -1;
	if (!collect(&a, &s, err) && !skl_ctl_sources_check(ctl, &t, &s, err) &&
	    !skl_ctl_handover(ctl, &t, &s, cleared, err))
		ret = report_registered(ctl, &t, &s, (pid_t)a.pid, cleared, err);
	skl_ctl_sources_close(&s);
	return ret;
}

int skl_ctl_register_passed(struct skl_ctl *ctl, const char *label, const struct skl_ctl_passed *p,
			    size_t n, long pid, struct skl_err *err)
{
	uint64_t cleared[SKL_SOCKET_SLOTS];
	struct sources s = { .n = 0 };
	struct target t;

	if (skl_ctl_target_open(ctl, label, &t, err))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (skl_ctl_sources_add(&s, p[i].fd, false, p[i].user_fd, err, "%s", p[i].name))
			return -1;
	if (skl_ctl_sources_check(ctl, &t, &s, err) || skl_ctl_handover(ctl, &t, &s, cleared, err))
		return -1;
	return report_registered(ctl, &t, &s, (pid_t)pid, cleared, err);
}

/* --- unregister --- */

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
				return skl_errf(err, SKL_EXIT_USAGE,
						"unregister: --protocol \"%s\": use tcp or udp",
						value);
			*protocol = value[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		} else if (argv[i][0] == '-' || *label) {
			return skl_errf(err, SKL_EXIT_USAGE,
					"unregister: unexpected \"%s\"; see unregister --help",
					argv[i]);
		} else {
			*label = argv[i];
		}
	}
	if (!*label)
		return skl_errf(err, SKL_EXIT_USAGE,
				"unregister: give a LABEL; see unregister --help");
	return 0;
}

/* Groups the removed slots by socket: a dual-stack socket held two. */
static int report_removed(const struct skl_ctl *ctl, const char *label, int protocol,
			  const uint64_t removed[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	cJSON *doc = ctl->json ? cJSON_CreateObject() : NULL;
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "removed") : NULL;
	bool done[SKL_SOCKET_SLOTS] = { false };
	int count = 0;

	if (doc)
		cJSON_AddStringToObject(doc, "label", label);
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
		bool slots[SKL_SOCKET_SLOTS] = { false };
		cJSON *o;

		if (!removed[s] || done[s])
			continue;
		for (int k = s; k < SKL_SOCKET_SLOTS; k++)
			done[k] = slots[k] = done[k] || removed[k] == removed[s];
		count++;
		if (!ctl->json) {
			printf("unregistered socket cookie %llu from label %s: %s %s\n",
			       (unsigned long long)removed[s], label,
			       protocol_name(s & 2 ? IPPROTO_UDP : IPPROTO_TCP),
			       families_text(slots, s >> 1));
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "cookie", (double)removed[s]);
		cJSON_AddItemToObject(o, "slots", slots_json(slots));
		cJSON_AddItemToArray(arr, o);
	}
	if (!count && !ctl->json)
		printf("label %s had no %ssocket registered; nothing to do\n", label,
		       protocol == IPPROTO_TCP ? "tcp " : protocol == IPPROTO_UDP ? "udp " : "");
	return ctl->json ? skl_ctl_print_json(doc, err) : 0;
}

static int run_unregister(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	uint64_t before[SKL_SOCKET_SLOTS];
	const char *label;
	int protocol;
	uint32_t id;

	int lock_fd = -1, ret;

	if (parse_unregister(argc, argv, &label, &protocol, err))
		return -1;
	if (ctl->agent)
		return skl_ctl_agent_unregister(ctl, label, protocol, err);
	if (skl_ctl_lock(ctl, &lock_fd, err))
		return -1;
	ret = skl_label_lookup(&ctl->d, label, &id, err) ||
	      skl_socket_label_cookies(&ctl->d, id, before, err) ||
	      skl_socket_unregister(&ctl->d, id, protocol, err);
	skl_state_unlock(lock_fd);
	if (ret)
		return -1;
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++)
		if (protocol && (protocol == IPPROTO_UDP) != (s >> 1))
			before[s] = 0;
	return report_removed(ctl, label, protocol, before, err);
}

const struct skl_ctl_command skl_ctl_register_cmd = {
	.name = "register",
	.run = run_register,
	.needs_state = true,
	.synopsis = "put a socket into the pod's dispatcher for a label",
	.help = register_help,
};

const struct skl_ctl_command skl_ctl_unregister_cmd = {
	.name = "unregister",
	.run = run_unregister,
	.needs_state = true,
	.synopsis = "take a label's sockets out of the dispatcher",
	.help = unregister_help,
};
