// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "stdioflow.h"

#include <QtCore/QSocketNotifier>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using rill::Error;
using rill::Flow;

namespace {

// The pair's buffer between the two ends: the stand-in for a pipe's capacity.
constexpr qint64 PairBufferSize = 256 * 1024;

// Descriptors whose flags we changed, so they can be put back at exit or from a signal handler
// (O_NONBLOCK belongs to the open file, which other processes may share).
struct SavedFlags
{
    int fd = -1;
    int flags = 0;
};
SavedFlags savedFlags[2];

void restoreFlags(int fd)
{
    for (SavedFlags &saved : savedFlags) {
        if (saved.fd == fd && fd >= 0) {
            ::fcntl(saved.fd, F_SETFL, saved.flags);
            saved.fd = -1;
        }
    }
}

bool sameFile(int fd, const struct stat &st)
{
    struct stat other{};
    return ::fstat(fd, &other) == 0 && other.st_dev == st.st_dev && other.st_ino == st.st_ino;
}

IoMode prepare(int fd, bool output)
{
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        return IoMode::Blocking; // the first read or write reports why
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        // A terminal can be watched, but it is shared with the shell: leave its flags alone and
        // only read after the notifier said so. Writes to it may block, as they do for files.
        return !output && ::isatty(fd) ? IoMode::Notifier : IoMode::Blocking;
    }
    // stderr on the same pipe would turn non-blocking too, and could lose messages.
    if (output && sameFile(STDERR_FILENO, st))
        return IoMode::Blocking;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0)
        return IoMode::Blocking;
    if (!(flags & O_NONBLOCK)) {
        for (SavedFlags &saved : savedFlags) {
            if (saved.fd < 0) {
                saved = {fd, flags};
                break;
            }
        }
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    if (!output && S_ISFIFO(st.st_mode)) {
        // A bigger pipe lets one read take a whole chunk (the default pipe holds 64 KiB).
        // Only a hint: refused above the system's limit, and harmless to the writer.
        ::fcntl(fd, F_SETPIPE_SZ, int(StdioFlow::ChunkSize * 4));
    }
    return IoMode::Notifier;
}

} // namespace

// Reads the input descriptor into the inner end of the pair, one chunk at a time; reads again
// only once the pair has accepted the previous chunk.
class FdReader : public QObject
{
public:
    FdReader(StdioFlow *owner, int fd, IoMode mode, Flow *sink)
        : QObject(owner), m_owner(owner), m_fd(fd), m_mode(mode), m_sink(sink)
    {}

    void start()
    {
        if (m_mode == IoMode::Notifier) {
            // A terminal stays blocking (it is the shell's too): one read per notification.
            const int flags = ::fcntl(m_fd, F_GETFL);
            m_oneReadPerWakeup = flags < 0 || !(flags & O_NONBLOCK);
            m_notifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Read, this);
            connect(m_notifier, &QSocketNotifier::activated, this, [this] { pump(); });
        } else {
            schedule();
        }
    }

private:
    // In blocking mode, this many chunks per turn of the event loop, so the other side runs too.
    static constexpr int MaxReadsPerTurn = 8;

    void schedule() { QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection); }

    void stop()
    {
        m_done = true;
        if (m_notifier)
            m_notifier->setEnabled(false);
    }

    // The pair's answer to a write: Ok, or it is gone (the other end was aborted): stop.
    bool accepted(const rill::WriteResult &result)
    {
        if (result.isOk())
            return true;
        stop();
        return false;
    }

    void pump()
    {
        if (m_done || m_waiting)
            return;
        for (int i = 0; i < MaxReadsPerTurn; ++i) {
            QByteArray buffer(StdioFlow::ChunkSize, Qt::Uninitialized);
            const ssize_t n = ::read(m_fd, buffer.data(), size_t(buffer.size()));
            if (n > 0) {
                // Keep the allocation only when it is mostly used: it travels on to the peer.
                if (n < StdioFlow::ChunkSize / 2)
                    buffer = QByteArray(buffer.constData(), qsizetype(n));
                else
                    buffer.truncate(qsizetype(n));
                QFuture<rill::WriteResult> write = m_sink->write(buffer);
                if (!write.isFinished()) {
                    // The pair is full: read no more until it takes this chunk.
                    m_waiting = true;
                    if (m_notifier)
                        m_notifier->setEnabled(false);
                    write.then(this, [this](const rill::WriteResult &result) {
                        m_waiting = false;
                        if (!accepted(result))
                            return;
                        if (m_notifier)
                            m_notifier->setEnabled(true);
                        else
                            schedule();
                    });
                    return;
                }
                if (!accepted(write.result()))
                    return;
                if (m_mode == IoMode::Notifier && (n < StdioFlow::ChunkSize || m_oneReadPerWakeup))
                    return; // drained for now; the notifier says when there is more
                continue;
            }
            if (n == 0) {
                stop();
                m_sink->shutdown(Flow::Direction::Write);
                return;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            const int error = errno;
            stop();
            m_owner->fail(Error::fromErrno(error, QStringLiteral("stdin")));
            return;
        }
        if (m_mode == IoMode::Blocking)
            schedule();
    }

    StdioFlow *m_owner;
    int m_fd;
    IoMode m_mode;
    Flow *m_sink;
    QSocketNotifier *m_notifier = nullptr;
    bool m_waiting = false;
    bool m_done = false;
    bool m_oneReadPerWakeup = false;
};

