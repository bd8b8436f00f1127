/*
 * The node agent's metrics endpoint, the parts without a kernel: the
 * --metrics-address syntax (what binds, and a clear refusal naming the
 * option and the fix for what does not) and the pod labels a state
 * directory's metrics get.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent_metrics.h"
#include "agent_metrics_pod.h"
#include "skl_asserts.h"

static void addresses_taken(void **state)
{
	static const struct {
		const char *text;
		int family;
		uint16_t port;
	} ok[] = {
		{ "127.0.0.1:9977", AF_INET, 9977 },
		{ "0.0.0.0:1", AF_INET, 1 },
		{ "[::1]:65535", AF_INET6, 65535 },
		{ "[::]:9977", AF_INET6, 9977 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		struct skl_err err = { 0 };

		if (skl_agent_metrics_address(ok[i].text, &ss, &len, &err))
			fail_msg("%s: %s", ok[i].text, err.msg);
		assert_int_equal(ss.ss_family, ok[i].family);
		assert_int_equal(ntohs(ok[i].family == AF_INET
					       ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port),
				 ok[i].port);
	}
}

static void addresses_refused(void **state)
{
	static const char *const bad[] = {
		"",          ":9977",        "127.0.0.1",       "127.0.0.1:",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x",
		"::1:9977",  "[::1]",        "[::1:9977",       "[]:9977",
		"localhost:9977", "[127.0.0.1]:9977x", "1.2.3.4.5:80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		struct skl_err err = { 0 };

		if (!skl_agent_metrics_address(bad[i], &ss, &len, &err))
			fail_msg("\"%s\" was taken", bad[i]);
		assert_msg_contains(&err, "--metrics-address");
		assert_msg_contains(&err, bad[i]);
		assert_msg_contains(&err, "HOST:PORT");
	}
}

static void pod_labels_from_the_container(void **state)
{
	struct skl_metrics_pod p;

	(void)state;
	skl_metrics_pod_identity("/sys/fs/bpf/sklookup/net/abc:d/eth0", "abc:d", &p);
	assert_string_equal(p.namespace_, "");
	assert_string_equal(p.pod, "abc.d"); /* a stored ':' is the ID's '.' */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_taken),
		cmocka_unit_test(addresses_refused),
		cmocka_unit_test(pod_labels_from_the_container),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
