// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * evloop_server: a service that runs in its own epoll loop instead of a
 * thread pool. Besides the endpoint it watches a timerfd (a periodic tick,
 * standing in for housekeeping) and standard input (commands, one a line).
 *
 *	evloop_server [-n NAME]
 *
 * Calls: EVLOOP_OP_STATS returns struct evloop_stats. Input: "quit" ends the
 * loop, any other line is counted and echoed as "line N: TEXT". Prints
 * "ready" when set up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libfastipc.h>

#include "evloop.h"

static struct evloop_stats stats;

static int32_t do_stats(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	if (msg->reply_cap < sizeof(stats))
		return -EMSGSIZE;
	stats.calls++;
	memcpy(msg->reply, &stats, sizeof(stats));
	msg->reply_len = sizeof(stats);
	return 0;
}

/* Handles the complete lines in @buf; returns false on "quit". */
static bool handle_lines(char *buf, size_t *len)
{
	char *line = buf, *nl;
	bool more = true;

	while (more && (nl = memchr(line, '\n', buf + *len - line))) {
		*nl = 0;
		if (!strcmp(line, "quit")) {
			more = false;
		} else {
			stats.lines++;
			printf("line %llu: %s\n", (unsigned long long)stats.lines, line);
			fflush(stdout);
		}
		line = nl + 1;
	}
	*len -= line - buf;
	memmove(buf, line, *len);
	return more;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	struct fastipc_server_params params = { .name = EVLOOP_DEFAULT_NAME, .mode = 0666 };
	struct itimerspec tick = {
		.it_interval = { .tv_nsec = 10 * 1000 * 1000 },
		.it_value = { .tv_nsec = 10 * 1000 * 1000 },
	};
	struct epoll_event events[8];
	struct fastipc_server *server;
	int epfd, tfd, srv_fd, ret, n, i, opt;
	char input[1024];
	size_t input_len = 0;
	bool running = true;
	uint64_t expirations;
	ssize_t got;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			fprintf(stderr, "usage: %s [-n NAME]\n", argv[0]);
			return 2;
		}
		params.name = optarg;
	}

	ret = fastipc_server_create(&params, &server);
	if (ret) {
		fprintf(stderr, "evloop_server: %s: %s\n", params.name, strerror(-ret));
		return 1;
	}
	fastipc_server_set_handler(server, EVLOOP_OP_STATS, do_stats, NULL);
	srv_fd = fastipc_server_fd(server);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &tick, NULL) ||
	    add_fd(epfd, srv_fd) || add_fd(epfd, tfd) || add_fd(epfd, STDIN_FILENO)) {
		perror("evloop_server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (running) {
		n = epoll_wait(epfd, events, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("evloop_server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (events[i].data.fd == srv_fd) {
				/* Never blocks: handles what waits and answers it. */
				ret = fastipc_server_dispatch(server, 0);
				if (ret < 0) {
					fprintf(stderr, "evloop_server: %s\n", strerror(-ret));
					return 1;
				}
			} else if (events[i].data.fd == tfd) {
				if (read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
					stats.ticks += expirations;
			} else {
				got = read(STDIN_FILENO, input + input_len, sizeof(input) - 1 - input_len);
				if (got <= 0) {
					running = false;
					break;
				}
				input_len += got;
				running = handle_lines(input, &input_len);
				/* A line longer than the buffer: drop it. */
				if (input_len == sizeof(input) - 1)
					input_len = 0;
			}
		}
	}
	printf("bye: %llu calls, %llu lines\n", (unsigned long long)stats.calls,
	       (unsigned long long)stats.lines);
	close(tfd);
	close(epfd);
	fastipc_server_destroy(server);
	return 0;
}
