// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// A loopback echo server on rill::Listener, for the QML suites: every connection gets back what
// it sends; when the client half-closes, the server finishes sending and half-closes too.
// Each echo write waits for the previous one to be accepted, so a client that stops reading
// pushes back on the server, which stops reading in turn.

#include <rill/connect.h>

#include <QtCore/QPointer>

#include <functional>
#include <memory>
#include <vector>

namespace rilltest {

class EchoServer : public QObject {
public:
    using AcceptHandler = std::function<void(rill::Flow *)>;

    explicit EchoServer(QObject *parent = nullptr) : QObject(parent) { }
    ~EchoServer() override
    {
        m_listener.close();
        m_flows.clear(); // their pending futures finish with Aborted; `this` is gone for them
    }

    // "tcp:127.0.0.1:0" or "unix:PATH". False if it cannot listen.
    bool listen(const QString &endpoint)
    {
        if (!m_listener.listen(rill::Endpoint::parse(endpoint)))
            return false;
        acceptNext();
        return true;
    }
    QString endpoint() const { return m_listener.endpointString(); }
    quint16 port() const { return m_listener.endpoint().port(); }
    QString path() const { return m_listener.endpoint().path(); }
    int acceptedCount() const { return int(m_flows.size()); }
    // Connections whose client ended (Eof) or dropped them (an error).
    int endedCount() const { return m_ended; }

    // Called with each accepted flow (which the server keeps owning), e.g. to show it.
    void setAcceptHandler(AcceptHandler handler) { m_onAccepted = std::move(handler); }

private:
    void acceptNext()
    {
        m_listener.accept().then(this, [this](rill::FlowResult<rill::Flow> result) {
            if (!result.isOk())
                return; // closed
            rill::Flow *flow = result.flow();
            m_flows.push_back(result.takeFlow());
            if (m_onAccepted)
                m_onAccepted(flow);
            echo(flow);
            acceptNext();
        });
    }

    void echo(rill::Flow *flow)
    {
        const QPointer<rill::Flow> guard(flow);
        flow->read().then(this, [this, guard](const rill::ReadResult &result) {
            if (!guard)
                return;
            if (result.isData()) {
                guard->write(result.data()).then(this, [this, guard](const rill::WriteResult &w) {
                    if (guard && w.isOk())
                        echo(guard);
                });
            } else {
                ++m_ended;
                if (result.isEof())
                    guard->shutdown(rill::Flow::Direction::Write);
            }
        });
    }

    rill::Listener m_listener;
    std::vector<std::unique_ptr<rill::Flow>> m_flows;
    AcceptHandler m_onAccepted;
    int m_ended = 0;
};

} // namespace rilltest
