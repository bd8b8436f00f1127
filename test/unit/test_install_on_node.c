/*
 * scripts/install-on-node.sh (what the DaemonSet runs on every node), run
 * against temporary directories: the sklookup entry goes into the
 * lexically first config file only; running it twice gives the same file
 * and the second run writes nothing; an existing sklookup entry is replaced
 * in place, never duplicated; a single .conf becomes a .conflist; files and
 * binaries are replaced by rename (a new inode, no temporary file left, the
 * mode kept); bad input changes nothing; uninstall undoes it. Run from the
 * repository root; needs bash and jq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define SCRIPT "scripts/install-on-node.sh"
#define ENTRY "{\"type\": \"sklookup\", \"bindings\": [{\"label\": \"web\", \"protocol\": \"tcp\"," \
	      " \"prefix\": \"pod\", \"ports\": [\"8080\"]}]}"

struct dirs {
	char top[64], conf[96], bin[96], src[96];
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->top, sizeof(d->top), "/tmp/sklt-install-XXXXXX");
	assert_non_null(mkdtemp(d->top));
	snprintf(d->conf, sizeof(d->conf), "%s/net.d", d->top);
	snprintf(d->bin, sizeof(d->bin), "%s/bin", d->top);
	snprintf(d->src, sizeof(d->src), "%s/src", d->top);
	assert_int_equal(run("mkdir %s %s %s", d->conf, d->bin, d->src), 0);
	/* Stand-ins for the static binaries: the script asks the plugin for
	 * its VERSION. */
	write_file(d->src, "sklookup", "#!/bin/sh\necho '{\"cniVersion\": \"1.1.0\"}'\n");
	write_file(d->src, "sklookup-ctl", "#!/bin/sh\necho sklookup-ctl\n");
	assert_int_equal(run("chmod 755 %s/sklookup %s/sklookup-ctl", d->src, d->src), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;

	run("rm -rf %s", d->top);
	free(d);
	return 0;
}

/* Runs the script with the test's directories; returns its exit status. */
static int install(const struct dirs *d, const char *steps, const char *entry)
{
	return run("CNI_CONF_DIR=%s CNI_BIN_DIR=%s SKLOOKUP_BIN_SRC=%s SKLOOKUP_ENTRY='%s'"
		   " SKLOOKUP_WAIT_SECONDS=0 " SCRIPT " %s > %s/log 2>&1 || { cat %s/log; exit 1; }",
		   d->conf, d->bin, d->src, entry, steps, d->top, d->top);
}

static ino_t inode(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static mode_t mode(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* jq -e FILTER on dir/name. */
static int jq(const char *dir, const char *name, const char *filter)
{
	return run("jq -e '%s' %s/%s > /dev/null", filter, dir, name);
}

static const char bridge[] =
	"{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
	" {\"type\": \"bridge\", \"bridge\": \"cni0\", \"ipam\": {\"type\": \"host-local\","
	"  \"subnet\": \"198.51.100.0/24\"}},"
	" {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}]}\n";

/* Only the first file in byte order is changed: "10-..." sorts before
 * "9-..." (libcni sorts strings, not versions); hidden files and other
 * extensions are not config files. */
static void lexically_first_file_only(void **state)
{
	struct dirs *d = *state;

	write_file(d->conf, "9-other.conflist", bridge);
	write_file(d->conf, "10-net.conflist", bridge);
	write_file(d->conf, ".05-hidden.conflist", bridge);
	write_file(d->conf, "01-notes.txt", "not a config\n");
	assert_int_equal(run("cp -a %s %s/orig", d->conf, d->top), 0);
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    "[.plugins[].type] == [\"bridge\", \"portmap\", \"sklookup\"]"),
			 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    ".plugins[2] == {\"type\": \"sklookup\", \"bindings\": [{\"label\": \"web\","
			    " \"protocol\": \"tcp\", \"prefix\": \"pod\", \"ports\": [\"8080\"]}]}"),
			 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    ".cniVersion == \"1.0.0\" and .name == \"pods\""),
			 0);
	for (const char *const *f = (const char *const[]){ "9-other.conflist",
							    ".05-hidden.conflist", "01-notes.txt",
							    NULL };
	     *f; f++)
		assert_int_equal(run("cmp -s %s/orig/%s %s/%s", d->top, *f, d->conf, *f), 0);
}

