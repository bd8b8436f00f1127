/* sklookup-ctl: finding the pod's state, entering its netns, JSON in and out. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "netns.h"
#include "pod_identity.h"
#include "state.h"

/* What to look for: encoded names (NULL: any), the pod's name as its
 * record keeps it (skl_pod_identity_format; "" any) and a netns inode
 * (0: any). */
struct filter {
	char network[256], container[512], ifname[64];
	bool by_network, by_container, by_ifname;
	char pod[SKL_POD_DISPLAY_MAX];
	uint64_t netns_ino;
};

#define FOUND_NAMED 8 /* containers an ambiguous --pod names */

struct found {
	char dir[PATH_MAX];
	int count;
	char containers[FOUND_NAMED][256]; /* the matches' containers, as stored (a '.' is ':') */
	int n_containers;
	bool more_containers;              /* than FOUND_NAMED */
};

/* A name as skl_state_path stores it (bpffs names hold no dots). */
static int encoded(struct skl_ctl *ctl, const char *network, const char *container,
		   const char *ifname, int which, char *out, size_t len, struct skl_err *err)
{
	char path[PATH_MAX], *part;

	if (skl_state_path(path, sizeof(path), "/r", network, container, ifname, err))
		return -1;
	part = path + 3; /* past "/r/" */
	for (int i = 0; i < which; i++)
		part = strchr(part, '/') + 1;
	*strchrnul(part, '/') = 0;
	if (strlen(part) >= len)
		return skl_ctl_usage(ctl, err, "the name \"%.64s\" is too long", part);
	memcpy(out, part, strlen(part) + 1);
	return 0;
}

struct search {
	const struct filter *f;
	struct found *out;
};

static bool named(bool by, const char *want, const char *name)
{
	return !by || !strcmp(want, name);
}

static int consider(const struct skl_state_visit *v, void *arg)
{
	const struct filter *f = ((struct search *)arg)->f;
	struct found *out = ((struct search *)arg)->out;
	uint64_t ino;

	if (!named(f->by_network, f->network, v->name[0]) ||
	    !named(f->by_container, f->container, v->name[1]) ||
	    !named(f->by_ifname, f->ifname, v->name[2]))
		return 0;
	if (f->netns_ino && (skl_state_link_netns(v->dir, &ino, NULL) || ino != f->netns_ino))
		return 0;
	if (f->pod[0]) {
		struct skl_pod_identity id;
		char name[SKL_POD_DISPLAY_MAX];

		if (skl_pod_identity_read(v->dir, &id, NULL))
			return 0;
		skl_pod_identity_format(&id, name, sizeof(name));
		if (!skl_pod_identity_known(&id) || strcmp(name, f->pod))
			return 0;
	}
	if (!out->count)
		snprintf(out->dir, sizeof(out->dir), "%s", v->dir);
	out->count++;
	for (int i = 0; i < out->n_containers; i++)
		if (!strcmp(v->name[1], out->containers[i]))
			return 0;
	if (out->n_containers < FOUND_NAMED)
		snprintf(out->containers[out->n_containers++], sizeof(out->containers[0]), "%s",
			 v->name[1]);
	else
		out->more_containers = true;
	return 0;
}

/* --pod NAMESPACE/NAME, or NAME for a pod whose runtime gave no namespace
 * (podman): the form skl_pod_identity_format writes. */
static int pod_filter(struct skl_ctl *ctl, struct filter *f, struct skl_err *err)
{
	const char *slash = strchr(ctl->pod, '/');
	struct skl_pod_identity id = { .ns = "" };
	size_t ns_len = slash ? (size_t)(slash - ctl->pod) : 0;

	if (slash && ns_len <= SKL_POD_NAMESPACE_MAX) {
		memcpy(id.ns, ctl->pod, ns_len);
		id.ns[ns_len] = 0;
	}
	if (strlen(slash ? slash + 1 : ctl->pod) <= SKL_POD_NAME_MAX)
		snprintf(id.name, sizeof(id.name), "%s", slash ? slash + 1 : ctl->pod);
	if ((slash && !skl_pod_identity_value_valid(id.ns, SKL_POD_NAMESPACE_MAX)) ||
	    !skl_pod_identity_value_valid(id.name, SKL_POD_NAME_MAX))
		return skl_ctl_usage(ctl, err,
				     "--pod \"%.64s\": expected NAMESPACE/NAME (e.g. default/web-0; "
				     "each 1-253 of [A-Za-z0-9_.-]), as 'sklookup-ctl pods' shows it",
				     ctl->pod);
	skl_pod_identity_format(&id, f->pod, sizeof(f->pod));
	return 0;
}

