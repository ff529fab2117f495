// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::Probe, ProbeClient and rill-inspector --list / --attach, against probe_child: a Rill
// program with no probe code, started with RILL_INSPECT, whose peer is a loopback socket here.
#include "../shared/testutil.h"

#include <rill/connect.h>
#include <rill/datalog.h>
#include <rill/exchangemodel.h>
#include <rill/flowtablemodel.h>
#include <rill/listener.h>
#include <rill/probe.h>
#include <rill/writeledgermodel.h>

#include <QtCore/QCborValue>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtCore/QtEndian>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#ifdef PROBE_WINDOW_TEST
#include "flowdetailview.h"
#include "mainwindow.h"
#include "session.h"

#include <QtGui/QAction>
#include <QtWidgets/QDialog>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTableWidget>
#endif

#include <memory>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace rill;
using namespace rilltest;
using namespace std::chrono_literals;

namespace {

// A probe_child and its peer (the accepted socket).
struct Child
{
    QProcess process;
    QTcpServer server;
    QTcpSocket *peer = nullptr;
    QByteArray out;

    ~Child()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished();
        }
    }
    qint64 pid() const { return process.processId(); }
    QString socketPath() const
    {
        return Probe::socketDirectory() + QLatin1Char('/') + QString::number(pid());
    }
    bool said(const QByteArray &line)
    {
        out += process.readAllStandardOutput();
        return out.contains(line + '\n');
    }
    // QProcess::waitForFinished() is false for a process already reaped by the event loop.
    bool exited()
    {
        return spinUntil([this] { return process.state() == QProcess::NotRunning; });
    }
    qint64 peakResidentBytes() const
    {
        QFile status(QStringLiteral("/proc/%1/status").arg(pid()));
        if (!status.open(QIODevice::ReadOnly))
            return -1;
        for (const QByteArray &line : status.readAll().split('\n')) {
            if (line.startsWith("VmHWM:"))
                return line.mid(6).trimmed().split(' ').value(0).toLongLong() * 1024;
        }
        return -1;
    }
};

// The id client knows a flow of this process by; 0 if none.
quint64 idOf(const ProbeClient &client, const Flow *flow)
{
    for (const ProbeFlow &f : client.flows()) {
        if (f.localEndpoint == flow->localEndpoint().toString()
            && f.peerEndpoint == flow->peerEndpoint().toString())
            return f.id;
    }
    return 0;
}

// Two flows of this process over loopback: the client's end and the accepted one.
struct Pair
{
    TcpListener listener;
    std::unique_ptr<Flow> client;
    std::unique_ptr<Flow> server;

    bool connect()
    {
        if (!listener.listen())
            return false;
        QFuture<FlowResult<Flow>> connecting = connectTo(listener.endpoint());
        QFuture<FlowResult<TcpFlow>> accepting = listener.accept();
        if (!waitFor(connecting) || !waitFor(accepting))
            return false;
        client = connecting.result().takeFlow();
        server = accepting.result().takeFlow();
        return client && server;
    }

    // Connects, then has probeClient pause the reading of the accepted end: its id, 0 if not.
    quint64 connectPaused(ProbeClient &probeClient)
    {
        if (!connect() || !spinUntil([&] { return idOf(probeClient, server.get()) != 0; }))
            return 0;
        const quint64 id = idOf(probeClient, server.get());
        if (probeClient.flow(id).readPaused)
            return 0;
        probeClient.pauseReading(id);
        return spinUntil([&] { return probeClient.flow(id).readPaused; }) ? id : 0;
    }
};

// "t" of a frame.
QString typeOf(const QCborMap &m)
{
    return m.value(QStringLiteral("t")).toString();
}

} // namespace

class tst_Probe : public QObject
{
    Q_OBJECT

private:
    // Starts probe_child in MODE with RILL_INSPECT=INSPECT; returns once it is connected to its
    // peer and its probe listens.
    std::unique_ptr<Child> startChild(const QString &mode, const QByteArray &inspect = "1",
                                      const QStringList &more = {});
    static bool attachTo(ProbeClient &client, qint64 pid);
    // The probe of this very process started with control allowed, and client attached to it;
    // the probe stops when the guard goes.
    static auto attachToSelf(ProbeClient &client, bool *ok);

    QTemporaryDir m_runtime;

private Q_SLOTS:
    void initTestCase();
    void listFindsIt();
    void socketModes();
    void attachShowsFlows();
    void halfCloseAndExitShow();
    void waitingWritesShow();
    void kernelViewOfAttachedFlow();
    void controlRefusedWithoutOptIn();
    void controlWithOptIn();
    void closeWithOptIn();
    void otherUserRefused();
    void slowSubscriberCutOff();
    void inspectorAttach();
    void rillcatHonoursEnvironment();
    void windowAttached();
    void inspectorAttachErrors();
    void listenersPublished();
    void pauseReading();
    void pauseEndsWithCloseAbortOrDetach();
    void attachDialog();
    void ledgerOfChosenFlows();
    void httpExchangesOfAttachedServer();
};

auto tst_Probe::attachToSelf(ProbeClient &client, bool *ok)
{
    *ok = Probe::start(Probe::AllowControl) && attachTo(client, QCoreApplication::applicationPid());
    return qScopeGuard([] { Probe::stop(); });
}


void tst_Probe::initTestCase()
{
    QVERIFY(m_runtime.isValid());
    // Our children's probes and our clients meet here, away from any other process's.
    qputenv("XDG_RUNTIME_DIR", QFile::encodeName(m_runtime.path()));
    QCOMPARE(Probe::socketDirectory(), m_runtime.path() + QStringLiteral("/rill"));
    QVERIFY(!Probe::isRunning());
}

std::unique_ptr<Child> tst_Probe::startChild(const QString &mode, const QByteArray &inspect,
                                             const QStringList &more)
{
    auto child = std::make_unique<Child>();
    if (!child->server.listen(QHostAddress::LocalHost))
        return nullptr;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RILL_INSPECT"), QString::fromLatin1(inspect));
    child->process.setProcessEnvironment(env);
    child->process.setProcessChannelMode(QProcess::SeparateChannels);
    child->process.start(QStringLiteral(PROBE_CHILD),
                         QStringList{QStringLiteral("tcp:127.0.0.1:%1").arg(child->server.serverPort()),
                                     mode}
                                 + more);
    Child *c = child.get();
    if (!spinUntil([c] { return c->server.hasPendingConnections(); }))
        return nullptr;
    child->peer = child->server.nextPendingConnection();
    if (!spinUntil([c] { return c->said("connected"); })
        || !spinUntil([c] { return QFileInfo::exists(c->socketPath()); }))
        return nullptr;
    return child;
}

bool tst_Probe::attachTo(ProbeClient &client, qint64 pid)
{
    QString error;
    if (!client.attach(pid, &error)) {
        qWarning() << error;
        return false;
    }
    return spinUntil([&] { return client.state() == ProbeClient::State::Attached; });
}

