/* sklookup-ctl status and metrics: the library's skl_pod_status, printed. */
#include "ctl_results.h"
#include "pod_view.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char status_help[] =
	"usage: sklookup-ctl [OPTIONS] status\n"
	"\n"
	"Shows the pod's dispatcher: its labels with the registered sockets (cookie and\n"
	"local address, per protocol and family), its bindings with their counters\n"
	"(matched, assigned, passed or dropped for lack of a socket, drops by\n"
	"bpf_sk_assign errno), the totals, and the ordinary listening sockets in the\n"
	"pod that a binding shadows (a binding takes the traffic even from an exact\n"
	"bind()). Counters count trace probes too.\n"
	"\n"
	"The first line names the pod (NAMESPACE/NAME and uid) when the runtime passed\n"
	"them in CNI_ARGS at ADD.\n"
	"\n"
	"Options: --json (the shape is documented in the README, \"sklookup-ctl JSON\").\n";

static const char metrics_help[] =
	"usage: sklookup-ctl [OPTIONS] metrics\n"
	"\n"
	"Prints the pod's counters in the Prometheus text format (sklookup_* metrics,\n"
	"labelled with network, container and ifname), for a node exporter's textfile\n"
	"collector or a scrape wrapper. --json prints the same counters as JSON.\n";

static cJSON *counters_json(const uint64_t *c)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < SKL_C_COUNT; i++)
		cJSON_AddNumberToObject(o, skl_counter_names[i], (double)c[i]);
	return o;
}

static void add_socket_json(cJSON *arr, const struct skl_status_label *l)
{
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
		cJSON *o;

		if (!l->cookie[s])
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "slot", skl_slot_names[s]);
		cJSON_AddNumberToObject(o, "cookie", (double)l->cookie[s]);
		if (l->local[s][0])
			cJSON_AddStringToObject(o, "local", l->local[s]);
		cJSON_AddItemToArray(arr, o);
	}
}

static void add_shadowed_json(cJSON *arr, const struct skl_pod_status *st)
{
	for (size_t k = 0; k < st->n_shadowed; k++) {
		const struct skl_status_shadowed *sh = &st->shadowed[k];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "socket", sh->socket);
		cJSON_AddNumberToObject(o, "cookie", (double)sh->cookie);
		cJSON_AddNumberToObject(o, "binding", sh->binding);
		cJSON_AddStringToObject(o, "label", sh->label);
		cJSON_AddItemToArray(arr, o);
	}
}

/* The README's "sklookup-ctl JSON" shape of status. */
static cJSON *status_json(const struct skl_pod_status *st)
{
	cJSON *doc = cJSON_CreateObject(), *labels, *totals, *arr, *b;
	size_t i = 0;

	cJSON_AddItemToObject(doc, "pod", skl_pod_identity_to_json(&st->pod, true));
	cJSON_AddStringToObject(doc, "stateDir", st->state_dir);
	cJSON_AddNumberToObject(doc, "netnsIno", (double)st->netns_ino);
	cJSON_AddNumberToObject(doc, "programId", st->prog_id);
	if (st->release[0])
		cJSON_AddStringToObject(doc, "release", st->release);
	totals = cJSON_AddObjectToObject(doc, "totals");
	cJSON_AddNumberToObject(totals, "lookups", (double)st->totals[SKL_T_LOOKUPS]);
	cJSON_AddNumberToObject(totals, "noMatch", (double)st->totals[SKL_T_NO_MATCH]);
	labels = cJSON_AddArrayToObject(doc, "labels");
	for (size_t k = 0; k < st->n_labels; k++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", st->labels[k].id);
		cJSON_AddStringToObject(o, "name", st->labels[k].name);
		add_socket_json(cJSON_AddArrayToObject(o, "sockets"), &st->labels[k]);
		cJSON_AddItemToObject(o, "counters", counters_json(st->labels[k].counters));
		cJSON_AddItemToArray(labels, o);
	}
	arr = skl_bindings_to_json(&st->bindings);
	cJSON_ArrayForEach(b, arr) {
		cJSON_AddNumberToObject(b, "id", st->binding_ids[i]);
		cJSON_AddItemToObject(b, "counters", counters_json(st->binding_counters[i]));
		i++;
	}
	cJSON_AddItemToObject(doc, "bindings", arr);
	add_shadowed_json(cJSON_AddArrayToObject(doc, "shadowed"), st);
	cJSON_AddBoolToObject(doc, "socketsVisible", st->sockets_visible);
	return doc;
}

