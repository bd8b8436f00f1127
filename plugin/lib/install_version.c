/* After the binaries step: the installed plugin asked for its VERSION, as a
 * runtime would, so a binary that cannot run on this node shows at install
 * time instead of at the first pod. */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VERSION_TIMEOUT_MS 5000
#define VERSION_MAX 4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's answer until EOF, the buffer is full or the deadline. */
static int read_answer(int fd, char *buf, size_t size, size_t *len)
{
	long long deadline = now_ms() + VERSION_TIMEOUT_MS;

	*len = 0;
	while (*len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = read(fd, buf + *len, size - 1 - *len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = 0;
	return 0;
}

int skl_install_plugin_version(const char *path, char *out, size_t size, struct skl_err *err)
{
	char *argv[] = { (char *)path, NULL };
	char *envp[] = { "CNI_COMMAND=VERSION", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char buf[VERSION_MAX];
	int pipefd[2], status = 0, timed_out;
	size_t len;
	cJSON *doc;
	char *text;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return skl_errf(err, SKL_CNI_INTERNAL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return skl_errf(err, SKL_CNI_INTERNAL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	timed_out = read_answer(pipefd[0], buf, sizeof(buf), &len);
	close(pipefd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return skl_errf(err, SKL_CNI_INTERNAL, "%s did not answer VERSION within %d ms", path,
				VERSION_TIMEOUT_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%s does not run on this node (CNI_COMMAND=VERSION: %s %d): is it the "
				"static build (make static)?", path,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	doc = cJSON_Parse(buf);
	text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return skl_errf(err, SKL_CNI_DECODE_FAILURE, "%s answered VERSION with no JSON: \"%.60s\"",
				path, buf);
	snprintf(out, size, "%s", text);
	free(text);
	return 0;
}
