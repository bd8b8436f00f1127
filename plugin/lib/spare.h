/*
 * Spare dispatchers: loaded ahead of time by the node agent, so that ADD
 * does not wait for the kernel to verify the program and create its maps.
 * A spare is a directory bpffsRoot/:spare/NAME holding the pinned program
 * and maps of a dispatcher loaded at some limits, not attached, serving no
 * netns. ADD takes one whose limits match its config by renaming it onto
 * its temporary state directory (a rename is atomic: two ADDs never take
 * the same one), then writes the pod's netns cookie and bindings into it
 * and attaches it. Without a spare ADD loads its own, as before.
 */
#ifndef SKL_SPARE_H
#define SKL_SPARE_H

#include <stddef.h>

#include "dispatcher.h"
#include "skl_error.h"

/* Network names never start with ':' (a dot is stored as ':', and a
 * network name starts with a letter or digit). */
#define SKL_SPARE_DIR ":spare"

/* Loads a dispatcher at limits l and leaves it as a spare under root. */
int skl_spare_make(const char *root, const struct skl_limits *l, struct skl_err *err);

/* Spares under root for limits l. */
int skl_spare_count(const char *root, const struct skl_limits *l);

/* Takes a spare for limits l: renames it onto the empty directory into.
 * 1 when taken, 0 when there is none, -1 with err on a failure. */
int skl_spare_take(const char *root, const struct skl_limits *l, const char *into,
		   struct skl_err *err);

/* Calls fn with the path of each spare for limits l under root (or of
 * every spare and leftover when l is NULL) until it returns non-zero;
 * returns that value, or 0. */
int skl_spare_each(const char *root, const struct skl_limits *l,
		   int (*fn)(const char *path, void *arg), void *arg);

/* Removes every spare under root (all limits and layouts). */
void skl_spare_clear(const char *root);

#endif