static void print_drops(const uint64_t *c)
{
	uint64_t errs = 0;

	for (int i = SKL_C_DROP_ESOCKTNOSUPPORT; i < SKL_C_COUNT; i++)
		errs += c[i];
	printf("%9llu %9llu %9llu %9llu %9llu", (unsigned long long)c[SKL_C_MATCHED],
	       (unsigned long long)c[SKL_C_ASSIGNED], (unsigned long long)c[SKL_C_PASSED_NO_SOCKET],
	       (unsigned long long)c[SKL_C_DROP_NO_SOCKET], (unsigned long long)errs);
}

static void print_labels(const struct skl_pod_status *st)
{
	printf("%-16s %-5s %-20s %s\n", "LABEL", "SLOT", "COOKIE", "SOCKET");
	for (size_t k = 0; k < st->n_labels; k++) {
		const struct skl_status_label *l = &st->labels[k];
		bool any = false;

		for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
			if (!l->cookie[s])
				continue;
			printf("%-16s %-5s %-20llu %s\n", l->name, skl_slot_names[s],
			       (unsigned long long)l->cookie[s], l->local[s][0] ? l->local[s] : "?");
			any = true;
		}
		if (!any)
			printf("%-16s %-5s %-20s %s\n", l->name, "-", "-", "no socket registered");
	}
}

/* "pod NAMESPACE/NAME (uid UID)", when the pod's record names it. */
void skl_ctl_print_pod_identity(const struct skl_pod_identity *id)
{
	char name[SKL_POD_DISPLAY_MAX];

	if (skl_pod_identity_empty(id))
		return;
	skl_pod_identity_format(id, name, sizeof(name));
	printf("pod %s", name);
	if (id->uid[0])
		printf(" (uid %s)", id->uid);
	printf("\n");
}

static void print_status(const struct skl_pod_status *st)
{
	const struct skl_binding_set *set = &st->bindings;

	skl_ctl_print_pod_identity(&st->pod);
	printf("pod state %s (netns inode %llu, program id %u)\n", st->state_dir,
	       (unsigned long long)st->netns_ino, st->prog_id);
	if (st->release[0])
		printf("made by %s\n", st->release);
	printf("lookups %llu, no binding matched %llu\n\n",
	       (unsigned long long)st->totals[SKL_T_LOOKUPS],
	       (unsigned long long)st->totals[SKL_T_NO_MATCH]);
	print_labels(st);
	printf("\n%-5s %-16s %-5s %-28s %9s %9s %9s %9s %9s\n", "ID", "LABEL", "PROTO", "PREFIX",
	       "MATCHED", "ASSIGNED", "PASSED", "NOSOCKET", "ASSIGNERR");
	for (size_t i = 0; i < set->n; i++) {
		char prefix[SKL_PREFIX_STR_MAX];

		skl_prefix_format(set->v[i].family, set->v[i].plen, set->v[i].addr, prefix,
				  sizeof(prefix));
		printf("%-5u %-16s %-5s %-28s ", st->binding_ids[i], set->v[i].label,
		       set->v[i].proto == IPPROTO_UDP ? "udp" : "tcp", prefix);
		print_drops(st->binding_counters[i]);
		printf("\n");
	}
	if (!st->sockets_visible)
		printf("\nthe pod's sockets are not visible from here (give --netns)\n");
	for (size_t k = 0; k < st->n_shadowed; k++)
		printf("%sshadowed: %s (cookie %llu) -- binding %u (label %s) takes its traffic\n",
		       k ? "" : "\n", st->shadowed[k].socket,
		       (unsigned long long)st->shadowed[k].cookie, st->shadowed[k].binding,
		       st->shadowed[k].label);
}

int skl_ctl_print_status(const struct skl_pod_status *st, bool json, struct skl_err *err)
{
	if (json)
		return skl_ctl_print_json(status_json(st), err);
	print_status(st);
	return 0;
}

static int status(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	struct skl_pod_status st;
	int ret = -1;

	(void)argv;
	if (argc > 1)
		return skl_ctl_usage(ctl, err, "status takes no arguments");
	if (!skl_pod_status(&pod, &st, err))
		ret = skl_ctl_print_status(&st, ctl->json, err);
	skl_pod_status_free(&st);
	return ret;
}

/* The pod's identity for metric labels, from <root>/<net>/<container>/<ifname>
 * (bpffs names store '.' as ':'). */
static void pod_labels(const char *dir, char *out, size_t len)
{
	char copy[PATH_MAX], *parts[3];

	snprintf(copy, sizeof(copy), "%s", dir);
	for (int i = 2; i >= 0; i--) {
		char *slash = strrchr(copy, '/');

		parts[i] = slash + 1;
		*slash = 0;
	}
	for (int i = 0; i < 3; i++)
		for (char *c = parts[i]; *c; c++)
			if (*c == ':')
				*c = '.';
	snprintf(out, len, "network=\"%s\",container=\"%s\",ifname=\"%s\"", parts[0], parts[1],
		 parts[2]);
}

