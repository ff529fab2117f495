// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rillcat against socat and against bare splice(2) code (the physical-limit anchors):
// - pipe to tcp: each tool copies its standard input (a pipe this program fills) to a loopback
//   TCP listener here that counts what arrives. The clock runs from starting the tool to the
//   listener seeing the end of the stream.
// - tcp relay: each relay (rillcat --proxy, socat TCP-LISTEN,fork, a bare splice relay) carries
//   a connection from a sender here to the counting listener; the clock runs from the sender's
//   connection to the listener's end of stream.

#include "bench.h"

#include <QtCore/QFileInfo>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryFile>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace bench {

namespace {

constexpr qsizetype PipeWriteSize = 128 * KiB;
constexpr qsizetype SinkReadSize = 256 * KiB;
constexpr int IdleTimeoutMs = 10000; // no progress for this long: the run failed

struct SinkResult
{
    qint64 got = 0;
    bool eof = false;
    bool corrupted = false;
    QString error;
    Clock::time_point eofAt;
};

// Accepts one connection and reads it to its end, counting (and in --verify mode checking).
void sink(int listener, QByteArray verify, SinkResult *out)
{
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, IdleTimeoutMs) <= 0) {
        out->error = QStringLiteral("the tool never connected");
        return;
    }
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        out->error = QStringLiteral("accept failed");
        return;
    }
    const timeval timeout{IdleTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    QByteArray buffer(SinkReadSize, Qt::Uninitialized);
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data(), size_t(buffer.size()), 0);
        if (n == 0) {
            out->eof = true;
            out->eofAt = Clock::now();
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out->error = errno == EAGAIN ? QStringLiteral("no data for %1 s").arg(IdleTimeoutMs / 1000)
                                         : QStringLiteral("recv failed");
            break;
        }
        if (!verify.isEmpty() && !out->corrupted && !checkPattern(buffer.constData(), n, out->got, verify))
            out->corrupted = true;
        out->got += n;
    }
    ::close(fd);
}

// Fills the pipe with `total` bytes, then closes it (the tool's end of input).
void produce(int fd, qint64 total, QByteArray chunk, std::atomic_bool *failed)
{
    for (qint64 sent = 0; sent < total;) {
        const ssize_t n = ::write(fd, chunk.constData(), size_t(qMin<qint64>(chunk.size(), total - sent)));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            failed->store(true);
            break;
        }
        sent += n;
        // keep the pattern aligned to the stream offset after a short write
        if (n != chunk.size())
            chunk = chunk.mid(n) + chunk.left(n);
    }
    ::close(fd);
}

QString tail(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QByteArray all = f.readAll().trimmed();
    return QString::fromLocal8Bit(all.right(300));
}

// A loopback TCP listener on a free port; -1 on failure.
int listenLoopback(quint16 *port)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof in;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&in), sizeof in) != 0 || ::listen(listener, 4) != 0
        || ::getsockname(listener, reinterpret_cast<sockaddr *>(&in), &length) != 0) {
        ::close(listener);
        return -1;
    }
    *port = ntohs(in.sin_port);
    return listener;
}

// A blocking connection to 127.0.0.1:port, retried while nobody listens yet (a relay starting);
// -1 if none comes within the idle timeout.
int connectLoopback(quint16 port)
{
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons(port);
    for (int attempt = 0; attempt < IdleTimeoutMs / 5; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&in), sizeof in) == 0)
            return fd;
        ::close(fd);
        if (errno != ECONNREFUSED)
            return -1;
        ::usleep(5000);
    }
    return -1;
}

// The bare pipe-to-socket sender (an anchor): splice(2) from the pipe to the connection, the
// way a C program at the kernel's speed does it.
void bareSpliceSender(int input, quint16 port, std::atomic_bool *failed)
{
    const int fd = connectLoopback(port);
    if (fd < 0) {
        failed->store(true);
        ::close(input);
        return;
    }
    ::fcntl(input, F_SETPIPE_SZ, 1024 * 1024);
    for (;;) {
        const ssize_t n = ::splice(input, nullptr, fd, nullptr, 1024 * 1024, SPLICE_F_MOVE);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR) {
            failed->store(true);
            break;
        }
    }
    ::close(input);
    ::close(fd); // the end of stream (nothing comes back)
}

