// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::DeviceFlow: a QProcess (cat both ways at once; sha256sum fed 64 MiB with backpressure,
// then half-closed, its digest against QCryptographicHash; a process that dies with bytes
// queued, one that crashes, one that never starts), a QLocalSocket pair over socketpair() (a
// sequential device without half-close: Unsupported), QFile read to its end, written, and
// misused, and a device deleted, not open, or in another thread.
#include "../shared/testutil.h"

#include <rill/deviceflow.h>

#include <QtCore/QBuffer>
#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QLocalSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>

using namespace std::chrono_literals;
using rill::CloseResult;
using rill::DeviceFlow;
using rill::Error;
using rill::Flow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

namespace {

constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * KiB;


// A started process owned by its flow, or a skip when the program is missing.
struct ProcessFlow {
    QProcess *process = nullptr;
    std::unique_ptr<DeviceFlow> flow;
};

ProcessFlow startProcess(const QString &program, const QStringList &arguments = {})
{
    ProcessFlow p;
    p.process = new QProcess;
    p.process->setProgram(program);
    p.process->setArguments(arguments);
    p.process->setProcessChannelMode(QProcess::SeparateChannels);
    p.process->start();
    p.flow = std::make_unique<DeviceFlow>(p.process);
    p.process->setParent(p.flow.get());
    return p;
}

// Writes size bytes (chunk by chunk, each write after the previous one was accepted: the
// backpressure), then half-closes; feeds hash with what it wrote. Resolves with the first
// result that was not Ok, or Ok after the shutdown.
QFuture<WriteResult> feed(Flow *flow, qint64 size, qint64 chunk, QCryptographicHash *hash)
{
    auto promise = std::make_shared<QPromise<WriteResult>>();
    promise->start();
    auto next = std::make_shared<std::function<void(qint64)>>();
    *next = [=](qint64 offset) {
        if (offset >= size) {
            flow->shutdown(Flow::Direction::Write)
                .then(flow, [promise, next](const WriteResult &w) {
                    promise->addResult(w);
                    promise->finish();
                    *next = nullptr; // breaks the cycle
                });
            return;
        }
        const QByteArray data = pattern(qMin(chunk, size - offset), quint32(offset / chunk + 1));
        if (hash)
            hash->addData(data);
        flow->write(data).then(flow, [=](const WriteResult &w) {
            if (!w.isOk()) {
                promise->addResult(w);
                promise->finish();
                *next = nullptr;
                return;
            }
            (*next)(offset + data.size());
        });
    };
    (*next)(0);
    return promise->future();
}

QString program(const char *name)
{
    return QStandardPaths::findExecutable(QString::fromLatin1(name));
}

#define REQUIRE_PROGRAM(var, name)                                                                 \
    const QString var = program(name);                                                             \
    if (var.isEmpty())                                                                             \
        QSKIP(name " is not installed");

// Two connected QLocalSockets over socketpair(): a sequential device pair without half-close.
struct SocketPair {
    QLocalSocket *a = nullptr;
    QLocalSocket *b = nullptr;
};

bool makeSocketPair(SocketPair *pair)
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return false;
    pair->a = new QLocalSocket;
    pair->b = new QLocalSocket;
    return pair->a->setSocketDescriptor(fds[0]) && pair->b->setSocketDescriptor(fds[1]);
}

} // namespace

class TestDeviceFlow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void processCatEchoesAndHalfCloses();
    void processCatBothWaysAtOnce();
    void processSha256sumOf64MiB();
    void processThatDiesWithBytesQueuedReportsTheLoss();
    void processThatCrashesFailsAfterItsOutput();
    void processThatFailsToStart();
    void processStartingIsConnecting();
    void abortKillsTheProcess();
    void readDeadlineOnAProcess();
    void localSocketPairCarriesBytes();
    void localSocketPeerCloseIsEof();
    void sequentialDeviceCannotHalfClose();
    void fileReadsToEof();
    void fileReadsKeepTheirData();
    void fileWrittenAndHalfClosed();
    void readOnlyFileRefusesWrites();
    void writeOnlyFileReadsEof();
    void bufferDeletedUnderTheFlow();
    void processDeletedUnderTheFlow();
    void deviceNotOpen();
    void deviceInAnotherThread();
};

