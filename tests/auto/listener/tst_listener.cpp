// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// TcpListener, LocalListener, the generic Listener with connectTo() (connect.h), and Endpoint
// parsing (endpoint.h), against peers that are not Qt (peer.py):
//   7. accept() gives connections in arrival order; pending accepts finish with Closed when the
//      listener is closed or destroyed; connections not accepted yet are dropped on close;
//      a LocalListener's socket file is owner-only (0600, whatever the umask); listen()
//      replaces a stale socket file, refuses a path that is not a socket (untouched) and a
//      path someone listens on, and a path longer than sun_path (InvalidArgument), while the
//      longest path that fits works; close() removes only its own file; connectTo() and
//      Listener work for both endpoint kinds; Endpoint::parse accepts tcp:127.0.0.1:80,
//      tcp:[::1]:80, unix:/x and rejects garbage with a message that quotes it.
#include "../shared/sockettest.h"

#include <QtCore/QDir>
#include <QtCore/QJsonArray>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <array>
#include <sys/stat.h>

using namespace sockettest;
using rill::Endpoint;
using rill::Error;
using rill::Flow;
using rill::FlowResult;

namespace {

template<typename FlowType> QFuture<FlowResult<Flow>> generic(QFuture<FlowResult<FlowType>> future)
{
    return future.then([](FlowResult<FlowType> result) {
        if (!result.isOk())
            return FlowResult<Flow>::fromError(result.error());
        return FlowResult<Flow>::fromFlow(result.takeFlow().release());
    });
}

// The four listeners under one face: TcpListener, LocalListener, and Listener for each kind.
struct AnyListener {
    std::unique_ptr<QObject> object;
    std::function<QFuture<FlowResult<Flow>>()> accept;
    std::function<void()> close;
    std::function<int()> pending;
    std::function<bool()> listening;
    std::function<void(const QList<QThread *> &)> setWorkers;
    std::function<QList<QThread *>()> workers;
    QString endpoint; // what peers connect to
};

struct stat statOf(const QString &path, bool *exists)
{
    struct stat info { };
    *exists = ::lstat(QFile::encodeName(path).constData(), &info) == 0;
    return info;
}

} // namespace

class tst_Listener : public QObject {
    Q_OBJECT

private:
    QString freshPath(const QString &stem)
    {
        return m_dir.filePath(QStringLiteral("%1-%2.sock").arg(stem).arg(++m_counter));
    }

    bool makeListener(const QString &kind, AnyListener *any, QString *why)
    {
        if (kind == QLatin1String("TcpListener")) {
            auto *listener = new rill::TcpListener;
            any->object.reset(listener);
            any->accept = [listener] { return generic(listener->accept()); };
            any->close = [listener] { listener->close(); };
            any->pending = [listener] { return listener->pendingConnections(); };
            any->listening = [listener] { return listener->isListening(); };
            any->setWorkers = [listener](const QList<QThread *> &t) { listener->setWorkerThreads(t); };
            any->workers = [listener] { return listener->workerThreads(); };
            if (!listener->listen(QHostAddress::LocalHost, 0)) {
                *why = rill::errorMessage(listener->error());
                return false;
            }
            any->endpoint = listener->endpoint().toString();
        } else if (kind == QLatin1String("LocalListener")) {
            auto *listener = new rill::LocalListener;
            any->object.reset(listener);
            any->accept = [listener] { return generic(listener->accept()); };
            any->close = [listener] { listener->close(); };
            any->pending = [listener] { return listener->pendingConnections(); };
            any->listening = [listener] { return listener->isListening(); };
            any->setWorkers = [listener](const QList<QThread *> &t) { listener->setWorkerThreads(t); };
            any->workers = [listener] { return listener->workerThreads(); };
            if (!listener->listen(freshPath(QStringLiteral("local")))) {
                *why = rill::errorMessage(listener->error());
                return false;
            }
            any->endpoint = listener->endpoint().toString();
        } else {
            auto *listener = new rill::Listener;
            any->object.reset(listener);
            any->accept = [listener] { return listener->accept(); };
            any->close = [listener] { listener->close(); };
            any->pending = [listener] { return listener->pendingConnections(); };
            any->listening = [listener] { return listener->isListening(); };
            any->setWorkers = [listener](const QList<QThread *> &t) { listener->setWorkerThreads(t); };
            any->workers = [listener] { return listener->workerThreads(); };
            const Endpoint endpoint = kind == QLatin1String("Listener tcp")
                ? Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)
                : Endpoint::local(freshPath(QStringLiteral("generic")));
            if (!listener->listen(endpoint)) {
                *why = rill::errorMessage(listener->error());
                return false;
            }
            any->endpoint = listener->endpointString();
        }
        return true;
    }

    static void addKindRows()
    {
        QTest::addColumn<QString>("kind");
        for (const char *kind : {"TcpListener", "LocalListener", "Listener tcp", "Listener unix"})
            QTest::newRow(kind) << QString::fromLatin1(kind);
    }

    QTemporaryDir m_dir;
    int m_counter = 0;
    int m_descriptorsBefore = -1;

private Q_SLOTS:
    void initTestCase();
    void init() { m_descriptorsBefore = openDescriptorCount(); }
    void cleanup();

    // accept()
    void acceptsInArrivalOrder_data();
    void acceptsInArrivalOrder();
    void pendingAcceptsFinishClosed_data();
    void pendingAcceptsFinishClosed();
    void unacceptedConnectionsAreDroppedOnClose_data() { addKindRows(); }
    void unacceptedConnectionsAreDroppedOnClose();
    void workerThreadsTakeAcceptedFlows_data() { addKindRows(); }
    void workerThreadsTakeAcceptedFlows();
    void workerThreadsNoneRunning();
    void reactorPerCoreExample();

    // LocalListener's socket file
    void localSocketFileIsOwnerOnly_data();
    void localSocketFileIsOwnerOnly();
    void localListenReplacesStaleSocket_data();
    void localListenReplacesStaleSocket();
    void localListenRefusesWhatIsNotASocket_data();
    void localListenRefusesWhatIsNotASocket();
    void localListenRefusesLiveSocket_data();
    void localListenRefusesLiveSocket();
    void localListenRefusesTooLongPath_data();
    void localListenRefusesTooLongPath();
    void localListenTakesTheLongestPath_data();
    void localListenTakesTheLongestPath();
    void localCloseRemovesOnlyItsOwnFile();

    void tcpListenReportsAddressInUse();

    // Listener and connectTo()
    void listenerAndConnectTo_data();
    void listenerAndConnectTo();
    void connectToAndListenerWithPythonPeers_data();
    void connectToAndListenerWithPythonPeers();
    void acceptedFlowsTellTheirOwnAddresses();
    void connectToRefused_data();
    void connectToRefused();
    void invalidEndpointsFail();

    // Endpoint
    void endpointParses_data();
    void endpointParses();
    void endpointRejectsGarbage_data();
    void endpointRejectsGarbage();
};

