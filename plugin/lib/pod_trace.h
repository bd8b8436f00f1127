/*
 * trace as a library function: runs the pod's loaded program on one packet
 * (BPF_PROG_TEST_RUN) and says which binding, label and socket it picks,
 * or why none. The probe moves the counters like a packet.
 */
#ifndef SKL_POD_TRACE_H
#define SKL_POD_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "bindings.h"
#include "pod.h"

struct skl_trace_packet {
	uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family; /* enum skl_family */
	uint8_t addr[SKL_ADDR_BYTES]; /* network order; IPv4 in addr[0..SKL_V4_BYTES) */
	uint16_t port;
};

struct skl_trace_result {
	int verdict;      /* the program's: 1 pass, 0 drop */
	bool has_binding; /* else no binding matched */
	uint32_t binding_id;
	char label[SKL_LABEL_MAX + 1];
	char prefix[64];
	uint64_t cookie;  /* the socket selected, 0: none */
	char local[96];   /* its local address, "" when the pod's sockets are not seen */
	const char *reason; /* one sentence, static */
};

int skl_pod_trace(const struct skl_pod *pod, const struct skl_trace_packet *p,
		  struct skl_trace_result *out, struct skl_err *err);

#endif
