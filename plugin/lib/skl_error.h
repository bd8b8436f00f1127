/* An error as it is returned up the stack: a CNI error code and a message
 * that names the field or variable and the fix. Functions fill it and return
 * -1; only main() prints it. code has that one meaning everywhere: the CNI
 * plugin puts it in its error JSON as is; a program with another audience
 * keeps its own outcome beside it (sklookup-ctl's exit status, ctl.h), never
 * in code. */
#ifndef SKL_ERROR_H
#define SKL_ERROR_H

/* Error codes of the CNI specification (SPEC.md, "Error"). */
enum skl_cni_code {
	SKL_CNI_INCOMPATIBLE_VERSION = 1,
	SKL_CNI_UNSUPPORTED_FIELD = 2,
	SKL_CNI_UNKNOWN_CONTAINER = 3,
	SKL_CNI_INVALID_ENV = 4,
	SKL_CNI_IO_FAILURE = 5,
	SKL_CNI_DECODE_FAILURE = 6,
	SKL_CNI_INVALID_CONFIG = 7,
	SKL_CNI_TRY_AGAIN_LATER = 11,
	SKL_CNI_NOT_AVAILABLE = 50,
	SKL_CNI_LIMITED_CONNECTIVITY = 51,
	SKL_CNI_INTERNAL = 999, /* this plugin's own failures (kernel, bpffs) */
};

/* A numeric constant as a string literal, so that a message states the
 * same limit the code checks: "at most " SKL_STR(SKL_PORT_MAX). */
#define SKL_STR_(x) #x
#define SKL_STR(x) SKL_STR_(x)

struct skl_err {
	int code;
	char msg[512];
};

/* Sets err (may be NULL) and returns -1, so callers can `return skl_errf(...)`. */
int skl_errf(struct skl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with "context: " (for adding where an error happened). */
void skl_err_prefix(struct skl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