void tst_Listener::initTestCase()
{
    QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString()));
    Peer warmUp; // what Qt opens once per process around QProcess is open before any count
    QVERIFY(warmUp.startPython({QStringLiteral("bind-only"),
        QStringLiteral("unix:") + freshPath(QStringLiteral("warm-up"))}));
    QVERIFY2(warmUp.waitForExit() && warmUp.exitCode() == 0, qPrintable(warmUp.describe()));
    QVERIFY(warmUpReactor());
}

void tst_Listener::cleanup()
{
    const QString leak = descriptorLeak(m_descriptorsBefore);
    QVERIFY2(leak.isEmpty() || QTest::currentTestFailed(), qPrintable(leak));
}

// ---- accept()

void tst_Listener::acceptsInArrivalOrder_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<bool>("acceptFirst");
    for (const char *kind : {"TcpListener", "LocalListener", "Listener tcp", "Listener unix"}) {
        QTest::addRow("%s, connections wait for accept()", kind)
            << QString::fromLatin1(kind) << false;
        QTest::addRow("%s, accept() waits for connections", kind)
            << QString::fromLatin1(kind) << true;
    }
}

void tst_Listener::acceptsInArrivalOrder()
{
    QFETCH(QString, kind);
    QFETCH(bool, acceptFirst);
    constexpr int count = 3;
    AnyListener listener;
    QString why;
    QVERIFY2(makeListener(kind, &listener, &why), qPrintable(why));

    QList<QFuture<FlowResult<Flow>>> accepts;
    if (acceptFirst) {
        for (int i = 0; i < count; ++i)
            accepts.append(listener.accept());
        for (const auto &future : std::as_const(accepts))
            QVERIFY2(!future.isFinished(), "accept() finished with no connection there");
    }
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("connect-many"), listener.endpoint,
        QStringLiteral("--count"), QString::number(count)}));
    for (int i = 0; i < count; ++i) {
        // Connection i is fully in the listener's hands before connection i + 1 starts.
        const auto connected = peer.waitForEvent(QStringLiteral("connected"));
        QVERIFY2(connected && connected->value(QLatin1String("index")).toInt() == i,
            qPrintable(peer.describe()));
        if (acceptFirst)
            QVERIFY2(rilltest::waitFor(accepts.at(i)),
                qPrintable(QStringLiteral("accept() %1 never finished").arg(i)));
        else
            QVERIFY2(runUntil([&] { return listener.pending() == i + 1; }),
                qPrintable(QStringLiteral("%1 connections wait, expected %2")
                               .arg(listener.pending())
                               .arg(i + 1)));
        if (i + 1 < count)
            peer.command("next");
    }
    if (!acceptFirst) {
        for (int i = 0; i < count; ++i)
            accepts.append(listener.accept());
        QCOMPARE(listener.pending(), 0);
    }

    std::vector<std::unique_ptr<Flow>> flows;
    for (int i = 0; i < count; ++i) {
        FlowResult<Flow> result;
        RILL_AWAIT(accepts[i], result);
        QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
        flows.push_back(result.takeFlow());
        const rilltest::Drained drained = rilltest::readToEnd(flows.back().get());
        RILL_CHECK_DRAINED(
            drained, QByteArray("conn-") + QByteArray::number(i) + '\n', rill::ReadResult::eof());
    }
    for (auto &flow : flows) {
        auto closed = flow->close();
        RILL_AWAIT_VOID(closed);
    }
    QVERIFY2(peer.waitForEvent(QStringLiteral("done")), qPrintable(peer.describe()));
}

// setWorkerThreads(): accepted flows are handed out living in the running worker threads, in
// turn; their bytes come through that thread's reactor; a worker's end aborts its flows.
void tst_Listener::workerThreadsTakeAcceptedFlows()
{
    QFETCH(QString, kind);
    constexpr int count = 4;
    AnyListener listener;
    QString why;
    QVERIFY2(makeListener(kind, &listener, &why), qPrintable(why));
    QThread notStarted; // skipped
    std::array<QThread, 2> workers;
    for (QThread &worker : workers)
        worker.start();
    std::vector<Flow *> flows;
    auto cleanUp = qScopeGuard([&] {
        for (QThread &worker : workers) {
            worker.quit();
            worker.wait();
        }
        qDeleteAll(flows); // their threads have finished: nothing else touches them
    });
    const QList<QThread *> threads{&workers[0], &notStarted, &workers[1]};
    listener.setWorkers(threads);
    QCOMPARE(listener.workers(), threads);

    QList<QFuture<FlowResult<Flow>>> accepts;
    for (int i = 0; i < count; ++i)
        accepts.append(listener.accept());
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("connect-many"), listener.endpoint,
        QStringLiteral("--count"), QString::number(count)}));
    for (int i = 0; i < count; ++i) {
        const auto connected = peer.waitForEvent(QStringLiteral("connected"));
        QVERIFY2(connected, qPrintable(peer.describe()));
        QVERIFY2(rilltest::waitFor(accepts.at(i)),
            qPrintable(QStringLiteral("accept() %1 never finished").arg(i)));
        if (i + 1 < count)
            peer.command("next");
    }
    for (int i = 0; i < count; ++i) {
        FlowResult<Flow> result = accepts.at(i).result();
        QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
        Flow *flow = result.takeFlow().release();
        flows.push_back(flow);
        QVERIFY2(flow->thread() == &workers[i % 2],
            qPrintable(QStringLiteral("flow %1 lives in the wrong thread").arg(i)));
        // Read from here; the flow serves it in its thread.
        const rilltest::Drained drained = rilltest::readToEnd(flow);
        RILL_CHECK_DRAINED(
            drained, QByteArray("conn-") + QByteArray::number(i) + '\n', rill::ReadResult::eof());
    }

    // The workers end with the flows open: each thread's end aborts its flows, and their
    // connections end (the peer reads to its end on each).
    for (QThread &worker : workers) {
        worker.quit();
        QVERIFY(worker.wait(QDeadlineTimer(rilltest::DefaultTimeout)));
    }
    for (Flow *flow : flows) {
        QCOMPARE(flow->state(), Flow::State::Closed);
        QCOMPARE(flow->error().kind(), Error::Kind::Aborted);
    }
    const auto done = peer.waitForEvent(QStringLiteral("done"));
    QVERIFY2(done, qPrintable(peer.describe()));
    QCOMPARE(done->value(QLatin1String("connections")).toInt(), count);
}

