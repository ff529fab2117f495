// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// An HTTP exchange as inspectors see it (rill::Probe::reportExchange()), traced only while
// someone watches: an unwatched request costs one check at its start.

#include <rill/probe.h>

#include <QtCore/QByteArray>
#include <QtCore/QElapsedTimer>

namespace rill::http {

class ExchangeTrace
{
public:
    // A new exchange on flow, traced if someone watches now.
    void start(const Flow *flow, ProbeExchange::Role role, const QByteArray &method,
               const QByteArray &target, int minorVersion)
    {
        m_on = Probe::isTracingExchanges();
        if (!m_on)
            return;
        m_flow = flow;
        m_exchange = ProbeExchange();
        m_exchange.role = role;
        m_exchange.protocol = minorVersion == 0 ? QStringLiteral("HTTP/1.0") : QStringLiteral("HTTP/1.1");
        m_exchange.method = QString::fromLatin1(method);
        m_exchange.target = QString::fromLatin1(target);
        m_exchange.started = QDateTime::currentDateTimeUtc(); // local time only when shown
        m_timer.start();
        report();
    }
    bool isActive() const { return m_on; }
    // The response's head.
    void head(int status, const QByteArray &reason)
    {
        if (!m_on)
            return;
        m_exchange.status = status;
        m_exchange.reason = QString::fromLatin1(reason);
        m_exchange.headersMs = m_timer.elapsed();
        report();
    }
    // The end, well (error "") or not; the trace is then inactive.
    void end(qint64 requestBytes, qint64 responseBytes, const QString &error = QString())
    {
        if (!m_on)
            return;
        m_on = false;
        m_exchange.requestBytes = requestBytes;
        m_exchange.responseBytes = responseBytes;
        m_exchange.durationMs = m_timer.elapsed();
        m_exchange.error = error;
        report();
    }

private:
    void report() { m_exchange.id = Probe::reportExchange(m_flow, m_exchange); }

    bool m_on = false;
    const Flow *m_flow = nullptr; // a key for the probe only, never used as a flow
    ProbeExchange m_exchange;
    QElapsedTimer m_timer;
};

} // namespace rill::http
