/* sklookup-ctl pods: every pod state on the node, one line (or object) each. */
#include "ctl.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pod_identity.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] pods\n"
	"\n"
	"Lists every pod with a sklookup dispatcher under the bpffsRoot, one line each:\n"
	"the pod as NAMESPACE/NAME (what --pod takes; \"-\" when the runtime passed no\n"
	"K8S_POD_NAMESPACE/K8S_POD_NAME in CNI_ARGS, or an older release made it), its\n"
	"container (sandbox) ID, network and interface, the inode of the network\n"
	"namespace its dispatcher serves (\"gone\" when that netns is), how many\n"
	"bindings are in force and how many sockets are registered, and the release\n"
	"that made it when its record says (\"-\" otherwise). Needs the node's bpffs\n"
	"(root); a pod being added or deleted meanwhile may show \"?\" counts.\n"
	"\n"
	"Options: --json (an array of objects: pod {namespace, name, uid}, container,\n"
	"network, ifname, stateDir, netnsIno (0: gone), bindings, sockets, release;\n"
	"null where unknown).\n";

/* One pod state as listed. */
struct pod_row {
	char network[256], container[256], ifname[64]; /* '.' restored */
	const char *dir;
	struct skl_pod_identity id;
	uint64_t netns_ino;
	bool netns_known;
	long bindings, sockets; /* -1: could not be read */
	char release[128];      /* "": not recorded */
};

/* A state name as the runtime gave it: bpffs names store '.' as ':'. */
static void decode(const char *stored, char *out, size_t len)
{
	snprintf(out, len, "%s", stored);
	for (char *c = out; *c; c++)
		if (*c == ':')
			*c = '.';
}

/* The release that made the pod, as its record says ("0.4.0"): "" when the
 * record is from before release identities were recorded, or unreadable. */
static void pod_release(const char *dir, char *out, size_t len)
{
	struct skl_record rec;

	if (len)
		out[0] = 0;
	if (skl_record_load(dir, &rec, NULL))
		return;
	snprintf(out, len, "%s", rec.release);
	skl_record_free(&rec);
}

static long count_sockets(const struct skl_dispatcher *d)
{
	long n = 0;

	for (uint32_t id = 0; id < d->limits.labels; id++) {
		struct skl_label label;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &id, &label))
			return -1;
		if (!(label.flags & SKL_LABEL_F_IN_USE))
			continue;
		for (uint32_t s = 0; s < SKL_SOCKET_SLOTS; s++) {
			uint32_t slot = id * SKL_SOCKET_SLOTS + s;
			uint64_t cookie;

			if (!bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &cookie) && cookie)
				n++;
		}
	}
	return n;
}

static void read_counts(struct pod_row *row)
{
	struct skl_dispatcher d;
	struct skl_binding_set set;
	uint32_t *ids;

	row->bindings = row->sockets = -1;
	skl_dispatcher_init(&d);
	if (skl_dispatcher_open(&d, row->dir, NULL))
		return;
	if (!skl_rules_read(&d, &set, &ids, NULL)) {
		row->bindings = (long)set.n;
		free(ids);
		skl_bindings_free(&set);
	}
	row->sockets = count_sockets(&d);
	skl_dispatcher_close(&d);
}

static void fill_row(const struct skl_state_visit *v, struct pod_row *row)
{
	memset(row, 0, sizeof(*row));
	row->dir = v->dir;
	decode(v->name[0], row->network, sizeof(row->network));
	decode(v->name[1], row->container, sizeof(row->container));
	decode(v->name[2], row->ifname, sizeof(row->ifname));
	/* No readable record: a nameless pod, as an older one. */
	skl_pod_identity_read(v->dir, &row->id, NULL);
	row->netns_known = !skl_state_link_netns(v->dir, &row->netns_ino, NULL);
	read_counts(row);
	pod_release(v->dir, row->release, sizeof(row->release));
}

static void print_count(long n, const char *end)
{
	if (n < 0)
		printf("%-8s%s", "?", end);
	else
		printf("%-8ld%s", n, end);
}

