// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "socketflow_p.h"

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QIODevice>
#include <QtCore/QScopedValueRollback>
#include <QtCore/QSignalBlocker>

#include <cerrno>
#include <memory>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace rill {

Q_LOGGING_CATEGORY(lcSocket, "rill.socket", QtWarningMsg)

namespace {
constexpr int MaxIov = 1024; // IOV_MAX on Linux: small writes leave in few sendmsg calls

// Counts the turns of the current thread's event loop, so that a flow writes through at most
// once per turn: a message that answers another leaves at once, while a burst of writes in one
// turn still leaves in one sendmsg() at the next. 0: no event dispatcher, no write-through.
struct LoopTurns
{
    QPointer<QAbstractEventDispatcher> dispatcher;
    quint64 turn = 1;
};
thread_local LoopTurns loopTurns;

quint64 currentLoopTurn()
{
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
    if (!dispatcher)
        return 0;
    if (loopTurns.dispatcher != dispatcher) {
        loopTurns.dispatcher = dispatcher;
        ++loopTurns.turn;
        // Both signals come between the dispatcher's rounds of callbacks, in its own thread:
        // glib's before and after each iteration, the Unix dispatcher's around its poll().
        const auto next = [] { ++loopTurns.turn; };
        QObject::connect(dispatcher, &QAbstractEventDispatcher::aboutToBlock, dispatcher, next,
                         Qt::DirectConnection);
        QObject::connect(dispatcher, &QAbstractEventDispatcher::awake, dispatcher, next,
                         Qt::DirectConnection);
    }
    return loopTurns.turn;
}
} // namespace

SocketFlowPrivate::~SocketFlowPrivate()
{
    loseLeases();
    if (fd >= 0)
        ::close(fd);
}

void SocketFlowPrivate::lendRead(SpliceLease *lease)
{
    m_readLease = lease;
    m_io.setReadEnabled(false);
}

void SocketFlowPrivate::lendWrite(SpliceLease *lease)
{
    m_writeLease = lease;
}

void SocketFlowPrivate::returnRead()
{
    m_readLease = nullptr;
    if (fd >= 0)
        m_io.setReadEnabled(wantsData());
}

void SocketFlowPrivate::returnWrite()
{
    m_writeLease = nullptr;
    if (fd >= 0)
        m_io.setWriteEnabled(!sendQueue.empty() || m_finPending);
}

void SocketFlowPrivate::loseLeases(bool movedAway)
{
    if (SpliceLease *lease = std::exchange(m_readLease, nullptr))
        lease->spliceLost(this, movedAway);
    if (SpliceLease *lease = std::exchange(m_writeLease, nullptr))
        lease->spliceLost(this, movedAway);
}

void SocketFlowPrivate::splicedReadEnded(int error)
{
    if (fd < 0)
        return;
    if (error == 0) {
        m_io.setReadEnabled(false);
        onReceivedEof();
    } else {
        onFailed(Error::fromErrno(error, errorEndpoint()));
    }
}

void SocketFlowPrivate::splicedWriteFailed(int error)
{
    if (fd < 0)
        return;
    if (error == EPIPE)
        onPeerGone();
    else
        onFailed(Error::fromErrno(error, errorEndpoint()));
}

void SocketFlowPrivate::watchConnecting(QIODevice *socket)
{
    m_connecting = socket;
    socket->setParent(q_ptr);
}

void SocketFlowPrivate::startConnectTimeout(QDeadlineTimer deadline)
{
    if (state != Flow::State::Connecting || deadline.isForever())
        return;
    m_connectTimer.start(deadlineNs(deadline));
}

void SocketFlowPrivate::adoptEnded(QIODevice *socket)
{
    const QByteArray early = socket->readAll();
    {
        const QSignalBlocker blocker(socket);
        abortConnecting();
    }
    dropConnecting();
    onConnected();
    if (!early.isEmpty())
        onReceived(early);
    onReceivedEof();
    onPeerGone();
}

void SocketFlowPrivate::dropConnecting()
{
    m_connectTimer.stop();
    if (QIODevice *socket = m_connecting.data()) {
        m_connecting = nullptr;
        QObject::disconnect(socket, nullptr, q_ptr, nullptr);
        socket->deleteLater(); // we may be inside one of its signals
    }
}

