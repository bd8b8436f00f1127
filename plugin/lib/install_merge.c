/* The sklookup entry in a conflist's "plugins", on parsed documents: put in
 * (replacing an old one in place), taken out, and a single-plugin .conf
 * turned into a conflist (a .conf cannot chain plugins). */
#include "install.h"

#include <stdio.h>
#include <string.h>

static bool is_sklookup(const cJSON *plugin)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(plugin, "type");

	return cJSON_IsString(type) && !strcmp(type->valuestring, "sklookup");
}

/* How many times obj has key: cJSON keeps every copy of a repeated key and
 * finds the first, libcni (Go) uses the last; a file with two would get
 * the entry where the runtime does not look. */
static int key_count(const cJSON *obj, const char *key)
{
	const cJSON *c;
	int n = 0;

	cJSON_ArrayForEach(c, obj)
		n += c->string && !strcmp(c->string, key);
	return n;
}

static int refuse_repeated(const cJSON *obj, const char *const *keys, const char *what,
			   const char *where, struct skl_err *err)
{
	for (; *keys; keys++)
		if (key_count(obj, *keys) > 1)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s: %s has \"%s\" more than once (the runtime would read "
					"the last); fix the file", where, what, *keys);
	return 0;
}

static const char *const list_keys[] = { "cniVersion", "name", "plugins", NULL };
static const char *const plugin_keys[] = { "type", NULL };

/* The conflist's "plugins", an array of objects; else an error. */
static cJSON *plugins_of(cJSON *conflist, const char *where, struct skl_err *err)
{
	cJSON *plugins = cJSON_GetObjectItemCaseSensitive(conflist, "plugins");
	const cJSON *p;
	int i = 0;

	if (!cJSON_IsObject(conflist) || !cJSON_IsArray(plugins)) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "%s: not a conflist with a \"plugins\" array; fix or remove the file (it is "
			 "the first config file, the one the runtime reads)", where);
		return NULL;
	}
	if (refuse_repeated(conflist, list_keys, "the conflist", where, err))
		return NULL;
	cJSON_ArrayForEach(p, plugins) {
		char what[32];

		snprintf(what, sizeof(what), "plugins[%d]", i);
		if (!cJSON_IsObject(p)) {
			skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: %s is not an object; fix the file",
				 where, what);
			return NULL;
		}
		if (refuse_repeated(p, plugin_keys, what, where, err))
			return NULL;
		i++;
	}
	return plugins;
}

int skl_install_conflist_put(cJSON *conflist, const cJSON *entry, const char *where,
			     struct skl_err *err)
{
	cJSON *plugins = plugins_of(conflist, where, err), *copy, *p, *next, *first = NULL;

	if (!plugins)
		return -1;
	copy = cJSON_Duplicate(entry, true);
	if (!copy)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (p = plugins->child; p; p = next) {
		next = p->next;
		if (!is_sklookup(p))
			continue;
		if (!first)
			first = p;
		else
			cJSON_Delete(cJSON_DetachItemViaPointer(plugins, p));
	}
	if (first)
		cJSON_ReplaceItemViaPointer(plugins, first, copy);
	else
		cJSON_AddItemToArray(plugins, copy);
	return 0;
}

int skl_install_conflist_drop(cJSON *conflist, const char *where, struct skl_err *err)
{
	cJSON *plugins = plugins_of(conflist, where, err), *p, *next;
	int dropped = 0;

	if (!plugins)
		return -1;
	for (p = plugins->child; p; p = next) {
		next = p->next;
		if (is_sklookup(p)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(plugins, p));
			dropped++;
		}
	}
	return dropped;
}

cJSON *skl_install_conf_to_conflist(const cJSON *conf, const char *where, struct skl_err *err)
{
	cJSON *list, *plugins, *plugin;

	if (cJSON_IsObject(conf) && refuse_repeated(conf, (const char *const[]){ "cniVersion",
		    "name", "type", NULL }, "the config", where, err))
		return NULL;
	if (!cJSON_IsObject(conf) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(conf, "type"))) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "%s: not a CNI plugin config (an object with a \"type\"); fix or remove the "
			 "file (it is the first config file, the one the runtime reads)", where);
		return NULL;
	}
	list = cJSON_CreateObject();
	plugins = cJSON_AddArrayToObject(list, "plugins");
	plugin = cJSON_Duplicate(conf, true);
	if (!list || !plugins || !plugin)
		goto oom;
	/* cniVersion and name belong to the list; the rest is the plugin's. */
	for (const char *const *key = (const char *const[]){ "cniVersion", "name", NULL }; *key;
	     key++) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(plugin, *key);

		if (v && !cJSON_AddItemToObject(list, *key, v)) {
			cJSON_Delete(v);
			goto oom;
		}
	}
	cJSON_AddItemToArray(plugins, plugin);
	plugin = NULL;
	/* cniVersion and name first, as people write them. */
	cJSON_DetachItemViaPointer(list, plugins);
	if (!cJSON_AddItemToObject(list, "plugins", plugins)) {
		cJSON_Delete(plugins);
		goto oom;
	}
	return list;
oom:
	cJSON_Delete(plugin);
	cJSON_Delete(list);
	skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	return NULL;
}
