/*
 * The metrics endpoint (agent_metrics.h). libmicrohttpd parses HTTP; it
 * runs in "external polling" mode with epoll in one thread of ours, which
 * waits on its epoll fd and a stop eventfd. Its limits: connections at
 * once, per address, memory per connection (the request's headers), an
 * idle timeout; and ours, since a client that sends a byte now and then
 * is never idle: each connection's whole life is bounded, and one past its
 * deadline is shut down (the loop runs between libmicrohttpd's calls, so
 * the fd is still the connection's). Every answer closes its connection.
 * The pods are read at most every SKL_METRICS_REUSE_MS: clients that
 * scrape in a loop get the last text again and cost a copy, not a read of
 * every pod.
 */
#include "agent_metrics.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent_log.h"
#include "agent_metrics_listen.h"
#include "agent_metrics_text.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct conn_deadline {
	int fd; /* -1: free */
	uint64_t deadline_ms;
	bool shut;
};

struct skl_agent_metrics {
	struct MHD_Daemon *daemon;
	int listen_fd;
	int stop_fd;
	pthread_t thread;
	bool running;
	const char *bpffs_root;
	struct skl_agent_health *health;
	uint64_t errors[SKL_METRICS_ERR_COUNT]; /* the thread's own */
	unsigned closed;  /* connections closed so far */
	char *last;       /* the last scrape's text, */
	size_t last_len;
	uint64_t last_ms; /* and when it was read */
	struct conn_deadline conns[SKL_METRICS_MAX_CONNECTIONS];
};

/* --- connections and their deadlines --- */

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct skl_agent_metrics *m = cls;
	const union MHD_ConnectionInfo *info;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct conn_deadline *c = *socket_context;

		if (c)
			c->fd = -1;
		m->closed++;
		return;
	}
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return;
	for (int i = 0; i < SKL_METRICS_MAX_CONNECTIONS; i++) {
		if (m->conns[i].fd >= 0)
			continue;
		m->conns[i] = (struct conn_deadline){
			.fd = info->connect_fd,
			.deadline_ms = skl_agent_now_ms() + SKL_METRICS_DEADLINE_S * 1000,
		};
		*socket_context = &m->conns[i];
		return;
	}
	/* More than the limit libmicrohttpd keeps: not served. */
	shutdown(info->connect_fd, SHUT_RDWR);
}

/* Shuts down the connections past their deadline; libmicrohttpd then sees
 * them end and closes them. Returns ms until the next deadline (-1: none). */
static int expire(struct skl_agent_metrics *m)
{
	uint64_t now = skl_agent_now_ms(), next = UINT64_MAX;

	for (int i = 0; i < SKL_METRICS_MAX_CONNECTIONS; i++) {
		struct conn_deadline *c = &m->conns[i];

		if (c->fd < 0 || c->shut)
			continue;
		if (now >= c->deadline_ms) {
			shutdown(c->fd, SHUT_RDWR);
			c->shut = true;
		} else if (c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

/* --- requests --- */

static enum MHD_Result answer(struct MHD_Connection *connection, unsigned status, char *body,
			      size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain") != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(connection, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_text(struct MHD_Connection *connection, unsigned status,
				   const char *text)
{
	char *body = strdup(text);

	return body ? answer(connection, status, body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct skl_agent_metrics *m = cls;
	size_t len;
	char *text;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return answer_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "only GET " SKL_METRICS_PATH "\n");
	if (strcmp(url, SKL_METRICS_PATH))
		return answer_text(connection, MHD_HTTP_NOT_FOUND,
				   "the metrics are at " SKL_METRICS_PATH "\n");
	if (!m->last || skl_agent_now_ms() - m->last_ms >= SKL_METRICS_REUSE_MS) {
		free(m->last);
		m->last = skl_agent_metrics_text(m->bpffs_root, m->health, m->errors,
						 &m->last_len);
		m->last_ms = skl_agent_now_ms();
	}
	text = m->last ? malloc(m->last_len + 1) : NULL;
	if (!text)
		return answer_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
				   "the node agent ran out of memory\n");
	memcpy(text, m->last, m->last_len + 1);
	len = m->last_len;
	return answer(connection, MHD_HTTP_OK, text, len);
}

/* --- the thread --- */

/* One round of libmicrohttpd's work. At its connection limit it takes the
 * listener out of its epoll set, and puts it back only at the start of a
 * round: after a round that closed connections, one more, or clients
 * waiting in the backlog would wait for some other event. */
static void run(struct skl_agent_metrics *m)
{
	unsigned closed;

	do {
		closed = m->closed;
		MHD_run(m->daemon);
	} while (m->closed != closed);
}

static void *serve(void *arg)
{
	struct skl_agent_metrics *m = arg;
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pfd[2] = { { .fd = info->epoll_fd, .events = POLLIN },
				 { .fd = m->stop_fd, .events = POLLIN } };

	for (;;) {
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		int timeout = expire(m);

		if (MHD_get_timeout(m->daemon, &mhd_ms) == MHD_YES &&
		    (timeout < 0 || mhd_ms < (MHD_UNSIGNED_LONG_LONG)timeout))
			timeout = (int)mhd_ms;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			skl_agent_log("metrics: poll: %s; the endpoint stops", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		run(m);
	}
	return NULL;
}

int skl_agent_metrics_start(struct skl_agent_metrics **out, const char *address,
			    const char *bpffs_root, struct skl_agent_health *health,
			    struct skl_err *err)
{
	struct skl_agent_metrics *m = calloc(1, sizeof(*m));
	int e;

	*out = NULL;
	if (!m)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	m->bpffs_root = bpffs_root;
	m->health = health;
	m->stop_fd = -1;
	for (int i = 0; i < SKL_METRICS_MAX_CONNECTIONS; i++)
		m->conns[i].fd = -1;
	if ((m->listen_fd = skl_agent_metrics_listen(address, err)) < 0)
		goto fail;
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_fd < 0) {
		skl_errf(err, SKL_CNI_INTERNAL, "metrics: eventfd: %s", strerror(errno));
		goto fail;
	}
	m->daemon = MHD_start_daemon(
		MHD_USE_EPOLL, 0, NULL, NULL, on_request, m,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)SKL_METRICS_MAX_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SKL_METRICS_MAX_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SKL_METRICS_DEADLINE_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SKL_METRICS_MEMORY,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
		MHD_OPTION_END);
	if (!m->daemon) {
		skl_errf(err, SKL_CNI_INTERNAL, "metrics: libmicrohttpd did not start on %s",
			 address);
		goto fail;
	}
	m->listen_fd = -1; /* the daemon's now */
	if ((e = pthread_create(&m->thread, NULL, serve, m))) {
		skl_errf(err, SKL_CNI_INTERNAL, "metrics: starting its thread: %s", strerror(e));
		goto fail;
	}
	m->running = true;
	*out = m;
	return 0;
fail:
	skl_agent_metrics_stop(m);
	return -1;
}

void skl_agent_metrics_stop(struct skl_agent_metrics *m)
{
	const uint64_t one = 1;

	if (!m)
		return;
	if (m->running) {
		if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one)) {
			/* The thread still runs the daemon: both are left to the exit. */
			skl_agent_log("metrics: cannot stop the thread: %s", strerror(errno));
			return;
		}
		pthread_join(m->thread, NULL);
	}
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	free(m->last);
	free(m);
}