bool SocketFlowPrivate::waitForQtFlush(QIODevice *socket)
{
    if (socket->bytesToWrite() == 0)
        return false;
    if (!std::exchange(m_waitingForQtFlush, true)) {
        QObject::connect(socket, &QIODevice::bytesWritten, q_ptr, [this, socket] {
            if (socket->bytesToWrite() == 0)
                takeOverSocket();
        });
    }
    return true;
}

void SocketFlowPrivate::takeOver(QIODevice *socket, qintptr descriptor)
{
    const QByteArray early = socket->readAll();
    const int dup = ::fcntl(int(descriptor), F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        fail(Error::fromErrno(errno, errorEndpoint()), true);
        return;
    }
    {
        // The Qt socket must not close or reset the connection, nor tell anyone it did.
        const QSignalBlocker blocker(socket);
        abortConnecting();
    }
    dropConnecting();
    adopt(dup, early);
}

void SocketFlowPrivate::adopt(int descriptor, const QByteArray &alreadyReceived)
{
    fd = descriptor;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    configureDescriptor();
    m_io.watch(fd, this);
    qCDebug(lcSocket) << q_ptr << "adopted descriptor" << int(fd) << currentLocalEndpoint() << "->"
                      << currentPeerEndpoint();
    onConnected();
    if (!alreadyReceived.isEmpty())
        onReceived(alreadyReceived);
}

void SocketFlowPrivate::transportWrite()
{
    m_io.setWriteEnabled(true);
}

void SocketFlowPrivate::transportWriteThrough()
{
    if (m_sending || fd < 0)
        return transportWrite();
    const quint64 turn = currentLoopTurn();
    if (turn == 0 || turn == m_writeThroughTurn)
        return transportWrite();
    m_writeThroughTurn = turn;
    qint64 offered = 0;
    const ssize_t n = sendQueued(&offered);
    if (n > 0) {
        const QScopedValueRollback<bool> sending(m_sending, true);
        consume(n);
    } else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        m_writeThroughError = errno;
    }
    // The rest, and any error: from the event loop, not from inside write().
    if (fd >= 0 && !sendQueue.empty())
        transportWrite();
}

// The kernel reports a reset once: if a write-through took it, the next wake-up of either
// direction must report it, or a read would take the closed connection for an end of stream.
// Returns false when the flow failed.
bool SocketFlowPrivate::takeWriteThroughError()
{
    const int error = std::exchange(m_writeThroughError, 0);
    if (error == 0 || fd < 0)
        return fd >= 0;
    if (error == EPIPE) {
        onPeerGone();
        return fd >= 0;
    }
    onFailed(Error::fromErrno(error, errorEndpoint()));
    return false;
}

void SocketFlowPrivate::transportSetReadEnabled(bool enabled)
{
    if (!m_readLease)
        m_io.setReadEnabled(enabled);
}

void SocketFlowPrivate::transportShutdownWrite()
{
    // The end of stream must not overtake a splice's bytes: it ends the splice instead.
    if (SpliceLease *lease = std::exchange(m_writeLease, nullptr))
        lease->spliceLost(this, false);
    m_finPending = true;
    m_io.setWriteEnabled(true);
}

void SocketFlowPrivate::transportAbort()
{
    if (fd >= 0)
        closeDescriptor(true);
    else if (m_connecting)
        abortConnecting();
    dropConnecting();
}

void SocketFlowPrivate::transportRelease()
{
    if (fd >= 0)
        closeDescriptor(false);
    dropConnecting();
}

// Leaving for another thread (before the move, in the old one): the old thread's reactor
// must not run this flow any more; the new thread's takes it over, with the same interest.
void SocketFlowPrivate::transportLeaveThread()
{
    loseLeases(true); // a splice runs in one thread
    m_io.detach();
    m_connectTimer.detach();
}

void SocketFlowPrivate::transportJoinThread()
{
    m_io.attach();
    m_connectTimer.attach();
}

void SocketFlowPrivate::ioFailed(int error)
{
    onFailed(Error::fromErrno(error, errorEndpoint()));
}

