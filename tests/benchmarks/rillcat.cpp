// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rillcat against socat: each tool copies its standard input (a pipe this program fills) to a
// loopback TCP listener here that counts what arrives. The clock runs from starting the tool
// to the listener seeing the end of the stream.

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

RunResult runTool(const Env &env, const QStringList &argvTemplate, qint64 total)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof in;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&in), sizeof in) != 0 || ::listen(listener, 4) != 0
        || ::getsockname(listener, reinterpret_cast<sockaddr *>(&in), &length) != 0) {
        ::close(listener);
        return RunResult::failure(QStringLiteral("cannot listen"));
    }
    const QString port = QString::number(ntohs(in.sin_port));
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
    QList<RunResult> rillRuns, socatRuns;
    std::printf("rillcat:");
    std::fflush(stdout);
    for (int rep = 0; rep < reps; ++rep) {
        if (rep % 2 == 0) {
            rillRuns << runTool(env, rillcatArgs, total);
            socatRuns << runTool(env, socatArgs, total);
        } else {
            socatRuns << runTool(env, socatArgs, total);
            rillRuns << runTool(env, rillcatArgs, total);
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
    section.baselineColumns = {QStringLiteral("socat -b 131072")};
    section.notes << QStringLiteral("`rillcat tcp:127.0.0.1:PORT` against `socat -b 131072 -u STDIN "
                                    "TCP:127.0.0.1:PORT`; this program fills the pipe in %1 writes and "
                                    "reads the listener in %2 pieces; runs alternate, median of %3")
                             .arg(formatBytes(PipeWriteSize), formatBytes(SinkReadSize))
                             .arg(reps);
    Row row;
    row.label = QStringLiteral("pipe to tcp");
    row.volume = formatBytes(total);
    row.rill = summarize(QStringLiteral("rillcat"), rillRuns);
    row.baselines = {summarize(QStringLiteral("socat"), socatRuns)};
    row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x socat"));
    section.rows << row;
    report.add(section);
}

} // namespace bench