// An empty argvTemplate runs bareSpliceSender() in a thread instead of a tool.
RunResult runTool(const Env &env, const QStringList &argvTemplate, qint64 total)
{
    quint16 sinkPort = 0;
    const int listener = listenLoopback(&sinkPort);
    if (listener < 0)
        return RunResult::failure(QStringLiteral("cannot listen"));
    const QString port = QString::number(sinkPort);
    QList<QByteArray> args;
    for (QString a : argvTemplate)
        args << a.replace(QStringLiteral("PORT"), port).toLocal8Bit();
    std::vector<char *> argv;
    for (QByteArray &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        ::close(listener);
        return RunResult::failure(QStringLiteral("pipe failed"));
    }
    QTemporaryFile errors(env.tempDir + QStringLiteral("/tool-stderr-XXXXXX"));
    errors.open();
    const QByteArray errorsPath = QFile::encodeName(errors.fileName());

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[0], 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, errorsPath.constData(), O_WRONLY | O_TRUNC, 0);

    const QByteArray chunk = patternChunk(PipeWriteSize);
    SinkResult result;
    std::thread sinkThread(sink, listener, env.options.verify ? chunk : QByteArray(), &result);
    std::atomic_bool produceFailed{false};
    const Clock::time_point start = Clock::now();
    if (argvTemplate.isEmpty()) {
        posix_spawn_file_actions_destroy(&actions);
        std::atomic_bool senderFailed{false};
        std::thread sender(bareSpliceSender, pipeFds[0], sinkPort, &senderFailed);
        std::thread producer(produce, pipeFds[1], total, chunk, &produceFailed);
        sinkThread.join();
        sender.join();
        producer.join();
        ::close(listener);
        if (!result.error.isEmpty() || senderFailed)
            return RunResult::failure(QStringLiteral("bare splice sender: %1").arg(result.error));
        if (result.corrupted || result.got != total)
            return RunResult::failure(QStringLiteral("bare splice sender delivered %1 of %2 bytes")
                                              .arg(result.got)
                                              .arg(total));
        return RunResult::success(double(total) / MiB / seconds(start, result.eofAt));
    }
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[0]);
    if (spawned != 0) {
        ::close(pipeFds[1]);
        ::shutdown(listener, SHUT_RDWR);
        sinkThread.join();
        ::close(listener);
        return RunResult::failure(QStringLiteral("cannot start %1").arg(argvTemplate.first()));
    }
    std::thread producer(produce, pipeFds[1], total, chunk, &produceFailed);
    sinkThread.join();
    // The sink is done (end of stream or failure): the tool should exit by itself now.
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 200 && !exited; ++i) {
        exited = ::waitpid(pid, &status, WNOHANG) == pid;
        if (!exited)
            ::usleep(50000);
    }
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    producer.join();
    ::close(listener);

    const QString who = QFileInfo(argvTemplate.first()).fileName();
    if (!result.error.isEmpty())
        return RunResult::failure(QStringLiteral("%1: %2; %3").arg(who, result.error, tail(errors.fileName())));
    if (result.corrupted)
        return RunResult::failure(QStringLiteral("%1 delivered wrong bytes").arg(who));
    if (result.got != total)
        return RunResult::failure(QStringLiteral("%1 delivered %2 of %3 bytes; %4").arg(who).arg(result.got).arg(total).arg(tail(errors.fileName())));
    if (!exited)
        return RunResult::failure(QStringLiteral("%1 did not exit after the end of its input").arg(who));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return RunResult::failure(QStringLiteral("%1 exited with status %2; %3").arg(who).arg(WEXITSTATUS(status)).arg(tail(errors.fileName())));
    return RunResult::success(double(total) / MiB / seconds(start, result.eofAt));
}


