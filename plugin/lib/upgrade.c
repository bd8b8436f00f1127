/* sklookup-ctl upgrade, the kernel part: see upgrade.h. */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dispatch_abi.h"
#include "dispatcher.skel.h"
#include "record.h"
#include "version.h"

static int pinned_index(const char *map_name)
{
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if (!strcmp(skl_map_pin_names[i], map_name))
			return i;
	return -1;
}

static int map_info(int fd, const char *name, struct bpf_map_info *info, struct skl_err *err)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the info of map \"%s\": %s", name,
				strerror(errno));
	return 0;
}

static int prog_info(int fd, struct bpf_prog_info *info, struct skl_err *err)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading BPF program info: %s",
				strerror(errno));
	return 0;
}

static int incompatible(struct skl_err *err, const char *map, const char *what,
			const char *theirs, const char *ours)
{
	return skl_errf(err, SKL_CNI_INTERNAL,
			"cannot upgrade: map \"%s\" has %s %s in the pod's state and %s in this "
			"binary's dispatcher; the map layouts are incompatible, so nothing was "
			"changed: re-create the pod to get this dispatcher",
			map, what, theirs, ours);
}

static void type_name(uint32_t type, char *buf, size_t len)
{
	const char *name = libbpf_bpf_map_type_str((enum bpf_map_type)type);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%u", type);
}

static int differs(struct skl_err *err, const char *map, const char *what, const char *fmt,
		   uint32_t theirs, uint32_t ours)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), fmt, theirs);
	snprintf(b, sizeof(b), fmt, ours);
	return incompatible(err, map, what, a, b);
}

/* The pinned map against this binary's definition of it. */
static int check_map(const struct bpf_map *map, int pinned_fd, struct skl_err *err)
{
	const char *name = bpf_map__name(map);
	struct bpf_map_info info;
	char theirs[32], ours[32];

	if (map_info(pinned_fd, name, &info, err))
		return -1;
	if (info.type != (uint32_t)bpf_map__type(map)) {
		type_name(info.type, theirs, sizeof(theirs));
		type_name(bpf_map__type(map), ours, sizeof(ours));
		return incompatible(err, name, "type", theirs, ours);
	}
	if (info.key_size != bpf_map__key_size(map))
		return differs(err, name, "key size", "%u", info.key_size, bpf_map__key_size(map));
	if (info.value_size != bpf_map__value_size(map))
		return differs(err, name, "value size", "%u", info.value_size,
			       bpf_map__value_size(map));
	if (info.map_flags != bpf_map__map_flags(map))
		return differs(err, name, "flags", "0x%x", info.map_flags, bpf_map__map_flags(map));
	return 0;
}

/* Everything that must hold before anything changes. */
static int check_layout(struct dispatcher_bpf *skel, const struct skl_dispatcher *d,
			struct skl_err *err)
{
	struct skl_config cfg;
	struct bpf_map *map;

	if (skl_dispatcher_config(d, &cfg, err))
		return -1;
	if (cfg.abi_version != SKL_ABI_VERSION)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot upgrade: the pod's maps have layout version %u and this "
				"binary's dispatcher uses %u, so nothing was changed: re-create the "
				"pod to get this dispatcher", cfg.abi_version, SKL_ABI_VERSION);
	bpf_object__for_each_map(map, skel->obj) {
		int i = pinned_index(bpf_map__name(map));

		if (bpf_map__is_internal(map)) /* read-only data, set per load */
			continue;
		if (i < 0)
			return skl_errf(err, SKL_CNI_INTERNAL,
					"cannot upgrade: this binary's dispatcher has a map \"%s\" "
					"that the pod's state lacks, so nothing was changed: "
					"re-create the pod to get this dispatcher",
					bpf_map__name(map));
		if (check_map(map, d->map_fd[i], err))
			return -1;
	}
	return 0;
}

/* Loads this binary's program against the pod's maps instead of new ones.
 * Runs after check_layout, which found a pinned map for every map. */
static int load_against(struct dispatcher_bpf *skel, const struct skl_dispatcher *d,
			struct skl_err *err)
{
	struct bpf_map *map;
	int ret;

	skl_dispatcher_skel_bounds(skel, d->limits.bindings, d->max_segments);
	bpf_object__for_each_map(map, skel->obj) {
		int fd;
		struct bpf_map_info info;

		if (bpf_map__is_internal(map))
			continue;
		fd = d->map_fd[pinned_index(bpf_map__name(map))];
		if (map_info(fd, bpf_map__name(map), &info, err))
			return -1;
		ret = bpf_map__set_max_entries(map, info.max_entries);
		if (!ret)
			ret = bpf_map__reuse_fd(map, fd);
		if (ret)
			return skl_errf(err, SKL_CNI_INTERNAL, "reusing the pod's map \"%s\": %s",
					bpf_map__name(map), strerror(-ret));
	}
	ret = dispatcher_bpf__load(skel);
	if (ret)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"loading this binary's dispatcher against the pod's maps: %s",
				strerror(-ret));
	return 0;
}

/* The program the link runs now: an fd of it and its info. */
static int linked_program(int link_fd, int *prog_fd, struct bpf_prog_info *info,
			  struct skl_err *err)
{
	struct bpf_link_info link = {};
	uint32_t len = sizeof(link);

	if (bpf_obj_get_info_by_fd(link_fd, &link, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the link info: %s",
				strerror(errno));
	*prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
	if (*prog_fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening the linked program (id %u): %s",
				link.prog_id, strerror(errno));
	return prog_info(*prog_fd, info, err);
}

static int pin_path(char *buf, const char *dir, const char *name, struct skl_err *err)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return skl_errf(err, SKL_CNI_INTERNAL, "state path too long: %s/%s", dir, name);
	return 0;
}

