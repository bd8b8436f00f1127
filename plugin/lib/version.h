/* Which sklookup this is: the release and the commit it was built from. */
#ifndef SKL_VERSION_H
#define SKL_VERSION_H

/* "0.3.0 (git v0.3.0-2-g0123456789ab)": the release (the file VERSION) and
 * git describe of the source tree, "unknown" when it was not a git checkout.
 * The answer to --version, after the program's name. */
extern const char skl_version[];

#endif
