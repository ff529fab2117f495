// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The bridge between the public Transport interface and the flow machinery: FlowPrivate's
// transport hooks forwarded to a rill::Transport, and the Transport's reports forwarded to
// FlowPrivate's on* functions. Nothing of the machinery is repeated here.

#include "flow_p.h"

#include <rill/transport.h>

namespace rill {

class TransportFlowPrivate : public FlowPrivate
{
    Q_DECLARE_PUBLIC(TransportFlow)
public:
    explicit TransportFlowPrivate(std::unique_ptr<Transport> t);
    ~TransportFlowPrivate() override;

    QString transportName() const override { return transport->name(); }
    Endpoint currentLocalEndpoint() const override { return transport->localEndpoint(); }
    Endpoint currentPeerEndpoint() const override { return transport->peerEndpoint(); }
    QString errorEndpoint() const override { return transport->peerName(); }
    void transportWrite() override;
    void transportSetReadEnabled(bool enabled) override;
    void transportShutdownWrite() override;
    void transportAbort() override;
    void transportRelease() override;
    void transportLeaveThread() override;
    void transportJoinThread() override;

    // Whether the transport's reports still count: not after abort() or release().
    bool live() const { return !m_ended; }

    std::unique_ptr<Transport> transport;

private:
    bool m_ended = false;
};

} // namespace rill
