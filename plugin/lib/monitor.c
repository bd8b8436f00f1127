#include "monitor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state.h"

int skl_monitor_ring_create(pid_t owner, int *ring_fd, struct skl_err *err)
{
	char name[BPF_OBJ_NAME_LEN];

	snprintf(name, sizeof(name), SKL_MONITOR_NAME_PREFIX "%d", (int)owner);
	*ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name, 0, 0, SKL_MONITOR_RING_BYTES, NULL);
	if (*ring_fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"creating the monitor's ring buffer (%u KiB): %s",
				SKL_MONITOR_RING_BYTES / 1024, strerror(errno));
	return 0;
}

static int map_id(int fd, uint32_t *id, char *name, size_t name_len)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	*id = info.id;
	if (name)
		snprintf(name, name_len, "%s", info.name);
	return 0;
}

static pid_t owner_of(const char *name)
{
	const char *digits = name + strlen(SKL_MONITOR_NAME_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, SKL_MONITOR_NAME_PREFIX, strlen(SKL_MONITOR_NAME_PREFIX)))
		return 0;
	errno = 0;
	pid = strtol(digits, &end, 10);
	return errno || end == digits || *end || pid <= 0 || pid > INT32_MAX ? 0 : (pid_t)pid;
}

int skl_monitor_slot(int monitor_fd, uint32_t *ring_id, pid_t *owner)
{
	char name[BPF_OBJ_NAME_LEN];
	uint32_t zero = 0, id;
	int fd;

	*ring_id = 0;
	*owner = 0;
	/* A map-in-map lookup from user space gives the inner map's id. */
	if (bpf_map_lookup_elem(monitor_fd, &zero, &id))
		return errno == ENOENT ? 0 : -1;
	*ring_id = id;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0; /* gone meanwhile: the slot is being emptied */
	if (!map_id(fd, &id, name, sizeof(name)))
		*owner = owner_of(name);
	close(fd);
	return 0;
}

bool skl_monitor_owner_gone(pid_t owner)
{
	return owner <= 0 || (kill(owner, 0) && errno == ESRCH);
}

int skl_monitor_attach(const struct skl_pod *pod, int ring_fd, struct skl_err *err)
{
	int fd = pod->d->map_fd[SKL_MAP_MONITOR], lock_fd = -1, ret = -1;
	uint32_t zero = 0, held;
	pid_t owner;

	if (skl_pod_lock(pod, &lock_fd, err))
		return -1;
	if (skl_monitor_slot(fd, &held, &owner)) {
		skl_errf(err, SKL_CNI_INTERNAL, "reading the pod's monitor slot: %s",
			 strerror(errno));
		goto out;
	}
	/* A ring of this very process (the node agent's, for an earlier
	 * monitor of the same pod) is replaced: the pod asks again. */
	if (held && owner != getpid() && !skl_monitor_owner_gone(owner)) {
		skl_errf(err, SKL_CNI_TRY_AGAIN_LATER,
			 "the pod is watched by another monitor (process %d); one monitor per "
			 "pod: stop that one first",
			 (int)owner);
		goto out;
	}
	if (bpf_map_update_elem(fd, &zero, &ring_fd, BPF_ANY)) {
		skl_errf(err, SKL_CNI_INTERNAL, "putting the ring into the pod's monitor slot: %s",
			 strerror(errno));
		goto out;
	}
	ret = 0;
out:
	skl_state_unlock(lock_fd);
	return ret;
}

int skl_monitor_detach(const struct skl_pod *pod, int ring_fd, struct skl_err *err)
{
	int fd = pod->d->map_fd[SKL_MAP_MONITOR], lock_fd = -1, ret = 0;
	uint32_t zero = 0, held, mine;
	pid_t owner;

	if (map_id(ring_fd, &mine, NULL, 0))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the ring's id: %s",
				strerror(errno));
	if (skl_pod_lock(pod, &lock_fd, err))
		return err->code == SKL_CNI_UNKNOWN_CONTAINER ? 0 : -1;
	if (!skl_monitor_slot(fd, &held, &owner) && held == mine &&
	    bpf_map_delete_elem(fd, &zero) && errno != ENOENT)
		ret = skl_errf(err, SKL_CNI_INTERNAL, "emptying the pod's monitor slot: %s",
			       strerror(errno));
	skl_state_unlock(lock_fd);
	return ret;
}

static int open_slot(const char *state_dir, struct skl_err *err)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
			     skl_map_pin_names[SKL_MAP_MONITOR]) >= sizeof(path))
		return skl_errf(err, SKL_CNI_INTERNAL, "state path too long: %s", state_dir);
	return bpf_obj_get(path);
}

/* Empties the slot behind fd if it still holds ring ring_id, under the
 * lock of the pod in state_dir. 1 when it did. */
