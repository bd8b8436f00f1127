/* sklookup-ctl monitor: shows the real decisions of a pod's dispatcher
 * (or of every pod on the node) as they happen, through a BPF ring buffer
 * that sits in the pod's monitor slot only while this runs (monitor.h). */
#include "ctl_monitor.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define RESCAN_MS 1000 /* how soon a new pod (--all) is watched and a deleted one dropped */

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] monitor [--all] [FILTERS] [--sample N]\n"
	"                    [--count N] [--duration SECONDS]\n"
	"\n"
	"Shows the real decisions of the pod's dispatcher as they happen: time, pod,\n"
	"protocol, source and destination address:port, verdict (pass or drop) and\n"
	"reason (no-binding, assigned, no-socket-pass, no-socket, assign-error with\n"
	"its errno), the binding and label, and the socket's cookie. --all watches\n"
	"every pod on the node (and pods added meanwhile). With --json, one object\n"
	"per line.\n"
	"\n"
	"While a monitor runs, every decision of the pod goes through a ring buffer\n"
	"of " SKL_STR(SKL_MONITOR_RING_KIB) " KiB; with none running, the dispatcher pays one\n"
	"branch. Decisions the ring had no room for are counted and reported as\n"
	"lost. One monitor per pod; a monitor that was killed is replaced.\n"
	"Inside a pod without privileges it goes through the node agent, for that\n"
	"pod's own decisions only.\n"
	"\n"
	"Filters: --label NAME, --binding ID, --verdict pass|drop, --reason REASON,\n"
	"--protocol tcp|udp, --dst PREFIX (e.g. 203.0.113.0/24).\n"
	"--sample N shows one matching decision in N. --count N stops after N shown,\n"
	"--duration SECONDS after that long; otherwise it runs until interrupted.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;

	if (size < sizeof(struct skl_monitor_event))
		return 0;
	/* Non-zero ends ring_buffer__poll: --count reached. */
	return skl_monitor_show(m, data);
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Reads the ring until interrupted, --count or --duration. */
static int watch_loop(struct monitor *m, struct skl_err *err)
{
	struct ring_buffer *rb = ring_buffer__new(m->ring_fd, on_event, m, NULL);
	uint64_t start = now_ns(CLOCK_MONOTONIC), next_scan = start;
	int ret = 0;

	if (!rb)
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the monitor's ring: %s",
				strerror(errno));
	while (!stop) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int n;

		if (m->duration_s && now - start >= (uint64_t)m->duration_s * 1000000000u)
			break;
		if (now >= next_scan) {
			/* A pod deleted meanwhile is no more watched; a monitor
			 * of one pod ends with it. */
			if (!skl_monitor_forget_gone_pods(m) && !m->all)
				break;
			if (m->all)
				skl_monitor_watch_new_pods(m, NULL);
			next_scan = now + RESCAN_MS * 1000000ull;
		}
		/* Woken for a batch, else on the timer: the program wakes
		 * the reader only when a quarter of the ring waits. */
		n = ring_buffer__poll(rb, SKL_MONITOR_READ_MS);
		if (n >= 0)
			n = ring_buffer__consume(rb);
		skl_monitor_show_new_losses(m);
		fflush(stdout);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			if (m->max_shown && m->shown >= m->max_shown)
				break; /* on_event's non-zero: --count reached */
			ret = skl_errf(err, SKL_CNI_INTERNAL, "reading the monitor's ring: %s",
				       strerror(-n));
			break;
		}
		if (m->max_shown && m->shown >= m->max_shown)
			break;
	}
	ring_buffer__free(rb);
	return ret;
}

/* What the ring could not hold and was not reported yet, then the totals. */
static void report_lost(struct monitor *m)
{
	skl_monitor_show_new_losses(m);
	fprintf(stderr, "sklookup-ctl: monitor: %lu decisions shown, %llu lost\n", m->shown,
		(unsigned long long)m->lost_reported);
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct monitor m = { .ctl = ctl, .ring_fd = -1 };
	int ncpus = libbpf_num_possible_cpus(), ret;

	if (skl_monitor_parse_filter(ctl, argc, argv, &m, err))
		return -1;
	if (ncpus <= 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot count the CPUs");
	m.n_cpus = (size_t)ncpus;
	m.mono_to_real_ns = (int64_t)(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC));
	if (m.all && ctl->agent)
		return skl_ctl_usage(ctl, err, "monitor --all watches every pod of the node: run it "
					       "on the node, not through the agent");
	if (!m.all && skl_ctl_locate(ctl, &skl_ctl_monitor_cmd, err))
		return -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	install_signals();
	if (!m.all && ctl->agent)
		ret = skl_monitor_watch_via_agent(&m, err);
	else if (skl_monitor_ring_create(getpid(), &m.ring_fd, err))
		return -1;
	else
		ret = m.all ? skl_monitor_watch_new_pods(&m, err)
			    : skl_monitor_watch_located(&m, err);
	if (!ret)
		ret = watch_loop(&m, err);
	skl_monitor_unwatch_all(&m);
	if (!ret)
		report_lost(&m);
	if (m.ring_fd >= 0)
		close(m.ring_fd);
	return ret;
}

const struct skl_ctl_command skl_ctl_monitor_cmd = {
	.name = "monitor",
	.run = run,
	.needs_state = false, /* --all watches every pod; otherwise run() locates one */
	.synopsis = "show the dispatcher's real decisions as they happen",
	.help = help,
};