void TestDeviceFlow::processCatEchoesAndHalfCloses()
{
    REQUIRE_PROGRAM(cat, "cat");
    ProcessFlow p = startProcess(cat);
    QCOMPARE(p.flow->transportName(), QStringLiteral("process"));
    QCOMPARE(p.flow->device(), p.process);
    QTRY_COMPARE(p.flow->state(), Flow::State::Open);
    p.flow->write("hello, ");
    p.flow->writev({QByteArrayLiteral("cat"), QByteArrayLiteral("\n")});
    auto shut = p.flow->shutdown(Flow::Direction::Write);
    const Drained out = readToEnd(p.flow.get());
    RILL_CHECK_DRAINED(out, QByteArrayLiteral("hello, cat\n"), ReadResult::eof());
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
    auto closing = p.flow->close();
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    QCOMPARE(p.flow->stats().bytesWritten, qint64(11));
    QTRY_COMPARE(p.process->state(), QProcess::NotRunning);
    QCOMPARE(p.process->exitCode(), 0);
}

void TestDeviceFlow::processCatBothWaysAtOnce()
{
    // cat writes back while we still write: neither side may wait on the other's reading.
    REQUIRE_PROGRAM(cat, "cat");
    ProcessFlow p = startProcess(cat);
    const qint64 size = heavyVolume(16 * MiB);
    QCryptographicHash sent(QCryptographicHash::Sha256);
    auto writing = feed(p.flow.get(), size, 256 * KiB, &sent);
    QCryptographicHash got(QCryptographicHash::Sha256);
    qint64 received = 0;
    ReadResult end;
    for (;;) {
        auto r = p.flow->read();
        ReadResult result;
        RILL_AWAIT(r, result);
        if (!result.isData()) {
            end = result;
            break;
        }
        got.addData(result.data());
        received += result.data().size();
    }
    QCOMPARE(end, ReadResult::eof());
    QCOMPARE(received, size);
    WriteResult w;
    RILL_AWAIT(writing, w);
    QCOMPARE(w, WriteResult::ok());
    QCOMPARE(got.result(), sent.result());
}

void TestDeviceFlow::processSha256sumOf64MiB()
{
    REQUIRE_PROGRAM(sha256sum, "sha256sum");
    ProcessFlow p = startProcess(sha256sum);
    p.flow->setHighWaterMark(1 * MiB);
    const qint64 size = heavyVolume(64 * MiB);
    QCryptographicHash hash(QCryptographicHash::Sha256);
    // While the writes go, the queue never holds much more than the high-water mark.
    qint64 mostQueued = 0;
    connect(p.flow.get(), &Flow::bytesQueuedChanged, this,
        [&mostQueued](qint64 bytes) { mostQueued = qMax(mostQueued, bytes); });
    auto writing = feed(p.flow.get(), size, 64 * KiB, &hash);
    QVERIFY2(waitFor(writing, 120s), "writing 64 MiB to sha256sum did not finish");
    WriteResult w;
    RILL_RESULT(writing, w);
    QCOMPARE(w, WriteResult::ok());
    QVERIFY2(mostQueued <= 1 * MiB + 64 * KiB, qPrintable(QString::number(mostQueued)));
    const Drained out = readToEnd(p.flow.get());
    QVERIFY(out.finished);
    QCOMPARE(out.end, ReadResult::eof());
    const QByteArray expected = hash.result().toHex() + "  -\n";
    QCOMPARE(out.data, expected);
    QCOMPARE(p.flow->stats().bytesWritten, size);
    auto closing = p.flow->close();
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
}

