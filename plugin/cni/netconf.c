#include "netconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* bpffsRoot leaves this much of its buffer for the paths of a pod's state
 * below it (the state module checks their full length). */
#define BPFFS_ROOT_HEADROOM 64

const char *const skl_cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
const size_t skl_cni_n_versions = sizeof(skl_cni_versions) / sizeof(skl_cni_versions[0]);

static int version_index(const char *v)
{
	for (size_t i = 0; i < skl_cni_n_versions; i++)
		if (!strcmp(v, skl_cni_versions[i]))
			return (int)i;
	return -1;
}

int skl_cni_version_cmp(const char *a, const char *b)
{
	int x = version_index(a), y = version_index(b);

	return (x > y) - (x < y);
}

bool skl_cni_version_supported(const char *v)
{
	return version_index(v) >= 0;
}

static void supported_list(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < skl_cni_n_versions && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 skl_cni_versions[i]);
}

/* A field of the right JSON type, or an error naming it; absent is fine. */
static int field(const cJSON *obj, const char *key, const char *path, int (*is)(const cJSON *),
		 const char *type, const cJSON **out, struct skl_err *err)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!f)
		return 0;
	if (!is(f))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s%s: must be %s", path, key, type);
	*out = f;
	return 0;
}

static int is_string(const cJSON *f)
{
	return cJSON_IsString(f);
}

static int is_object(const cJSON *f)
{
	return cJSON_IsObject(f);
}

static int is_array(const cJSON *f)
{
	return cJSON_IsArray(f);
}

static int is_bool(const cJSON *f)
{
	return cJSON_IsBool(f);
}

static int is_number(const cJSON *f)
{
	return cJSON_IsNumber(f);
}

/* Refuses keys of a plugin object that are not in `known` (spec error 2). */
static int only_keys(const cJSON *obj, const char *path, const char *const *known,
		     struct skl_err *err)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, obj) {
		bool ok = false;

		for (size_t i = 0; known[i] && !ok; i++)
			ok = !strcmp(f->string, known[i]);
		if (!ok) {
			char list[128] = "";
			size_t used = 0;

			for (size_t i = 0; known[i]; i++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 i ? ", " : "", known[i]);
			return skl_errf(err, SKL_CNI_UNSUPPORTED_FIELD,
					"%s%.64s: unknown field; the fields are %s", path, f->string,
					list);
		}
	}
	return 0;
}

static int parse_version(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	const cJSON *v;
	char list[64];

	supported_list(list, sizeof(list));
	if (field(doc, "cniVersion", "", is_string, "a string", &v, err))
		return -1;
	if (!v)
		return skl_errf(err, SKL_CNI_INCOMPATIBLE_VERSION,
				"cniVersion: missing (which means 0.1.0); this plugin is chained "
				"and supports %s", list);
	if (!skl_cni_version_supported(v->valuestring))
		return skl_errf(err, SKL_CNI_INCOMPATIBLE_VERSION,
				"cniVersion: \"%.32s\" is not supported; use one of %s",
				v->valuestring, list);
	snprintf(c->cni_version, sizeof(c->cni_version), "%s", v->valuestring);
	return 0;
}

static int parse_name_and_root(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	const cJSON *name, *root;

	if (field(doc, "name", "", is_string, "a string", &name, err) ||
	    field(doc, "bpffsRoot", "", is_string, "a string", &root, err))
		return -1;
	if (!name)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"name: missing; the runtime sets it from the conflist's \"name\"");
	if (skl_state_check_component("name", name->valuestring, SKL_NETWORK_NAME_MAX, err)) {
		err->code = SKL_CNI_INVALID_CONFIG;
		return -1;
	}
	snprintf(c->name, sizeof(c->name), "%s", name->valuestring);
	if (root) {
		const char *r = root->valuestring;

		size_t len = strlen(r);

		if (r[0] != '/' || !r[1] || len >= sizeof(c->bpffs_root) - BPFFS_ROOT_HEADROOM ||
		    strstr(r, "/..") || strstr(r, "/./") || strstr(r, "//") ||
		    (len >= 2 && !strcmp(r + len - 2, "/.")))
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"bpffsRoot: \"%.64s\" must be a short absolute path without "
					"\".\", \"..\" or \"//\", e.g. \"%s\"", r, SKL_DEFAULT_BPFFS_ROOT);
		snprintf(c->bpffs_root, sizeof(c->bpffs_root), "%s", r);
		/* "/sys/fs/bpf/x/" and "/sys/fs/bpf/x" are one place. */
		for (size_t n = strlen(c->bpffs_root); n > 1 && c->bpffs_root[n - 1] == '/'; n--)
			c->bpffs_root[n - 1] = 0;
	}
	return 0;
}

static int parse_routes(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	static const char *const known[] = { "pod", "host", NULL };
	const cJSON *routes, *pod, *host;

	if (field(doc, "routes", "", is_object, "an object like {\"pod\": true, \"host\": false}",
		  &routes, err))
		return -1;
	if (!routes)
		return 0;
	if (only_keys(routes, "routes.", known, err) ||
	    field(routes, "pod", "routes.", is_bool, "true or false", &pod, err) ||
	    field(routes, "host", "routes.", is_bool, "true or false", &host, err))
		return -1;
	if (pod)
		c->routes_pod = cJSON_IsTrue(pod);
	if (host)
		c->routes_host = cJSON_IsTrue(host);
	return 0;
}

