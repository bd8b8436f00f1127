#include "cni.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni_args.h"
#include "state.h"
#include "version.h"

static const char usage[] =
	"usage: sklookup (run by a container runtime: CNI_COMMAND and the network\n"
	"       configuration on stdin)\n"
	"       sklookup --help | --version\n"
	"\n"
	"A chained CNI plugin that attaches a BPF sk_lookup dispatcher to the pod's\n"
	"network namespace and fills its bindings (protocol, prefix, ports -> label).\n"
	"Put it after the plugin that creates the pod's interface in a conflist.\n"
	"\n"
	"Environment: CNI_COMMAND (ADD, DEL, CHECK, GC, STATUS, VERSION),\n"
	"CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH.\n"
	"Spec versions: 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0.\n"
	"Sockets are registered with sklookup-ctl. See man sklookup.\n";

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static char *read_stdin(struct skl_err *err)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);

	if (!buf) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len > SKL_MAX_STDIN) {
			skl_errf(err, SKL_CNI_DECODE_FAILURE,
				 "stdin: the configuration is larger than %d bytes", SKL_MAX_STDIN);
			goto fail;
		}
		if (len == cap) {
			char *p;

			/* One byte past the limit tells "too large" from "exactly". */
			cap = cap * 2 > SKL_MAX_STDIN ? SKL_MAX_STDIN + 1 : cap * 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
				goto fail;
			}
			buf = p;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			skl_errf(err, SKL_CNI_IO_FAILURE, "reading stdin: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	if (strlen(buf) != len) {
		skl_errf(err, SKL_CNI_DECODE_FAILURE, "stdin: the configuration holds a NUL byte");
		goto fail;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

static void print_error(const char *version, const struct skl_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "cniVersion", version);
	cJSON_AddNumberToObject(o, "code", err->code);
	cJSON_AddStringToObject(o, "msg", err->msg);
	text = cJSON_Print(o);
	if (text)
		printf("%s\n", text);
	fprintf(stderr, "sklookup: %s\n", err->msg);
	free(text);
	cJSON_Delete(o);
}

static int print_version(const char *input)
{
	cJSON *in = input ? cJSON_Parse(input) : NULL, *o = cJSON_CreateObject(), *list;
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "cniVersion"));
	char *text;

	cJSON_AddStringToObject(o, "cniVersion", v && skl_cni_version_supported(v) ? v : "1.1.0");
	list = cJSON_AddArrayToObject(o, "supportedVersions");
	for (size_t i = 0; i < skl_cni_n_versions; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(skl_cni_versions[i]));
	text = cJSON_Print(o);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
	cJSON_Delete(in);
	return 0;
}

static const struct verb {
	const char *name;
	int (*run)(struct skl_cni_req *, struct skl_err *);
	const char *min_version; /* the spec version that brought the verb */
	bool needs_attachment;   /* CNI_CONTAINERID and CNI_IFNAME */
	bool needs_netns;
	bool lenient;            /* the config may have changed since ADD */
} verbs[] = {
	{ "ADD", skl_cni_add, "0.3.0", true, true, false },
	{ "DEL", skl_cni_del, "0.3.0", true, false, true },
	{ "CHECK", skl_cni_check, "0.4.0", true, true, false },
	{ "GC", skl_cni_gc, "1.1.0", false, false, true },
	{ "STATUS", skl_cni_status, "1.1.0", false, false, true },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int check_env(const struct verb *v, struct skl_cni_req *req, struct skl_err *err)
{
	req->container_id = env("CNI_CONTAINERID");
	req->netns = env("CNI_NETNS");
	req->ifname = env("CNI_IFNAME");
	if (!v->needs_attachment)
		return 0;
	/* Both end up as path components of the state directory. */
	if (skl_state_check_component("CNI_CONTAINERID", req->container_id, 255, err) ||
	    skl_state_check_component("CNI_IFNAME", req->ifname, 15, err)) {
		err->code = SKL_CNI_INVALID_ENV;
		return -1;
	}
	if (v->needs_netns && !req->netns)
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"CNI_NETNS is not set: give the path of the pod's network "
				"namespace, e.g. /var/run/netns/NAME");
	/* Only ADD records the pod's identity, and refuses bad CNI_ARGS before
	 * it changes anything; DEL must clean up whatever it is given. */
	if (v->run == skl_cni_add) {
		const char *args = getenv("CNI_ARGS");

		return args ? skl_cni_args_parse(args, strlen(args), &req->pod, err) : 0;
	}
	return 0;
}

static int run(const struct verb *v, const char *input, struct skl_cni_req *req,
	       struct skl_err *err)
{
	if (skl_netconf_parse(input, v->lenient, &req->conf, err))
		return -1;
	if (skl_cni_version_cmp(req->conf.cni_version, v->min_version) < 0)
		return skl_errf(err, SKL_CNI_INCOMPATIBLE_VERSION,
				"cniVersion %s does not have %s; it needs %s or later",
				req->conf.cni_version, v->name, v->min_version);
	/* Every verb touches state under bpffsRoot: none where another user
	 * could have placed directories or symlinks. */
	if (check_env(v, req, err) || skl_bpffs_check_root(req->conf.bpffs_root, err))
		return -1;
	if (v->needs_attachment &&
	    skl_state_path(req->state_dir, sizeof(req->state_dir), req->conf.bpffs_root,
			   req->conf.name, req->container_id, req->ifname, err))
		return -1;
	return v->run(req, err);
}

int skl_cni_main(int argc, char **argv)
{
	struct skl_cni_req req = { 0 };
	struct skl_err err = { 0 };
	const char *command = env("CNI_COMMAND");
	const struct verb *v;
	char *input = NULL;
	int status = 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("sklookup %s\n", skl_version);
		return 0;
	}
	if (!command) {
		fputs(usage, stderr);
		return 1;
	}
	req.command = command;
	v = find_verb(command);
	if (strcmp(command, "VERSION") && !v) {
		skl_errf(&err, SKL_CNI_INVALID_ENV,
			 "CNI_COMMAND: unknown command \"%.32s\"; use ADD, DEL, CHECK, GC, STATUS or "
			 "VERSION", command);
		print_error("1.1.0", &err);
		return 1;
	}
	input = read_stdin(&err);
	if (!strcmp(command, "VERSION")) {
		status = print_version(input);
		free(input);
		return status;
	}
	if (input && !run(v, input, &req, &err)) {
		if (req.result) {
			char *text = cJSON_Print(req.result);

			printf("%s\n", text);
			free(text);
		}
		status = 0;
	} else {
		print_error(req.conf.cni_version[0] ? req.conf.cni_version : "1.1.0", &err);
	}
	cJSON_Delete(req.result);
	skl_netconf_free(&req.conf);
	free(input);
	return status;
}