// With no worker thread running, accepted flows stay in the listener's thread, and a warning
// says so once.
void tst_Listener::workerThreadsNoneRunning()
{
    rill::TcpListener listener;
    QVERIFY(listener.listen());
    QThread notStarted;
    listener.setWorkerThreads({&notStarted});
    QTest::ignoreMessage(QtWarningMsg,
        QRegularExpression(QStringLiteral("none of the 1 worker threads .* is running")));
    QList<QFuture<FlowResult<rill::TcpFlow>>> accepts{listener.accept(), listener.accept()};
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("connect-many"), listener.endpoint().toString(),
        QStringLiteral("--count"), QStringLiteral("2")}));
    for (int i = 0; i < 2; ++i) {
        QVERIFY2(peer.waitForEvent(QStringLiteral("connected")), qPrintable(peer.describe()));
        QVERIFY2(rilltest::waitFor(accepts.at(i)), "accept() never finished");
        if (i == 0)
            peer.command("next");
    }
    for (int i = 0; i < 2; ++i) {
        FlowResult<rill::TcpFlow> result = accepts.at(i).result();
        QVERIFY(result.isOk());
        std::unique_ptr<rill::TcpFlow> flow = result.takeFlow();
        QCOMPARE(flow->thread(), QThread::currentThread());
        auto closed = flow->close();
        RILL_AWAIT_VOID(closed);
    }
    QVERIFY2(peer.waitForEvent(QStringLiteral("done")), qPrintable(peer.describe()));
}

// docs/examples/reactor-per-core: an echo server whose flows live in two worker threads, each
// with its reactor. Python peers send 1 MiB each at once, and read all of it back.
void tst_Listener::reactorPerCoreExample()
{
    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    server.start(QStringLiteral(REACTOR_PER_CORE_EXAMPLE), {QStringLiteral("--threads"), QStringLiteral("2")});
    auto stop = qScopeGuard([&] {
        if (server.state() != QProcess::NotRunning) {
            server.kill();
            server.waitForFinished();
        }
    });
    QVERIFY2(server.waitForStarted(), qPrintable(server.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(server.canReadLine(), rilltest::DefaultTimeout.count());
    const QString line = QString::fromUtf8(server.readLine()).trimmed();
    const QRegularExpressionMatch match =
        QRegularExpression(QStringLiteral("^listening on (tcp:\\S+), 2 reactors$")).match(line);
    QVERIFY2(match.hasMatch(), qPrintable(line));

    constexpr int count = 4;
    std::array<Peer, count> peers;
    for (Peer &peer : peers)
        QVERIFY(peer.startPython({QStringLiteral("bulk"), match.captured(1), QStringLiteral("--bytes"),
            QString::number(1 << 20)}));
    for (Peer &peer : peers) {
        const auto done = peer.waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, qPrintable(peer.describe()));
        QCOMPARE(done->value(QLatin1String("received")).toInteger(), 1 << 20);
        QCOMPARE(done->value(QLatin1String("received_sha256")), done->value(QLatin1String("sent_sha256")));
    }

    server.closeWriteChannel(); // its stdin ends: it closes, ends its workers and exits
    QVERIFY(server.waitForFinished(int(rilltest::DefaultTimeout.count())));
    QCOMPARE(server.exitStatus(), QProcess::NormalExit);
    QCOMPARE(server.exitCode(), 0);
}

void tst_Listener::pendingAcceptsFinishClosed_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<bool>("destroy");
    for (const char *kind : {"TcpListener", "LocalListener", "Listener tcp", "Listener unix"}) {
        QTest::addRow("%s closed", kind) << QString::fromLatin1(kind) << false;
        QTest::addRow("%s destroyed", kind) << QString::fromLatin1(kind) << true;
    }
}

void tst_Listener::pendingAcceptsFinishClosed()
{
    QFETCH(QString, kind);
    QFETCH(bool, destroy);
    AnyListener listener;
    QString why;
    QVERIFY2(makeListener(kind, &listener, &why), qPrintable(why));
    const QList<QFuture<FlowResult<Flow>>> accepts {listener.accept(), listener.accept()};
    for (const auto &future : accepts)
        QVERIFY(!future.isFinished());
    if (destroy)
        listener.object.reset();
    else
        listener.close();
    for (const auto &future : accepts) {
        QVERIFY2(future.isFinished(), "a pending accept() did not finish when the listener went");
        const FlowResult<Flow> result = future.result();
        QVERIFY(!result.isOk());
        QVERIFY2(result.error().kind() == Error::Kind::Closed,
            qPrintable(rilltest::debugString(result.error())));
    }
    if (!destroy) {
        QVERIFY(!listener.listening());
        const QFuture<FlowResult<Flow>> later = listener.accept();
        QVERIFY2(later.isFinished() && later.result().error().kind() == Error::Kind::Closed,
            "accept() on a closed listener must finish at once with Closed");
    }
}

