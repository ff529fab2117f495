// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The c10k part's client: rill-bench --c10k-client PORT SERVER_PID, one child process per
// server, pinned by its parent to the other core. Plain epoll and no Qt, so it costs as little
// as the floor server and never waits on Qt's dispatcher itself. The parent drives it with one
// command a line on stdin; it answers each with one line on stdout:
//   connect N              open connections until N are open, each proven served by one
//                          round trip; "ok N SECONDS"
//   run BUSY WINDOW WARMUP keep BUSY connections busy (one 64-byte message outstanding each,
//                          every echo checked), count round trips in a WINDOW of ms after
//                          WARMUP ms, then let the outstanding ones come back; "ok ROUND_TRIPS
//                          SECONDS SERVER_CPU_NS CLIENT_CPU_NS"
// Errors answer "error WHY". On "quit" or the end of stdin it resets every connection (no
// TIME_WAIT left behind) and exits.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

namespace {

constexpr int MessageSize = 64;
// Connections being set up at once: below the listen backlog of 50 every server uses, so the
// kernel never drops a handshake (which would stall it for a second).
constexpr int ConnectBatch = 32;
constexpr double ConnectTimeout = 300;
constexpr double DrainTimeout = 30;

struct Conn
{
    int fd = -1;
    uint32_t seq = 0;
    uint8_t got = 0;          // bytes of the echo received so far
    bool outstanding = false; // a message was sent and its echo is not back yet
    bool connecting = false;
    char rx[MessageSize];
};

double now()
{
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

long long cpuNs(clockid_t clock)
{
    timespec t{};
    ::clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

// The server's CPU time, all of its threads: schedstat's run time (ns) where the kernel has it,
// else utime + stime in clock ticks.
long long serverCpuNs(int pid)
{
    long long total = 0;
    bool any = false;
    const std::string taskDir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR *dir = ::opendir(taskDir.c_str())) {
        while (dirent *e = ::readdir(dir)) {
            if (e->d_name[0] == '.')
                continue;
            if (FILE *f = std::fopen((taskDir + "/" + e->d_name + "/schedstat").c_str(), "r")) {
                long long ns = 0;
                if (std::fscanf(f, "%lld", &ns) == 1) {
                    total += ns;
                    any = true;
                }
                std::fclose(f);
            }
        }
        ::closedir(dir);
    }
    if (any)
        return total;
    FILE *f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f)
        return -1;
    char buffer[1024];
    const size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
    std::fclose(f);
    buffer[n] = 0;
    const char *p = std::strrchr(buffer, ')'); // the command name may hold spaces
    unsigned long long utime = 0, stime = 0;
    if (!p || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (long long)((utime + stime) * (1000000000ULL / (unsigned long long)::sysconf(_SC_CLK_TCK)));
}

// The message for connection index, sequence seq: every byte depends on both, so a byte from
// another connection or an earlier message is caught.
void message(uint32_t index, uint32_t seq, char *out)
{
    std::memcpy(out, &index, 4);
    std::memcpy(out + 4, &seq, 4);
    for (int i = 8; i < MessageSize; ++i)
        out[i] = char((index * 131u + seq * 31u + uint32_t(i) * 7u) & 0xff);
}

class Client
{
public:
    Client(uint16_t port, int serverPid) : m_port(port), m_serverPid(serverPid)
    {
        m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    }

    std::string connectTo(int count);
    std::string run(int busy, int windowMs, int warmupMs);
    void resetAll();

private:
    bool openOne(std::string &error);
    bool send(uint32_t index, std::string &error);
    // Handles one ready connection; false and error on failure.
    bool onReady(uint32_t index, uint32_t events, std::string &error);

    uint16_t m_port;
    int m_serverPid;
    int m_epoll = -1;
    std::vector<Conn> m_conns;
    int m_open = 0;        // connections set up and proven
    int m_settingUp = 0;   // connecting, or waiting for their first echo
    long long m_roundTrips = 0;
    int m_outstanding = 0;
    bool m_sending = false; // run: send the next message when an echo is back
};

bool Client::openOne(std::string &error)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(m_port);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) < 0 && errno != EINPROGRESS) {
        error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return false;
    }
    Conn c;
    c.fd = fd;
    c.connecting = true;
    m_conns.push_back(c);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = uint32_t(m_conns.size() - 1);
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
    ++m_settingUp;
    return true;
}

bool Client::send(uint32_t index, std::string &error)
{
    Conn &c = m_conns[index];
    char out[MessageSize];
    message(index, c.seq, out);
    // The socket's send buffer is empty (one message at a time), so it takes all 64 bytes.
    const ssize_t n = ::send(c.fd, out, MessageSize, MSG_NOSIGNAL);
    if (n != MessageSize) {
        error = "send: " + (n < 0 ? std::string(std::strerror(errno)) : std::to_string(n) + " of 64 bytes");
        return false;
    }
    c.outstanding = true;
    c.got = 0;
    ++m_outstanding;
    return true;
}

