/*
 * metrics_http: GET /metrics over HTTP with libmicrohttpd in its external-select mode
 * (MHD_run from fhd's control loop; no thread, nothing on the data path). Bounded: at
 * most METRICS_HTTP_CONNECTIONS_MAX connections, each closed after
 * METRICS_HTTP_TIMEOUT_S idle; one path, GET (and HEAD, which HTTP asks of every GET
 * resource); the body is the stats module's last rendered exposition, copied per
 * response so a tick may render the next one while a slow scraper reads.
 */
#include "feed/dpdk/metrics_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_HTTP_CONTENT_TYPE "text/plain; version=0.0.4"
#define METRICS_HTTP_BACKLOG 16

struct metrics_http {
	struct MHD_Daemon *daemon;
	const struct stats *stats;
};

/* Queues a short fixed answer (text/plain) with the given status. */
static enum MHD_Result metrics_http_answer_text(struct MHD_Connection *c, unsigned int status,
						const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's request callback: /metrics, 404 elsewhere, 405 for methods but GET/HEAD. */
static enum MHD_Result metrics_http_answer(void *cls, struct MHD_Connection *c, const char *url,
					   const char *method, const char *version, const char *upload_data,
					   size_t *upload_data_size, void **request)
{
	const struct metrics_http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *text;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)request;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_data_size = 0;		/* a body is not read: the answer does not depend on it */
		return metrics_http_answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "GET, HEAD");
	}
	if (strcmp(url, "/metrics") != 0)
		return metrics_http_answer_text(c, MHD_HTTP_NOT_FOUND, "not found: fhd serves /metrics\n", NULL);
	text = stats_metrics_text(h->stats, &len);
	if (text == NULL)
		return metrics_http_answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no statistics yet\n", NULL);
	r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_HTTP_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* The listening socket on ip:port, non-blocking. The fd, or -errno with err set. */
static int metrics_http_listen(uint32_t ip, uint16_t port, char *err, size_t err_size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
	char text[INET_ADDRSTRLEN];
	const char *what = "socket";
	int fd, one = 1, rc;

	inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* SO_REUSEADDR: a restart binds past the last run's TIME_WAIT; a listener still refuses. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
			what = "setsockopt";
		else if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
			what = "bind";
		else if (listen(fd, METRICS_HTTP_BACKLOG) != 0)
			what = "listen";
		else
			return fd;
	}
	rc = -errno;
	snprintf(err, err_size, "cannot listen on %s:%u (%s: %s)%s", text, port, what, strerror(-rc),
		 rc == -EADDRINUSE ? "; another program has that port: choose another stats.http" :
		 rc == -EADDRNOTAVAIL ? "; no interface of this host has that address" : "");
	if (fd >= 0)
		close(fd);
	return rc;
}

struct metrics_http *metrics_http_start(uint32_t ip, uint16_t port, const struct stats *s, char *err,
					size_t err_size)
{
	struct metrics_http *h;
	int fd;

	assert(s != NULL && port != 0);
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	h->stats = s;
	fd = metrics_http_listen(ip, port, err, err_size);
	if (fd < 0) {
		free(h);
		return NULL;
	}
	/*
	 * No MHD_USE_INTERNAL_POLLING_THREAD: external select, run by metrics_http_poll. The
	 * daemon owns fd from here (MHD_stop_daemon closes it).
	 */
	h->daemon = MHD_start_daemon(MHD_NO_FLAG, 0, NULL, NULL, metrics_http_answer, h,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_CONNECTIONS_MAX,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, err_size, "libmicrohttpd would not start on port %u", port);
		close(fd);
		free(h);
		return NULL;
	}
	return h;
}

void metrics_http_poll(struct metrics_http *h)
{
	assert(h != NULL);
	MHD_run(h->daemon);	/* external mode: a zero-timeout select over its sockets */
}

void metrics_http_stop(struct metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
