// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "localflow_p.h"
#include "tcpflow_p.h"

#include <rill/endpoint.h>
#include <rill/listener.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QSocketNotifier>
#include <QtNetwork/QTcpServer>

#include <cerrno>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace rill {

namespace {

Error closedListenerError(const QString &endpoint)
{
    return Error(Error::Kind::Closed, QStringLiteral("the listener is closed"), endpoint);
}

// The queue between the kernel's accepted connections and accept() callers; the same for
// every kind of listener. Past maxPending waiting connections, accepting pauses.
template<typename FlowType>
class AcceptQueue
{
public:
    int maxPending = 30;
    std::deque<int> descriptors;
    std::deque<Promise<FlowResult<FlowType>>> waiting;

    // Returns true when the listener should pause accepting.
    template<typename Make>
    bool push(int fd, Make &&makeFlow)
    {
        if (!waiting.empty()) {
            Promise<FlowResult<FlowType>> promise = std::move(waiting.front());
            waiting.pop_front();
            promise.finish(FlowResult<FlowType>::fromFlow(makeFlow(fd)));
            return false;
        }
        descriptors.push_back(fd);
        return int(descriptors.size()) >= maxPending;
    }

    template<typename Make>
    QFuture<FlowResult<FlowType>> accept(bool listening, const QString &endpoint, Make &&makeFlow)
    {
        Promise<FlowResult<FlowType>> promise;
        QFuture<FlowResult<FlowType>> future = promise.future();
        if (!descriptors.empty()) {
            const int fd = descriptors.front();
            descriptors.pop_front();
            promise.finish(FlowResult<FlowType>::fromFlow(makeFlow(fd)));
        } else if (!listening) {
            promise.finish(FlowResult<FlowType>::fromError(closedListenerError(endpoint)));
        } else {
            waiting.push_back(std::move(promise));
        }
        return future;
    }

    void close(const QString &endpoint)
    {
        for (int fd : std::exchange(descriptors, {}))
            ::close(fd);
        for (auto &promise : std::exchange(waiting, {}))
            promise.finish(FlowResult<FlowType>::fromError(closedListenerError(endpoint)));
    }
};

class TcpServer final : public QTcpServer
{
public:
    std::function<void(qintptr)> onIncoming;

protected:
    void incomingConnection(qintptr descriptor) override { onIncoming(descriptor); }
};

} // namespace

// ---------------------------------------------------------------------------------------------

class TcpListenerPrivate
{
public:
    TcpServer server;
    AcceptQueue<TcpFlow> queue;
    Error error;
    QString endpoint;

    static TcpFlow *makeFlow(int fd)
    {
        auto *d = new TcpFlowPrivate;
        auto *flow = new TcpFlow(*d, nullptr);
        d->adoptAccepted(fd);
        return flow;
    }
};

TcpListener::TcpListener(QObject *parent) : QObject(parent), d(new TcpListenerPrivate)
{
    d->server.onIncoming = [this](qintptr fd) {
        if (d->queue.push(int(fd), &TcpListenerPrivate::makeFlow))
            d->server.pauseAccepting();
        if (!d->queue.descriptors.empty())
            Q_EMIT newConnection();
    };
}

TcpListener::~TcpListener()
{
    d->server.close();
    d->queue.close(d->endpoint);
}

bool TcpListener::listen(const QHostAddress &address, quint16 port)
{
    const QString wanted = Endpoint::tcp(address.toString(), port).toString();
    if (d->server.isListening()) {
        d->error = Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"), wanted);
        return false;
    }
    if (!d->server.listen(address, port)) {
        d->error = socketError(d->server.serverError(), d->server.errorString(), wanted);
        return false;
    }
    d->error = Error();
    d->endpoint = Endpoint::tcp(d->server.serverAddress().toString(), d->server.serverPort())
                          .toString();
    Q_EMIT listeningChanged(true);
    return true;
}

void TcpListener::close()
{
    if (!d->server.isListening())
        return;
    d->server.close();
    d->queue.close(d->endpoint);
    Q_EMIT listeningChanged(false);
}

bool TcpListener::isListening() const { return d->server.isListening(); }
QHostAddress TcpListener::serverAddress() const { return d->server.serverAddress(); }
quint16 TcpListener::serverPort() const { return d->server.serverPort(); }
QString TcpListener::endpoint() const { return d->endpoint; }
Error TcpListener::error() const { return d->error; }
int TcpListener::pendingConnections() const { return int(d->queue.descriptors.size()); }
int TcpListener::maxPendingConnections() const { return d->queue.maxPending; }
void TcpListener::setMaxPendingConnections(int count) { d->queue.maxPending = qMax(1, count); }

QFuture<FlowResult<TcpFlow>> TcpListener::accept()
{
    auto future = d->queue.accept(d->server.isListening(), d->endpoint, &TcpListenerPrivate::makeFlow);
    if (d->server.isListening() && pendingConnections() < d->queue.maxPending)
        d->server.resumeAccepting();
    return future;
}

// ---------------------------------------------------------------------------------------------

