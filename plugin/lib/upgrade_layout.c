/*
 * sklookup-ctl upgrade across a change of map layout (upgrade.h): this
 * binary's dispatcher is built beside the pod's, filled from it, attached to
 * the pod's netns next to it, and swapped in for it as one rename of the
 * state directory; only then is the old link detached.
 */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dispatch_abi.h"
#include "netns.h"
#include "record.h"
#include "rules.h"
#include "rules_internal.h"
#include "state.h"

/* The fields of struct skl_config every layout keeps where they are (see
 * dispatch_abi.h): the layout version and the netns served. */
#define CONFIG_ABI_OFFSET 4
#define CONFIG_COOKIE_OFFSET 16
#define CONFIG_MAX 1024

/* The pod's dispatcher as pinned, whatever its layout. */
struct old_pod {
	int map_fd[SKL_MAP_COUNT];
	int link_fd;
	uint32_t abi;
	uint64_t cookie;
	struct skl_limits limits;
};

static void old_close(struct old_pod *o)
{
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if (o->map_fd[i] >= 0)
			close(o->map_fd[i]);
	if (o->link_fd >= 0)
		close(o->link_fd);
}

/* dir/name opened, or -1 (errno set). */
static int bpf_obj_get_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return bpf_obj_get(path);
}

static int open_pin(const char *dir, const char *name, int *fd, struct skl_err *err)
{
	*fd = bpf_obj_get_in(dir, name);
	if (*fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening %s/%s: %s", dir, name,
				strerror(errno));
	return 0;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

/* The old config, read as bytes: only the fields every layout keeps. */
static int read_config(const char *dir, struct old_pod *o, struct skl_err *err)
{
	unsigned char buf[CONFIG_MAX] = { 0 };
	struct bpf_map_info info;
	uint32_t zero = 0;

	if (map_info(o->map_fd[SKL_MAP_CONFIG], &info) || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.key_size != 4 || info.value_size < CONFIG_COOKIE_OFFSET + 8 ||
	    info.value_size > CONFIG_MAX ||
	    bpf_map_lookup_elem(o->map_fd[SKL_MAP_CONFIG], &zero, buf))
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%s/config is no dispatcher config this release can read; nothing "
				"was changed: re-create the pod", dir);
	memcpy(&o->abi, buf + CONFIG_ABI_OFFSET, sizeof(o->abi));
	memcpy(&o->cookie, buf + CONFIG_COOKIE_OFFSET, sizeof(o->cookie));
	return 0;
}

/* The maps whose entries move over as they are: their layout must be ours. */
static const enum skl_map carried[] = { SKL_MAP_LABELS, SKL_MAP_BINDINGS, SKL_MAP_PORTS,
					SKL_MAP_SOCKETS };
#define N_CARRIED (sizeof(carried) / sizeof(carried[0]))

/* The counters: copied where the old pod has a map of that name and kind,
 * else they start from zero. The rule tables are not read at all: they are
 * compiled anew, so a release may change them freely. */
static const enum skl_map counters[] = { SKL_MAP_BIND_COUNTERS, SKL_MAP_LABEL_COUNTERS,
					 SKL_MAP_TOTALS, SKL_MAP_EVENTS };
#define N_COUNTERS (sizeof(counters) / sizeof(counters[0]))

static int open_old(const char *dir, struct old_pod *o, struct skl_err *err)
{
	struct bpf_map_info info;
	char made_by[160];

	for (int i = 0; i < SKL_MAP_COUNT; i++)
		o->map_fd[i] = -1;
	o->link_fd = -1;
	for (size_t k = 0; k < N_COUNTERS; k++) /* optional */
		o->map_fd[counters[k]] = bpf_obj_get_in(dir, skl_map_pin_names[counters[k]]);
	if (open_pin(dir, SKL_PIN_LINK, &o->link_fd, err) ||
	    open_pin(dir, skl_map_pin_names[SKL_MAP_CONFIG], &o->map_fd[SKL_MAP_CONFIG], err) ||
	    read_config(dir, o, err))
		return -1;
	for (size_t k = 0; k < N_CARRIED; k++)
		if (open_pin(dir, skl_map_pin_names[carried[k]], &o->map_fd[carried[k]], NULL) ||
		    !skl_dispatcher_map_fits(carried[k], o->map_fd[carried[k]])) {
			skl_record_release_of(dir, made_by, sizeof(made_by));
			return skl_errf(err, SKL_CNI_INTERNAL,
					"cannot upgrade %s: it was made by %s, whose map "
					"\"%s\" this release cannot find or read, so its "
					"bindings and sockets cannot be carried over; nothing "
					"was changed: upgrade it with a release that reads both "
					"layouts, or re-create the pod", dir, made_by,
					skl_map_pin_names[carried[k]]);
		}
	if (map_info(o->map_fd[SKL_MAP_BINDINGS], &info))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the bindings map: %s",
				strerror(errno));
	o->limits.bindings = info.max_entries;
	if (map_info(o->map_fd[SKL_MAP_LABELS], &info))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the labels map: %s",
				strerror(errno));
	o->limits.labels = info.max_entries;
	if (map_info(o->map_fd[SKL_MAP_PORTS], &info))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the ports map: %s",
				strerror(errno));
	o->limits.port_ranges = info.max_entries;
	return 0;
}

