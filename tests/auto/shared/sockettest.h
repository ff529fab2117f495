// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// What the socket suites (tcpflow, localflow, listener) share:
//   - Peer: peer.py (events as JSON lines) or socat, as a QProcess;
//   - Transfer: moves generated data through a flow as an application would (each write
//     awaited) while reading to Eof, hashing both directions;
//   - residentBytes(), openDescriptorCount(): what the process holds;
//   - SocketFlowSuite: every behaviour of issue 3 written once; tst_tcpflow runs it over TCP,
//     tst_localflow over Unix sockets, each adding what only its transport has.

#include "testutil.h"

#include <rill/connect.h>
#include <rill/endpoint.h>
#include <rill/listener.h>
#include <rill/localflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#include <cerrno>
#include <dirent.h>
#include <malloc.h>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace sockettest {

using namespace std::chrono_literals;

inline constexpr qint64 KiB = 1024;
inline constexpr qint64 MiB = 1024 * KiB;
inline constexpr qint64 GiB = 1024 * MiB;

// For the cases that move hundreds of MiB: a failure here means a hang, not slowness.
inline constexpr std::chrono::milliseconds BulkTimeout = 150s;

// ---- What the process holds

// Resident set size (VmRSS in /proc/self/status), in bytes; -1 if unreadable.
inline qint64 residentBytes()
{
    QFile file(QStringLiteral("/proc/self/status"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmRSS:")) {
            const QList<QByteArray> fields = line.simplified().split(' '); // "VmRSS: 123 kB"
            return fields.size() >= 2 ? fields.at(1).toLongLong() * 1024 : -1;
        }
    }
    return -1;
}

// Descriptors open in this process (the entries of /proc/self/fd).
inline int openDescriptorCount()
{
    DIR *dir = ::opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int count = 0;
    while (const dirent *entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.')
            ++count;
    }
    ::closedir(dir);
    return count - 1; // the listing's own descriptor
}

// A loopback TCP port bound but not listening: connecting to it is refused, and nobody else
// takes the port while the returned descriptor is open (close it when done). -1 on failure,
// errno saying why.
inline int bindRefusingPort(quint16 *port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        const int error = errno;
        if (fd >= 0)
            ::close(fd);
        errno = error;
        return -1;
    }
    *port = ntohs(address.sin_port);
    return fd;
}

// A thread's reactor (an epoll descriptor) is made by the first socket it watches and lives as
// long as the thread: call this before counting descriptors in a thread. False if it failed.
inline bool warmUpReactor()
{
    rill::TcpListener listener;
    return listener.listen(QHostAddress::LocalHost, 0);
}

inline void deleteDeferred()
{
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

// After a case, once its flows, listeners and peers are gone (deferred deletes run here): every
// descriptor opened since there were `before` must be closed. Empty if so, else what leaked.
inline QString descriptorLeak(int before)
{
    deleteDeferred();
    const int now = openDescriptorCount();
    if (now == before)
        return {};
    return QStringLiteral("descriptors leaked: %1 open before the case, %2 after").arg(before).arg(now);
}

// Runs the event loop until done() holds; false if the deadline passes first. Unlike
// rilltest::spinUntil it sleeps in the dispatcher until an event comes, so a bulk transfer
// leaves the CPU to the peer process; a timer wakes it to see the deadline. done() may advance
// a Transfer: it runs after every batch of events.
template<typename Pred>
[[nodiscard]] bool runUntil(
    Pred &&done, std::chrono::milliseconds timeout = rilltest::DefaultTimeout)
{
    QDeadlineTimer deadline(timeout);
    QTimer wake;
    wake.start(50);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
        deleteDeferred();
    }
    return true;
}

inline QString sha256Hex(QByteArrayView data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

// ---- Peers

// A peer process: peer.py, which reports events as JSON lines on stdout, or socat, whose
// stdout is data. Killed when destroyed.
class Peer {
public:
    Peer()
    {
        QObject::connect(&m_process, &QProcess::readyReadStandardOutput, [this] { collect(); });
        QObject::connect(&m_process, &QProcess::readyReadStandardError,
            [this] { m_stderr += m_process.readAllStandardError(); });
    }
    ~Peer()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(10000);
        }
    }
    Q_DISABLE_COPY(Peer)

    static QString script() { return QStringLiteral(RILL_SOURCE_DIR "/tests/auto/shared/peer.py"); }

    // peer.py MODE ENDPOINT [options]
    bool startPython(const QStringList &arguments)
    {
        m_json = true;
        return start(QStringLiteral("python3"), QStringList {script()} + arguments);
    }
    bool startSocat(const QStringList &arguments)
    {
        m_json = false;
        return start(QStringLiteral("socat"), arguments);
    }

    // The first event of that name not taken yet, without waiting.
    std::optional<QJsonObject> takeEvent(const QString &name)
    {
        collect();
        for (qsizetype i = 0; i < m_events.size(); ++i) {
            if (m_events.at(i).value(QLatin1String("event")).toString() == name)
                return m_events.takeAt(i);
        }
        return std::nullopt;
    }

    // Waits for an event of that name, running the event loop. Null if the peer reported an
    // error or exited first, or the deadline passed; describe() then says what happened.
    std::optional<QJsonObject> waitForEvent(
        const QString &name, std::chrono::milliseconds timeout = rilltest::DefaultTimeout)
    {
        std::optional<QJsonObject> event;
        (void)runUntil(
            [&] {
                event = takeEvent(name);
                return event || hasEvent(QStringLiteral("error"))
                    || m_process.state() == QProcess::NotRunning;
            },
            timeout);
        if (!event)
            event = takeEvent(name); // it may have come with the exit
        return event;
    }

    bool hasEvent(const QString &name) const
    {
        for (const QJsonObject &event : m_events) {
            if (event.value(QLatin1String("event")).toString() == name)
                return true;
        }
        return false;
    }

    void command(const QByteArray &word) { m_process.write(word + '\n'); }
    void write(const QByteArray &data) { m_process.write(data); }
    void closeInput() { m_process.closeWriteChannel(); }
    void kill() { m_process.kill(); }

    bool waitForExit(std::chrono::milliseconds timeout = rilltest::DefaultTimeout)
    {
        const bool exited
            = runUntil([&] { return m_process.state() == QProcess::NotRunning; }, timeout);
        collect();
        return exited;
    }
    int exitCode() const { return m_process.exitCode(); }
    QProcess::ExitStatus exitStatus() const { return m_process.exitStatus(); }

    // What a socat peer wrote to stdout.
    QByteArray output()
    {
        collect();
        return m_output;
    }

    // For failure messages: the command, how it ended, its unread events and its stderr.
    QString describe()
    {
        collect();
        m_stderr += m_process.readAllStandardError();
        QString text = QStringLiteral("\n  peer: %1 %2")
                           .arg(m_process.program(), m_process.arguments().join(u' '));
        if (m_process.state() == QProcess::NotRunning)
            text += QStringLiteral("\n  exited: %1 (%2)")
                        .arg(m_process.exitCode())
                        .arg(m_process.exitStatus() == QProcess::NormalExit ? "normal" : "crashed");
        for (const QJsonObject &event : std::as_const(m_events))
            text += QStringLiteral("\n  event: ")
                + QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact));
        if (!m_stderr.isEmpty())
            text += QStringLiteral("\n  stderr: ") + QString::fromLocal8Bit(m_stderr.right(2000));
        return text;
    }

