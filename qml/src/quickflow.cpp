// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "quickflow.h"

#include "promise_p.h"

#include <rill/connect.h>
#include <rill/flowtext.h>

#include <QtCore/QLoggingCategory>
#include <QtCore/QMetaEnum>
#include <QtCore/QScopedValueRollback>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlInfo>

#include <chrono>

Q_LOGGING_CATEGORY(lcQuickFlow, "rill.quick.flow", QtWarningMsg)

namespace rill::quick {

namespace {

QuickFlow::State stateOf(Flow::State state)
{
    switch (state) {
    case Flow::State::Connecting:
        return QuickFlow::Connecting;
    case Flow::State::Open:
        return QuickFlow::Open;
    case Flow::State::Closing:
        return QuickFlow::Closing;
    case Flow::State::Closed:
        return QuickFlow::Closed;
    }
    return QuickFlow::Closed;
}

QuickFlow::ReadState readStateOf(Flow::ReadState state)
{
    switch (state) {
    case Flow::ReadState::Open:
        return QuickFlow::ReadOpen;
    case Flow::ReadState::Eof:
        return QuickFlow::ReadEof;
    case Flow::ReadState::Failed:
        return QuickFlow::ReadFailed;
    }
    return QuickFlow::ReadFailed;
}

QuickFlow::WriteState writeStateOf(Flow::WriteState state)
{
    switch (state) {
    case Flow::WriteState::Open:
        return QuickFlow::WriteOpen;
    case Flow::WriteState::ShuttingDown:
        return QuickFlow::WriteShuttingDown;
    case Flow::WriteState::Closed:
        return QuickFlow::WriteClosed;
    case Flow::WriteState::Failed:
        return QuickFlow::WriteFailed;
    }
    return QuickFlow::WriteFailed;
}

// "ReadEof" -> "Eof": the names QML shows, without the prefix that keeps the enums apart.
template<typename E> QString shortName(E value, const char *prefix)
{
    QString name = QString::fromLatin1(QMetaEnum::fromType<E>().valueToKey(int(value)));
    const QString p = QString::fromLatin1(prefix);
    return name.startsWith(p) ? name.mid(p.size()) : name;
}

} // namespace

QuickFlow::QuickFlow(Endpoint::Type type, QObject *parent) : QObject(parent), m_type(type) { }

QuickFlow::QuickFlow(Endpoint::Type type, std::unique_ptr<Flow> flow, QObject *parent)
    : QObject(parent), m_type(type)
{
    m_highWaterMark = flow->highWaterMark();
    m_endpoint = flow->peerEndpoint().toString();
    attach(std::move(flow));
}

QuickFlow::~QuickFlow()
{
    ++m_generation; // the flow's pending futures finish as it goes; nobody listens any more
    if (m_flow)
        disconnect(m_flow, nullptr, this, nullptr);
    delete m_flow.data();
}

void QuickFlow::setEndpoint(const QString &endpoint)
{
    if (endpoint == m_endpoint)
        return;
    m_endpoint = endpoint;
    endpointUpdated();
    Q_EMIT endpointChanged();
}

QString QuickFlow::transport() const
{
    return m_type == Endpoint::Type::Tcp ? QStringLiteral("tcp") : QStringLiteral("unix");
}

QString QuickFlow::localEndpoint() const
{
    return m_flow ? m_flow->localEndpoint().toString() : QString();
}

QString QuickFlow::peerEndpoint() const
{
    return m_flow ? m_flow->peerEndpoint().toString() : QString();
}

void QuickFlow::setConnectTimeout(int milliseconds)
{
    if (milliseconds == m_connectTimeout)
        return;
    m_connectTimeout = milliseconds;
    Q_EMIT connectTimeoutChanged();
}

QString QuickFlow::stateName() const
{
    return shortName(m_state, "");
}

QString QuickFlow::readStateName() const
{
    return shortName(m_readState, "Read");
}

QString QuickFlow::writeStateName() const
{
    return shortName(m_writeState, "Write");
}

void QuickFlow::setReading(bool reading)
{
    if (reading == m_reading)
        return;
    m_reading = reading;
    Q_EMIT readingChanged(reading);
    readNext();
}

qint64 QuickFlow::bytesQueued() const
{
    return m_flow ? m_flow->bytesQueued() : 0;
}

int QuickFlow::writesWaiting() const
{
    return m_flow ? m_flow->writesWaiting() : 0;
}

qint64 QuickFlow::highWaterMark() const
{
    return m_highWaterMark;
}

void QuickFlow::setHighWaterMark(qint64 bytes)
{
    if (bytes == m_highWaterMark)
        return;
    if (m_flow) {
        m_flow->setHighWaterMark(bytes); // comes back through highWaterMarkChanged
        return;
    }
    m_highWaterMark = bytes;
    Q_EMIT highWaterMarkChanged();
}

namespace {
QDeadlineTimer deadlineIn(int milliseconds)
{
    return milliseconds > 0 ? QDeadlineTimer(milliseconds) : QDeadlineTimer(QDeadlineTimer::Forever);
}
} // namespace

void QuickFlow::setWriteTimeout(int milliseconds)
{
    milliseconds = qMax(0, milliseconds);
    if (std::exchange(m_writeTimeout, milliseconds) != milliseconds)
        Q_EMIT timeoutsChanged();
}

void QuickFlow::setCloseTimeout(int milliseconds)
{
    milliseconds = qMax(0, milliseconds);
    if (std::exchange(m_closeTimeout, milliseconds) != milliseconds)
        Q_EMIT timeoutsChanged();
}

void QuickFlow::setIdleTimeout(int milliseconds)
{
    milliseconds = qMax(0, milliseconds);
    if (std::exchange(m_idleTimeout, milliseconds) == milliseconds)
        return;
    applyIdle();
    Q_EMIT timeoutsChanged();
}

void QuickFlow::setAbortWhenIdle(bool abort)
{
    if (std::exchange(m_abortWhenIdle, abort) == abort)
        return;
    applyIdle();
    Q_EMIT timeoutsChanged();
}

void QuickFlow::applyIdle()
{
    if (!m_flow)
        return;
    m_flow->setIdleAction(m_abortWhenIdle ? Flow::IdleAction::Abort : Flow::IdleAction::Notify);
    m_flow->setIdleTimeout(m_idleTimeout);
}

void QuickFlow::open()
{
    if (m_state == Connecting || m_state == Open || m_state == Closing) {
        qmlWarning(this) << "open(): already " << stateName().toLower();
        return;
    }
    Error error;
    const Endpoint endpoint = Endpoint::parse(m_endpoint, &error);
    if (endpoint.isValid() && endpoint.type() != m_type) {
        error = Error(Error::Kind::InvalidArgument,
            QStringLiteral("a %1 flow cannot connect to %2").arg(transport(), m_endpoint));
    }
    detach();
    m_bytesIn = 0;
    m_bytesOut = 0;
    Q_EMIT bytesInChanged();
    Q_EMIT bytesOutChanged();
    setReadState(ReadOpen);
    setWriteState(WriteOpen);
    if (!error.isNone()) {
        connectFailed(error);
        return;
    }
    if (!m_errorString.isEmpty()) {
        m_errorString.clear();
        m_errorKind.clear();
        Q_EMIT errorStringChanged();
    }
    setState(Connecting);
    const quint64 generation = ++m_generation;
    QFuture<FlowResult<Flow>> future = m_connectTimeout > 0
        ? connectTo(endpoint, std::chrono::milliseconds(m_connectTimeout))
        : connectTo(endpoint);
    // The connect may outlive this object (a QML item destroyed while connecting): then the
    // flow it made goes with its result.
    thenIfAlive(future, this, [this, generation](FlowResult<Flow> result) {
        if (generation != m_generation)
            return; // aborted or reopened meanwhile; the result deletes its flow
        if (!result.isOk()) {
            connectFailed(result.error());
            return;
        }
        attach(result.takeFlow());
    });
}

int QuickFlow::write(const QVariant &data)
{
    QByteArray bytes;
    if (data.metaType() == QMetaType::fromType<QString>())
        bytes = data.toString().toUtf8();
    else if (data.metaType() == QMetaType::fromType<QByteArray>())
        bytes = data.toByteArray();
    else {
        qmlWarning(this) << "write() takes a string or an ArrayBuffer, not "
                         << data.metaType().name();
        return 0;
    }
    const int id = ++m_lastWriteId;
    ++m_pendingWrites;
    Q_EMIT pendingWritesChanged();
    if (m_flow) {
        sendWrite(id, bytes);
    } else if (m_state == Connecting) {
        m_writesWhileConnecting.append({id, bytes});
    } else {
        // The result comes later, as for every write, so QML has the id before it.
        const QString text = m_state == Unconnected
            ? QStringLiteral("not connected")
            : errorMessage(Error(Error::Kind::Closed, QStringLiteral("closed"), m_endpoint));
        later([this, id, text] { finishWrite(id, false, text); });
    }
    return id;
}

void QuickFlow::shutdownWrite()
{
    if (m_flow)
        m_flow->shutdown(Flow::Direction::Write);
    else if (m_state == Connecting)
        m_shutdownWriteWhileConnecting = true;
}

void QuickFlow::shutdownRead()
{
    if (m_flow)
        m_flow->shutdown(Flow::Direction::Read);
}

void QuickFlow::close()
{
    if (m_flow)
        m_flow->close(deadlineIn(m_closeTimeout));
    else if (m_state == Connecting)
        abort(); // nothing was sent yet: there is nothing to flush
}

void QuickFlow::abort()
{
    if (m_flow) {
        m_flow->abort();
        return;
    }
    if (m_state != Connecting)
        return;
    ++m_generation; // the connection, if it still comes, is dropped with its result
    connectFailed(
        Error(Error::Kind::Aborted, QStringLiteral("connecting was aborted"), m_endpoint));
}

void QuickFlow::attach(std::unique_ptr<Flow> owned)
{
    detach();
    Flow *flow = owned.release();
    flow->setParent(this);
    // A Q_INVOKABLE returning it must not hand it to the JavaScript garbage collector.
    QQmlEngine::setObjectOwnership(flow, QQmlEngine::CppOwnership);
    m_flow = flow;
    ++m_generation;
    m_decoder.resetState();
    if (flow->highWaterMark() != m_highWaterMark)
        flow->setHighWaterMark(m_highWaterMark);
    applyIdle();
    connect(flow, &Flow::idleTimedOut, this, &QuickFlow::idleTimedOut);

    connect(flow, &Flow::stateChanged, this, &QuickFlow::syncStates);
    connect(flow, &Flow::readStateChanged, this, &QuickFlow::syncStates);
    connect(flow, &Flow::writeStateChanged, this, &QuickFlow::syncStates);
    connect(flow, &Flow::errorOccurred, this, &QuickFlow::setError);
    connect(flow, &Flow::endpointsChanged, this, &QuickFlow::endpointsChanged);
    connect(flow, &Flow::highWaterMarkChanged, this, [this](qint64 bytes) {
        m_highWaterMark = bytes;
        Q_EMIT highWaterMarkChanged();
    });
    connect(flow, &Flow::bytesQueuedChanged, this, [this] {
        Q_EMIT bytesQueuedChanged();
        refreshBytesOut(); // bytes leaving the queue went to the transport
    });
    connect(flow, &Flow::writesWaitingChanged, this, &QuickFlow::writesWaitingChanged);
    connect(flow, &Flow::writeSent, this, &QuickFlow::refreshBytesOut);

    qCDebug(lcQuickFlow) << this << "attached" << flow->localEndpoint().toString() << "->"
                         << flow->peerEndpoint().toString();
    Q_EMIT flowChanged();
    Q_EMIT endpointsChanged();
    Q_EMIT bytesQueuedChanged();
    Q_EMIT writesWaitingChanged();
    refreshBytesOut();
    syncStates();
    if (m_state == Open || m_state == Closing)
        Q_EMIT connected();

    const QList<QueuedWrite> writes = std::exchange(m_writesWhileConnecting, {});
    for (const QueuedWrite &write : writes)
        sendWrite(write.id, write.data);
    if (std::exchange(m_shutdownWriteWhileConnecting, false))
        flow->shutdown(Flow::Direction::Write);
    readNext();
}

void QuickFlow::detach()
{
    m_readPending = false;
    if (!m_flow)
        return;
    Flow *flow = m_flow;
    disconnect(flow, nullptr, this, nullptr);
    m_flow = nullptr;
    ++m_generation;
    flow->abort(); // its peer learns at once; a flow being replaced is done with
    flow->deleteLater();
    Q_EMIT flowChanged();
    Q_EMIT endpointsChanged();
}

void QuickFlow::connectFailed(const Error &failure)
{
    // Name the endpoint in the text even where the library's error does not.
    const Error error = failure.endpoint().isEmpty() ? failure.withEndpoint(m_endpoint) : failure;
    qCDebug(lcQuickFlow) << this << "connecting failed:" << error;
    setState(Closed);
    setReadState(ReadFailed);
    setWriteState(WriteFailed);
    m_shutdownWriteWhileConnecting = false;
    const QString text = errorMessage(error);
    const QList<QueuedWrite> writes = std::exchange(m_writesWhileConnecting, {});
    for (const QueuedWrite &write : writes)
        finishWrite(write.id, false, text);
    setError(error);
}

void QuickFlow::setError(const Error &error)
{
    m_errorString = errorMessage(error);
    m_errorKind = errorKindName(error.kind());
    Q_EMIT errorStringChanged();
    Q_EMIT errorOccurred(m_errorString);
}

void QuickFlow::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void QuickFlow::setReadState(ReadState state)
{
    if (state == m_readState)
        return;
    m_readState = state;
    Q_EMIT readStateChanged(state);
}

void QuickFlow::setWriteState(WriteState state)
{
    if (state == m_writeState)
        return;
    m_writeState = state;
    Q_EMIT writeStateChanged(state);
}

void QuickFlow::syncStates()
{
    if (!m_flow)
        return;
    const quint64 generation = m_generation;
    setReadState(readStateOf(m_flow->readState()));
    if (generation != m_generation || !m_flow)
        return; // a handler replaced or dropped the flow
    setWriteState(writeStateOf(m_flow->writeState()));
    if (generation != m_generation || !m_flow)
        return;
    setState(stateOf(m_flow->state()));
}

void QuickFlow::refreshBytesOut()
{
    if (!m_flow)
        return;
    const qint64 bytes = m_flow->stats().bytesWritten;
    if (bytes == m_bytesOut)
        return;
    m_bytesOut = bytes;
    Q_EMIT bytesOutChanged();
}

void QuickFlow::readNext()
{
    if (!m_flow || !m_reading || m_readPending || m_flow->readState() != Flow::ReadState::Open)
        return;
    m_readPending = true;
    const quint64 generation = m_generation;
    const QScopedValueRollback inCall(m_callingFlow, true);
    m_flow->read().then(this, [this, generation](const ReadResult &result) {
        if (m_callingFlow) // the result was there already: still hand it over from the event loop
            return later([this, generation, result] { readFinished(generation, result); });
        readFinished(generation, result);
    });
}

void QuickFlow::readFinished(quint64 generation, const ReadResult &result)
{
    if (generation != m_generation)
        return; // the flow was replaced or dropped
    m_readPending = false;
    if (result.isData()) {
        m_bytesIn = m_flow ? m_flow->stats().bytesRead : m_bytesIn + result.data().size();
        Q_EMIT bytesInChanged();
        const QByteArray data = result.data();
        Q_EMIT dataReceived(data);
        if (generation != m_generation)
            return; // a handler replaced or dropped the flow
        if (isSignalConnected(QMetaMethod::fromSignal(&QuickFlow::textReceived)))
            Q_EMIT textReceived(m_decoder.decode(data));
        if (generation != m_generation)
            return;
        readNext();
    } else if (result.isEof()) {
        qCDebug(lcQuickFlow) << this << "end of stream";
        Q_EMIT endOfStream();
    }
    // An error came through the flow's errorOccurred already.
}

void QuickFlow::sendWrite(int id, const QByteArray &data)
{
    // Also a replaced flow's writes finish (with Aborted at the latest): pendingWrites stays true.
    const QScopedValueRollback inCall(m_callingFlow, true);
    m_flow->write(data, deadlineIn(m_writeTimeout)).then(this, [this, id](const WriteResult &result) {
        const bool ok = result.isOk();
        const QString text = FlowText::writeResultText(result);
        if (m_callingFlow) // accepted at once: QML still hears of it after write() returned
            return later([this, id, ok, text] { finishWrite(id, ok, text); });
        finishWrite(id, ok, text);
    });
}

void QuickFlow::finishWrite(int id, bool ok, const QString &errorString)
{
    --m_pendingWrites;
    Q_EMIT pendingWritesChanged();
    Q_EMIT writeFinished(id, ok, errorString);
}

// ---- TcpFlow

QuickTcpFlow::QuickTcpFlow(QObject *parent) : QuickFlow(Endpoint::Type::Tcp, parent)
{
    composeEndpoint();
}

QuickTcpFlow::QuickTcpFlow(std::unique_ptr<Flow> flow, QObject *parent)
    : QuickFlow(Endpoint::Type::Tcp, std::move(flow), parent)
{
    endpointUpdated();
}

void QuickTcpFlow::setHost(const QString &host)
{
    if (host == m_host)
        return;
    m_host = host;
    Q_EMIT hostChanged();
    composeEndpoint();
}

void QuickTcpFlow::setPort(int port)
{
    if (port == m_port)
        return;
    m_port = port;
    Q_EMIT portChanged();
    composeEndpoint();
}

void QuickTcpFlow::connectToHost(const QString &host, int port)
{
    setHost(host);
    setPort(port);
    open();
}

void QuickTcpFlow::composeEndpoint()
{
    if (m_port < 0 || m_port > 65535) {
        qmlWarning(this) << "port " << m_port << " is out of range";
        return;
    }
    setEndpoint(Endpoint::tcp(m_host, quint16(m_port)).toString());
}

void QuickTcpFlow::endpointUpdated()
{
    const Endpoint parsed = Endpoint::parse(endpoint());
    if (parsed.type() != Endpoint::Type::Tcp)
        return; // open() says why
    if (parsed.host() != m_host) {
        m_host = parsed.host();
        Q_EMIT hostChanged();
    }
    if (parsed.port() != m_port) {
        m_port = parsed.port();
        Q_EMIT portChanged();
    }
}

// ---- LocalFlow

QuickLocalFlow::QuickLocalFlow(QObject *parent) : QuickFlow(Endpoint::Type::Local, parent) { }

QuickLocalFlow::QuickLocalFlow(std::unique_ptr<Flow> flow, QObject *parent)
    : QuickFlow(Endpoint::Type::Local, std::move(flow), parent)
{
    endpointUpdated();
}

void QuickLocalFlow::setPath(const QString &path)
{
    if (path == m_path)
        return;
    m_path = path;
    Q_EMIT pathChanged();
    setEndpoint(Endpoint::local(path).toString());
}

void QuickLocalFlow::connectToServer(const QString &path)
{
    setPath(path);
    open();
}

void QuickLocalFlow::endpointUpdated()
{
    const Endpoint parsed = Endpoint::parse(endpoint());
    if (parsed.type() != Endpoint::Type::Local || parsed.path() == m_path)
        return;
    m_path = parsed.path();
    Q_EMIT pathChanged();
}

} // namespace rill::quick