// Connections the kernel accepted but accept() never took are closed with the listener: the
// peer sees its connection end, and no descriptor stays open (cleanup() counts them).
void tst_Listener::unacceptedConnectionsAreDroppedOnClose()
{
    QFETCH(QString, kind);
    AnyListener listener;
    QString why;
    QVERIFY2(makeListener(kind, &listener, &why), qPrintable(why));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("connect-many"), listener.endpoint,
        QStringLiteral("--count"), QStringLiteral("2")}));
    for (int i = 0; i < 2; ++i) {
        QVERIFY2(peer.waitForEvent(QStringLiteral("connected")), qPrintable(peer.describe()));
        QVERIFY2(runUntil([&] { return listener.pending() == i + 1; }),
            qPrintable(QStringLiteral("%1 connections wait").arg(listener.pending())));
        if (i == 0)
            peer.command("next");
    }
    listener.close();
    QCOMPARE(listener.pending(), 0);
    const auto done = peer.waitForEvent(QStringLiteral("done"));
    QVERIFY2(done,
        qPrintable(QStringLiteral("the peer's connections did not end with the listener")
            + peer.describe()));
    // Dropped with the peer's bytes unread: a reset, or an end of stream.
    QCOMPARE(done->value(QLatin1String("ends")).toArray().size(), 2);
}

// ---- LocalListener's socket file

void tst_Listener::localSocketFileIsOwnerOnly_data()
{
    QTest::addColumn<bool>("generic");
    QTest::addColumn<int>("umask");
    QTest::newRow("LocalListener, umask 022") << false << 022;
    QTest::newRow("LocalListener, umask 0") << false << 0;
    QTest::newRow("Listener unix, umask 0") << true << 0;
}

void tst_Listener::localSocketFileIsOwnerOnly()
{
    QFETCH(bool, generic);
    QFETCH(int, umask);
    QTemporaryDir dir; // alone in its folder, so leftovers show
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("private.sock"));
    const mode_t previous = ::umask(mode_t(umask));
    rill::LocalListener local;
    rill::Listener any;
    const bool listening = generic ? any.listen(Endpoint::local(path)) : local.listen(path);
    ::umask(previous);
    QVERIFY2(listening, qPrintable(rill::errorMessage(generic ? any.error() : local.error())));

    bool exists = false;
    const struct stat info = statOf(path, &exists);
    QVERIFY2(exists && S_ISSOCK(info.st_mode), "listen() made no socket file at the path");
    QVERIFY2((info.st_mode & 07777) == 0600,
        qPrintable(QStringLiteral("the socket file has mode %1, not 0600")
                       .arg(info.st_mode & 07777, 0, 8)));
    QCOMPARE(info.st_uid, ::getuid());
    const QStringList entries
        = QDir(dir.path())
              .entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
    QCOMPARE(entries, QStringList {QStringLiteral("private.sock")});

    // And it is the listening socket.
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("unix:") + path,
        QStringLiteral("--text"), QStringLiteral("knock")}));
    QFuture<FlowResult<Flow>> accepted = generic ? any.accept() : ::generic(local.accept());
    FlowResult<Flow> result;
    RILL_AWAIT(accepted, result);
    QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
    const rilltest::Drained drained = rilltest::readToEnd(result.flow());
    RILL_CHECK_DRAINED(drained, QByteArray("knock"), rill::ReadResult::eof());
}

void tst_Listener::localListenReplacesStaleSocket_data()
{
    QTest::addColumn<bool>("python");
    QTest::newRow("made by Python") << true;
    QTest::newRow("made by ::bind") << false;
}

void tst_Listener::localListenReplacesStaleSocket()
{
    QFETCH(bool, python);
    const QString path = freshPath(QStringLiteral("stale"));
    if (python) {
        Peer maker;
        QVERIFY(maker.startPython({QStringLiteral("bind-only"), QStringLiteral("unix:") + path}));
        QVERIFY2(maker.waitForExit() && maker.exitCode() == 0, qPrintable(maker.describe()));
    } else {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        QVERIFY(fd >= 0);
        sockaddr_un address {};
        address.sun_family = AF_UNIX;
        const QByteArray native = QFile::encodeName(path);
        memcpy(address.sun_path, native.constData(), size_t(native.size()));
        const bool bound = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
        ::close(fd);
        QVERIFY2(bound, strerror(errno));
    }
    bool exists = false;
    QVERIFY2(S_ISSOCK(statOf(path, &exists).st_mode) && exists, "no stale socket file was made");

    rill::LocalListener listener;
    QVERIFY2(listener.listen(path), qPrintable(rill::errorMessage(listener.error())));
    const struct stat info = statOf(path, &exists);
    QVERIFY(exists && S_ISSOCK(info.st_mode));
    QCOMPARE(info.st_mode & 07777, mode_t(0600));

    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("unix:") + path,
        QStringLiteral("--text"), QStringLiteral("through the new socket")}));
    QFuture<FlowResult<rill::LocalFlow>> accepted = listener.accept();
    FlowResult<rill::LocalFlow> result;
    RILL_AWAIT(accepted, result);
    QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
    const rilltest::Drained drained = rilltest::readToEnd(result.flow());
    RILL_CHECK_DRAINED(drained, QByteArray("through the new socket"), rill::ReadResult::eof());
}

void tst_Listener::localListenRefusesWhatIsNotASocket_data()
{
    QTest::addColumn<QString>("what");
    QTest::newRow("a regular file") << QStringLiteral("file");
    QTest::newRow("a directory") << QStringLiteral("directory");
    QTest::newRow("a symbolic link") << QStringLiteral("symlink");
}

void tst_Listener::localListenRefusesWhatIsNotASocket()
{
    QFETCH(QString, what);
    const QString path = freshPath(QStringLiteral("taken"));
    const QByteArray content = "precious data, not a socket\n";
    const QString target = m_dir.filePath(QStringLiteral("link-target"));
    if (what == QLatin1String("file")) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QCOMPARE(file.write(content), content.size());
    } else if (what == QLatin1String("directory")) {
        QVERIFY(QDir().mkdir(path));
    } else {
        QFile file(target);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QCOMPARE(file.write(content), content.size());
        file.close();
        QVERIFY(QFile::link(target, path));
    }
    bool existed = false;
    const struct stat before = statOf(path, &existed);
    QVERIFY(existed);

    rill::LocalListener listener;
    QVERIFY2(!listener.listen(path), "listen() took a path that is not a socket");
    QVERIFY(!listener.isListening());
    QVERIFY2(listener.error().kind() == Error::Kind::AddressInUse,
        qPrintable(rilltest::debugString(listener.error())));
    QVERIFY2(rill::errorMessage(listener.error()).contains(path),
        qPrintable(rill::errorMessage(listener.error())));

    bool exists = false;
    const struct stat after = statOf(path, &exists);
    QVERIFY2(exists, "listen() removed what was at the path");
    QCOMPARE(after.st_ino, before.st_ino);
    QCOMPARE(after.st_mode, before.st_mode);
    QCOMPARE(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    QCOMPARE(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    if (what != QLatin1String("directory")) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll(), content);
    }
    if (what == QLatin1String("symlink"))
        QCOMPARE(QFile::symLinkTarget(path), target);
}