// The bare relay (an anchor): one connection, client to target through a 1 MiB pipe with
// splice(2), then the end of stream; blocking descriptors, no event loop.
void bareSpliceRelay(int listener, quint16 targetPort, std::atomic_bool *failed)
{
    pollfd p{listener, POLLIN, 0};
    const int client = ::poll(&p, 1, IdleTimeoutMs) > 0
            ? ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)
            : -1;
    const int target = client >= 0 ? connectLoopback(targetPort) : -1;
    int pipe[2] = {-1, -1};
    if (client < 0 || target < 0 || ::pipe2(pipe, O_CLOEXEC) != 0) {
        failed->store(true);
    } else {
        ::fcntl(pipe[1], F_SETPIPE_SZ, 1024 * 1024);
        for (bool done = false; !done;) {
            ssize_t n = ::splice(client, nullptr, pipe[1], nullptr, 1024 * 1024, SPLICE_F_MOVE);
            if (n <= 0) {
                failed->store(n < 0);
                break;
            }
            while (n > 0) {
                const ssize_t m = ::splice(pipe[0], nullptr, target, nullptr, size_t(n), SPLICE_F_MOVE);
                if (m <= 0) {
                    failed->store(true);
                    done = true;
                    break;
                }
                n -= m;
            }
        }
        ::shutdown(target, SHUT_WR);
        char byte;
        while (::recv(target, &byte, 1, 0) > 0) {
        }
    }
    for (int fd : {client, target, pipe[0], pipe[1]}) {
        if (fd >= 0)
            ::close(fd);
    }
}

// Sends total bytes of the pattern on fd, ends its stream, and waits for the relay's end.
void sendThrough(int fd, qint64 total, QByteArray chunk, std::atomic_bool *failed)
{
    const timeval timeout{IdleTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    for (qint64 sent = 0; sent < total;) {
        const ssize_t n = ::send(fd, chunk.constData(), size_t(qMin<qint64>(chunk.size(), total - sent)),
                                 MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            failed->store(true);
            return;
        }
        sent += n;
        if (n != chunk.size())
            chunk = chunk.mid(n) + chunk.left(n);
    }
    ::shutdown(fd, SHUT_WR);
    char byte;
    while (::recv(fd, &byte, 1, 0) > 0) {
    }
}

// One relay run. An empty argvTemplate runs bareSpliceRelay() in a thread; else the tool, with
// LPORT (where it listens) and PORT (the counting listener) in its arguments, and extraEnv.
RunResult runRelay(const Env &env, const QStringList &argvTemplate, const QByteArrayList &extraEnv,
                   qint64 total)
{
    quint16 sinkPort = 0;
    const int listener = listenLoopback(&sinkPort);
    quint16 relayPort = 0;
    const int relayListener = listenLoopback(&relayPort);
    if (listener < 0 || relayListener < 0) {
        for (int fd : {listener, relayListener})
            if (fd >= 0)
                ::close(fd);
        return RunResult::failure(QStringLiteral("cannot listen"));
    }
    const QString who = argvTemplate.isEmpty() ? QStringLiteral("bare splice relay")
                                               : QFileInfo(argvTemplate.first()).fileName();
    std::atomic_bool relayFailed{false};
    std::thread relay;
    pid_t pid = -1;
    QTemporaryFile errors(env.tempDir + QStringLiteral("/relay-stderr-XXXXXX"));
    errors.open();
    if (argvTemplate.isEmpty()) {
        relay = std::thread(bareSpliceRelay, relayListener, sinkPort, &relayFailed);
    } else {
        // The tool listens on the port itself: ours is closed first (the port stays free on
        // loopback for the instant in between; a clash shows as a failed run).
        ::close(relayListener);
        QList<QByteArray> args;
        for (QString a : argvTemplate) {
            a.replace(QStringLiteral("LPORT"), QString::number(relayPort));
            args << a.replace(QStringLiteral("PORT"), QString::number(sinkPort)).toLocal8Bit();
        }
        std::vector<char *> argv;
        for (QByteArray &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        QByteArrayList environment = extraEnv;
        for (char **e = environ; *e; ++e)
            environment << QByteArray(*e);
        std::vector<char *> envp;
        for (QByteArray &e : environment)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        const QByteArray errorsPath = QFile::encodeName(errors.fileName());
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, errorsPath.constData(), O_WRONLY | O_TRUNC, 0);
        const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0) {
            ::close(listener);
            return RunResult::failure(QStringLiteral("cannot start %1").arg(who));
        }
    }
    const QByteArray chunk = patternChunk(PipeWriteSize);
    SinkResult result;
    std::thread sinkThread(sink, listener, env.options.verify ? chunk : QByteArray(), &result);
    const int client = connectLoopback(relayPort);
    const Clock::time_point start = Clock::now();
    std::atomic_bool sendFailed{false};
    std::thread sender;
    if (client >= 0)
        sender = std::thread(sendThrough, client, total, chunk, &sendFailed);
    else
        ::shutdown(listener, SHUT_RDWR); // nothing will come: let the sink give up now
    sinkThread.join();
    if (sender.joinable())
        sender.join();
    if (client >= 0)
        ::close(client);
    if (relay.joinable())
        relay.join();
    if (pid > 0) {
        ::kill(pid, SIGTERM); // both relays serve on until told to stop
        int status = 0;
        bool exited = false;
        for (int i = 0; i < 100 && !exited; ++i) {
            exited = ::waitpid(pid, &status, WNOHANG) == pid;
            if (!exited)
                ::usleep(20000);
        }
        if (!exited) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
    }
    ::close(listener);
    if (client < 0)
        return RunResult::failure(QStringLiteral("%1 never listened; %2").arg(who, tail(errors.fileName())));
    if (!result.error.isEmpty() || relayFailed || sendFailed)
        return RunResult::failure(QStringLiteral("%1: %2; %3").arg(who, result.error, tail(errors.fileName())));
    if (result.corrupted || result.got != total)
        return RunResult::failure(QStringLiteral("%1 delivered %2 of %3 bytes").arg(who).arg(result.got).arg(total));
    return RunResult::success(double(total) / MiB / seconds(start, result.eofAt));
}