int skl_upgrade_same_layout(const char *dir, bool *same, struct skl_err *err)
{
	struct old_pod o;
	int ret = -1;

	*same = false;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		o.map_fd[i] = -1;
	o.link_fd = -1;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if (open_pin(dir, skl_map_pin_names[i], &o.map_fd[i], NULL)) {
			ret = 0; /* not this layout: the upgrade with new maps says why */
			goto out;
		}
	if (read_config(dir, &o, err))
		goto out;
	*same = o.abi == SKL_ABI_VERSION;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		*same = *same && skl_dispatcher_map_fits(i, o.map_fd[i]);
	ret = 0;
out:
	old_close(&o);
	return ret;
}

/* Entries [0, n) of a (per-CPU) array, each value_size (rounded up to 8
 * per CPU in a per-CPU map, as the kernel hands them out). */
static size_t entry_bytes(const struct bpf_map_info *info, int cpus)
{
	bool percpu = info->type == BPF_MAP_TYPE_PERCPU_ARRAY;

	return percpu ? (size_t)((info->value_size + 7) & ~7u) * (size_t)cpus : info->value_size;
}

/* Copies an array's entries into another's of the same kind: as they are
 * when the value sizes agree; else each value's common leading part (the
 * counters a layout keeps come first, dispatch_abi.h), the rest zero. */
static int copy_array(int from, int to, const char *name, struct skl_err *err)
{
	struct bpf_map_info fi, ti;
	int cpus = libbpf_num_possible_cpus();
	size_t fsz, tsz, common, per_cpu_f, per_cpu_t, slots;
	unsigned char *fv = NULL, *tv = NULL;
	uint32_t n;
	int ret = -1;

	if (cpus < 1 || map_info(from, &fi) || map_info(to, &ti) || fi.type != ti.type)
		return skl_errf(err, SKL_CNI_INTERNAL, "carrying the map \"%s\" over: its kinds "
				"differ or cannot be read", name);
	n = fi.max_entries < ti.max_entries ? fi.max_entries : ti.max_entries;
	fsz = entry_bytes(&fi, cpus);
	tsz = entry_bytes(&ti, cpus);
	slots = fi.type == BPF_MAP_TYPE_PERCPU_ARRAY ? (size_t)cpus : 1;
	per_cpu_f = fsz / slots;
	per_cpu_t = tsz / slots;
	common = fi.value_size < ti.value_size ? fi.value_size : ti.value_size;
	fv = calloc(n ? n : 1, fsz);
	tv = calloc(n ? n : 1, tsz);
	if (!fv || !tv) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	if (n && skl_rules_read_array(from, n, fv, fsz, err))
		goto out;
	for (uint32_t i = 0; i < n; i++)
		for (size_t c = 0; c < slots; c++)
			memcpy(tv + i * tsz + c * per_cpu_t, fv + i * fsz + c * per_cpu_f, common);
	ret = skl_rules_write_array(to, 0, n, tv, name, err);
out:
	free(fv);
	free(tv);
	return ret;
}

/* Whether the old map (maybe absent) is of the new one's type. */
static bool same_kind(int old_fd, int new_fd)
{
	struct bpf_map_info a, b;

	return old_fd >= 0 && !map_info(old_fd, &a) && !map_info(new_fd, &b) && a.type == b.type;
}

/* The new dispatcher's maps get the old one's bindings, labels, port
 * ranges (same ids, so the socket slots and counters keep their keys),
 * sockets and counters, and its rule tables compiled from those bindings. */
static int fill_new(struct old_pod *o, struct skl_dispatcher *nd, struct skl_upgrade *out,
		    struct skl_err *err)
{
	struct skl_binding_set set = { 0 };
	uint32_t *ids = NULL;
	int ret;

