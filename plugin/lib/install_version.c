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

/* Reads the child's answer until EOF, the buffer is full or the deadline:
 * 0, or -1 at the deadline. */
static int read_answer(int fd, char *buf, size_t size, size_t *len, long long deadline)
{
	*len = 0;
	while (*len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;
		int ready;

		if (left <= 0)
			return -1;
		ready = poll(&p, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
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

/* Reaps the child, killing it at the deadline: 0, or -1 if it was killed. */
static int reap(pid_t pid, int *status, long long deadline)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		usleep(10 * 1000);
	}
}

int skl_install_plugin_version(const char *path, char *out, size_t size, struct skl_err *err)
{
	char *argv[] = { (char *)path, NULL };
	char *envp[] = { "CNI_COMMAND=VERSION", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char buf[VERSION_MAX];
	int answer[2], input[2], status = 0, late;
	long long deadline = now_ms() + VERSION_TIMEOUT_MS;
	size_t len;
	cJSON *doc;
	char *text;
	pid_t pid;

	if (pipe2(answer, O_CLOEXEC))
		return skl_errf(err, SKL_CNI_INTERNAL, "pipe: %s", strerror(errno));
	if (pipe2(input, O_CLOEXEC)) {
		close(answer[0]);
		close(answer[1]);
		return skl_errf(err, SKL_CNI_INTERNAL, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		/* No /dev/null in a FROM scratch image: stdin is an empty
		 * pipe (EOF), and fd 2 its read end (writes fail; not wanted). */
		if (dup2(input[0], 0) < 0 || dup2(answer[1], 1) < 0 || dup2(input[0], 2) < 0)
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	close(input[0]);
	close(input[1]);
	close(answer[1]);
	if (pid < 0) {
		close(answer[0]);
		return skl_errf(err, SKL_CNI_INTERNAL, "fork: %s", strerror(errno));
	}
	late = read_answer(answer[0], buf, sizeof(buf), &len, deadline);
	close(answer[0]);
	late |= reap(pid, &status, late ? now_ms() : deadline);
	if (late)
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
