/* trace as a library function (pod_trace.h). */
#include "pod_trace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "pod_view.h"

static int test_run(int prog_fd, const struct skl_trace_packet *p, int *verdict, uint64_t *cookie,
		    struct skl_err *err)
{
	struct bpf_sk_lookup ctx = { .protocol = p->proto, .local_port = p->port };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));

	ctx.family = p->family == SKL_FAMILY_V4 ? AF_INET : AF_INET6;
	if (p->family == SKL_FAMILY_V4)
		memcpy(&ctx.local_ip4, p->addr, SKL_V4_BYTES);
	else
		memcpy(ctx.local_ip6, p->addr, SKL_ADDR_BYTES);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return skl_errf(err, SKL_CNI_INTERNAL, "BPF_PROG_TEST_RUN: %s", strerror(errno));
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

int skl_pod_trace(const struct skl_pod *pod, const struct skl_trace_packet *p,
		  struct skl_trace_result *out, struct skl_err *err)
{
	uint64_t before[SKL_C_COUNT] = { 0 };
	struct skl_view v, after;
	uint32_t bi;
	int reason = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&after, 0, sizeof(after));
	if (skl_view_load(pod, &v, err))
		goto out;
	bi = skl_bindings_resolve(&v.set, p->proto, p->family, p->addr, p->port);
	if (bi != SKL_NONE) {
		const struct skl_binding_spec *b = &v.set.v[bi];

		out->has_binding = true;
		out->binding_id = v.ids[bi];
		snprintf(out->label, sizeof(out->label), "%s", b->label);
		skl_prefix_format(b->family, b->plen, b->addr, out->prefix, sizeof(out->prefix));
		memcpy(before, v.binding_counters[bi], sizeof(before));
	}
	if (test_run(pod->d->prog_fd, p, &out->verdict, &out->cookie, err) ||
	    skl_view_load(pod, &after, err))
		goto out;
	if (out->has_binding && bi < after.set.n)
		reason = moved_counter(before, after.binding_counters[bi]);
	if (out->cookie) {
		const struct skl_sock_entry *e = skl_view_sock(&after, out->cookie);

		if (e)
			skl_sock_entry_format(e, out->local, sizeof(out->local));
	}
	out->reason = explain(out->verdict, out->cookie, bi, reason);
	ret = 0;
out:
	skl_view_free(&v);
	skl_view_free(&after);
	return ret;
}
