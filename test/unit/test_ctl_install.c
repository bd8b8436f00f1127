/*
 * sklookup-ctl install and uninstall (what the DaemonSet runs on every
 * node), run in-process against temporary directories, plus the built
 * binary for what only a real process shows (its own directory as --from,
 * --watch and SIGTERM): the sklookup entry goes into the lexically first
 * config file only, as libcni lists them; running it twice gives the same
 * file and the second run writes nothing; an existing sklookup entry is
 * replaced in place, never duplicated; a single .conf becomes a .conflist;
 * files and binaries are replaced by rename (a new inode, no temporary
 * file left, the mode kept); bad or odd input (broken JSON, a symbolic
 * link, a read-only or missing directory) changes nothing and the error
 * names the path; uninstall undoes what install did and nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "ctl.h"
#include "install.h"
#include "testbin.h"

#define ENTRY "{\"type\": \"sklookup\", \"bindings\": [{\"label\": \"web\", \"protocol\": \"tcp\"," \
	      " \"prefix\": \"pod\", \"ports\": [\"8080\"]}]}"

struct dirs {
	char top[64], conf[96], bin[96], src[96], log[96];
	pid_t child; /* a process the test started, killed by teardown if left */
};

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

/* The whole file, NUL-terminated (the caller frees it); NULL if missing. */
static char *slurp(const char *dir, const char *name)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->top, sizeof(d->top), "/tmp/sklt-install-%d-XXXXXX", (int)getpid());
	assert_non_null(mkdtemp(d->top));
	snprintf(d->conf, sizeof(d->conf), "%s/net.d", d->top);
	snprintf(d->bin, sizeof(d->bin), "%s/bin", d->top);
	snprintf(d->src, sizeof(d->src), "%s/src", d->top);
	snprintf(d->log, sizeof(d->log), "%s/log", d->top);
	assert_int_equal(mkdir(d->conf, 0755), 0);
	assert_int_equal(mkdir(d->bin, 0755), 0);
	assert_int_equal(mkdir(d->src, 0755), 0);
	/* Stand-ins for the static binaries: install asks the plugin for its
	 * VERSION. */
	write_file(d->src, "sklookup", "#!/bin/sh\necho '{\"cniVersion\": \"1.1.0\"}'\n");
	write_file(d->src, "sklookup-ctl", "#!/bin/sh\necho sklookup-ctl\n");
	assert_int_equal(run("chmod 755 %s/sklookup %s/sklookup-ctl", d->src, d->src), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;

	if (d->child > 0) {
		kill(d->child, SIGKILL);
		waitpid(d->child, NULL, 0);
	}
	run("rm -rf %s", d->top);
	free(d);
	return 0;
}

/* Runs sklookup-ctl COMMAND ARGS... (NULL-terminated) in this process with
 * the test's directories, its output in d->log; returns the exit status. */
static int ctl(const struct dirs *d, const char *command, ...)
{
	char *argv[32];
	int argc = 0, out_fd, err_fd, log_fd, ret;
	struct skl_ctl c = { .netns_fd = -1 };
	struct skl_err err = { 0 };
	const struct skl_ctl_command *cmd =
		!strcmp(command, "install") ? &skl_ctl_install_cmd : &skl_ctl_uninstall_cmd;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)command;
	argv[argc++] = "--cni-conf-dir";
	argv[argc++] = (char *)d->conf;
	argv[argc++] = "--cni-bin-dir";
	argv[argc++] = (char *)d->bin;
	if (cmd == &skl_ctl_install_cmd) {
		argv[argc++] = "--from";
		argv[argc++] = (char *)d->src;
	}
	va_start(ap, command);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	log_fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(log_fd >= 0);
	out_fd = dup(1);
	err_fd = dup(2);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	ret = cmd->run(&c, argc, argv, &err);
	if (ret < 0)
		fprintf(stderr, "sklookup-ctl: %s\n", err.msg);
	fflush(stdout);
	fflush(stderr);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	close(out_fd);
	close(err_fd);
	close(log_fd);
	ret = skl_ctl_exit_status(&c, ret);
	if (ret) {
		char *log = slurp(d->top, "log");

		print_message("sklookup-ctl %s: exit %d: %s", command, ret, log ? log : "");
		free(log);
	}
	return ret;
}

