/* Unit tests of the pure parts of the state module (state_paths.c): component
 * checks, path building, parents and hidden names. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "skl_asserts.h"

#include "state.h"

#define ROOT "/sys/fs/bpf/sklookup"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A rejected value: -1, the code, and a message naming what and showing the value. */
static void assert_rejected(int rc, const struct skl_err *err, int code, const char *what,
			    const char *shown)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, code);
	assert_msg_contains(err, what);
	assert_msg_contains(err, shown);
}

static void expect_component_rejected(const char *value, size_t max, const char *shown,
				      const char *why)
{
	struct skl_err err = {0};
	int rc = skl_state_check_component("CNI_IFNAME", value, max, &err);

	assert_rejected(rc, &err, SKL_CNI_INVALID_ENV, "CNI_IFNAME", shown);
	assert_msg_contains(&err, why);
	assert_msg_contains(&err, "A-Z a-z 0-9 _ . -"); /* says what is allowed */
}

static void expect_component_accepted(const char *value, size_t max)
{
	struct skl_err err = {0};

	if (skl_state_check_component("CNI_CONTAINERID", value, max, &err) != 0)
		fail_msg("<%s> was refused: %s", value, err.msg);
}

static void test_component_accepts_valid_names(void **state)
{
	(void)state;
	expect_component_accepted("eth0", 15);
	expect_component_accepted("net1", 15);
	expect_component_accepted("a", 1);
	expect_component_accepted("A-b_c.d", 15);
	expect_component_accepted("eth0.100", 15);
	expect_component_accepted("x..y", 15);
	expect_component_accepted("123456789012345", 15); /* exactly max */
}

static void test_component_accepts_64_hex_container_id(void **state)
{
	(void)state;
	expect_component_accepted(HEX64, 255);
	expect_component_accepted(HEX64, 64);
}

static void test_component_rejects_empty(void **state)
{
	(void)state;
	expect_component_rejected("", 15, "\"\"", "empty");
}

static void test_component_rejects_too_long(void **state)
{
	(void)state;
	expect_component_rejected("1234567890123456", 15, "\"1234567890123456\"",
				  "16 characters long");
	expect_component_rejected(HEX64, 63, "\"" HEX64 "\"", "1-63 characters");
}

static void test_component_shortens_very_long_values(void **state)
{
	char value[301];
	struct skl_err err = {0};

	(void)state;
	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	assert_rejected(skl_state_check_component("CNI_CONTAINERID", value, 255, &err), &err,
			SKL_CNI_INVALID_ENV, "CNI_CONTAINERID", "\"aaaaaaaaaaaaaaaa");
	assert_msg_contains(&err, "...\"");
	assert_msg_contains(&err, "300 characters long");
	assert_msg_contains(&err, "must be 1-255 characters");
}

static void test_component_rejects_dot_and_dotdot(void **state)
{
	(void)state;
	expect_component_rejected(".", 15, "\".\"", "starts with '.'");
	expect_component_rejected("..", 15, "\"..\"", "starts with '.'");
}

static void test_component_rejects_leading_dot(void **state)
{
	(void)state;
	expect_component_rejected(".tmp-eth0-abcdef", 255, "\".tmp-eth0-abcdef\"",
				  "starts with '.'");
	expect_component_rejected(".hidden", 15, "\".hidden\"", "starts with '.'");
}

static void test_component_rejects_slash(void **state)
{
	(void)state;
	expect_component_rejected("a/b", 15, "\"a/b\"", "contains '/' at character 2");
	expect_component_rejected("../x", 15, "\"../x\"", "starts with '.'");
	expect_component_rejected("x/..", 15, "\"x/..\"", "contains '/' at character 2");
	expect_component_rejected("/", 15, "\"/\"", "contains '/' at character 1");
}

static void test_component_rejects_space(void **state)
{
	(void)state;
	expect_component_rejected("eth 0", 15, "\"eth 0\"", "contains a space at character 4");
	expect_component_rejected(" ", 15, "\" \"", "contains a space at character 1");
}