/* Twice gives the same file, and the second run does not write it. */
static void idempotent(void **state)
{
	struct dirs *d = *state;
	ino_t first;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("cp %s/10-net.conflist %s/once", d->conf, d->top), 0);
	first = inode(d->conf, "10-net.conflist");
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("cmp -s %s/once %s/10-net.conflist", d->top, d->conf), 0);
	assert_int_equal(inode(d->conf, "10-net.conflist"), first);
	assert_int_equal(run("grep -q 'already has the sklookup entry' %s/log", d->top), 0);
}

/* An existing entry (here twice, with old settings) is replaced in place. */
static void existing_entry_replaced_not_duplicated(void **state)
{
	struct dirs *d = *state;

	write_file(d->conf, "10-net.conflist",
		   "{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
		   " {\"type\": \"bridge\", \"bridge\": \"cni0\"},"
		   " {\"type\": \"sklookup\", \"bindings\": []},"
		   " {\"type\": \"portmap\"},"
		   " {\"type\": \"sklookup\", \"routes\": {\"host\": true}}]}\n");
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    "[.plugins[].type] == [\"bridge\", \"sklookup\", \"portmap\"]"),
			 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    ".plugins[1].bindings[0].label == \"web\" and"
			    " (.plugins[1] | has(\"routes\") | not)"),
			 0);
}

/* Written to a temporary file and renamed: a new inode, the old mode, no
 * temporary file left; bad input leaves the file as it was. */
static void atomic_and_safe(void **state)
{
	struct dirs *d = *state;
	ino_t before;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(run("chmod 640 %s/10-net.conflist && cp -a %s/10-net.conflist %s/orig",
			     d->conf, d->conf, d->top),
			 0);
	before = inode(d->conf, "10-net.conflist");
	/* Refused: not a sklookup entry; then a broken conflist. */
	assert_int_not_equal(install(d, "config", "{\"type\": \"bridge\"}"), 0);
	assert_int_equal(run("cmp -s %s/orig %s/10-net.conflist", d->top, d->conf), 0);
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_not_equal(inode(d->conf, "10-net.conflist"), before);
	assert_int_equal(mode(d->conf, "10-net.conflist"), 0640);
	assert_int_equal(run("[ \"$(ls -A %s)\" = 10-net.conflist ]", d->conf), 0);

	write_file(d->conf, "05-broken.conflist", "{\"plugins\": [");
	assert_int_not_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("[ \"$(cat %s/05-broken.conflist)\" = '{\"plugins\": [' ]", d->conf),
			 0);
	assert_int_equal(run("[ \"$(ls -A %s | wc -l)\" = 2 ]", d->conf), 0);
}

/* A single-plugin .conf becomes a .conflist of the same name, which is then
 * the first file; the original is kept hidden; a second run changes
 * nothing. */
static void conf_converted_to_conflist(void **state)
{
	struct dirs *d = *state;
	static const char conf[] = "{\"cniVersion\": \"0.4.0\", \"name\": \"net\", \"type\": "
				   "\"bridge\", \"bridge\": \"cni0\"}\n";

	write_file(d->conf, "10-net.conf", conf);
	write_file(d->conf, "20-other.conflist", bridge);
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("[ ! -e %s/10-net.conf ]", d->conf), 0);
	assert_int_equal(jq(d->conf, "10-net.conflist",
			    ".cniVersion == \"0.4.0\" and .name == \"net\" and .plugins =="
			    " [{\"type\": \"bridge\", \"bridge\": \"cni0\"}, {\"type\": \"sklookup\","
			    " \"bindings\": [{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\":"
			    " \"pod\", \"ports\": [\"8080\"]}]}]"),
			 0);
	assert_int_equal(run("[ \"$(cat %s/.10-net.conf.sklookup-orig)\" = '%.*s' ]", d->conf,
			     (int)strlen(conf) - 1, conf),
			 0);
	assert_int_equal(run("cp %s/10-net.conflist %s/once", d->conf, d->top), 0);
	assert_int_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("cmp -s %s/once %s/10-net.conflist", d->top, d->conf), 0);
	assert_int_equal(jq(d->conf, "20-other.conflist", "[.plugins[].type] == [\"bridge\", \"portmap\"]"),
			 0);
}