static bool log_has(const struct dirs *d, const char *text)
{
	char *log = slurp(d->top, "log");
	bool has = log && strstr(log, text);

	if (!has)
		print_message("log lacks \"%s\": %s\n", text, log ? log : "(none)");
	free(log);
	return has;
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

static bool exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* dir/name parses to the same JSON as want (key order aside). */
static void assert_json(const char *dir, const char *name, const char *want)
{
	char *text = slurp(dir, name);
	cJSON *got = text ? cJSON_Parse(text) : NULL, *w = cJSON_Parse(want);

	assert_non_null(w);
	if (!got || !cJSON_Compare(got, w, true))
		fail_msg("%s/%s is\n%s\nwant %s", dir, name, text ? text : "(missing)", want);
	cJSON_Delete(got);
	cJSON_Delete(w);
	free(text);
}

/* The names in dir, sorted, space-separated ("" when empty). */
static void listing(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t len = 0;

	assert_true(n >= 0);
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "",
						names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void assert_listing(const char *dir, const char *want)
{
	char got[1024];

	listing(dir, got, sizeof(got));
	assert_string_equal(got, want);
}

static const char bridge[] =
	"{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
	" {\"type\": \"bridge\", \"bridge\": \"cni0\", \"ipam\": {\"type\": \"host-local\","
	"  \"subnet\": \"198.51.100.0/24\"}},"
	" {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}]}\n";

static const char bridge_with_entry[] =
	"{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
	" {\"type\": \"bridge\", \"bridge\": \"cni0\", \"ipam\": {\"type\": \"host-local\","
	"  \"subnet\": \"198.51.100.0/24\"}},"
	" {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}, " ENTRY "]}";

/* Only the first file in byte order is changed: "10-..." sorts before
 * "9-..." (libcni sorts strings, not versions); other extensions and
 * directories are not config files. */
static void lexically_first_file_only(void **state)
{
	struct dirs *d = *state;
	char dir[128];

	write_file(d->conf, "9-other.conflist", bridge);
	write_file(d->conf, "10-net.conflist", bridge);
	write_file(d->conf, "01-notes.txt", "not a config\n");
	snprintf(dir, sizeof(dir), "%s/05-dir.conflist", d->conf);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(run("cp -a %s %s/orig", d->conf, d->top), 0);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_json(d->conf, "10-net.conflist", bridge_with_entry);
	for (const char *const *f = (const char *const[]){ "9-other.conflist", "01-notes.txt",
							    NULL };
	     *f; f++)
		assert_int_equal(run("cmp -s %s/orig/%s %s/%s", d->top, *f, d->conf, *f), 0);
	assert_listing(d->conf, "01-notes.txt 05-dir.conflist 10-net.conflist 9-other.conflist");
}

/* A hidden config file is read by libcni (and so by containerd) like any
 * other, and it sorts first: the entry goes there. */
static void hidden_config_file_counts(void **state)
{
	struct dirs *d = *state;

	write_file(d->conf, "10-net.conflist", bridge);
	write_file(d->conf, ".05-hidden.conflist", bridge);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_json(d->conf, ".05-hidden.conflist", bridge_with_entry);
	assert_json(d->conf, "10-net.conflist", bridge);
}

/* Twice gives the same file, and the second run does not write it. */
static void idempotent(void **state)
{
	struct dirs *d = *state;
	char *once, *twice;
	ino_t first;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	once = slurp(d->conf, "10-net.conflist");
	first = inode(d->conf, "10-net.conflist");
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	twice = slurp(d->conf, "10-net.conflist");
	assert_string_equal(once, twice);
	assert_int_equal(inode(d->conf, "10-net.conflist"), first);
	assert_true(log_has(d, "already has the sklookup entry"));
	free(once);
	free(twice);
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
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_json(d->conf, "10-net.conflist",
		    "{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
		    " {\"type\": \"bridge\", \"bridge\": \"cni0\"}, " ENTRY ", {\"type\": \"portmap\"}]}");
}

/* A sklookup entry already first, with other settings: replaced there;
 * then one equal but for key order: not written (same inode). */
static void entry_with_other_settings(void **state)
{
	struct dirs *d = *state;
	ino_t first;

	write_file(d->conf, "10-net.conflist",
		   "{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": ["
		   " {\"type\": \"sklookup\", \"annotations\": {\"allow\": false}, \"x\": 1},"
		   " {\"type\": \"bridge\"}]}");
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_json(d->conf, "10-net.conflist",
		    "{\"cniVersion\": \"1.0.0\", \"name\": \"pods\", \"plugins\": [" ENTRY ","
		    " {\"type\": \"bridge\"}]}");
	first = inode(d->conf, "10-net.conflist");
	assert_int_equal(ctl(d, "install", "--entry",
			     "{\"bindings\": [{\"ports\": [\"8080\"], \"prefix\": \"pod\", \"protocol\":"
			     " \"tcp\", \"label\": \"web\"}], \"type\": \"sklookup\"}",
			     "config", NULL),
			 0);
	assert_int_equal(inode(d->conf, "10-net.conflist"), first);
	assert_true(log_has(d, "already has the sklookup entry"));
}

/* Written to a temporary file and renamed: a new inode, the old mode, no
 * temporary file left; bad input leaves the file as it was. */
static void atomic_and_safe(void **state)
{
	struct dirs *d = *state;
	char *broken;
	ino_t before;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(run("chmod 640 %s/10-net.conflist && cp -a %s/10-net.conflist %s/orig",
			     d->conf, d->conf, d->top),
			 0);
	before = inode(d->conf, "10-net.conflist");
	/* Refused: not a sklookup entry; then a broken conflist. */
	assert_int_not_equal(ctl(d, "install", "--entry", "{\"type\": \"bridge\"}", "config", NULL),
			     0);
	assert_true(log_has(d, "\"type\": \"sklookup\""));
	assert_int_equal(run("cmp -s %s/orig %s/10-net.conflist", d->top, d->conf), 0);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_int_not_equal(inode(d->conf, "10-net.conflist"), before);
	assert_int_equal(mode(d->conf, "10-net.conflist"), 0640);
	assert_listing(d->conf, "10-net.conflist");

	write_file(d->conf, "05-broken.conflist", "{\"plugins\": [");
	assert_int_not_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_true(log_has(d, "05-broken.conflist: not valid JSON"));
	broken = slurp(d->conf, "05-broken.conflist");
	assert_string_equal(broken, "{\"plugins\": [");
	free(broken);
	assert_listing(d->conf, "05-broken.conflist 10-net.conflist");
}

/* Unparsable or odd first files: each refused with its path named, left
 * as it was, and no temporary file left. */
static void unparsable_conflist_refused(void **state)
{
	struct dirs *d = *state;
	static const struct {
		const char *name, *text, *says;
	} cases[] = {
		{ "05-a.conflist", "", "not valid JSON" },
		{ "05-a.conflist", "{\"plugins\": []} {}", "not valid JSON" },
		{ "05-a.conflist", "[{\"type\": \"bridge\"}]", "not a conflist" },
		{ "05-a.conflist", "{\"plugins\": {\"type\": \"bridge\"}}", "not a conflist" },
		{ "05-a.conflist", "{\"plugins\": [{\"type\": \"bridge\"}, \"sklookup\"]}",
		  "plugins[1] is not an object" },
		{ "05-a.conflist", "{\"plugins\": [], \"plugins\": [{\"type\": \"bridge\"}]}",
		  "the conflist has \"plugins\" more than once" },
		{ "05-a.conflist", "{\"plugins\": [{\"type\": \"sklookup\", \"type\": \"bridge\"}]}",
		  "plugins[0] has \"type\" more than once" },
		{ "05-a.conf", "{\"cniVersion\": \"1.0.0\", \"name\": \"x\"}", "not a CNI plugin config" },
		{ "05-a.conf", "{\"type\": \"bridge\", \"name\": \"x\", \"name\": \"y\"}",
		  "the config has \"name\" more than once" },
		{ "05-a.json", "{\"type\": 7}", "not a CNI plugin config" },
	};

	write_file(d->conf, "10-net.conflist", bridge);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[64], *after;

		write_file(d->conf, cases[i].name, cases[i].text);
		assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 1);
		assert_true(log_has(d, cases[i].name));
		assert_true(log_has(d, cases[i].says));
		after = slurp(d->conf, cases[i].name);
		assert_string_equal(after, cases[i].text);
		free(after);
		snprintf(want, sizeof(want), "%s 10-net.conflist", cases[i].name);
		assert_listing(d->conf, want);
		assert_int_equal(run("rm %s/%s", d->conf, cases[i].name), 0);
	}
	assert_json(d->conf, "10-net.conflist", bridge);
}

/* A single-plugin .conf becomes a .conflist of the same name, which is then
 * the first file; the original is kept hidden; a second run changes
 * nothing. */
static void conf_converted_to_conflist(void **state)
{
	struct dirs *d = *state;
	static const char conf[] = "{\"cniVersion\": \"0.4.0\", \"name\": \"net\", \"type\": "
				   "\"bridge\", \"bridge\": \"cni0\"}\n";
	char *orig, *once, *twice;

	write_file(d->conf, "10-net.conf", conf);
	write_file(d->conf, "20-other.conflist", bridge);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_false(exists(d->conf, "10-net.conf"));
	assert_json(d->conf, "10-net.conflist",
		    "{\"cniVersion\": \"0.4.0\", \"name\": \"net\", \"plugins\":"
		    " [{\"type\": \"bridge\", \"bridge\": \"cni0\"}, " ENTRY "]}");
	orig = slurp(d->conf, ".10-net.conf.sklookup-orig");
	assert_non_null(orig);
	assert_string_equal(orig, conf);
	free(orig);
	once = slurp(d->conf, "10-net.conflist");
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	twice = slurp(d->conf, "10-net.conflist");
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	assert_json(d->conf, "20-other.conflist", bridge);
	assert_listing(d->conf, ".10-net.conf.sklookup-orig 10-net.conflist 20-other.conflist");
}

/* A .json is converted like a .conf (the original kept as
 * .NAME.json.sklookup-orig), and uninstall puts it back. */
static void json_converted_and_restored(void **state)
{
	struct dirs *d = *state;
	static const char conf[] = "{\"cniVersion\": \"1.0.0\", \"name\": \"net\", \"type\": "
				   "\"ptp\", \"ipMasq\": true}";
	char *back;

	write_file(d->conf, "10-net.json", conf);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_json(d->conf, "10-net.conflist",
		    "{\"cniVersion\": \"1.0.0\", \"name\": \"net\", \"plugins\":"
		    " [{\"type\": \"ptp\", \"ipMasq\": true}, " ENTRY "]}");
	assert_listing(d->conf, ".10-net.json.sklookup-orig 10-net.conflist");
	assert_int_equal(ctl(d, "uninstall", NULL), 0);
	assert_listing(d->conf, "10-net.json");
	back = slurp(d->conf, "10-net.json");
	assert_string_equal(back, conf);
	free(back);
}

/* No config file: a clear error, nothing written. */
static void no_config_is_an_error(void **state)
{
	struct dirs *d = *state;

	assert_int_not_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_true(log_has(d, "no CNI config"));
	assert_listing(d->conf, "");
}

/* --wait: the pod network writes its file while install waits. */
static void waits_for_the_pod_network(void **state)
{
	struct dirs *d = *state;
	pid_t pid = d->child = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char tmp[128], path[128];
		FILE *f;

		usleep(1200 * 1000);
		snprintf(tmp, sizeof(tmp), "%s/.new", d->top);
		snprintf(path, sizeof(path), "%s/10-net.conflist", d->conf);
		f = fopen(tmp, "w");
		_exit(!f || fputs(bridge, f) < 0 || fclose(f) || rename(tmp, path));
	}
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "--wait", "5", "config", NULL), 0);
	assert_true(log_has(d, "waiting up to 5 s"));
	assert_json(d->conf, "10-net.conflist", bridge_with_entry);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	d->child = 0;
}