static int build_filter(struct skl_ctl *ctl, struct filter *f, struct skl_err *err)
{
	memset(f, 0, sizeof(*f));
	if (ctl->network) {
		f->by_network = true;
		if (encoded(ctl, ctl->network, "c", "i", 0, f->network, sizeof(f->network), err))
			return -1;
	}
	if (ctl->container) {
		f->by_container = true;
		if (encoded(ctl, "n", ctl->container, "i", 1, f->container, sizeof(f->container),
			    err))
			return -1;
	}
	if (ctl->ifname) {
		f->by_ifname = true;
		if (encoded(ctl, "n", "c", ctl->ifname, 2, f->ifname, sizeof(f->ifname), err))
			return -1;
	}
	if (ctl->pod && pod_filter(ctl, f, err))
		return -1;
	if (ctl->container || ctl->pod)
		return 0;
	/* No container given: the pod is the one whose link serves this netns. */
	if (skl_netns_open(ctl->netns ? ctl->netns : "/proc/self/ns/net", &ctl->netns_fd, err) ||
	    skl_netns_ino(ctl->netns_fd, &f->netns_ino, err))
		return -1;
	return 0;
}

static const char *describe(const struct skl_ctl *ctl)
{
	if (ctl->container)
		return "that container";
	if (ctl->pod)
		return "that pod";
	return ctl->netns ? "that network namespace" : "this network namespace";
}

/* Two pods of one name (one being recreated, say): which is meant cannot
 * be told, so the message lists their containers for --container. */
static int ambiguous_pod(struct skl_ctl *ctl, const struct found *out, const char *root,
			 struct skl_err *err)
{
	char list[400] = "";
	size_t used = 0;

	for (int i = 0; i < out->n_containers && used < sizeof(list); i++) {
		char id[256];

		snprintf(id, sizeof(id), "%s", out->containers[i]);
		for (char *c = id; *c; c++)
			if (*c == ':')
				*c = '.';
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
					 id);
	}
	return skl_ctl_usage(ctl, err,
			     "%d dispatchers of pod %s under %s, of containers %s%s; choose one "
			     "with --container ID",
			     out->count, ctl->pod, root, list, out->more_containers ? ", ..." : "");
}

int skl_ctl_find(struct skl_ctl *ctl, struct skl_err *err)
{
	const char *root = ctl->bpffs_root ? ctl->bpffs_root : SKL_DEFAULT_BPFFS_ROOT;
	struct filter f;
	struct found out = { .count = 0 };

	skl_dispatcher_init(&ctl->d);
	ctl->netns_fd = -1;
	if (build_filter(ctl, &f, err))
		return -1;
	/* An untrusted root is refused. One not on bpffs (a pod's own /sys)
	 * or that this process may not even look at (a pod without
	 * privileges) holds nothing it can use: NO_STATE, and the agent. */
	if (skl_bpffs_is_mounted(root) && skl_bpffs_check_root(root, err) &&
	    err->code == SKL_CNI_INVALID_CONFIG)
		return -1;
	skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, consider, &(struct search){ &f, &out });
	if (out.count == 0 && ctl->pod) {
		skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
			 "no sklookup dispatcher of a pod named %s under %s (its runtime must pass "
			 "K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS; 'sklookup-ctl pods' lists "
			 "the pods and their names; a different bpffsRoot needs --bpffs-root)",
			 ctl->pod, root);
		return skl_ctl_failed(ctl, SKL_EXIT_NO_STATE);
	}
	if (out.count == 0) {
		skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
			 "no sklookup dispatcher for %s under %s (is the pod on a network with the "
			 "sklookup plugin? a different bpffsRoot needs --bpffs-root; on a network "
			 "with \"attach\": \"when-bound\" a pod created without bindings has none: "
			 "give it bindings in its annotation and re-create it)",
			 describe(ctl), root);
		return skl_ctl_failed(ctl, SKL_EXIT_NO_STATE);
	}
	if (ctl->pod && out.n_containers > 1)
		return ambiguous_pod(ctl, &out, root, err);
	if (out.count > 1)
		return skl_ctl_usage(ctl, err,
				     "%d dispatchers match %s under %s; choose one with --network "
				     "and --ifname",
				     out.count, describe(ctl), root);
	snprintf(ctl->state_dir, sizeof(ctl->state_dir), "%s", out.dir);
	return 0;
}