void TestDeviceFlow::processThatDiesWithBytesQueuedReportsTheLoss()
{
    // The shell reads one line and exits: the rest of what was accepted can never be sent.
    REQUIRE_PROGRAM(sh, "sh");
    ProcessFlow p = startProcess(sh, {QStringLiteral("-c"), QStringLiteral("read line; exit 0")});
    QSignalSpy errors(p.flow.get(), &Flow::errorOccurred);
    QSignalSpy lost(p.flow.get(), &Flow::writeLost);
    QList<QFuture<WriteResult>> writes {p.flow->write("one line\n")};
    const QByteArray rest = pattern(4 * MiB, 9);
    for (int i = 0; i < 4; ++i)
        writes.append(p.flow->write(rest.mid(i * MiB, MiB)));
    auto shut = p.flow->shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QVERIFY2(w.isError(), qPrintable(debugString(w)));
    QVERIFY2(w.error().kind() == Error::Kind::Closed, qPrintable(debugString(w)));
    QCOMPARE(p.flow->writeState(), Flow::WriteState::Failed);
    QCOMPARE(errors.size(), 1);
    QVERIFY(!lost.isEmpty());
    QVERIFY2(p.flow->stats().bytesUnsent > 0, qPrintable(debugString(p.flow->stats())));
    // Every accepted byte was either handed to the process or counted as unsent; the writes
    // still waiting above the high-water mark were never accepted and say so themselves.
    qint64 accepted = 0;
    for (int i = 0; i < writes.size(); ++i) {
        WriteResult result;
        RILL_AWAIT(writes.at(i), result);
        if (result.isOk())
            accepted += i == 0 ? 9 : MiB;
        else
            QVERIFY2(isKind(result, Error::Kind::Closed), qPrintable(debugString(result)));
    }
    QCOMPARE(p.flow->stats().bytesWritten + p.flow->stats().bytesUnsent, accepted);
    // Its output (none) still ends as a stream does.
    const Drained out = readToEnd(p.flow.get());
    RILL_CHECK_DRAINED(out, QByteArray(), ReadResult::eof());
    QTRY_COMPARE(p.process->state(), QProcess::NotRunning);
}

void TestDeviceFlow::processThatCrashesFailsAfterItsOutput()
{
    REQUIRE_PROGRAM(sh, "sh");
    ProcessFlow p
        = startProcess(sh, {QStringLiteral("-c"), QStringLiteral("echo partial; kill -9 $$")});
    const Drained out = readToEnd(p.flow.get());
    QVERIFY(out.finished);
    QCOMPARE(out.data, QByteArrayLiteral("partial\n"));
    QVERIFY2(isKind(out.end, Error::Kind::Reset), qPrintable(debugString(out.end)));
    QVERIFY2(!out.end.error().message().isEmpty(), "the error says nothing");
    QVERIFY2(out.end.error().endpoint().startsWith(QStringLiteral("process ")),
        qPrintable(out.end.error().endpoint()));
    QCOMPARE(p.flow->state(), Flow::State::Closed);
}

void TestDeviceFlow::processThatFailsToStart()
{
    ProcessFlow p = startProcess(QStringLiteral("/nonexistent/rill-no-such-program"));
    auto r = p.flow->read();
    ReadResult result;
    RILL_AWAIT(r, result);
    QVERIFY2(result.isError(), qPrintable(debugString(result)));
    QCOMPARE(p.flow->state(), Flow::State::Closed);
    QCOMPARE(p.flow->error().message(), p.process->errorString());
    QCOMPARE(
        p.flow->error().endpoint(), QStringLiteral("process /nonexistent/rill-no-such-program"));
}