/* Binaries: copied by rename, 0755, left alone when identical, replaced
 * (a new inode) when changed, no temporary file left. */
static void binaries_by_rename(void **state)
{
	struct dirs *d = *state;
	ino_t first;

	assert_int_equal(ctl(d, "install", "binaries", NULL), 0);
	assert_int_equal(run("cmp -s %s/sklookup %s/sklookup && cmp -s %s/sklookup-ctl"
			     " %s/sklookup-ctl",
			     d->src, d->bin, d->src, d->bin),
			 0);
	assert_true(log_has(d, "plugin: {\"cniVersion\":\"1.1.0\"}"));
	assert_int_equal(mode(d->bin, "sklookup"), 0755);
	first = inode(d->bin, "sklookup");
	assert_int_equal(ctl(d, "install", "binaries", NULL), 0);
	assert_int_equal(inode(d->bin, "sklookup"), first);
	assert_int_equal(run("echo '# new' >> %s/sklookup", d->src), 0);
	assert_int_equal(ctl(d, "install", "binaries", NULL), 0);
	assert_int_not_equal(inode(d->bin, "sklookup"), first);
	assert_int_equal(run("cmp -s %s/sklookup %s/sklookup", d->src, d->bin), 0);
	assert_listing(d->bin, "sklookup sklookup-ctl");
}