void tst_Probe::listFindsIt()
{
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    const QList<ProbeProcess> list = ProbeClient::processes();
    QCOMPARE(list.size(), 1);
    QCOMPARE(list[0].pid, child->pid());
    QCOMPARE(list[0].program, QStringLiteral("probe_child"));
    QCOMPARE(list[0].flows, 1);
    QVERIFY(list[0].started.isValid());
#ifdef RILL_INSPECTOR
    QProcess inspector;
    inspector.start(QStringLiteral(RILL_INSPECTOR), {QStringLiteral("--list")});
    QVERIFY(inspector.waitForFinished(int(DefaultTimeout.count())));
    QCOMPARE(inspector.exitCode(), 0);
    QCOMPARE(inspector.readAllStandardOutput(),
             QByteArray::number(child->pid()) + " probe_child 1\n");
#endif
}

void tst_Probe::socketModes()
{
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    struct stat st = {};
    QCOMPARE(::lstat(QFile::encodeName(Probe::socketDirectory()).constData(), &st), 0);
    QVERIFY(S_ISDIR(st.st_mode));
    QCOMPARE(st.st_mode & 07777, mode_t(0700));
    QCOMPARE(st.st_uid, ::geteuid());
    QCOMPARE(::lstat(QFile::encodeName(child->socketPath()).constData(), &st), 0);
    QVERIFY(S_ISSOCK(st.st_mode));
    QCOMPARE(st.st_mode & 07777, mode_t(0600));
    QCOMPARE(st.st_uid, ::geteuid());

    // A stale socket (of a dead process) is removed when a probe starts, and by listing.
    const QString stale = Probe::socketDirectory() + QStringLiteral("/999999999");
    QVERIFY(QFile(stale).open(QIODevice::WriteOnly));
    ProbeClient::processes();
    QVERIFY(!QFileInfo::exists(stale));

    // Removed at exit.
    const QString path = child->socketPath();
    child->peer->disconnectFromHost();
    QVERIFY(child->exited());
    QCOMPARE(child->process.exitCode(), 0);
    QVERIFY(!QFileInfo::exists(path));
}

void tst_Probe::attachShowsFlows()
{
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    ProbeClient client;
    QVERIFY(attachTo(client, child->pid()));
    QCOMPARE(client.process().pid, child->pid());
    QCOMPARE(client.process().program, QStringLiteral("probe_child"));
    QCOMPARE(client.flows().size(), 1);
    const ProbeFlow flow = client.flows().first();
    QCOMPARE(flow.transport, QStringLiteral("tcp"));
    QCOMPARE(flow.peerEndpoint, QStringLiteral("tcp:127.0.0.1:%1").arg(child->server.serverPort()));
    QCOMPARE(flow.localEndpoint, QStringLiteral("tcp:127.0.0.1:%1").arg(child->peer->peerPort()));
    QCOMPARE(flow.state, Flow::State::Open);
    QCOMPARE(flow.readState, Flow::ReadState::Open);
    QCOMPARE(flow.highWaterMark, Flow::DefaultHighWaterMark);

    // The table model shows it as it shows a local flow.
    FlowTableModel model;
    model.showProbeFlows(&client);
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(!model.flow(0));
    auto cell = [&model](int column) { return model.data(model.index(0, column), FlowTableModel::IdRole + column); };
    QCOMPARE(cell(FlowTableModel::PeerEndpointColumn).toString(), flow.peerEndpoint);
    QCOMPARE(cell(FlowTableModel::TransportColumn).toString(), QStringLiteral("tcp"));

    // Counters follow (sent a few times a second).
    child->peer->write(QByteArray(1000, 'a'));
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(flow.id).stats.bytesRead, qint64(1000), 15000);
    QTRY_COMPARE_WITH_TIMEOUT(cell(FlowTableModel::BytesInColumn).toLongLong(), qint64(1000), 15000);

    // The bytes only on request, and at most as many as asked for.
    QByteArray data;
    connect(&client, &ProbeClient::dataReceived, this,
            [&data, &flow](quint64 id, bool sent, const QByteArray &bytes) {
                if (id == flow.id && !sent)
                    data += bytes;
            });
    QCOMPARE(data, QByteArray());
    client.requestData(flow.id, 10);
    QTcpSocket *peer = child->peer;
    QVERIFY(spinUntil([&] {
        if (peer->bytesToWrite() == 0)
            peer->write("0123456789");
        return data.size() >= 10;
    }));
    QCOMPARE(data, QByteArray("0123456789"));
    // More goes by (the counters say so after it), none of it sent to us.
    const qint64 before = client.flow(flow.id).stats.bytesRead;
    peer->write("abcdefghij");
    QTRY_VERIFY_WITH_TIMEOUT(client.flow(flow.id).stats.bytesRead >= before + 10, 15000);
    QCOMPARE(data, QByteArray("0123456789"));
}

void tst_Probe::halfCloseAndExitShow()
{
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    ProbeClient client;
    QVERIFY(attachTo(client, child->pid()));
    const quint64 id = client.flows().first().id;
    QSignalSpy ended(&client, &ProbeClient::ended);

    // The peer half-closes: the read lamp turns (the child then closes and exits).
    QCOMPARE(::shutdown(int(child->peer->socketDescriptor()), SHUT_WR), 0);
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(id).readState, Flow::ReadState::Eof, 15000);
    QVERIFY(child->exited());
    QTRY_COMPARE_WITH_TIMEOUT(ended.size(), 1, 15000);
    QVERIFY2(ended[0][0].toString().contains(QStringLiteral("exited")),
             qPrintable(ended[0][0].toString()));
    QCOMPARE(client.state(), ProbeClient::State::Ended);
    // The last picture stays.
    QVERIFY(!client.flows().isEmpty());
}

void tst_Probe::waitingWritesShow()
{
    // The peer never reads: the child's writes fill the kernel's buffers, then its queue
    // (high-water mark 64 KiB), then wait.
    auto child = startChild(QStringLiteral("stall"));
    QVERIFY(child);
    ProbeClient client;
    QStringList ledger;
    connect(&client, &ProbeClient::eventReceived, this,
            [&ledger](const QCborMap &m) { ledger << typeOf(m); });
    QVERIFY(attachTo(client, child->pid()));
    const quint64 id = client.flows().first().id;
    WriteLedgerModel ledgerModel;
    ledgerModel.setProbeFlow(&client, id);
    QTRY_VERIFY_WITH_TIMEOUT(client.flow(id).writesWaiting >= 1, 15000);
    QCOMPARE(client.flow(id).highWaterMark, qint64(64 * 1024));
    QTRY_VERIFY_WITH_TIMEOUT(client.flow(id).bytesQueued >= 64 * 1024, 15000);
    // The peer reads a little: waiting writes are accepted and new ones queued, in the ledger.
    qint64 drained = 0;
    QTcpSocket *peer = child->peer;
    QVERIFY(spinUntil([&] {
        drained += peer->read(1024 * 1024).size();
        return drained >= 4 * 1024 * 1024;
    }));
    QTRY_VERIFY_WITH_TIMEOUT(ledger.contains(QStringLiteral("writeQueued"))
                                     && ledger.contains(QStringLiteral("writeAccepted")),
                             15000);
    // The ledger model, fed by the probe's events as by a local flow's signals.
    QTRY_VERIFY_WITH_TIMEOUT(ledgerModel.rowCount() > 0, 15000);
    QVERIFY(!ledgerModel.flow());
    child->process.kill();
    QVERIFY(child->process.waitForFinished());
}

