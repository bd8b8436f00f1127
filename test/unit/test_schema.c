/*
 * The JSON Schema and the plugin's parser agree: every example conflist,
 * pod spec and good config validates against schema/sklookup.schema.json
 * AND is accepted by the plugin; every config in test/schema/bad is refused
 * by the schema AND by the plugin (but for the few fields the plugin leaves
 * to the runtime). Run from the repository root.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netconf.h"

#define PYTHON "/usr/bin/python3"
#define SCHEMA "schema/sklookup.schema.json"

/* Refused by the schema only: the runtime always sets "type", and the
 * plugin reads no capability values. */
static const char *const schema_only[] = { "type-missing.json", "capabilities-not-boolean.json" };

static const char prev_result[] =
	"{\"cniVersion\": \"1.0.0\", \"interfaces\": [{\"name\": \"eth0\", \"sandbox\": \"/x\"}],"
	" \"ips\": [{\"interface\": 0, \"address\": \"198.51.100.10/24\"},"
	"          {\"interface\": 0, \"address\": \"2001:db8::10/64\"}]}";

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* What ADD does with a config before touching the kernel. */
static int plugin_accepts(cJSON *entry, struct skl_err *err)
{
	struct skl_pod_addrs pod;
	struct skl_netconf conf;
	char *text;
	int ret;

	if (!cJSON_GetObjectItem(entry, "prevResult"))
		cJSON_AddItemToObject(entry, "prevResult", cJSON_Parse(prev_result));
	text = cJSON_PrintUnformatted(entry);
	assert_non_null(text);
	ret = skl_netconf_parse(text, false, &conf, err);
	free(text);
	if (ret)
		return -1;
	ret = skl_netconf_pod_addrs(&conf, "eth0", &pod, err) ||
	      skl_bindings_resolve_pod(&conf.bindings, &pod, err) ||
	      skl_netconf_add_annotation(&conf, &pod, err) ||
	      skl_bindings_check_conflicts(&conf.bindings, err);
	skl_netconf_free(&conf);
	return ret ? -1 : 0;
}

/* The sklookup entries of a conflist, with cniVersion and name injected
 * as libcni does. */
static void check_conflist(const char *path)
{
	char *text = slurp(path);
	cJSON *list = cJSON_Parse(text), *plugin;
	int entries = 0;

	assert_non_null(list);
	cJSON_ArrayForEach(plugin, cJSON_GetObjectItem(list, "plugins")) {
		cJSON *entry;
		struct skl_err err = { 0 };

		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(plugin, "type")), "sklookup"))
			continue;
		entry = cJSON_Duplicate(plugin, 1);
		cJSON_AddItemToObject(entry, "cniVersion",
				      cJSON_Duplicate(cJSON_GetObjectItem(list, "cniVersion"), 1));
		cJSON_AddItemToObject(entry, "name",
				      cJSON_Duplicate(cJSON_GetObjectItem(list, "name"), 1));
		if (plugin_accepts(entry, &err))
			fail_msg("%s: the plugin refuses the sklookup entry: %s", path, err.msg);
		cJSON_Delete(entry);
		entries++;
	}
	assert_true(entries > 0);
	cJSON_Delete(list);
	free(text);
}

static int for_each_file(const char *dir, const char *suffix, void (*fn)(const char *path))
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[512];
		size_t len = strlen(e->d_name);

		if (len < strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	return n;
}

static void schema_accepts_examples(void **state)
{
	(void)state;
	assert_int_equal(system(PYTHON " test/schema/validate.py " SCHEMA " examples/*.conflist "
				"examples/servers/*.conflist "
				"examples/pod-*.yaml test/schema/good/*.json"),
			 0);
}

static void schema_refuses_bad_configs(void **state)
{
	(void)state;
	assert_int_equal(system(PYTHON " test/schema/validate.py --expect-invalid " SCHEMA
				" test/schema/bad/*.json > /dev/null"),
			 0);
}

static void schema_patterns_match_the_parser_rules(void **state)
{
	(void)state;
	assert_int_equal(system(PYTHON " test/schema/check_patterns.py " SCHEMA), 0);
}