bool Client::onReady(uint32_t index, uint32_t events, std::string &error)
{
    Conn &c = m_conns[index];
    if (c.connecting) {
        int soError = 0;
        socklen_t length = sizeof soError;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soError, &length);
        if (soError != 0) {
            error = std::string("connect: ") + std::strerror(soError);
            return false;
        }
        if (!(events & EPOLLOUT))
            return true;
        c.connecting = false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = index;
        ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
        return send(index, error); // the first round trip proves the server serves it
    }
    // Reads only what the outstanding echo still lacks: anything more is an error found on the
    // next read.
    char scratch[MessageSize];
    char *into = c.outstanding ? c.rx + c.got : scratch;
    const ssize_t n = ::recv(c.fd, into, size_t(c.outstanding ? MessageSize - c.got : MessageSize), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0) {
        error = n == 0 ? "the server closed connection " + std::to_string(index)
                       : std::string("recv: ") + std::strerror(errno);
        return false;
    }
    if (!c.outstanding) {
        error = "bytes nobody asked for on connection " + std::to_string(index);
        return false;
    }
    c.got = uint8_t(c.got + n);
    if (c.got < MessageSize)
        return true;
    char expected[MessageSize];
    message(index, c.seq, expected);
    if (std::memcmp(expected, c.rx, MessageSize) != 0) {
        error = "wrong echo on connection " + std::to_string(index);
        return false;
    }
    c.outstanding = false;
    --m_outstanding;
    ++c.seq;
    if (m_settingUp > 0 && c.seq == 1) { // the first echo: set up
        --m_settingUp;
        ++m_open;
        return true;
    }
    ++m_roundTrips;
    return m_sending ? send(index, error) : true;
}

std::string Client::connectTo(int count)
{
    std::string error;
    const double deadline = now() + ConnectTimeout;
    std::vector<epoll_event> events(1024);
    while (m_open < count) {
        while (m_open + m_settingUp < count && m_settingUp < ConnectBatch) {
            if (!openOne(error))
                return "error " + error + " after " + std::to_string(m_open) + " connections";
        }
        const int n = ::epoll_wait(m_epoll, events.data(), int(events.size()), 1000);
        if (n < 0 && errno != EINTR)
            return std::string("error epoll_wait: ") + std::strerror(errno);
        for (int i = 0; i < n; ++i) {
            if (!onReady(events[i].data.u32, events[i].events, error))
                return "error " + error;
        }
        if (now() > deadline)
            return "error timed out with " + std::to_string(m_open) + " of " + std::to_string(count)
                    + " connections";
    }
    char out[64];
    std::snprintf(out, sizeof out, "ok %d %.6f", m_open, now() - (deadline - ConnectTimeout));
    return out;
}

std::string Client::run(int busy, int windowMs, int warmupMs)
{
    std::string error;
    busy = std::min(busy, m_open);
    if (busy <= 0)
        return "error nothing to run";
    m_roundTrips = 0;
    m_sending = true;
    // Busy connections spread over all of them, not only the oldest.
    for (int k = 0; k < busy; ++k) {
        if (!send(uint32_t(int64_t(k) * m_open / busy), error))
            return "error " + error;
    }
    const double start = now();
    const double windowStart = start + warmupMs / 1000.0;
    const double windowEnd = windowStart + windowMs / 1000.0;
    bool inWindow = false;
    double t0 = 0, t1 = 0;
    long long count0 = 0, count1 = 0, server0 = 0, server1 = 0, client0 = 0, client1 = 0;
    std::vector<epoll_event> events(1024);
    double drainDeadline = 0;
    for (;;) {
        const double t = now();
        if (!inWindow && m_sending && t >= windowStart) {
            inWindow = true;
            t0 = t;
            count0 = m_roundTrips;
            server0 = serverCpuNs(m_serverPid);
            client0 = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
        } else if (inWindow && t >= windowEnd) {
            inWindow = false;
            m_sending = false; // the outstanding messages come back; no new ones
            t1 = now();
            count1 = m_roundTrips;
            server1 = serverCpuNs(m_serverPid);
            client1 = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
            drainDeadline = t1 + DrainTimeout;
        }
        if (!m_sending && m_outstanding == 0)
            break;
        if (!m_sending && t > drainDeadline)
            return "error " + std::to_string(m_outstanding) + " echoes did not come back";
        const double until = m_sending ? (inWindow ? windowEnd : windowStart) : drainDeadline;
        const int timeoutMs = std::max(0, int((until - t) * 1000) + 1);
        const int n = ::epoll_wait(m_epoll, events.data(), int(events.size()), timeoutMs);
        if (n < 0 && errno != EINTR)
            return std::string("error epoll_wait: ") + std::strerror(errno);
        for (int i = 0; i < n; ++i) {
            if (!onReady(events[i].data.u32, events[i].events, error)) {
                m_sending = false;
                return "error " + error;
            }
        }
    }
    if (server0 < 0 || server1 < 0)
        server0 = server1 = 0;
    char out[160];
    std::snprintf(out, sizeof out, "ok %lld %.6f %lld %lld", count1 - count0, t1 - t0, server1 - server0,
                  client1 - client0);
    return out;
}

void Client::resetAll()
{
    // A reset instead of a FIN: thousands of connections in TIME_WAIT would outlive the run.
    const linger reset{1, 0};
    for (const Conn &c : m_conns) {
        ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::close(c.fd);
    }
    m_conns.clear();
}

} // namespace

int c10kClient(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rill-bench --c10k-client PORT SERVER_PID\n");
        return 2;
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    Client client(uint16_t(std::atoi(argv[0])), std::atoi(argv[1]));
    char line[256];
    while (std::fgets(line, sizeof line, stdin)) {
        int a = 0, b = 0, c = 0;
        std::string reply;
        if (std::sscanf(line, "connect %d", &a) == 1)
            reply = client.connectTo(a);
        else if (std::sscanf(line, "run %d %d %d", &a, &b, &c) == 3)
            reply = client.run(a, b, c);
        else if (std::strncmp(line, "quit", 4) == 0)
            break;
        else
            reply = "error unknown command";
        std::printf("%s\n", reply.c_str());
        std::fflush(stdout);
    }
    client.resetAll();
    return 0;
}

} // namespace bench
