// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "localflow_p.h"
#include "probe_p.h"
#include "reactor_p.h"
#include "tcpflow_p.h"

#include <rill/endpoint.h>
#include <rill/listener.h>

#include <QtCore/QEvent>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpServer>

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace rill {

Q_LOGGING_CATEGORY(lcListener, "rill.listener", QtWarningMsg)

namespace {

Error closedListenerError(const QString &endpoint)
{
    return Error(Error::Kind::Closed, QStringLiteral("the listener is closed"), endpoint);
}

// What every kind of listener shares: the queue between the kernel's accepted connections and
// accept() callers, accept deadlines, and the retry after accept errors. Past maxPending
// waiting connections, accepting pauses. A transport supplies makeFlow() and setAccepting().
// Tells a listener that it moves to another thread: sent in the old thread before the move
// (children get it too), so the listening descriptor can leave the old thread's reactor.
class ThreadChangeFollower final : public QObject
{
public:
    ThreadChangeFollower(QObject *parent, std::function<void()> leaving, std::function<void()> joined)
        : QObject(parent), m_leaving(std::move(leaving)), m_joined(std::move(joined))
    {
    }
    bool event(QEvent *event) override
    {
        if (event->type() == QEvent::ThreadChange) {
            m_leaving();
            QMetaObject::invokeMethod(this, m_joined, Qt::QueuedConnection);
        }
        return QObject::event(event);
    }

private:
    std::function<void()> m_leaving;
    std::function<void()> m_joined;
};

template<typename FlowType>
class ListenerCore : private IoHandler
{
public:
    using Result = FlowResult<FlowType>;

    explicit ListenerCore(QObject *q) : q(q)
    {
        new ThreadChangeFollower(q, [this] { io.detach(); }, [this] { io.attach(); });
    }
    virtual ~ListenerCore() = default;

    virtual FlowType *makeFlow(int fd) = 0;
    virtual void announce() = 0;                      // newConnection()
    virtual void announceError(const Error &error) = 0; // errorOccurred()

    QObject *q;

    // Read from any thread.
    mutable QMutex mutex;
    Error error;
    Endpoint endpoint;
    std::atomic<bool> listening{false};
    std::atomic<int> maxPending{30};
    std::atomic<int> pendingCount{0};

    Error lockedError() const
    {
        QMutexLocker locker(&mutex);
        return error;
    }
    void setError(const Error &e)
    {
        QMutexLocker locker(&mutex);
        error = e;
    }
    Endpoint lockedEndpoint() const
    {
        QMutexLocker locker(&mutex);
        return endpoint;
    }
    QString endpointText() const { return lockedEndpoint().toString(); }

    // The listener's thread only.
    struct Waiting
    {
        Promise<Result> promise;
        qint64 deadlineNs;
    };
    std::deque<int> descriptors;
    std::deque<Waiting> waiting;

    // Threads accepted flows are handed out in, in turn; set from any thread (under mutex).
    QList<QPointer<QThread>> workers;
    qsizetype nextWorker = 0;
    bool warnedNoWorker = false;
    QTimer *deadlineTimer = nullptr;
    QTimer *retryTimer = nullptr;
    int retryMs = 0; // > 0 during an accept error episode: the pause before the next try
    bool pausedForError = false;

    // The listening descriptor, on the thread's reactor: accept4() here for both kinds.
    // (QTcpServer only binds: after one accept error its socket engine keeps reporting that
    // error for every later EAGAIN, and pauses itself each time.)
    int listenFd = -1;
    IoWatch io;

    void startAccepting(int fd)
    {
        watchThread();
        listenFd = fd;
        io.watch(fd, this);
        listening = true;
        updateAccepting();
    }
    void stopAccepting()
    {
        io.reset();
        listenFd = -1;
    }
    void setAccepting(bool accepting) { io.setReadEnabled(accepting); }

    void ioReadable() override { acceptPending(); }
    void ioWritable() override {}
    void ioFailed(int e) override { acceptFailed(Error::fromErrno(e, endpointText())); }

    void acceptPending()
    {
        while (listenFd >= 0 && wantsAccepting()) {
            const int connection = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (connection >= 0) {
                push(connection);
                continue;
            }
            switch (errno) {
            case EINTR:
            case ECONNABORTED:
                continue;
            case EAGAIN:
#if EAGAIN != EWOULDBLOCK
            case EWOULDBLOCK:
#endif
                return;
            default:
                // Out of descriptors or memory, or anything unexpected: reading the notifier
                // again at once would spin. Report, pause, retry.
                acceptFailed(Error::fromErrno(errno, endpointText()));
                return;
            }
        }
    }

    bool wantsAccepting() const
    {
        return listening && !pausedForError && int(descriptors.size()) < maxPending;
    }
    void updateAccepting() { setAccepting(wantsAccepting()); }

    // A connection the kernel accepted: to the first accept() still waiting, or queued.
    void push(int fd)
    {
        retryMs = 0;
        while (!waiting.empty()) {
            Promise<Result> promise = std::move(waiting.front().promise);
            waiting.pop_front();
            if (promise.isCanceled())
                continue;
            promise.finish(Result::fromFlow(handOut(fd)));
            return;
        }
        descriptors.push_back(fd);
        pendingCount = int(descriptors.size());
        updateAccepting();
        announce();
    }

    // The flow for an accepted connection, in the next running worker thread if there are any
    // (round robin). It is made here and moved: the move takes its descriptor from this
    // thread's reactor to the worker's, as for any flow moved between threads.
    FlowType *handOut(int fd)
    {
        FlowType *flow = makeFlow(fd);
        if (QThread *worker = nextRunningWorker())
            flow->moveToThread(worker);
        return flow;
    }

    QThread *nextRunningWorker()
    {
        QMutexLocker locker(&mutex);
        const qsizetype count = workers.size();
        for (qsizetype i = 0; i < count; ++i) {
            QThread *thread = workers.at((nextWorker + i) % count);
            if (thread && thread->isRunning()) {
                nextWorker = (nextWorker + i + 1) % count;
                warnedNoWorker = false;
                return thread;
            }
        }
        if (count > 0 && !warnedNoWorker) {
            warnedNoWorker = true;
            qCWarning(lcListener).noquote()
                    << "none of the" << count << "worker threads of" << endpoint.toString()
                    << "is running: accepted flows stay in the listener's thread";
        }
        return nullptr;
    }

    void setWorkers(const QList<QThread *> &threads)
    {
        QMutexLocker locker(&mutex);
        workers.clear();
        for (QThread *thread : threads) {
            if (thread)
                workers.append(thread);
        }
        nextWorker = 0;
        warnedNoWorker = false;
    }

    QList<QThread *> lockedWorkers() const
    {
        QMutexLocker locker(&mutex);
        QList<QThread *> threads;
        for (const QPointer<QThread> &thread : workers) {
            if (thread)
                threads.append(thread.data());
        }
        return threads;
    }

    void accept(Promise<Result> promise, qint64 deadline)
    {
        if (!descriptors.empty()) {
            const int fd = descriptors.front();
            descriptors.pop_front();
            pendingCount = int(descriptors.size());
            promise.finish(Result::fromFlow(handOut(fd)));
        } else if (!listening) {
            promise.finish(Result::fromError(closedListenerError(endpointText())));
        } else if (deadline != FlowPrivate::NoDeadline && deadline <= nowNs()) {
            promise.finish(Result::fromError(timedOut()));
        } else {
            waiting.push_back(Waiting{std::move(promise), deadline});
            if (deadline != FlowPrivate::NoDeadline)
                rearmDeadline();
        }
        updateAccepting();
    }

    // Accepting failed (out of descriptors, say): every waiting accept() gets the error, which
    // is announced once per episode; then accepting pauses and is tried again later, since no
    // event says when descriptors are free again.
    void acceptFailed(const Error &e)
    {
        const bool newEpisode = retryMs == 0;
        retryMs = newEpisode ? 100 : qMin(retryMs * 2, 1000);
        pausedForError = true;
        setError(e);
        setAccepting(false);
        if (newEpisode)
            qCWarning(lcListener).noquote() << "accepting on" << endpointText()
                                            << "failed:" << errorMessage(e)
                                            << "- retrying until it works";
        if (!retryTimer) {
            retryTimer = new QTimer(q);
            retryTimer->setSingleShot(true);
            QObject::connect(retryTimer, &QTimer::timeout, q, [this] { retry(); });
        }
        retryTimer->start(retryMs);
        std::deque<Waiting> failed = std::exchange(waiting, {});
        if (newEpisode)
            announceError(e);
        for (Waiting &w : failed)
            w.promise.finish(Result::fromError(e));
    }

    // Accepting is switched on again; the episode ends with the first connection accepted
    // (push), or goes on with the next failure, which doubles the pause.
    void retry()
    {
        pausedForError = false;
        updateAccepting();
    }

    Error timedOut() const
    {
        return Error(Error::Kind::TimedOut, QStringLiteral("no connection before the deadline"),
                     endpointText());
    }

    void rearmDeadline()
    {
        qint64 due = FlowPrivate::NoDeadline;
        for (const Waiting &w : waiting)
            due = qMin(due, w.deadlineNs);
        if (due == FlowPrivate::NoDeadline) {
            if (deadlineTimer)
                deadlineTimer->stop();
            return;
        }
        if (!deadlineTimer) {
            deadlineTimer = new QTimer(q);
            deadlineTimer->setSingleShot(true);
            deadlineTimer->setTimerType(Qt::PreciseTimer);
            QObject::connect(deadlineTimer, &QTimer::timeout, q, [this] { expire(); });
        }
        deadlineTimer->start(int(qBound(qint64(0), (due - nowNs() + 999999) / 1000000,
                                        qint64(std::numeric_limits<int>::max()))));
    }

    void expire()
    {
        const qint64 now = nowNs();
        std::deque<Waiting> late;
        for (auto it = waiting.begin(); it != waiting.end();) {
            if (it->deadlineNs <= now) {
                late.push_back(std::move(*it));
                it = waiting.erase(it);
            } else {
                ++it;
            }
        }
        rearmDeadline();
        for (Waiting &w : late)
            w.promise.finish(Result::fromError(timedOut()));
    }

    void close()
    {
        listening = false;
        stopAccepting();
        for (int fd : std::exchange(descriptors, {}))
            ::close(fd);
        pendingCount = 0;
        retryMs = 0;
        pausedForError = false;
        if (retryTimer)
            retryTimer->stop();
        if (deadlineTimer)
            deadlineTimer->stop();
        const Error closed = closedListenerError(endpointText());
        for (Waiting &w : std::exchange(waiting, {}))
            w.promise.finish(Result::fromError(closed));
    }

    void setMaxPending(int count)
    {
        maxPending = qMax(1, count);
        runHere([this] { updateAccepting(); }, [] {});
    }

    // From another thread, posted to the listener's. When the listener's thread finishes
    // first, nothing would run the call there: it is given up (dropped()) at the thread's end,
    // or at once when it comes after.
    template<typename Op, typename Dropped>
    void runHere(Op &&op, Dropped &&dropped)
    {
        if (QThread::currentThread() == q->thread()) {
            watchThread();
            op();
            return;
        }
        QMutexLocker locker(&postedMutex);
        QThread *thread = q->thread();
        if (threadEnded || !thread || thread->isFinished()) {
            locker.unlock();
            dropped();
            return;
        }
        auto call = std::make_shared<PostedCall>();
        call->dropped = std::forward<Dropped>(dropped);
        auto it = posted.insert(posted.end(), call);
        locker.unlock();
        QMetaObject::invokeMethod(
                q,
                [this, call, it, op = std::forward<Op>(op)]() mutable {
                    {
                        QMutexLocker locker(&postedMutex);
                        if (call->done)
                            return;
                        call->done = true;
                        posted.erase(it);
                    }
                    watchThread();
                    op();
                },
                Qt::QueuedConnection);
    }

    struct PostedCall
    {
        std::function<void()> dropped;
        bool done = false; // under postedMutex
    };
    QMutex postedMutex;
    std::list<std::shared_ptr<PostedCall>> posted;
    bool threadEnded = false; // under postedMutex
    QThread *watchedThread = nullptr;
    QMetaObject::Connection threadFinished;

    virtual void closeListener() = 0; // the public close(), in the listener's thread

    // When the listener's thread finishes with the listener alive, nothing would ever resolve
    // a waiting accept(): they end Aborted, the listener closes, later calls give up at once.
    void watchThread()
    {
        QThread *thread = q->thread();
        if (thread == watchedThread)
            return;
        QObject::disconnect(threadFinished);
        watchedThread = thread;
        threadFinished = QObject::connect(
                thread, &QThread::finished, q,
                [this] {
                    if (q->thread() != QThread::currentThread())
                        return; // moved away meanwhile
                    const Error ended(Error::Kind::Aborted,
                                      QStringLiteral("the listener's thread finished"),
                                      endpointText());
                    for (Waiting &w : std::exchange(waiting, {}))
                        w.promise.finish(Result::fromError(ended));
                    closeListener();
                    std::list<std::shared_ptr<PostedCall>> dropped;
                    {
                        QMutexLocker locker(&postedMutex);
                        threadEnded = true;
                        dropped = std::exchange(posted, {});
                        for (auto &call : dropped)
                            call->done = true;
                    }
                    for (auto &call : dropped)
                        call->dropped();
                },
                Qt::DirectConnection);
    }

    QFuture<Result> acceptFromAnyThread(QDeadlineTimer deadline)
    {
        auto promise = std::make_shared<Promise<Result>>();
        QFuture<Result> future = promise->future();
        const qint64 due = deadlineNs(deadline);
        runHere([this, promise, due] { accept(std::move(*promise), due); },
                [this, promise] {
                    promise->finish(Result::fromError(
                            Error(Error::Kind::Aborted,
                                  QStringLiteral("the listener's thread finished"),
                                  endpointText())));
                });
        return future;
    }
};

} // namespace

// ---------------------------------------------------------------------------------------------

class TcpListenerPrivate final : public ListenerCore<TcpFlow>
{
public:
    explicit TcpListenerPrivate(TcpListener *q) : ListenerCore(q), q_ptr(q) {}

    TcpListener *q_ptr;
    QTcpServer server; // binds and listens; accepting is ours
    QHostAddress address; // under mutex
    quint16 port = 0;

    TcpFlow *makeFlow(int fd) override
    {
        auto *d = new TcpFlowPrivate;
        auto *flow = new TcpFlow(*d, nullptr);
        d->adoptAccepted(fd);
        return flow;
    }
    void announce() override { Q_EMIT q_ptr->newConnection(); }
    void announceError(const Error &e) override { Q_EMIT q_ptr->errorOccurred(e); }
    void closeListener() override { q_ptr->close(); }
};

TcpListener::TcpListener(QObject *parent) : QObject(parent), d_rill(new TcpListenerPrivate(this))
{
    probe::addListener(this);
}

TcpListener::~TcpListener()
{
    probe::removeListener(this);
    Q_D(TcpListener);
    d->close();
    d->server.close();
}

bool TcpListener::listen(const QHostAddress &address, quint16 port)
{
    Q_D(TcpListener);
    const QString wanted = Endpoint::tcp(address.toString(), port).toString();
    if (d->server.isListening()) {
        d->setError(Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"), wanted));
        return false;
    }
    if (!d->server.listen(address, port)) {
        d->setError(socketError(d->server.serverError(), d->server.errorString(), wanted));
        return false;
    }
    {
        QMutexLocker locker(&d->mutex);
        d->error = Error();
        d->address = d->server.serverAddress();
        d->port = d->server.serverPort();
        d->endpoint = Endpoint::tcp(d->address.toString(), d->port);
    }
    d->server.pauseAccepting(); // for good: the core accepts on the descriptor
    d->startAccepting(int(d->server.socketDescriptor()));
    Q_EMIT listeningChanged(true);
    return true;
}

void TcpListener::close()
{
    Q_D(TcpListener);
    if (!d->server.isListening())
        return;
    d->close();
    d->server.close();
    Q_EMIT listeningChanged(false);
}

bool TcpListener::isListening() const { return d_func()->listening; }
Endpoint TcpListener::endpoint() const { return d_func()->lockedEndpoint(); }
Error TcpListener::error() const { return d_func()->lockedError(); }
int TcpListener::pendingConnections() const { return d_func()->pendingCount; }
int TcpListener::maxPendingConnections() const { return d_func()->maxPending; }
void TcpListener::setMaxPendingConnections(int count) { d_func()->setMaxPending(count); }
void TcpListener::setWorkerThreads(const QList<QThread *> &threads) { d_func()->setWorkers(threads); }
QList<QThread *> TcpListener::workerThreads() const { return d_func()->lockedWorkers(); }

QHostAddress TcpListener::serverAddress() const
{
    QMutexLocker locker(&d_func()->mutex);
    return d_func()->address;
}

quint16 TcpListener::serverPort() const
{
    QMutexLocker locker(&d_func()->mutex);
    return d_func()->port;
}

QFuture<FlowResult<TcpFlow>> TcpListener::accept(QDeadlineTimer deadline)
{
    return d_func()->acceptFromAnyThread(deadline);
}

// ---------------------------------------------------------------------------------------------

class LocalListenerPrivate final : public ListenerCore<LocalFlow>
{
public:
    explicit LocalListenerPrivate(LocalListener *q) : ListenerCore(q), q_ptr(q) {}

    LocalListener *q_ptr;
    QString name; // under mutex
    QString path; // under mutex
    int fd = -1;
    ino_t inode = 0; // of our socket file, so close() removes only ours

    LocalFlow *makeFlow(int connection) override
    {
        auto *d = new LocalFlowPrivate;
        auto *flow = new LocalFlow(*d, nullptr);
        d->accepted = true;
        {
            QMutexLocker locker(&mutex);
            d->serverName = name;
            d->fullServerName = path;
        }
        d->adopt(connection);
        return flow;
    }
    void announce() override { Q_EMIT q_ptr->newConnection(); }
    void announceError(const Error &e) override { Q_EMIT q_ptr->errorOccurred(e); }
    void closeListener() override { q_ptr->close(); }

    bool checkPath(const QByteArray &native);
    bool bindPrivately(const QByteArray &native);
    void fail(int errnoValue) { setError(Error::fromErrno(errnoValue, endpointText())); }
};

// Refuses what must not be replaced, removes a stale socket file.
bool LocalListenerPrivate::checkPath(const QByteArray &native)
{
    struct stat info{};
    if (::lstat(native.constData(), &info) != 0) {
        if (errno == ENOENT)
            return true;
        fail(errno);
        return false;
    }
    if (!S_ISSOCK(info.st_mode)) {
        setError(Error(Error::Kind::AddressInUse,
                      QStringLiteral("the path exists and is not a socket; not replacing it"),
                      endpointText()));
        return false;
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        fail(errno);
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, native.constData(), size_t(native.size()));
    const int rc = ::connect(probe, reinterpret_cast<sockaddr *>(&address), sizeof address);
    const int connectErrno = errno;
    ::close(probe);
    if (rc == 0) {
        setError(Error(Error::Kind::AddressInUse,
                      QStringLiteral("another process is listening on this socket"), endpointText()));
        return false;
    }
    if (connectErrno != ECONNREFUSED) {
        fail(connectErrno);
        return false;
    }
    // Stale: nobody listens on it.
    if (::unlink(native.constData()) != 0 && errno != ENOENT) {
        fail(errno);
        return false;
    }
    return true;
}

// Binds at the path itself: bind() never replaces an existing file, so nothing is clobbered.
// The file is made owner-only before listen(), and until listen() nobody can connect, so no
// one gets in while the permissions are still wide.
bool LocalListenerPrivate::bindPrivately(const QByteArray &native)
{
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(errno);
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, native.constData(), size_t(native.size()));
    bool bound = false;
    struct stat info{};
    if ((bound = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0)
        && ::chmod(native.constData(), S_IRUSR | S_IWUSR) == 0
        && ::stat(native.constData(), &info) == 0 && ::listen(fd, 128) == 0) {
        inode = info.st_ino;
        return true;
    }
    const int saved = errno;
    if (saved == EADDRINUSE)
        setError(Error(Error::Kind::AddressInUse,
                      QStringLiteral("the path was created by someone else meanwhile"), endpointText()));
    else
        fail(saved);
    ::close(fd);
    fd = -1;
    if (bound)
        ::unlink(native.constData());
    return false;
}

LocalListener::LocalListener(QObject *parent)
    : QObject(parent), d_rill(new LocalListenerPrivate(this))
{
    probe::addListener(this);
}

LocalListener::~LocalListener()
{
    probe::removeListener(this);
    close();
}

bool LocalListener::listen(const QString &name)
{
    Q_D(LocalListener);
    if (d->fd >= 0) {
        d->setError(Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"),
                          d->endpointText()));
        return false;
    }
    if (name.isEmpty()) {
        d->setError(Error(Error::Kind::InvalidArgument, QStringLiteral("the socket name is empty")));
        return false;
    }
    // As QLocalServer: a name without a slash lives in the temporary folder.
    const QString fullPath = name.startsWith(QLatin1Char('/'))
            ? name
            : QDir::cleanPath(QDir::tempPath()) + QLatin1Char('/') + name;
    {
        QMutexLocker locker(&d->mutex);
        d->endpoint = Endpoint::local(fullPath);
    }
    const QByteArray native = QFile::encodeName(fullPath);
    sockaddr_un address{};
    if (native.size() >= qsizetype(sizeof address.sun_path)) {
        d->setError(Error(Error::Kind::InvalidArgument,
                          QStringLiteral("the socket path is too long (%1 bytes, at most %2)")
                                  .arg(native.size())
                                  .arg(sizeof address.sun_path - 1),
                          d->endpointText()));
        return false;
    }
    if (!d->checkPath(native) || !d->bindPrivately(native))
        return false;
    {
        QMutexLocker locker(&d->mutex);
        d->error = Error();
        d->name = name;
        d->path = fullPath;
    }
    d->startAccepting(d->fd);
    Q_EMIT listeningChanged(true);
    return true;
}

