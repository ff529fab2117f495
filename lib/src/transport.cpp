// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "transportflow_p.h"

#include <QtCore/QMetaObject>

namespace rill {

Q_LOGGING_CATEGORY(lcTransport, "rill.transport", QtWarningMsg)

namespace {

// What a TransportFlow made without a transport runs on: it fails at once, so that the
// mistake shows as an error of the flow instead of a crash later.
class NoTransport final : public Transport
{
public:
    QString name() const override { return QStringLiteral("none"); }
    void start() override
    {
        QMetaObject::invokeMethod(
                flow(),
                [this] {
                    failed(Error(Error::Kind::InvalidArgument,
                                 QStringLiteral("the flow was made without a transport")));
                },
                Qt::QueuedConnection);
    }
    void startWriting() override {}
    void setReadEnabled(bool) override {}
    void shutdownWrite() override {}
    void abort() override {}
    void release() override {}
};

} // namespace

// ---------------------------------------------------------------------------------------------
// TransportFlowPrivate: FlowPrivate's hooks, forwarded. After abort() or release() nothing
// more reaches the transport, and nothing it reports reaches the machinery.

TransportFlowPrivate::TransportFlowPrivate(std::unique_ptr<Transport> t)
    : transport(t ? std::move(t) : std::make_unique<NoTransport>())
{
    transport->m_flow = this;
}

TransportFlowPrivate::~TransportFlowPrivate()
{
    transport.reset();
}

void TransportFlowPrivate::transportWrite()
{
    if (!m_ended)
        transport->startWriting();
}

void TransportFlowPrivate::transportSetReadEnabled(bool enabled)
{
    if (!m_ended)
        transport->setReadEnabled(enabled);
}

void TransportFlowPrivate::transportShutdownWrite()
{
    if (!m_ended)
        transport->shutdownWrite();
}

void TransportFlowPrivate::transportAbort()
{
    if (std::exchange(m_ended, true))
        return;
    qCDebug(lcTransport) << q_ptr << "abort" << transport->name();
    transport->abort();
}

void TransportFlowPrivate::transportRelease()
{
    if (std::exchange(m_ended, true))
        return;
    qCDebug(lcTransport) << q_ptr << "release" << transport->name();
    transport->release();
}

void TransportFlowPrivate::transportLeaveThread()
{
    if (!m_ended)
        transport->leaveThread();
}

void TransportFlowPrivate::transportJoinThread()
{
    if (!m_ended)
        transport->joinThread();
}

// ---------------------------------------------------------------------------------------------
// Transport

/*!
    \class rill::Transport
    \brief What moves a flow's bytes; see rill/transport.h for the rules.
*/

Transport::Transport() = default;
Transport::~Transport() = default;

Endpoint Transport::localEndpoint() const
{
    return {};
}

Endpoint Transport::peerEndpoint() const
{
    return {};
}

QString Transport::peerName() const
{
    return peerEndpoint().toString();
}

void Transport::leaveThread() {}
void Transport::joinThread() {}

TransportFlow *Transport::flow() const
{
    return m_flow ? static_cast<TransportFlow *>(m_flow->q_ptr) : nullptr;
}

bool Transport::isReadEnabled() const
{
    return m_flow && m_flow->live() && m_flow->wantsData();
}

qint64 Transport::readRoom() const
{
    if (!isReadEnabled())
        return 0;
    return m_flow->readRoom();
}

qint64 Transport::bytesToWrite() const
{
    return m_flow && m_flow->live() ? qint64(m_flow->bytesQueued) : 0;
}

QList<QByteArray> Transport::queuedData(qint64 offset, qint64 maxBytes) const
{
    QList<QByteArray> data;
    if (!m_flow || !m_flow->live() || maxBytes == 0)
        return data;
    qint64 skip = qMax<qint64>(offset, 0) + m_flow->frontOffset;
    qint64 left = maxBytes < 0 ? std::numeric_limits<qint64>::max() : maxBytes;
    for (const FlowPrivate::Chunk &chunk : std::as_const(m_flow->sendQueue)) {
        const qint64 size = chunk.data.size();
        if (skip >= size) {
            skip -= size;
            continue;
        }
        const qint64 take = qMin(size - skip, left);
        // Whole buffers travel as shallow copies; only a cut one is copied.
        data.append(skip == 0 && take == size ? chunk.data : chunk.data.mid(skip, take));
        skip = 0;
        left -= take;
        if (left == 0)
            break;
    }
    return data;
}

void Transport::opened()
{
    if (m_flow && m_flow->live())
        m_flow->onConnected();
}

void Transport::received(const QByteArray &data)
{
    if (m_flow && m_flow->live() && m_flow->state != Flow::State::Connecting)
        m_flow->onReceived(data);
}

void Transport::receivedEndOfStream()
{
    if (m_flow && m_flow->live() && m_flow->state != Flow::State::Connecting)
        m_flow->onReceivedEof();
}

void Transport::written(qint64 bytes)
{
    if (!m_flow || !m_flow->live() || bytes <= 0)
        return;
    if (bytes > m_flow->bytesQueued) {
        // A transport bug: it claims more than was queued. Count what there was.
        qCWarning(lcTransport) << m_flow->q_ptr << name() << "reported" << bytes
                               << "bytes written of" << qint64(m_flow->bytesQueued) << "queued";
        bytes = m_flow->bytesQueued;
    }
    m_flow->consume(bytes);
}

void Transport::endOfStreamSent()
{
    if (m_flow && m_flow->live())
        m_flow->onWriteShutdownDone();
}

void Transport::peerGone()
{
    if (m_flow && m_flow->live())
        m_flow->onPeerGone();
}

void Transport::writeFailed(const Error &error)
{
    if (m_flow && m_flow->live())
        m_flow->onWriteFailed(error);
}

void Transport::failed(const Error &error)
{
    if (m_flow && m_flow->live())
        m_flow->onFailed(error);
}

// ---------------------------------------------------------------------------------------------
// TransportFlow

/*!
    \class rill::TransportFlow
    \brief A flow over any rill::Transport.
*/

TransportFlow::TransportFlow(std::unique_ptr<Transport> transport, QObject *parent)
    : Flow(*new TransportFlowPrivate(std::move(transport)), parent)
{
    d_func()->transport->start();
}

// Aborted here rather than in ~Flow, so that the transport's abort() still finds a
// TransportFlow behind flow().
TransportFlow::~TransportFlow()
{
    Q_D(TransportFlow);
    d->cutLifeline();
    d->destroy();
}

Transport *TransportFlow::transport() const
{
    return d_func()->transport.get();
}

} // namespace rill
