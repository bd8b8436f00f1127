/*
 * One scrape (agent_metrics_text.h): a snapshot of every pod's maps, then
 * the text, one metric family at a time (the format wants a family's
 * samples together). A pod that goes away while it is read is left out: its
 * DEL is no error.
 */
#include "agent_metrics_text.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_metrics_pod.h"
#include "build_version.h"
#include "pod_counters.h"
#include "state.h"

struct pod_sample {
	struct skl_metrics_pod id;
	struct skl_pod_counters pc;
};

struct scrape {
	struct pod_sample *pods;
	size_t n;
	uint64_t *errors;
	bool out_of_memory;
};

/* --- reading the pods --- */

static bool same_pod(const struct skl_metrics_pod *a, const struct skl_metrics_pod *b)
{
	return !strcmp(a->namespace_, b->namespace_) && !strcmp(a->pod, b->pod);
}

/* Reads one pod's maps into s->pods[s->n]. */
static int read_pod(const struct skl_state_visit *visit, void *arg)
{
	struct scrape *s = arg;
	struct pod_sample *p = &s->pods[s->n];
	struct skl_err err = { 0 };

	if (s->n == SKL_METRICS_MAX_PODS) {
		s->errors[SKL_METRICS_ERR_TOO_MANY]++;
		return 0;
	}
	if (skl_pod_counters_read(visit->dir, &p->pc, &err)) {
		skl_pod_counters_free(&p->pc);
		/* Gone meanwhile: a DEL, not an error. */
		if (skl_state_exists(visit->dir))
			s->errors[SKL_METRICS_ERR_UNREADABLE]++;
		return 0;
	}
	skl_metrics_pod_identity(visit->dir, visit->name[1], &p->id);
	for (size_t i = 0; i < s->n; i++) {
		if (!same_pod(&s->pods[i].id, &p->id))
			continue;
		/* Its series would repeat another's: Prometheus would drop the scrape. */
		s->errors[SKL_METRICS_ERR_DUPLICATE]++;
		skl_pod_counters_free(&p->pc);
		return 0;
	}
	s->n++;
	return 0;
}

static void read_pods(const char *root, struct scrape *s)
{
	s->pods = calloc(SKL_METRICS_MAX_PODS, sizeof(*s->pods));
	if (!s->pods) {
		s->out_of_memory = true;
		return;
	}
	/* Nothing under a root someone else could have prepared is a pod's
	 * (the reconcile round logs why). */
	if (!skl_bpffs_check_root(root, NULL))
		skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, read_pod, s);
}

static void free_pods(struct scrape *s)
{
	for (size_t i = 0; s->pods && i < s->n; i++)
		skl_pod_counters_free(&s->pods[i].pc);
	free(s->pods);
}

