/*
 * A binding's or label's counters as one struct skl_counters: the per-CPU
 * hot ones summed over CPUs, plus the shared rare-event ones (see enum
 * skl_counter in dispatch_abi.h).
 */
#ifndef SKL_COUNTERS_H
#define SKL_COUNTERS_H

#include <stdint.h>

#include "dispatch_abi.h"
#include "dispatcher.h"
#include "skl_error.h"

enum skl_counter_owner { SKL_COUNTERS_BINDING, SKL_COUNTERS_LABEL };

int skl_counters_read(const struct skl_dispatcher *d, enum skl_counter_owner owner, uint32_t id,
		      uint64_t out[SKL_C_COUNT], struct skl_err *err);

/* The dispatcher's totals (lookups, no match), summed over the CPUs. */
int skl_counters_totals(const struct skl_dispatcher *d, uint64_t out[SKL_T_COUNT],
			struct skl_err *err);

/* Zeroes them, for an id that is about to be (re)used. */
int skl_counters_reset(const struct skl_dispatcher *d, enum skl_counter_owner owner,
		       uint32_t id, struct skl_err *err);

#endif
