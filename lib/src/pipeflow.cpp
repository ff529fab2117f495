// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flow_p.h"

#include <rill/pipeflow.h>

#include <QtCore/QMutex>

#include <atomic>
#include <deque>

namespace rill {

namespace {

std::atomic<quint64> pipeSerial{0};

// One direction of a pair: what the kernel's socket buffers are to a socket.
struct PipeChannel
{
    QMutex mutex;
    std::deque<QByteArray> data;
    qint64 bytes = 0;
    qint64 capacity = 0;
    bool eof = false;   // the writer sent its end of stream
    bool reset = false; // one end aborted
    PipeFlowPrivate *reader = nullptr;
    PipeFlowPrivate *writer = nullptr;
};

} // namespace

class PipeFlowPrivate final : public FlowPrivate
{
public:
    PipeFlowPrivate(std::shared_ptr<PipeChannel> in, std::shared_ptr<PipeChannel> out, quint64 serial,
                    quint64 peerSerial)
        : m_in(std::move(in)), m_out(std::move(out)), m_serial(serial), m_peerSerial(peerSerial)
    {
        QMutexLocker inLock(&m_in->mutex);
        m_in->reader = this;
        inLock.unlock();
        QMutexLocker outLock(&m_out->mutex);
        m_out->writer = this;
    }

    ~PipeFlowPrivate() override
    {
        // Detach before the QObject goes, so the peer cannot post to it any more.
        QMutexLocker inLock(&m_in->mutex);
        m_in->reader = nullptr;
        inLock.unlock();
        QMutexLocker outLock(&m_out->mutex);
        m_out->writer = nullptr;
    }

    QString transportName() const override { return QStringLiteral("pipe"); }
    Endpoint currentLocalEndpoint() const override
    {
        return Endpoint::pipe(QString::number(m_serial));
    }
    Endpoint currentPeerEndpoint() const override
    {
        return Endpoint::pipe(QString::number(m_peerSerial));
    }

    void transportWrite() override { scheduleWork(); }
    void transportSetReadEnabled(bool enabled) override
    {
        if (enabled)
            scheduleWork();
    }
    void transportShutdownWrite() override
    {
        m_finPending = true;
        scheduleWork();
    }
    void transportAbort() override
    {
        m_dead = true;
        for (PipeChannel *channel : {m_in.get(), m_out.get()}) {
            QMutexLocker lock(&channel->mutex);
            channel->reset = true;
            channel->data.clear();
            channel->bytes = 0;
            PipeFlowPrivate *other = channel == m_in.get() ? channel->writer : channel->reader;
            if (other && other != this)
                other->scheduleWork();
        }
    }
    void transportRelease() override { m_dead = true; }

    // Thread-safe: called by the other end, from its thread, with the channel locked.
    void scheduleWork()
    {
        if (m_workPending.exchange(true))
            return;
        QMetaObject::invokeMethod(q_ptr, [this] { work(); }, Qt::QueuedConnection);
    }

private:
    void work();
    bool pushOut();
    void pullIn();

    std::shared_ptr<PipeChannel> m_in;
    std::shared_ptr<PipeChannel> m_out;
    quint64 m_serial;
    quint64 m_peerSerial;
    std::atomic_bool m_workPending{false};
    bool m_finPending = false;
    bool m_dead = false;

    friend class PipeFlow;
};

void PipeFlowPrivate::work()
{
    m_workPending.store(false);
    if (m_dead)
        return;
    {
        QMutexLocker inLock(&m_in->mutex);
        const bool reset = m_in->reset;
        inLock.unlock();
        if (reset) {
            onFailed(Error(Error::Kind::Reset, QStringLiteral("the peer reset the connection"),
                           errorEndpoint()));
            return;
        }
    }
    if (pushOut() && m_finPending && sendQueue.empty()) {
        m_finPending = false;
        QMutexLocker outLock(&m_out->mutex);
        m_out->eof = true;
        if (m_out->reader)
            m_out->reader->scheduleWork();
        outLock.unlock();
        onWriteShutdownDone();
    }
    if (!m_dead)
        pullIn();
}

// Moves whole chunks (shallow copies) into the channel while it has room; the channel may go
// over capacity by one chunk, as a socket buffer rounds up. Returns false if the peer is gone.
bool PipeFlowPrivate::pushOut()
{
    if (sendQueue.empty())
        return true;
    qint64 moved = 0;
    QMutexLocker outLock(&m_out->mutex);
    if (m_out->reset)
        return false;
    const bool wasEmpty = m_out->data.empty();
    for (auto it = sendQueue.begin(); it != sendQueue.end() && m_out->bytes < m_out->capacity;
         ++it) {
        QByteArray chunk = it == sendQueue.begin() && frontOffset ? it->data.mid(frontOffset)
                                                                  : it->data;
        moved += chunk.size();
        m_out->bytes += chunk.size();
        m_out->data.push_back(std::move(chunk));
    }
    if (wasEmpty && moved && m_out->reader)
        m_out->reader->scheduleWork();
    outLock.unlock();
    if (moved)
        consume(moved);
    return true;
}

void PipeFlowPrivate::pullIn()
{
    while (wantsData() && !m_dead) {
        QMutexLocker inLock(&m_in->mutex);
        if (m_in->data.empty()) {
            const bool eof = m_in->eof;
            inLock.unlock();
            if (eof)
                onReceivedEof();
            return;
        }
        QByteArray chunk = std::move(m_in->data.front());
        m_in->data.pop_front();
        const bool wasFull = m_in->bytes >= m_in->capacity;
        m_in->bytes -= chunk.size();
        if (wasFull && m_in->bytes < m_in->capacity && m_in->writer)
            m_in->writer->scheduleWork();
        inLock.unlock();
        onReceived(std::move(chunk));
    }
}

PipeFlow::PipeFlow(PipeFlowPrivate &dd) : Flow(dd)
{
    dd.onConnected(); // a pair is connected from the start
}

PipeFlow::~PipeFlow() = default;

PipeFlow::Pair PipeFlow::createPair(qint64 bufferSize)
{
    auto aToB = std::make_shared<PipeChannel>();
    auto bToA = std::make_shared<PipeChannel>();
    aToB->capacity = bToA->capacity = qMax<qint64>(bufferSize, 1);
    const quint64 a = ++pipeSerial;
    const quint64 b = ++pipeSerial;
    std::unique_ptr<PipeFlow> first(new PipeFlow(*new PipeFlowPrivate(bToA, aToB, a, b)));
    std::unique_ptr<PipeFlow> second(new PipeFlow(*new PipeFlowPrivate(aToB, bToA, b, a)));
    return {std::move(first), std::move(second)};
}

} // namespace rill