void TestDeviceFlow::processStartingIsConnecting()
{
    REQUIRE_PROGRAM(cat, "cat");
    auto *process = new QProcess;
    process->setProgram(cat);
    process->start();
    DeviceFlow flow(process);
    process->setParent(&flow);
    if (process->state() == QProcess::Starting)
        QCOMPARE(flow.state(), Flow::State::Connecting);
    auto w = flow.write("queued while starting\n"); // queues up
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
    QTRY_COMPARE(flow.state(), Flow::State::Open);
    flow.shutdown(Flow::Direction::Write);
    const Drained out = readToEnd(&flow);
    RILL_CHECK_DRAINED(out, QByteArrayLiteral("queued while starting\n"), ReadResult::eof());
}

void TestDeviceFlow::abortKillsTheProcess()
{
    REQUIRE_PROGRAM(cat, "cat");
    ProcessFlow p = startProcess(cat);
    QTRY_COMPARE(p.flow->state(), Flow::State::Open);
    auto pending = p.flow->read();
    p.flow->abort();
    ReadResult r;
    RILL_AWAIT(pending, r);
    QVERIFY2(isKind(r, Error::Kind::Aborted), qPrintable(debugString(r)));
    QTRY_COMPARE(p.process->state(), QProcess::NotRunning);
}

void TestDeviceFlow::readDeadlineOnAProcess()
{
    REQUIRE_PROGRAM(cat, "cat");
    ProcessFlow p = startProcess(cat);
    auto r = p.flow->read(QDeadlineTimer(30ms));
    ReadResult result;
    RILL_AWAIT(r, result);
    QVERIFY2(isKind(result, Error::Kind::TimedOut), qPrintable(debugString(result)));
    // Nothing consumed, still usable.
    p.flow->write("after the deadline");
    p.flow->shutdown(Flow::Direction::Write);
    const Drained out = readToEnd(p.flow.get());
    RILL_CHECK_DRAINED(out, QByteArrayLiteral("after the deadline"), ReadResult::eof());
}

void TestDeviceFlow::localSocketPairCarriesBytes()
{
    SocketPair sockets;
    QVERIFY(makeSocketPair(&sockets));
    DeviceFlow a(sockets.a);
    DeviceFlow b(sockets.b);
    sockets.a->setParent(&a);
    sockets.b->setParent(&b);
    QCOMPARE(a.transportName(), QStringLiteral("device"));
    QCOMPARE(a.state(), Flow::State::Open);
    const QByteArray data = pattern(3 * MiB, 4);
    a.write(data);
    const Drained atB = readToEnd(&b, data.size());
    QVERIFY(atB.finished);
    QVERIFY2(atB.data == data, describeMismatch(atB.data, data).constData());
    b.write("back");
    const Drained atA = readToEnd(&a, 4);
    QCOMPARE(atA.data, QByteArrayLiteral("back"));
    QTRY_COMPARE(a.stats().bytesWritten, data.size());
}

void TestDeviceFlow::localSocketPeerCloseIsEof()
{
    SocketPair sockets;
    QVERIFY(makeSocketPair(&sockets));
    DeviceFlow b(sockets.b);
    sockets.b->setParent(&b);
    sockets.a->write("last words");
    sockets.a->flush();
    sockets.a->close();
    delete sockets.a;
    const Drained atB = readToEnd(&b);
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("last words"), ReadResult::eof());
}

void TestDeviceFlow::sequentialDeviceCannotHalfClose()
{
    SocketPair sockets;
    QVERIFY(makeSocketPair(&sockets));
    DeviceFlow a(sockets.a);
    DeviceFlow b(sockets.b);
    sockets.a->setParent(&a);
    sockets.b->setParent(&b);
    QSignalSpy errors(&a, &Flow::errorOccurred);
    a.write("sent before");
    auto shut = a.shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QVERIFY2(isKind(w, Error::Kind::Unsupported), qPrintable(debugString(w)));
    QVERIFY2(w.error().message().contains(QStringLiteral("QLocalSocket")),
        qPrintable(w.error().message()));
    QCOMPARE(errors.size(), 1);
    QCOMPARE(a.writeState(), Flow::WriteState::Failed);
    // What was written before arrived; reading goes on.
    const Drained atB = readToEnd(&b, 11);
    QCOMPARE(atB.data, QByteArrayLiteral("sent before"));
    QCOMPARE(a.readState(), Flow::ReadState::Open);
    b.write("still readable");
    const Drained atA = readToEnd(&a, 14);
    QCOMPARE(atA.data, QByteArrayLiteral("still readable"));
}

