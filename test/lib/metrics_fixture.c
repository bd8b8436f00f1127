/* Root-test fixture for the metrics endpoint (metrics_fixture.h). */
#include "metrics_fixture.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "agent_fixture.h"

#define PROMETHEUS "/usr/bin/prometheus"
#define PROMTOOL "/usr/bin/promtool"

/* --- HTTP --- */

static int connect_to(const char *addr, uint16_t port, int timeout_ms)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

int http_exchange(const char *addr, uint16_t port, const char *request, int timeout_ms,
		  struct http_reply *r)
{
	uint64_t deadline = agentfix_now_ms() + (uint64_t)timeout_ms;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1), *body;
	int fd = connect_to(addr, port, timeout_ms);

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (fd < 0 || !buf || send(fd, request, strlen(request), MSG_NOSIGNAL) < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *more = realloc(buf, 2 * cap + 1);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0 || agentfix_now_ms() > deadline)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 || !body) {
		r->status = -1;
		free(buf);
		return -1;
	}
	body += 4;
	r->len = len - (size_t)(body - buf);
	memmove(buf, body, r->len + 1);
	r->body = buf;
	return 0;
}

int http_get(const char *addr, uint16_t port, const char *path, int timeout_ms,
	     struct http_reply *r)
{
	char request[4096];

	snprintf(request, sizeof(request),
		 "GET %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n\r\n", path, addr,
		 (unsigned)port);
	return http_exchange(addr, port, request, timeout_ms, r);
}

void http_reply_free(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* --- a scrape's text --- */

/* The line after line, NULL after the last. */
static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl && nl[1] ? nl + 1 : NULL;
}

double scrape_value(const char *body, const char *series)
{
	size_t n = strlen(series);

	for (const char *line = body; line; line = next_line(line))
		if (!strncmp(line, series, n) && line[n] == ' ')
			return strtod(line + n + 1, NULL);
	return -1;
}

int scrape_count(const char *body, const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;

	for (const char *line = body; line; line = next_line(line))
		count += !strncmp(line, prefix, n);
	return count;
}

/* --- processes --- */

/* Runs argv with stdin from in_path, stdout and stderr into out; waits. */
static int run(char *const argv[], const char *in_path, char *out, size_t len)
{
	int pipefd[2], status;
	size_t got = 0;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open(in_path, O_RDONLY | O_CLOEXEC);

		if (in < 0 || dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (got + 1 < len && (n = read(pipefd[0], out + got, len - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int promtool_check(const char *body, char *out, size_t len)
{
	char path[] = "/tmp/skl-metrics-scrape.XXXXXX";
	char *argv[] = { (char *)PROMTOOL, (char *)"check", (char *)"metrics", NULL };
	int fd = mkstemp(path), status;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	status = run(argv, path, out, len);
	unlink(path);
	return status;
}

/* --- Prometheus --- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

void promfix_start(struct promfix *p, uint16_t port, const char *target)
{
	char config[320], data[320], log[320], listen[64], text[1024];
	char flag_config[352], flag_data[352], flag_listen[96];
	uint64_t deadline = agentfix_now_ms() + 20000;

	memset(p, 0, sizeof(*p));
	p->port = port;
	snprintf(p->dir, sizeof(p->dir), "/tmp/skl-prometheus-%d.XXXXXX", (int)getpid());
	assert_non_null(mkdtemp(p->dir));
	snprintf(config, sizeof(config), "%s/prometheus.yml", p->dir);
	snprintf(data, sizeof(data), "%s/data", p->dir);
	snprintf(log, sizeof(log), "%s/log", p->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
	snprintf(text, sizeof(text),
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		 "  evaluation_interval: 1s\n"
		 "scrape_configs:\n  - job_name: sklookup\n    static_configs:\n"
		 "      - targets: ['%s']\n",
		 target);
	write_file(config, text);
	snprintf(flag_config, sizeof(flag_config), "--config.file=%s", config);
	snprintf(flag_data, sizeof(flag_data), "--storage.tsdb.path=%s", data);
	snprintf(flag_listen, sizeof(flag_listen), "--web.listen-address=%s", listen);
	fflush(NULL);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the suite, whatever ends it */

		if (out < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(126);
		execl(PROMETHEUS, PROMETHEUS, flag_config, flag_data, flag_listen, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct http_reply r;
		bool ready = !http_get("127.0.0.1", port, "/-/ready", 1000, &r) && r.status == 200;

		http_reply_free(&r);
		if (ready)
			return;
		if (agentfix_now_ms() > deadline || waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			char cmd[352];

			snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
			if (system(cmd))
				fprintf(stderr, "(no log)\n");
			p->pid = 0;
			fail_msg("prometheus did not become ready");
		}
		agentfix_sleep_ms(50);
	}
}

/* Percent-encodes everything but letters and digits. */
static void url_encode(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 4 < len; in++) {
		if (isalnum((unsigned char)*in))
			out[n++] = *in;
		else
			n += (size_t)snprintf(out + n, len - n, "%%%02X", (unsigned char)*in);
	}
	out[n] = '\0';
}

int promfix_query(const struct promfix *p, const char *promql, double *value)
{
	char encoded[2048], path[2200];
	struct http_reply r;
	cJSON *doc = NULL, *result, *sample, *v;
	int ret = -1;

	url_encode(promql, encoded, sizeof(encoded));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", encoded);
	if (http_get("127.0.0.1", p->port, path, 2000, &r) || r.status != 200)
		goto out;
	doc = cJSON_Parse(r.body);
	result = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "data"), "result");
	if (cJSON_GetArraySize(result) != 1)
		goto out;
	sample = cJSON_GetArrayItem(result, 0);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(sample, "value"), 1);
	if (cJSON_IsString(v)) {
		*value = strtod(v->valuestring, NULL);
		ret = 0;
	}
out:
	cJSON_Delete(doc);
	http_reply_free(&r);
	return ret;
}

void promfix_stop(struct promfix *p)
{
	char cmd[320];

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", p->dir);
		p->dir[0] = '\0';
	}
}