static void print_row(const struct pod_row *row)
{
	char pod[SKL_POD_DISPLAY_MAX], netns[32];

	skl_pod_identity_format(&row->id, pod, sizeof(pod));
	if (!row->netns_known)
		snprintf(netns, sizeof(netns), "?");
	else if (!row->netns_ino)
		snprintf(netns, sizeof(netns), "gone");
	else
		snprintf(netns, sizeof(netns), "%llu", (unsigned long long)row->netns_ino);
	printf("%-32s %-20s %-12s %-8s %-12s ", pod, row->container, row->network, row->ifname,
	       netns);
	print_count(row->bindings, " ");
	print_count(row->sockets, " ");
	printf("%s\n", row->release[0] ? row->release : "-");
}

static bool add_count(cJSON *o, const char *key, long n)
{
	return n < 0 ? cJSON_AddNullToObject(o, key) != NULL
		     : cJSON_AddNumberToObject(o, key, (double)n) != NULL;
}

static cJSON *row_json(const struct pod_row *row)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddItemToObject(o, "pod", skl_pod_identity_to_json(&row->id, true)) &&
		  cJSON_AddStringToObject(o, "container", row->container) &&
		  cJSON_AddStringToObject(o, "network", row->network) &&
		  cJSON_AddStringToObject(o, "ifname", row->ifname) &&
		  cJSON_AddStringToObject(o, "stateDir", row->dir) &&
		  (row->netns_known ? cJSON_AddNumberToObject(o, "netnsIno", (double)row->netns_ino)
				    : cJSON_AddNullToObject(o, "netnsIno")) &&
		  add_count(o, "bindings", row->bindings) && add_count(o, "sockets", row->sockets) &&
		  (row->release[0] ? cJSON_AddStringToObject(o, "release", row->release)
				   : cJSON_AddNullToObject(o, "release"));

	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

struct listing {
	cJSON *arr; /* --json: the rows; NULL: print them */
	bool failed;
};

static int list_one(const struct skl_state_visit *v, void *arg)
{
	struct listing *l = arg;
	struct pod_row row;

	fill_row(v, &row);
	if (!l->arr) {
		print_row(&row);
		return 0;
	}
	if (!cJSON_AddItemToArray(l->arr, row_json(&row)))
		l->failed = true;
	return l->failed;
}

static int pods(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	const char *root = ctl->bpffs_root ? ctl->bpffs_root : SKL_DEFAULT_BPFFS_ROOT;
	struct listing l = { .arr = NULL };

	(void)argv;
	if (argc > 1)
		return skl_ctl_usage(ctl, err, "pods takes no arguments");
	if (ctl->container || ctl->pod || ctl->netns || ctl->network || ctl->ifname || ctl->agent)
		return skl_ctl_usage(ctl, err,
				     "pods lists every pod on the node: it takes no --container, "
				     "--pod, --netns, --network, --ifname or --agent");
	/* No root yet (no pod ever added on this node): no pods. */
	if (access(root, F_OK) && errno == ENOENT)
		root = NULL;
	else if (!skl_bpffs_is_mounted(root))
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"%s is not on bpffs: no pods to list there (a different "
				"bpffsRoot needs --bpffs-root; pods needs the node's bpffs)", root);
	if (root && skl_bpffs_check_root(root, err))
		return -1;
	if (ctl->json) {
		l.arr = cJSON_CreateArray();
		if (!l.arr)
			return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	} else {
		printf("%-32s %-20s %-12s %-8s %-12s %-8s %-8s %s\n", "POD", "CONTAINER", "NETWORK",
		       "IFNAME", "NETNS", "BINDINGS", "SOCKETS", "RELEASE");
	}
	if (root)
		skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, list_one, &l);
	if (l.failed) {
		cJSON_Delete(l.arr);
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	}
	return l.arr ? skl_ctl_print_json(l.arr, err) : 0;
}

const struct skl_ctl_command skl_ctl_pods_cmd = {
	.name = "pods",
	.run = pods,
	.needs_state = false,
	.synopsis = "every pod on the node: name, container, netns, bindings, sockets",
	.help = help,
};
