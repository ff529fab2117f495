// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/connect.h>
#include <rill/listener.h>

#include "promise_p.h"

namespace rill {

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
    std::unique_ptr<TcpListener> tcp;
    std::unique_ptr<LocalListener> local;
    QList<QThread *> workers;
    Error error;
};

Listener::Listener(QObject *parent) : QObject(parent), d_rill(new ListenerPrivate) {}

Listener::~Listener() = default;

bool Listener::listen(const Endpoint &endpoint)
{
    if (isListening()) {
        d_rill->error = Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"),
                         endpointString());
        return false;
    }
    d_rill->tcp.reset();
    d_rill->local.reset();
    bool ok = false;
    switch (endpoint.type()) {
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
        d_rill->tcp->setWorkerThreads(d_rill->workers);
        ok = d_rill->tcp->listen(address, endpoint.port());
        d_rill->error = d_rill->tcp->error();
        connect(d_rill->tcp.get(), &TcpListener::newConnection, this, &Listener::newConnection);
        connect(d_rill->tcp.get(), &TcpListener::errorOccurred, this, &Listener::errorOccurred);
        break;
    }
    case Endpoint::Type::Unix:
        d_rill->local = std::make_unique<LocalListener>();
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
    Q_EMIT listeningChanged(false);
}

bool Listener::isListening() const
{
    return (d_rill->tcp && d_rill->tcp->isListening()) || (d_rill->local && d_rill->local->isListening());
}

Endpoint Listener::endpoint() const
{
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
    if (d_rill->tcp)
        d_rill->tcp->setWorkerThreads(threads);
    if (d_rill->local)
        d_rill->local->setWorkerThreads(threads);
}

QList<QThread *> Listener::workerThreads() const
{
    if (d_rill->tcp)
        return d_rill->tcp->workerThreads();
    if (d_rill->local)
        return d_rill->local->workerThreads();
    return d_rill->workers;
}

int Listener::pendingConnections() const
{
    if (d_rill->tcp)
        return d_rill->tcp->pendingConnections();
    if (d_rill->local)
        return d_rill->local->pendingConnections();
    return 0;
}

} // namespace rill
