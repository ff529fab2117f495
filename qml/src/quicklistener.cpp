// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "quicklistener.h"

#include <QtCore/QLoggingCategory>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlInfo>

Q_LOGGING_CATEGORY(lcQuickListener, "rill.quick.listener", QtWarningMsg)

namespace rill::quick {

QuickListener::QuickListener(QObject *parent) : QObject(parent)
{
    connect(&m_listener, &Listener::listeningChanged, this, &QuickListener::listeningChanged);
}

QuickListener::~QuickListener()
{
    ++m_generation; // the pending accept finishes with Closed; nobody listens any more
}

bool QuickListener::isListening() const
{
    return m_listener.isListening();
}

QString QuickListener::endpoint() const
{
    return m_listener.isListening() ? m_listener.endpointString() : QString();
}

bool QuickListener::listen()
{
    close();
    QString problem;
    const Endpoint endpoint = requestedEndpoint(&problem);
    if (!endpoint.isValid()) {
        setError(problem);
        return false;
    }
    if (!m_listener.listen(endpoint)) {
        setError(errorMessage(m_listener.error()));
        return false;
    }
    if (!m_errorString.isEmpty()) {
        m_errorString.clear();
        Q_EMIT errorStringChanged();
    }
    qCDebug(lcQuickListener) << this << "listening on" << m_listener.endpointString();
    acceptNext();
    return true;
}

void QuickListener::close()
{
    ++m_generation;
    if (m_listener.isListening())
        m_listener.close();
}

void QuickListener::dispose(QuickFlow *flow)
{
    if (!flow || flow->parent() != this) {
        qmlWarning(this) << "dispose(): not a flow this listener accepted";
        return;
    }
    flow->deleteLater();
}

void QuickListener::acceptNext()
{
    const quint64 generation = m_generation;
    m_listener.accept().then(this, [this, generation](FlowResult<Flow> result) {
        if (generation != m_generation)
            return; // closed (and maybe listening again) meanwhile
        if (!result.isOk()) {
            if (result.error().kind() != Error::Kind::Closed)
                setError(errorMessage(result.error()));
            return;
        }
        QuickFlow *flow = wrap(result.takeFlow());
        QQmlEngine::setObjectOwnership(flow, QQmlEngine::CppOwnership); // the listener owns it
        ++m_acceptedCount;
        Q_EMIT acceptedCountChanged();
        Q_EMIT accepted(flow);
        if (generation == m_generation)
            acceptNext();
    });
}

void QuickListener::setError(const QString &text)
{
    m_errorString = text;
    Q_EMIT errorStringChanged();
    Q_EMIT errorOccurred(text);
}

// ---- TcpListener

QuickTcpListener::QuickTcpListener(QObject *parent) : QuickListener(parent) { }

void QuickTcpListener::setHost(const QString &host)
{
    if (host == m_host)
        return;
    m_host = host;
    Q_EMIT hostChanged();
}

void QuickTcpListener::setPort(int port)
{
    if (port == m_port)
        return;
    m_port = port;
    Q_EMIT portChanged();
}

int QuickTcpListener::serverPort() const
{
    return isListening() ? Endpoint::parse(endpoint()).port() : 0;
}

Endpoint QuickTcpListener::requestedEndpoint(QString *problem) const
{
    if (m_port < 0 || m_port > 65535) {
        *problem = QStringLiteral("port %1 is out of range").arg(m_port);
        return {};
    }
    return Endpoint::tcp(m_host, quint16(m_port));
}

QuickFlow *QuickTcpListener::wrap(std::unique_ptr<Flow> flow)
{
    return new QuickTcpFlow(std::move(flow), this);
}

// ---- LocalListener

QuickLocalListener::QuickLocalListener(QObject *parent) : QuickListener(parent) { }

void QuickLocalListener::setPath(const QString &path)
{
    if (path == m_path)
        return;
    m_path = path;
    Q_EMIT pathChanged();
}

Endpoint QuickLocalListener::requestedEndpoint(QString *problem) const
{
    if (m_path.isEmpty()) {
        *problem = QStringLiteral("no path to listen on");
        return {};
    }
    return Endpoint::local(m_path);
}

QuickFlow *QuickLocalListener::wrap(std::unique_ptr<Flow> flow)
{
    return new QuickLocalFlow(std::move(flow), this);
}

} // namespace rill::quick
