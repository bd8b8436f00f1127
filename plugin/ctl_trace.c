/* sklookup-ctl trace: run the pod's loaded program on one packet
 * (BPF_PROG_TEST_RUN) and explain what it does with it. */
#include "ctl.h"
#include "pod_view.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

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

struct packet {
	uint8_t proto, family;
	uint8_t addr[16];
	uint16_t port;
};

static int parse_packet(const char *proto, const char *where, struct packet *p,
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
		return skl_errf(err, SKL_EXIT_USAGE, "trace: protocol \"%s\": use tcp or udp", proto);
	if (!colon || (size_t)(colon - where) >= sizeof(host))
		return skl_errf(err, SKL_EXIT_USAGE,
				"trace: \"%s\": give ADDR:PORT, e.g. 192.0.2.5:80 or [2001:db8::5]:53",
				where);
	memcpy(host, where, (size_t)(colon - where));
	host[colon - where] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return skl_errf(err, SKL_EXIT_USAGE, "trace: port \"%s\" is not 0..65535", colon + 1);
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
	return skl_errf(err, SKL_EXIT_USAGE,
			"trace: \"%s\" is not an IPv4 address or a bracketed IPv6 address", host);
}

static int test_run(int prog_fd, const struct packet *p, int *verdict, uint64_t *cookie,
		    struct skl_err *err)
{
	struct bpf_sk_lookup ctx = { .protocol = p->proto, .local_port = p->port };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));

	ctx.family = p->family == SKL_FAMILY_V4 ? AF_INET : AF_INET6;
	if (p->family == SKL_FAMILY_V4)
		memcpy(&ctx.local_ip4, p->addr, 4);
	else
		memcpy(ctx.local_ip6, p->addr, 16);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return skl_errf(err, SKL_EXIT_ERROR, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	*verdict = (int)opts.retval;
	*cookie = ctx.cookie;
	return 0;
}

/* Which counter of the binding the probe moved: the reason for a drop. */
static int moved_counter(const uint64_t *before, const uint64_t *after)
{
	for (int i = SKL_C_COUNT - 1; i > SKL_C_ASSIGNED; i--)
		if (after[i] > before[i])
			return i;
	return -1;
}

static const char *explain(int verdict, uint64_t cookie, uint32_t bi, int reason)
{
	if (bi == SKL_NONE)
		return "no binding matches: the normal socket lookup decides";
	if (cookie)
		return "the label's socket is selected";
	switch (reason) {
	case SKL_C_PASSED_NO_SOCKET:
		return "the label has no socket; \"missing\": \"pass\" lets the normal lookup decide";
	case SKL_C_DROP_NO_SOCKET:
		return "the label has no socket for this protocol and family: dropped (TCP answers "
		       "RST, UDP ICMP unreachable)";
	case SKL_C_DROP_ESOCKTNOSUPPORT:
		return "bpf_sk_assign refused the socket (ESOCKTNOSUPPORT: not listening, or "
		       "connected UDP): dropped";
	case SKL_C_DROP_EAFNOSUPPORT:
		return "bpf_sk_assign refused the socket (EAFNOSUPPORT: a v6only socket for IPv4): "
		       "dropped";
	case SKL_C_DROP_EEXIST:
		return "another sk_lookup program selected a socket first (EEXIST)";
	default:
		return verdict == 0 ? "dropped" : "passed";
	}
}

/* What trace found, for either output. */
struct outcome {
	const char *protocol, *destination, *reason;
	int verdict;
	const struct skl_binding_spec *b; /* NULL: no binding */
	uint32_t binding_id;
	char prefix[64];
	uint64_t cookie; /* 0: no socket */
	char local[96];  /* "" when the socket is not found */
};

/* The JSON shape, or NULL when memory ran out (every cJSON call can fail). */
static cJSON *outcome_json(const struct outcome *o)
{
	cJSON *doc = cJSON_CreateObject(), *jb = NULL, *js = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "protocol", o->protocol) &&
		  cJSON_AddStringToObject(doc, "destination", o->destination) &&
		  cJSON_AddStringToObject(doc, "verdict", o->verdict ? "pass" : "drop");

	if (ok && o->b) {
		ok = (jb = cJSON_AddObjectToObject(doc, "binding")) &&
		     cJSON_AddNumberToObject(jb, "id", o->binding_id) &&
		     cJSON_AddStringToObject(jb, "label", o->b->label) &&
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

static void print_outcome(const struct outcome *o)
{
	printf("%s %s: %s", o->protocol, o->destination, o->verdict ? "SK_PASS" : "SK_DROP");
	if (o->b)
		printf(", binding %u (label %s, %s)", o->binding_id, o->b->label, o->prefix);
	if (o->cookie)
		printf(", socket cookie %llu%s%s", (unsigned long long)o->cookie,
		       o->local[0] ? " " : "", o->local);
	printf("\n  %s\n", o->reason);
}

static int run(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err)
{
	struct skl_pod pod = skl_ctl_pod(ctl);
	uint64_t before[SKL_C_COUNT] = { 0 };
	struct outcome o = { 0 };
	struct skl_view v, after;
	struct packet p;
	uint32_t bi;
	int reason = -1, ret = -1;

	if (argc != 3)
		return skl_errf(err, SKL_EXIT_USAGE, "trace: give tcp|udp ADDR:PORT");
	if (parse_packet(argv[1], argv[2], &p, err))
		return -1;
	o.protocol = argv[1];
	o.destination = argv[2];
	memset(&after, 0, sizeof(after));
	if (skl_view_load(&pod, &v, err))
		goto out;
	bi = skl_bindings_resolve(&v.set, p.proto, p.family, p.addr, p.port);
	if (bi != SKL_NONE) {
		o.b = &v.set.v[bi];
		o.binding_id = v.ids[bi];
		skl_prefix_format(o.b->family, o.b->plen, o.b->addr, o.prefix, sizeof(o.prefix));
		memcpy(before, v.binding_counters[bi], sizeof(before));
	}
	if (test_run(ctl->d.prog_fd, &p, &o.verdict, &o.cookie, err) ||
	    skl_view_load(&pod, &after, err))
		goto out;
	if (o.b && bi < after.set.n)
		reason = moved_counter(before, after.binding_counters[bi]);
	if (o.cookie) {
		const struct skl_sock_entry *e = skl_view_sock(&after, o.cookie);

		if (e)
			skl_sock_entry_format(e, o.local, sizeof(o.local));
	}
	o.reason = explain(o.verdict, o.cookie, bi, reason);
	if (ctl->json) {
		cJSON *doc = outcome_json(&o);

		ret = doc ? skl_ctl_print_json(doc, err)
			  : skl_errf(err, SKL_EXIT_ERROR, "trace: out of memory");
	} else {
		print_outcome(&o);
		ret = 0;
	}
out:
	skl_view_free(&v);
	skl_view_free(&after);
	return ret;
}

const struct skl_ctl_command skl_ctl_trace_cmd = {
	.name = "trace",
	.run = run,
	.needs_state = true,
	.synopsis = "what the dispatcher does with a packet to ADDR:PORT",
	.help = help,
};