/* No config file: a clear error, nothing written. */
static void no_config_is_an_error(void **state)
{
	struct dirs *d = *state;

	assert_int_not_equal(install(d, "config", ENTRY), 0);
	assert_int_equal(run("grep -q 'no CNI config' %s/log", d->top), 0);
	assert_int_equal(run("[ -z \"$(ls -A %s)\" ]", d->conf), 0);
}

/* Binaries: copied by rename, 0755, left alone when identical, replaced
 * (a new inode) when changed, no temporary file left. */
static void binaries_by_rename(void **state)
{
	struct dirs *d = *state;
	ino_t first;

	assert_int_equal(install(d, "binaries", ENTRY), 0);
	assert_int_equal(run("cmp -s %s/sklookup %s/sklookup && cmp -s %s/sklookup-ctl"
			     " %s/sklookup-ctl",
			     d->src, d->bin, d->src, d->bin),
			 0);
	assert_int_equal(mode(d->bin, "sklookup"), 0755);
	first = inode(d->bin, "sklookup");
	assert_int_equal(install(d, "binaries", ENTRY), 0);
	assert_int_equal(inode(d->bin, "sklookup"), first);
	assert_int_equal(run("echo '# new' >> %s/sklookup", d->src), 0);
	assert_int_equal(install(d, "binaries", ENTRY), 0);
	assert_int_not_equal(inode(d->bin, "sklookup"), first);
	assert_int_equal(run("cmp -s %s/sklookup %s/sklookup", d->src, d->bin), 0);
	assert_int_equal(run("[ \"$(ls -A %s | tr '\\n' ' ')\" = 'sklookup sklookup-ctl ' ]", d->bin),
			 0);
}

/* uninstall removes the entry (only) and the binaries. */
static void uninstall_undoes_it(void **state)
{
	struct dirs *d = *state;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(install(d, "binaries config", ENTRY), 0);
	assert_int_equal(install(d, "uninstall", ENTRY), 0);
	assert_int_equal(jq(d->conf, "10-net.conflist", "[.plugins[].type] == [\"bridge\", \"portmap\"]"),
			 0);
	assert_int_equal(run("[ -z \"$(ls -A %s)\" ]", d->bin), 0);
}

/* bpffs step: mounts bpffs where there is none (root's alone: mode 0700,
 * to which bpffs adds the sticky bit), in a private mount namespace that
 * takes the mount with it. Needs root. */
static void bpffs_mounted_when_missing(void **state)
{
	struct dirs *d = *state;

	if (geteuid() != 0) {
		print_message("bpffs step not checked: needs root (mount)\n");
		skip();
	}
	assert_int_equal(run("unshare --mount --propagation private sh -c 'BPFFS_DIR=%s/bpf " SCRIPT
			     " bpffs > %s/log && [ \"$(stat -f -c %%T %s/bpf)\" = bpf_fs ] &&"
			     " [ \"$(stat -c %%a %s/bpf)\" = 1700 ] &&"
			     " BPFFS_DIR=%s/bpf " SCRIPT " bpffs | grep -q \"is mounted\"'",
			     d->top, d->top, d->top, d->top, d->top),
			 0);
	assert_int_equal(run("grep -q mounted %s/log", d->top), 0);
	assert_int_not_equal(run("grep -q ' %s/bpf ' /proc/self/mounts", d->top), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lexically_first_file_only, setup, teardown),
		cmocka_unit_test_setup_teardown(idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(existing_entry_replaced_not_duplicated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(atomic_and_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(conf_converted_to_conflist, setup, teardown),
		cmocka_unit_test_setup_teardown(no_config_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(binaries_by_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(uninstall_undoes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(bpffs_mounted_when_missing, setup, teardown),
	};

	return cmocka_run_group_tests_name("install-on-node.sh", tests, NULL, NULL);
}