void tst_Listener::localListenRefusesLiveSocket_data()
{
    QTest::addColumn<bool>("python");
    QTest::newRow("another LocalListener listens") << false;
    QTest::newRow("a Python program listens") << true;
}

void tst_Listener::localListenRefusesLiveSocket()
{
    QFETCH(bool, python);
    const QString path = freshPath(QStringLiteral("live"));
    rill::LocalListener first;
    Peer owner;
    if (python) {
        QVERIFY(owner.startPython({QStringLiteral("listen-only"), QStringLiteral("unix:") + path}));
        QVERIFY2(owner.waitForEvent(QStringLiteral("listening")), qPrintable(owner.describe()));
    } else {
        QVERIFY2(first.listen(path), qPrintable(rill::errorMessage(first.error())));
    }
    bool exists = false;
    const struct stat before = statOf(path, &exists);
    QVERIFY(exists);

    rill::LocalListener second;
    QVERIFY2(!second.listen(path), "listen() took a path another listener listens on");
    QVERIFY(!second.isListening());
    QVERIFY2(second.error().kind() == Error::Kind::AddressInUse,
        qPrintable(rilltest::debugString(second.error())));
    QVERIFY2(rill::errorMessage(second.error()).contains(path),
        qPrintable(rill::errorMessage(second.error())));
    const struct stat after = statOf(path, &exists);
    QVERIFY2(exists && after.st_ino == before.st_ino, "the listening socket's file was replaced");

    // The first listener is still reachable.
    if (python) {
        QFuture<FlowResult<rill::LocalFlow>> connecting = rill::LocalFlow::connectToServer(path);
        FlowResult<rill::LocalFlow> result;
        RILL_AWAIT(connecting, result);
        QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
        return;
    }
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("unix:") + path,
        QStringLiteral("--text"), QStringLiteral("still here")}));
    // listen() may have probed the path by connecting: skip that connection if it is queued.
    for (int i = 0; i < 2; ++i) {
        QFuture<FlowResult<rill::LocalFlow>> accepted = first.accept();
        FlowResult<rill::LocalFlow> result;
        RILL_AWAIT(accepted, result);
        QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
        const rilltest::Drained drained = rilltest::readToEnd(result.flow());
        QVERIFY(drained.finished);
        if (drained.data.isEmpty() && i == 0)
            continue;
        RILL_CHECK_DRAINED(drained, QByteArray("still here"), rill::ReadResult::eof());
        break;
    }
}

void tst_Listener::localListenRefusesTooLongPath_data()
{
    QTest::addColumn<int>("length");
    QTest::newRow("sizeof sun_path bytes (no room for the NUL)")
        << int(sizeof(sockaddr_un::sun_path));
    QTest::newRow("300 bytes") << 300;
}

void tst_Listener::localListenRefusesTooLongPath()
{
    QFETCH(int, length);
    const QString prefix = m_dir.path() + QLatin1Char('/');
    const QString path = prefix + QString(length - prefix.size(), QLatin1Char('x'));
    QCOMPARE(QFile::encodeName(path).size(), length);
    rill::LocalListener listener;
    QVERIFY2(!listener.listen(path), "listen() took a path longer than sun_path");
    QVERIFY2(listener.error().kind() == Error::Kind::InvalidArgument,
        qPrintable(rilltest::debugString(listener.error())));
    QVERIFY(!listener.error().message().isEmpty());
    bool exists = true;
    statOf(path, &exists);
    QVERIFY2(!exists, "a file was left at the path");
    rill::Listener any;
    QVERIFY(!any.listen(Endpoint::local(path)));
    QCOMPARE(any.error().kind(), Error::Kind::InvalidArgument);
}

// The longest path sun_path holds (107 bytes and the NUL) must work, as it does for
// QLocalServer: whether the folder or the file name takes the room.
void tst_Listener::localListenTakesTheLongestPath_data()
{
    QTest::addColumn<bool>("longFolder");
    QTest::newRow("long file name") << false;
    QTest::newRow("long folder name, short file name") << true;
}

void tst_Listener::localListenTakesTheLongestPath()
{
    QFETCH(bool, longFolder);
    const int longest = int(sizeof(sockaddr_un::sun_path)) - 1;
    QString folder = m_dir.path();
    if (longFolder) {
        folder += QLatin1Char('/') + QString(longest - folder.size() - 3, QLatin1Char('d'));
        QVERIFY(QDir().mkpath(folder));
    }
    const QString prefix = folder + QLatin1Char('/');
    const QString path = prefix + QString(longest - prefix.size(), QLatin1Char('s'));
    QCOMPARE(QFile::encodeName(path).size(), longest);

    rill::LocalListener listener;
    QVERIFY2(listener.listen(path),
        qPrintable(QStringLiteral("a %1-byte path fits sun_path, yet: ").arg(longest)
            + rill::errorMessage(listener.error())));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("unix:") + path,
        QStringLiteral("--text"), QStringLiteral("long")}));
    QFuture<FlowResult<rill::LocalFlow>> accepted = listener.accept();
    FlowResult<rill::LocalFlow> result;
    RILL_AWAIT(accepted, result);
    QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
    const rilltest::Drained drained = rilltest::readToEnd(result.flow());
    RILL_CHECK_DRAINED(drained, QByteArray("long"), rill::ReadResult::eof());
}