static void test_component_rejects_weird_bytes(void **state)
{
	(void)state;
	expect_component_rejected("a\x01" "b", 15, "\"a\\x01b\"", "byte 0x01 at character 2");
	expect_component_rejected("tab\t", 15, "\"tab\\x09\"", "byte 0x09 at character 4");
	expect_component_rejected("\xff\xfe", 15, "\"\\xff\\xfe\"", "byte 0xff at character 1");
	expect_component_rejected("q\"uote", 15, "\"q\\x22uote\"", "'\"' at character 2");
	expect_component_rejected("back\\", 15, "\"back\\x5c\"", "'\\' at character 5");
	expect_component_rejected("a:b", 15, "\"a:b\"", "':' at character 2");
	expect_component_rejected("a*", 15, "\"a*\"", "'*' at character 2");
}

static void test_component_rejects_null(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_check_component("CNI_IFNAME", NULL, 15, &err), -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_ENV);
	assert_msg_contains(&err, "CNI_IFNAME is not set");
}

static void test_component_accepts_null_err(void **state)
{
	(void)state;
	assert_int_equal(skl_state_check_component("CNI_IFNAME", "a/b", 15, NULL), -1);
	assert_int_equal(skl_state_check_component("CNI_IFNAME", "eth0", 15, NULL), 0);
}

static void test_path_builds_the_four_levels(void **state)
{
	char path[256];
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_path(path, sizeof(path), ROOT, "podnet", HEX64, "eth0", &err),
			 0);
	assert_string_equal(path, ROOT "/podnet/" HEX64 "/eth0");
}

static void test_path_accepts_one_trailing_slash_on_root(void **state)
{
	char path[256];
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_path(path, sizeof(path), ROOT "/", "n", "c", "eth0", &err), 0);
	assert_string_equal(path, ROOT "/n/c/eth0");
}

static void test_path_stores_dots_as_colons(void **state)
{
	char path[256];
	struct skl_err err = {0};

	(void)state;
	/* bpffs refuses names containing '.'; the root is left as it is. */
	assert_int_equal(skl_state_path(path, sizeof(path), "/run/a.b/bpf", "my.net", "c.1",
					"eth0.100", &err),
			 0);
	assert_string_equal(path, "/run/a.b/bpf/my:net/c:1/eth0:100");
}

static void expect_root_rejected(const char *root, const char *shown)
{
	char path[256] = "untouched";
	struct skl_err err = {0};
	int rc = skl_state_path(path, sizeof(path), root, "n", "c", "eth0", &err);

	assert_rejected(rc, &err, SKL_CNI_INVALID_CONFIG, "bpffsRoot", shown);
}

static void test_path_rejects_relative_root(void **state)
{
	(void)state;
	expect_root_rejected("sys/fs/bpf", "\"sys/fs/bpf\"");
	expect_root_rejected("./sklookup", "\"./sklookup\"");
	expect_root_rejected("../sklookup", "\"../sklookup\"");
}

static void test_path_rejects_empty_and_slash_root(void **state)
{
	struct skl_err err = {0};
	char path[64];

	(void)state;
	assert_int_equal(skl_state_path(path, sizeof(path), "", "n", "c", "eth0", &err), -1);
	assert_msg_contains(&err, "bpffsRoot is empty");
	assert_int_equal(skl_state_path(path, sizeof(path), NULL, "n", "c", "eth0", &err), -1);
	assert_msg_contains(&err, "bpffsRoot is empty");
	expect_root_rejected("/", "\"/\"");
}