private:
    bool start(const QString &program, const QStringList &arguments)
    {
        const QString path = QStandardPaths::findExecutable(program);
        if (path.isEmpty()) {
            m_stderr = program.toUtf8() + " is not installed";
            return false;
        }
        m_process.start(path, arguments);
        return m_process.waitForStarted(10000);
    }

    void collect()
    {
        const QByteArray data = m_process.readAllStandardOutput();
        if (!m_json) {
            m_output += data;
            return;
        }
        m_partial += data;
        qsizetype newline;
        while ((newline = m_partial.indexOf('\n')) >= 0) {
            const QByteArray line = m_partial.left(newline);
            m_partial.remove(0, newline + 1);
            const QJsonDocument document = QJsonDocument::fromJson(line);
            if (document.isObject())
                m_events.append(document.object());
            else
                m_stderr += "unparsable line on stdout: " + line + '\n';
        }
    }

    QProcess m_process;
    bool m_json = true;
    QByteArray m_partial;
    QByteArray m_output;
    QByteArray m_stderr;
    QList<QJsonObject> m_events;
};

// ---- Moving data

// Moves data through a flow as an application would: offers pattern() chunks, awaiting each
// write before offering the next, while reading to Eof; sha256 of both directions. Then
// optionally shutdown(Write) or close(). step() advances without waiting; call it from
// runUntil().
class Transfer {
public:
    enum class End { None, ShutdownWrite, Close };

    explicit Transfer(rill::Flow *flow) : m_flow(flow) { }
    Q_DISABLE_COPY(Transfer)

    void send(qint64 bytes, quint32 seed, qint64 chunk = 64 * KiB)
    {
        m_toSend = bytes;
        m_seed = seed;
        m_chunk = chunk;
    }
    void setEnd(End end) { m_end = end; } // once every write was accepted
    void setReading(bool reading, bool keep = false)
    {
        m_reading = reading;
        m_keep = keep;
    }
    // Bytes written to the flow outside the transfer, after everything it wrote.
    void recordSent(const QByteArray &data) { m_sentHash.addData(data); }

    void step()
    {
        for (bool progress = true; progress;) {
            progress = false;
            if (m_write && m_write->isFinished()) {
                const rill::WriteResult result = m_write->result();
                m_write.reset();
                progress = true;
                if (result.isOk())
                    m_accepted += m_lastSize;
                else
                    m_writeFailure = result;
            }
            if (!m_write && !m_writeFailure && m_offered < m_toSend) {
                const qint64 size = qMin(m_chunk, m_toSend - m_offered);
                const QByteArray data = chunkData(m_offered / m_chunk, size);
                m_sentHash.addData(data);
                m_offered += size;
                m_lastSize = size;
                m_write = m_flow->write(data);
                progress = true;
            }
            if (!m_endFuture && m_end != End::None && allAccepted()) {
                m_endFuture = m_end == End::Close
                        ? rilltest::asVoid(m_flow->close())
                        : rilltest::asVoid(m_flow->shutdown(rill::Flow::Direction::Write));
                progress = true;
            }
            if (m_reading && !m_readEnd) {
                if (m_read && m_read->isFinished()) {
                    const rill::ReadResult result = m_read->result();
                    m_read.reset();
                    progress = true;
                    if (result.isData()) {
                        m_received += result.data().size();
                        m_receivedHash.addData(result.data());
                        if (m_keep)
                            m_receivedData += result.data();
                        if (result.data().isEmpty())
                            m_emptyRead = true;
                    } else {
                        m_readEnd = result;
                    }
                }
                if (!m_read && !m_readEnd) {
                    m_read = m_flow->read();
                    progress = true;
                }
            }
        }
    }

    // Runs until the writer is held back: a write waits in the flow and a pass of the event
    // loop that polled the socket moved no byte, so the kernel's buffers are full too. False
    // if everything was accepted (no backpressure), a write failed, or the deadline passed.
    bool runUntilBlocked(std::chrono::milliseconds timeout = rilltest::DefaultTimeout)
    {
        QDeadlineTimer deadline(timeout);
        while (!deadline.hasExpired()) {
            step();
            if (!m_write)
                return false;
            const qint64 before = m_flow->stats().bytesWritten;
            QCoreApplication::processEvents(); // polls without waiting: a writable socket is served
            step();
            if (m_write && m_flow->writesWaiting() > 0 && m_flow->stats().bytesWritten == before)
                return true;
        }
        return false;
    }

    bool run(std::chrono::milliseconds timeout = rilltest::DefaultTimeout)
    {
        return runUntil(
            [this] {
                step();
                return finished();
            },
            timeout);
    }

    // The bytes of write number index (from 0), or their first size bytes.
    QByteArray chunkData(qint64 index, qint64 size = -1) const
    {
        return rilltest::pattern(size < 0 ? m_chunk : size, m_seed * 1000003u + quint32(index));
    }
    // sha256 of the first `bytes` bytes the transfer offers (whether offered yet or not): what a
    // peer that received a prefix of the stream, in order and without duplicates, must report.
    QString prefixHash(qint64 bytes) const
    {
        QCryptographicHash hash(QCryptographicHash::Sha256);
        for (qint64 index = 0; index * m_chunk < bytes; ++index)
            hash.addData(chunkData(index, qMin(m_chunk, bytes - index * m_chunk)));
        return QString::fromLatin1(hash.result().toHex());
    }

    bool allAccepted() const { return m_accepted == m_toSend; }
    bool ended() const
    {
        return m_end == End::None ? allAccepted() : (m_endFuture && m_endFuture->isFinished());
    }
    bool readDone() const { return !m_reading || m_readEnd.has_value(); }
    bool finished() const { return (m_writeFailure || ended()) && readDone(); }

    bool writePending() const { return m_write.has_value(); }
    QFuture<rill::WriteResult> pendingWrite() const
    {
        return m_write.value_or(QFuture<rill::WriteResult>());
    }
    std::optional<rill::WriteResult> writeFailure() const { return m_writeFailure; }
    rill::ReadResult readEnd() const { return m_readEnd.value_or(rill::ReadResult()); }
    bool emptyRead() const { return m_emptyRead; }

    qint64 offered() const { return m_offered; }
    qint64 accepted() const { return m_accepted; }
    qint64 received() const { return m_received; }
    QByteArray receivedData() const { return m_receivedData; }
    QString sentHash() const { return QString::fromLatin1(m_sentHash.result().toHex()); }
    QString receivedHash() const { return QString::fromLatin1(m_receivedHash.result().toHex()); }