void runProxyRows(Env &env, Report &report, const QString &rillcat, const QString &socat, int reps)
{
    const qint64 total = env.options.pick<qint64>(2 * GiB, 512 * MiB, 8 * MiB);
    const QStringList rillcatArgs{rillcat, QStringLiteral("--proxy"), QStringLiteral("tcp:127.0.0.1:LPORT"),
                                  QStringLiteral("tcp:127.0.0.1:PORT")};
    const QStringList socatArgs{socat, QStringLiteral("TCP-LISTEN:LPORT,bind=127.0.0.1,reuseaddr,fork"),
                                QStringLiteral("TCP:127.0.0.1:PORT")};
    const QByteArrayList noSplice{QByteArrayLiteral("RILL_SPLICE=0")};
    QList<RunResult> rillRuns, copyRuns, socatRuns, bareRuns;
    std::printf("rillcat --proxy:");
    std::fflush(stdout);
    for (int rep = 0; rep < reps; ++rep) {
        // Turns, in a rotating order, so that drift spreads over the contenders alike.
        for (int k = 0; k < 4; ++k) {
            switch ((k + rep) % 4) {
            case 0: rillRuns << runRelay(env, rillcatArgs, {}, total); break;
            case 1: socatRuns << runRelay(env, socatArgs, {}, total); break;
            case 2: bareRuns << runRelay(env, {}, {}, total); break;
            case 3: copyRuns << runRelay(env, rillcatArgs, noSplice, total); break;
            }
        }
        std::printf(" .");
        std::fflush(stdout);
    }
    std::printf("\n");
    Section section;
    section.part = QStringLiteral("rillcat");
    section.title = QStringLiteral("a TCP relay on loopback, from the sender's connection to the "
                                   "listener's end of stream");
    section.unit = QStringLiteral("MiB/s");
    section.decimals = 0;
    section.rillColumn = QStringLiteral("rillcat --proxy");
    section.baselineColumns = {QStringLiteral("socat fork"), QStringLiteral("bare splice relay"),
                               QStringLiteral("rillcat --proxy, RILL_SPLICE=0")};
    section.notes << QStringLiteral("`rillcat --proxy tcp:127.0.0.1:LPORT tcp:127.0.0.1:PORT` (splice) "
                                    "against `socat TCP-LISTEN:LPORT,fork TCP:127.0.0.1:PORT`, a bare C "
                                    "relay with splice(2) through a 1 MiB pipe (a thread of this "
                                    "program), and rillcat with splicing off; a sender here writes %1 "
                                    "pieces; runs take turns, median of %2")
                             .arg(formatBytes(PipeWriteSize))
                             .arg(reps);
    Row row;
    row.label = QStringLiteral("tcp relay");
    row.volume = formatBytes(total);
    row.rill = summarize(QStringLiteral("rillcat --proxy"), rillRuns);
    row.baselines = {summarize(QStringLiteral("socat"), socatRuns),
                     summarize(QStringLiteral("bare splice relay"), bareRuns),
                     summarize(QStringLiteral("rillcat RILL_SPLICE=0"), copyRuns)};
    row.targets << ratioTarget(row, 0, 2.0, true, QStringLiteral(">=2.00x socat"))
                << ratioTarget(row, 1, 0.9, true, QStringLiteral(">=0.90x bare splice relay"));
    section.rows << row;
    report.add(section);
}

} // namespace