/* Pins the new program next to the old one first, so that once the link
 * runs it only a rename remains, and a failed swap leaves the state as it
 * was. A rerun repairs a failed rename: the pin then differs from the link. */
static int swap_program(const struct skl_dispatcher *d, const char *dir, int old_fd, int new_fd,
			struct skl_err *err)
{
	LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE, .old_prog_fd = old_fd);
	char staged[PATH_MAX], final[PATH_MAX];

	if (pin_path(staged, dir, SKL_PIN_PROG_NEW, err) ||
	    pin_path(final, dir, SKL_PIN_PROG, err))
		return -1;
	if (unlink(staged) && errno != ENOENT) /* left by an interrupted upgrade */
		return skl_errf(err, SKL_CNI_INTERNAL, "removing %s: %s", staged, strerror(errno));
	if (bpf_obj_pin(new_fd, staged))
		return skl_errf(err, SKL_CNI_INTERNAL, "pinning %s: %s", staged, strerror(errno));
	/* BPF_F_REPLACE: only if the link still runs the program we checked. */
	if (bpf_link_update(d->link_fd, new_fd, &opts)) {
		int saved = errno;

		unlink(staged);
		return skl_errf(err, SKL_CNI_INTERNAL,
				"replacing the program in the pod's link: %s%s", strerror(saved),
				saved == EPERM ? " (it changed meanwhile; run upgrade again)" : "");
	}
	if (rename(staged, final))
		return skl_errf(err, SKL_CNI_INTERNAL,
				"the link runs the new program, but renaming %s to %s failed: %s; "
				"run upgrade again to repair the pin", staged, final, strerror(errno));
	return 0;
}

static bool same_tag(const struct bpf_prog_info *a, const struct bpf_prog_info *b)
{
	return !memcmp(a->tag, b->tag, sizeof(a->tag));
}

/* Makes d->prog_fd the program now pinned. */
static int adopt_program(struct skl_dispatcher *d, int new_fd, struct skl_err *err)
{
	int fd = fcntl(new_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"the link runs the new program, but duplicating its fd failed: %s",
				strerror(errno));
	close(d->prog_fd);
	d->prog_fd = fd;
	return 0;
}

int skl_dispatcher_upgrade(struct skl_dispatcher *d, const char *dir, struct skl_upgrade *out,
			   struct skl_err *err)
{
	struct bpf_prog_info linked, loaded, pinned;
	struct dispatcher_bpf *skel;
	int linked_fd = -1, new_fd, ret = -1;

	memset(out, 0, sizeof(*out));
	/* A skeleton of this process owns its fds; only an opened one is ours to change. */
	if (d->skel)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"upgrade needs a dispatcher opened from its state directory");
	skel = skl_dispatcher_skel_open();
	if (!skel)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening the embedded BPF object: %s",
				strerror(errno));
	/* The program in the link vouches for the pod's record (a pod made
	 * before records were bound gets it here). */
	if (check_layout(skel, d, err) || load_against(skel, d, err) ||
	    linked_program(d->link_fd, &linked_fd, &linked, err) ||
	    skl_record_bind(dir, linked_fd, err))
		goto out;
	new_fd = bpf_program__fd(skel->progs.sklookup_dispatch);
	if (prog_info(new_fd, &loaded, err) || prog_info(d->prog_fd, &pinned, err))
		goto out;
	out->old_prog_id = out->new_prog_id = linked.id;
	if (same_tag(&linked, &loaded) && pinned.id == linked.id) {
		ret = 0;
		goto out;
	}
	/* The new program vouches for the pod's record as the old one did. */
	if (skl_record_bind(dir, new_fd, err) || swap_program(d, dir, linked_fd, new_fd, err))
		goto out;
	out->new_prog_id = loaded.id;
	out->changed = true;
	ret = adopt_program(d, new_fd, err);
out:
	if (linked_fd >= 0)
		close(linked_fd);
	dispatcher_bpf__destroy(skel);
	return ret;
}

/* The record names the release whose dispatcher the pod runs: after an
 * upgrade in place, this one (an unchanged program is this release's too).
 * A record of one chunk is updated in place and stays bound; a new record
 * map is bound to the linked program. */
static int stamp_record(const struct skl_dispatcher *d, const char *dir, struct skl_err *err)
{
	struct skl_record rec;
	int ret = 0;

	if (skl_record_load(dir, &rec, NULL))
		return 0; /* none, or unreadable: DEL goes by the pins */
	if (strcmp(rec.release, skl_version) || rec.abi != SKL_ABI_VERSION)
		ret = skl_record_save_bound(&rec, dir, d->prog_fd, err);
	skl_record_free(&rec);
	return ret;
}

int skl_upgrade_pod(const char *dir, bool new_maps, struct skl_upgrade *out,
		    struct skl_err *err)
{
	struct skl_dispatcher d;
	bool same;
	int ret;

	memset(out, 0, sizeof(*out));
	if (skl_upgrade_same_layout(dir, &same, err))
		return -1;
	if (!same || new_maps)
		return skl_upgrade_new_maps(dir, out, err);
	if (skl_dispatcher_open(&d, dir, err))
		return -1;
	ret = skl_dispatcher_upgrade(&d, dir, out, err);
	if (!ret)
		ret = stamp_record(&d, dir, err);
	skl_dispatcher_close(&d);
	return ret;
}
