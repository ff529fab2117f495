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

QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint, std::chrono::milliseconds timeout)
{
    switch (endpoint.type()) {
    case Endpoint::Type::Tcp:
        return generic(TcpFlow::connectToHost(endpoint.host(), endpoint.port(), timeout));
    case Endpoint::Type::Local:
        return generic(LocalFlow::connectToServer(endpoint.path(), timeout));
    case Endpoint::Type::Invalid:
        break;
    }
    return readyFuture(FlowResult<Flow>::fromError(invalidEndpoint()));
}

QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint)
{
    return connectTo(endpoint, endpoint.type() == Endpoint::Type::Local
                                       ? LocalFlow::defaultConnectTimeout()
                                       : TcpFlow::defaultConnectTimeout());
}

class ListenerPrivate
{
public:
    std::unique_ptr<TcpListener> tcp;
    std::unique_ptr<LocalListener> local;
    Error error;
};

Listener::Listener(QObject *parent) : QObject(parent), d(new ListenerPrivate) {}

Listener::~Listener() = default;

bool Listener::listen(const Endpoint &endpoint)
{
    if (isListening()) {
        d->error = Error(Error::Kind::InvalidArgument, QStringLiteral("already listening"),
                         endpointString());
        return false;
    }
    d->tcp.reset();
    d->local.reset();
    bool ok = false;
    switch (endpoint.type()) {
    case Endpoint::Type::Tcp: {
        QHostAddress address;
        if (!address.setAddress(endpoint.host())) {
            if (endpoint.host() == QLatin1String("localhost")) {
                address = QHostAddress::LocalHost;
            } else {
                d->error = Error(Error::Kind::InvalidArgument,
                                 QStringLiteral("listen needs an address, not a host name"),
                                 endpoint.toString());
                return false;
            }
        }
        d->tcp = std::make_unique<TcpListener>();
        ok = d->tcp->listen(address, endpoint.port());
        d->error = d->tcp->error();
        connect(d->tcp.get(), &TcpListener::newConnection, this, &Listener::newConnection);
        break;
    }
    case Endpoint::Type::Local:
        d->local = std::make_unique<LocalListener>();
        ok = d->local->listen(endpoint.path());
        d->error = d->local->error();
        connect(d->local.get(), &LocalListener::newConnection, this, &Listener::newConnection);
        break;
    case Endpoint::Type::Invalid:
        d->error = invalidEndpoint();
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
    if (d->tcp)
        d->tcp->close();
    if (d->local)
        d->local->close();
    Q_EMIT listeningChanged(false);
}

bool Listener::isListening() const
{
    return (d->tcp && d->tcp->isListening()) || (d->local && d->local->isListening());
}

Endpoint Listener::endpoint() const
{
    if (d->tcp)
        return Endpoint::tcp(d->tcp->serverAddress().toString(), d->tcp->serverPort());
    if (d->local)
        return Endpoint::local(d->local->fullServerName());
    return Endpoint();
}

Error Listener::error() const { return d->error; }

QFuture<FlowResult<Flow>> Listener::accept()
{
    if (d->tcp)
        return generic(d->tcp->accept());
    if (d->local)
        return generic(d->local->accept());
    return readyFuture(FlowResult<Flow>::fromError(
            Error(Error::Kind::Closed, QStringLiteral("the listener is not listening"))));
}

int Listener::pendingConnections() const
{
    if (d->tcp)
        return d->tcp->pendingConnections();
    if (d->local)
        return d->local->pendingConnections();
    return 0;
}

} // namespace rill