void tst_Probe::kernelViewOfAttachedFlow()
{
    // What the kernel says of an attached flow's socket, asked of its probe: a question, so an
    // observe-only process answers it. The peer stops reading, so the child's send queue fills.
    QList<ProbeSocketInfo> answers;
    auto collect = [&answers](ProbeClient &client) {
        connect(&client, &ProbeClient::socketInfoReceived, &client,
                [&answers](const ProbeSocketInfo &info) { answers << info; });
    };
    {
        auto child = startChild(QStringLiteral("stall"));
        QVERIFY(child);
        // A QTcpSocket reads all it can; bounded, it stops, and the kernel's queues fill.
        child->peer->setReadBufferSize(64 * 1024);
        ProbeClient client;
        collect(client);
        QVERIFY(attachTo(client, child->pid()));
        const quint64 id = client.flows().first().id;
        // Asked again until the queue shows: the peer may still read what was sent before.
        connect(&client, &ProbeClient::socketInfoReceived, &client, [&](const ProbeSocketInfo &info) {
            if (info.flow == id && info.sendQueue == 0)
                client.requestSocketInfo(id);
        });
        client.requestSocketInfo(id);
        QTRY_VERIFY_WITH_TIMEOUT(!answers.isEmpty() && answers.last().sendQueue > 0, 15000);
        const ProbeSocketInfo full = answers.last();
        QCOMPARE(full.flow, id);
        QVERIFY(full.isAvailable());
        QCOMPARE(full.tcpStateName(), QStringLiteral("ESTABLISHED"));
        QCOMPARE(full.receiveQueue, qint64(0)); // the child reads all that comes

        // A flow that is not there (any more) is answered too: nothing to say.
        const qsizetype before = answers.size();
        client.requestSocketInfo(id + 1000);
        QTRY_COMPARE_WITH_TIMEOUT(answers.size(), before + 1, 15000);
        QCOMPARE(answers.last().flow, id + 1000);
        QVERIFY(!answers.last().isAvailable());
        QCOMPARE(answers.last().tcpStateName(), QString());
        child->process.kill();
        QVERIFY(child->process.waitForFinished());
    }

    // A half-close, as the kernel sees it: the child shuts its write side down (asked by the
    // inspector, which this child allows) and its peer keeps its own open: FIN-WAIT-2.
    answers.clear();
    auto child = startChild(QStringLiteral("idle"), "control");
    QVERIFY(child);
    ProbeClient client;
    collect(client);
    QVERIFY(attachTo(client, child->pid()));
    const quint64 id = client.flows().first().id;
    // A QTcpSocket closes both directions at the end of stream: a second descriptor keeps the
    // peer's socket open.
    const int peerKept = ::dup(int(child->peer->socketDescriptor()));
    QVERIFY(peerKept >= 0);
    const auto closeKept = qScopeGuard([peerKept] { ::close(peerKept); });
    // Asked again while the FIN is not acknowledged yet (FIN-WAIT-1, briefly).
    connect(&client, &ProbeClient::socketInfoReceived, &client, [&](const ProbeSocketInfo &info) {
        if (info.tcpStateName() == QStringLiteral("FIN-WAIT-1"))
            client.requestSocketInfo(id);
    });
    client.shutdownFlow(id, Flow::Direction::Write);
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(id).writeState, Flow::WriteState::Closed, 15000);
    client.requestSocketInfo(id);
    QTRY_VERIFY_WITH_TIMEOUT(!answers.isEmpty()
                                     && answers.last().tcpStateName() != QStringLiteral("FIN-WAIT-1"),
                             15000);
    QCOMPARE(answers.last().tcpStateName(), QStringLiteral("FIN-WAIT-2"));
    QCOMPARE(answers.last().sendQueue, qint64(0));
    QCOMPARE(client.flow(id).readState, Flow::ReadState::Open);
}

void tst_Probe::controlRefusedWithoutOptIn()
{
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    ProbeClient client;
    QVERIFY(attachTo(client, child->pid()));
    QVERIFY(!client.controlAllowed());
    QSignalSpy failed(&client, &ProbeClient::requestFailed);
    const quint64 id = client.flows().first().id;
    client.shutdownFlow(id, Flow::Direction::Write);
    client.abortFlow(id);
    client.pauseReading(id);
    client.closeFlow(id);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 4, 15000);
    QVERIFY(failed[0][0].toString().contains(QStringLiteral("not allowed")));
    // Nothing happened to the flow: the peer still writes and the child still reads.
    child->peer->write("more");
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(id).stats.bytesRead, qint64(4), 15000);
    QCOMPARE(client.flow(id).writeState, Flow::WriteState::Open);
    QCOMPARE(client.flow(id).state, Flow::State::Open);
    QVERIFY(!client.flow(id).readPaused);
}

void tst_Probe::controlWithOptIn()
{
    auto child = startChild(QStringLiteral("idle"), "control");
    QVERIFY(child);
    ProbeClient client;
    QVERIFY(attachTo(client, child->pid()));
    QVERIFY(client.controlAllowed());
    const quint64 id = client.flows().first().id;
    client.shutdownFlow(id, Flow::Direction::Write);
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(id).writeState, Flow::WriteState::Closed, 15000);
    // The peer sees the end of stream.
    QTcpSocket *peer = child->peer;
    QVERIFY(spinUntil([peer] { return peer->state() == QAbstractSocket::UnconnectedState; }));
}

void tst_Probe::closeWithOptIn()
{
    // The inspector closes a flow of the process as the process itself would: the peer gets
    // what the flow had queued, then the end of stream.
    auto child = startChild(QStringLiteral("idle"), "control");
    QVERIFY(child);
    ProbeClient client;
    QVERIFY(attachTo(client, child->pid()));
    const quint64 id = client.flows().first().id;
    QSignalSpy failed(&client, &ProbeClient::requestFailed);
    client.closeFlow(id);
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(id).state, Flow::State::Closed, 15000);
    QCOMPARE(client.flow(id).writeState, Flow::WriteState::Closed);
    QTcpSocket *peer = child->peer;
    QVERIFY(spinUntil([peer] { return peer->state() == QAbstractSocket::UnconnectedState; }));
    QCOMPARE(failed.size(), 0);
    QVERIFY(child->exited()); // its read ended, so it quit, as it does at a peer's end
}

