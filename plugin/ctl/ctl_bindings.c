/* sklookup-ctl bindings: show or change a pod's bindings at run time, with
 * the plugin's rules, atomically (see rules.h). */
#include "ctl.h"
#include "ctl_results.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod_identity.h"
#include "rules.h"
#include "state.h"

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] bindings [list]\n"
	"       sklookup-ctl [OPTIONS] bindings add|del|replace FILE\n"
	"\n"
	"Shows the pod's bindings, or changes them. FILE (\"-\" for stdin) holds a JSON\n"
	"array of bindings in the plugin's config syntax, e.g.\n"
	"  [{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\",\n"
	"    \"ports\": [\"80\", \"8000-8999\"]}]\n"
	"add appends them, del removes bindings equal to them, replace sets exactly\n"
	"them. The same validation and conflict rules as the plugin apply, and a change\n"
	"is atomic: every packet sees the old set or the new one, never a mix. Pod\n"
	"prefixes (\"pod\", \"pod4\", \"pod6\") are resolved only by the plugin at ADD.\n"
	"Note that CHECK of the pod compares the maps with its network config.\n"
	"\n"
	"list starts with the pod's NAMESPACE/NAME and uid when its record keeps them.\n"
	"\n"
	"Options: --json (list: the array in config syntax, each with its \"id\"; the\n"
	"pod's name is in status --json and pods --json).\n";

static void print_table(const struct skl_binding_set *set, const uint32_t *ids)
{
	printf("%-5s %-16s %-5s %-28s %-8s %s\n", "ID", "LABEL", "PROTO", "PREFIX", "MISSING",
	       "PORTS");
	for (size_t i = 0; i < set->n; i++) {
		const struct skl_binding_spec *b = &set->v[i];
		char prefix[SKL_PREFIX_STR_MAX];

		skl_prefix_format(b->family, b->plen, b->addr, prefix, sizeof(prefix));
		printf("%-5u %-16s %-5s %-28s %-8s ", ids[i], b->label,
		       b->proto == IPPROTO_UDP ? "udp" : "tcp", prefix, b->missing_pass ? "pass" : "drop");
		for (size_t k = 0; k < b->n_ports; k++) {
			const struct skl_port_range *r = &b->ports[k];

			if (r->lo == SKL_PORT_MIN && r->hi == SKL_PORT_MAX)
				printf("all");
			else if (r->lo == r->hi)
				printf("%s%u", k ? "," : "", r->lo);
			else
				printf("%s%u-%u", k ? "," : "", r->lo, r->hi);
		}
		printf("\n");
	}
}

static int list(struct skl_ctl *ctl, struct skl_err *err)
{
	struct skl_binding_set set;
	uint32_t *ids;
	int ret = 0;

	if (skl_rules_read(&ctl->d, &set, &ids, err))
		return -1;
	if (ctl->json) {
		cJSON *arr = skl_bindings_to_json(&set), *b;
		size_t i = 0;

		cJSON_ArrayForEach(b, arr)
			cJSON_AddNumberToObject(b, "id", ids[i++]);
		ret = skl_ctl_print_json(arr, err);
	} else {
		struct skl_pod_identity id;

		/* The pod's name first, when its record keeps one. */
		if (!skl_pod_identity_read(ctl->state_dir, &id, NULL))
			skl_ctl_print_pod_identity(&id);
		print_table(&set, ids);
	}
	free(ids);
	skl_bindings_free(&set);
	return ret;
}

static bool same_binding(const struct skl_binding_spec *a, const struct skl_binding_spec *b)
{
	return !strcmp(a->label, b->label) && a->proto == b->proto && a->family == b->family &&
	       a->plen == b->plen && !memcmp(a->addr, b->addr, SKL_ADDR_BYTES) &&
	       a->missing_pass == b->missing_pass && a->n_ports == b->n_ports &&
	       !memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports));
}

static int check_concrete(const struct skl_binding_set *set, struct skl_err *err)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].kind != SKL_PREFIX_CIDR)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s: pod prefixes are resolved only by the plugin at ADD; give "
					"the pod's address or a prefix", set->v[i].where);
	return 0;
}

/* The new set for add, del or replace. */
static int compose(const char *op, const struct skl_binding_set *now,
		   const struct skl_binding_set *file, struct skl_binding_set *out,
		   struct skl_err *err)
{
	bool del = !strcmp(op, "del");

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !strcmp(op, "add") && i < now->n; i++)
		if (skl_bindings_append(out, &now->v[i], err))
			return -1;
	for (size_t i = 0; !del && i < file->n; i++)
		if (skl_bindings_append(out, &file->v[i], err))
			return -1;
	for (size_t i = 0; del && i < file->n; i++) {
		bool found = false;

		for (size_t k = 0; k < now->n; k++)
			found = found || same_binding(&file->v[i], &now->v[k]);
		if (!found)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s (label \"%s\"): no such binding in force; see "
					"'sklookup-ctl bindings list'", file->v[i].where, file->v[i].label);
	}
	for (size_t k = 0; del && k < now->n; k++) {
		bool doomed = false;

		for (size_t i = 0; i < file->n; i++)
			doomed = doomed || same_binding(&file->v[i], &now->v[k]);
		if (!doomed && skl_bindings_append(out, &now->v[k], err))
			return -1;
	}
	return 0;
}

static int change(struct skl_ctl *ctl, const char *op, const char *path, struct skl_err *err)
{
	struct skl_binding_set now = { 0 }, file = { 0 }, next = { 0 };
	cJSON *doc = skl_ctl_read_json(path, err);
	uint32_t *ids = NULL;
	int lock_fd = -1, ret = -1;

	if (!doc)
		return -1;
	if (!cJSON_IsArray(doc)) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "%s: must hold a JSON array of bindings", path);
		goto out;
	}
	if (skl_bindings_parse(doc, path, &file, err) || check_concrete(&file, err))
		goto out;
	/* From reading the set in force to applying the next one: another
	 * writer in between would be lost, or clear the generation in use. */
	if (skl_ctl_lock(ctl, &lock_fd, err) || skl_rules_read(&ctl->d, &now, &ids, err) ||
	    compose(op, &now, &file, &next, err) || skl_rules_apply(&ctl->d, &next, err))
		goto out;
	printf("%zu bindings in force (were %zu)\n", next.n, now.n);
	ret = 0;
out:
	skl_state_unlock(lock_fd);
	cJSON_Delete(doc);
	free(ids);
	skl_bindings_free(&now);
	skl_bindings_free(&file);
	skl_bindings_free(&next);
	return ret;
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	const char *op = argc > 1 ? argv[1] : "list";

	if (!strcmp(op, "list") && argc <= 2)
		return list(ctl, err);
	if ((!strcmp(op, "add") || !strcmp(op, "del") || !strcmp(op, "replace")) && argc == 3)
		return change(ctl, op, argv[2], err);
	return skl_ctl_usage(ctl, err,
			     "bindings: expected 'list' or 'add|del|replace FILE'; see bindings "
			     "--help");
}

const struct skl_ctl_command skl_ctl_bindings_cmd = {
	.name = "bindings",
	.run = run,
	.needs_state = true,
	.synopsis = "show, add, delete or replace the pod's bindings (atomic)",
	.help = help,
};
