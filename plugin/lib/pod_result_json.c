/* register's and unregister's results on the agent's wire (pod_result_json.h). */
#include "pod_result_json.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "result_json_util.h"

static cJSON *bools_json(const bool *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateBool(v[i]))) {
			cJSON_Delete(arr);
			return NULL;
		}
	return arr;
}

static bool bools_of(const cJSON *item, bool *out, size_t n)
{
	const cJSON *e;
	size_t i = 0;

	if (!cJSON_IsArray(item) || (size_t)cJSON_GetArraySize(item) != n)
		return false;
	cJSON_ArrayForEach(e, item) {
		if (i >= n || !cJSON_IsBool(e))
			return false;
		out[i++] = cJSON_IsTrue(e);
	}
	return i == n;
}

static cJSON *socket_json(const struct skl_registered_socket *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "name", s->name) &&
		  cJSON_AddNumberToObject(o, "fd", s->user_fd) &&
		  cJSON_AddStringToObject(o, "protocol", s->protocol == IPPROTO_UDP ? "udp" : "tcp") &&
		  cJSON_AddStringToObject(o, "family", s->family == AF_INET6 ? "ipv6" : "ipv4") &&
		  cJSON_AddBoolToObject(o, "v6only", s->v6only) &&
		  cJSON_AddStringToObject(o, "local", s->local) && rj_add_u64(o, "cookie", s->cookie) &&
		  cJSON_AddItemToObject(o, "slots", bools_json(s->slots, SKL_SOCKET_SLOTS)) &&
		  cJSON_AddItemToObject(o, "cleared", rj_u64_array(s->cleared, SKL_SOCKET_SLOTS));

	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *skl_registered_encode(const struct skl_registered *r)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	bool ok = doc && cJSON_AddStringToObject(doc, "label", r->label) &&
		  cJSON_AddNumberToObject(doc, "pid", (double)r->pid) &&
		  (arr = cJSON_AddArrayToObject(doc, "sockets"));

	for (size_t i = 0; ok && i < r->n; i++)
		ok = cJSON_AddItemToArray(arr, socket_json(&r->v[i]));
	return rj_print(doc, ok);
}

static const char *const socket_fields[] = { "name",   "fd",     "protocol", "family", "v6only",
					     "local",  "cookie", "slots",    "cleared" };

static int socket_decode(const cJSON *o, struct skl_registered_socket *s, struct skl_err *err)
{
	const cJSON *f[9];
	long fd;

	if (rj_fields(o, "a registered socket", socket_fields, 9, 0, f, err))
		return -1;
	if (!rj_str(f[0], s->name, sizeof(s->name), false) || !rj_int(f[1], 0, INT32_MAX, &fd) ||
	    !cJSON_IsString(f[2]) || !cJSON_IsString(f[3]) || !cJSON_IsBool(f[4]) ||
	    !rj_str(f[5], s->local, sizeof(s->local), false) || !rj_u64(f[6], &s->cookie) ||
	    !bools_of(f[7], s->slots, SKL_SOCKET_SLOTS) ||
	    !rj_u64s(f[8], s->cleared, SKL_SOCKET_SLOTS))
		return rj_bad(err, "a registered socket has a field of the wrong type or size");
	if (strcmp(f[2]->valuestring, "tcp") && strcmp(f[2]->valuestring, "udp"))
		return rj_bad(err, "a registered socket's \"protocol\" is not tcp or udp");
	if (strcmp(f[3]->valuestring, "ipv4") && strcmp(f[3]->valuestring, "ipv6"))
		return rj_bad(err, "a registered socket's \"family\" is not ipv4 or ipv6");
	s->user_fd = (int)fd;
	s->protocol = f[2]->valuestring[0] == 'u' ? IPPROTO_UDP : IPPROTO_TCP;
	s->family = f[3]->valuestring[3] == '6' ? AF_INET6 : AF_INET;
	s->v6only = cJSON_IsTrue(f[4]);
	return 0;
}