/* A plugin that fails VERSION, or reads its stdin to the end and then
 * hangs: a warning naming it (killed after 5 s), the install itself done. */
static void plugin_version_failure_is_a_warning(void **state)
{
	struct dirs *d = *state;
	struct timespec t0, t1;

	write_file(d->src, "sklookup", "#!/bin/sh\nexit 3\n");
	assert_int_equal(ctl(d, "install", "binaries", NULL), 0);
	assert_true(log_has(d, "does not run on this node (CNI_COMMAND=VERSION: exit status 3)"));
	write_file(d->src, "sklookup", "#!/bin/sh\ncat > /dev/null\nexec sleep 30\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ctl(d, "install", "binaries", NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(log_has(d, "did not answer VERSION within 5000 ms"));
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	assert_listing(d->bin, "sklookup sklookup-ctl");
}

/* uninstall removes the entry (only) and the binaries; twice is fine. */
static void uninstall_undoes_it(void **state)
{
	struct dirs *d = *state;

	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "binaries", "config", NULL), 0);
	assert_int_equal(ctl(d, "uninstall", NULL), 0);
	assert_json(d->conf, "10-net.conflist", bridge);
	assert_listing(d->bin, "");
	assert_int_equal(ctl(d, "uninstall", NULL), 0);
	assert_true(log_has(d, "no sklookup entry"));
	assert_listing(d->conf, "10-net.conflist");
}

