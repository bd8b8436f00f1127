/*
 * register's and unregister's output, text or --json, from what the library
 * returned: the same printers serve the direct path and the node agent's
 * answer, so both print the same bytes.
 */
#include "ctl_results.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pod_view.h"

static int slot_of(int udp, int v6)
{
	return (int)skl_socket_slot(0, udp, v6);
}

static const char *protocol_name(int protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

/* "IPv4", "IPv6" or "IPv4+IPv6" for the slots of one protocol. */
static const char *families_text(const bool slots[SKL_SOCKET_SLOTS], int udp)
{
	bool v4 = slots[slot_of(udp, 0)], v6 = slots[slot_of(udp, 1)];

	return v4 && v6 ? "IPv4+IPv6" : v4 ? "IPv4" : "IPv6";
}

static void print_registered(const char *label, const struct skl_registered_socket *s)
{
	int udp = s->protocol == IPPROTO_UDP;

	printf("registered %s (%s %s, cookie %llu) for label %s: %s %s\n", s->name,
	       protocol_name(s->protocol), s->local, (unsigned long long)s->cookie, label,
	       protocol_name(s->protocol), families_text(s->slots, udp));
	for (int v6 = 0; v6 <= 1; v6++)
		if (s->cleared[slot_of(udp, v6)])
			printf("removed the replaced socket (cookie %llu) from %s IPv%d of label "
			       "%s: the new socket does not serve it\n",
			       (unsigned long long)s->cleared[slot_of(udp, v6)],
			       protocol_name(s->protocol), v6 ? 6 : 4, label);
}

static cJSON *slots_json(const bool slots[SKL_SOCKET_SLOTS])
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < SKL_SOCKET_SLOTS; i++)
		if (slots[i])
			cJSON_AddItemToArray(arr, cJSON_CreateString(skl_slot_names[i]));
	return arr;
}

static cJSON *registered_json(const struct skl_registered *r,
			      const struct skl_registered_socket *s)
{
	int udp = s->protocol == IPPROTO_UDP;
	cJSON *o = cJSON_CreateObject(), *gone;

	cJSON_AddStringToObject(o, "label", r->label);
	cJSON_AddNumberToObject(o, "fd", s->user_fd);
	if (r->pid)
		cJSON_AddNumberToObject(o, "pid", (double)r->pid);
	cJSON_AddStringToObject(o, "protocol", protocol_name(s->protocol));
	cJSON_AddStringToObject(o, "family", s->family == AF_INET6 ? "ipv6" : "ipv4");
	cJSON_AddBoolToObject(o, "v6only", s->v6only);
	cJSON_AddStringToObject(o, "local", s->local);
	cJSON_AddNumberToObject(o, "cookie", (double)s->cookie);
	cJSON_AddItemToObject(o, "slots", slots_json(s->slots));
	gone = cJSON_AddArrayToObject(o, "cleared");
	for (int v6 = 0; gone && v6 <= 1; v6++) {
		uint64_t cookie = s->cleared[slot_of(udp, v6)];
		cJSON *c;

		if (!cookie)
			continue;
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "slot", skl_slot_names[slot_of(udp, v6)]);
		cJSON_AddNumberToObject(c, "cookie", (double)cookie);
		cJSON_AddItemToArray(gone, c);
	}
	return o;
}

int skl_ctl_print_registered(const struct skl_registered *r, bool json, struct skl_err *err)
{
	cJSON *arr = json && r->n > 1 ? cJSON_CreateArray() : NULL, *one = NULL;

	for (size_t i = 0; i < r->n; i++) {
		if (!json)
			print_registered(r->label, &r->v[i]);
		else if (arr)
			cJSON_AddItemToArray(arr, registered_json(r, &r->v[i]));
		else
			one = registered_json(r, &r->v[i]);
	}
	return json ? skl_ctl_print_json(arr ? arr : one, err) : 0;
}

/* Groups the removed slots by socket: a dual-stack socket held two. */
int skl_ctl_print_unregistered(const struct skl_unregistered *u, bool json, struct skl_err *err)
{
	cJSON *doc = json ? cJSON_CreateObject() : NULL;
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "removed") : NULL;
	bool done[SKL_SOCKET_SLOTS] = { false };
	int count = 0;

	if (doc)
		cJSON_AddStringToObject(doc, "label", u->label);
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
		bool slots[SKL_SOCKET_SLOTS] = { false };
		cJSON *o;

		if (!u->removed[s] || done[s])
			continue;
		for (int k = s; k < SKL_SOCKET_SLOTS; k++)
			done[k] = slots[k] = done[k] || u->removed[k] == u->removed[s];
		count++;
		if (!json) {
			printf("unregistered socket cookie %llu from label %s: %s %s\n",
			       (unsigned long long)u->removed[s], u->label,
			       protocol_name(skl_slot_is_udp(s) ? IPPROTO_UDP : IPPROTO_TCP),
			       families_text(slots, skl_slot_is_udp(s)));
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "cookie", (double)u->removed[s]);
		cJSON_AddItemToObject(o, "slots", slots_json(slots));
		cJSON_AddItemToArray(arr, o);
	}
	if (!count && !json)
		printf("label %s had no %ssocket registered; nothing to do\n", u->label,
		       u->protocol == IPPROTO_TCP   ? "tcp "
		       : u->protocol == IPPROTO_UDP ? "udp "
						    : "");
	return json ? skl_ctl_print_json(doc, err) : 0;
}