int skl_ctl_open(struct skl_ctl *ctl, struct skl_err *err)
{
	if (skl_ctl_find(ctl, err) || skl_dispatcher_open(&ctl->d, ctl->state_dir, err) ||
	    skl_dispatcher_link_netns(&ctl->d, &ctl->netns_ino, err))
		return -1;
	return 0;
}

int skl_ctl_failed(struct skl_ctl *ctl, enum skl_ctl_exit status)
{
	ctl->failed_as = status;
	return -1;
}

int skl_ctl_usage(struct skl_ctl *ctl, struct skl_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		/* Bad input, as the library would say it; the exit status is ctl's. */
		err->code = SKL_CNI_INVALID_CONFIG;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
}

int skl_ctl_exit_status(const struct skl_ctl *ctl, int ret)
{
	if (ret >= 0)
		return ret;
	return ctl->failed_as == SKL_EXIT_USAGE || ctl->failed_as == SKL_EXIT_NO_STATE
		       ? (int)ctl->failed_as
		       : SKL_EXIT_ERROR;
}

int skl_ctl_lock(const struct skl_ctl *ctl, int *lock_fd, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod((struct skl_ctl *)ctl);

	return skl_pod_lock(&pod, lock_fd, err);
}

void skl_ctl_close(struct skl_ctl *ctl)
{
	skl_dispatcher_close(&ctl->d);
	if (ctl->netns_fd >= 0)
		close(ctl->netns_fd);
	ctl->netns_fd = -1;
}

int skl_ctl_in_pod(struct skl_ctl *ctl, int (*fn)(void *arg, struct skl_err *err), void *arg,
		   struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);

	return skl_pod_in_netns(&pod, fn, arg, err);
}

int skl_ctl_print_json(cJSON *doc, struct skl_err *err)
{
	char *text = doc ? cJSON_Print(doc) : NULL;

	cJSON_Delete(doc);
	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

cJSON *skl_ctl_read_json(const char *path, struct skl_err *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	cJSON *doc = NULL;

	if (!f || !buf) {
		skl_errf(err, f ? SKL_CNI_INTERNAL : SKL_CNI_IO_FAILURE, "%s: %s", path,
			 f ? "out of memory" : strerror(errno));
		goto out;
	}
	for (size_t n; (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (len + 1 == cap) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				skl_errf(err, SKL_CNI_INTERNAL, "%s: out of memory", path);
				goto out;
			}
			buf = p;
			cap *= 2;
		}
	}
	buf[len] = 0;
	doc = cJSON_Parse(buf);
	if (!doc)
		skl_errf(err, SKL_CNI_DECODE_FAILURE, "%s: not valid JSON (near \"%.24s\")", path,
			 cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
out:
	if (f && f != stdin)
		fclose(f);
	free(buf);
	return doc;
}

bool skl_ctl_wants_help(const struct skl_ctl_command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(cmd->help, stdout);
			return true;
		}
	}
	return false;
}

int skl_ctl_take_value(int argc, char **argv, int *i, const char *name, const char **value,
		       struct skl_err *err)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) || (argv[*i][n] && argv[*i][n] != '='))
		return 0;
	if (argv[*i][n] == '=') {
		*value = argv[*i] + n + 1;
		return 1;
	}
	if (*i + 1 >= argc)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: %s needs a value", argv[0], name);
	*value = argv[++*i];
	return 1;
}

int skl_ctl_parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (!*s || *end || errno || *out < min || *out > max) ? -1 : 0;
}