void LocalListener::close()
{
    Q_D(LocalListener);
    if (d->fd < 0)
        return;
    d->stopAccepting();
    ::close(d->fd);
    d->fd = -1;
    // Remove the name only if it is still our socket.
    const QByteArray native = QFile::encodeName(fullServerName());
    struct stat info{};
    if (::lstat(native.constData(), &info) == 0 && info.st_ino == d->inode)
        ::unlink(native.constData());
    d->close();
    Q_EMIT listeningChanged(false);
}

bool LocalListener::isListening() const { return d_func()->listening; }
Endpoint LocalListener::endpoint() const { return d_func()->lockedEndpoint(); }
Error LocalListener::error() const { return d_func()->lockedError(); }
int LocalListener::pendingConnections() const { return d_func()->pendingCount; }
int LocalListener::maxPendingConnections() const { return d_func()->maxPending; }
void LocalListener::setMaxPendingConnections(int count) { d_func()->setMaxPending(count); }
void LocalListener::setWorkerThreads(const QList<QThread *> &threads) { d_func()->setWorkers(threads); }
QList<QThread *> LocalListener::workerThreads() const { return d_func()->lockedWorkers(); }

QString LocalListener::serverName() const
{
    QMutexLocker locker(&d_func()->mutex);
    return d_func()->name;
}

QString LocalListener::fullServerName() const
{
    QMutexLocker locker(&d_func()->mutex);
    return d_func()->path;
}

QFuture<FlowResult<LocalFlow>> LocalListener::accept(QDeadlineTimer deadline)
{
    return d_func()->acceptFromAnyThread(deadline);
}

} // namespace rill