// Writes what comes out of the inner end of the pair to the output descriptor; asks the pair
// for the next segment only once the descriptor took the previous one.
class FdWriter : public QObject
{
public:
    FdWriter(StdioFlow *owner, int fd, IoMode mode, Flow *source)
        : QObject(owner), m_owner(owner), m_fd(fd), m_mode(mode), m_source(source)
    {}

    void start()
    {
        if (m_mode == IoMode::Notifier) {
            m_notifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Write, this);
            m_notifier->setEnabled(false);
            connect(m_notifier, &QSocketNotifier::activated, this, [this] {
                if (flush())
                    readNext();
            });
        }
        readNext();
    }

private:
    void readNext()
    {
        // A loop, not a recursion, while segments are ready at once.
        while (!m_done) {
            QFuture<rill::ReadResult> next = m_source->read();
            if (!next.isFinished()) {
                next.then(this, [this](const rill::ReadResult &result) {
                    if (take(result))
                        readNext();
                });
                return;
            }
            if (!take(next.result()))
                return;
        }
    }

    // Returns true when the segment is written and the next one may come.
    bool take(const rill::ReadResult &result)
    {
        if (m_done)
            return false;
        if (result.isData()) {
            m_buffer = result.data();
            m_offset = 0;
            return flush();
        }
        m_done = true;
        if (result.isEof())
            closeOutput();
        // An error: the other end was aborted, and whoever aborted it reports why.
        m_owner->finishOutput();
        return false;
    }

    bool flush()
    {
        while (!m_done && m_offset < m_buffer.size()) {
            const ssize_t n = ::write(m_fd, m_buffer.constData() + m_offset,
                                      size_t(m_buffer.size() - m_offset));
            if (n >= 0) {
                m_offset += n;
                continue;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (m_notifier) {
                    m_notifier->setEnabled(true);
                    return false;
                }
                // Non-blocking although we did not make it so: wait here, as blocking mode does.
                pollfd ready{m_fd, POLLOUT, 0};
                ::poll(&ready, 1, -1);
                continue;
            }
            const int error = errno;
            m_done = true;
            m_owner->fail(Error::fromErrno(error, QStringLiteral("stdout")));
            m_owner->finishOutput();
            return false;
        }
        if (m_notifier)
            m_notifier->setEnabled(false);
        m_buffer.clear();
        return !m_done;
    }

    // The end of stream for whoever reads our output. The descriptor stays valid (on
    // /dev/null), so nothing else can be opened under its number by accident.
    void closeOutput()
    {
        if (m_notifier) {
            m_notifier->setEnabled(false);
            m_notifier->deleteLater();
            m_notifier = nullptr;
        }
        restoreFlags(m_fd);
        ::shutdown(m_fd, SHUT_WR); // a socket shared with stdin still gets its FIN
        const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            ::dup2(null, m_fd);
            ::close(null);
        } else {
            ::close(m_fd);
        }
    }

    StdioFlow *m_owner;
    int m_fd;
    IoMode m_mode;
    Flow *m_source;
    QSocketNotifier *m_notifier = nullptr;
    QByteArray m_buffer;
    qsizetype m_offset = 0;
    bool m_done = false;
};

StdioFlow::StdioFlow(int inputFd, int outputFd, QObject *parent) : QObject(parent)
{
    rill::PipeFlow::Pair pair = rill::PipeFlow::createPair(PairBufferSize);
    m_outer = std::move(pair.first);
    m_inner = std::move(pair.second);
    // What the input may have read ahead of the peer: one chunk queued, one in the pair.
    m_inner->setHighWaterMark(ChunkSize);
    m_reader = new FdReader(this, inputFd, prepare(inputFd, false), m_inner.get());
    m_writer = new FdWriter(this, outputFd, prepare(outputFd, true), m_inner.get());
}

StdioFlow::~StdioFlow() = default;

rill::Flow *StdioFlow::flow() const
{
    return m_outer.get();
}

void StdioFlow::start()
{
    m_reader->start();
    m_writer->start();
}

void StdioFlow::fail(const Error &error)
{
    if (!m_error.isNone())
        return;
    m_error = error;
    // A reset on the pair: whoever uses flow() sees the failure and stops.
    m_inner->abort();
    Q_EMIT failed(error);
}

void StdioFlow::finishOutput()
{
    if (m_outputDone)
        return;
    m_outputDone = true;
    Q_EMIT outputDone();
}

void StdioFlow::restoreDescriptorFlags()
{
    for (SavedFlags &saved : savedFlags) {
        if (saved.fd >= 0) {
            ::fcntl(saved.fd, F_SETFL, saved.flags);
            saved.fd = -1;
        }
    }
}