void tst_Probe::otherUserRefused()
{
    if (::geteuid() != 0)
        QSKIP("needs root to run a client as another uid (setpriv)");
    if (QStandardPaths::findExecutable(QStringLiteral("setpriv")).isEmpty()
        || QStandardPaths::findExecutable(QStringLiteral("socat")).isEmpty())
        QSKIP("needs setpriv and socat");
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    const QStringList asNobody = {QStringLiteral("--reuid=65534"), QStringLiteral("--regid=65534"),
                                  QStringLiteral("--clear-groups")};

#ifdef RILL_INSPECTOR
    {
        QProcess inspector;
        inspector.start(QStringLiteral("setpriv"),
                        asNobody + QStringList{QStringLiteral(RILL_INSPECTOR), QStringLiteral("--attach"),
                                               QString::number(child->pid()),
                                               QStringLiteral("--headless")});
        QVERIFY(inspector.waitForFinished(int(DefaultTimeout.count())));
        QCOMPARE(inspector.exitCode(), 1);
        const QByteArray err = inspector.readAllStandardError();
        QVERIFY2(err.contains("belongs to another user"), err.constData());
    }
#endif

    // Past the folder's mode (opened here on purpose), the probe's own check refuses.
    const QByteArray runtime = QFile::encodeName(m_runtime.path());
    const QByteArray dir = QFile::encodeName(Probe::socketDirectory());
    const QByteArray path = QFile::encodeName(child->socketPath());
    QCOMPARE(::chmod(runtime.constData(), 0711), 0);
    QCOMPARE(::chmod(dir.constData(), 0711), 0);
    QCOMPARE(::chmod(path.constData(), 0666), 0);
    QProcess client;
    client.start(QStringLiteral("setpriv"),
                 asNobody + QStringList{QStringLiteral("socat"), QStringLiteral("-u"),
                                        QStringLiteral("UNIX-CONNECT:") + child->socketPath(),
                                        QStringLiteral("-")});
    QVERIFY(client.waitForFinished(int(DefaultTimeout.count())));
    ::chmod(path.constData(), 0600);
    ::chmod(dir.constData(), 0700);
    ::chmod(runtime.constData(), 0700);
    QCOMPARE(client.readAllStandardOutput(), QByteArray()); // not even the hello
    Child *c = child.get();
    QByteArray err;
    QVERIFY(spinUntil([c, &err] {
        err += c->process.readAllStandardError();
        return err.contains("refused a connection from uid 65534");
    }));
}

void tst_Probe::slowSubscriberCutOff()
{
    // Not reduced under sanitizers: it takes this many writes (five events each) to overflow
    // what the socket holds and the queue, and then twice the queue.
    const qint64 volume = 16 * 1024 * 1024;
    auto child = startChild(QStringLiteral("bulk"), "1", {QString::number(volume)});
    QVERIFY(child);
    // A subscriber that never reads: a bare socket (QLocalSocket would read into its buffer).
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    QVERIFY(fd >= 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    const QByteArray path = QFile::encodeName(child->socketPath());
    std::memcpy(address.sun_path, path.constData(), size_t(path.size()));
    QCOMPARE(::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address), 0);

    // The transfer completes, the peer reading it all.
    qint64 received = 0;
    QTcpSocket *peer = child->peer;
    Child *c = child.get();
    QVERIFY(spinUntil(
            [&] {
                received += peer->readAll().size();
                return received == volume && c->said("sent");
            },
            60s));
    if (!Sanitized) {
        const qint64 peak = child->peakResidentBytes();
        QVERIFY2(peak > 0 && peak < 64 * 1024 * 1024, qPrintable(QString::number(peak)));
    }

    // What the subscriber gets when it finally reads: events, the count lost, the cut-off.
    QByteArray in;
    char buffer[65536];
    QVERIFY(spinUntil([&] {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0)
            in.append(buffer, n);
        return n == 0;
    }));
    ::close(fd);
    qint64 lost = 0;
    bool cutOff = false;
    int frames = 0;
    QString lastType;
    while (in.size() >= 4) {
        const quint32 size = qFromBigEndian<quint32>(in.constData());
        QVERIFY(in.size() >= qsizetype(4 + size));
        const QCborMap m = QCborValue::fromCbor(in.mid(4, size)).toMap();
        in.remove(0, 4 + size);
        ++frames;
        QCOMPARE(m.value(QStringLiteral("v")).toInteger(), qint64(Probe::ProtocolVersion));
        if (typeOf(m) == QLatin1String("lost"))
            lost = m.value(QStringLiteral("count")).toInteger();
        if (typeOf(m) == QLatin1String("cutoff"))
            cutOff = true;
        lastType = typeOf(m);
    }
    QVERIFY(in.isEmpty());
    QVERIFY(frames > 1);
    QVERIFY2(cutOff, qPrintable(QStringLiteral("%1 frames, %2 lost, the last a \"%3\"")
                                        .arg(frames)
                                        .arg(lost)
                                        .arg(lastType)));
    QVERIFY(lost >= 2 * Probe::QueueLimit);
    peer->disconnectFromHost();
    QVERIFY(child->exited());
    QCOMPARE(child->process.exitCode(), 0);
}

void tst_Probe::inspectorAttach()
{
#ifndef RILL_INSPECTOR
    QSKIP("rill-inspector is not built");
#else
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    QProcess inspector;
    inspector.start(QStringLiteral(RILL_INSPECTOR),
                    {QStringLiteral("--attach"), QString::number(child->pid()),
                     QStringLiteral("--headless")});
    QByteArray out;
    const QByteArray peer = "tcp:127.0.0.1:" + QByteArray::number(child->server.serverPort());
    QVERIFY(spinUntil([&] {
        out += inspector.readAllStandardOutput();
        return out.contains(peer) && out.contains("probe_child");
    }));
    QCOMPARE(::shutdown(int(child->peer->socketDescriptor()), SHUT_WR), 0);
    QVERIFY(child->exited());
    QByteArray err;
    QVERIFY(spinUntil([&] {
        err += inspector.readAllStandardError();
        return err.contains("exited");
    }));
    // It keeps the last picture: still printing the flow.
    out.clear();
    QVERIFY(spinUntil([&] {
        out += inspector.readAllStandardOutput();
        return out.contains("ended") && out.contains(peer);
    }));
    inspector.terminate();
    QVERIFY(inspector.waitForFinished());
#endif
}

