/*
 * Routes in the current netns over a raw NETLINK_ROUTE socket (netlink.c):
 * add, delete, and find one by what decides a match.
 */
#include "routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dispatch_abi.h"
#include "netlink.h"

/* ------------------------------------------------------------------------
 * Routes
 */

static int af_of(const struct skl_route *r)
{
	return r->family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET;
}

static size_t addr_len(const struct skl_route *r)
{
	return r->family == SKL_FAMILY_V6 ? SKL_ADDR_BYTES : SKL_V4_BYTES;
}

static uint8_t table_of(const struct skl_route *r)
{
	return r->kind == SKL_ROUTE_LOCAL ? RT_TABLE_LOCAL : RT_TABLE_MAIN;
}

static uint8_t type_of(const struct skl_route *r)
{
	return r->kind == SKL_ROUTE_LOCAL ? RTN_LOCAL : RTN_UNICAST;
}

/* The destination with its host bits cleared (the kernel refuses IPv4
 * prefixes with host bits). */
static void masked_dst(const struct skl_route *r, uint8_t out[SKL_ADDR_BYTES])
{
	memset(out, 0, SKL_ADDR_BYTES);
	for (unsigned int i = 0; i < addr_len(r); i++) {
		unsigned int bits = r->plen > 8 * i ? r->plen - 8 * i : 0;

		out[i] = bits >= 8 ? r->addr[i] : r->addr[i] & (uint8_t)(0xff00 >> bits);
	}
}

static void format_addr(const struct skl_route *r, const uint8_t addr[SKL_ADDR_BYTES], char *buf,
			size_t len)
{
	if (!inet_ntop(af_of(r), addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* "192.0.2.0/24", host bits cleared. */
static void format_prefix(const struct skl_route *r, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	uint8_t dst[SKL_ADDR_BYTES];

	masked_dst(r, dst);
	format_addr(r, dst, text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, r->plen);
}

void skl_route_format(const struct skl_route *r, char *buf, size_t len)
{
	char prefix[SKL_ROUTE_STR_MAX], gw[INET6_ADDRSTRLEN];

	format_prefix(r, prefix, sizeof(prefix));
	if (r->kind == SKL_ROUTE_LOCAL) {
		snprintf(buf, len, "local %s dev lo", prefix);
		return;
	}
	format_addr(r, r->gw, gw, sizeof(gw));
	snprintf(buf, len, "%s via %s", prefix, gw);
}

static int route_invalid(struct skl_err *err, const struct skl_route *r, const char *what)
{
	char text[SKL_ROUTE_STR_MAX];

	skl_route_format(r, text, sizeof(text));
	return skl_errf(err, SKL_CNI_INTERNAL, "route \"%s\" is invalid: %s", text, what);
}

static int check_route(const struct skl_route *r, struct skl_err *err)
{
	if (r->family != SKL_FAMILY_V4 && r->family != SKL_FAMILY_V6)
		return route_invalid(err, r,
				     "its family is neither SKL_FAMILY_V4 nor SKL_FAMILY_V6");
	if (r->plen > 8 * addr_len(r))
		return route_invalid(err, r,
				     r->family == SKL_FAMILY_V6
					     ? "an IPv6 prefix length is at most " SKL_STR(SKL_PLEN_MAX_V6)
					     : "an IPv4 prefix length is at most " SKL_STR(SKL_PLEN_MAX_V4));
	if (r->kind != SKL_ROUTE_LOCAL && r->kind != SKL_ROUTE_VIA)
		return route_invalid(err, r,
				     "its kind is neither SKL_ROUTE_LOCAL nor SKL_ROUTE_VIA");
	return 0;
}

/* The index of lo in the current netns; 0 with errno set if there is none. */
static int lo_ifindex(void)
{
	return (int)if_nametoindex("lo");
}

/* An RTM_NEWROUTE or RTM_DELROUTE request for r. A route is added with the
 * plugin's protocol; a delete leaves scope unset, and protocol as given
 * (RTPROT_UNSPEC: any, as `ip route del` does). Returns 0 or an errno. */
static int route_request(struct skl_nl_request *req, uint16_t type, uint16_t flags,
			 const struct skl_route *r, int lo, uint8_t protocol)
{
	bool adding = type == RTM_NEWROUTE;
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)af_of(r),
		.rtm_dst_len = r->plen,
		.rtm_table = table_of(r),
		.rtm_type = type_of(r),
		.rtm_protocol = adding ? SKL_ROUTE_PROTOCOL : protocol,
		.rtm_scope = !adding			 ? RT_SCOPE_NOWHERE
			     : r->kind == SKL_ROUTE_LOCAL ? RT_SCOPE_HOST
							  : RT_SCOPE_UNIVERSE,
	};
	uint8_t dst[SKL_ADDR_BYTES];

	masked_dst(r, dst);
	skl_nl_request_init(req, type, flags, &rtm, sizeof(rtm));
	if (r->kind == SKL_ROUTE_LOCAL)
		return skl_nl_request_put(req, RTA_DST, dst, addr_len(r)) ||
		       skl_nl_request_put(req, RTA_OIF, &lo, sizeof(lo)) ? EMSGSIZE : 0;
	return skl_nl_request_put(req, RTA_DST, dst, addr_len(r)) ||
	       skl_nl_request_put(req, RTA_GATEWAY, r->gw, addr_len(r)) ? EMSGSIZE : 0;
}

/* Sends an add or delete of r and waits for the ACK: 0 or an errno. */
static int route_change(uint16_t type, uint16_t flags, const struct skl_route *r,
			uint8_t protocol)
{
	struct skl_nl_request req;
	int lo = lo_ifindex();
	int e;

	if (r->kind == SKL_ROUTE_LOCAL && lo == 0)
		return errno ? errno : ENODEV;
	e = route_request(&req, type, flags, r, lo, protocol);
	return e ? e : skl_nl_transact(&req, NULL, NULL);
}

/* What to do about a failure, after the errno's text. */
static const char *hint(int e, const struct skl_route *r)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return ": run the plugin as root (it needs CAP_NET_ADMIN in the netns)";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return r->kind == SKL_ROUTE_VIA
			       ? ": the gateway must be on a subnet of an address on an interface "
				 "that is up in this netns"
			       : "";
	case ENODEV:
		return ": the netns has no interface lo";
	default:
		return "";
	}
}