static void plugin_accepts_examples(void **state)
{
	(void)state;
	assert_true(for_each_file("examples", ".conflist", check_conflist) >= 3);
}

static void accept_good(const char *path)
{
	char *text = slurp(path);
	cJSON *entry = cJSON_Parse(text);
	struct skl_err err = { 0 };

	assert_non_null(entry);
	if (plugin_accepts(entry, &err))
		fail_msg("%s: the plugin refuses it: %s", path, err.msg);
	cJSON_Delete(entry);
	free(text);
}

static void plugin_accepts_good_configs(void **state)
{
	(void)state;
	assert_true(for_each_file("test/schema/good", ".json", accept_good) >= 4);
}

static void refuse_bad(const char *path)
{
	const char *name = strrchr(path, '/') + 1;
	char *text = slurp(path);
	cJSON *entry = cJSON_Parse(text);
	struct skl_err err = { 0 };

	for (size_t i = 0; i < sizeof(schema_only) / sizeof(schema_only[0]); i++)
		if (!strcmp(name, schema_only[i]))
			goto out;
	/* A bad file may be bad JSON; then there is nothing to feed. */
	if (entry && !plugin_accepts(entry, &err))
		fail_msg("%s: the schema refuses it but the plugin accepts it", path);
	if (entry)
		if (!(err.code == SKL_CNI_INVALID_CONFIG || err.code == SKL_CNI_UNSUPPORTED_FIELD ||
			      err.code == SKL_CNI_INCOMPATIBLE_VERSION))
			fail_msg("%s: refused with code %d: %s", path, err.code, err.msg);
out:
	cJSON_Delete(entry);
	free(text);
}

static void plugin_refuses_bad_configs(void **state)
{
	(void)state;
	assert_true(for_each_file("test/schema/bad", ".json", refuse_bad) >= 30);
}

/* The DaemonSet installer has the containers, volumes, mounts and commands
 * it claims (test/schema/check_manifests.py), and the plugin entry its
 * ConfigMap adds to the node's conflist passes the schema and the plugin. */
static void daemonset_structure_and_entry(void **state)
{
	char path[] = "/tmp/sklt-entry-XXXXXX.json", cmd[512];
	struct skl_err err = { 0 };
	char *text;
	cJSON *entry;
	int fd = mkstemps(path, 5);

	(void)state;
	assert_true(fd >= 0);
	fclose(fdopen(fd, "w"));
	snprintf(cmd, sizeof(cmd),
		 PYTHON " test/schema/check_manifests.py daemonset examples/daemonset.yaml"
			" --entry-out %s && " PYTHON " test/schema/validate.py " SCHEMA " %s",
		 path, path);
	if (system(cmd) != 0) {
		remove(path);
		fail_msg("examples/daemonset.yaml: see above");
	}
	text = slurp(path);
	remove(path);
	entry = cJSON_Parse(text);
	assert_non_null(entry);
	if (plugin_accepts(entry, &err))
		fail_msg("the DaemonSet's sklookup entry is refused by the plugin: %s", err.msg);
	cJSON_Delete(entry);
	free(text);
}

/* The example pod asks for bindings by annotation, runs its server under
 * sklookup-ctl exec, adds no capability and mounts only /run/sklookup. */
static void pod_spec_structure(void **state)
{
	(void)state;
	assert_int_equal(system(PYTHON " test/schema/check_manifests.py pod "
				"examples/pod-annotation.yaml"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(daemonset_structure_and_entry),
		cmocka_unit_test(pod_spec_structure),
		cmocka_unit_test(schema_accepts_examples),
		cmocka_unit_test(schema_refuses_bad_configs),
		cmocka_unit_test(schema_patterns_match_the_parser_rules),
		cmocka_unit_test(plugin_accepts_examples),
		cmocka_unit_test(plugin_accepts_good_configs),
		cmocka_unit_test(plugin_refuses_bad_configs),
	};

	return cmocka_run_group_tests_name("schema and parser agree", tests, NULL, NULL);
}
