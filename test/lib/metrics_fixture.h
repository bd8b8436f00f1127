/*
 * Root-test fixture for the node agent's metrics endpoint: a plain HTTP
 * client (the test's, to scrape and to talk to Prometheus' API), a series'
 * value in a scrape, promtool, and a real Prometheus (Debian's) started on
 * loopback with its own config and data directory and killed after.
 */
#ifndef SKL_TEST_METRICS_FIXTURE_H
#define SKL_TEST_METRICS_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_reply {
	int status; /* the HTTP status, -1 when there was no answer */
	char *body; /* malloc'd, NUL-terminated; NULL without an answer */
	size_t len;
};

/* Sends request (raw bytes) to addr:port (IPv4) and reads the answer until
 * the server closes, for at most timeout_ms. Returns 0 or -1. */
int http_exchange(const char *addr, uint16_t port, const char *request, int timeout_ms,
		  struct http_reply *r);

/* GET path with HTTP/1.1 and Connection: close. */
int http_get(const char *addr, uint16_t port, const char *path, int timeout_ms,
	     struct http_reply *r);
void http_reply_free(struct http_reply *r);

/* The value of the series whose text (name and labels, as the scrape
 * writes them) is series; -1 when it is not in body. */
double scrape_value(const char *body, const char *series);

/* The lines of body that start with prefix. */
int scrape_count(const char *body, const char *prefix);

/* `promtool check metrics` on body: its exit status, its output in out. */
int promtool_check(const char *body, char *out, size_t len);

struct promfix {
	pid_t pid;
	char dir[256];
	uint16_t port;
};

/* Starts prometheus on 127.0.0.1:port scraping target ("127.0.0.1:9977")
 * every second, its data in a temporary directory; waits until it is
 * ready. */
void promfix_start(struct promfix *p, uint16_t port, const char *target);

/* Runs an instant query over the HTTP API (/api/v1/query): 0 with *value
 * when it returns exactly one sample, -1 otherwise. */
int promfix_query(const struct promfix *p, const char *promql, double *value);

/* Kills it and removes its directory; safe to call twice. */
void promfix_stop(struct promfix *p);

#endif
