/* sklookup-ctl monitor: which decisions to show, and how (a text line or
 * one JSON object per line). */
#include "ctl_monitor.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bindings.h"
#include "monitor.h"
#include "rules.h"

static int parse_choice(const char *value, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(value, names[i]))
			return (int)i;
	return -1;
}

static int parse_option(struct skl_ctl *ctl, const char *name, const char *value,
			struct monitor *m, struct skl_err *err)
{
	struct monitor_filter *f = &m->filter;
	long n;

	if (!strcmp(name, "--label")) {
		if (!skl_label_valid(value))
			return skl_ctl_usage(ctl, err, "monitor: --label \"%.40s\" is no label name",
					     value);
		f->label = value;
	} else if (!strcmp(name, "--binding")) {
		if (skl_ctl_parse_long(value, 0, UINT32_MAX - 1, &f->binding))
			return skl_ctl_usage(ctl, err, "monitor: --binding takes a binding id");
	} else if (!strcmp(name, "--verdict")) {
		static const char *const verdicts[] = { "drop", "pass" };

		f->verdict = parse_choice(value, verdicts, 2);
		if (f->verdict < 0)
			return skl_ctl_usage(ctl, err, "monitor: --verdict is pass or drop");
	} else if (!strcmp(name, "--reason")) {
		const char *names[SKL_M_REASONS];

		for (unsigned r = 0; r < SKL_M_REASONS; r++)
			names[r] = skl_monitor_reason_name(r);
		f->reason = parse_choice(value, names, SKL_M_REASONS);
		if (f->reason < 0)
			return skl_ctl_usage(ctl, err,
					     "monitor: --reason is no-binding, assigned, "
					     "no-socket-pass, no-socket or assign-error");
	} else if (!strcmp(name, "--protocol")) {
		if (strcmp(value, "tcp") && strcmp(value, "udp"))
			return skl_ctl_usage(ctl, err, "monitor: --protocol is tcp or udp");
		f->proto = value[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
	} else if (!strcmp(name, "--dst")) {
		if (skl_prefix_parse(value, &f->dst_family, &f->dst_plen, f->dst_addr, err))
			return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
		f->has_dst = true;
	} else if (!strcmp(name, "--sample")) {
		if (skl_ctl_parse_long(value, 1, 1000000000, &n))
			return skl_ctl_usage(ctl, err, "monitor: --sample takes N from 1 up");
		f->sample = (unsigned long)n;
	} else if (!strcmp(name, "--count")) {
		if (skl_ctl_parse_long(value, 1, 1000000000, &n))
			return skl_ctl_usage(ctl, err, "monitor: --count takes N from 1 up");
		m->max_shown = (unsigned long)n;
	} else if (!strcmp(name, "--duration")) {
		if (skl_ctl_parse_long(value, 1, 86400 * 365, &n))
			return skl_ctl_usage(ctl, err, "monitor: --duration takes seconds from 1 up");
		m->duration_s = n;
	}
	return 0;
}

int skl_monitor_parse_filter(struct skl_ctl *ctl, int argc, char **argv, struct monitor *m,
			     struct skl_err *err)
{
	static const char *const valued[] = { "--label",  "--binding", "--verdict",
					      "--reason", "--protocol", "--dst",
					      "--sample", "--count",   "--duration" };

	m->filter = (struct monitor_filter){ .binding = -1, .verdict = -1, .reason = -1,
					     .sample = 1 };
	for (int i = 1; i < argc; i++) {
		const char *value = NULL;
		int taken = 0;

		if (!strcmp(argv[i], "--all")) {
			m->all = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]) && !taken; k++) {
			taken = skl_ctl_take_value(argc, argv, &i, valued[k], &value, err);
			if (taken < 0)
				return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
			if (taken && parse_option(ctl, valued[k], value, m, err))
				return -1;
		}
		if (!taken)
			return skl_ctl_usage(ctl, err, "monitor: unknown argument \"%.64s\"; see "
					     "sklookup-ctl monitor --help", argv[i]);
	}
	return 0;
}

