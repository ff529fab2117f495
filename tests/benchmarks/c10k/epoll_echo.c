/* Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT */
/*
 * c10k-epoll-echo: the floor of rill-bench's c10k part. A plain single-threaded echo server:
 * level-triggered epoll, nonblocking sockets, no library. Listens on 127.0.0.1 on a free port,
 * prints the port on stdout, and serves until stdin closes (the benchmark ends) or it is killed.
 *
 * Bytes the kernel would not take at once wait in a per-connection buffer, and the connection is
 * not read again until they are sent, so a slow reader holds back only its own connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct pending {
    size_t length;
    size_t offset;
    char data[];
};

/* Indexed by descriptor; calloc'd for the descriptor limit, so its pages are touched only for
 * descriptors in use. */
static struct pending **pendings;
static int epfd;

static void die(const char *what)
{
    fprintf(stderr, "c10k-epoll-echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void drop(int fd)
{
    free(pendings[fd]);
    pendings[fd] = NULL;
    close(fd); /* also leaves the epoll set */
}

static void watch(int fd, unsigned events, int op)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd, op, fd, &ev) < 0)
        die("epoll_ctl");
}

/* Sends what is left of fd's pending bytes, or data; keeps the rest. 0 when all is sent. */
static int send_or_keep(int fd, const char *data, size_t length)
{
    size_t sent = 0;
    while (sent < length) {
        const ssize_t n = send(fd, data + sent, length - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return -1;
        }
    }
    if (sent == length)
        return 0;
    struct pending *p = malloc(sizeof *p + (length - sent));
    if (!p)
        return -1;
    p->length = length - sent;
    p->offset = 0;
    memcpy(p->data, data + sent, length - sent);
    pendings[fd] = p;
    watch(fd, EPOLLOUT, EPOLL_CTL_MOD); /* stop reading until the echo is out */
    return 1;
}

static void on_writable(int fd)
{
    struct pending *p = pendings[fd];
    pendings[fd] = NULL;
    const int r = send_or_keep(fd, p->data + p->offset, p->length - p->offset);
    free(p);
    if (r < 0)
        drop(fd);
    else if (r == 0)
        watch(fd, EPOLLIN, EPOLL_CTL_MOD);
}

static void on_readable(int fd)
{
    char buffer[65536];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
        if (send_or_keep(fd, buffer, (size_t)n) < 0)
            drop(fd);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        drop(fd);
    }
}

static void on_listener(int listener)
{
    for (;;) {
        const int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            die("accept4"); /* out of descriptors: the benchmark's limits are wrong */
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as every other server */
        watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
}

int main(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    getrlimit(RLIMIT_NOFILE, &limit);
    pendings = calloc((size_t)limit.rlim_cur, sizeof *pendings);
    if (!pendings)
        die("calloc");

    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0)
        die("socket");
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    /* Qt's and Rill's listeners use a backlog of 50; the same here, so none gets an advantage */
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 50) < 0
        || getsockname(listener, (struct sockaddr *)&address, &length) < 0)
        die("listen");

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    watch(listener, EPOLLIN, EPOLL_CTL_ADD);
    watch(STDIN_FILENO, EPOLLIN, EPOLL_CTL_ADD);

    printf("%u\n", (unsigned)ntohs(address.sin_port));
    fflush(stdout);

    struct epoll_event events[256];
    for (;;) {
        const int n = epoll_wait(epfd, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listener) {
                on_listener(listener);
            } else if (fd == STDIN_FILENO) {
                char c[64];
                if (read(STDIN_FILENO, c, sizeof c) <= 0)
                    _exit(0); /* the benchmark closed our stdin, or died */
            } else if (pendings[fd]) {
                on_writable(fd); /* also on an error or hang-up: the send tells */
            } else {
                on_readable(fd);
            }
        }
    }
}
