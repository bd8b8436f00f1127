/*
 * The state tree's names and paths: <root>/<network>/<container>/<ifname>/.
 *
 * bpffs refuses every name that contains '.' (EPERM: the kernel reserves
 * dotted names), yet container IDs, network names and interface names may
 * contain dots. So a '.' inside a component is stored as ':', a byte no
 * component may contain: the mapping stays one-to-one, and the temporary
 * directory ".tmp-<ifname>-XXXXXX" is stored as ":tmp-<ifname>-XXXXXX",
 * which no state directory can be named (no component starts with '.').
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state_internal.h"

#define SKL_NAME_MAX 255  /* container ID, network name: one path component */
#define SKL_IFNAME_MAX 15 /* IFNAMSIZ - 1 */

/* ---- checking names ---- */

static bool is_component_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

void skl_state_quote(const char *value, char *out, size_t len)
{
	size_t used = 0, i;

	used += snprintf(out + used, len - used, "\"");
	for (i = 0; value[i] && i < SKL_SHOWN_BYTES && used < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			used += snprintf(out + used, len - used, "%c", c);
		else
			used += snprintf(out + used, len - used, "\\x%02x", c);
	}
	if (used < len)
		snprintf(out + used, len - used, "%s\"", value[i] ? "..." : "");
}

static void describe_byte(char c, char *out, size_t len)
{
	unsigned char b = (unsigned char)c;

	if (b > 0x20 && b < 0x7f)
		snprintf(out, len, "'%c'", b);
	else if (b == ' ')
		snprintf(out, len, "a space");
	else
		snprintf(out, len, "byte 0x%02x", b);
}

/* Says why value cannot be a path component; false if it can. */
static bool component_problem(const char *value, size_t max, char *why, size_t len)
{
	size_t n = strlen(value), i;
	char byte[16];

	if (n == 0) {
		snprintf(why, len, "is empty");
		return true;
	}
	if (n > max) {
		snprintf(why, len, "is %zu characters long", n);
		return true;
	}
	if (value[0] == '.') {
		snprintf(why, len, "starts with '.'");
		return true;
	}
	for (i = 0; i < n; i++) {
		if (!is_component_char(value[i])) {
			describe_byte(value[i], byte, sizeof(byte));
			snprintf(why, len, "contains %s at character %zu", byte, i + 1);
			return true;
		}
	}
	return false;
}

static int check_component(int code, const char *what, const char *value, size_t max,
			   struct skl_err *err)
{
	char why[64], shown[SKL_SHOWN_BYTES * 4 + 8];

	if (!value)
		return skl_errf(err, code, "%s is not set: give 1-%zu characters of "
				"A-Z a-z 0-9 _ . -", what, max);
	if (!component_problem(value, max, why, sizeof(why)))
		return 0;
	skl_state_quote(value, shown, sizeof(shown));
	return skl_errf(err, code,
			"%s %s %s: it must be 1-%zu characters of A-Z a-z 0-9 _ . - "
			"and must not start with '.'",
			what, shown, why, max);
}

int skl_state_check_component(const char *what, const char *value, size_t max,
			      struct skl_err *err)
{
	return check_component(SKL_CNI_INVALID_ENV, what, value, max, err);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

size_t skl_state_root_length(const char *root)
{
	size_t n = strlen(root);

	return n > 1 && root[n - 1] == '/' ? n - 1 : n;
}

int skl_state_check_root_syntax(const char *root, struct skl_err *err)
{
	char shown[SKL_SHOWN_BYTES * 4 + 8];

	if (!root || !root[0])
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot is empty: use an absolute path such as %s",
				SKL_DEFAULT_BPFFS_ROOT);
	skl_state_quote(root, shown, sizeof(shown));
	if (root[0] != '/')
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is not an absolute path: use one such as %s", shown,
				SKL_DEFAULT_BPFFS_ROOT);
	if (skl_state_root_length(root) == 1)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is the root directory: use a directory below a "
				"bpffs mount such as %s", shown, SKL_DEFAULT_BPFFS_ROOT);
	if (strstr(root, "//") || strstr(root, "/./") || strstr(root, "/../") ||
	    ends_with(root, "/.") || ends_with(root, "/.."))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is not normalised: write it without \"//\", "
				"\"/./\" and \"/../\" and not ending in \"/.\" or \"/..\"",
				shown);
	return 0;
}

/* ---- building paths ---- */

static void encode_dots(char *s)
{
	for (; *s; s++)
		if (*s == '.')
			*s = SKL_BPFFS_DOT;
}

int skl_state_path(char *out, size_t len, const char *root, const char *network,
		   const char *container, const char *ifname, struct skl_err *err)
{
	size_t root_len;
	int n;

	if (skl_state_check_root_syntax(root, err) < 0 ||
	    check_component(SKL_CNI_INVALID_CONFIG, "network name", network, SKL_NAME_MAX,
			    err) < 0 ||
	    check_component(SKL_CNI_INVALID_ENV, "CNI_CONTAINERID", container, SKL_NAME_MAX,
			    err) < 0 ||
	    check_component(SKL_CNI_INVALID_ENV, "CNI_IFNAME", ifname, SKL_IFNAME_MAX, err) < 0)
		return -1;
	root_len = skl_state_root_length(root);
	n = snprintf(out, len, "%.*s/%s/%s/%s", (int)root_len, root, network, container,
		     ifname);
	if (n < 0 || (size_t)n >= len)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"the state directory under bpffsRoot \"%.*s\" would be %d bytes "
				"long, more than the %zu available: use a shorter bpffsRoot",
				(int)root_len, root, n, len ? len - 1 : 0);
	encode_dots(out + root_len);
	return 0;
}

int skl_state_parent(const char *path, char *out, size_t len, struct skl_err *err)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return skl_errf(err, SKL_CNI_INTERNAL, "%s is not an absolute path", path);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return skl_errf(err, SKL_CNI_INTERNAL, "path %s is too long", path);
	memmove(out, path, n); /* out may be path itself */
	out[n] = '\0';
	return 0;
}

const char *skl_state_last_component(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}


bool skl_state_name_hidden(const char *name)
{
	return name[0] == '.' || name[0] == SKL_BPFFS_DOT;
}

int skl_state_open_dir_nofollow(const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };

	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

int skl_state_mkdir_error(const char *path, int errnum, struct skl_err *err)
{
	const char *hint = "";

	if (errnum == EPERM && strchr(skl_state_last_component(path), '.'))
		hint = " (bpffs refuses names that contain '.')";
	return skl_errf(err, SKL_CNI_INTERNAL, "cannot create directory %s: %s%s", path,
			strerror(errnum), hint);
}
