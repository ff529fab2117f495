// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "kernelinfo.h"

#include <rill/tcpflow.h>

#ifdef Q_OS_LINUX
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#endif

namespace inspector {

QString KernelInfo::tcpStateName() const
{
#ifdef Q_OS_LINUX
    switch (tcpState) {
    case TCP_ESTABLISHED:
        return QStringLiteral("ESTABLISHED");
    case TCP_SYN_SENT:
        return QStringLiteral("SYN-SENT");
    case TCP_SYN_RECV:
        return QStringLiteral("SYN-RECEIVED");
    case TCP_FIN_WAIT1:
        return QStringLiteral("FIN-WAIT-1");
    case TCP_FIN_WAIT2:
        return QStringLiteral("FIN-WAIT-2");
    case TCP_TIME_WAIT:
        return QStringLiteral("TIME-WAIT");
    case TCP_CLOSE:
        return QStringLiteral("CLOSED");
    case TCP_CLOSE_WAIT:
        return QStringLiteral("CLOSE-WAIT");
    case TCP_LAST_ACK:
        return QStringLiteral("LAST-ACK");
    case TCP_LISTEN:
        return QStringLiteral("LISTEN");
    case TCP_CLOSING:
        return QStringLiteral("CLOSING");
    default:
        break;
    }
#endif
    return available ? QStringLiteral("unknown") : QString();
}

KernelInfo kernelInfoOf(const rill::Flow *flow)
{
    KernelInfo info;
#ifdef Q_OS_LINUX
    const auto *tcp = qobject_cast<const rill::TcpFlow *>(flow);
    if (!tcp)
        return info;
    const int fd = int(tcp->socketDescriptor());
    if (fd < 0)
        return info;
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) == 0)
        info.sendQueue = queued;
    int unread = 0;
    if (::ioctl(fd, SIOCINQ, &unread) == 0)
        info.receiveQueue = unread;
    tcp_info tcpInfo {};
    socklen_t length = sizeof tcpInfo;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &tcpInfo, &length) == 0)
        info.tcpState = tcpInfo.tcpi_state;
    info.available = info.sendQueue >= 0 || info.receiveQueue >= 0 || info.tcpState >= 0;
#else
    Q_UNUSED(flow);
#endif
    return info;
}

} // namespace inspector
