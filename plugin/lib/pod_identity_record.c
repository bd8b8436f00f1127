/* A pod's identity read from its state record (pod_identity.h). */
#include "pod_identity.h"

#include <string.h>

#include "record.h"

int skl_pod_identity_read(const char *state_dir, struct skl_pod_identity *id,
			  struct skl_err *err)
{
	struct skl_record rec;

	memset(id, 0, sizeof(*id));
	if (skl_record_load(state_dir, &rec, err))
		return -1;
	*id = rec.pod;
	skl_record_free(&rec);
	return 0;
}