static int empty_slot(const char *state_dir, int fd, uint32_t ring_id, int wait_ms,
		      struct skl_err *err)
{
	uint32_t zero = 0, held;
	int lock_fd = -1, ret = 0;
	pid_t owner;

	if (skl_state_lock_existing(state_dir, wait_ms, &lock_fd, err))
		return err && err->code == SKL_CNI_UNKNOWN_CONTAINER ? 0 : -1;
	if (!skl_monitor_slot(fd, &held, &owner) && held == ring_id) {
		if (bpf_map_delete_elem(fd, &zero) && errno != ENOENT)
			ret = skl_errf(err, SKL_CNI_INTERNAL, "emptying the monitor slot of %s: %s",
				       state_dir, strerror(errno));
		else
			ret = 1;
	}
	skl_state_unlock(lock_fd);
	return ret;
}

int skl_monitor_detach_dir(const char *state_dir, int ring_fd, int wait_ms, struct skl_err *err)
{
	uint32_t mine;
	int fd, ret;

	if (map_id(ring_fd, &mine, NULL, 0))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the ring's id: %s",
				strerror(errno));
	fd = open_slot(state_dir, err);
	if (fd < 0)
		return 0; /* the pod is gone, and the slot with it */
	ret = empty_slot(state_dir, fd, mine, wait_ms, err);
	close(fd);
	return ret < 0 ? -1 : 0;
}

/* The ring's consumer and producer positions (its first two pages). */
static int ring_positions(int ring_fd, uint64_t *consumer, uint64_t *producer)
{
	long page = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, ring_fd, 0);
	void *p = c == MAP_FAILED ? MAP_FAILED
				  : mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, ring_fd, page);

	if (p == MAP_FAILED) {
		if (c != MAP_FAILED)
			munmap(c, (size_t)page);
		return -1;
	}
	*consumer = __atomic_load_n((unsigned long *)c, __ATOMIC_ACQUIRE);
	*producer = __atomic_load_n((unsigned long *)p, __ATOMIC_ACQUIRE);
	munmap(c, (size_t)page);
	munmap(p, (size_t)page);
	return 0;
}

int skl_monitor_reap_dir(const char *state_dir, int wait_ms, struct skl_monitor_look *look,
			 struct skl_err *err)
{
	uint64_t consumer, producer;
	int fd = open_slot(state_dir, err), ring_fd, ret = 0;
	uint32_t held;
	pid_t owner;

	if (fd < 0)
		return 0; /* another layout, or no pod: nothing of ours to reap */
	if (skl_monitor_slot(fd, &held, &owner) || !held) {
		*look = (struct skl_monitor_look){ 0 };
		goto out;
	}
	ring_fd = bpf_map_get_fd_by_id(held);
	if (ring_fd < 0)
		goto out;
	if (ring_positions(ring_fd, &consumer, &producer)) {
		close(ring_fd);
		goto out;
	}
	close(ring_fd);
	if (look->ring_id == held && look->pending && consumer == look->consumer)
		ret = empty_slot(state_dir, fd, held, wait_ms, err);
	*look = ret == 1 ? (struct skl_monitor_look){ 0 }
			 : (struct skl_monitor_look){ .ring_id = held,
						      .consumer = consumer,
						      .pending = producer != consumer };
out:
	close(fd);
	return ret;
}

int skl_monitor_lost(const struct skl_dispatcher *d, uint64_t *lost, size_t n_cpus,
		     struct skl_err *err)
{
	int ncpus = libbpf_num_possible_cpus();
	struct skl_totals *per_cpu;
	uint32_t zero = 0;

	memset(lost, 0, n_cpus * sizeof(*lost));
	if (ncpus <= 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot count the CPUs");
	per_cpu = calloc((size_t)ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_TOTALS], &zero, per_cpu)) {
		free(per_cpu);
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the dispatcher's totals: %s",
				strerror(errno));
	}
	for (size_t i = 0; i < (size_t)ncpus && i < n_cpus; i++)
		lost[i] = per_cpu[i].t[SKL_T_MONITOR_LOST];
	free(per_cpu);
	return 0;
}

const char *skl_monitor_reason_name(unsigned reason)
{
	static const char *const names[SKL_M_REASONS] = {
		[SKL_M_NO_BINDING] = "no-binding",
		[SKL_M_ASSIGNED] = "assigned",
		[SKL_M_NO_SOCKET_PASS] = "no-socket-pass",
		[SKL_M_NO_SOCKET_DROP] = "no-socket",
		[SKL_M_ASSIGN_ERROR] = "assign-error",
	};

	return reason < SKL_M_REASONS ? names[reason] : "unknown";
}

const char *skl_monitor_verdict_name(unsigned verdict)
{
	return verdict == 1 ? "pass" : "drop";
}
