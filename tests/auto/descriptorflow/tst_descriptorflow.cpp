// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::DescriptorFlow: two flows back to back over two pipes (data, half-close both ways,
// bulk with backpressure), one socket for both directions (SHUT_WR), regular files for input and
// output, a reader that went away (EPIPE fails the write side only), a missing direction. And
// rill::StdioFlow: this binary run as a helper (--stdio-echo) echoes its stdin to its stdout
// through a StdioFlow, driven over pipes by a DeviceFlow on a QProcess.
#include "../shared/testutil.h"

#include <rill/descriptorflow.h>
#include <rill/deviceflow.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <functional>
#include <memory>

using namespace std::chrono_literals;
using rill::CloseResult;
using rill::DescriptorFlow;
using rill::Error;
using rill::Flow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

namespace {

constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * KiB;


struct Pipe {
    int read = -1;
    int write = -1;
};

Pipe makePipe()
{
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0)
        qFatal("pipe2: %s", std::strerror(errno));
    return {fds[0], fds[1]};
}

// Two flows joined by two pipes: A writes into the first, B reads it; B writes the second.
struct PipePair {
    std::unique_ptr<DescriptorFlow> a;
    std::unique_ptr<DescriptorFlow> b;
};

PipePair makePipePair()
{
    const Pipe aToB = makePipe();
    const Pipe bToA = makePipe();
    return {std::make_unique<DescriptorFlow>(bToA.read, aToB.write),
        std::make_unique<DescriptorFlow>(aToB.read, bToA.write)};
}

// Writes size bytes, each write after the previous one was accepted, then half-closes.
QFuture<WriteResult> feed(Flow *flow, qint64 size, qint64 chunk, QCryptographicHash *hash)
{
    auto promise = std::make_shared<QPromise<WriteResult>>();
    promise->start();
    auto next = std::make_shared<std::function<void(qint64)>>();
    *next = [=](qint64 offset) {
        auto settle = [promise, next](const WriteResult &w) {
            promise->addResult(w);
            promise->finish();
            *next = nullptr; // breaks the cycle
        };
        if (offset >= size) {
            flow->shutdown(Flow::Direction::Write).then(flow, settle);
            return;
        }
        const QByteArray data = pattern(qMin(chunk, size - offset), quint32(offset / chunk + 1));
        hash->addData(data);
        flow->write(data).then(flow, [=](const WriteResult &w) {
            if (!w.isOk())
                return settle(w);
            (*next)(offset + data.size());
        });
    };
    (*next)(0);
    return promise->future();
}

// The helper: stdin echoed to stdout through a StdioFlow, to stdin's end; exit 0 when both
// directions ended cleanly, 1 with the error on stderr otherwise.
int stdioEcho(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    QCoreApplication app(argc, argv);
    rill::StdioFlow flow;
    int status = 0;
    // The end of stdin becomes the end of stdout, after its last byte.
    rill::copy(&flow, &flow, rill::CopyOption::ShutdownDestination)
        .then(&flow, [&status](const rill::CopyResult &result) {
            if (result.isError()) {
                std::fprintf(stderr, "%s\n", qPrintable(rill::errorMessage(result.error())));
                status = 1;
            }
            QCoreApplication::exit(status);
        });
    const int code = app.exec();
    rill::DescriptorFlow::restoreDescriptorFlags();
    return code;
}

} // namespace

class TestDescriptorFlow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pipesBothWaysWithHalfClose();
    void bulkThroughPipesWithBackpressure();
    void oneSocketForBothDirections();
    void ptyMasterCannotHalfClose();
    void fileInputReadsToEof();
    void pipeReadsKeepTheirData();
    void fileOutputIsWrittenAndClosed();
    void readerGoneFailsTheWriteSideOnly();
    void stdioFlowInAHelperProcess();
};

void TestDescriptorFlow::initTestCase()
{
    std::signal(SIGPIPE, SIG_IGN); // EPIPE, not death, when a reader goes away
}

void TestDescriptorFlow::pipesBothWaysWithHalfClose()
{
    PipePair p = makePipePair();
    QCOMPARE(p.a->transportName(), QStringLiteral("descriptor"));
    QCOMPARE(p.a->state(), Flow::State::Open);
    p.a->write("request");
    auto shut = p.a->shutdown(Flow::Direction::Write); // closes the pipe: B sees the end
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("request"), ReadResult::eof());
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
    // B answers after A's end.
    p.b->write("answer");
    auto closing = p.b->close();
    const Drained atA = readToEnd(p.a.get());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("answer"), ReadResult::eof());
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    QTRY_COMPARE(p.a->state(), Flow::State::Closed);
}