/* A converted .conf is put back by uninstall, unless the conflist changed
 * since (then only the entry goes, and the original stays aside). */
static void uninstall_restores_converted_conf(void **state)
{
	struct dirs *d = *state;
	static const char conf[] = "{\"cniVersion\": \"1.0.0\", \"name\": \"net\", \"type\": "
				   "\"bridge\"}";
	char *back;

	write_file(d->conf, "10-net.conf", conf);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	assert_int_equal(ctl(d, "uninstall", NULL), 0);
	assert_true(log_has(d, "10-net.conf back"));
	assert_listing(d->conf, "10-net.conf");
	back = slurp(d->conf, "10-net.conf");
	assert_string_equal(back, conf);
	free(back);

	/* Someone else adds a plugin after the conversion. */
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 0);
	write_file(d->conf, "10-net.conflist",
		   "{\"cniVersion\": \"1.0.0\", \"name\": \"net\", \"plugins\": [{\"type\": \"bridge\"},"
		   " " ENTRY ", {\"type\": \"portmap\"}]}");
	assert_int_equal(ctl(d, "uninstall", NULL), 0);
	assert_json(d->conf, "10-net.conflist",
		    "{\"cniVersion\": \"1.0.0\", \"name\": \"net\", \"plugins\": [{\"type\": \"bridge\"},"
		    " {\"type\": \"portmap\"}]}");
	assert_listing(d->conf, ".10-net.conf.sklookup-orig 10-net.conflist");
}

/* A first config file that is a symbolic link (to a file outside the
 * directory, or to a later file) is refused: install writes through no
 * link and replaces none. */
