/*
 * The differential check shared by fuzz_bindings and fuzz_netconf: compiled
 * tables (what the BPF program searches) against the reference precedence
 * rule (skl_bindings_resolve), plus the table invariants the program relies
 * on. Aborts on any disagreement.
 */
#ifndef SKL_FUZZ_CHECK_COMPILED_H
#define SKL_FUZZ_CHECK_COMPILED_H

#include <stddef.h>

#include "bindings.h"
#include "compile.h"

/* Checks c (compiled from set, which holds only concrete prefixes) and
 * probes around the prefixes and port range edges of the first max_probed
 * bindings (the cost grows with bindings x probes x ranges). */
void fuzz_check_compiled(const struct skl_binding_set *set, const struct skl_compiled *c,
			 size_t max_probed);

#endif