void tst_Listener::localCloseRemovesOnlyItsOwnFile()
{
    const QString path = freshPath(QStringLiteral("own"));
    bool exists = false;
    {
        rill::LocalListener listener;
        QVERIFY(listener.listen(path));
        QSignalSpy listening(&listener, &rill::LocalListener::listeningChanged);
        listener.close();
        QCOMPARE(listening.count(), 1);
        QCOMPARE(listening.at(0).at(0).toBool(), false);
        statOf(path, &exists);
        QVERIFY2(!exists, "close() left the socket file behind");
    }
    {
        auto listener = std::make_unique<rill::LocalListener>();
        QVERIFY(listener->listen(path));
        listener.reset();
        statOf(path, &exists);
        QVERIFY2(!exists, "destroying the listener left the socket file behind");
    }
    // Someone replaced the file meanwhile: it is theirs, close() leaves it.
    rill::LocalListener listener;
    QVERIFY(listener.listen(path));
    QVERIFY(QFile::remove(path));
    QFile other(path);
    QVERIFY(other.open(QIODevice::WriteOnly));
    other.write("someone else's");
    other.close();
    listener.close();
    statOf(path, &exists);
    QVERIFY2(exists, "close() removed a file that was not its socket");
}

void tst_Listener::tcpListenReportsAddressInUse()
{
    rill::TcpListener first;
    QVERIFY(first.listen(QHostAddress::LocalHost, 0));
    const QString endpoint = first.endpoint().toString();
    QCOMPARE(endpoint, QStringLiteral("tcp:127.0.0.1:%1").arg(first.serverPort()));
    rill::TcpListener second;
    QVERIFY(!second.listen(QHostAddress::LocalHost, first.serverPort()));
    QVERIFY2(second.error().kind() == Error::Kind::AddressInUse,
        qPrintable(rilltest::debugString(second.error())));
    QVERIFY2(rill::errorMessage(second.error()).contains(endpoint),
        qPrintable(rill::errorMessage(second.error())));
    rill::Listener any;
    QVERIFY(!any.listen(Endpoint::parse(endpoint)));
    QCOMPARE(any.error().kind(), Error::Kind::AddressInUse);
}

// ---- Listener and connectTo()

void tst_Listener::listenerAndConnectTo_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("tcp") << QStringLiteral("tcp");
    QTest::newRow("unix") << QStringLiteral("unix");
}

void tst_Listener::listenerAndConnectTo()
{
    QFETCH(QString, kind);
    const bool tcp = kind == QLatin1String("tcp");
    const QString path = freshPath(QStringLiteral("generic"));
    const Endpoint wanted
        = Endpoint::parse(tcp ? QStringLiteral("tcp:127.0.0.1:0") : QStringLiteral("unix:") + path);
    QVERIFY(wanted.isValid());

    rill::Listener listener;
    QSignalSpy listening(&listener, &rill::Listener::listeningChanged);
    QSignalSpy incoming(&listener, &rill::Listener::newConnection);
    QVERIFY2(listener.listen(wanted), qPrintable(rill::errorMessage(listener.error())));
    QVERIFY(listener.isListening());
    QCOMPARE(listening.count(), 1);
    const Endpoint bound = listener.endpoint();
    QCOMPARE(bound.type(), wanted.type());
    if (tcp) {
        QCOMPARE(bound.host(), QStringLiteral("127.0.0.1"));
        QVERIFY2(bound.port() != 0, "endpoint() must tell the port picked");
    } else {
        QCOMPARE(bound.path(), path);
    }
    QCOMPARE(listener.endpointString(), bound.toString());

    QFuture<FlowResult<Flow>> connecting = rill::connectTo(bound);
    FlowResult<Flow> client;
    RILL_AWAIT(connecting, client);
    QVERIFY2(client.isOk(), qPrintable(rill::errorMessage(client.error())));
    QVERIFY2(runUntil([&] { return incoming.count() > 0; }), "newConnection() never came");
    QCOMPARE(listener.pendingConnections(), 1);
    QFuture<FlowResult<Flow>> accepting = listener.accept();
    FlowResult<Flow> server;
    RILL_AWAIT(accepting, server);
    QVERIFY2(server.isOk(), qPrintable(rill::errorMessage(server.error())));

    for (Flow *flow : {client.flow(), server.flow()}) {
        QCOMPARE(flow->transportName(), tcp ? QStringLiteral("tcp") : QStringLiteral("unix"));
        QVERIFY(tcp ? qobject_cast<rill::TcpFlow *>(flow) != nullptr
                    : qobject_cast<rill::LocalFlow *>(flow) != nullptr);
    }
    QCOMPARE(client.flow()->peerEndpoint().toString(), bound.toString());

    // Both directions, each half-closed on its own.
    QFuture<rill::WriteResult> ping = client.flow()->write("ping");
    auto clientDone = client.flow()->shutdown(Flow::Direction::Write);
    const rilltest::Drained request = rilltest::readToEnd(server.flow());
    RILL_CHECK_DRAINED(request, QByteArray("ping"), rill::ReadResult::eof());
    QFuture<rill::WriteResult> pong = server.flow()->write("pong");
    auto serverClosed = server.flow()->close();
    const rilltest::Drained reply = rilltest::readToEnd(client.flow());
    RILL_CHECK_DRAINED(reply, QByteArray("pong"), rill::ReadResult::eof());
    RILL_AWAIT_VOID(serverClosed);
    auto clientClosed = client.flow()->close();
    RILL_AWAIT_VOID(clientClosed);
    QVERIFY(ping.result().isOk() && pong.result().isOk());

    listener.close();
    QVERIFY(!listener.isListening());
    QCOMPARE(listening.count(), 2);
    QCOMPARE(listening.at(1).at(0).toBool(), false);
}

// connectTo() reaches a Python listener, and a Python client reaches a Listener.
void tst_Listener::connectToAndListenerWithPythonPeers_data()
{
    listenerAndConnectTo_data();
}