void tst_Probe::rillcatHonoursEnvironment()
{
#ifndef RILLCAT
    QSKIP("rillcat is not built");
#else
    // rillcat has no probe code: the environment alone starts its probe.
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QProcess rillcat;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RILL_INSPECT"), QStringLiteral("1"));
    rillcat.setProcessEnvironment(env);
    rillcat.start(QStringLiteral(RILLCAT),
                  {QStringLiteral("tcp:127.0.0.1:%1").arg(server.serverPort())});
    QVERIFY(spinUntil([&] { return server.hasPendingConnections(); }));
    QTcpSocket *peer = server.nextPendingConnection();
    const QString path = Probe::socketDirectory() + QLatin1Char('/')
            + QString::number(rillcat.processId());
    QVERIFY(spinUntil([&] { return QFileInfo::exists(path); }));
    ProbeClient client;
    QVERIFY(attachTo(client, rillcat.processId()));
    QCOMPARE(client.process().program, QStringLiteral("rillcat"));
    // Its flow may still be connecting when we attach (our end accepted first): its endpoints
    // follow as an event.
    auto found = [&] {
        for (const ProbeFlow &flow : client.flows()) {
            if (flow.peerEndpoint == QStringLiteral("tcp:127.0.0.1:%1").arg(server.serverPort()))
                return true;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(found(), 15000);
    // It ends as usual: stdin closed, the peer closes too.
    rillcat.closeWriteChannel();
    peer->disconnectFromHost();
    QVERIFY(spinUntil([&] { return rillcat.state() == QProcess::NotRunning; }));
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), ProbeClient::State::Ended, 15000);
    QVERIFY(!QFileInfo::exists(path));
#endif
}

void tst_Probe::windowAttached()
{
#ifndef PROBE_WINDOW_TEST
    QSKIP("the inspector's window is not built");
#else
    using namespace inspector;
    auto child = startChild(QStringLiteral("stall"));
    QVERIFY(child);
    child->peer->setReadBufferSize(64 * 1024); // reads only as the test does: queues fill
    MainWindow::Options options;
    options.demo = false;
    MainWindow window(options);
    window.show();
    QString error;
    QVERIFY2(window.attachTo(child->pid(), &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->model()->rowCount(), 1, 15000);
    window.flowTable()->selectRow(0);
    FlowDetailView *detail = window.detailView();
    QTRY_VERIFY_WITH_TIMEOUT(detail->monitor() && detail->monitor()->isRemote(), 15000);
    const QString peer = QStringLiteral("tcp:127.0.0.1:%1").arg(child->server.serverPort());
    QTRY_VERIFY_WITH_TIMEOUT(detail->headerLabel()->text().contains(peer), 15000);

    // The kernel's view of its socket, asked of its probe while the flow is shown: its peer
    // does not read yet, so its send queue is not empty.
    auto *kernelState = detail->findChild<QLabel *>(QStringLiteral("kernelState"));
    auto *kernelQueue = detail->findChild<QLabel *>(QStringLiteral("kernelQueue"));
    QVERIFY(kernelState && kernelQueue);
    QTRY_VERIFY_WITH_TIMEOUT(kernelState->text().contains(QStringLiteral("ESTABLISHED")), 15000);
    QVERIFY2(kernelQueue->text().contains(QStringLiteral("SIOCOUTQ")), qPrintable(kernelQueue->text()));
    QTRY_VERIFY2_WITH_TIMEOUT(!kernelQueue->text().startsWith(QStringLiteral("0 ")),
                              qPrintable(kernelQueue->text()), 15000);

    // Its ledger, as the probe tells it, once the peer reads a little.
    qint64 drained = 0;
    QTcpSocket *peerSocket = child->peer;
    QVERIFY(spinUntil([&] {
        drained += peerSocket->read(1024 * 1024).size();
        return drained >= 4 * 1024 * 1024;
    }));
    detail->tabs()->setCurrentIndex(FlowDetailView::LedgerTab);
    QTRY_VERIFY_WITH_TIMEOUT(detail->monitor()->ledger()->rowCount() > 0, 15000);
    QVERIFY(!detail->monitor()->samples().empty());

    // Its data log: asked for when the tab shows, then what it moves (it writes 'x's; its peer
    // pings and reads, and whichever comes first spends the probe's budget).
    detail->tabs()->setCurrentIndex(FlowDetailView::DataTab);
    const rill::DataLog *log = detail->monitor()->dataLog();
    QVERIFY(spinUntil([&] {
        if (peerSocket->bytesToWrite() == 0)
            peerSocket->write("ping");
        peerSocket->readAll();
        return !log->entries().empty();
    }));
    for (const rill::DataLog::Entry &e : log->entries()) {
        const QByteArray alphabet = e.direction == rill::DataLog::Direction::Out ? "x" : "ping";
        QVERIFY(!e.bytes.isEmpty());
        for (const char c : e.bytes)
            QVERIFY2(alphabet.contains(c), e.bytes.left(64).constData());
    }

    // Control is the process's to allow: refused here, and said; pausing its reads is not
    // even offered.
    QAction *pause = detail->findChild<QAction *>(QStringLiteral("pauseReadingAction"));
    QVERIFY(pause);
    QVERIFY(!pause->isEnabled());
    QSignalSpy failed(detail->monitor(), &FlowMonitor::actionFailed);
    detail->monitor()->abort();
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 15000);
    QVERIFY(failed[0][0].toString().contains(QStringLiteral("not allowed")));

    // The process exits: the shown flow's samples go on (the last picture), asking nobody.
    FlowMonitor *monitor = detail->monitor();
    QSignalSpy sampled(monitor, &FlowMonitor::sampled);
    child->process.kill();
    QVERIFY(child->process.waitForFinished());
    QTRY_COMPARE_WITH_TIMEOUT(monitor->probeClient()->state(), rill::ProbeClient::State::Ended, 15000);
    const int before = int(sampled.size());
    QTRY_VERIFY_WITH_TIMEOUT(sampled.size() >= before + 15, 15000);
    QCOMPARE(failed.size(), 1);
    QVERIFY(!monitor->kernelInfo().isAvailable());
#endif
}

void tst_Probe::inspectorAttachErrors()
{
#ifndef RILL_INSPECTOR
    QSKIP("rill-inspector is not built");
#else
    auto run = [](qint64 pid, QByteArray *err) {
        QProcess inspector;
        inspector.start(QStringLiteral(RILL_INSPECTOR),
                        {QStringLiteral("--attach"), QString::number(pid), QStringLiteral("--headless")});
        if (!inspector.waitForFinished(int(DefaultTimeout.count())))
            return -1;
        *err = inspector.readAllStandardError();
        return inspector.exitCode();
    };
    QByteArray err;
    QCOMPARE(run(QCoreApplication::applicationPid(), &err), 1); // no probe here
    QVERIFY2(err.contains("has no Rill probe"), err.constData());
    if (::geteuid() == 0) {
        // A process of another user.
        QProcess other;
        other.start(QStringLiteral("setpriv"),
                    {QStringLiteral("--reuid=65534"), QStringLiteral("--regid=65534"),
                     QStringLiteral("--clear-groups"), QStringLiteral("sleep"), QStringLiteral("60")});
        QVERIFY(other.waitForStarted());
        QVERIFY(spinUntil([&] {
            QFileInfo proc(QStringLiteral("/proc/%1").arg(other.processId()));
            return proc.ownerId() == 65534;
        }));
        QCOMPARE(run(other.processId(), &err), 1);
        QVERIFY2(err.contains("belongs to another user"), err.constData());
        other.kill();
        other.waitForFinished();
    }
#endif
}

