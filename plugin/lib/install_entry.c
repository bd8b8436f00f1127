/* The sklookup entry to install, as given on the command line or in a file
 * (the DaemonSet's ConfigMap). */
#include "install.h"

#include <string.h>

cJSON *skl_install_entry_parse(const char *text, const char *where, struct skl_err *err)
{
	const char *end = NULL;
	cJSON *entry = cJSON_ParseWithOpts(text, &end, true);
	const cJSON *type;

	if (!entry) {
		skl_errf(err, SKL_CNI_DECODE_FAILURE, "%s: not valid JSON (near \"%.24s\")", where,
			 end ? end : "");
		return NULL;
	}
	type = cJSON_GetObjectItemCaseSensitive(entry, "type");
	if (!cJSON_IsObject(entry) || !cJSON_IsString(type) || strcmp(type->valuestring, "sklookup")) {
		cJSON_Delete(entry);
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "%s: the sklookup entry must be a JSON object with \"type\": \"sklookup\"",
			 where);
		return NULL;
	}
	return entry;
}