static void symlinked_conf_refused(void **state)
{
	struct dirs *d = *state;
	char target[128], link[128], *after;

	write_file(d->top, "elsewhere.conflist", bridge);
	snprintf(target, sizeof(target), "%s/elsewhere.conflist", d->top);
	snprintf(link, sizeof(link), "%s/05-link.conflist", d->conf);
	assert_int_equal(symlink(target, link), 0);
	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 1);
	assert_true(log_has(d, "05-link.conflist is a symbolic link"));
	after = slurp(d->top, "elsewhere.conflist");
	assert_string_equal(after, bridge);
	free(after);
	assert_json(d->conf, "10-net.conflist", bridge);
	assert_listing(d->conf, "05-link.conflist 10-net.conflist");
	assert_int_equal(ctl(d, "uninstall", NULL), 1);
	assert_true(log_has(d, "05-link.conflist is a symbolic link"));

	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("10-net.conflist", link), 0);
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "config", NULL), 1);
	assert_json(d->conf, "10-net.conflist", bridge);
}

/* Missing directories and binaries: the error names the option and the
 * path, and nothing is made. */
static void missing_dirs_and_binaries(void **state)
{
	struct dirs *d = *state;
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/no-such-dir", d->top);
	assert_int_equal(ctl(d, "install", "--cni-conf-dir", missing, "config", NULL), 1);
	assert_true(log_has(d, "--cni-conf-dir "));
	assert_true(log_has(d, "no-such-dir: no such directory"));
	assert_int_equal(ctl(d, "uninstall", "--cni-conf-dir", missing, NULL), 1);
	assert_true(log_has(d, "no such directory"));
	assert_int_equal(ctl(d, "install", "--cni-bin-dir", missing, "binaries", NULL), 1);
	assert_true(log_has(d, "--cni-bin-dir "));
	assert_false(exists(d->top, "no-such-dir"));
	assert_int_equal(ctl(d, "install", "--from", missing, "binaries", NULL), 1);
	assert_true(log_has(d, "--from "));
	assert_true(log_has(d, "cannot read "));
	assert_true(log_has(d, "no-such-dir/sklookup: No such file or directory"));
	assert_listing(d->bin, "");
	/* A source that is not executable. */
	assert_int_equal(run("chmod 644 %s/sklookup", d->src), 0);
	assert_int_equal(ctl(d, "install", "binaries", NULL), 1);
	assert_true(log_has(d, "sklookup: not executable"));
	assert_listing(d->bin, "");
}

/* Usage errors: exit 2, nothing done. */
static void usage_errors(void **state)
{
	struct dirs *d = *state;
	char ctl_path[PATH_MAX];

	testbin_path(ctl_path, sizeof(ctl_path), "sklookup-ctl");
	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(ctl(d, "install", "frobnicate", NULL), 2);
	assert_true(log_has(d, "unknown step \"frobnicate\""));
	assert_int_equal(ctl(d, "install", "--entry", ENTRY, "--entry-file", "/dev/null", NULL), 2);
	assert_int_equal(ctl(d, "install", "--uninstall-on-exit", NULL), 2);
	assert_true(log_has(d, "needs --watch"));
	assert_int_equal(ctl(d, "install", "--watch", "0", NULL), 2);
	assert_int_equal(ctl(d, "install", "--wait", "-1", NULL), 2);
	assert_int_equal(ctl(d, "uninstall", "--from", d->src, NULL), 2);
	assert_int_equal(run("%s --agent /nonexistent install --cni-conf-dir %s config 2>&1 |"
			     " grep -q 'takes no --container'", ctl_path, d->conf), 0);
	assert_int_equal(ctl(d, "install", "--entry", "{\"type\": \"sklookup\"", "config", NULL), 1);
	assert_true(log_has(d, "--entry: not valid JSON"));
	assert_int_equal(ctl(d, "install", "--entry-file", "/nonexistent/e.json", "config", NULL), 1);
	assert_true(log_has(d, "--entry-file /nonexistent/e.json"));
	assert_json(d->conf, "10-net.conflist", bridge);
	assert_listing(d->bin, "");
}

/* In a child with a private mount namespace (nothing it mounts outlives
 * it): fn(d), its result the exit status. */
