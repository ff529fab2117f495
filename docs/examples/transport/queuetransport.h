// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// An example transport, written against the public header alone: two flows joined by an
// in-memory wire, one bounded queue of buffers per direction. It is what the README's "Write
// your own transport" shows, and tests/auto/transport compiles this very file, so it cannot rot.
//
// Everything else a flow does (the send queue and its high-water mark, the write ledger,
// pending reads, half-close states, deadlines, cancellation, idle timeouts, stats, moving to
// another thread) comes from rill::TransportFlow. The transport only moves bytes:
//
//   - startWriting(): bytes are queued; take what the wire has room for, report written();
//   - setReadEnabled(): the flow wants bytes, or not; deliver with received() while it does;
//   - shutdownWrite(): everything was sent; put the end of stream on the wire;
//   - abort(): reset the wire, so the other end fails with Reset.
//
// Both ends live in one thread (the wire has no lock). Every report to the flow is made from
// work(), a call queued on the flow's event loop: never from inside a call the flow made.

#include <rill/transport.h>

#include <QtCore/QMetaObject>

#include <deque>
#include <memory>

namespace example {

class QueueTransport;

// One direction of the wire: what the kernel's buffers are to a socket.
struct QueueWire {
    std::deque<QByteArray> data;
    qint64 bytes = 0;
    qint64 capacity = 64 * 1024;
    bool eof = false; // the writer sent its end of stream
    bool reset = false; // an end was aborted
    QueueTransport *reader = nullptr;
    QueueTransport *writer = nullptr;
};

class QueueTransport final : public rill::Transport {
public:
    QueueTransport(std::shared_ptr<QueueWire> in, std::shared_ptr<QueueWire> out, QString name)
        : m_in(std::move(in)), m_out(std::move(out)), m_name(std::move(name))
    {
        m_in->reader = this;
        m_out->writer = this;
    }
    ~QueueTransport() override
    {
        m_in->reader = nullptr;
        m_out->writer = nullptr;
    }

    QString name() const override { return QStringLiteral("queue"); }
    QString peerName() const override { return m_name; }

    void start() override { opened(); } // connected from the start
    void startWriting() override { schedule(); }
    void setReadEnabled(bool enabled) override
    {
        if (enabled)
            schedule();
    }
    void shutdownWrite() override
    {
        m_finPending = true;
        schedule();
    }
    void abort() override
    {
        m_done = true;
        resetWire();
    }
    void release() override { m_done = true; }

    // For tests: a transport that is slow to accept. While not accepting, nothing leaves the
    // send queue, so writes above the flow's high-water mark wait.
    void setAccepting(bool accepting)
    {
        m_accepting = accepting;
        schedule();
    }
    // For tests: the wire breaks (as a socket's ECONNRESET would); reported from the event loop.
    void breakWith(const rill::Error &error)
    {
        m_breakWith = error;
        schedule();
    }
    // For tests: only the sending direction breaks (as EPIPE with bytes queued would).
    void breakWritingWith(const rill::Error &error)
    {
        m_breakWritingWith = error;
        schedule();
    }

private:
    void schedule()
    {
        if (m_scheduled || m_done || !flow())
            return;
        m_scheduled = true;
        // Queued on the flow: it runs in the flow's thread, and never after the flow (and with
        // it this transport) is gone.
        QMetaObject::invokeMethod(
            flow(),
            [this] {
                m_scheduled = false;
                work();
            },
            Qt::QueuedConnection);
    }

    void work()
    {
        if (m_done)
            return;
        if (!m_breakWith.isNone() || m_in->reset) {
            resetWire(); // the other end must not wait for what will never come
            failed(m_breakWith.isNone() ? rill::Error(
                       rill::Error::Kind::Reset, QStringLiteral("the peer reset the wire"), m_name)
                                        : m_breakWith);
            return; // the flow called abort() or release(): m_done is set
        }
        if (!m_breakWritingWith.isNone()) {
            writeFailed(std::exchange(m_breakWritingWith, rill::Error()));
            m_finPending = false;
        }
        send();
        receive();
    }

    void send()
    {
        if (!m_accepting || m_done)
            return;
        if (m_out->bytes < m_out->capacity && bytesToWrite() > 0) {
            // Whole buffers while the wire has room: it may go over its capacity by one buffer,
            // as a socket's buffer rounds up, so that a small wire does not move a byte a turn.
            qint64 moved = 0;
            for (QByteArray &buffer : queuedData()) {
                if (m_out->bytes >= m_out->capacity)
                    break;
                moved += buffer.size();
                m_out->bytes += buffer.size();
                m_out->data.push_back(std::move(buffer));
            }
            wakeReader();
            written(moved); // may accept waiting writes, and so call startWriting() again
        }
        if (m_finPending && !m_done && bytesToWrite() == 0) {
            m_finPending = false;
            m_out->eof = true;
            wakeReader();
            endOfStreamSent();
        }
    }

    void receive()
    {
        while (!m_done && isReadEnabled() && !m_in->data.empty()) {
            QByteArray buffer = std::move(m_in->data.front());
            m_in->data.pop_front();
            const qint64 room = readRoom(); // -1: any amount
            if (room > 0 && buffer.size() > room) {
                m_in->data.push_front(buffer.mid(room));
                buffer.truncate(room);
            }
            m_in->bytes -= buffer.size();
            if (m_in->writer)
                m_in->writer->schedule(); // it has room again
            received(buffer);
        }
        if (!m_done && m_in->data.empty() && m_in->eof && !m_eofDelivered) {
            m_eofDelivered = true;
            receivedEndOfStream();
        }
    }

    void resetWire()
    {
        for (QueueWire *wire : {m_in.get(), m_out.get()}) {
            wire->reset = true;
            wire->data.clear();
            wire->bytes = 0;
        }
        wakeReader();
    }

    void wakeReader()
    {
        if (m_out->reader)
            m_out->reader->schedule();
    }

    std::shared_ptr<QueueWire> m_in;
    std::shared_ptr<QueueWire> m_out;
    QString m_name;
    rill::Error m_breakWith;
    rill::Error m_breakWritingWith;
    bool m_scheduled = false;
    bool m_finPending = false;
    bool m_eofDelivered = false;
    bool m_accepting = true;
    bool m_done = false;
};

// Two connected flows over QueueTransports, and the transports (owned by their flows: valid
// while the flow lives).
struct QueuePair {
    std::unique_ptr<rill::TransportFlow> a;
    std::unique_ptr<rill::TransportFlow> b;
    QueueTransport *transportA = nullptr;
    QueueTransport *transportB = nullptr;
};

inline QueuePair createQueuePair(qint64 capacity = 64 * 1024)
{
    auto aToB = std::make_shared<QueueWire>();
    auto bToA = std::make_shared<QueueWire>();
    aToB->capacity = bToA->capacity = qMax<qint64>(capacity, 1);
    auto ta = std::make_unique<QueueTransport>(bToA, aToB, QStringLiteral("queue:b"));
    auto tb = std::make_unique<QueueTransport>(aToB, bToA, QStringLiteral("queue:a"));
    QueuePair pair;
    pair.transportA = ta.get();
    pair.transportB = tb.get();
    pair.a = std::make_unique<rill::TransportFlow>(std::move(ta));
    pair.b = std::make_unique<rill::TransportFlow>(std::move(tb));
    return pair;
}

} // namespace example