    // One line for failure messages.
    QString describe() const
    {
        return QStringLiteral(
            "offered %1, accepted %2, received %3, write failure %4, read end %5, "
            "flow: bytesQueued %6, writesWaiting %7, state %8/%9/%10")
            .arg(m_offered)
            .arg(m_accepted)
            .arg(m_received)
            .arg(m_writeFailure ? rilltest::debugString(*m_writeFailure) : QStringLiteral("none"),
                m_readEnd ? rilltest::debugString(*m_readEnd) : QStringLiteral("none"))
            .arg(m_flow->bytesQueued())
            .arg(m_flow->writesWaiting())
            .arg(QString::fromLatin1(rilltest::enumName(m_flow->state())),
                QString::fromLatin1(rilltest::enumName(m_flow->readState())),
                QString::fromLatin1(rilltest::enumName(m_flow->writeState())));
    }

private:
    rill::Flow *m_flow;
    qint64 m_toSend = 0;
    quint32 m_seed = 1;
    qint64 m_chunk = 64 * KiB;
    End m_end = End::None;
    bool m_reading = false;
    bool m_keep = false;

    std::optional<QFuture<rill::WriteResult>> m_write;
    std::optional<QFuture<rill::ReadResult>> m_read;
    std::optional<QFuture<void>> m_endFuture;
    std::optional<rill::WriteResult> m_writeFailure;
    std::optional<rill::ReadResult> m_readEnd;
    qint64 m_offered = 0;
    qint64 m_accepted = 0;
    qint64 m_lastSize = 0;
    qint64 m_received = 0;
    bool m_emptyRead = false;
    QByteArray m_receivedData;
    QCryptographicHash m_sentHash {QCryptographicHash::Sha256};
    QCryptographicHash m_receivedHash {QCryptographicHash::Sha256};
};

// The descriptor a socket flow holds, or -1.
inline qintptr descriptorOf(const rill::Flow *flow)
{
    if (auto *tcp = qobject_cast<const rill::TcpFlow *>(flow))
        return tcp->socketDescriptor();
    if (auto *local = qobject_cast<const rill::LocalFlow *>(flow))
        return local->socketDescriptor();
    return -1;
}

inline int intOption(qintptr fd, int level, int name)
{
    int value = -1;
    socklen_t length = sizeof value;
    if (::getsockopt(int(fd), level, name, &value, &length) != 0)
        return -1;
    return value;
}

// ---- The behaviours every socket transport must show

class SocketFlowSuite : public QObject {
    Q_OBJECT
public:
    enum class Transport { Tcp, Local };
    Q_ENUM(Transport)
    // Which end of the connection the flow under test is.
    enum class Role { Client, Server };
    Q_ENUM(Role)

    explicit SocketFlowSuite(Transport transport, QObject *parent = nullptr)
        : QObject(parent), m_transport(transport)
    {
    }

protected:
    // A flow under test and the peer process at the other end.
    struct Link {
        std::unique_ptr<Peer> peer;
        std::unique_ptr<rill::Flow> flow;
        QString endpoint; // what the flow's errors must name
        QJsonObject connected; // the peer's "connected" event: its local and peer endpoints

        QByteArray why(const QString &what) const
        {
            QString text = what;
            if (flow)
                text += QStringLiteral("\n  flow: %1 -> %2, state %3/%4/%5, error %6")
                            .arg(flow->localEndpoint().toString(), flow->peerEndpoint().toString(),
                                QString::fromLatin1(rilltest::enumName(flow->state())),
                                QString::fromLatin1(rilltest::enumName(flow->readState())),
                                QString::fromLatin1(rilltest::enumName(flow->writeState())),
                                rilltest::debugString(flow->error()));
            if (peer)
                text += peer->describe();
            return text.toUtf8();
        }
    };

    // Starts peer.py with peerArguments (MODE [options]) at the other end of a new flow: with
    // role Client the peer listens and the flow connects; with role Server the flow is accepted
    // from a listener the peer connects to.
    bool openLink(Role role, QStringList peerArguments, Link *link, QString *why)
    {
        link->peer = std::make_unique<Peer>();
        const QString mode = peerArguments.takeFirst();
        if (role == Role::Client) {
            if (!link->peer->startPython(
                    QStringList {mode, peerListenEndpoint(), QStringLiteral("--listen")}
                    + peerArguments)) {
                *why = QStringLiteral("the peer did not start") + link->peer->describe();
                return false;
            }
            const auto listening = link->peer->waitForEvent(QStringLiteral("listening"));
            if (!listening) {
                *why = QStringLiteral("the peer did not listen") + link->peer->describe();
                return false;
            }
            link->endpoint = listening->value(QLatin1String("endpoint")).toString();
            rill::Error error;
            link->flow = connectFlow(link->endpoint, &error);
            if (!link->flow) {
                *why = QStringLiteral("connecting to the peer failed: ") + rill::errorMessage(error)
                    + link->peer->describe();
                return false;
            }
        } else {
            const QString endpoint = startListener(why);
            if (endpoint.isEmpty())
                return false;
            if (!link->peer->startPython(QStringList {mode, endpoint} + peerArguments)) {
                *why = QStringLiteral("the peer did not start") + link->peer->describe();
                return false;
            }
            link->flow = acceptFlow(why);
            if (!link->flow) {
                *why += link->peer->describe();
                return false;
            }
            // An accepted Unix connection has no peer name: its socket path names it.
            link->endpoint = m_transport == Transport::Tcp ? link->flow->peerEndpoint().toString() : endpoint;
        }
        const auto connected = link->peer->waitForEvent(QStringLiteral("connected"));
        if (!connected) {
            *why
                = QStringLiteral("the peer never reported the connection") + link->peer->describe();
            return false;
        }
        link->connected = *connected;
        if (link->flow->state() != rill::Flow::State::Open
            || link->flow->transportName() != transportName()) {
            *why = QString::fromUtf8(link->why(
                QStringLiteral("the new flow is not an open %1 flow").arg(transportName())));
            return false;
        }
        return true;
    }

    QString transportName() const
    {
        return m_transport == Transport::Tcp ? QStringLiteral("tcp") : QStringLiteral("unix");
    }

    // Where a listening peer binds: a free loopback port, or a fresh path.
    QString peerListenEndpoint()
    {
        if (m_transport == Transport::Tcp)
            return QStringLiteral("tcp:127.0.0.1:0");
        return QStringLiteral("unix:") + freshPath(QStringLiteral("peer"));
    }

    QString freshPath(const QString &stem)
    {
        return m_dir.filePath(QStringLiteral("%1-%2.sock").arg(stem).arg(++m_pathCounter));
    }

    // A new TcpListener or LocalListener (kept until the test ends); its endpoint, or empty.
    QString startListener(QString *why)
    {
        if (m_transport == Transport::Tcp) {
            auto listener = std::make_unique<rill::TcpListener>();
            if (!listener->listen(QHostAddress::LocalHost, 0)) {
                *why = QStringLiteral("listen failed: ") + rill::errorMessage(listener->error());
                return {};
            }
            const QString endpoint = listener->endpoint().toString();
            m_tcpListeners.push_back(std::move(listener));
            return endpoint;
        }
        auto listener = std::make_unique<rill::LocalListener>();
        if (!listener->listen(freshPath(QStringLiteral("listener")))) {
            *why = QStringLiteral("listen failed: ") + rill::errorMessage(listener->error());
            return {};
        }
        const QString endpoint = listener->endpoint().toString();
        m_localListeners.push_back(std::move(listener));
        return endpoint;
    }