/* --- the text --- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants. */
static void value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void pod_labels(FILE *f, const struct pod_sample *p)
{
	fputs("namespace=\"", f);
	value(f, p->id.namespace_);
	fputs("\",pod=\"", f);
	value(f, p->id.pod);
	fputc('"', f);
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* The drops by reason, from SKL_C_DROP_NO_SOCKET on. */
static const char *const drop_reason[SKL_C_COUNT] = {
	[SKL_C_DROP_NO_SOCKET] = "no_socket",
	[SKL_C_DROP_ESOCKTNOSUPPORT] = "esocktnosupport",
	[SKL_C_DROP_EPROTOTYPE] = "eprototype",
	[SKL_C_DROP_EAFNOSUPPORT] = "eafnosupport",
	[SKL_C_DROP_EEXIST] = "eexist",
	[SKL_C_DROP_EINVAL] = "einval",
	[SKL_C_DROP_OTHER] = "other",
};

/* The per-binding or per-label families: owner "binding" or "label". */
enum owner { OWNER_BINDING, OWNER_LABEL };

static void owner_labels(FILE *f, const struct pod_sample *p, enum owner o, size_t i)
{
	const struct skl_counted_binding *b = &p->pc.bindings[i];

	pod_labels(f, p);
	if (o == OWNER_LABEL) {
		fputs(",label=\"", f);
		value(f, p->pc.labels[i].name);
		fputc('"', f);
		return;
	}
	fprintf(f, ",binding=\"%" PRIu32 "\",label=\"", b->id);
	value(f, b->label == SKL_NONE ? "" : p->pc.labels[b->label].name);
	fprintf(f, "\",protocol=\"%s\"", proto_name(b->proto));
}

static const uint64_t *owner_counters(const struct pod_sample *p, enum owner o, size_t i)
{
	return o == OWNER_LABEL ? p->pc.labels[i].c : p->pc.bindings[i].c;
}

static size_t owner_count(const struct pod_sample *p, enum owner o)
{
	return o == OWNER_LABEL ? p->pc.n_labels : p->pc.n_bindings;
}

static void owner_family(FILE *f, const struct scrape *s, enum owner o)
{
	static const struct {
		const char *what, *help;
		int first, last; /* counters, SKL_C_* */
		bool reason;
	} fam[] = {
		{ "matched_total", "Lookups that matched.", SKL_C_MATCHED, SKL_C_MATCHED, false },
		{ "assigned_total", "Lookups whose socket was selected.", SKL_C_ASSIGNED,
		  SKL_C_ASSIGNED, false },
		{ "passed_total", "Matched lookups passed on to the normal socket lookup, by reason.",
		  SKL_C_PASSED_NO_SOCKET, SKL_C_PASSED_NO_SOCKET, true },
		{ "dropped_total", "Matched lookups dropped, by reason (no socket, or the errno "
				   "of bpf_sk_assign).",
		  SKL_C_DROP_NO_SOCKET, SKL_C_COUNT - 1, true },
	};
	const char *who = o == OWNER_LABEL ? "label" : "binding";

	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		char name[64], help[256];

		snprintf(name, sizeof(name), "sklookup_%s_%s", who, fam[k].what);
		snprintf(help, sizeof(help), "%s Per %s of each pod.", fam[k].help, who);
		family(f, name, "counter", help);
		for (size_t p = 0; p < s->n; p++)
			for (size_t i = 0; i < owner_count(&s->pods[p], o); i++)
				for (int c = fam[k].first; c <= fam[k].last; c++) {
					fprintf(f, "%s{", name);
					owner_labels(f, &s->pods[p], o, i);
					if (fam[k].reason)
						fprintf(f, ",reason=\"%s\"",
							c == SKL_C_PASSED_NO_SOCKET ? "no_socket"
										    : drop_reason[c]);
					fprintf(f, "} %" PRIu64 "\n",
						owner_counters(&s->pods[p], o, i)[c]);
				}
	}
}

/* Sockets of one protocol in a label's slots: a dual-stack socket fills
 * both family slots and counts once. */
static int label_sockets(const struct skl_counted_label *l, int is_udp)
{
	uint64_t v4 = l->cookie[is_udp ? 2 : 0], v6 = l->cookie[is_udp ? 3 : 1];

	return (v4 != 0) + (v6 != 0 && v6 != v4);
}

static void pod_families(FILE *f, const struct scrape *s)
{
	family(f, "sklookup_pod_bindings", "gauge", "Bindings in force in the pod's dispatcher.");
	for (size_t p = 0; p < s->n; p++) {
		fputs("sklookup_pod_bindings{", f);
		pod_labels(f, &s->pods[p]);
		fprintf(f, "} %zu\n", s->pods[p].pc.n_bindings);
	}
	family(f, "sklookup_pod_lookups_total", "counter",
	       "Socket lookups the pod's dispatcher ran.");
	for (size_t p = 0; p < s->n; p++) {
		fputs("sklookup_pod_lookups_total{", f);
		pod_labels(f, &s->pods[p]);
		fprintf(f, "} %" PRIu64 "\n", s->pods[p].pc.totals[SKL_T_LOOKUPS]);
	}
	family(f, "sklookup_pod_unmatched_total", "counter",
	       "Lookups no binding matched (the normal socket lookup went on).");
	for (size_t p = 0; p < s->n; p++) {
		fputs("sklookup_pod_unmatched_total{", f);
		pod_labels(f, &s->pods[p]);
		fprintf(f, "} %" PRIu64 "\n", s->pods[p].pc.totals[SKL_T_NO_MATCH]);
	}
	owner_family(f, s, OWNER_BINDING);
	owner_family(f, s, OWNER_LABEL);
	family(f, "sklookup_label_sockets", "gauge",
	       "Sockets registered under the label, by protocol.");
	for (size_t p = 0; p < s->n; p++)
		for (size_t i = 0; i < s->pods[p].pc.n_labels; i++)
			for (int udp = 0; udp <= 1; udp++) {
				fputs("sklookup_label_sockets{", f);
				owner_labels(f, &s->pods[p], OWNER_LABEL, i);
				fprintf(f, ",protocol=\"%s\"} %d\n", udp ? "udp" : "tcp",
					label_sockets(&s->pods[p].pc.labels[i], udp));
			}
}