void tst_Probe::listenersPublished()
{
    ProbeClient client;
    bool ok = false;
    const auto stop = attachToSelf(client, &ok);
    QVERIFY(ok);
    QVERIFY(client.listeners().isEmpty());
    QSignalSpy changed(&client, &ProbeClient::listenersChanged);

    // Made, then listening: both told, with where it listens.
    auto tcp = std::make_unique<TcpListener>();
    QTRY_COMPARE_WITH_TIMEOUT(client.listeners().size(), 1, 15000);
    QCOMPARE(client.listeners().first().listening, false);
    QVERIFY(tcp->listen());
    const QString where = tcp->endpoint().toString();
    QTRY_VERIFY_WITH_TIMEOUT(client.listeners().first().listening, 15000);
    QCOMPARE(client.listeners().first().endpoint, where);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto local = std::make_unique<LocalListener>();
    QVERIFY(local->listen(dir.filePath(QStringLiteral("s"))));
    QTRY_COMPARE_WITH_TIMEOUT(client.listeners().size(), 2, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(client.listeners().last().endpoint, local->endpoint().toString(), 15000);
    QVERIFY(client.listeners().last().listening);

#ifdef PROBE_WINDOW_TEST
    // Shown attached: the window's listening endpoints are the process's.
    inspector::InspectorSession session;
    session.attach(&client);
    QSignalSpy listening(&session, &inspector::InspectorSession::listeningChanged);
    QCOMPARE(session.listeningEndpoints(), QStringList({where, local->endpoint().toString()}));
#endif

    // Stopped, then destroyed: gone.
    tcp->close();
    QTRY_VERIFY_WITH_TIMEOUT(!client.listeners().first().listening, 15000);
    tcp.reset();
    QTRY_COMPARE_WITH_TIMEOUT(client.listeners().size(), 1, 15000);
    QCOMPARE(client.listeners().first().endpoint, local->endpoint().toString());
    local.reset();
    QTRY_VERIFY_WITH_TIMEOUT(client.listeners().isEmpty(), 15000);
    QVERIFY(changed.size() >= 6);
#ifdef PROBE_WINDOW_TEST
    QVERIFY(listening.size() >= 1);
    QVERIFY(session.listeningEndpoints().isEmpty());
    session.attach(nullptr);
#endif
}

void tst_Probe::pauseReading()
{
    ProbeClient client;
    bool ok = false;
    const auto stop = attachToSelf(client, &ok);
    QVERIFY(ok);
    Pair pair;
    const quint64 id = pair.connectPaused(client);
    QVERIFY(id);
    Flow *server = pair.server.get();
    // Data comes: the flow holds it, and the read waits. More than the read-ahead: the rest
    // waits in the kernel, then in the writer's queue.
    const QByteArray sent = pattern(1024 * 1024);
    QSignalSpy arrived(server, &Flow::dataArrived);
    const QFuture<ReadResult> first = server->read();
    const QFuture<WriteResult> write = pair.client->write(sent);
    QVERIFY(arrived.wait(int(DefaultTimeout.count())));
    QVERIFY(!first.isFinished());
    // The peer's end of stream waits behind the data, and so does a second read.
    const QFuture<WriteResult> end = pair.client->shutdown(Flow::Direction::Write);
    const QFuture<ReadResult> second = server->read();
    QVERIFY(!first.isFinished());
    QVERIFY(!second.isFinished());

    // Resumed: the reads get the data in order, then all of it, then the end.
    client.pauseReading(id, false);
    QTRY_VERIFY_WITH_TIMEOUT(!client.flow(id).readPaused, 15000);
    ReadResult r;
    RILL_AWAIT(first, r);
    QVERIFY(r.isData());
    QByteArray got = r.data();
    RILL_AWAIT(second, r);
    QVERIFY2(r.isData(), qPrintable(debugString(r)));
    got += r.data();
    const Drained rest = readToEnd(server);
    QVERIFY(rest.finished);
    got += rest.data;
    QVERIFY2(got == sent, describeMismatch(got, sent).constData());
    QCOMPARE(rest.end, ReadResult::eof());
    WriteResult w;
    RILL_AWAIT(write, w);
    QVERIFY(w.isOk());
    RILL_AWAIT(end, w);
    QVERIFY(w.isOk());

    // The end comes while paused (the data is within the read-ahead): the lamp turns, the
    // reads wait; resumed, they get the data and then the end.
    Pair small;
    const quint64 smallId = small.connectPaused(client);
    QVERIFY(smallId);
    Flow *smallServer = small.server.get();
    const QFuture<ReadResult> data = smallServer->read();
    small.client->write("before the end");
    small.client->shutdown(Flow::Direction::Write);
    QTRY_COMPARE_WITH_TIMEOUT(smallServer->readState(), Flow::ReadState::Eof, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(client.flow(smallId).readState, Flow::ReadState::Eof, 15000);
    const QFuture<ReadResult> eof = smallServer->read();
    QVERIFY(!data.isFinished());
    QVERIFY(!eof.isFinished());
    client.pauseReading(smallId, false);
    RILL_AWAIT(data, r);
    QCOMPARE(r, ReadResult::fromData("before the end"));
    RILL_AWAIT(eof, r);
    QCOMPARE(r, ReadResult::eof());

    // A read side that ended cannot pause: said, not done.
    QSignalSpy failed(&client, &ProbeClient::requestFailed);
    client.pauseReading(id);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 15000);
    QVERIFY(!client.flow(id).readPaused);
}

void tst_Probe::pauseEndsWithCloseAbortOrDetach()
{
    // Whatever ends the pause, the waiting read finishes with what came; no byte is lost.
    for (const QString &how : {QStringLiteral("close"), QStringLiteral("abort"), QStringLiteral("detach"),
                              QStringLiteral("destroy")}) {
        ProbeClient client;
        bool ok = false;
        const auto stop = attachToSelf(client, &ok);
        QVERIFY(ok);
        Pair pair;
        QVERIFY(pair.connectPaused(client));
        Flow *server = pair.server.get();
        QSignalSpy arrived(server, &Flow::dataArrived);
        const QFuture<ReadResult> held = server->read();
        pair.client->write("held back");
        QVERIFY(arrived.wait(int(DefaultTimeout.count())));
        QVERIFY(!held.isFinished());

        QFuture<CloseResult> closed;
        if (how == QLatin1String("close"))
            closed = server->close();
        else if (how == QLatin1String("abort"))
            server->abort();
        else if (how == QLatin1String("detach"))
            client.detach(); // the probe resumes what nobody can resume any more
        else
            pair.server.reset();
        ReadResult r;
        RILL_AWAIT(held, r);
        QVERIFY2(r.isData(), qPrintable(how + QLatin1Char(' ') + debugString(r)));
        QCOMPARE(r.data(), QByteArray("held back"));
        if (how == QLatin1String("close")) {
            pair.client->close();
            CloseResult c;
            RILL_AWAIT(closed, c);
            QVERIFY(c.isOk());
        }
    }
}

void tst_Probe::attachDialog()
{
#ifndef PROBE_WINDOW_TEST
    QSKIP("the inspector's window is not built");
#else
    using namespace inspector;
    auto child = startChild(QStringLiteral("idle"));
    QVERIFY(child);
    MainWindow::Options options;
    options.demo = false;
    MainWindow window(options);
    window.show();
    QAction *attach = window.findChild<QAction *>(QStringLiteral("attachAction"));
    QVERIFY(attach);

    // The dialog is modal: its checks run from its own event loop.
    QStringList row;
    bool chose = false;
    QTimer poll;
    connect(&poll, &QTimer::timeout, this, [&] {
        auto *dialog = window.findChild<QDialog *>();
        auto *table = dialog ? dialog->findChild<QTableWidget *>(QStringLiteral("processTable")) : nullptr;
        if (!table || !dialog->isVisible())
            return;
        poll.stop();
        for (int r = 0; r < table->rowCount(); ++r) {
            if (table->item(r, 0)->text() != QString::number(child->pid()))
                continue;
            for (int c = 0; c < table->columnCount(); ++c)
                row << table->item(r, c)->text();
            table->selectRow(r);
            chose = true;
        }
        auto *buttons = dialog->findChild<QDialogButtonBox *>();
        if (chose && buttons)
            buttons->button(QDialogButtonBox::Ok)->click();
        else
            dialog->reject();
    });
    poll.start(10);
    attach->trigger(); // returns once the dialog closed
    QVERIFY(chose);
    QCOMPARE(row.size(), 4);
    QCOMPARE(row[1], QStringLiteral("probe_child"));
    QCOMPARE(row[2], QStringLiteral("1"));
    QVERIFY(!row[3].isEmpty());

    // Chosen: attached, its flow in the table.
    QVERIFY(window.session()->probeClient());
    QCOMPARE(window.session()->probeClient()->process().pid, child->pid());
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->probeClient()->state(), ProbeClient::State::Attached, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->model()->rowCount(), 1, 15000);
#endif
}