static int route_error(struct skl_err *err, const char *doing, const struct skl_route *r, int e)
{
	char text[SKL_ROUTE_STR_MAX];

	skl_route_format(r, text, sizeof(text));
	return skl_errf(err, SKL_CNI_INTERNAL, "%s route \"%s\": %s%s", doing, text, strerror(e),
			hint(e, r));
}

/* EEXIST from the kernel: 1 if it is exactly r, else an error naming what
 * is in the way. A route of the plugin's own protocol there is another
 * pod's: two pods cannot both take one prefix (a longer prefix inside it is
 * a different route, and wins for its addresses). */
static int route_already_there(const struct skl_route *r, struct skl_err *err)
{
	const char *table = r->kind == SKL_ROUTE_LOCAL ? "local" : "main";
	char text[SKL_ROUTE_STR_MAX], prefix[SKL_ROUTE_STR_MAX];
	struct skl_route_holder h;

	if (skl_route_holder(r, &h, err) < 0)
		return -1;
	if (h.same)
		return 1;
	skl_route_format(r, text, sizeof(text));
	format_prefix(r, prefix, sizeof(prefix));
	if (h.found && h.protocol == SKL_ROUTE_PROTOCOL)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"adding route \"%s\": %s: a different route to %s is in table %s "
				"(%s %s), added by sklookup for another pod: two pods on one node "
				"cannot both take one prefix; give this pod's binding another prefix "
				"(a longer one inside it is allowed and wins for its addresses), or "
				"set routes.host to false for one of them",
				text, strerror(EEXIST), prefix, table, prefix, h.text);
	return skl_errf(err, SKL_CNI_INTERNAL,
			"adding route \"%s\": %s: a different route to %s is in table %s (see "
			"\"ip route show table %s %s\"); remove it or change the binding's prefix",
			text, strerror(EEXIST), prefix, table, table, prefix);
}

int skl_route_add(const struct skl_route *r, struct skl_err *err)
{
	int e;

	if (check_route(r, err) < 0)
		return -1;
	e = route_change(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, r, 0);
	if (e == EEXIST)
		return route_already_there(r, err);
	return e ? route_error(err, "adding", r, e) : 0;
}

static int route_del(const struct skl_route *r, uint8_t protocol, struct skl_err *err)
{
	int e;

	if (check_route(r, err) < 0)
		return -1;
	e = route_change(RTM_DELROUTE, NLM_F_ACK, r, protocol);
	if (e == ESRCH || e == ENOENT)
		return 0;
	return e ? route_error(err, "deleting", r, e) : 0;
}

int skl_route_del(const struct skl_route *r, struct skl_err *err)
{
	return route_del(r, RTPROT_UNSPEC, err);
}

int skl_route_del_ours(const struct skl_route *r, struct skl_err *err)
{
	return route_del(r, SKL_ROUTE_PROTOCOL, err);
}