static int parse_attach(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	const cJSON *attach;

	if (field(doc, "attach", "", is_string, "\"always\" or \"when-bound\"", &attach, err))
		return -1;
	if (!attach || !strcmp(attach->valuestring, "always"))
		return 0;
	if (strcmp(attach->valuestring, "when-bound"))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"attach: \"%.32s\" is not a choice; give \"always\" (every pod gets "
				"a dispatcher) or \"when-bound\" (only pods with bindings do)",
				attach->valuestring);
	c->attach_when_bound = true;
	return 0;
}

bool skl_netconf_wants_dispatcher(const struct skl_netconf *c)
{
	return !c->attach_when_bound || c->bindings.n > 0;
}

static int parse_port_list(const cJSON *arr, const char *path, struct skl_port_range *out,
			   size_t max, size_t *n, struct skl_err *err)
{
	const cJSON *p;
	size_t i = 0;

	if (cJSON_GetArraySize(arr) < 1 || (size_t)cJSON_GetArraySize(arr) > max)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: give 1 to %zu port strings", path,
				max);
	cJSON_ArrayForEach(p, arr) {
		if (!cJSON_IsString(p))
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s[%zu]: must be a string \"N\" or \"N-M\"", path, i);
		if (skl_port_range_parse(p->valuestring, &out[i], err)) {
			skl_err_prefix(err, "%s[%zu]", path, i);
			return -1;
		}
		i++;
	}
	*n = i;
	return 0;
}

static int add_allowed_prefix(struct skl_netconf *c, const char *s, size_t i, struct skl_err *err)
{
	struct skl_binding_spec p = { .kind = SKL_PREFIX_CIDR };

	snprintf(p.where, sizeof(p.where), "annotations.allowedPrefixes[%zu]", i);
	if (!strcmp(s, "pod") || !strcmp(s, "pod4") || !strcmp(s, "pod6")) {
		p.kind = !strcmp(s, "pod") ? SKL_PREFIX_POD
					   : !strcmp(s, "pod4") ? SKL_PREFIX_POD4 : SKL_PREFIX_POD6;
	} else if (skl_prefix_parse(s, &p.family, &p.plen, p.addr, err)) {
		skl_err_prefix(err, "%s", p.where);
		return -1;
	}
	return skl_bindings_append(&c->allowed_prefixes, &p, err);
}

static int parse_annotations(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	static const char *const known[] = { "allow", "allowedPrefixes", "allowedPorts", NULL };
	const cJSON *a, *allow, *prefixes, *ports, *p;
	size_t i = 0;

	if (field(doc, "annotations", "", is_object, "an object", &a, err))
		return -1;
	if (!a)
		return 0;
	if (only_keys(a, "annotations.", known, err) ||
	    field(a, "allow", "annotations.", is_bool, "true or false", &allow, err) ||
	    field(a, "allowedPrefixes", "annotations.", is_array, "an array of prefixes",
		  &prefixes, err) ||
	    field(a, "allowedPorts", "annotations.", is_array, "an array of port strings", &ports,
		  err))
		return -1;
	c->annotations_allow = allow && cJSON_IsTrue(allow);
	if (prefixes) {
		skl_bindings_free(&c->allowed_prefixes);
		cJSON_ArrayForEach(p, prefixes) {
			if (!cJSON_IsString(p))
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"annotations.allowedPrefixes[%zu]: must be a string "
						"(a prefix or \"pod\")", i);
			if (add_allowed_prefix(c, p->valuestring, i++, err))
				return -1;
		}
	}
	if (ports && parse_port_list(ports, "annotations.allowedPorts", c->allowed_ports,
				     sizeof(c->allowed_ports) / sizeof(c->allowed_ports[0]),
				     &c->n_allowed_ports, err))
		return -1;
	return 0;
}

static int integer(const cJSON *obj, const char *key, uint32_t *out, struct skl_err *err)
{
	const cJSON *f;

	if (field(obj, key, "limits.", is_number, "a whole number", &f, err))
		return -1;
	if (!f)
		return 0;
	if (f->valuedouble != floor(f->valuedouble) || f->valuedouble < 0 ||
	    f->valuedouble > 4294967295.0)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "limits.%s: must be a whole number",
				key);
	*out = (uint32_t)f->valuedouble;
	return 0;
}

static int parse_limits(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	static const char *const known[] = { "bindings", "labels", "portRanges", NULL };
	const cJSON *l;

	if (field(doc, "limits", "", is_object, "an object", &l, err))
		return -1;
	if (!l)
		return 0;
	if (only_keys(l, "limits.", known, err) || integer(l, "bindings", &c->limits.bindings, err) ||
	    integer(l, "labels", &c->limits.labels, err) ||
	    integer(l, "portRanges", &c->limits.port_ranges, err))
		return -1;
	return skl_limits_check(&c->limits, err);
}