void TestDescriptorFlow::bulkThroughPipesWithBackpressure()
{
    PipePair p = makePipePair();
    p.a->setHighWaterMark(256 * KiB);
    qint64 mostQueued = 0;
    connect(p.a.get(), &Flow::bytesQueuedChanged, this,
        [&mostQueued](qint64 bytes) { mostQueued = qMax(mostQueued, bytes); });
    const qint64 size = heavyVolume(32 * MiB);
    QCryptographicHash sent(QCryptographicHash::Sha256);
    auto writing = feed(p.a.get(), size, 100 * KiB, &sent);
    QCryptographicHash got(QCryptographicHash::Sha256);
    qint64 received = 0;
    for (;;) {
        auto r = p.b->read();
        ReadResult result;
        RILL_AWAIT(r, result);
        if (!result.isData()) {
            QCOMPARE(result, ReadResult::eof());
            break;
        }
        got.addData(result.data());
        received += result.data().size();
    }
    QCOMPARE(received, size);
    QCOMPARE(got.result(), sent.result());
    WriteResult w;
    RILL_AWAIT(writing, w);
    QCOMPARE(w, WriteResult::ok());
    QVERIFY2(mostQueued <= 256 * KiB + 100 * KiB, qPrintable(QString::number(mostQueued)));
}

void TestDescriptorFlow::oneSocketForBothDirections()
{
    int fds[2];
    QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    DescriptorFlow a(fds[0], fds[0]);
    DescriptorFlow b(fds[1], fds[1]);
    a.write("ping");
    a.shutdown(Flow::Direction::Write); // SHUT_WR: A still reads
    const Drained atB = readToEnd(&b);
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("ping"), ReadResult::eof());
    b.write("pong");
    b.shutdown(Flow::Direction::Write);
    const Drained atA = readToEnd(&a);
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("pong"), ReadResult::eof());
    QTRY_COMPARE(a.state(), Flow::State::Closed);
    QTRY_COMPARE(b.state(), Flow::State::Closed);
}

void TestDescriptorFlow::ptyMasterCannotHalfClose()
{
    // A terminal: one descriptor for both directions, not a socket.
    int master = -1;
    int slave = -1;
    QCOMPARE(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    auto closeSlave = qScopeGuard([slave] { ::close(slave); });
    termios raw {};
    QCOMPARE(::tcgetattr(slave, &raw), 0);
    ::cfmakeraw(&raw); // bytes as they are: no echo, no line editing
    QCOMPARE(::tcsetattr(slave, TCSANOW, &raw), 0);
    DescriptorFlow flow(master, master);
    // What the program on the terminal writes arrives at the flow...
    QCOMPARE(::write(slave, "typed", 5), ssize_t(5));
    const Drained typed = readToEnd(&flow, 5);
    QCOMPARE(typed.data, QByteArrayLiteral("typed"));
    // ... and what the flow writes reaches the program.
    flow.write("shown");
    QByteArray shown;
    QVERIFY(spinUntil([&] {
        pollfd ready {slave, POLLIN, 0};
        if (::poll(&ready, 1, 0) == 1) {
            char buffer[16];
            const ssize_t n = ::read(slave, buffer, sizeof buffer);
            if (n > 0)
                shown.append(buffer, n);
        }
        return shown.size() >= 5;
    }));
    QCOMPARE(shown, QByteArrayLiteral("shown"));
    // It cannot end its output alone: said, not pretended. Reading goes on.
    auto shut = flow.shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QVERIFY2(isKind(w, Error::Kind::Unsupported), qPrintable(debugString(w)));
    QCOMPARE(flow.readState(), Flow::ReadState::Open);
    QCOMPARE(::write(slave, "more", 4), ssize_t(4));
    const Drained more = readToEnd(&flow, 4);
    QCOMPARE(more.data, QByteArrayLiteral("more"));
}

void TestDescriptorFlow::fileInputReadsToEof()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("input"));
    const QByteArray content = pattern(MiB + 77, 2);
    {
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(content);
    }
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    QVERIFY(fd >= 0);
    DescriptorFlow flow(fd, -1);
    const Drained in = readToEnd(&flow);
    RILL_CHECK_DRAINED(in, content, ReadResult::eof());
    // No write side: writing is an error, said once.
    QSignalSpy errors(&flow, &Flow::errorOccurred);
    flow.write("nowhere");
    QTRY_COMPARE(flow.writeState(), Flow::WriteState::Failed);
    QCOMPARE(flow.error().kind(), Error::Kind::InvalidArgument);
    QCOMPARE(errors.size(), 1);
}

