/* sklookup-ctl monitor: what its files share (ctl_monitor.c runs it,
 * ctl_monitor_pods.c keeps the watched pods, ctl_monitor_print.c filters
 * and prints decisions). */
#ifndef SKL_CTL_MONITOR_H
#define SKL_CTL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "dispatch_abi.h"
#include "monitor_start.h"
#include "pod_identity.h"

/* What to show; -1 / 0 / NULL: anything. */
struct monitor_filter {
	const char *label;
	long binding;
	int verdict; /* 1 pass, 0 drop */
	int reason;  /* enum skl_monitor_reason */
	int proto;   /* IPPROTO_TCP, IPPROTO_UDP */
	bool has_dst;
	uint8_t dst_family, dst_plen;
	uint8_t dst_addr[SKL_ADDR_BYTES];
	unsigned long sample; /* show one matching decision in sample */
};

/* A watched pod: its dispatcher, and what its events need to be read. */
struct monitor_pod {
	char dir[PATH_MAX];
	char name[SKL_POD_DISPLAY_MAX]; /* how the output names it (pod_name) */
	uint64_t netns_cookie;
	struct skl_dispatcher d;
	struct skl_pod pod;
	uint64_t *lost_seen; /* per CPU: the latest count an event carried */
	uint64_t *lost_base; /* per CPU: the count when the monitor began */
	uint64_t lost_reported; /* shown as lost so far */
	int netns_fd;
	/* Through the node agent: no maps, but their snapshot at the start
	 * (label names, sockets' cookies); d is not open. */
	bool via_agent;
	struct skl_monitor_start start;
};

struct monitor {
	struct skl_ctl *ctl;
	struct monitor_filter filter;
	bool all;
	int ring_fd;
	size_t n_cpus;
	struct monitor_pod **pods;
	size_t n_pods, cap_pods;
	unsigned long matched, shown, max_shown;
	long duration_s; /* 0: until interrupted */
	uint64_t lost_reported;
	int64_t mono_to_real_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC at start */
};

/* ctl_monitor_pods.c */
int skl_monitor_watch_located(struct monitor *m, struct skl_err *err);
/* The pod this process runs in, through the node agent (ctl->agent). */
int skl_monitor_watch_via_agent(struct monitor *m, struct skl_err *err);
int skl_monitor_watch_new_pods(struct monitor *m, struct skl_err *err);
void skl_monitor_unwatch_all(struct monitor *m);
/* Stops watching the pods whose state was deleted (DEL); how many are left. */
int skl_monitor_forget_gone_pods(struct monitor *m);
struct monitor_pod *skl_monitor_pod_by_cookie(struct monitor *m, uint64_t netns_cookie);
/* Lost decisions of pod p so far (per-CPU totals now, less those at start). */
uint64_t skl_monitor_pod_lost(const struct monitor_pod *p, size_t n_cpus);

/* ctl_monitor_print.c */
int skl_monitor_parse_filter(struct skl_ctl *ctl, int argc, char **argv, struct monitor *m,
			     struct skl_err *err);
/* Shows the event if it passes the filter (and the sample); 1 when the
 * monitor has shown all it was asked for. */
int skl_monitor_show(struct monitor *m, const struct skl_monitor_event *e);
/* Reports decisions lost since the last report (n of them). */
void skl_monitor_show_lost(struct monitor *m, struct monitor_pod *p, uint64_t n);
/* Reports what the pods' totals count as lost beyond what was reported:
 * losses after the last event that came. */
void skl_monitor_show_new_losses(struct monitor *m);

#endif
