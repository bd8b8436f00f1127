/*
 * The pod's own addresses, from prevResult: the ips on the pod's interface.
 */
#include "netconf.h"

#include <arpa/inet.h>
#include <string.h>

static int add_pod_addr(struct skl_pod_addrs *out, const char *cidr, size_t i,
			struct skl_err *err)
{
	char addr[SKL_PREFIX_STR_MAX];
	const char *slash = strchr(cidr, '/');
	size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);

	if (len >= sizeof(addr))
		return skl_errf(err, SKL_CNI_DECODE_FAILURE, "prevResult.ips[%zu].address: too long", i);
	memcpy(addr, cidr, len);
	addr[len] = 0;
	if (out->n == sizeof(out->v) / sizeof(out->v[0]))
		return 0;
	memset(out->v[out->n].addr, 0, SKL_ADDR_BYTES);
	if (inet_pton(AF_INET, addr, out->v[out->n].addr) == 1)
		out->v[out->n].family = SKL_FAMILY_V4;
	else if (inet_pton(AF_INET6, addr, out->v[out->n].addr) == 1)
		out->v[out->n].family = SKL_FAMILY_V6;
	else
		return skl_errf(err, SKL_CNI_DECODE_FAILURE,
				"prevResult.ips[%zu].address: \"%.64s\" is not an IP address", i, cidr);
	out->n++;
	return 0;
}

/* Is ips[i] on the pod's interface? Without an interface index, assume so. */
static bool on_pod_interface(const cJSON *ip, const cJSON *interfaces, const char *ifname)
{
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
	const cJSON *itf, *name, *sandbox;

	if (!cJSON_IsNumber(idx) || !cJSON_IsArray(interfaces))
		return true;
	itf = cJSON_GetArrayItem(interfaces, idx->valueint);
	name = cJSON_GetObjectItemCaseSensitive(itf, "name");
	sandbox = cJSON_GetObjectItemCaseSensitive(itf, "sandbox");
	return cJSON_IsString(name) && !strcmp(name->valuestring, ifname) &&
	       cJSON_IsString(sandbox) && sandbox->valuestring[0];
}

int skl_netconf_pod_addrs(const struct skl_netconf *c, const char *ifname,
			  struct skl_pod_addrs *out, struct skl_err *err)
{
	const cJSON *ips, *interfaces, *ip;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!c->prev_result)
		return 0;
	ips = cJSON_GetObjectItemCaseSensitive(c->prev_result, "ips");
	interfaces = cJSON_GetObjectItemCaseSensitive(c->prev_result, "interfaces");
	if (ips && !cJSON_IsArray(ips))
		return skl_errf(err, SKL_CNI_DECODE_FAILURE, "prevResult.ips: must be an array");
	cJSON_ArrayForEach(ip, ips) {
		const cJSON *address = cJSON_GetObjectItemCaseSensitive(ip, "address");

		if (!cJSON_IsString(address))
			return skl_errf(err, SKL_CNI_DECODE_FAILURE,
					"prevResult.ips[%zu].address: must be a string", i);
		if (on_pod_interface(ip, interfaces, ifname) &&
		    add_pod_addr(out, address->valuestring, i, err))
			return -1;
		i++;
	}
	return 0;
}
