/* sklookup-ctl status and metrics. */
#include "ctl_view.h"

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
	"Options: --json (the shape is documented in the README, \"sklookup-ctl JSON\").\n";

static const char metrics_help[] =
	"usage: sklookup-ctl [OPTIONS] metrics\n"
	"\n"
	"Prints the pod's counters in the Prometheus text format (sklookup_* metrics,\n"
	"labelled with network, container and ifname), for a node exporter's textfile\n"
	"collector or a scrape wrapper. --json prints the same counters as JSON.\n";

static bool is_registered(const struct skl_view *v, uint64_t cookie)
{
	for (size_t i = 0; i < v->n_labels; i++)
		for (int s = 0; s < 4; s++)
			if (v->labels[i].cookie[s] == cookie)
				return true;
	return false;
}

static bool is_wildcard(const struct skl_sock_entry *e)
{
	static const uint8_t zero[16];

	return !memcmp(e->addr, zero, e->family == SKL_FAMILY_V4 ? 4 : 16);
}

static bool covers_port(const struct skl_binding_spec *b, uint16_t port)
{
	for (size_t k = 0; k < b->n_ports; k++)
		if (b->ports[k].lo <= port && port <= b->ports[k].hi)
			return true;
	return false;
}

/* The binding that takes traffic meant for an ordinary socket: for an exact
 * address the one precedence picks, for a wildcard the first that covers
 * its port in its family (it takes part of the wildcard's traffic). */
static uint32_t shadowing_binding(const struct skl_view *v, const struct skl_sock_entry *e)
{
	if (!is_wildcard(e))
		return skl_bindings_resolve(&v->set, e->proto, e->family, e->addr, e->port);
	for (size_t i = 0; i < v->set.n; i++)
		if (v->set.v[i].proto == e->proto && v->set.v[i].family == e->family &&
		    covers_port(&v->set.v[i], e->port))
			return (uint32_t)i;
	return SKL_NONE;
}

static cJSON *counters_json(const uint64_t *c)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < SKL_C_COUNT; i++)
		cJSON_AddNumberToObject(o, skl_counter_names[i], (double)c[i]);
	return o;
}

static void add_socket_json(cJSON *arr, const struct skl_view *v, const struct skl_view_label *l)
{
	for (int s = 0; s < 4; s++) {
		const struct skl_sock_entry *e = skl_view_sock(v, l->cookie[s]);
		cJSON *o;
		char local[96];

		if (!l->cookie[s])
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "slot", skl_slot_names[s]);
		cJSON_AddNumberToObject(o, "cookie", (double)l->cookie[s]);
		if (e) {
			skl_sock_entry_format(e, local, sizeof(local));
			cJSON_AddStringToObject(o, "local", local);
		}
		cJSON_AddItemToArray(arr, o);
	}
}

static cJSON *status_json(const struct skl_ctl *ctl, const struct skl_view *v)
{
	cJSON *doc = cJSON_CreateObject(), *labels, *bindings, *shadowed, *totals, *arr, *b;
	size_t i = 0;

	cJSON_AddStringToObject(doc, "stateDir", ctl->state_dir);
	cJSON_AddNumberToObject(doc, "netnsIno", (double)ctl->netns_ino);
	cJSON_AddNumberToObject(doc, "programId", v->prog_id);
	totals = cJSON_AddObjectToObject(doc, "totals");
	cJSON_AddNumberToObject(totals, "lookups", (double)v->totals[SKL_T_LOOKUPS]);
	cJSON_AddNumberToObject(totals, "noMatch", (double)v->totals[SKL_T_NO_MATCH]);
	labels = cJSON_AddArrayToObject(doc, "labels");
	for (size_t k = 0; k < v->n_labels; k++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", v->labels[k].id);
		cJSON_AddStringToObject(o, "name", v->labels[k].name);
		add_socket_json(cJSON_AddArrayToObject(o, "sockets"), v, &v->labels[k]);
		cJSON_AddItemToObject(o, "counters", counters_json(v->labels[k].counters));
		cJSON_AddItemToArray(labels, o);
	}
	arr = skl_bindings_to_json(&v->set);
	cJSON_ArrayForEach(b, arr) {
		cJSON_AddNumberToObject(b, "id", v->ids[i]);
		cJSON_AddItemToObject(b, "counters", counters_json(v->binding_counters[i]));
		i++;
	}
	cJSON_AddItemToObject(doc, "bindings", (bindings = arr));
	shadowed = cJSON_AddArrayToObject(doc, "shadowed");
	for (size_t k = 0; k < v->n_socks; k++) {
		const struct skl_sock_entry *e = &v->socks[k];
		uint32_t bi = is_registered(v, e->cookie) ? SKL_NONE : shadowing_binding(v, e);
		char local[96];
		cJSON *o;

		if (bi == SKL_NONE)
			continue;
		skl_sock_entry_format(e, local, sizeof(local));
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "socket", local);
		cJSON_AddNumberToObject(o, "cookie", (double)e->cookie);
		cJSON_AddNumberToObject(o, "binding", v->ids[bi]);
		cJSON_AddStringToObject(o, "label", v->set.v[bi].label);
		cJSON_AddItemToArray(shadowed, o);
	}
	cJSON_AddBoolToObject(doc, "socketsVisible", v->socks != NULL);
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

