/* The node agent's answer records (agent_proto.h): pieces of the result
 * document and the end, written by the agent and read strictly by
 * sklookup-ctl. */
#include "agent_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "result_json_util.h"

char *skl_agent_part_record(const char *text, size_t len)
{
	char *copy = malloc(len + 1), *record = NULL;
	cJSON *doc = cJSON_CreateObject();

	if (copy && doc) {
		memcpy(copy, text, len);
		copy[len] = 0;
		if (cJSON_AddStringToObject(doc, "part", copy))
			record = cJSON_PrintUnformatted(doc);
	}
	free(copy);
	cJSON_Delete(doc);
	return record;
}

char *skl_agent_end_record(int exit_status, const char *error)
{
	cJSON *doc = cJSON_CreateObject();
	char *record = NULL, msg[512];

	if (!doc)
		return NULL;
	/* The client refuses control characters: a message never carries one. */
	snprintf(msg, sizeof(msg), "%s", error ? error : "failed");
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	cJSON_AddNumberToObject(doc, "exit", exit_status);
	if (exit_status)
		cJSON_AddStringToObject(doc, "error", msg);
	record = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return record;
}

/* Text for the user's terminal: no control characters (escape sequences);
 * UTF-8 passes (a path may hold it). */
static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int bad_answer(struct skl_err *err)
{
	return skl_errf(err, SKL_CNI_DECODE_FAILURE,
			"the node agent's answer is not understood (a different release?)");
}

/* {"part": TEXT}: a piece of at most SKL_AGENT_MAX_CHUNK bytes. */
static int decode_part(const cJSON *doc, struct skl_agent_answer *a, struct skl_err *err)
{
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(doc, "part");

	if (cJSON_GetArraySize(doc) != 1 || !cJSON_IsString(part) ||
	    strlen(part->valuestring) > SKL_AGENT_MAX_CHUNK)
		return bad_answer(err);
	a->out_len = strlen(part->valuestring);
	a->out = strdup(part->valuestring);
	return a->out ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
}

/* {"exit": 0} or {"exit": N, "error": MSG}. */
static int decode_end(const cJSON *doc, struct skl_agent_answer *a, struct skl_err *err)
{
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(doc, "exit");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "error");
	long status;

	if (!rj_int(ex, 0, SKL_AGENT_EXIT_MAX, &status) ||
	    cJSON_GetArraySize(doc) != (status ? 2 : 1) || (status && !cJSON_IsString(msg)) ||
	    (msg && !no_controls(msg->valuestring)))
		return bad_answer(err);
	a->done = true;
	a->exit_status = (int)status;
	/* The exit status is sklookup-ctl's (a->exit_status), not an error code;
	 * the message is the agent's. An empty one would leave the user with
	 * none at all. */
	if (status)
		skl_errf(err, SKL_CNI_INTERNAL, "%s",
			 msg->valuestring[0] ? msg->valuestring
					     : "the node agent failed without saying why");
	return 0;
}

int skl_agent_answer_decode(const char *text, struct skl_agent_answer *a, struct skl_err *err)
{
	cJSON *doc = cJSON_Parse(text);
	int ret;

	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(doc))
		ret = bad_answer(err);
	else if (cJSON_GetObjectItemCaseSensitive(doc, "part"))
		ret = decode_part(doc, a, err);
	else
		ret = decode_end(doc, a, err);
	cJSON_Delete(doc);
	return ret;
}

void skl_agent_answer_free(struct skl_agent_answer *a)
{
	free(a->out);
	a->out = NULL;
}