// The HTTP exchanges of `rillhttp serve` started with RILL_INSPECT=1, as an attached inspector
// sees them: through ProbeClient, and in the window's HTTP tab for the selected flow. The
// requests come from curl and Python's http.client.
void tst_Probe::httpExchangesOfAttachedServer()
{
#ifndef RILLHTTP
    QSKIP("rillhttp is not built");
#else
    QTemporaryDir root;
    QVERIFY(root.isValid());
    QFile file(root.filePath(QStringLiteral("a.txt")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(1000, 'a'));
    file.close();
    QProcess server;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RILL_INSPECT"), QStringLiteral("1"));
    server.setProcessEnvironment(env);
    server.start(QStringLiteral(RILLHTTP), {QStringLiteral("serve"), QStringLiteral("tcp:127.0.0.1:0"),
                                          root.path()});
    auto stop = qScopeGuard([&server] {
        server.kill();
        server.waitForFinished();
    });
    // Its probe says where it listens first, then the server.
    const QRegularExpression listening(QStringLiteral("listening on tcp:127.0.0.1:(\\d+)\n"));
    QByteArray said;
    QVERIFY(spinUntil([&] {
        said += server.readAllStandardError();
        return listening.match(QString::fromLatin1(said)).hasMatch()
                || server.state() == QProcess::NotRunning;
    }));
    const QRegularExpressionMatch m = listening.match(QString::fromLatin1(said));
    QVERIFY2(m.hasMatch(), said.constData());
    const QString base = QStringLiteral("http://127.0.0.1:") + m.captured(1);

    ProbeClient client;
    QVERIFY(attachTo(client, server.processId()));
    QList<ProbeExchange> reports;
    connect(&client, &ProbeClient::exchangeReported, this,
            [&reports](const ProbeExchange &e) { reports << e; });
    QProcess curl;
    curl.start(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("-o"), QStringLiteral("/dev/null"),
                                        base + QStringLiteral("/a.txt"), QStringLiteral("-o"),
                                        QStringLiteral("/dev/null"), base + QStringLiteral("/missing")});
    QVERIFY(curl.waitForFinished(int(DefaultTimeout.count())));
    QCOMPARE(curl.exitCode(), 0);
    auto lastOf = [&reports](const QString &target) {
        ProbeExchange last;
        for (const ProbeExchange &e : std::as_const(reports))
            if (e.target == target)
                last = e;
        return last;
    };
    QTRY_VERIFY_WITH_TIMEOUT(lastOf(QStringLiteral("/missing")).isFinished(), 15000);
    const ProbeExchange a = lastOf(QStringLiteral("/a.txt"));
    QVERIFY(a.isFinished());
    QCOMPARE(a.role, ProbeExchange::Role::Server);
    QCOMPARE(a.method, QStringLiteral("GET"));
    QCOMPARE(a.status, 200);
    QCOMPARE(a.responseBytes, 1000);
    QVERIFY(a.error.isEmpty());
    QVERIFY(a.flow != 0);
    const ProbeExchange missing = lastOf(QStringLiteral("/missing"));
    QCOMPARE(missing.status, 404);
    QCOMPARE(missing.flow, a.flow); // curl kept the connection
    // Only for the flows whose ledger the client follows: none here. The probe answers a
    // "ledger" request after the events queued before it, and curl had its answers (so their
    // exchanges were reported) before the second request.
    int ledgerAnswers = 0;
    connect(&client, &ProbeClient::eventReceived, this, [&ledgerAnswers](const QCborMap &event) {
        if (typeOf(event) == QLatin1String("ledger"))
            ++ledgerAnswers;
    });
    client.setLedgerFlows({});
    QVERIFY(spinUntil([&] { return ledgerAnswers == 1; }));
    reports.clear();
    curl.start(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("-o"), QStringLiteral("/dev/null"),
                                        base + QStringLiteral("/a.txt")});
    QVERIFY(curl.waitForFinished(int(DefaultTimeout.count())));
    QCOMPARE(curl.exitCode(), 0);
    client.followAllLedgers();
    QVERIFY(spinUntil([&] { return ledgerAnswers == 2; }));
    QCOMPARE(reports.size(), 0);

    // An exchange under way when the client starts following its flow shows at once, not at
    // its next step: a download kept in flight by a Python client that never reads it.
    {
        QFile big(root.filePath(QStringLiteral("big.bin")));
        QVERIFY(big.open(QIODevice::WriteOnly));
        QVERIFY(big.resize(32 * 1024 * 1024));
    }
    client.setLedgerFlows({});
    QVERIFY(spinUntil([&] { return ledgerAnswers == 3; }));
    QProcess stalled;
    stalled.start(QStringLiteral("python3"),
                  {QStringLiteral("-c"),
                   QStringLiteral("import socket, sys\n"
                                  "s = socket.create_connection(('127.0.0.1', %1))\n"
                                  "s.sendall(b'GET /big.bin HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
                                  "sys.stdin.readline()\n").arg(m.captured(1))});
    auto stopStalled = qScopeGuard([&stalled] {
        stalled.kill();
        stalled.waitForFinished();
    });
    // Its connection (the newest TCP flow) has sent part of the file: the response is under way.
    quint64 downloadFlow = 0;
    QVERIFY(spinUntil([&] {
        for (const ProbeFlow &f : client.flows()) {
            if (f.transport == QLatin1String("tcp") && f.id != a.flow
                && f.stats.bytesWritten > 1024 * 1024)
                downloadFlow = f.id;
        }
        return downloadFlow != 0 || stalled.state() == QProcess::NotRunning;
    }));
    QVERIFY(downloadFlow != 0);
    reports.clear();
    client.setLedgerFlows({downloadFlow});
    QTRY_VERIFY_WITH_TIMEOUT(!reports.isEmpty(), 15000);
    QCOMPARE(reports.last().flow, downloadFlow);
    QCOMPARE(reports.last().target, QStringLiteral("/big.bin"));
    QCOMPARE(reports.last().status, 200);
    QVERIFY(!reports.last().isFinished());
    client.followAllLedgers();
    QVERIFY(spinUntil([&] { return ledgerAnswers == 5; }));
    // The client goes: so do the connection and the file's flow, with a failed exchange.
    stalled.kill();
    QTRY_VERIFY_WITH_TIMEOUT(reports.last().isFinished(), 15000);
    QVERIFY(!reports.last().error.isEmpty());
    auto allClosed = [&client] {
        const QList<ProbeFlow> flows = client.flows();
        return std::all_of(flows.cbegin(), flows.cend(),
                           [](const ProbeFlow &f) { return f.state == Flow::State::Closed; });
    };
    QTRY_VERIFY_WITH_TIMEOUT(allClosed(), 15000);