static void print_status(const struct skl_ctl *ctl, const struct skl_view *v, cJSON *doc)
{
	cJSON *sh = cJSON_GetObjectItem(doc, "shadowed"), *o;

	printf("pod state %s (netns inode %llu, program id %u)\n", ctl->state_dir,
	       (unsigned long long)ctl->netns_ino, v->prog_id);
	printf("lookups %llu, no binding matched %llu\n\n",
	       (unsigned long long)v->totals[SKL_T_LOOKUPS],
	       (unsigned long long)v->totals[SKL_T_NO_MATCH]);
	printf("%-16s %-5s %-20s %s\n", "LABEL", "SLOT", "COOKIE", "SOCKET");
	for (size_t k = 0; k < v->n_labels; k++) {
		const struct skl_view_label *l = &v->labels[k];
		bool any = false;

		for (int s = 0; s < 4; s++) {
			const struct skl_sock_entry *e = skl_view_sock(v, l->cookie[s]);
			char local[96] = "?";

			if (!l->cookie[s])
				continue;
			if (e)
				skl_sock_entry_format(e, local, sizeof(local));
			printf("%-16s %-5s %-20llu %s\n", l->name, skl_slot_names[s],
			       (unsigned long long)l->cookie[s], local);
			any = true;
		}
		if (!any)
			printf("%-16s %-5s %-20s %s\n", l->name, "-", "-", "no socket registered");
	}
	printf("\n%-5s %-16s %-5s %-28s %9s %9s %9s %9s %9s\n", "ID", "LABEL", "PROTO", "PREFIX",
	       "MATCHED", "ASSIGNED", "PASSED", "NOSOCKET", "ASSIGNERR");
	for (size_t i = 0; i < v->set.n; i++) {
		char prefix[64];

		skl_prefix_format(v->set.v[i].family, v->set.v[i].plen, v->set.v[i].addr, prefix,
				  sizeof(prefix));
		printf("%-5u %-16s %-5s %-28s ", v->ids[i], v->set.v[i].label,
		       v->set.v[i].proto == 17 ? "udp" : "tcp", prefix);
		print_drops(v->binding_counters[i]);
		printf("\n");
	}
	if (!v->socks)
		printf("\nthe pod's sockets are not visible from here (give --netns)\n");
	cJSON_ArrayForEach(o, sh)
		printf("%sshadowed: %s (cookie %.0f) -- binding %.0f (label %s) takes its traffic\n",
		       o == sh->child ? "\n" : "", cJSON_GetObjectItem(o, "socket")->valuestring,
		       cJSON_GetObjectItem(o, "cookie")->valuedouble,
		       cJSON_GetObjectItem(o, "binding")->valuedouble,
		       cJSON_GetObjectItem(o, "label")->valuestring);
}

static int status(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_view v;
	cJSON *doc;
	int ret = 0;

	(void)argv;
	if (argc > 1)
		return skl_errf(err, SKL_EXIT_USAGE, "status takes no arguments");
	if (skl_view_load(ctl, &v, err)) {
		skl_view_free(&v);
		return -1;
	}
	doc = status_json(ctl, &v);
	if (ctl->json) {
		ret = skl_ctl_print_json(doc, err);
	} else {
		print_status(ctl, &v, doc);
		cJSON_Delete(doc);
	}
	skl_view_free(&v);
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

static void print_metrics(const struct skl_ctl *ctl, const struct skl_view *v)
{
	char pod[PATH_MAX];

	pod_labels(ctl->state_dir, pod, sizeof(pod));
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
	for (size_t i = 0; i < v->set.n; i++) {
		char prefix[64];

		skl_prefix_format(v->set.v[i].family, v->set.v[i].plen, v->set.v[i].addr, prefix,
				  sizeof(prefix));
		for (int c = 0; c < SKL_C_COUNT; c++)
			printf("sklookup_binding_packets_total{%s,binding=\"%u\",label=\"%s\","
			       "protocol=\"%s\",prefix=\"%s\",outcome=\"%s\"} %llu\n",
			       pod, v->ids[i], v->set.v[i].label,
			       v->set.v[i].proto == 17 ? "udp" : "tcp", prefix, counter_metric[c],
			       (unsigned long long)v->binding_counters[i][c]);
	}
	metric_header("sklookup_bindings", "gauge", "Bindings in force.");
	printf("sklookup_bindings{%s} %zu\n", pod, v->set.n);
}

static int metrics(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_view v;
	int ret = 0;

	(void)argv;
	if (argc > 1)
		return skl_errf(err, SKL_EXIT_USAGE, "metrics takes no arguments");
	if (skl_view_load(ctl, &v, err)) {
		skl_view_free(&v);
		return -1;
	}
	if (ctl->json) {
		cJSON *doc = status_json(ctl, &v);

		cJSON_DeleteItemFromObject(doc, "shadowed");
		ret = skl_ctl_print_json(doc, err);
	} else {
		print_metrics(ctl, &v);
	}
	skl_view_free(&v);
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
