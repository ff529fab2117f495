// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/endpoint.h>
#include <rill/flow.h>
#include <rill/flowresult.h>

#include <chrono>
#include <memory>

QT_FORWARD_DECLARE_CLASS(QThread)

namespace rill {

// Connects to any endpoint ("tcp:HOST:PORT" or "unix:PATH"): a TcpFlow or a LocalFlow.
RILL_EXPORT QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint);
RILL_EXPORT QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint, QDeadlineTimer deadline);

class ListenerPrivate;

// Listens on any endpoint: a TcpListener or a LocalListener behind one interface, for programs
// that take an endpoint from their user. The same thread rules and accept errors as those.
class RILL_EXPORT Listener : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    explicit Listener(QObject *parent = nullptr);
    ~Listener() override;

    // "tcp:127.0.0.1:0" picks a free port; endpoint() then tells which.
    bool listen(const Endpoint &endpoint);
    void close();
    bool isListening() const;
    Endpoint endpoint() const;
    QString endpointString() const { return endpoint().toString(); }
    Error error() const;

    QFuture<FlowResult<Flow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    int pendingConnections() const;
    // As TcpListener::setWorkerThreads() (listener.h); kept across listen() calls. Call it in
    // the listener's thread.
    void setWorkerThreads(const QList<QThread *> &threads);
    QList<QThread *> workerThreads() const;

Q_SIGNALS:
    void listeningChanged(bool listening);
    void newConnection();
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<ListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, Listener)
    Q_DISABLE_COPY(Listener)
};

} // namespace rill