void SocketFlowPrivate::closeDescriptor(bool reset)
{
    loseLeases();
    m_io.reset(); // before close(): the number may be reused at once
    if (reset) {
        // A reset, not a FIN: the peer must not take a dropped connection for a complete one.
        const linger hard{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    ::close(fd);
    qCDebug(lcSocket) << q_ptr << (reset ? "reset" : "closed") << "descriptor" << int(fd);
    fd = -1;
}

void SocketFlowPrivate::ioReadable()
{
    if (!takeWriteThroughError())
        return;
    if (m_readLease)
        return m_readLease->spliceReady();
    // A few reads per wake-up while data keeps coming, then back to the event loop.
    for (int i = 0; i < 4 && fd >= 0 && wantsData(); ++i) {
        // Without a read waiting, no more than the read-ahead (or close()'s bound) is taken:
        // a reader who stops reading pushes back on its peer.
        const qint64 room = readRoom();
        const qint64 chunk = room < 0 ? m_readChunk : qBound<qint64>(1, room, m_readChunk);
        // A flow of small messages reads into the thread's scratch buffer and allocates what
        // arrived only (one allocation a message); a bulk flow reads into the buffer it hands
        // on (no copy). Readers may hold on to data, so a mostly empty buffer is never kept.
        const bool viaScratch = m_lastReadSmall && chunk <= MinReadChunk;
        QByteArray buffer;
        char *into;
        if (viaScratch) {
            static thread_local std::unique_ptr<char[]> scratch;
            if (!scratch)
                scratch.reset(new char[size_t(MinReadChunk)]);
            into = scratch.get();
        } else {
            buffer = QByteArray(chunk, Qt::Uninitialized);
            into = buffer.data();
        }
        const ssize_t n = ::recv(fd, into, size_t(chunk), 0);
        if (n > 0) {
            if (chunk == m_readChunk && n == chunk)
                m_readChunk = qMin(chunk * 2, MaxReadChunk);
            else if (chunk == m_readChunk && n < chunk / 4)
                m_readChunk = qMax(chunk / 2, MinReadChunk);
            m_lastReadSmall = n < chunk / 2;
            if (viaScratch || n < chunk / 2)
                buffer = QByteArray(into, qsizetype(n));
            else
                buffer.truncate(qsizetype(n));
            onReceived(std::move(buffer));
            if (n < chunk)
                return;
        } else if (n == 0) {
            m_io.setReadEnabled(false);
            onReceivedEof();
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            onFailed(Error::fromErrno(errno, errorEndpoint()));
            return;
        }
    }
}

ssize_t SocketFlowPrivate::sendQueued(qint64 *offered)
{
    iovec iov[MaxIov];
    int count = 0;
    *offered = 0;
    for (auto it = sendQueue.begin(); it != sendQueue.end() && count < MaxIov; ++it) {
        const qsizetype skip = it == sendQueue.begin() ? frontOffset : 0;
        iov[count].iov_base = const_cast<char *>(it->data.constData() + skip);
        iov[count].iov_len = size_t(it->data.size() - skip);
        *offered += qint64(iov[count].iov_len);
        ++count;
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = size_t(count);
    return ::sendmsg(fd, &message, MSG_NOSIGNAL);
}

void SocketFlowPrivate::ioWritable()
{
    if (m_writeLease && sendQueue.empty()) {
        if (takeWriteThroughError())
            m_writeLease->spliceReady(); // may delete this flow
        return;
    }
    const QScopedValueRollback<bool> sending(m_sending, true);
    if (!takeWriteThroughError())
        return;
    while (fd >= 0 && !sendQueue.empty()) {
        qint64 offered = 0;
        const ssize_t n = sendQueued(&offered);
        if (n >= 0) {
            consume(n);
            if (n < offered)
                return; // the kernel's buffer is full; wait for the next wake-up
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno == EPIPE) {
            onPeerGone();
            break;
        } else {
            onFailed(Error::fromErrno(errno, errorEndpoint()));
            return;
        }
    }
    if (fd < 0 || !sendQueue.empty())
        return;
    if (m_writeLease)
        return; // the queue is out: the splice goes on at the next wake-up (interest stays on)
    m_io.setWriteEnabled(false);
    if (m_finPending) {
        m_finPending = false;
        if (::shutdown(fd, SHUT_WR) != 0 && errno != ENOTCONN) {
            onFailed(Error::fromErrno(errno, errorEndpoint()));
            return;
        }
        onWriteShutdownDone();
    }
}

} // namespace rill