void TestDescriptorFlow::pipeReadsKeepTheirData()
{
    // Bulk reads recycle their buffers: a chunk the reader still holds must never be read into.
    PipePair p = makePipePair();
    const QByteArray content = pattern(16 * MiB + 555, 9);
    for (qsizetype at = 0; at < content.size(); at += MiB)
        p.a->write(content.mid(at, MiB));
    auto shut = p.a->shutdown(Flow::Direction::Write);
    const Drained in = readToEnd(p.b.get(), -1, DefaultTimeout, 2);
    RILL_CHECK_DRAINED(in, content, ReadResult::eof());
    QVERIFY(in.kept.size() > 8);
    const qsizetype changed = firstChangedKept(in, content);
    QVERIFY2(changed < 0, qPrintable(QString::number(changed)));
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
}

void TestDescriptorFlow::fileOutputIsWrittenAndClosed()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("output"));
    const int fd
        = ::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    QVERIFY(fd >= 0);
    DescriptorFlow flow(-1, fd);
    const QByteArray content = pattern(2 * MiB + 5, 3);
    flow.write(content.left(MiB));
    flow.write(content.mid(MiB));
    auto closing = flow.close(); // no read side: its end is there at once
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    QFile check(path);
    QVERIFY(check.open(QIODevice::ReadOnly));
    QCOMPARE(check.readAll(), content);
    QCOMPARE(flow.stats().bytesWritten, content.size());
}

void TestDescriptorFlow::readerGoneFailsTheWriteSideOnly()
{
    const Pipe out = makePipe();
    const Pipe in = makePipe();
    DescriptorFlow flow(in.read, out.write);
    ::close(out.read); // whoever read our output is gone
    QSignalSpy errors(&flow, &Flow::errorOccurred);
    flow.write("lost");
    QTRY_COMPARE(flow.writeState(), Flow::WriteState::Failed);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(rill::errorMessage(flow.error()), QStringLiteral("fd %1: broken pipe").arg(out.write));
    QCOMPARE(flow.stats().bytesUnsent, qint64(4));
    auto w = flow.write("more");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QVERIFY2(isKind(wr, Error::Kind::Reset), qPrintable(debugString(wr)));
    // Reading goes on.
    QCOMPARE(::write(in.write, "still", 5), ssize_t(5));
    ::close(in.write);
    const Drained got = readToEnd(&flow);
    RILL_CHECK_DRAINED(got, QByteArrayLiteral("still"), ReadResult::eof());
}

void TestDescriptorFlow::stdioFlowInAHelperProcess()
{
    auto *process = new QProcess;
    process->setProgram(QCoreApplication::applicationFilePath());
    process->setArguments({QStringLiteral("--stdio-echo")});
    process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process->start();
    rill::DeviceFlow helper(process);
    process->setParent(&helper);
    const qint64 size = heavyVolume(8 * MiB);
    QCryptographicHash sent(QCryptographicHash::Sha256);
    auto writing = feed(&helper, size, 64 * KiB, &sent); // then closeWriteChannel(): its Eof
    QCryptographicHash got(QCryptographicHash::Sha256);
    qint64 received = 0;
    for (;;) {
        auto r = helper.read();
        ReadResult result;
        RILL_AWAIT(r, result);
        if (!result.isData()) {
            QCOMPARE(result, ReadResult::eof()); // the helper closed its stdout after the echo
            break;
        }
        got.addData(result.data());
        received += result.data().size();
    }
    QCOMPARE(received, size);
    QCOMPARE(got.result(), sent.result());
    WriteResult w;
    RILL_AWAIT(writing, w);
    QCOMPARE(w, WriteResult::ok());
    QTRY_COMPARE(process->state(), QProcess::NotRunning);
    QCOMPARE(process->exitStatus(), QProcess::NormalExit);
    QCOMPARE(process->exitCode(), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--stdio-echo") == 0)
        return stdioEcho(argc, argv);
    QCoreApplication app(argc, argv);
    TestDescriptorFlow test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_descriptorflow.moc"