static int registered_fields(const cJSON *doc, struct skl_registered *r, struct skl_err *err)
{
	static const char *const names[] = { "label", "pid", "sockets" };
	const cJSON *f[3], *o;

	if (rj_fields(doc, "register's result", names, 3, 0, f, err))
		return -1;
	if (!rj_str(f[0], r->label, sizeof(r->label), false) || !skl_label_valid(r->label))
		return rj_bad(err, "register's \"label\" is not a label");
	if (!rj_int(f[1], 0, INT32_MAX, &r->pid))
		return rj_bad(err, "register's \"pid\" is not a process id or 0");
	if (!cJSON_IsArray(f[2]) || cJSON_GetArraySize(f[2]) < 1 ||
	    cJSON_GetArraySize(f[2]) > SKL_SOCKET_SLOTS)
		return rj_bad(err, "register's \"sockets\" is not an array of 1 to %d",
			      SKL_SOCKET_SLOTS);
	cJSON_ArrayForEach(o, f[2]) {
		/* Bounded here, where it is written, whatever was checked above. */
		if (r->n >= SKL_SOCKET_SLOTS)
			return rj_bad(err, "register's \"sockets\" has too many");
		if (socket_decode(o, &r->v[r->n], err))
			return -1;
		r->n++;
	}
	return 0;
}

int skl_registered_decode(const char *text, struct skl_registered *r, struct skl_err *err)
{
	cJSON *doc = cJSON_Parse(text);
	int ret;

	memset(r, 0, sizeof(*r));
	ret = doc ? registered_fields(doc, r, err) : rj_bad(err, "register's result is not JSON");
	cJSON_Delete(doc);
	if (ret)
		memset(r, 0, sizeof(*r));
	return ret;
}

char *skl_unregistered_encode(const struct skl_unregistered *u)
{
	cJSON *doc = cJSON_CreateObject();
	const char *proto = u->protocol == IPPROTO_TCP   ? "tcp"
			    : u->protocol == IPPROTO_UDP ? "udp"
							 : "both";
	bool ok = doc && cJSON_AddStringToObject(doc, "label", u->label) &&
		  cJSON_AddStringToObject(doc, "protocol", proto) &&
		  cJSON_AddItemToObject(doc, "removed", rj_u64_array(u->removed, SKL_SOCKET_SLOTS));

	return rj_print(doc, ok);
}

static int unregistered_fields(const cJSON *doc, struct skl_unregistered *u, struct skl_err *err)
{
	static const char *const names[] = { "label", "protocol", "removed" };
	const cJSON *f[3];
	const char *p;

	if (rj_fields(doc, "unregister's result", names, 3, 0, f, err))
		return -1;
	if (!rj_str(f[0], u->label, sizeof(u->label), false) || !skl_label_valid(u->label))
		return rj_bad(err, "unregister's \"label\" is not a label");
	p = cJSON_IsString(f[1]) ? f[1]->valuestring : "";
	if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "both"))
		return rj_bad(err, "unregister's \"protocol\" is not tcp, udp or both");
	u->protocol = p[0] == 't' ? IPPROTO_TCP : p[0] == 'u' ? IPPROTO_UDP : 0;
	if (!rj_u64s(f[2], u->removed, SKL_SOCKET_SLOTS))
		return rj_bad(err, "unregister's \"removed\" is not %d cookies", SKL_SOCKET_SLOTS);
	return 0;
}

int skl_unregistered_decode(const char *text, struct skl_unregistered *u, struct skl_err *err)
{
	cJSON *doc = cJSON_Parse(text);
	int ret;

	memset(u, 0, sizeof(*u));
	ret = doc ? unregistered_fields(doc, u, err)
		  : rj_bad(err, "unregister's result is not JSON");
	cJSON_Delete(doc);
	if (ret)
		memset(u, 0, sizeof(*u));
	return ret;
}