#ifdef PROBE_WINDOW_TEST
    // The window: select the flow of a kept-alive Python client, then its next request shows.
    using namespace inspector;
    QProcess python;
    python.start(QStringLiteral("python3"),
                 {QStringLiteral("-c"),
                  QStringLiteral("import http.client, sys\n"
                                 "c = http.client.HTTPConnection('127.0.0.1', %1)\n"
                                 "n = 0\n"
                                 "while True:\n"
                                 "    c.request('GET', '/a.txt?%d' % n); c.getresponse().read()\n"
                                 "    print('done', flush=True); n += 1\n"
                                 "    if not sys.stdin.readline(): break\n").arg(m.captured(1))});
    QVERIFY(spinUntil([&] { return python.canReadLine() || python.state() == QProcess::NotRunning; }));
    QCOMPARE(python.readLine(), QByteArray("done\n"));
    MainWindow::Options options;
    options.demo = false;
    MainWindow window(options);
    window.show();
    QString error;
    QVERIFY2(window.attachTo(server.processId(), &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->model()->rowCount(), 1, 15000);
    window.flowTable()->selectRow(0);
    FlowDetailView *detail = window.detailView();
    QTRY_VERIFY_WITH_TIMEOUT(detail->monitor() && detail->monitor()->isRemote(), 15000);
    detail->tabs()->setCurrentIndex(FlowDetailView::ExchangesTab);
    QCOMPARE(detail->tabs()->tabText(FlowDetailView::ExchangesTab), QStringLiteral("&HTTP"));
    auto *model = qobject_cast<rill::ExchangeModel *>(detail->exchangeView()->model());
    QVERIFY(model);
    QCOMPARE(model->rowCount(), 0); // before it was selected: not shown
    // The next requests show once the probe heard which flow the window follows.
    python.write("\n");
    QVERIFY(spinUntil([&] {
        if (python.canReadLine() && python.readLine() == "done\n")
            python.write("\n");
        return model->rowCount() > 0 && model->exchange(0).isFinished();
    }));
    QVERIFY(model->index(0, rill::ExchangeModel::TargetColumn).data().toString().startsWith(QStringLiteral("/a.txt?")));
    QVERIFY(model->exchange(0).target != QStringLiteral("/a.txt?0"));
    QCOMPARE(model->index(0, rill::ExchangeModel::StatusColumn).data().toString(), QStringLiteral("200 OK"));
    QCOMPARE(model->exchange(0).responseBytes, 1000);
    python.closeWriteChannel();
    QVERIFY(python.waitForFinished(int(DefaultTimeout.count())));
#endif
#endif
}

void tst_Probe::ledgerOfChosenFlows()
{
    ProbeClient client;
    bool ok = false;
    const auto stop = attachToSelf(client, &ok);
    QVERIFY(ok);
    Pair pair;
    QVERIFY(pair.connect());
    QVERIFY(spinUntil([&] {
        return idOf(client, pair.client.get()) && idOf(client, pair.server.get());
    }));
    const quint64 clientId = idOf(client, pair.client.get());
    const quint64 serverId = idOf(client, pair.server.get());
    // The ledger events (flow, type) of each period between the probe's answers to "ledger".
    using Entry = QPair<quint64, QString>;
    QList<QList<Entry>> ledgers{{}};
    connect(&client, &ProbeClient::eventReceived, this, [&ledgers](const QCborMap &m) {
        const QString type = typeOf(m);
        if (type == QLatin1String("ledger"))
            ledgers << QList<Entry>();
        else if (type.startsWith(QLatin1String("write")) && type != QLatin1String("write"))
            ledgers.last() << Entry(quint64(m.value(QStringLiteral("flow")).toInteger()), type);
    });
    auto sawSent = [&](quint64 id) {
        return spinUntil([&] { return ledgers.last().contains(Entry(id, QStringLiteral("writeSent"))); });
    };
    auto has = [](const QList<Entry> &ledger, quint64 id) {
        return std::any_of(ledger.begin(), ledger.end(), [id](const Entry &e) { return e.first == id; });
    };

    // Every flow's, as attached.
    QVERIFY(waitFor(pair.server->write("s")) && waitFor(pair.client->write("c")));
    QVERIFY(sawSent(clientId) && sawSent(serverId));

    // Only the client's.
    client.setLedgerFlows({clientId});
    QVERIFY(spinUntil([&] { return ledgers.size() == 2; }));
    QVERIFY(waitFor(pair.server->write("s")) && waitFor(pair.client->write("c")));
    QVERIFY(sawSent(clientId));
    QVERIFY(!has(ledgers.last(), serverId));

    // None; then every flow's again.
    client.setLedgerFlows({});
    QVERIFY(spinUntil([&] { return ledgers.size() == 3; }));
    QVERIFY(waitFor(pair.server->write("s")) && waitFor(pair.client->write("c")));
    client.followAllLedgers();
    QVERIFY(spinUntil([&] { return ledgers.size() == 4; }));
    QVERIFY(ledgers.at(2).isEmpty());
    QVERIFY(waitFor(pair.client->write("c")) && waitFor(pair.server->write("s")));
    QVERIFY(sawSent(clientId) && sawSent(serverId));
}

#ifdef PROBE_WINDOW_TEST
QTEST_MAIN(tst_Probe)
#else
QTEST_GUILESS_MAIN(tst_Probe)
#endif
#include "tst_probe.moc"
