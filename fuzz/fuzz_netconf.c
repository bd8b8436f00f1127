/*
 * libFuzzer target: the network configuration on stdin (with prevResult,
 * runtimeConfig and the pod annotation inside it), through everything the
 * verbs do with it before touching the kernel:
 *  - strict parse (ADD, CHECK): cniVersion against each verb, the state
 *    path, the pod's addresses from prevResult, pod prefixes, the annotation
 *    and its policy, conflicts, compile (checked against the reference
 *    rule), and the reserved-ports plan for the served ports;
 *  - lenient parse (DEL, GC): the state path, and each
 *    cni.dev/valid-attachments entry made a state path as GC does.
 * CNI_ARGS is not here because the plugin never reads it; the CNI_*
 * variables it does read are checked by fuzz_strings.
 * Properties (abort()): what the strict parse accepts the lenient one
 * accepts too, with the same name, root and version; every failure sets a
 * code and a message.
 */
#include <limits.h>

#include "check_compiled.h"
#include "compile.h"
#include "fuzz.h"
#include "netconf.h"
#include "portreserve.h"
#include "state.h"

#define MAX_PROBED 8
#define IFNAME "eth0" /* CNI_IFNAME; the seeds' prevResult interfaces use it */
#define CONTAINER "f00dcafe0123"
#define EPH_LO 32768 /* Linux's default ephemeral range */
#define EPH_HI 60999

static void reserved_ports_plan(const struct skl_binding_set *set)
{
	struct skl_port_range *served, *plan = NULL;
	size_t n_served = 0, n_plan, n_skipped;
	struct skl_err err = { 0 };

	for (size_t i = 0; i < set->n; i++)
		n_served += set->v[i].n_ports;
	served = calloc(n_served + 1, sizeof(*served));
	FUZZ_CHECK(served != NULL, "out of memory");
	n_served = 0;
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->v[i].n_ports; k++)
			served[n_served++] = set->v[i].ports[k];
	FUZZ_CHECK(skl_reserved_ports_plan(served, n_served, EPH_LO, EPH_HI, &plan, &n_plan,
					   &n_skipped, &err) == 0, "plan: %s", err.msg);
	for (size_t i = 0; i < n_plan; i++) {
		FUZZ_CHECK(plan[i].lo >= EPH_LO && plan[i].hi <= EPH_HI && plan[i].lo <= plan[i].hi,
			   "plan reserves %u-%u outside the ephemeral range", plan[i].lo,
			   plan[i].hi);
		FUZZ_CHECK(i == 0 || plan[i - 1].hi + 1u < plan[i].lo, "plan not merged at %zu", i);
	}
	/* Reserving every ephemeral port would leave none for connect(). */
	FUZZ_CHECK(!(n_plan == 1 && plan[0].lo == EPH_LO && plan[0].hi == EPH_HI),
		   "plan reserves the whole ephemeral range");
	free(served);
	free(plan);
}

/* ADD after its parse: skl_cni_pod_bindings, then the conflict check of
 * prepare(), then what skl_rules_apply compiles. */
static void add_path(struct skl_netconf *conf)
{
	struct skl_pod_addrs pod;
	struct skl_compiled c;
	struct skl_err err = { 0 };

	if (skl_netconf_pod_addrs(conf, IFNAME, &pod, &err)) {
		fuzz_check_err(&err, "skl_netconf_pod_addrs");
		return;
	}
	FUZZ_CHECK(pod.n <= sizeof(pod.v) / sizeof(pod.v[0]), "pod.n = %zu", pod.n);
	if (skl_bindings_resolve_pod(&conf->bindings, &pod, &err)) {
		fuzz_check_err(&err, "skl_bindings_resolve_pod");
		return;
	}
	if (skl_netconf_add_annotation(conf, &pod, &err)) {
		fuzz_check_err(&err, "skl_netconf_add_annotation");
		return;
	}
	if (skl_bindings_check_conflicts(&conf->bindings, &err)) {
		fuzz_check_err(&err, "skl_bindings_check_conflicts");
		return;
	}
	FUZZ_CHECK(skl_compile(&conf->bindings, &c, &err) == 0,
		   "skl_compile failed on a set without conflicts: %s", err.msg);
	fuzz_check_compiled(&conf->bindings, &c, MAX_PROBED);
	skl_compiled_free(&c);
	reserved_ports_plan(&conf->bindings);
}

static void state_path(const struct skl_netconf *conf, const char *container, const char *ifname)
{
	char dir[PATH_MAX];
	struct skl_err err = { 0 };

	if (skl_state_path(dir, sizeof(dir), conf->bpffs_root, conf->name, container, ifname,
			   &err))
		fuzz_check_err(&err, "skl_state_path");
}

/* GC's valid_paths(): every attachment it keeps becomes a state path. */
static void gc_path(const struct skl_netconf *conf)
{
	const cJSON *a;

	state_path(conf, "x", "x");
	cJSON_ArrayForEach(a, conf->valid_attachments) {
		const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "containerID"));
		const char *ifname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "ifname"));

		if (cid && ifname)
			state_path(conf, cid, ifname);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const verbs_since[] = { "0.3.0", "0.4.0", "1.1.0" };
	struct skl_netconf strict, lenient;
	struct skl_err err = { 0 };
	char *json = fuzz_cstring(data, size);
	int lenient_rc;

	lenient_rc = skl_netconf_parse(json, true, &lenient, &err);
	if (lenient_rc)
		fuzz_check_err(&err, "skl_netconf_parse (lenient)");
	else
		gc_path(&lenient);

	memset(&err, 0, sizeof(err));
	if (skl_netconf_parse(json, false, &strict, &err)) {
		fuzz_check_err(&err, "skl_netconf_parse");
	} else {
		FUZZ_CHECK(lenient_rc == 0, "DEL would refuse a config ADD accepts");
		FUZZ_CHECK(!strcmp(strict.name, lenient.name) &&
				   !strcmp(strict.bpffs_root, lenient.bpffs_root) &&
				   !strcmp(strict.cni_version, lenient.cni_version),
			   "DEL would find the state elsewhere than ADD put it");
		FUZZ_CHECK(skl_cni_version_supported(strict.cni_version), "cniVersion \"%s\"",
			   strict.cni_version);
		FUZZ_CHECK(strict.n_config_bindings <= strict.bindings.n, "n_config_bindings");
		for (size_t i = 0; i < sizeof(verbs_since) / sizeof(verbs_since[0]); i++)
			(void)skl_cni_version_cmp(strict.cni_version, verbs_since[i]);
		state_path(&strict, CONTAINER, IFNAME);
		add_path(&strict);
		skl_netconf_free(&strict);
	}
	if (!lenient_rc)
		skl_netconf_free(&lenient);
	free(json);
	return 0;
}
