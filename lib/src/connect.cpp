// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/connect.h>
#include <rill/listener.h>
#include <rill/tlsflow.h>

#include "promise_p.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <deque>
#include <list>

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcTls)

namespace {

// FlowResult<T> -> FlowResult<Flow>, handing the flow over.
template<typename FlowType>
FlowResult<Flow> generic(FlowResult<FlowType> result)
{
    if (!result.isOk())
        return FlowResult<Flow>::fromError(result.error());
    return FlowResult<Flow>::fromFlow(result.takeFlow().release());
}

template<typename FlowType>
QFuture<FlowResult<Flow>> generic(QFuture<FlowResult<FlowType>> future)
{
    // A synchronous continuation: it runs where the promise is finished, the flow's thread.
    return future.then([](FlowResult<FlowType> result) { return generic(std::move(result)); });
}

Error invalidEndpoint()
{
    return Error(Error::Kind::InvalidArgument, QStringLiteral("invalid endpoint"));
}

} // namespace

QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint, QDeadlineTimer deadline)
{
    switch (endpoint.type()) {
    case Endpoint::Type::Tcp:
        return generic(TcpFlow::connectToHost(endpoint.host(), endpoint.port(), deadline));
    case Endpoint::Type::Tls:
        return generic(TlsFlow::connectToHost(endpoint.host(), endpoint.port(),
                                              QSslConfiguration::defaultConfiguration(), deadline));
    case Endpoint::Type::Unix:
        return generic(LocalFlow::connectToServer(endpoint.path(), deadline));
    case Endpoint::Type::Pipe:
        return readyFuture(FlowResult<Flow>::fromError(
                Error(Error::Kind::InvalidArgument,
                      QStringLiteral("nothing connects to a pipe; PipeFlow::createPair() makes both ends"),
                      endpoint.toString())));
    case Endpoint::Type::Invalid:
        break;
    }
    return readyFuture(FlowResult<Flow>::fromError(invalidEndpoint()));
}

QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint)
{
    return connectTo(endpoint, endpoint.type() == Endpoint::Type::Unix
                                       ? LocalFlow::defaultConnectTimeout()
                                       : TcpFlow::defaultConnectTimeout());
}

class ListenerPrivate
{
public:
    explicit ListenerPrivate(Listener *q) : q(q) {}
    ~ListenerPrivate()
    {
        // Closing the TCP listener may finish its accepts at once, and their continuations
        // (context q, still alive) would run into a half-destroyed object: they check this.
        destroying = true;
        // Handshakes still running end here (their futures finish, Aborted), while q lives:
        // Qt 6.4 asserts a continuation's context is alive when its future finishes.
        for (const QPointer<TlsFlow> &flow : std::as_const(handshaking))
            delete flow.data();
        closeTls();
        tcp.reset();
        local.reset();
    }

    Listener *q;
    bool destroying = false;
    std::unique_ptr<TcpListener> tcp;
    std::unique_ptr<LocalListener> local;
    QList<QThread *> workers;
    Error error;

    // TLS: the TCP listener is drained by acceptNext(); each connection's handshake runs
    // here, and only encrypted flows reach ready (or a waiting accept()).
    struct Waiter
    {
        Promise<FlowResult<Flow>> promise;
        std::unique_ptr<QTimer> timer;
    };
    bool tls = false;
    QSslConfiguration tlsConfiguration = QSslConfiguration::defaultConfiguration();
    std::chrono::milliseconds handshakeTimeout{10000};
    std::deque<FlowResult<Flow>> ready;
    QList<QPointer<TlsFlow>> handshaking;
    std::list<Waiter> waiting;
    int nextWorker = 0;
    int maxPending = 30;    // handshakes and handshaken flows not yet taken, at most
    bool accepting = false; // a TCP accept() is out

    // Takes TCP connections while fewer than maxPending are handshaking or waiting for
    // accept(): past that, the kernel's backlog holds the rest and pushes back on clients,
    // as for a plain listener, instead of the handshakes (each with its buffers) piling up.
    void acceptNext()
    {
        if (!tcp || !tcp->isListening() || accepting
            || handshaking.size() + qsizetype(ready.size()) >= maxPending)
            return;
        TcpListener *listener = tcp.get();
        accepting = true;
        listener->accept().then(q, [this, listener](FlowResult<TcpFlow> result) {
            if (destroying)
                return;
            accepting = false;
            if (tcp.get() != listener || !listener->isListening())
                return; // closed or listening anew meanwhile; the result deletes the flow
            if (!result.isOk()) {
                // Accept errors are the TCP listener's to report and retry; wait a moment
                // rather than asking again at once.
                QTimer::singleShot(100, q, [this, listener] {
                    if (!destroying && tcp.get() == listener)
                        acceptNext();
                });
                return;
            }
            auto *flow = new TlsFlow(result.takeFlow().release(), TlsFlow::Mode::Server,
                                     tlsConfiguration);
            handshaking.append(flow);
            TlsFlow::handshake(flow, QDeadlineTimer(handshakeTimeout))
                    .then(q, [this, listener](FlowResult<TlsFlow> handshaken) {
                        if (destroying)
                            return;
                        handshaking.removeIf([](const QPointer<TlsFlow> &f) {
                            return f.isNull() || f->isEncrypted() || f->state() == Flow::State::Closed;
                        });
                        if (!handshaken.isOk()) {
                            qCDebug(lcTls) << "listener: handshake failed:" << handshaken.error();
                            Q_EMIT q->handshakeFailed(handshaken.error());
                        } else if (tcp.get() == listener && listener->isListening()) {
                            deliver(generic(std::move(handshaken)));
                        }
                        acceptNext(); // a place may have become free
                    });
            acceptNext();
        });
    }

