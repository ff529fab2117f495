// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/endpoint.h>

#include <QtCore/QDebug>

namespace rill {

Endpoint Endpoint::tcp(const QString &host, quint16 port)
{
    Endpoint e;
    e.m_type = Type::Tcp;
    e.m_host = host;
    e.m_port = port;
    return e;
}

Endpoint Endpoint::tls(const QString &host, quint16 port)
{
    Endpoint e = tcp(host, port);
    e.m_type = Type::Tls;
    return e;
}

Endpoint Endpoint::local(const QString &path)
{
    Endpoint e;
    e.m_type = Type::Unix;
    e.m_path = path;
    return e;
}

Endpoint Endpoint::pipe(const QString &name)
{
    Endpoint e;
    e.m_type = Type::Pipe;
    e.m_path = name;
    return e;
}

Endpoint Endpoint::parse(const QString &text, Error *error)
{
    auto invalid = [&](const QString &why) {
        if (error)
            *error = Error(Error::Kind::InvalidArgument,
                           QStringLiteral("invalid endpoint \"%1\": %2").arg(text, why));
        return Endpoint();
    };
    if (text.startsWith(QLatin1String("unix:"))) {
        const QString path = text.mid(5);
        if (path.isEmpty())
            return invalid(QStringLiteral("the path is empty"));
        if (path.contains(QChar(0)))
            return invalid(QStringLiteral("the path contains a NUL character"));
        return local(path);
    }
    if (text.startsWith(QLatin1String("pipe:"))) {
        if (text.size() == 5)
            return invalid(QStringLiteral("the pipe's name is empty"));
        return pipe(text.mid(5));
    }
    const bool isTls = text.startsWith(QLatin1String("tls:"));
    if (!text.startsWith(QLatin1String("tcp:")) && !isTls)
        return invalid(QStringLiteral("expected tcp:HOST:PORT, tls:HOST:PORT or unix:PATH"));
    const QString rest = text.mid(4);
    QString host;
    QString portText;
    if (rest.startsWith(QLatin1Char('['))) {
        const qsizetype close = rest.indexOf(QLatin1Char(']'));
        if (close < 0 || close + 1 >= rest.size() || rest.at(close + 1) != QLatin1Char(':'))
            return invalid(QStringLiteral("expected tcp:[IPV6]:PORT"));
        host = rest.mid(1, close - 1);
        portText = rest.mid(close + 2);
    } else {
        const qsizetype colon = rest.lastIndexOf(QLatin1Char(':'));
        if (colon < 0)
            return invalid(QStringLiteral("the port is missing"));
        host = rest.left(colon);
        portText = rest.mid(colon + 1);
        if (host.contains(QLatin1Char(':')))
            return invalid(QStringLiteral("an IPv6 address needs brackets: tcp:[::1]:PORT"));
    }
    if (host.isEmpty())
        return invalid(QStringLiteral("the host is empty"));
    for (QChar c : std::as_const(host)) {
        if (c.isSpace() || c.unicode() < 0x20)
            return invalid(QStringLiteral("the host contains a space or control character"));
        // Brackets only ever surround an IPv6 host; inside one, toString() could not print it
        // back to the same endpoint.
        if (c == QLatin1Char('[') || c == QLatin1Char(']'))
            return invalid(QStringLiteral("the host contains a bracket"));
    }
    bool ok = false;
    const uint port = portText.toUInt(&ok, 10);
    if (!ok || port > 65535 || portText.isEmpty() || !portText.at(0).isDigit())
        return invalid(QStringLiteral("the port must be a number from 0 to 65535"));
    return isTls ? tls(host, quint16(port)) : tcp(host, quint16(port));
}

QString Endpoint::toString() const
{
    switch (m_type) {
    case Type::Tcp:
    case Type::Tls: {
        const QLatin1String scheme = m_type == Type::Tls ? QLatin1String("tls:") : QLatin1String("tcp:");
        // Concatenated, not arg(): a host may hold "%1" (an IPv6 zone such as "fe80::1%1").
        if (m_host.contains(QLatin1Char(':')))
            return scheme + QLatin1Char('[') + m_host + QLatin1String("]:") + QString::number(m_port);
        return scheme + m_host + QLatin1Char(':') + QString::number(m_port);
    }
    case Type::Unix:
        return QStringLiteral("unix:") + m_path;
    case Type::Pipe:
        return QStringLiteral("pipe:") + m_path;
    case Type::Invalid:
        break;
    }
    return QString();
}

QDebug operator<<(QDebug debug, const Endpoint &endpoint)
{
    QDebugStateSaver saver(debug);
    debug.nospace().noquote() << "rill::Endpoint(";
    if (endpoint.isValid())
        debug << endpoint.toString();
    else
        debug << "invalid";
    debug << ')';
    return debug;
}

} // namespace rill