static void test_path_rejects_unnormalised_root(void **state)
{
	(void)state;
	expect_root_rejected("/sys/fs//bpf", "\"/sys/fs//bpf\"");
	expect_root_rejected("/sys/fs/bpf//", "\"/sys/fs/bpf//\"");
	expect_root_rejected("/sys/fs/./bpf", "\"/sys/fs/./bpf\"");
	expect_root_rejected("/sys/fs/bpf/../etc", "\"/sys/fs/bpf/../etc\"");
	expect_root_rejected("/sys/fs/bpf/..", "\"/sys/fs/bpf/..\"");
	expect_root_rejected("/sys/fs/bpf/.", "\"/sys/fs/bpf/.\"");
}

static void test_path_accepts_dots_inside_root_names(void **state)
{
	char path[256];
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_path(path, sizeof(path), "/x/..y/z..", "n", "c", "eth0", &err),
			 0);
	assert_string_equal(path, "/x/..y/z../n/c/eth0");
}

static void expect_parts_rejected(const char *network, const char *container,
				  const char *ifname, int code, const char *what,
				  const char *shown)
{
	char path[256];
	struct skl_err err = {0};
	int rc = skl_state_path(path, sizeof(path), ROOT, network, container, ifname, &err);

	assert_rejected(rc, &err, code, what, shown);
}

static void test_path_rejects_bad_network(void **state)
{
	(void)state;
	expect_parts_rejected("a/b", "c", "eth0", SKL_CNI_INVALID_CONFIG, "network name",
			      "\"a/b\"");
	expect_parts_rejected("..", "c", "eth0", SKL_CNI_INVALID_CONFIG, "network name",
			      "\"..\"");
	expect_parts_rejected("", "c", "eth0", SKL_CNI_INVALID_CONFIG, "network name", "\"\"");
}

static void test_path_rejects_bad_container(void **state)
{
	(void)state;
	expect_parts_rejected("n", "../x", "eth0", SKL_CNI_INVALID_ENV, "CNI_CONTAINERID",
			      "\"../x\"");
	expect_parts_rejected("n", ".", "eth0", SKL_CNI_INVALID_ENV, "CNI_CONTAINERID",
			      "\".\"");
	expect_parts_rejected("n", "c d", "eth0", SKL_CNI_INVALID_ENV, "CNI_CONTAINERID",
			      "\"c d\"");
	expect_parts_rejected("n", NULL, "eth0", SKL_CNI_INVALID_ENV, "CNI_CONTAINERID",
			      "is not set");
}

static void test_path_rejects_bad_ifname(void **state)
{
	(void)state;
	expect_parts_rejected("n", "c", "eth0/..", SKL_CNI_INVALID_ENV, "CNI_IFNAME",
			      "\"eth0/..\"");
	expect_parts_rejected("n", "c", "0123456789abcdef", SKL_CNI_INVALID_ENV, "CNI_IFNAME",
			      "\"0123456789abcdef\"");
	expect_parts_rejected("n", "c", "..", SKL_CNI_INVALID_ENV, "CNI_IFNAME", "\"..\"");
}

static void test_path_fits_exactly(void **state)
{
	const char *want = ROOT "/n/c/eth0";
	char path[sizeof(ROOT "/n/c/eth0")];
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_path(path, sizeof(path), ROOT, "n", "c", "eth0", &err), 0);
	assert_string_equal(path, want);
}

static void test_path_refuses_overflow(void **state)
{
	char path[sizeof(ROOT "/n/c/eth0") - 1];
	struct skl_err err = {0};
	int rc;

	(void)state;
	rc = skl_state_path(path, sizeof(path), ROOT, "n", "c", "eth0", &err);
	assert_rejected(rc, &err, SKL_CNI_INVALID_CONFIG, "bpffsRoot", "\"" ROOT "\"");
	assert_msg_contains(&err, "would be 29 bytes long");
	assert_int_equal(skl_state_path(path, 0, ROOT, "n", "c", "eth0", &err), -1);
}