    // The next connection on the newest listener.
    std::unique_ptr<rill::Flow> acceptFlow(QString *why)
    {
        rill::Error error;
        std::unique_ptr<rill::Flow> flow;
        bool finished = false;
        if (m_transport == Transport::Tcp) {
            auto future = m_tcpListeners.back()->accept();
            if ((finished = rilltest::waitFor(future))) {
                auto result = future.result();
                error = result.error();
                flow = result.takeFlow();
            }
        } else {
            auto future = m_localListeners.back()->accept();
            if ((finished = rilltest::waitFor(future))) {
                auto result = future.result();
                error = result.error();
                flow = result.takeFlow();
            }
        }
        if (!finished)
            *why = QStringLiteral("accept() never finished");
        else if (!flow)
            *why = QStringLiteral("accept() failed: ") + rill::errorMessage(error);
        return flow;
    }

    // Connects with the transport's own API: TcpFlow::connectToHost or
    // LocalFlow::connectToServer. Null and error set on failure.
    std::unique_ptr<rill::Flow> connectFlow(const QString &endpointText, rill::Error *error)
    {
        const rill::Endpoint endpoint = rill::Endpoint::parse(endpointText, error);
        if (!endpoint.isValid())
            return nullptr;
        auto finish = [error](auto future) -> std::unique_ptr<rill::Flow> {
            if (!rilltest::waitFor(future)) {
                *error = rill::Error(rill::Error::Kind::TimedOut,
                    QStringLiteral("the connect future never finished"));
                return nullptr;
            }
            auto result = future.result();
            *error = result.error();
            return result.takeFlow();
        };
        if (endpoint.type() == rill::Endpoint::Type::Tcp)
            return finish(rill::TcpFlow::connectToHost(endpoint.host(), endpoint.port()));
        return finish(rill::LocalFlow::connectToServer(endpoint.path()));
    }

    // A flow over a Qt socket that is still connecting (or already failed to).
    std::unique_ptr<rill::Flow> connectingFlow(const QString &endpointText)
    {
        const rill::Endpoint endpoint = rill::Endpoint::parse(endpointText);
        if (endpoint.type() == rill::Endpoint::Type::Tcp) {
            auto *socket = new QTcpSocket;
            socket->connectToHost(QHostAddress(endpoint.host()), endpoint.port());
            return std::make_unique<rill::TcpFlow>(socket);
        }
        auto *socket = new QLocalSocket;
        socket->connectToServer(endpoint.path());
        return std::make_unique<rill::LocalFlow>(socket);
    }

    // An endpoint that refuses connections: a TCP port bound without listening (held until the
    // test ends, so nobody else takes it), or a stale socket file made by Python.
    QString refusingEndpoint(QString *why)
    {
        if (m_transport == Transport::Tcp) {
            quint16 port = 0;
            const int fd = bindRefusingPort(&port);
            if (fd < 0) {
                *why = QStringLiteral("binding a port failed: ")
                    + QString::fromLocal8Bit(strerror(errno));
                return {};
            }
            m_heldDescriptors.push_back(fd);
            return QStringLiteral("tcp:127.0.0.1:%1").arg(port);
        }
        const QString endpoint = QStringLiteral("unix:") + freshPath(QStringLiteral("stale"));
        Peer python;
        if (!python.startPython({QStringLiteral("bind-only"), endpoint})
            || !python.waitForEvent(QStringLiteral("bound")) || !python.waitForExit()) {
            *why = QStringLiteral("making a stale socket file failed") + python.describe();
            return {};
        }
        return endpoint;
    }

    // socat's address for a connection to endpoint.
    static QString socatAddress(const QString &endpointText)
    {
        const rill::Endpoint endpoint = rill::Endpoint::parse(endpointText);
        if (endpoint.type() == rill::Endpoint::Type::Tcp)
            return QStringLiteral("TCP4:%1:%2").arg(endpoint.host()).arg(endpoint.port());
        return QStringLiteral("UNIX-CONNECT:") + endpoint.path();
    }

    static void addRoleRows()
    {
        QTest::addColumn<Role>("role");
        QTest::newRow("flow connects") << Role::Client;
        QTest::newRow("flow accepted") << Role::Server;
    }

    // Runs the peer in "stall" mode and offers writes until they wait: the state of a writer
    // whose peer stopped reading.
    static bool fillUntilBlocked(Transfer *fill, QString *why)
    {
        fill->send(4 * GiB, 31);
        if (fill->runUntilBlocked())
            return true;
        *why = QStringLiteral("writes never waited although the peer reads nothing: ")
            + fill->describe();
        return false;
    }

    static bool isReset(const rill::ReadResult &result)
    {
        return result.isError() && result.error().kind() == rill::Error::Kind::Reset;
    }
    static bool isReset(const rill::WriteResult &result)
    {
        return result.isError() && result.error().kind() == rill::Error::Kind::Reset;
    }
    // The peer went away with accepted bytes of ours not yet sent: never a silent Eof.
    static bool isLost(const rill::WriteResult &result)
    {
        return result.isError() && result.error().kind() == rill::Error::Kind::Closed
                && result.error().message().contains(QLatin1String("not sent"));
    }

