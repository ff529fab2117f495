// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/descriptorflow.h>

#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QSocketNotifier>

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace rill {

Q_LOGGING_CATEGORY(lcDescriptor, "rill.descriptor", QtWarningMsg)

namespace {

// How a descriptor is driven: by a QSocketNotifier (pipes, sockets, terminals), or with plain
// blocking calls where readiness means nothing (regular files, /dev/null: poll() always says
// ready, and reads and writes there do not wait for a peer).
enum class IoMode { Notifier, Blocking };

// Descriptors whose flags a flow changed, so that they can be put back when the direction ends,
// at exit or from a signal handler (O_NONBLOCK belongs to the open file, which other processes
// may share). Plain atomics: the signal handler may not lock.
struct SavedFlags
{
    std::atomic<int> fd{-1};
    std::atomic<int> flags{0};
};
SavedFlags savedFlags[16];

void saveFlags(int fd, int flags)
{
    for (SavedFlags &saved : savedFlags) {
        // Claimed with -2 first, so that a signal handler never sees the number before its
        // flags.
        int free = -1;
        if (!saved.fd.compare_exchange_strong(free, -2, std::memory_order_acq_rel))
            continue;
        saved.flags.store(flags, std::memory_order_relaxed);
        saved.fd.store(fd, std::memory_order_release);
        return;
    }
    qCWarning(lcDescriptor) << "too many descriptors to remember the flags of; fd" << fd
                            << "stays non-blocking";
}

void restoreFlags(int fd)
{
    for (SavedFlags &saved : savedFlags) {
        int expected = fd;
        if (fd >= 0 && saved.fd.load(std::memory_order_acquire) == fd) {
            ::fcntl(fd, F_SETFL, saved.flags.load(std::memory_order_relaxed));
            saved.fd.compare_exchange_strong(expected, -1, std::memory_order_acq_rel);
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
    if (output && fd != STDERR_FILENO && sameFile(STDERR_FILENO, st))
        return IoMode::Blocking;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0)
        return IoMode::Blocking;
    if (!(flags & O_NONBLOCK)) {
        saveFlags(fd, flags);
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    if (!output && S_ISFIFO(st.st_mode)) {
        // A bigger pipe lets one read take a whole chunk (the default pipe holds 64 KiB).
        // Only a hint: refused above the system's limit, and harmless to the writer.
        ::fcntl(fd, F_SETPIPE_SZ, int(DescriptorFlow::ChunkSize * 4));
    }
    return IoMode::Notifier;
}

// Gives up a descriptor: closed, or for a standard one replaced by /dev/null, so that its
// number stays taken and nothing opened later lands on it.
void releaseDescriptor(int fd)
{
    if (fd < 0)
        return;
    restoreFlags(fd);
    if (fd > STDERR_FILENO) {
        ::close(fd);
        return;
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, fd);
        ::close(null);
    } else {
        ::close(fd);
    }
}

class DescriptorTransport final : public Transport
{
public:
    // Reads (in blocking mode) or writes per turn of the event loop, so the other side runs too.
    static constexpr int MaxCallsPerTurn = 8;
    static constexpr int MaxIov = 64;

    DescriptorTransport(int readFd, int writeFd, QString readName, QString writeName,
                        QString transportName)
        : m_readFd(readFd),
          m_writeFd(writeFd),
          m_readName(std::move(readName)),
          m_writeName(std::move(writeName)),
          m_transportName(std::move(transportName))
    {
    }

    ~DescriptorTransport() override
    {
        delete m_context.data();
        delete m_readNotifier.data();
        delete m_writeNotifier.data();
        releaseDescriptors();
    }

    QString name() const override { return m_transportName; }
    QString peerName() const override
    {
        return m_readName == m_writeName ? m_readName : m_readName + QLatin1Char('/') + m_writeName;
    }

    void start() override
    {
        m_context = new QObject(flow());
        const bool oneDescriptor = m_readFd >= 0 && m_readFd == m_writeFd;
        if (m_readFd >= 0) {
            m_readMode = prepare(m_readFd, false);
            if (m_readMode == IoMode::Notifier) {
                // A terminal stays blocking (it is the shell's too): one read per notification.
                const int flags = ::fcntl(m_readFd, F_GETFL);
                m_oneReadPerWakeup = flags < 0 || !(flags & O_NONBLOCK);
                m_readNotifier = new QSocketNotifier(qintptr(m_readFd), QSocketNotifier::Read,
                                                     flow());
                m_readNotifier->setEnabled(false);
                QObject::connect(m_readNotifier.data(), &QSocketNotifier::activated,
                                 m_context.data(), [this] { readInput(); });
            }
        }
        if (m_writeFd >= 0) {
            m_writeMode = oneDescriptor ? m_readMode : prepare(m_writeFd, true);
            if (m_writeMode == IoMode::Notifier) {
                m_writeNotifier = new QSocketNotifier(qintptr(m_writeFd), QSocketNotifier::Write,
                                                      flow());
                m_writeNotifier->setEnabled(false);
                QObject::connect(m_writeNotifier.data(), &QSocketNotifier::activated,
                                 m_context.data(), [this] { writeOutput(); });
            }
        }
        qCDebug(lcDescriptor) << flow() << "reading" << m_readName << "writing" << m_writeName;
        opened();
    }

    void setReadEnabled(bool enabled) override
    {
        if (m_readFd < 0 || m_inputDone) {
            if (enabled && m_readFd < 0)
                later([this] { endInput(); }); // no read side: nothing will ever come
            return;
        }
        if (m_readNotifier)
            m_readNotifier->setEnabled(enabled);
        else if (enabled)
            scheduleRead();
    }

    void startWriting() override
    {
        if (m_writeNotifier)
            m_writeNotifier->setEnabled(true);
        else
            scheduleWrite();
    }

    void shutdownWrite() override
    {
        m_finPending = true;
        scheduleWrite();
    }

    void abort() override
    {
        stop();
        releaseDescriptors();
    }

    void release() override
    {
        stop();
        releaseDescriptors();
    }

private:
    template<typename F>
    void later(F &&f)
    {
        QMetaObject::invokeMethod(
                m_context.data(),
                [this, f = std::forward<F>(f)] {
                    if (!m_done)
                        f();
                },
                Qt::QueuedConnection);
    }

    void stop()
    {
        m_done = true;
        dropNotifier(m_readNotifier);
        dropNotifier(m_writeNotifier);
    }

    // Off before its descriptor is closed; deleted later, as we may be inside its signal.
    static void dropNotifier(QPointer<QSocketNotifier> &notifier)
    {
        if (QSocketNotifier *n = notifier.data()) {
            n->setEnabled(false);
            n->deleteLater();
        }
        notifier = nullptr;
    }

    void releaseDescriptors()
    {
        if (m_writeFd >= 0 && m_writeFd != m_readFd)
            releaseDescriptor(m_writeFd);
        releaseDescriptor(m_readFd);
        m_readFd = m_writeFd = -1;
    }

    // ---- input

    void scheduleRead()
    {
        if (std::exchange(m_readScheduled, true))
            return;
        later([this] {
            m_readScheduled = false;
            readInput();
        });
    }

    void readInput()
    {
        for (int i = 0; i < MaxCallsPerTurn && !m_done && !m_inputDone && isReadEnabled(); ++i) {
            const qint64 room = readRoom(); // -1: any amount
            const qint64 chunk = room < 0 ? DescriptorFlow::ChunkSize
                                          : qMin(room, DescriptorFlow::ChunkSize);
            if (chunk <= 0)
                return;
            QByteArray buffer(chunk, Qt::Uninitialized);
            const ssize_t n = ::read(m_readFd, buffer.data(), size_t(chunk));
            if (n > 0) {
                // Keep the allocation only when it is mostly used: it travels on to the reader.
                if (n < chunk / 2)
                    buffer = QByteArray(buffer.constData(), qsizetype(n));
                else
                    buffer.truncate(qsizetype(n));
                received(buffer);
                if (m_readMode == IoMode::Notifier && (n < chunk || m_oneReadPerWakeup))
                    return; // drained for now; the notifier says when there is more
                continue;
            }
            if (n == 0)
                return endInput();
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            const int error = errno;
            qCDebug(lcDescriptor) << flow() << "reading" << m_readName << "failed:" << error;
            return failed(Error::fromErrno(error, m_readName));
        }
        if (m_readMode == IoMode::Blocking && !m_done && !m_inputDone && isReadEnabled())
            scheduleRead();
    }

    void endInput()
    {
        if (std::exchange(m_inputDone, true))
            return;
        if (m_readNotifier)
            m_readNotifier->setEnabled(false);
        receivedEndOfStream();
    }

    // ---- output

    void scheduleWrite()
    {
        if (std::exchange(m_writeScheduled, true))
            return;
        later([this] {
            m_writeScheduled = false;
            writeOutput();
        });
    }

    void writeOutput()
    {
        if (m_done || m_outputDone)
            return;
        if (m_writeFd < 0 && bytesToWrite() > 0) {
            m_outputDone = true;
            return writeFailed(Error(Error::Kind::InvalidArgument,
                                     QStringLiteral("no descriptor to write to"), m_writeName));
        }
        for (int i = 0; !m_done && bytesToWrite() > 0; ++i) {
            if (i == MaxCallsPerTurn) {
                if (m_writeNotifier)
                    return; // still enabled: it comes back at the next turn
                return scheduleWrite();
            }
            iovec iov[MaxIov];
            int count = 0;
            qint64 offered = 0;
            const QList<QByteArray> data = queuedData(0, 4 * DescriptorFlow::ChunkSize);
            for (const QByteArray &buffer : data) {
                if (count == MaxIov)
                    break;
                iov[count].iov_base = const_cast<char *>(buffer.constData());
                iov[count].iov_len = size_t(buffer.size());
                offered += buffer.size();
                ++count;
            }
            const ssize_t n = ::writev(m_writeFd, iov, count);
            if (n >= 0) {
                written(n); // may accept waiting writes: the loop goes on with them
                if (n < offered && m_writeNotifier)
                    return; // full; the notifier (still enabled) says when there is room
                continue;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (m_writeNotifier)
                    return;
                // Non-blocking although we did not make it so: wait here, as blocking mode does.
                pollfd ready{m_writeFd, POLLOUT, 0};
                ::poll(&ready, 1, -1);
                continue;
            }
            const int error = errno;
            qCDebug(lcDescriptor) << flow() << "writing" << m_writeName << "failed:" << error;
            m_outputDone = true;
            if (m_writeNotifier)
                m_writeNotifier->setEnabled(false);
            // EPIPE: the reader went away. The write side fails, counting what was not
            // written; reading goes on.
            return writeFailed(Error::fromErrno(error, m_writeName));
        }
        if (m_done)
            return;
        if (m_writeNotifier)
            m_writeNotifier->setEnabled(false);
        if (m_finPending && bytesToWrite() == 0)
            endOutput();
    }

    // The end of stream for whoever reads our output.
    void endOutput()
    {
        m_finPending = false;
        m_outputDone = true;
        if (m_writeFd >= 0) {
            dropNotifier(m_writeNotifier);
            // A socket (shared with the input, or not) gets its FIN.
            const bool finSent = ::shutdown(m_writeFd, SHUT_WR) == 0;
            if (m_writeFd == m_readFd && !finSent) {
                // One descriptor for both directions that is not a socket (a terminal): it
                // cannot be closed without ending the input too, so say so, not pretend.
                return writeFailed(Error(Error::Kind::Unsupported,
                                         QStringLiteral("cannot end one direction alone (one "
                                                        "descriptor for both, not a socket)"),
                                         m_writeName));
            }
            if (m_writeFd != m_readFd) {
                restoreFlags(m_writeFd);
                releaseDescriptor(m_writeFd); // a pipe's reader sees the end once it is closed
            }
            m_writeFd = -1;
        }
        qCDebug(lcDescriptor) << flow() << "end of output to" << m_writeName;
        endOfStreamSent();
    }

    int m_readFd;
    int m_writeFd;
    QString m_readName;
    QString m_writeName;
    QString m_transportName;
    IoMode m_readMode = IoMode::Blocking;
    IoMode m_writeMode = IoMode::Blocking;
    QPointer<QObject> m_context;
    QPointer<QSocketNotifier> m_readNotifier;
    QPointer<QSocketNotifier> m_writeNotifier;
    bool m_oneReadPerWakeup = false;
    bool m_readScheduled = false;
    bool m_writeScheduled = false;
    bool m_inputDone = false;
    bool m_outputDone = false;
    bool m_finPending = false;
    bool m_done = false;
};

QString descriptorName(int fd)
{
    return QStringLiteral("fd %1").arg(fd);
}

} // namespace

/*!
    \class rill::DescriptorFlow
    \brief Two Unix descriptors as one flow; see rill/descriptorflow.h.
*/

DescriptorFlow::DescriptorFlow(int readFd, int writeFd, QObject *parent)
    : DescriptorFlow(readFd, writeFd, descriptorName(readFd), descriptorName(writeFd),
                     QStringLiteral("descriptor"), parent)
{
}

DescriptorFlow::DescriptorFlow(int readFd, int writeFd, const QString &readName,
                               const QString &writeName, const QString &transportName,
                               QObject *parent)
    : TransportFlow(std::make_unique<DescriptorTransport>(readFd, writeFd, readName, writeName,
                                                          transportName),
                    parent)
{
}

DescriptorFlow::~DescriptorFlow() = default;

void DescriptorFlow::restoreDescriptorFlags()
{
    for (SavedFlags &saved : savedFlags) {
        const int fd = saved.fd.exchange(-1, std::memory_order_acq_rel);
        if (fd >= 0)
            ::fcntl(fd, F_SETFL, saved.flags.load(std::memory_order_relaxed));
    }
}

/*!
    \class rill::StdioFlow
    \brief Standard input and output as one flow; see rill/descriptorflow.h.
*/

StdioFlow::StdioFlow(QObject *parent)
    : DescriptorFlow(STDIN_FILENO, STDOUT_FILENO, QStringLiteral("stdin"),
                     QStringLiteral("stdout"), QStringLiteral("stdio"), parent)
{
}

StdioFlow::~StdioFlow() = default;

} // namespace rill