static int in_mount_ns(const struct dirs *d, int (*fn)(const struct dirs *d))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL))
			_exit(100);
		_exit(fn(d));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int read_only_child(const struct dirs *d)
{
	/* Both directories read-only, as a hostPath mounted readOnly. */
	if (mount(d->conf, d->conf, "none", MS_BIND, NULL) ||
	    mount("none", d->conf, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) ||
	    mount(d->bin, d->bin, "none", MS_BIND, NULL) ||
	    mount("none", d->bin, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL))
		return 101;
	if (ctl(d, "install", "--entry", ENTRY, "config", NULL) != 1 ||
	    !log_has(d, "cannot create a file in") || !log_has(d, "Read-only file system") ||
	    !log_has(d, "(--cni-conf-dir)"))
		return 102;
	if (ctl(d, "install", "binaries", NULL) != 1 || !log_has(d, "(--cni-bin-dir)"))
		return 103;
	return 0;
}

/* A read-only directory: the error names it, the file is unchanged. */
static void read_only_dir(void **state)
{
	struct dirs *d = *state;

	if (geteuid() != 0) {
		print_message("read-only directory not checked: needs root (mount)\n");
		skip();
	}
	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(in_mount_ns(d, read_only_child), 0);
	assert_json(d->conf, "10-net.conflist", bridge);
	assert_listing(d->conf, "10-net.conflist");
	assert_listing(d->bin, "");
}

static int bpffs_child(const struct dirs *d)
{
	char dir[128];
	struct statfs fs;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/bpf/sub", d->top);
	if (ctl(d, "install", "--bpffs", dir, "bpffs", NULL) || !log_has(d, "mounted bpffs at"))
		return 101;
	if (statfs(dir, &fs) || fs.f_type != 0xcafe4a11)
		return 102;
	/* mode 0700, to which bpffs adds the sticky bit. */
	if (stat(dir, &st) || (st.st_mode & 07777) != 01700)
		return 103;
	if (ctl(d, "install", "--bpffs", dir, "bpffs", NULL) || !log_has(d, "found bpffs at"))
		return 104;
	return umount(dir) ? 105 : 0;
}

/* bpffs step: mounts bpffs where there is none (making the directory),
 * finds it the second time. Needs root. */
static void bpffs_mounted_when_missing(void **state)
{
	struct dirs *d = *state;
	char dir[128];

	if (geteuid() != 0) {
		print_message("bpffs step not checked: needs root (mount)\n");
		skip();
	}
	assert_int_equal(in_mount_ns(d, bpffs_child), 0);
	snprintf(dir, sizeof(dir), "%s/bpf/sub", d->top);
	assert_int_not_equal(run("grep -q ' %s ' /proc/self/mounts", dir), 0);
}

/* The built binary, without --from, installs itself and the plugin from
 * its own directory (the node image keeps both in /). */
static void real_binary_installs_from_its_own_dir(void **state)
{
	struct dirs *d = *state;
	char ctl_path[PATH_MAX];

	testbin_path(ctl_path, sizeof(ctl_path), "sklookup-ctl");
	write_file(d->conf, "10-net.conflist", bridge);
	assert_int_equal(run("%s install --cni-bin-dir %s --cni-conf-dir %s --entry '%s' binaries"
			     " config > %s 2>&1 || { cat %s; exit 1; }",
			     ctl_path, d->bin, d->conf, ENTRY, d->log, d->log),
			 0);
	assert_int_equal(run("cmp -s %s/sklookup %s/sklookup && cmp -s %s/sklookup-ctl"
			     " %s/sklookup-ctl", testbin_dir(), d->bin, testbin_dir(), d->bin),
			 0);
	assert_true(log_has(d, "plugin: {\"cniVersion\":"));
	assert_json(d->conf, "10-net.conflist", bridge_with_entry);
	assert_int_equal(run("%s/sklookup-ctl --version > /dev/null", d->bin), 0);
}

/* The node image runs FROM scratch: the static sklookup-ctl, in a root that
 * holds nothing but the two static binaries (and /proc, as a container
 * has), installs both and the config into the host's directories mounted
 * there, and the static plugin answers VERSION. Needs root and make static. */