	for (size_t k = 0; k < N_CARRIED - 1; k++) /* the sockets below */
		if (copy_array(o->map_fd[carried[k]], nd->map_fd[carried[k]],
			       skl_map_pin_names[carried[k]], err))
			return -1;
	/* Before the apply: it frees labels that have neither bindings nor sockets. */
	if (skl_upgrade_copy_sockets(o->map_fd[SKL_MAP_SOCKETS], nd->map_fd[SKL_MAP_SOCKETS],
				     &out->sockets, err))
		return -1;
	if (skl_rules_read(nd, &set, &ids, err))
		return -1;
	out->bindings = (uint32_t)set.n;
	ret = skl_rules_apply(nd, &set, err);
	skl_bindings_free(&set);
	free(ids);
	for (size_t k = 0; !ret && k < N_COUNTERS; k++)
		if (same_kind(o->map_fd[counters[k]], nd->map_fd[counters[k]]))
			ret = copy_array(o->map_fd[counters[k]], nd->map_fd[counters[k]],
					 skl_map_pin_names[counters[k]], err);
	return ret;
}

/* The pod's netns, by the inode its link reports and checked by the cookie
 * the old dispatcher serves (an inode number is reused once a netns is gone). */
static int pod_netns(const struct old_pod *o, int *fd, struct skl_err *err)
{
	uint64_t ino, cookie;

	if (skl_link_netns(o->link_fd, &ino, err))
		return -1;
	if (!ino)
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"the pod's network namespace is gone (its link is detached): "
				"nothing to upgrade");
	*fd = skl_netns_find(ino);
	if (*fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"the pod's network namespace (inode %llu) is neither named under "
				"/var/run/netns nor any process's: cannot attach the new dispatcher "
				"to it; nothing was changed", (unsigned long long)ino);
	if (skl_netns_cookie(*fd, &cookie, err))
		return -1;
	if (o->cookie && cookie != o->cookie)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"the network namespace with inode %llu is not the one the pod's "
				"dispatcher serves; nothing was changed", (unsigned long long)ino);
	return 0;
}

static uint32_t link_prog_id(int link_fd)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(link_fd, &info, &len) ? 0 : info.prog_id;
}

/* The pod's record, now naming the new link and bound to the new program. */
static int save_record(const char *dir, const char *tmp, const struct skl_dispatcher *nd,
		       struct skl_err *err)
{
	struct skl_record rec;
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	int ret;

	if (skl_record_load(dir, &rec, NULL))
		return 0; /* a pod from before records: none to carry */
	if (!bpf_obj_get_info_by_fd(nd->link_fd, &info, &len))
		rec.link_id = info.id;
	ret = skl_record_save_bound(&rec, tmp, nd->prog_fd, err);
	skl_record_free(&rec);
	return ret;
}

int skl_upgrade_new_maps(const char *dir, struct skl_upgrade *out, struct skl_err *err)
{
	struct skl_dispatcher nd;
	struct old_pod o;
	char tmp[PATH_MAX] = "", record[PATH_MAX + 16];
	int netns_fd = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	skl_dispatcher_init(&nd);
	if (open_old(dir, &o, err))
		goto out;
	out->old_prog_id = link_prog_id(o.link_fd);
	out->old_abi = o.abi;
	if (pod_netns(&o, &netns_fd, err) ||
	    skl_dispatcher_load(&nd, &o.limits, o.cookie, err) || fill_new(&o, &nd, out, err) ||
	    skl_state_mktemp(dir, tmp, sizeof(tmp), err))
		goto out;
	/* From here the pod's netns runs both programs: they hold the same
	 * bindings and sockets, so each packet gets the same verdict from both. */
	if (skl_dispatcher_attach(&nd, netns_fd, err) || skl_dispatcher_pin(&nd, tmp, err) ||
	    save_record(dir, tmp, &nd, err))
		goto out;
	/* The switch: one rename puts the new state where the old one was. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE)) {
		skl_errf(err, SKL_CNI_INTERNAL, "switching %s to the new dispatcher: %s", dir,
			 strerror(errno));
		goto out;
	}
	/* tmp now holds the old state: its record must never be undone. */
	snprintf(record, sizeof(record), "%s/%s", tmp, SKL_PIN_RECORD);
	unlink(record);
	/* Removing its pins below releases it too, unless another process
	 * holds it open: detached either way. */
	bpf_link_detach(o.link_fd);
	out->new_prog_id = link_prog_id(nd.link_fd);
	out->changed = true;
	out->new_maps = true;
	ret = 0;
out:
	/* On failure tmp holds the new objects, and the new link leaves the
	 * netns now rather than when its last reference goes; on success tmp
	 * holds the old ones. */
	if (ret && nd.link_fd >= 0)
		bpf_link_detach(nd.link_fd);
	if (tmp[0])
		skl_state_remove_dir(tmp, NULL);
	skl_dispatcher_close(&nd);
	if (netns_fd >= 0)
		close(netns_fd);
	old_close(&o);
	return ret;
}