// Flows of one thread share equal addresses (and their text) to save memory: each flow must
// still tell its own, whatever the family, in any order. An IPv4-mapped IPv6 address is not
// the IPv4 one (it is written differently).
void tst_Listener::acceptedFlowsTellTheirOwnAddresses()
{
    struct Side
    {
        QHostAddress address;
        std::unique_ptr<rill::TcpListener> listener;
    };
    std::vector<Side> sides;
    for (const QHostAddress &address :
         {QHostAddress(QHostAddress::LocalHost), QHostAddress(QStringLiteral("::ffff:127.0.0.1")),
          QHostAddress(QHostAddress::LocalHostIPv6)}) {
        auto listener = std::make_unique<rill::TcpListener>();
        if (!listener->listen(address))
            continue; // no IPv6 here: the others still alternate
        sides.push_back({address, std::move(listener)});
    }
    QVERIFY2(sides.size() >= 2, "need 127.0.0.1 and another loopback family");

    // Python connects over the listener's own family (127.0.0.1 for the mapped one, which the
    // kernel hands over as ::ffff:127.0.0.1), alternating listeners.
    for (int round = 0; round < 2 * int(sides.size()); ++round) {
        const Side &side = sides.at(size_t(round) % sides.size());
        const bool mapped = side.address.protocol() == QAbstractSocket::IPv6Protocol
                && side.address.toIPv4Address() != 0;
        const QString host = side.address.protocol() == QAbstractSocket::IPv4Protocol || mapped
                ? QStringLiteral("127.0.0.1")
                : QStringLiteral("[::1]");
        Peer peer;
        QVERIFY(peer.startPython({QStringLiteral("echo"),
                                  QStringLiteral("tcp:%1:%2").arg(host).arg(side.listener->serverPort())}));
        const auto connected = peer.waitForEvent(QStringLiteral("connected"));
        QVERIFY2(connected, qPrintable(peer.describe()));
        QFuture<FlowResult<rill::TcpFlow>> accepting = side.listener->accept();
        FlowResult<rill::TcpFlow> server;
        RILL_AWAIT(accepting, server);
        QVERIFY2(server.isOk(), qPrintable(rill::errorMessage(server.error())));
        rill::TcpFlow *flow = server.flow();

        const quint16 peerPort = quint16(
                connected->value(QLatin1String("local")).toString().section(QLatin1Char(':'), -1).toUInt());
        QCOMPARE(flow->localAddress(), side.address);
        QCOMPARE(flow->localAddress().protocol(), side.address.protocol());
        QCOMPARE(flow->peerAddress(), side.address); // loopback to loopback
        QCOMPARE(flow->peerAddress().protocol(), side.address.protocol());
        QCOMPARE(flow->peerPort(), peerPort);
        QCOMPARE(flow->peerEndpoint(), Endpoint::tcp(side.address.toString(), peerPort));
        QCOMPARE(flow->localEndpoint(),
                 Endpoint::tcp(side.address.toString(), side.listener->serverPort()));

        auto closed = flow->close();
        const rilltest::Drained drained = rilltest::readToEnd(flow);
        RILL_CHECK_DRAINED(drained, QByteArray(), rill::ReadResult::eof());
        RILL_AWAIT_VOID(closed);
        QVERIFY2(peer.waitForExit() && peer.exitCode() == 0, qPrintable(peer.describe()));
    }
}

void tst_Listener::connectToAndListenerWithPythonPeers()
{
    QFETCH(QString, kind);
    const bool tcp = kind == QLatin1String("tcp");
    Peer echo;
    QVERIFY(echo.startPython({QStringLiteral("echo"),
        tcp ? QStringLiteral("tcp:127.0.0.1:0")
            : QStringLiteral("unix:") + freshPath(QStringLiteral("echo")),
        QStringLiteral("--listen")}));
    const auto listening = echo.waitForEvent(QStringLiteral("listening"));
    QVERIFY2(listening, qPrintable(echo.describe()));
    Error error;
    const Endpoint endpoint
        = Endpoint::parse(listening->value(QLatin1String("endpoint")).toString(), &error);
    QVERIFY2(endpoint.isValid(), qPrintable(rill::errorMessage(error)));
    QFuture<FlowResult<Flow>> connecting = rill::connectTo(endpoint);
    FlowResult<Flow> client;
    RILL_AWAIT(connecting, client);
    QVERIFY2(client.isOk(), qPrintable(rill::errorMessage(client.error())));
    QFuture<rill::WriteResult> write = client.flow()->write("echo me");
    auto closed = client.flow()->close();
    const rilltest::Drained echoed = rilltest::readToEnd(client.flow());
    RILL_CHECK_DRAINED(echoed, QByteArray("echo me"), rill::ReadResult::eof());
    RILL_AWAIT_VOID(closed);

    rill::Listener listener;
    QVERIFY(listener.listen(
        Endpoint::parse(tcp ? QStringLiteral("tcp:127.0.0.1:0")
                            : QStringLiteral("unix:") + freshPath(QStringLiteral("listener")))));
    Peer caller;
    QVERIFY(caller.startPython({QStringLiteral("send-then-shutdown"), listener.endpointString(),
        QStringLiteral("--text"), QStringLiteral("hello listener")}));
    QFuture<FlowResult<Flow>> accepting = listener.accept();
    FlowResult<Flow> server;
    RILL_AWAIT(accepting, server);
    QVERIFY2(server.isOk(), qPrintable(rill::errorMessage(server.error())));
    const rilltest::Drained request = rilltest::readToEnd(server.flow());
    RILL_CHECK_DRAINED(request, QByteArray("hello listener"), rill::ReadResult::eof());
    QFuture<rill::WriteResult> reply = server.flow()->write("hello caller");
    auto serverClosed = server.flow()->close();
    RILL_AWAIT_VOID(serverClosed);
    const auto done = caller.waitForEvent(QStringLiteral("done"));
    QVERIFY2(done, qPrintable(caller.describe()));
    QCOMPARE(done->value(QLatin1String("received_sha256")).toString(), sha256Hex("hello caller"));
}

void tst_Listener::connectToRefused_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<Error::Kind>("kind");
    QTest::newRow("tcp port bound, nobody listening")
        << QStringLiteral("tcp") << Error::Kind::Refused;
    QTest::newRow("stale unix socket file") << QStringLiteral("stale") << Error::Kind::Refused;
    QTest::newRow("no unix socket file") << QStringLiteral("missing") << Error::Kind::HostNotFound;
}