static void static_binary_alone_in_an_empty_root(void **state)
{
	struct dirs *d = *state;
	char root[128], path[256];
	struct stat st;
	int status;
	pid_t pid;

	if (geteuid() != 0 || stat("build-static/sklookup-ctl", &st) ||
	    stat("build-static/sklookup", &st)) {
		print_message("not checked: needs root and make static (build-static/)\n");
		skip();
	}
	snprintf(root, sizeof(root), "%s/root", d->top);
	assert_int_equal(run("mkdir -p %s/proc %s/host/conf %s/host/bin && cp build-static/sklookup"
			     " build-static/sklookup-ctl %s/", root, root, root, root),
			 0);
	write_file(root, "host/conf/10-net.conflist", bridge);
	pid = d->child = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		snprintf(path, sizeof(path), "%s/proc", root);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || unshare(CLONE_NEWNS) ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ||
		    mount("proc", path, "proc", 0, NULL) || chroot(root) || chdir("/"))
			_exit(126);
		execl("/sklookup-ctl", "/sklookup-ctl", "install", "--cni-bin-dir", "/host/bin",
		      "--cni-conf-dir", "/host/conf", "--entry", ENTRY, "binaries", "config",
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	d->child = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char *log = slurp(d->top, "log");

		fail_msg("exit status %#x: %s", status, log ? log : "");
	}
	assert_true(log_has(d, "plugin: {\"cniVersion\":"));
	snprintf(path, sizeof(path), "%s/host/conf", root);
	assert_json(path, "10-net.conflist", bridge_with_entry);
	assert_int_equal(run("cmp -s build-static/sklookup %s/host/bin/sklookup && cmp -s"
			     " build-static/sklookup-ctl %s/host/bin/sklookup-ctl", root, root),
			 0);
}

/* Waits (up to 10 s) until the log holds text n times. */
static bool wait_log(const struct dirs *d, const char *text, int n)
{
	for (int i = 0; i < 200; i++) {
		char *log = slurp(d->top, "log");
		int seen = 0;

		for (const char *p = log; p && (p = strstr(p, text)); p++)
			seen++;
		free(log);
		if (seen >= n)
			return true;
		usleep(50 * 1000);
	}
	return log_has(d, text);
}

/* --watch: the entry comes back when the pod network rewrites its file;
 * on SIGTERM, --uninstall-on-exit takes everything off and exits 0. */
static void watch_then_uninstall_on_sigterm(void **state)
{
	struct dirs *d = *state;
	char ctl_path[PATH_MAX];
	int status;
	pid_t pid;

	testbin_path(ctl_path, sizeof(ctl_path), "sklookup-ctl");
	write_file(d->conf, "10-net.conflist", bridge);
	pid = d->child = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(ctl_path, ctl_path, "install", "--from", d->src, "--cni-bin-dir", d->bin,
		      "--cni-conf-dir", d->conf, "--entry", ENTRY, "--watch", "1",
		      "--uninstall-on-exit", "binaries", "config", (char *)NULL);
		_exit(127);
	}
	assert_true(wait_log(d, "applying the config every 1 s", 1));
	assert_json(d->conf, "10-net.conflist", bridge_with_entry);
	/* The pod network writes its file again, without sklookup. */
	write_file(d->top, "rewrite", bridge);
	assert_int_equal(run("mv %s/rewrite %s/10-net.conflist", d->top, d->conf), 0);
	assert_true(wait_log(d, "added the sklookup entry", 2));
	assert_json(d->conf, "10-net.conflist", bridge_with_entry);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	d->child = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(log_has(d, "uninstall: removed the sklookup entry"));
	assert_json(d->conf, "10-net.conflist", bridge);
	assert_listing(d->bin, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lexically_first_file_only, setup, teardown),
		cmocka_unit_test_setup_teardown(hidden_config_file_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(existing_entry_replaced_not_duplicated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(entry_with_other_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(atomic_and_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(unparsable_conflist_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(conf_converted_to_conflist, setup, teardown),
		cmocka_unit_test_setup_teardown(json_converted_and_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(no_config_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(waits_for_the_pod_network, setup, teardown),
		cmocka_unit_test_setup_teardown(binaries_by_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(plugin_version_failure_is_a_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(uninstall_undoes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(uninstall_restores_converted_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_conf_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_dirs_and_binaries, setup, teardown),
		cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(bpffs_mounted_when_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(real_binary_installs_from_its_own_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(watch_then_uninstall_on_sigterm, setup, teardown),
		cmocka_unit_test_setup_teardown(static_binary_alone_in_an_empty_root, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("sklookup-ctl install", tests, NULL, NULL);
}