static void test_parent_cuts_the_last_component(void **state)
{
	char out[PATH_MAX], small[4];
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_state_parent(ROOT "/n/c/eth0", out, sizeof(out), &err), 0);
	assert_string_equal(out, ROOT "/n/c");
	/* In place, twice: the network directory. */
	assert_int_equal(skl_state_parent(out, out, sizeof(out), &err), 0);
	assert_int_equal(skl_state_parent(out, out, sizeof(out), &err), 0);
	assert_string_equal(out, ROOT);
	assert_int_equal(skl_state_parent("/x", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/");
	assert_int_equal(skl_state_parent("eth0", out, sizeof(out), &err), -1);
	assert_msg_contains(&err, "eth0 is not an absolute path");
	assert_int_equal(skl_state_parent("/abcd/e", small, sizeof(small), &err), -1);
	assert_msg_contains(&err, "path /abcd/e is too long");
	assert_int_equal(skl_state_parent("/ab/e", small, sizeof(small), NULL), 0);
	assert_string_equal(small, "/ab");
}

static void test_last_component(void **state)
{
	(void)state;
	assert_string_equal(skl_state_last_component(ROOT "/n/c/eth0"), "eth0");
	assert_string_equal(skl_state_last_component("/x"), "x");
	assert_string_equal(skl_state_last_component("eth0"), "eth0");
	assert_string_equal(skl_state_last_component("/n/"), "");
}

/* Names no network, container or interface can have: what skl_state_path
 * never makes. */
static void test_hidden_names(void **state)
{
	char path[PATH_MAX];
	struct skl_err err = {0};

	(void)state;
	assert_true(skl_state_name_hidden("."));
	assert_true(skl_state_name_hidden(".."));
	assert_true(skl_state_name_hidden(".hidden"));
	assert_true(skl_state_name_hidden(SKL_STATE_TMP_PREFIX "eth0-abcdef"));
	assert_true(skl_state_name_hidden(":spare"));
	assert_false(skl_state_name_hidden("eth0"));
	assert_false(skl_state_name_hidden("a:b"));
	assert_false(skl_state_name_hidden(HEX64));
	assert_int_equal(skl_state_path(path, sizeof(path), ROOT, "a.n", "c.1", "e.0", &err), 0);
	for (char *name = path + strlen(ROOT) + 1; name; name = strchr(name, '/')) {
		name += *name == '/';
		assert_false(skl_state_name_hidden(name));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_component_accepts_valid_names),
		cmocka_unit_test(test_component_accepts_64_hex_container_id),
		cmocka_unit_test(test_component_rejects_empty),
		cmocka_unit_test(test_component_rejects_too_long),
		cmocka_unit_test(test_component_shortens_very_long_values),
		cmocka_unit_test(test_component_rejects_dot_and_dotdot),
		cmocka_unit_test(test_component_rejects_leading_dot),
		cmocka_unit_test(test_component_rejects_slash),
		cmocka_unit_test(test_component_rejects_space),
		cmocka_unit_test(test_component_rejects_weird_bytes),
		cmocka_unit_test(test_component_rejects_null),
		cmocka_unit_test(test_component_accepts_null_err),
		cmocka_unit_test(test_path_builds_the_four_levels),
		cmocka_unit_test(test_path_accepts_one_trailing_slash_on_root),
		cmocka_unit_test(test_path_stores_dots_as_colons),
		cmocka_unit_test(test_path_rejects_relative_root),
		cmocka_unit_test(test_path_rejects_empty_and_slash_root),
		cmocka_unit_test(test_path_rejects_unnormalised_root),
		cmocka_unit_test(test_path_accepts_dots_inside_root_names),
		cmocka_unit_test(test_path_rejects_bad_network),
		cmocka_unit_test(test_path_rejects_bad_container),
		cmocka_unit_test(test_path_rejects_bad_ifname),
		cmocka_unit_test(test_path_fits_exactly),
		cmocka_unit_test(test_path_refuses_overflow),
		cmocka_unit_test(test_parent_cuts_the_last_component),
		cmocka_unit_test(test_last_component),
		cmocka_unit_test(test_hidden_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