static void metric_header(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *const counter_metric[SKL_C_COUNT] = {
	[SKL_C_MATCHED] = "matched",
	[SKL_C_ASSIGNED] = "assigned",
	[SKL_C_PASSED_NO_SOCKET] = "passed_no_socket",
	[SKL_C_DROP_NO_SOCKET] = "dropped_no_socket",
	[SKL_C_DROP_ESOCKTNOSUPPORT] = "dropped_esocktnosupport",
	[SKL_C_DROP_EPROTOTYPE] = "dropped_eprototype",
	[SKL_C_DROP_EAFNOSUPPORT] = "dropped_eafnosupport",
	[SKL_C_DROP_EEXIST] = "dropped_eexist",
	[SKL_C_DROP_EINVAL] = "dropped_einval",
	[SKL_C_DROP_OTHER] = "dropped_other",
};

static void print_metrics(const struct skl_pod_status *v)
{
	char pod[PATH_MAX];

	pod_labels(v->state_dir, pod, sizeof(pod));
	metric_header("sklookup_lookups_total", "counter", "Socket lookups the dispatcher ran.");
	printf("sklookup_lookups_total{%s} %llu\n", pod, (unsigned long long)v->totals[SKL_T_LOOKUPS]);
	metric_header("sklookup_unmatched_total", "counter",
		      "Lookups no binding matched (the normal socket lookup went on).");
	printf("sklookup_unmatched_total{%s} %llu\n", pod,
	       (unsigned long long)v->totals[SKL_T_NO_MATCH]);
	metric_header("sklookup_label_packets_total", "counter",
		      "Lookups that matched a binding of the label, by outcome.");
	for (size_t k = 0; k < v->n_labels; k++)
		for (int c = 0; c < SKL_C_COUNT; c++)
			printf("sklookup_label_packets_total{%s,label=\"%s\",outcome=\"%s\"} %llu\n", pod,
			       v->labels[k].name, counter_metric[c],
			       (unsigned long long)v->labels[k].counters[c]);
	metric_header("sklookup_label_socket", "gauge",
		      "1 when the label has a socket registered for the slot.");
	for (size_t k = 0; k < v->n_labels; k++)
		for (int s = 0; s < 4; s++)
			printf("sklookup_label_socket{%s,label=\"%s\",slot=\"%s\"} %d\n", pod,
			       v->labels[k].name, skl_slot_names[s], v->labels[k].cookie[s] != 0);
	metric_header("sklookup_binding_packets_total", "counter",
		      "Lookups that matched the binding, by outcome.");
	for (size_t i = 0; i < v->bindings.n; i++) {
		char prefix[SKL_PREFIX_STR_MAX];

		skl_prefix_format(v->bindings.v[i].family, v->bindings.v[i].plen, v->bindings.v[i].addr, prefix,
				  sizeof(prefix));
		for (int c = 0; c < SKL_C_COUNT; c++)
			printf("sklookup_binding_packets_total{%s,binding=\"%u\",label=\"%s\","
			       "protocol=\"%s\",prefix=\"%s\",outcome=\"%s\"} %llu\n",
			       pod, v->binding_ids[i], v->bindings.v[i].label,
			       v->bindings.v[i].proto == IPPROTO_UDP ? "udp" : "tcp", prefix,
			       counter_metric[c],
			       (unsigned long long)v->binding_counters[i][c]);
	}
	metric_header("sklookup_bindings", "gauge", "Bindings in force.");
	printf("sklookup_bindings{%s} %zu\n", pod, v->bindings.n);
}

static int metrics(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	struct skl_pod_status st;
	int ret = -1;

	(void)argv;
	if (argc > 1)
		return skl_ctl_usage(ctl, err, "metrics takes no arguments");
	if (!skl_pod_status(&pod, &st, err)) {
		ret = 0;
		if (ctl->json) {
			cJSON *doc = status_json(&st);

			cJSON_DeleteItemFromObject(doc, "shadowed");
			ret = skl_ctl_print_json(doc, err);
		} else {
			print_metrics(&st);
		}
	}
	skl_pod_status_free(&st);
	return ret;
}

const struct skl_ctl_command skl_ctl_status_cmd = {
	.name = "status",
	.run = status,
	.needs_state = true,
	.synopsis = "labels, sockets, bindings with counters, shadowed listeners",
	.help = status_help,
};

const struct skl_ctl_command skl_ctl_metrics_cmd = {
	.name = "metrics",
	.run = metrics,
	.needs_state = true,
	.synopsis = "the counters in Prometheus text format",
	.help = metrics_help,
};