    void deliver(FlowResult<Flow> result)
    {
        if (!workers.isEmpty()) {
            QThread *worker = workers.at(nextWorker++ % workers.size());
            result.flow()->moveToThread(worker);
        }
        while (!waiting.empty()) {
            Waiter waiter = std::move(waiting.front());
            waiting.pop_front();
            if (waiter.promise.tryFinish(result))
                return;
        }
        ready.push_back(std::move(result));
        Q_EMIT q->newConnection();
    }

    QFuture<FlowResult<Flow>> acceptTls(QDeadlineTimer deadline)
    {
        if (!ready.empty()) {
            FlowResult<Flow> result = std::move(ready.front());
            ready.pop_front();
            acceptNext(); // a place became free
            return readyFuture(std::move(result));
        }
        if (!tcp || !tcp->isListening())
            return readyFuture(FlowResult<Flow>::fromError(
                    Error(Error::Kind::Closed, QStringLiteral("the listener is not listening"))));
        waiting.emplace_back();
        auto it = std::prev(waiting.end());
        QFuture<FlowResult<Flow>> future = it->promise.future();
        if (!deadline.isForever()) {
            it->timer = std::make_unique<QTimer>();
            it->timer->setSingleShot(true);
            QObject::connect(it->timer.get(), &QTimer::timeout, q, [this, timer = it->timer.get()] {
                for (auto w = waiting.begin(); w != waiting.end(); ++w) {
                    if (w->timer.get() != timer)
                        continue;
                    Waiter waiter = std::move(*w);
                    waiting.erase(w);
                    waiter.promise.tryFinish(FlowResult<Flow>::fromError(
                            Error(Error::Kind::TimedOut, QStringLiteral("no connection in time"),
                                  q->endpointString())));
                    waiter.timer.release()->deleteLater(); // we are inside its signal
                    return;
                }
            });
            it->timer->start(int(qMax<qint64>(0, deadline.remainingTime())));
        }
        return future;
    }

    void closeTls()
    {
        accepting = false; // the TCP listener goes too; its accept finishes unheeded
        ready.clear();
        std::list<Waiter> waiters = std::move(waiting);
        waiting.clear();
        for (Waiter &w : waiters)
            w.promise.tryFinish(FlowResult<Flow>::fromError(
                    Error(Error::Kind::Closed, QStringLiteral("the listener is closed"))));
    }
};

Listener::Listener(QObject *parent) : QObject(parent), d_rill(new ListenerPrivate(this)) {}

Listener::~Listener() = default;

bool Listener::listen(const Endpoint &endpoint)
{
    if (isListening()) {
        d_rill->error = Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"),
                         endpointString());
        return false;
    }
    d_rill->closeTls();
    d_rill->tcp.reset();
    d_rill->local.reset();
    d_rill->tls = endpoint.type() == Endpoint::Type::Tls;
    bool ok = false;
    switch (endpoint.type()) {
    case Endpoint::Type::Tls:
    case Endpoint::Type::Tcp: {
        QHostAddress address;
        if (!address.setAddress(endpoint.host())) {
            if (endpoint.host() == QLatin1String("localhost")) {
                address = QHostAddress::LocalHost;
            } else {
                d_rill->error = Error(Error::Kind::InvalidArgument,
                                 QStringLiteral("listen needs an address, not a host name"),
                                 endpoint.toString());
                return false;
            }
        }
        d_rill->tcp = std::make_unique<TcpListener>();
        d_rill->tcp->setMaxPendingConnections(d_rill->maxPending);
        if (!d_rill->tls)
            d_rill->tcp->setWorkerThreads(d_rill->workers); // TLS moves flows after the handshake
        ok = d_rill->tcp->listen(address, endpoint.port());
        d_rill->error = d_rill->tcp->error();
        if (!d_rill->tls)
            connect(d_rill->tcp.get(), &TcpListener::newConnection, this, &Listener::newConnection);
        connect(d_rill->tcp.get(), &TcpListener::errorOccurred, this, &Listener::errorOccurred);
        if (ok && d_rill->tls)
            d_rill->acceptNext();
        break;
    }
    case Endpoint::Type::Unix:
        d_rill->local = std::make_unique<LocalListener>();
        d_rill->local->setMaxPendingConnections(d_rill->maxPending);
        d_rill->local->setWorkerThreads(d_rill->workers);
        ok = d_rill->local->listen(endpoint.path());
        d_rill->error = d_rill->local->error();
        connect(d_rill->local.get(), &LocalListener::newConnection, this, &Listener::newConnection);
        connect(d_rill->local.get(), &LocalListener::errorOccurred, this, &Listener::errorOccurred);
        break;
    case Endpoint::Type::Pipe:
        d_rill->error = Error(Error::Kind::InvalidArgument,
                         QStringLiteral("nothing listens on a pipe; PipeFlow::createPair() makes both ends"),
                         endpoint.toString());
        return false;
    case Endpoint::Type::Invalid:
        d_rill->error = invalidEndpoint();
        return false;
    }
    if (ok)
        Q_EMIT listeningChanged(true);
    return ok;
}