class LocalListenerPrivate
{
public:
    explicit LocalListenerPrivate(LocalListener *q) : q(q) {}

    LocalListener *q;
    AcceptQueue<LocalFlow> queue;
    Error error;
    QString name;
    QString path;
    QString endpoint;
    int fd = -1;
    ino_t inode = 0; // of our socket file, so close() removes only ours
    QSocketNotifier *notifier = nullptr;

    LocalFlow *makeFlow(int connection) const
    {
        auto *d = new LocalFlowPrivate;
        auto *flow = new LocalFlow(*d, nullptr);
        d->accepted = true;
        d->serverName = name;
        d->fullServerName = path;
        d->adopt(connection);
        return flow;
    }

    bool checkPath(const QByteArray &native);
    bool bindPrivately(const QByteArray &native);
    void acceptPending();
    void updateNotifier()
    {
        if (notifier)
            notifier->setEnabled(int(queue.descriptors.size()) < queue.maxPending);
    }
    void fail(int errnoValue) { error = Error::fromErrno(errnoValue, endpoint); }
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
        error = Error(Error::Kind::AddressInUse,
                      QStringLiteral("the path exists and is not a socket; not replacing it"),
                      endpoint);
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
        error = Error(Error::Kind::AddressInUse,
                      QStringLiteral("another process is listening on this socket"), endpoint);
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
        error = Error(Error::Kind::AddressInUse,
                      QStringLiteral("the path was created by someone else meanwhile"), endpoint);
    else
        fail(saved);
    ::close(fd);
    fd = -1;
    if (bound)
        ::unlink(native.constData());
    return false;
}

void LocalListenerPrivate::acceptPending()
{
    bool announced = false;
    while (fd >= 0 && int(queue.descriptors.size()) < queue.maxPending) {
        const int connection = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                qCWarning(lcSocket) << "accept on" << endpoint << "failed:" << strerror(errno);
            break;
        }
        queue.push(connection, [this](int c) { return makeFlow(c); });
        announced = announced || !queue.descriptors.empty();
    }
    updateNotifier();
    if (announced)
        Q_EMIT q->newConnection();
}

LocalListener::LocalListener(QObject *parent) : QObject(parent), d(new LocalListenerPrivate(this))
{
}

LocalListener::~LocalListener()
{
    close();
}

bool LocalListener::listen(const QString &name)
{
    if (d->fd >= 0) {
        d->error = Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"),
                         d->endpoint);
        return false;
    }
    if (name.isEmpty()) {
        d->error = Error(Error::Kind::InvalidArgument, QStringLiteral("the socket name is empty"));
        return false;
    }
    // As QLocalServer: a name without a slash lives in the temporary folder.
    const QString fullPath = name.startsWith(QLatin1Char('/'))
            ? name
            : QDir::cleanPath(QDir::tempPath()) + QLatin1Char('/') + name;
    d->endpoint = Endpoint::local(fullPath).toString();
    const QByteArray native = QFile::encodeName(fullPath);
    sockaddr_un address{};
    if (native.size() >= qsizetype(sizeof address.sun_path)) {
        d->error = Error(Error::Kind::InvalidArgument,
                         QStringLiteral("the socket path is too long (%1 bytes, at most %2)")
                                 .arg(native.size())
                                 .arg(sizeof address.sun_path - 1),
                         d->endpoint);
        return false;
    }
    if (!d->checkPath(native) || !d->bindPrivately(native))
        return false;
    d->error = Error();
    d->name = name;
    d->path = fullPath;
    d->notifier = new QSocketNotifier(d->fd, QSocketNotifier::Read, this);
    connect(d->notifier, &QSocketNotifier::activated, this, [this] { d->acceptPending(); });
    Q_EMIT listeningChanged(true);
    return true;
}

void LocalListener::close()
{
    if (d->fd < 0)
        return;
    delete d->notifier;
    d->notifier = nullptr;
    ::close(d->fd);
    d->fd = -1;
    // Remove the name only if it is still our socket.
    const QByteArray native = QFile::encodeName(d->path);
    struct stat info{};
    if (::lstat(native.constData(), &info) == 0 && info.st_ino == d->inode)
        ::unlink(native.constData());
    d->queue.close(d->endpoint);
    Q_EMIT listeningChanged(false);
}

bool LocalListener::isListening() const { return d->fd >= 0; }
QString LocalListener::serverName() const { return d->name; }
QString LocalListener::fullServerName() const { return d->path; }
QString LocalListener::endpoint() const { return d->endpoint; }
Error LocalListener::error() const { return d->error; }
int LocalListener::pendingConnections() const { return int(d->queue.descriptors.size()); }
int LocalListener::maxPendingConnections() const { return d->queue.maxPending; }

void LocalListener::setMaxPendingConnections(int count)
{
    d->queue.maxPending = qMax(1, count);
    d->updateNotifier();
}

QFuture<FlowResult<LocalFlow>> LocalListener::accept()
{
    auto future = d->queue.accept(d->fd >= 0, d->endpoint,
                                  [this](int fd) { return d->makeFlow(fd); });
    d->updateNotifier();
    return future;
}

} // namespace rill