static const char *const error_reason[SKL_METRICS_ERR_COUNT] = {
	[SKL_METRICS_ERR_UNREADABLE] = "unreadable",
	[SKL_METRICS_ERR_DUPLICATE] = "duplicate",
	[SKL_METRICS_ERR_TOO_MANY] = "too_many_pods",
};

static void agent_families(FILE *f, struct skl_agent_health *h, const struct scrape *s,
			   double seconds)
{
	family(f, "sklookup_build_info", "gauge", "The node agent's release and commit.");
	fputs("sklookup_build_info{version=\"", f);
	value(f, SKL_RELEASE);
	fputs("\",commit=\"", f);
	value(f, SKL_COMMIT);
	fputs("\"} 1\n", f);
	family(f, "sklookup_pods", "gauge", "Pods this scrape read.");
	fprintf(f, "sklookup_pods %zu\n", s->n);
	family(f, "sklookup_agent_requests_total", "counter",
	       "Requests the node agent read from its clients.");
	fprintf(f, "sklookup_agent_requests_total %" PRIu64 "\n",
		skl_agent_health_get(&h->requests));
	family(f, "sklookup_agent_refusals_total", "counter",
	       "Connections and requests the node agent refused, by reason.");
	for (int r = 0; r < SKL_AGENT_REFUSAL_COUNT; r++)
		fprintf(f, "sklookup_agent_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
			skl_agent_refusal_names[r], skl_agent_health_get(&h->refusals[r]));
	family(f, "sklookup_agent_spares_ready", "gauge",
	       "Spare dispatchers loaded ahead of time and ready for an ADD.");
	fprintf(f, "sklookup_agent_spares_ready %" PRIu64 "\n",
		skl_agent_health_get(&h->spares_ready));
	family(f, "sklookup_agent_reconcile_removals_total", "counter",
	       "Pods whose state reconcile removed (network namespace gone, no DEL).");
	fprintf(f, "sklookup_agent_reconcile_removals_total %" PRIu64 "\n",
		skl_agent_health_get(&h->reconcile_removals));
	family(f, "sklookup_agent_scrape_errors_total", "counter",
	       "Pods a scrape left out, by reason.");
	for (int r = 0; r < SKL_METRICS_ERR_COUNT; r++)
		fprintf(f, "sklookup_agent_scrape_errors_total{reason=\"%s\"} %" PRIu64 "\n",
			error_reason[r], s->errors[r]);
	family(f, "sklookup_agent_scrape_duration_seconds", "gauge",
	       "How long this scrape took to read the pods and write their metrics.");
	fprintf(f, "sklookup_agent_scrape_duration_seconds %.6f\n", seconds);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *skl_agent_metrics_text(const char *bpffs_root, struct skl_agent_health *health,
			     uint64_t errors[SKL_METRICS_ERR_COUNT], size_t *len)
{
	struct scrape s = { .errors = errors };
	double start = now_s();
	char *text = NULL;
	FILE *f;

	read_pods(bpffs_root, &s);
	f = open_memstream(&text, len);
	if (f && !s.out_of_memory) {
		pod_families(f, &s);
		agent_families(f, health, &s, now_s() - start);
	}
	if (!f || ferror(f) | fclose(f) || s.out_of_memory) {
		free(text);
		text = NULL;
	}
	free_pods(&s);
	return text;
}