// Read buffers are recycled once readers let go of them: data a reader still holds must never
// be overwritten. Every other read's data is kept (the rest are dropped, so buffers do come
// back), and all of it is checked against the file at the end.
void TestDeviceFlow::fileReadsKeepTheirData()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("input"));
    const QByteArray content = pattern(8 * MiB + 4321, 7);
    {
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        QCOMPARE(out.write(content), content.size());
    }
    auto *file = new QFile(path);
    QVERIFY(file->open(QIODevice::ReadOnly));
    DeviceFlow flow(file);
    file->setParent(&flow);
    const Drained in = readToEnd(&flow, -1, DefaultTimeout, 2);
    RILL_CHECK_DRAINED(in, content, ReadResult::eof());
    QVERIFY(in.kept.size() > 8);
    const qsizetype changed = firstChangedKept(in, content);
    QVERIFY2(changed < 0, qPrintable(QString::number(changed)));
}

void TestDeviceFlow::fileReadsToEof()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("input"));
    const QByteArray content = pattern(MiB + 123, 5);
    {
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        QCOMPARE(out.write(content), content.size());
    }
    auto *file = new QFile(path);
    QVERIFY(file->open(QIODevice::ReadOnly));
    DeviceFlow flow(file);
    file->setParent(&flow);
    QCOMPARE(flow.transportName(), QStringLiteral("file"));
    const Drained in = readToEnd(&flow);
    RILL_CHECK_DRAINED(in, content, ReadResult::eof());
    QVERIFY(in.dataReads > 1);
    auto closing = flow.close();
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
}

void TestDeviceFlow::fileWrittenAndHalfClosed()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("output"));
    auto *file = new QFile(path);
    QVERIFY(file->open(QIODevice::WriteOnly));
    DeviceFlow flow(file);
    file->setParent(&flow);
    const QByteArray content = pattern(3 * MiB, 6);
    flow.write(content.left(MiB));
    flow.write(content.mid(MiB));
    auto shut = flow.shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
    QVERIFY2(!file->isOpen(), "the end of stream closes a write-only file");
    QFile check(path);
    QVERIFY(check.open(QIODevice::ReadOnly));
    QCOMPARE(check.readAll(), content);
    QCOMPARE(flow.stats().bytesWritten, content.size());
}

void TestDeviceFlow::readOnlyFileRefusesWrites()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("input"));
    {
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write("contents");
    }
    auto *file = new QFile(path);
    QVERIFY(file->open(QIODevice::ReadOnly));
    DeviceFlow flow(file);
    file->setParent(&flow);
    QSignalSpy errors(&flow, &Flow::errorOccurred);
    QSignalSpy lost(&flow, &Flow::writeLost);
    flow.write("never written"); // accepted into the queue, then lost, and said so
    QTRY_COMPARE(flow.writeState(), Flow::WriteState::Failed);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(lost.size(), 1);
    QCOMPARE(flow.error().kind(), Error::Kind::InvalidArgument);
    QCOMPARE(flow.stats().bytesUnsent, qint64(13));
    auto again = flow.write("again");
    WriteResult w;
    RILL_AWAIT(again, w);
    QVERIFY2(isKind(w, Error::Kind::InvalidArgument), qPrintable(debugString(w)));
    // Reading goes on to the end.
    const Drained in = readToEnd(&flow);
    RILL_CHECK_DRAINED(in, QByteArrayLiteral("contents"), ReadResult::eof());
}

