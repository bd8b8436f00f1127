/*
 * Records found through the kernel rather than through their pins: when
 * bpffs is unmounted at bpffsRoot while another mount keeps the instance
 * (another mount namespace, a bind mount), the pins, the link and so the
 * dispatcher live on out of reach of every path. Each record names its
 * attachment's state directory, so DEL can still find it among the maps.
 */
#include "record.h"

#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

int skl_record_find(const char *state_dir, uint32_t *id, struct skl_record *r)
{
	while (!bpf_map_get_next_id(*id, id)) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(*id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_ARRAY &&
		    !strcmp(info.name, SKL_PIN_RECORD) &&
		    !skl_record_load_fd(fd, SKL_PIN_RECORD, r, NULL)) {
			if (!strcmp(r->state_dir, state_dir))
				return fd;
			skl_record_free(r);
		}
		close(fd);
	}
	return -1;
}
