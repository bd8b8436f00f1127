/*
 * The plugin's network configuration (one entry of a conflist, as the
 * runtime passes it on stdin): parsed and validated with errors that name
 * the field and the fix. Pure code: no kernel, no I/O.
 */
#ifndef SKL_NETCONF_H
#define SKL_NETCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "bindings.h"
#include "dispatcher.h"
#include "skl_error.h"

#define SKL_ANNOTATION_BINDINGS "sklookup.dev/bindings"
#define SKL_CAP_POD_ANNOTATIONS "io.kubernetes.cri.pod-annotations"
#define SKL_MAX_STDIN (4 << 20) /* bytes of config a runtime may send */

/* The network's "name", bytes at most (it names a state directory). */
#define SKL_NETWORK_NAME_MAX 128
/* annotations.allowedPorts: ranges at most, and the default's first port
 * (the unprivileged ones, up to SKL_PORT_MAX). */
#define SKL_ALLOWED_PORTS_MAX 64
#define SKL_ALLOWED_PORTS_MIN_DEFAULT 1024

/* Spec versions, oldest first. */
extern const char *const skl_cni_versions[];
extern const size_t skl_cni_n_versions;

struct skl_netconf {
	char cni_version[16];
	char name[256];
	char bpffs_root[256];
	struct skl_binding_set bindings; /* config, then runtimeConfig, then annotation */
	size_t n_config_bindings;        /* how many of them came from the config itself */
	bool routes_pod, routes_host;
	/* "attach": "when-bound": a pod without bindings gets no dispatcher
	 * (nothing of ours in it); "always" (the default) gives every pod one,
	 * so that bindings can be added at run time. */
	bool attach_when_bound;
	bool annotations_allow;
	struct skl_binding_set allowed_prefixes; /* only kind/family/plen/addr are used */
	size_t n_allowed_ports;
	struct skl_port_range allowed_ports[SKL_ALLOWED_PORTS_MAX];
	struct skl_limits limits;
	cJSON *doc;         /* the whole parsed input; owns everything below */
	cJSON *prev_result; /* NULL when absent */
	const char *annotation; /* the raw sklookup.dev/bindings value, if any */
	cJSON *valid_attachments; /* GC: array of {containerID, ifname}, or NULL */
};

/* Compares spec versions ("0.4.0" < "1.0.0"); unknown versions sort first. */
int skl_cni_version_cmp(const char *a, const char *b);
bool skl_cni_version_supported(const char *v);

/* Parses stdin. For DEL, `lenient` keeps going past invalid bindings (DEL
 * must succeed when the config changed since ADD); the fields that locate
 * the state (name, bpffsRoot) must still be valid. */
int skl_netconf_parse(const char *json, bool lenient, struct skl_netconf *conf,
		      struct skl_err *err);

/* Adds the annotation's bindings (pod annotation sklookup.dev/bindings from
 * runtimeConfig), after checking them against the annotations policy once
 * pod prefixes are resolved. Called by ADD and CHECK after
 * skl_netconf_resolve_pod. */
int skl_netconf_add_annotation(struct skl_netconf *conf, const struct skl_pod_addrs *pod,
			       struct skl_err *err);

/* The pod's own addresses: prevResult.ips whose interface is ifname inside
 * the sandbox (all ips when the result names no interfaces). */
int skl_netconf_pod_addrs(const struct skl_netconf *conf, const char *ifname,
			  struct skl_pod_addrs *out, struct skl_err *err);

/* Whether this pod gets a dispatcher: always, unless "attach" is
 * "when-bound" and the pod has no bindings (call after the annotation is
 * added). */
bool skl_netconf_wants_dispatcher(const struct skl_netconf *conf);

void skl_netconf_free(struct skl_netconf *conf);

#endif