void TestDeviceFlow::writeOnlyFileReadsEof()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto *file = new QFile(dir.filePath(QStringLiteral("output")));
    QVERIFY(file->open(QIODevice::WriteOnly));
    DeviceFlow flow(file);
    file->setParent(&flow);
    auto r = flow.read();
    ReadResult result;
    RILL_AWAIT(r, result);
    QCOMPARE(result, ReadResult::eof()); // nothing will ever come from it
    flow.write("written");
    auto closing = flow.close();
    CloseResult c;
    RILL_AWAIT(closing, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    QFile check(dir.filePath(QStringLiteral("output")));
    QVERIFY(check.open(QIODevice::ReadOnly));
    QCOMPARE(check.readAll(), QByteArrayLiteral("written"));
}

void TestDeviceFlow::bufferDeletedUnderTheFlow()
{
    QByteArray content("abc");
    auto *buffer = new QBuffer(&content);
    QVERIFY(buffer->open(QIODevice::ReadOnly));
    DeviceFlow flow(buffer);
    const Drained in = readToEnd(&flow, 3);
    QCOMPARE(in.data, QByteArrayLiteral("abc"));
    auto pending = flow.read(); // Eof comes at once for a buffer at its end; then more reads
    ReadResult r;
    RILL_AWAIT(pending, r);
    QCOMPARE(r, ReadResult::eof());
    delete buffer;
    QTRY_COMPARE(flow.state(), Flow::State::Closed);
    QCOMPARE(flow.device(), nullptr);
    QCOMPARE(flow.error().kind(), Error::Kind::Aborted);
}

void TestDeviceFlow::processDeletedUnderTheFlow()
{
    REQUIRE_PROGRAM(cat, "cat");
    auto *process = new QProcess;
    process->setProgram(cat);
    process->start();
    DeviceFlow flow(process);
    QTRY_COMPARE(flow.state(), Flow::State::Open);
    auto pending = flow.read();
    flow.write(pattern(2 * MiB, 8)); // bytes queued when it goes
    QTest::ignoreMessage(
        QtWarningMsg, QRegularExpression(QStringLiteral("Destroyed while process")));
    delete process;
    ReadResult r;
    RILL_AWAIT(pending, r);
    QVERIFY2(r.isError(), qPrintable(debugString(r)));
    QCOMPARE(flow.state(), Flow::State::Closed);
    QCOMPARE(flow.device(), nullptr);
    QVERIFY2(flow.stats().bytesUnsent > 0, "the loss was not counted");
    auto w = flow.write("after");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QVERIFY(wr.isError());
}

void TestDeviceFlow::deviceNotOpen()
{
    QBuffer buffer;
    DeviceFlow flow(&buffer);
    QTRY_COMPARE(flow.state(), Flow::State::Closed);
    QCOMPARE(flow.error().kind(), Error::Kind::InvalidArgument);
    DeviceFlow none(nullptr);
    QTRY_COMPARE(none.state(), Flow::State::Closed);
    QCOMPARE(none.error().kind(), Error::Kind::InvalidArgument);
}

void TestDeviceFlow::deviceInAnotherThread()
{
    WorkerThread worker;
    QBuffer *buffer = worker.adopt(std::make_unique<QBuffer>());
    worker.call([buffer] { buffer->open(QIODevice::ReadWrite); });
    DeviceFlow flow(buffer);
    QTRY_COMPARE(flow.state(), Flow::State::Closed);
    QCOMPARE(flow.error().kind(), Error::Kind::InvalidArgument);
    QVERIFY2(flow.error().message().contains(QStringLiteral("thread")),
        qPrintable(flow.error().message()));
}

QTEST_GUILESS_MAIN(TestDeviceFlow)
#include "tst_deviceflow.moc"
