// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The kernel's view of a TCP flow, beside Rill's: its send and receive queues and the TCP
// state, so a half-close shows as FIN-WAIT-2 / CLOSE-WAIT. Linux only; elsewhere, and for
// flows that are not TCP or hold no descriptor, available is false.

#include <QtCore/QString>

namespace rill {
class Flow;
}

namespace inspector {

struct KernelInfo {
    bool available = false;
    qint64 sendQueue = -1; // SIOCOUTQ: bytes in the send queue (unsent or not yet acked)
    qint64 receiveQueue = -1; // SIOCINQ: bytes received that nobody read yet
    int tcpState = -1; // tcp_info.tcpi_state

    QString tcpStateName() const; // "ESTABLISHED", "FIN-WAIT-2", ...
};

KernelInfo kernelInfoOf(const rill::Flow *flow);

} // namespace inspector