/* A runtimeConfig entry: as field(), but JSON null is no entry. Runtimes
 * written in Go marshal an empty map or slice as null: containerd sends
 * "io.kubernetes.cri.pod-annotations": null for a pod without annotations. */
static int runtime_field(const cJSON *rc, const char *key, int (*is)(const cJSON *),
			 const char *type, const cJSON **out, struct skl_err *err)
{
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rc, key))) {
		*out = NULL;
		return 0;
	}
	return field(rc, key, "runtimeConfig.", is, type, out, err);
}

static int parse_runtime_config(const cJSON *doc, struct skl_netconf *c, bool lenient,
				struct skl_err *err)
{
	const cJSON *rc, *bindings, *annotations, *value;

	if (field(doc, "runtimeConfig", "", is_object, "an object", &rc, err))
		return -1;
	if (!rc)
		return 0;
	if (runtime_field(rc, "bindings", is_array, "an array of bindings", &bindings, err) ||
	    runtime_field(rc, SKL_CAP_POD_ANNOTATIONS, is_object, "an object of strings",
			  &annotations, err))
		return -1;
	if (bindings && !lenient &&
	    skl_bindings_parse(bindings, "runtimeConfig.bindings", &c->bindings, err))
		return -1;
	if (!annotations)
		return 0;
	value = cJSON_GetObjectItemCaseSensitive(annotations, SKL_ANNOTATION_BINDINGS);
	if (value && !cJSON_IsString(value))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"annotation %s: must be a string holding a JSON array of bindings",
				SKL_ANNOTATION_BINDINGS);
	c->annotation = value ? value->valuestring : NULL;
	return 0;
}

static int parse_gc(const cJSON *doc, struct skl_netconf *c, struct skl_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "cni.dev/valid-attachments");

	/* libcni sends both names: the spec first called it cni.dev/attachments. */
	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(doc, "cni.dev/attachments");
	if (v && !cJSON_IsArray(v))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s: must be an array of {\"containerID\", \"ifname\"}", v->string);
	c->valid_attachments = (cJSON *)v;
	return 0;
}

static void set_defaults(struct skl_netconf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bpffs_root, sizeof(c->bpffs_root), "%s", SKL_DEFAULT_BPFFS_ROOT);
	c->routes_pod = true;
	skl_limits_default(&c->limits);
	c->allowed_ports[0] = (struct skl_port_range){ SKL_ALLOWED_PORTS_MIN_DEFAULT, SKL_PORT_MAX };
	c->n_allowed_ports = 1;
}

int skl_netconf_parse(const char *json, bool lenient, struct skl_netconf *c, struct skl_err *err)
{
	struct skl_binding_spec pod = { .kind = SKL_PREFIX_POD, .where = "annotations.allowedPrefixes" };
	const cJSON *bindings, *prev, *type;

	set_defaults(c);
	c->doc = cJSON_Parse(json);
	if (!c->doc)
		return skl_errf(err, SKL_CNI_DECODE_FAILURE,
				"stdin: not valid JSON (near \"%.24s\"); the runtime must pass the "
				"network configuration", cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
	if (!cJSON_IsObject(c->doc)) {
		skl_errf(err, SKL_CNI_DECODE_FAILURE, "stdin: the configuration must be a JSON object");
		goto fail;
	}
	if (skl_bindings_append(&c->allowed_prefixes, &pod, err) || parse_version(c->doc, c, err) ||
	    parse_name_and_root(c->doc, c, err) ||
	    field(c->doc, "type", "", is_string, "a string", &type, err) ||
	    field(c->doc, "bindings", "", is_array, "an array of bindings", &bindings, err) ||
	    field(c->doc, "prevResult", "", is_object, "an object (the previous plugin's result)",
		  &prev, err))
		goto fail;
	if (type && strcmp(type->valuestring, "sklookup")) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "type: \"%.32s\" is not this plugin; the entry's type is \"sklookup\"",
			 type->valuestring);
		goto fail;
	}
	c->prev_result = (cJSON *)prev;
	if (lenient) {
		/* DEL, GC: only what locates the state matters. */
		if (parse_gc(c->doc, c, err))
			goto fail;
		return 0;
	}
	if ((bindings && skl_bindings_parse(bindings, "bindings", &c->bindings, err)))
		goto fail;
	c->n_config_bindings = c->bindings.n;
	if (parse_routes(c->doc, c, err) || parse_attach(c->doc, c, err) ||
	    parse_annotations(c->doc, c, err) ||
	    parse_limits(c->doc, c, err) || parse_runtime_config(c->doc, c, lenient, err) ||
	    parse_gc(c->doc, c, err))
		goto fail;
	return 0;
fail:
	skl_netconf_free(c);
	return -1;
}

void skl_netconf_free(struct skl_netconf *c)
{
	skl_bindings_free(&c->bindings);
	skl_bindings_free(&c->allowed_prefixes);
	cJSON_Delete(c->doc);
	c->doc = NULL;
	c->prev_result = NULL;
	c->valid_attachments = NULL;
	c->annotation = NULL;
}