void tst_Listener::connectToRefused()
{
    QFETCH(QString, what);
    QFETCH(Error::Kind, kind);
    QString endpoint;
    int held = -1;
    if (what == QLatin1String("tcp")) {
        quint16 port = 0;
        held = bindRefusingPort(&port);
        QVERIFY2(held >= 0, strerror(errno));
        endpoint = QStringLiteral("tcp:127.0.0.1:%1").arg(port);
    } else {
        endpoint = QStringLiteral("unix:") + freshPath(what);
        if (what == QLatin1String("stale")) {
            Peer maker;
            QVERIFY(maker.startPython({QStringLiteral("bind-only"), endpoint}));
            QVERIFY2(maker.waitForExit() && maker.exitCode() == 0, qPrintable(maker.describe()));
        }
    }
    QFuture<FlowResult<Flow>> connecting = rill::connectTo(Endpoint::parse(endpoint));
    FlowResult<Flow> result;
    const bool finished = rilltest::waitFor(connecting);
    if (held >= 0)
        ::close(held);
    QVERIFY2(finished, "connectTo() never finished");
    result = connecting.result();
    QVERIFY(!result.isOk());
    QVERIFY2(result.error().kind() == kind, qPrintable(rilltest::debugString(result.error())));
    const QString message = rill::errorMessage(result.error());
    QVERIFY2(message.contains(endpoint),
        qPrintable(QStringLiteral("the message \"%1\" does not name %2").arg(message, endpoint)));
}

void tst_Listener::invalidEndpointsFail()
{
    QFuture<FlowResult<Flow>> connecting = rill::connectTo(Endpoint());
    QVERIFY2(connecting.isFinished(), "connectTo() an invalid endpoint must finish at once");
    QCOMPARE(connecting.result().error().kind(), Error::Kind::InvalidArgument);

    rill::Listener listener;
    QVERIFY(!listener.listen(Endpoint()));
    QCOMPARE(listener.error().kind(), Error::Kind::InvalidArgument);
    // A name, not an address: refused without a lookup (".invalid" never resolves anyway).
    QVERIFY(!listener.listen(Endpoint::tcp(QStringLiteral("nowhere.invalid"), 0)));
    QCOMPARE(listener.error().kind(), Error::Kind::InvalidArgument);
    QVERIFY(!listener.isListening());
    QFuture<FlowResult<Flow>> accepting = listener.accept();
    QVERIFY(accepting.isFinished());
    QCOMPARE(accepting.result().error().kind(), Error::Kind::Closed);
}

// ---- Endpoint

void tst_Listener::endpointParses_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<Endpoint::Type>("type");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("path");
    const auto tcp = Endpoint::Type::Tcp;
    const auto local = Endpoint::Type::Local;
    QTest::newRow("tcp:127.0.0.1:80")
        << "tcp:127.0.0.1:80" << tcp << "127.0.0.1" << 80 << QString();
    QTest::newRow("tcp:[::1]:80") << "tcp:[::1]:80" << tcp << "::1" << 80 << QString();
    QTest::newRow("unix:/x") << "unix:/x" << local << QString() << 0 << "/x";
    QTest::newRow("tcp:localhost:0") << "tcp:localhost:0" << tcp << "localhost" << 0 << QString();
    QTest::newRow("tcp:127.0.0.1:65535")
        << "tcp:127.0.0.1:65535" << tcp << "127.0.0.1" << 65535 << QString();
    QTest::newRow("tcp:[fe80::1%lo]:8080")
        << "tcp:[fe80::1%lo]:8080" << tcp << "fe80::1%lo" << 8080 << QString();
    QTest::newRow("unix path with colons and spaces")
        << "unix:/tmp/a b:c.sock" << local << QString() << 0 << "/tmp/a b:c.sock";
}

void tst_Listener::endpointParses()
{
    QFETCH(QString, text);
    QFETCH(Endpoint::Type, type);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QString, path);
    Error error;
    const Endpoint endpoint = Endpoint::parse(text, &error);
    QVERIFY2(endpoint.isValid(), qPrintable(rill::errorMessage(error)));
    QVERIFY(error.isNone());
    QCOMPARE(endpoint.type(), type);
    QCOMPARE(endpoint.host(), host);
    QCOMPARE(int(endpoint.port()), port);
    QCOMPARE(endpoint.path(), path);
    QCOMPARE(endpoint.toString(), text);
    QCOMPARE(Endpoint::parse(endpoint.toString()), endpoint);
    const Endpoint made
        = type == Endpoint::Type::Tcp ? Endpoint::tcp(host, quint16(port)) : Endpoint::local(path);
    QCOMPARE(made, endpoint);
}

void tst_Listener::endpointRejectsGarbage_data()
{
    QTest::addColumn<QString>("text");
    for (const char *text :
        {"", "garbage", "tcp:", "tcp:127.0.0.1", "tcp:127.0.0.1:", "tcp:127.0.0.1:65536",
            "tcp:127.0.0.1:-1", "tcp:127.0.0.1:+80", "tcp:127.0.0.1:80x", "tcp:127.0.0.1:8 0",
            "tcp::80", "tcp:::1:80", "tcp:[::1]80", "tcp:[::1", "tcp:[::1]:", "tcp:a b:80",
            "unix:", "udp:127.0.0.1:80", "127.0.0.1:80", "/tmp/x.sock"})
        QTest::newRow(*text ? text : "(empty)") << QString::fromLatin1(text);
}

void tst_Listener::endpointRejectsGarbage()
{
    QFETCH(QString, text);
    Error error;
    const Endpoint endpoint = Endpoint::parse(text, &error);
    QVERIFY2(!endpoint.isValid(), qPrintable(QStringLiteral("accepted as ") + endpoint.toString()));
    QCOMPARE(endpoint.type(), Endpoint::Type::Invalid);
    QCOMPARE(error.kind(), Error::Kind::InvalidArgument);
    const QString message = rill::errorMessage(error);
    QVERIFY2(message.contains(QLatin1Char('"') + text + QLatin1Char('"')),
        qPrintable(QStringLiteral("the message does not quote the text: ") + message));
    QVERIFY2(message.size() > text.size() + 20,
        qPrintable(QStringLiteral("no reason given: ") + message));
    QVERIFY(!Endpoint::parse(text).isValid()); // without an error to fill in
}

QTEST_GUILESS_MAIN(tst_Listener)
#include "tst_listener.moc"