    Transport m_transport;
    QTemporaryDir m_dir;

private:
    int m_pathCounter = 0;
    int m_descriptorsBefore = -1;
    std::vector<std::unique_ptr<rill::TcpListener>> m_tcpListeners;
    std::vector<std::unique_ptr<rill::LocalListener>> m_localListeners;
    std::vector<int> m_heldDescriptors;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString()));
        QVERIFY2(!QStandardPaths::findExecutable(QStringLiteral("python3")).isEmpty(),
            "python3 is needed: the peers are Python programs");
        QVERIFY2(
            !QStandardPaths::findExecutable(QStringLiteral("socat")).isEmpty(), "socat is needed");
        // Whatever Qt opens once per process (around QProcess) is open before the first
        // descriptor count.
        Peer warmUp;
        QVERIFY(warmUp.startPython({QStringLiteral("bind-only"),
            QStringLiteral("unix:") + freshPath(QStringLiteral("warm-up"))}));
        QVERIFY2(warmUp.waitForExit() && warmUp.exitCode() == 0, qPrintable(warmUp.describe()));
        QVERIFY(warmUpReactor());
    }

    void init() { m_descriptorsBefore = openDescriptorCount(); }

    void cleanup()
    {
        m_tcpListeners.clear();
        m_localListeners.clear();
        for (int fd : std::exchange(m_heldDescriptors, {}))
            ::close(fd);
        const QString leak = descriptorLeak(m_descriptorsBefore);
        QVERIFY2(leak.isEmpty() || QTest::currentTestFailed(), qPrintable(leak));
    }

    // ---- 1. We half-close first: the queue is flushed, then the FIN; reading goes on.

    void weShutDownWriteFirst_data() { addRoleRows(); }
    void weShutDownWriteFirst()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role,
                     {QStringLiteral("read-then-reply"), QStringLiteral("--hold"),
                         QStringLiteral("--bytes"), QString::number(2 * MiB),
                         QStringLiteral("--seed"), QStringLiteral("21")},
                     &link, &why),
            qPrintable(why));
        rill::Flow *flow = link.flow.get();

        Transfer transfer(flow);
        transfer.send(3 * MiB, 11);
        transfer.setEnd(Transfer::End::ShutdownWrite);
        transfer.setReading(true);
        QVERIFY2(runUntil([&] {
            transfer.step();
            return transfer.ended() || transfer.writeFailure();
        }),
            link.why(QStringLiteral("shutdown(Write) never finished: ") + transfer.describe()));
        QVERIFY2(!transfer.writeFailure(), link.why(transfer.describe()));

        const auto eof = link.peer->waitForEvent(QStringLiteral("eof"));
        QVERIFY2(eof, link.why(QStringLiteral("the peer never saw our end of stream")));
        QVERIFY2(eof->value(QLatin1String("received")).toInteger() == 3 * MiB
                && eof->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
            link.why(QStringLiteral("the peer did not get every byte queued before the "
                                    "shutdown, in order")));
        QCOMPARE(flow->writeState(), rill::Flow::WriteState::Closed);
        QVERIFY2(flow->readState() == rill::Flow::ReadState::Open && !transfer.readDone(),
            link.why(QStringLiteral("shutting down the write side ended the read side")));
        QCOMPARE(flow->state(), rill::Flow::State::Open);

        // After our FIN a write is refused with Eof, never taken and dropped.
        QFuture<rill::WriteResult> late = flow->write("late");
        rill::WriteResult lateResult;
        RILL_AWAIT(late, lateResult);
        QCOMPARE(lateResult, rill::WriteResult::eof());

        link.peer->command("go");
        QVERIFY2(runUntil([&] {
            transfer.step();
            return transfer.readDone();
        }),
            link.why(QStringLiteral("the reply never ended: ") + transfer.describe()));
        QCOMPARE(transfer.readEnd(), rill::ReadResult::eof());
        const auto done = link.peer->waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, link.why(QStringLiteral("the peer did not finish")));
        QVERIFY2(transfer.received() == 2 * MiB
                && transfer.receivedHash() == done->value(QLatin1String("sent_sha256")).toString(),
            link.why(QStringLiteral("the reply read after our shutdown is not what the "
                                    "peer sent: ")
                + transfer.describe()));

        auto closed = flow->close();
        RILL_AWAIT_VOID(closed);
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
        QCOMPARE(descriptorOf(flow), qintptr(-1));
    }

    void weCloseFirst_data() { addRoleRows(); }
    void weCloseFirst()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role,
                     {QStringLiteral("read-then-reply"), QStringLiteral("--hold"),
                         QStringLiteral("--bytes"), QString::number(2 * MiB),
                         QStringLiteral("--seed"), QStringLiteral("22")},
                     &link, &why),
            qPrintable(why));
        rill::Flow *flow = link.flow.get();

        Transfer transfer(flow);
        transfer.send(2 * MiB, 12);
        transfer.setReading(true);
        QVERIFY2(runUntil([&] {
            transfer.step();
            return transfer.allAccepted() && flow->bytesQueued() == 0;
        }),
            link.why(
                QStringLiteral("the first 2 MiB never left the queue: ") + transfer.describe()));
        // Into an empty queue a write is accepted at once. The first may leave at once too
        // (write-through, once per turn of the event loop); the second is still all queued when
        // close() is called.
        const QByteArray head = rilltest::pattern(MiB / 2, 98); // below the mark even if all queued
        const QByteArray tail = rilltest::pattern(3 * MiB, 99);
        QFuture<rill::WriteResult> headWrite = flow->write(head);
        QVERIFY2(headWrite.isFinished() && headWrite.result().isOk(),
            "a write into an empty send queue must be accepted at once");
        const qint64 headQueued = flow->bytesQueued();
        QFuture<rill::WriteResult> tailWrite = flow->write(tail);
        QVERIFY2(tailWrite.isFinished() && tailWrite.result().isOk(),
            "a write below the high-water mark must be accepted at once");
        transfer.recordSent(head);
        transfer.recordSent(tail);
        auto closed = flow->close();
        QCOMPARE(flow->bytesQueued(), headQueued + 3 * MiB);
        QCOMPARE(flow->state(), rill::Flow::State::Closing);

        const auto eof = link.peer->waitForEvent(QStringLiteral("eof"));
        QVERIFY2(eof, link.why(QStringLiteral("the peer never saw our end of stream")));
        QVERIFY2(eof->value(QLatin1String("received")).toInteger() == 2 * MiB + head.size() + tail.size()
                && eof->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
            link.why(QStringLiteral("close() did not deliver every queued byte, in order")));
        // The peer has not ended its side: close() waits, and the flow still reads.
        QVERIFY2(!closed.isFinished(),
            link.why(QStringLiteral("close() finished before the peer ended its side")));
        QCOMPARE(flow->state(), rill::Flow::State::Closing);
        QCOMPARE(flow->writeState(), rill::Flow::WriteState::Closed);
        QCOMPARE(flow->readState(), rill::Flow::ReadState::Open);

        link.peer->command("go");
        QVERIFY2(runUntil([&] {
            transfer.step();
            return transfer.readDone();
        }),
            link.why(QStringLiteral("the reply never ended: ") + transfer.describe()));
        QCOMPARE(transfer.readEnd(), rill::ReadResult::eof());
        const auto done = link.peer->waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, link.why(QStringLiteral("the peer did not finish")));
        QVERIFY2(transfer.received() == 2 * MiB
                && transfer.receivedHash() == done->value(QLatin1String("sent_sha256")).toString(),
            link.why(QStringLiteral("the reply read after close() is not what the peer "
                                    "sent: ")
                + transfer.describe()));
        RILL_AWAIT_VOID(closed);
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
    }

    // socat -u reads the connection to its end and exits: what it printed is what we wrote.
    void weCloseFirstToSocat()
    {
        QString why;
        const QString endpoint = startListener(&why);
        QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
        Peer socat;
        QVERIFY2(socat.startSocat(
                     {QStringLiteral("-u"), socatAddress(endpoint), QStringLiteral("STDOUT")}),
            qPrintable(socat.describe()));
        std::unique_ptr<rill::Flow> flow = acceptFlow(&why);
        QVERIFY2(flow, qPrintable(why + socat.describe()));

        Transfer transfer(flow.get());
        transfer.send(4 * MiB, 13);
        transfer.setEnd(Transfer::End::Close);
        transfer.setReading(true);
        QVERIFY2(transfer.run(), qPrintable(transfer.describe() + socat.describe()));
        QVERIFY2(!transfer.writeFailure(), qPrintable(transfer.describe()));
        QCOMPARE(transfer.readEnd(), rill::ReadResult::eof());
        QVERIFY2(socat.waitForExit(), qPrintable(socat.describe()));
        QCOMPARE(socat.exitCode(), 0);
        const QByteArray output = socat.output();
        QVERIFY2(output.size() == 4 * MiB && sha256Hex(output) == transfer.sentHash(),
            qPrintable(QStringLiteral("socat printed %1 bytes, not the 4 MiB we wrote")
                           .arg(output.size())));
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
    }

    // ---- 2. The peer half-closes first: Eof, and the flow can still write.

    void peerShutsDownWriteFirst_data() { addRoleRows(); }
    void peerShutsDownWriteFirst()
    {
        QFETCH(Role, role);
        const QByteArray request = "GET /several-mebibytes, then I stop sending";
        Link link;
        QString why;
        QVERIFY2(openLink(role,
                     {QStringLiteral("send-then-shutdown"), QStringLiteral("--text"),
                         QString::fromLatin1(request)},
                     &link, &why),
            qPrintable(why));
        rill::Flow *flow = link.flow.get();

        const rilltest::Drained drained = rilltest::readToEnd(flow);
        RILL_CHECK_DRAINED(drained, request, rill::ReadResult::eof());
        QCOMPARE(flow->readState(), rill::Flow::ReadState::Eof);
        QCOMPARE(flow->writeState(), rill::Flow::WriteState::Open);
        QCOMPARE(flow->state(), rill::Flow::State::Open);
        QFuture<rill::ReadResult> again = flow->read();
        rill::ReadResult againResult;
        RILL_AWAIT(again, againResult);
        QCOMPARE(againResult, rill::ReadResult::eof());

        // The reply: several MiB, more than any socket buffer, written after the peer's FIN.
        Transfer reply(flow);
        reply.send(8 * MiB, 14);
        reply.setEnd(Transfer::End::Close);
        QVERIFY2(
            reply.run(), link.why(QStringLiteral("the reply never finished: ") + reply.describe()));
        QVERIFY2(!reply.writeFailure(), link.why(reply.describe()));
        const auto done = link.peer->waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, link.why(QStringLiteral("the peer did not finish")));
        QVERIFY2(done->value(QLatin1String("received")).toInteger() == 8 * MiB
                && done->value(QLatin1String("received_sha256")).toString() == reply.sentHash(),
            link.why(QStringLiteral("the reply written after the peer's FIN did not arrive "
                                    "complete")));
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
    }

    // socat sends a request, half-closes (shut-down) and prints the reply until our FIN.
    void requestThenReplyWithSocat()
    {
        QString why;
        const QString endpoint = startListener(&why);
        QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
        Peer socat;
        QVERIFY2(socat.startSocat({QStringLiteral("-t"), QStringLiteral("60"), QStringLiteral("-"),
                     socatAddress(endpoint) + QStringLiteral(",shut-down")}),
            qPrintable(socat.describe()));
        const QByteArray request = "a request that ends with the stream\n";
        socat.write(request);
        socat.closeInput();
        std::unique_ptr<rill::Flow> flow = acceptFlow(&why);
        QVERIFY2(flow, qPrintable(why + socat.describe()));

        const rilltest::Drained drained = rilltest::readToEnd(flow.get());
        RILL_CHECK_DRAINED(drained, request, rill::ReadResult::eof());
        Transfer reply(flow.get());
        reply.send(8 * MiB, 15);
        reply.setEnd(Transfer::End::Close);
        QVERIFY2(reply.run(), qPrintable(reply.describe() + socat.describe()));
        QVERIFY2(!reply.writeFailure(), qPrintable(reply.describe()));
        QVERIFY2(socat.waitForExit(), qPrintable(socat.describe()));
        QCOMPARE(socat.exitCode(), 0);
        const QByteArray output = socat.output();
        QVERIFY2(output.size() == 8 * MiB && sha256Hex(output) == reply.sentHash(),
            qPrintable(
                QStringLiteral("socat printed %1 bytes, not the 8 MiB reply").arg(output.size())));
    }

    // ---- 3. Nothing is lost: 256 MiB each way at once (heavyVolume()).

    void bulkBothWays_data() { addRoleRows(); }
    void bulkBothWays()
    {
        QFETCH(Role, role);
        constexpr qint64 size = rilltest::heavyVolume(256 * MiB);
        Link link;
        QString why;
        QVERIFY2(openLink(role,
                     {QStringLiteral("bulk"), QStringLiteral("--bytes"), QString::number(size),
                         QStringLiteral("--seed"), QStringLiteral("5")},
                     &link, &why),
            qPrintable(why));
        // Our end of stream after the last byte, the peer's read to its end, then close():
        // close() itself keeps only a bounded amount of unread input (the contract), so a
        // reader that wants every byte reads to Eof first.
        Transfer transfer(link.flow.get());
        transfer.send(size, 16);
        transfer.setEnd(Transfer::End::ShutdownWrite);
        transfer.setReading(true);
        QVERIFY2(transfer.run(BulkTimeout), link.why(transfer.describe()));
        QVERIFY2(!transfer.writeFailure(), link.why(transfer.describe()));
        QVERIFY2(!transfer.emptyRead(), "a read resolved with zero bytes");
        QCOMPARE(transfer.readEnd(), rill::ReadResult::eof());
        auto closed = link.flow->close();
        rill::CloseResult closeResult;
        RILL_AWAIT(closed, closeResult);
        QCOMPARE(closeResult, rill::CloseResult::ok());
        const auto done = link.peer->waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, link.why(QStringLiteral("the peer did not finish")));
        QVERIFY2(done->value(QLatin1String("received")).toInteger() == size
                && done->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
            link.why(QStringLiteral("what we wrote arrived incomplete or changed")));
        QVERIFY2(transfer.received() == size
                && transfer.receivedHash() == done->value(QLatin1String("sent_sha256")).toString(),
            link.why(QStringLiteral("what the peer sent arrived incomplete or changed: ")
                + transfer.describe()));
        QCOMPARE(link.flow->state(), rill::Flow::State::Closed);
    }

    // ---- 4. Backpressure: a peer that stops reading holds the writer near the high-water mark.

    void backpressure_data() { addRoleRows(); }
    void backpressure()
    {
        QFETCH(Role, role);
        constexpr qint64 size = rilltest::heavyVolume(1 * GiB);
        Link link;
        QString why;
        QVERIFY2(openLink(role, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
        rill::Flow *flow = link.flow.get();
        QCOMPARE(flow->highWaterMark(), rill::Flow::DefaultHighWaterMark);
        const qint64 limit = flow->highWaterMark() + 64 * MiB;
        ::malloc_trim(0); // what earlier cases freed must not hide this one's growth
        const qint64 residentBefore = residentBytes();
        QVERIFY(residentBefore > 0);

        Transfer transfer(flow);
        transfer.send(size, 17);
        transfer.setEnd(Transfer::End::Close);
        transfer.setReading(true);
        QVERIFY2(transfer.runUntilBlocked(),
            link.why(QStringLiteral("the writer was never held back: ") + transfer.describe()));
        auto checkHeldBack = [&](const char *when) {
            const qint64 growth = residentBytes() - residentBefore;
            qInfo("%s: %lld MiB offered, %lld bytes queued, %d writes waiting, RSS growth %lld KiB",
                when, transfer.offered() / MiB, flow->bytesQueued(), flow->writesWaiting(),
                growth / KiB);
            return transfer.writePending() && flow->writesWaiting() > 0
                && flow->bytesQueued() >= flow->highWaterMark() && transfer.offered() < size
                && growth < limit;
        };
        QVERIFY2(checkHeldBack("held back"),
            link.why(QStringLiteral("writes do not wait, or memory grew past the high-water "
                                    "mark + 64 MiB: ")
                + transfer.describe()));
        // Still held back after a round trip to the peer, with the writer running all along.
        link.peer->command("ping");
        QVERIFY2(runUntil([&] {
            transfer.step();
            return link.peer->takeEvent(QStringLiteral("pong")).has_value();
        }),
            link.why(QStringLiteral("the peer did not answer")));
        QVERIFY2(checkHeldBack("after a round trip"),
            link.why(
                QStringLiteral("the writer got past the stalled peer: ") + transfer.describe()));

        // The peer reads again: everything goes through, intact.
        link.peer->command("go");
        QVERIFY2(transfer.run(BulkTimeout), link.why(transfer.describe()));
        QVERIFY2(!transfer.writeFailure(), link.why(transfer.describe()));
        QCOMPARE(transfer.readEnd(), rill::ReadResult::eof());
        const auto eof = link.peer->waitForEvent(QStringLiteral("eof"));
        QVERIFY2(eof, link.why(QStringLiteral("the peer did not read to the end")));
        QVERIFY2(eof->value(QLatin1String("received")).toInteger() == size
                && eof->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
            link.why(QStringLiteral("what the writer offered arrived incomplete or changed")));
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
    }

    // ---- 5. Faults resolve everything promptly.

    // Write-through (Flow::write()): the first write of a turn into an empty queue leaves
    // before write() returns; the others of the same turn wait for the next turn, together.
    void writeThroughOncePerTurn_data() { addRoleRows(); }
    void writeThroughOncePerTurn()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
        rill::Flow *flow = link.flow.get();
        QSignalSpy sent(flow, &rill::Flow::writeSent);

        QFuture<rill::WriteResult> first = flow->write("first ");
        QVERIFY(first.isFinished() && first.result().isOk());
        QVERIFY2(sent.size() == 1 && flow->bytesQueued() == 0,
            link.why(QStringLiteral("the first write of a turn into an empty queue did not "
                                    "leave before write() returned")));
        QFuture<rill::WriteResult> second = flow->write("second ");
        QFuture<rill::WriteResult> third = flow->write("third");
        QVERIFY(second.isFinished() && third.isFinished());
        QVERIFY2(sent.size() == 1 && flow->bytesQueued() == 12,
            link.why(QStringLiteral("a later write of the same turn left at once")));
        QTRY_COMPARE(sent.size(), 3);
        QCOMPARE(flow->bytesQueued(), 0);

        auto shut = flow->shutdown(rill::Flow::Direction::Write);
        const rilltest::Drained echoed = rilltest::readToEnd(flow);
        RILL_CHECK_DRAINED(echoed, QByteArrayLiteral("first second third"), rill::ReadResult::eof());
        RILL_AWAIT_VOID(shut);
    }

    void peerResets_data()
    {
        QTest::addColumn<Role>("role");
        QTest::addColumn<bool>("writesWaiting");
        QTest::newRow("flow connects, a read pending") << Role::Client << false;
        QTest::newRow("flow connects, reads and writes pending") << Role::Client << true;
        QTest::newRow("flow accepted, a read pending") << Role::Server << false;
        QTest::newRow("flow accepted, reads and writes pending") << Role::Server << true;
    }
    void peerResets()
    {
        QFETCH(Role, role);
        QFETCH(bool, writesWaiting);
        Link link;
        QString why;
        // The peer's close finds bytes it did not read: a TCP RST with SO_LINGER 0, and over a
        // Unix socket the only way the other end sees ECONNRESET.
        QVERIFY2(
            openLink(role,
                writesWaiting ? QStringList {QStringLiteral("stall")}
                              : QStringList {QStringLiteral("reset"), QStringLiteral("--peek")},
                &link, &why),
            qPrintable(why));
        rill::Flow *flow = link.flow.get();
        QFuture<rill::ReadResult> read = flow->read();
        Transfer fill(flow);
        QFuture<rill::WriteResult> write;
        if (writesWaiting) {
            QVERIFY2(fillUntilBlocked(&fill, &why), link.why(why));
            write = fill.pendingWrite();
            link.peer->command("reset");
        } else {
            write = flow->write("bytes the peer never reads");
        }
        QVERIFY2(link.peer->waitForEvent(QStringLiteral("reset")),
            link.why(QStringLiteral("the peer did not reset")));

        rill::ReadResult readResult;
        RILL_AWAIT(read, readResult);
        QVERIFY2(isReset(readResult),
            link.why(QStringLiteral("the pending read gave ") + rilltest::debugString(readResult)));
        rill::WriteResult writeResult;
        RILL_AWAIT(write, writeResult);
        if (writesWaiting)
            QVERIFY2(isReset(writeResult),
                link.why(QStringLiteral("the waiting write gave ")
                    + rilltest::debugString(writeResult)));
        else
            QVERIFY2(writeResult.isOk(), "a write accepted before the reset must stay accepted");

        // Sticky: later operations give the same error at once.
        QFuture<rill::ReadResult> laterRead = flow->read();
        QFuture<rill::WriteResult> laterWrite = flow->write("after the reset");
        QVERIFY2(laterRead.isFinished() && laterWrite.isFinished(),
            "operations after the reset must finish at once");
        QVERIFY2(
            isReset(laterRead.result()), qPrintable(rilltest::debugString(laterRead.result())));
        QVERIFY2(
            isReset(laterWrite.result()), qPrintable(rilltest::debugString(laterWrite.result())));
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
        QCOMPARE(descriptorOf(flow), qintptr(-1));

        const QString message = rill::errorMessage(readResult.error());
        QVERIFY2(message.contains(link.endpoint),
            qPrintable(QStringLiteral("the message \"%1\" does not name the endpoint %2")
                           .arg(message, link.endpoint)));
    }

    void peerKilled_data() { addRoleRows(); }
    void peerKilled()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
        rill::Flow *flow = link.flow.get();
        QFuture<rill::ReadResult> read = flow->read();
        QVERIFY(!read.isFinished());
        link.peer->kill();

        rill::ReadResult readResult;
        RILL_AWAIT(read, readResult);
        QVERIFY2(readResult == rill::ReadResult::eof(),
            link.why(QStringLiteral("the read pending when the peer died gave ")
                + rilltest::debugString(readResult)));

        // Writes are accepted until the flow learns the peer is gone, then give Eof, Reset, or
        // the error that says how many accepted bytes were not sent.
        rill::WriteResult last;
        for (int i = 0; i < 64 && last.isOk(); ++i) {
            QFuture<rill::WriteResult> write = flow->write(rilltest::pattern(64 * KiB, quint32(i)));
            RILL_AWAIT(write, last);
            QVERIFY2(runUntil([&] {
                return flow->bytesQueued() == 0
                    || flow->writeState() != rill::Flow::WriteState::Open;
            }),
                link.why(QStringLiteral("the queue never drained nor ended")));
        }
        QVERIFY2(last.isEof() || isReset(last) || isLost(last),
            link.why(QStringLiteral("writing to a dead peer gave ") + rilltest::debugString(last)));
        if (last.isError()) {
            const QString message = rill::errorMessage(last.error());
            QVERIFY2(message.contains(link.endpoint),
                qPrintable(QStringLiteral("the message \"%1\" does not name the endpoint %2")
                               .arg(message, link.endpoint)));
        }
        QVERIFY2(runUntil([&] { return flow->state() == rill::Flow::State::Closed; }),
            link.why(QStringLiteral("both directions ended, yet the flow is not closed")));
        QCOMPARE(descriptorOf(flow), qintptr(-1));
    }

    void peerKilledWhileWritesWait_data() { addRoleRows(); }
    void peerKilledWhileWritesWait()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
        rill::Flow *flow = link.flow.get();
        Transfer fill(flow);
        QVERIFY2(fillUntilBlocked(&fill, &why), link.why(why));
        QFuture<rill::WriteResult> write = fill.pendingWrite();
        QFuture<rill::ReadResult> read = flow->read();
        link.peer->kill();

        // The peer died with our bytes unread: its kernel resets the connection, or (Unix)
        // the flow may see the end of stream first.
        rill::ReadResult readResult;
        RILL_AWAIT(read, readResult);
        QVERIFY2(readResult.isEof() || isReset(readResult),
            link.why(QStringLiteral("the pending read gave ") + rilltest::debugString(readResult)));
        rill::WriteResult writeResult;
        RILL_AWAIT(write, writeResult);
        QVERIFY2(writeResult.isEof() || isReset(writeResult),
            link.why(
                QStringLiteral("the waiting write gave ") + rilltest::debugString(writeResult)));
        QVERIFY2(runUntil([&] { return flow->state() == rill::Flow::State::Closed; }),
            link.why(QStringLiteral("the flow did not close")));
        QCOMPARE(flow->bytesQueued(), 0);
    }

    void refused()
    {
        QString why;
        const QString endpoint = refusingEndpoint(&why);
        QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
        rill::Error error;
        std::unique_ptr<rill::Flow> flow = connectFlow(endpoint, &error);
        QVERIFY2(!flow, "connecting where nobody listens succeeded");
        QVERIFY2(
            error.kind() == rill::Error::Kind::Refused, qPrintable(rilltest::debugString(error)));
        const QString message = rill::errorMessage(error);
        QVERIFY2(message.contains(endpoint),
            qPrintable(
                QStringLiteral("the message \"%1\" does not name %2").arg(message, endpoint)));
    }

    // Operations on a flow still connecting wait, then all get the refusal.
    void refusedWhileOperationsWait()
    {
        QString why;
        const QString endpoint = refusingEndpoint(&why);
        QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
        std::unique_ptr<rill::Flow> flow = connectingFlow(endpoint);
        QFuture<rill::ReadResult> read = flow->read();
        QFuture<rill::WriteResult> first = flow->write(rilltest::pattern(flow->highWaterMark(), 1));
        QFuture<rill::WriteResult> second = flow->write("waits behind the first");
        auto closed = flow->close();

        rill::ReadResult readResult;
        RILL_AWAIT(read, readResult);
        QVERIFY2(readResult.isError() && readResult.error().kind() == rill::Error::Kind::Refused,
            qPrintable(rilltest::debugString(readResult)));
        rill::WriteResult secondResult;
        RILL_AWAIT(second, secondResult);
        QVERIFY2(
            secondResult.isError() && secondResult.error().kind() == rill::Error::Kind::Refused,
            qPrintable(rilltest::debugString(secondResult)));
        QVERIFY2(first.isFinished(), "the first write never finished");
        RILL_AWAIT_VOID(closed);
        QCOMPARE(flow->state(), rill::Flow::State::Closed);
        // A QTcpSocket that is still connecting does not tell its port: the message may leave
        // the port out, but must not name a wrong one. A QLocalSocket refused on Unix fails
        // inside connectToServer(), before it can be wrapped, and forgets its name: the message
        // may then name no endpoint, but must not name a wrong one.
        const QString message = rill::errorMessage(readResult.error());
        const QString host = rill::Endpoint::parse(endpoint).host();
        QVERIFY2(message.contains(endpoint)
                || (m_transport == Transport::Tcp && message.contains(host)
                    && !message.contains(QStringLiteral("tcp:%1:0").arg(host)))
                || (m_transport == Transport::Local && !message.contains(QStringLiteral("unix:"))),
            qPrintable(
                QStringLiteral("the message \"%1\" does not name %2").arg(message, endpoint)));
    }

    // abort() and destruction finish what waits (Aborted) at once; the peer sees a reset.
    void abortAndDestroyFinishEverything_data()
    {
        QTest::addColumn<bool>("destroy");
        QTest::newRow("abort()") << false;
        QTest::newRow("destroyed") << true;
    }
    void abortAndDestroyFinishEverything()
    {
        QFETCH(bool, destroy);
        Link link;
        QString why;
        QVERIFY2(openLink(Role::Client, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
        Transfer fill(link.flow.get());
        QVERIFY2(fillUntilBlocked(&fill, &why), link.why(why));
        QFuture<rill::WriteResult> write = fill.pendingWrite();
        QFuture<rill::ReadResult> read = link.flow->read();
        auto shutdown = link.flow->shutdown(rill::Flow::Direction::Write);
        if (destroy)
            link.flow.reset();
        else
            link.flow->abort();
        QVERIFY2(read.isFinished() && write.isFinished() && shutdown.isFinished(),
            "pending operations must finish at once");
        QVERIFY2(
            read.result().isError() && read.result().error().kind() == rill::Error::Kind::Aborted,
            qPrintable(rilltest::debugString(read.result())));
        QVERIFY2(
            write.result().isError() && write.result().error().kind() == rill::Error::Kind::Aborted,
            qPrintable(rilltest::debugString(write.result())));
        if (!destroy) {
            QCOMPARE(link.flow->state(), rill::Flow::State::Closed);
            QCOMPARE(descriptorOf(link.flow.get()), qintptr(-1));
        }
        link.peer->command("go");
        const auto error = link.peer->waitForEvent(QStringLiteral("error"));
        if (m_transport == Transport::Tcp) {
            QVERIFY2(error && error->value(QLatin1String("errno")).toInt() == ECONNRESET,
                link.why(QStringLiteral("the peer did not see a reset")));
        }
    }

    // ---- 6. The descriptor is the connection's.

    void descriptorIsTheConnection_data() { addRoleRows(); }
    void descriptorIsTheConnection()
    {
        QFETCH(Role, role);
        Link link;
        QString why;
        QVERIFY2(openLink(role, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
        rill::Flow *flow = link.flow.get();
        const qintptr fd = descriptorOf(flow);
        QVERIFY2(fd >= 0, "an open socket flow has a descriptor");
        QCOMPARE(intOption(fd, SOL_SOCKET, SO_TYPE), int(SOCK_STREAM));
        QCOMPARE(intOption(fd, SOL_SOCKET, SO_DOMAIN),
            m_transport == Transport::Tcp ? int(AF_INET) : int(AF_UNIX));

        QFuture<rill::WriteResult> write = flow->write("ping");
        auto shutdown = flow->shutdown(rill::Flow::Direction::Write);
        const rilltest::Drained drained = rilltest::readToEnd(flow);
        RILL_CHECK_DRAINED(drained, QByteArray("ping"), rill::ReadResult::eof());
        QVERIFY(write.isFinished() && write.result().isOk());
        RILL_AWAIT_VOID(shutdown);
        QVERIFY2(runUntil([&] { return flow->state() == rill::Flow::State::Closed; }),
            link.why(QStringLiteral("both sides ended but the flow is not closed")));
        QCOMPARE(descriptorOf(flow), qintptr(-1));
    }
};

} // namespace sockettest
