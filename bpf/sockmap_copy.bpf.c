// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Carries a pod's registered sockets into a new dispatcher's SOCKMAP when
 * sklookup-ctl upgrade builds new maps (a change of map layout): user space
 * cannot read a socket out of a SOCKMAP, but a BPF program can look one up
 * and insert it into another SOCKMAP under the same key.
 *
 * A socket classifier run by BPF_PROG_TEST_RUN on a dummy packet, over the
 * keys [first, first + count): not an iterator (SEC("iter/sockmap")), since
 * a kernel locked down for confidentiality refuses tracing programs, and
 * iterators are those; this program type may update a SOCKMAP wherever
 * sk_lookup exists. bpf_loop (5.17) keeps the verifier's work to one step
 * of the loop: an unrolled or bounded loop of 256 keys made upgrading 32
 * pods three times slower.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define CHUNK 4096 /* keys per run: a bounded loop the verifier walks once */

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} from SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} to SEC(".maps");

/* Set by user space before a run: the keys to carry. */
__u32 first = 0;
__u32 count = 0;
/* Read back: a socket seen but not copied fails the upgrade. */
__u32 seen = 0;
__u32 copied = 0;

static long copy_one(__u32 i, void *ctx)
{
	__u32 key = first + i;
	struct bpf_sock *sk;

	(void)ctx;
	if (i >= count)
		return 1;
	sk = bpf_map_lookup_elem(&from, &key);
	if (!sk)
		return 0;
	seen++;
	if (!bpf_map_update_elem(&to, &key, sk, BPF_NOEXIST))
		copied++;
	bpf_sk_release(sk);
	return 0;
}

SEC("tc")
int copy_sockets(struct __sk_buff *skb)
{
	(void)skb;
	bpf_loop(CHUNK, copy_one, NULL, 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
