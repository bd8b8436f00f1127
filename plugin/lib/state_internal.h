/*
 * What the state module's files share and nothing outside it uses: the
 * naming of temporary directories, the directory mode, and the checks and
 * path helpers more than one of its jobs needs.
 */
#ifndef SKL_STATE_INTERNAL_H
#define SKL_STATE_INTERNAL_H

#include <stddef.h>

#include "skl_error.h"

#define SKL_BPFFS_DOT ':'
#define SKL_DIR_MODE 0700
#define SKL_SHOWN_BYTES 64 /* how much of a bad value a message quotes */

/* Quotes value for a message: non-printable bytes as \xNN, long values cut. */
void skl_state_quote(const char *value, char *out, size_t len);

/* Length of root without one trailing '/', which is harmless. */
size_t skl_state_root_length(const char *root);

/* Refuses a bpffsRoot that is empty, relative, "/" or not normalised. */
int skl_state_check_root_syntax(const char *root, struct skl_err *err);

/* Opens the directory at path without following a symbolic link anywhere
 * on the way (bpffsRoot has none, skl_bpffs_check_root, and nothing below
 * it is one): a link swapped in cannot send a removal elsewhere. */
int skl_state_open_dir_nofollow(const char *path);

/* The error for a failed mkdir of path, with bpffs' reason for EPERM. */
int skl_state_mkdir_error(const char *path, int errnum, struct skl_err *err);

#endif