void runRillcat(Env &env, Report &report)
{
    QString rillcat = env.options.rillcatPath;
    if (rillcat.isEmpty())
        rillcat = QStringLiteral(RILL_BINARY_DIR "/app/rillcat/rillcat");
    if (!QFileInfo(rillcat).isExecutable()) {
        report.addSkipped(QStringLiteral("rillcat"), QStringLiteral("rillcat not built (no %1)").arg(rillcat));
        return;
    }
    const QString socat = QStandardPaths::findExecutable(QStringLiteral("socat"));
    if (socat.isEmpty()) {
        report.addSkipped(QStringLiteral("rillcat"), QStringLiteral("socat not installed"));
        return;
    }
    const int reps = env.options.repetitions(3, 2);
    const qint64 total = env.options.pick<qint64>(2 * GiB, 512 * MiB, 8 * MiB);
    const QStringList rillcatArgs{rillcat, QStringLiteral("tcp:127.0.0.1:PORT")};
    const QStringList socatArgs{socat, QStringLiteral("-b"), QStringLiteral("131072"), QStringLiteral("-u"),
                                QStringLiteral("STDIN"), QStringLiteral("TCP:127.0.0.1:PORT")};
    QList<RunResult> rillRuns, socatRuns, bareRuns;
    std::printf("rillcat:");
    std::fflush(stdout);
    for (int rep = 0; rep < reps; ++rep) {
        for (int k = 0; k < 3; ++k) {
            switch ((k + rep) % 3) {
            case 0: rillRuns << runTool(env, rillcatArgs, total); break;
            case 1: socatRuns << runTool(env, socatArgs, total); break;
            case 2: bareRuns << runTool(env, {}, total); break;
            }
        }
        std::printf(" .");
        std::fflush(stdout);
    }
    std::printf("\n");
    Section section;
    section.part = QStringLiteral("rillcat");
    section.title = QStringLiteral("a pipe to a loopback TCP listener, from starting the tool to the "
                                   "listener's end of stream");
    section.unit = QStringLiteral("MiB/s");
    section.decimals = 0;
    section.rillColumn = QStringLiteral("rillcat");
    section.baselineColumns = {QStringLiteral("socat -b 131072"), QStringLiteral("bare splice sender")};
    section.notes << QStringLiteral("`rillcat tcp:127.0.0.1:PORT` against `socat -b 131072 -u STDIN "
                                    "TCP:127.0.0.1:PORT`; this program fills the pipe in %1 writes and "
                                    "reads the listener in %2 pieces; the bare sender is C code splicing "
                                    "the pipe to the socket (a thread here); runs take turns, median of %3")
                             .arg(formatBytes(PipeWriteSize), formatBytes(SinkReadSize))
                             .arg(reps);
    Row row;
    row.label = QStringLiteral("pipe to tcp");
    row.volume = formatBytes(total);
    row.rill = summarize(QStringLiteral("rillcat"), rillRuns);
    row.baselines = {summarize(QStringLiteral("socat"), socatRuns),
                     summarize(QStringLiteral("bare splice sender"), bareRuns)};
    row.targets << ratioTarget(row, 0, 2.0, true, QStringLiteral(">=2.00x socat"))
                << ratioTarget(row, 1, 0.9, true, QStringLiteral(">=0.90x bare splice sender"));
    section.rows << row;
    report.add(section);

    runProxyRows(env, report, rillcat, socat, reps);
}

} // namespace bench