/* True when the event's destination is inside the --dst prefix. */
static bool in_dst(const struct monitor_filter *f, const struct skl_monitor_event *e)
{
	const uint8_t *a = (const uint8_t *)e->dst;
	unsigned full = f->dst_plen / 8, rest = f->dst_plen % 8;

	if (e->family != f->dst_family || memcmp(a, f->dst_addr, full))
		return false;
	return !rest || ((a[full] ^ f->dst_addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void label_name(const struct monitor_pod *p, uint32_t id, char *out, size_t len)
{
	char name[SKL_LABEL_MAX + 1];

	out[0] = 0;
	for (size_t i = 0; p && p->via_agent && i < p->start.n_labels; i++)
		if (p->start.labels[i].id == id)
			snprintf(out, len, "%s", p->start.labels[i].name);
	if (p && !p->via_agent && id != SKL_NONE && skl_label_read(&p->d, id, name, NULL, NULL) > 0)
		snprintf(out, len, "%s", name);
}

/* The cookie of the socket in the slot the program looked up: the one it
 * picked, as long as nobody replaced it since. 0: none. */
static uint64_t socket_cookie(const struct monitor_pod *p, const struct skl_monitor_event *e)
{
	uint64_t cookie = 0;

	if (!p || e->slot == SKL_NONE ||
	    (e->reason != SKL_M_ASSIGNED && e->reason != SKL_M_ASSIGN_ERROR))
		return 0;
	if (p->via_agent) {
		for (size_t i = 0; i < p->start.n_sockets; i++)
			if (p->start.sockets[i].slot == e->slot)
				return p->start.sockets[i].cookie;
		return 0;
	}
	if (bpf_map_lookup_elem(p->d.map_fd[SKL_MAP_SOCKETS], &e->slot, &cookie))
		return 0;
	return cookie;
}

static void address(const struct skl_monitor_event *e, const uint32_t addr[4], char *out,
		    size_t len)
{
	if (!inet_ntop(e->family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void timestamp(const struct monitor *m, uint64_t mono_ns, char *out, size_t len)
{
	int64_t real = (int64_t)mono_ns + m->mono_to_real_ns;
	time_t secs = (time_t)(real / 1000000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), len - strlen(out), ".%06ldZ",
		 (long)(real % 1000000000 / 1000));
}

static void print_json(const struct monitor *m, const struct monitor_pod *p,
		       const struct skl_monitor_event *e, const char *label, uint64_t cookie)
{
	char when[40], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	cJSON *o = cJSON_CreateObject();
	char *text;
	bool ok;

	timestamp(m, e->time_ns, when, sizeof(when));
	address(e, e->src, src, sizeof(src));
	address(e, e->dst, dst, sizeof(dst));
	ok = o && cJSON_AddStringToObject(o, "time", when) &&
	     cJSON_AddStringToObject(o, "pod", p ? p->name : "?") &&
	     cJSON_AddStringToObject(o, "protocol", e->proto == IPPROTO_UDP ? "udp" : "tcp") &&
	     cJSON_AddStringToObject(o, "source", src) &&
	     cJSON_AddNumberToObject(o, "source_port", e->src_port) &&
	     cJSON_AddStringToObject(o, "destination", dst) &&
	     cJSON_AddNumberToObject(o, "destination_port", e->dst_port) &&
	     (e->binding == SKL_NONE ? cJSON_AddNullToObject(o, "binding") != NULL
				     : cJSON_AddNumberToObject(o, "binding", e->binding) != NULL) &&
	     (label[0] ? cJSON_AddStringToObject(o, "label", label) != NULL
		       : cJSON_AddNullToObject(o, "label") != NULL) &&
	     (cookie ? cJSON_AddNumberToObject(o, "socket_cookie", (double)cookie) != NULL
		     : cJSON_AddNullToObject(o, "socket_cookie") != NULL) &&
	     cJSON_AddStringToObject(o, "verdict", skl_monitor_verdict_name(e->verdict)) &&
	     cJSON_AddStringToObject(o, "reason", skl_monitor_reason_name(e->reason)) &&
	     (e->reason != SKL_M_ASSIGN_ERROR || cJSON_AddNumberToObject(o, "errno", e->err));
	text = ok ? cJSON_PrintUnformatted(o) : NULL;
	if (text)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
}

static void print_text(const struct monitor *m, const struct monitor_pod *p,
		       const struct skl_monitor_event *e, const char *label, uint64_t cookie)
{
	char when[40], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	bool v6 = e->family == SKL_FAMILY_V6;

	timestamp(m, e->time_ns, when, sizeof(when));
	address(e, e->src, src, sizeof(src));
	address(e, e->dst, dst, sizeof(dst));
	printf("%s %s %s %s%s%s:%u -> %s%s%s:%u %s %s", when, p ? p->name : "?",
	       e->proto == IPPROTO_UDP ? "udp" : "tcp", v6 ? "[" : "", src, v6 ? "]" : "",
	       e->src_port, v6 ? "[" : "", dst, v6 ? "]" : "", e->dst_port,
	       skl_monitor_verdict_name(e->verdict), skl_monitor_reason_name(e->reason));
	if (e->binding != SKL_NONE)
		printf(" binding %u label %s", e->binding, label[0] ? label : "?");
	if (cookie)
		printf(" socket %llu", (unsigned long long)cookie);
	if (e->reason == SKL_M_ASSIGN_ERROR)
		printf(" errno %d (%s)", e->err, strerror(e->err));
	printf("\n");
}

int skl_monitor_show(struct monitor *m, const struct skl_monitor_event *e)
{
	const struct monitor_filter *f = &m->filter;
	struct monitor_pod *p = skl_monitor_pod_by_cookie(m, e->netns_cookie);
	char label[SKL_LABEL_MAX + 1];
	uint64_t cookie;

	if (p && e->cpu < m->n_cpus && e->lost > p->lost_seen[e->cpu]) {
		skl_monitor_show_lost(m, p, e->lost - p->lost_seen[e->cpu]);
		p->lost_seen[e->cpu] = e->lost;
	}
	label_name(p, e->label, label, sizeof(label));
	if ((f->binding >= 0 && e->binding != (uint32_t)f->binding) ||
	    (f->verdict >= 0 && e->verdict != f->verdict) ||
	    (f->reason >= 0 && e->reason != f->reason) || (f->proto && e->proto != f->proto) ||
	    (f->label && strcmp(label, f->label)) || (f->has_dst && !in_dst(f, e)))
		return 0;
	if (m->matched++ % f->sample)
		return 0;
	cookie = socket_cookie(p, e);
	if (m->ctl->json)
		print_json(m, p, e, label, cookie);
	else
		print_text(m, p, e, label, cookie);
	return m->max_shown && ++m->shown >= m->max_shown;
}

void skl_monitor_show_lost(struct monitor *m, struct monitor_pod *p, uint64_t n)
{
	m->lost_reported += n;
	p->lost_reported += n;
	if (m->ctl->json) {
		cJSON *o = cJSON_CreateObject();
		char *text = o && cJSON_AddStringToObject(o, "pod", p->name) &&
				     cJSON_AddNumberToObject(o, "lost", (double)n)
			     ? cJSON_PrintUnformatted(o)
			     : NULL;

		if (text)
			printf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(o);
	} else
		printf("-- %s: %llu decisions lost (the monitor's ring was full) --\n", p->name,
		       (unsigned long long)n);
}

void skl_monitor_show_new_losses(struct monitor *m)
{
	for (size_t i = 0; i < m->n_pods; i++) {
		struct monitor_pod *p = m->pods[i];
		uint64_t lost = skl_monitor_pod_lost(p, m->n_cpus);

		if (lost > p->lost_reported)
			skl_monitor_show_lost(m, p, lost - p->lost_reported);
	}
}
