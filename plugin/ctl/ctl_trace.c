/* sklookup-ctl trace: parse the packet, let the library run the pod's
 * program on it (skl_pod_trace), print the result as text or JSON. */
#include "ctl.h"
#include "pod_trace.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: sklookup-ctl [OPTIONS] trace tcp|udp ADDR:PORT\n"
	"\n"
	"Runs the pod's loaded dispatcher on a packet to ADDR:PORT (BPF_PROG_TEST_RUN)\n"
	"and says which binding, label and socket it picks, or why none: no binding\n"
	"matches (the normal socket lookup decides), the label has no socket (dropped,\n"
	"or passed with \"missing\": \"pass\"), or bpf_sk_assign refused the socket.\n"
	"ADDR:PORT is 192.0.2.5:80 or [2001:db8::5]:53. The probe is counted in the\n"
	"counters like a packet.\n"
	"\n"
	"Options: --json.\n";

static int parse_packet(const char *proto, const char *where, struct skl_trace_packet *p,
			struct skl_err *err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(where, ':');
	char *end;
	long port;

	memset(p, 0, sizeof(*p));
	if (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))
		p->proto = proto[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
	else
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"trace: protocol \"%s\": use tcp or udp", proto);
	if (!colon || (size_t)(colon - where) >= sizeof(host))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"trace: \"%s\": give ADDR:PORT, e.g. 192.0.2.5:80 or [2001:db8::5]:53",
				where);
	memcpy(host, where, (size_t)(colon - where));
	host[colon - where] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > SKL_PORT_MAX)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"trace: port \"%s\" is not 0.." SKL_STR(SKL_PORT_MAX), colon + 1);
	p->port = (uint16_t)port;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, p->addr) == 1) {
			p->family = SKL_FAMILY_V6;
			return 0;
		}
	} else if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = SKL_FAMILY_V4;
		return 0;
	}
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"trace: \"%s\" is not an IPv4 address or a bracketed IPv6 address", host);
}

/* The JSON shape, or NULL when memory ran out (every cJSON call can fail). */
static cJSON *outcome_json(const char *protocol, const char *destination,
			   const struct skl_trace_result *o)
{
	cJSON *doc = cJSON_CreateObject(), *jb = NULL, *js = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "protocol", protocol) &&
		  cJSON_AddStringToObject(doc, "destination", destination) &&
		  cJSON_AddStringToObject(doc, "verdict", o->verdict ? "pass" : "drop");

	if (ok && o->has_binding) {
		ok = (jb = cJSON_AddObjectToObject(doc, "binding")) &&
		     cJSON_AddNumberToObject(jb, "id", o->binding_id) &&
		     cJSON_AddStringToObject(jb, "label", o->label) &&
		     cJSON_AddStringToObject(jb, "prefix", o->prefix);
	} else if (ok) {
		ok = cJSON_AddNullToObject(doc, "binding") != NULL;
	}
	if (ok && o->cookie) {
		ok = (js = cJSON_AddObjectToObject(doc, "socket")) &&
		     cJSON_AddNumberToObject(js, "cookie", (double)o->cookie) &&
		     (!o->local[0] || cJSON_AddStringToObject(js, "local", o->local));
	} else if (ok) {
		ok = cJSON_AddNullToObject(doc, "socket") != NULL;
	}
	ok = ok && cJSON_AddStringToObject(doc, "reason", o->reason);
	if (!ok) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static void print_outcome(const char *protocol, const char *destination,
			  const struct skl_trace_result *o)
{
	printf("%s %s: %s", protocol, destination, o->verdict ? "SK_PASS" : "SK_DROP");
	if (o->has_binding)
		printf(", binding %u (label %s, %s)", o->binding_id, o->label, o->prefix);
	if (o->cookie)
		printf(", socket cookie %llu%s%s", (unsigned long long)o->cookie,
		       o->local[0] ? " " : "", o->local);
	printf("\n  %s\n", o->reason);
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	struct skl_trace_packet p;
	struct skl_trace_result o;
	cJSON *doc;

	if (argc != 3)
		return skl_ctl_usage(ctl, err, "trace: give tcp|udp ADDR:PORT");
	if (parse_packet(argv[1], argv[2], &p, err))
		return skl_ctl_failed(ctl, SKL_EXIT_USAGE);
	if (skl_pod_trace(&pod, &p, &o, err))
		return -1;
	if (!ctl->json) {
		print_outcome(argv[1], argv[2], &o);
		return 0;
	}
	doc = outcome_json(argv[1], argv[2], &o);
	return doc ? skl_ctl_print_json(doc, err)
		   : skl_errf(err, SKL_CNI_INTERNAL, "trace: out of memory");
}

const struct skl_ctl_command skl_ctl_trace_cmd = {
	.name = "trace",
	.run = run,
	.needs_state = true,
	.synopsis = "what the dispatcher does with a packet to ADDR:PORT",
	.help = help,
};