/* ------------------------------------------------------------------------
 * Lookup: a dump of the family's routes, matched in user space
 */

struct route_match {
	const struct skl_route *want;
	uint8_t dst[SKL_ADDR_BYTES]; /* want's masked destination */
	int lo;
	struct skl_route_holder *holder;
};

/* The attributes of a route message that decide a match. */
struct route_attrs {
	uint32_t table;
	const void *dst, *gateway;
	size_t dst_len, gateway_len;
	int oif;
};

static void route_attrs_parse(const struct nlmsghdr *h, struct route_attrs *a)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);

	*a = (struct route_attrs){ .table = rtm->rtm_table };
	for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t n = RTA_PAYLOAD(rta);

		if (rta->rta_type == RTA_TABLE && n == sizeof(uint32_t))
			memcpy(&a->table, RTA_DATA(rta), n);
		else if (rta->rta_type == RTA_OIF && n == sizeof(int))
			memcpy(&a->oif, RTA_DATA(rta), n);
		else if (rta->rta_type == RTA_DST) {
			a->dst = RTA_DATA(rta);
			a->dst_len = n;
		} else if (rta->rta_type == RTA_GATEWAY) {
			a->gateway = RTA_DATA(rta);
			a->gateway_len = n;
		}
	}
}

/* "via 198.51.100.9 proto 4", "dev 7 proto 173", "type 6 proto 3". */
static void holder_text(const struct skl_route *r, const struct rtmsg *rtm,
			const struct route_attrs *a, char *buf, size_t len)
{
	char gw[INET6_ADDRSTRLEN];
	uint8_t addr[SKL_ADDR_BYTES] = { 0 };

	if (a->gateway && a->gateway_len == addr_len(r)) {
		memcpy(addr, a->gateway, addr_len(r));
		format_addr(r, addr, gw, sizeof(gw));
		snprintf(buf, len, "via %s proto %u", gw, rtm->rtm_protocol);
	} else if (rtm->rtm_type == RTN_UNICAST || rtm->rtm_type == RTN_LOCAL) {
		snprintf(buf, len, "dev %d proto %u", a->oif, rtm->rtm_protocol);
	} else {
		snprintf(buf, len, "type %u proto %u", rtm->rtm_type, rtm->rtm_protocol);
	}
}

/* A route message to want's prefix in want's table: notes it in the
 * holder; returns 1 (stop) when it is want itself. */
static int route_match_each(const struct nlmsghdr *h, void *ctx)
{
	static const uint8_t any[SKL_ADDR_BYTES];
	struct route_match *m = ctx;
	const struct skl_route *r = m->want;
	const struct rtmsg *rtm = NLMSG_DATA(h);
	struct route_attrs a;
	bool same;

	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)) ||
	    rtm->rtm_family != af_of(r) || rtm->rtm_dst_len != r->plen)
		return 0;
	route_attrs_parse(h, &a);
	if (!a.dst) { /* a default route carries no RTA_DST */
		a.dst = any;
		a.dst_len = addr_len(r);
	}
	if (a.table != table_of(r) || a.dst_len != addr_len(r) ||
	    memcmp(a.dst, m->dst, addr_len(r)) != 0)
		return 0;
	if (rtm->rtm_type != type_of(r))
		same = false;
	else if (r->kind == SKL_ROUTE_LOCAL)
		same = a.oif != 0 && a.oif == m->lo;
	else
		same = a.gateway_len == addr_len(r) && memcmp(a.gateway, r->gw, addr_len(r)) == 0;
	if (m->holder->found && !same)
		return 0;
	m->holder->found = true;
	m->holder->same = same;
	m->holder->protocol = rtm->rtm_protocol;
	holder_text(r, rtm, &a, m->holder->text, sizeof(m->holder->text));
	return same;
}

int skl_route_holder(const struct skl_route *r, struct skl_route_holder *h, struct skl_err *err)
{
	struct route_match m = { .want = r, .lo = lo_ifindex(), .holder = h };
	struct rtmsg rtm = { .rtm_family = (uint8_t)af_of(r) };
	struct skl_nl_request req;
	int e;

	*h = (struct skl_route_holder){ 0 };
	if (check_route(r, err) < 0)
		return -1;
	masked_dst(r, m.dst);
	skl_nl_request_init(&req, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	e = skl_nl_transact(&req, route_match_each, &m);
	if (e)
		return route_error(err, "looking up", r, e);
	return 0;
}

int skl_route_exists(const struct skl_route *r, bool *exists, struct skl_err *err)
{
	struct skl_route_holder h;

	if (skl_route_holder(r, &h, err))
		return -1;
	*exists = h.same;
	return 0;
}