void Listener::close()
{
    if (!isListening())
        return;
    if (d_rill->tcp)
        d_rill->tcp->close();
    if (d_rill->local)
        d_rill->local->close();
    d_rill->closeTls();
    Q_EMIT listeningChanged(false);
}

bool Listener::isListening() const
{
    return (d_rill->tcp && d_rill->tcp->isListening()) || (d_rill->local && d_rill->local->isListening());
}

Endpoint Listener::endpoint() const
{
    if (d_rill->tcp && d_rill->tls) {
        const Endpoint e = d_rill->tcp->endpoint();
        return Endpoint::tls(e.host(), e.port());
    }
    if (d_rill->tcp)
        return d_rill->tcp->endpoint();
    if (d_rill->local)
        return d_rill->local->endpoint();
    return Endpoint();
}

Error Listener::error() const
{
    if (d_rill->tcp && !d_rill->tcp->error().isNone())
        return d_rill->tcp->error();
    if (d_rill->local && !d_rill->local->error().isNone())
        return d_rill->local->error();
    return d_rill->error;
}

QFuture<FlowResult<Flow>> Listener::accept(QDeadlineTimer deadline)
{
    if (d_rill->tls)
        return d_rill->acceptTls(deadline);
    if (d_rill->tcp)
        return generic(d_rill->tcp->accept(deadline));
    if (d_rill->local)
        return generic(d_rill->local->accept(deadline));
    return readyFuture(FlowResult<Flow>::fromError(
            Error(Error::Kind::Closed, QStringLiteral("the listener is not listening"))));
}

void Listener::setWorkerThreads(const QList<QThread *> &threads)
{
    d_rill->workers = threads;
    if (d_rill->tcp && !d_rill->tls)
        d_rill->tcp->setWorkerThreads(threads);
    if (d_rill->local)
        d_rill->local->setWorkerThreads(threads);
}

QList<QThread *> Listener::workerThreads() const
{
    if (d_rill->tcp && !d_rill->tls)
        return d_rill->tcp->workerThreads();
    if (d_rill->local)
        return d_rill->local->workerThreads();
    return d_rill->workers;
}

int Listener::pendingConnections() const
{
    if (d_rill->tls)
        return int(d_rill->handshaking.size() + qsizetype(d_rill->ready.size()));
    if (d_rill->tcp)
        return d_rill->tcp->pendingConnections();
    if (d_rill->local)
        return d_rill->local->pendingConnections();
    return 0;
}

} // namespace rill

namespace rill {

void Listener::setTlsConfiguration(const QSslConfiguration &configuration)
{
    d_rill->tlsConfiguration = configuration;
}

QSslConfiguration Listener::tlsConfiguration() const
{
    return d_rill->tlsConfiguration;
}

int Listener::maxPendingConnections() const
{
    return d_rill->maxPending;
}

void Listener::setMaxPendingConnections(int count)
{
    d_rill->maxPending = qMax(1, count);
    if (d_rill->tcp)
        d_rill->tcp->setMaxPendingConnections(d_rill->maxPending);
    if (d_rill->local)
        d_rill->local->setMaxPendingConnections(d_rill->maxPending);
    if (d_rill->tls)
        d_rill->acceptNext(); // more may fit now
}

void Listener::setHandshakeTimeout(std::chrono::milliseconds timeout)
{
    d_rill->handshakeTimeout = timeout;
}

std::chrono::milliseconds Listener::handshakeTimeout() const
{
    return d_rill->handshakeTimeout;
}

} // namespace rill
