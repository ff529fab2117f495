// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::Endpoint, where a flow goes: "tcp:HOST:PORT" or "unix:PATH".

#include <rill/error.h>

#include <QtCore/QMetaType>
#include <QtCore/QString>

namespace rill {

/// Where a flow goes: "tcp:HOST:PORT" (an IPv6 literal in brackets: "tcp:[::1]:80"),
/// "tls:HOST:PORT" (TLS over TCP, TlsFlow) or "unix:PATH"; "pipe:NAME" names an end of an in-memory PipeFlow pair (nothing connects to one).
///
/// The one parser and printer every Rill program uses, and the type of every endpoint Rill's
/// API hands out. The transport of Unix domain sockets is called "unix" everywhere (scheme,
/// Type::Unix, Flow::transportName()); only LocalFlow and LocalListener keep Qt's name for it,
/// after QLocalSocket and QLocalServer. A value type; a QVariant holding one converts to its
/// text.
///
/// \sa connectTo(), Listener::listen()
class RILL_EXPORT Endpoint
{
    Q_GADGET
    /// The transport. \sa type()
    Q_PROPERTY(Type type READ type CONSTANT)
    /// The host of a TCP or TLS endpoint. \sa host()
    Q_PROPERTY(QString host READ host CONSTANT)
    /// The port of a TCP or TLS endpoint. \sa port()
    Q_PROPERTY(quint16 port READ port CONSTANT)
    /// The path of a Unix endpoint, or the name of a pipe. \sa path()
    Q_PROPERTY(QString path READ path CONSTANT)
public:
    /// The transport an endpoint names.
    enum class Type {
        Invalid, ///< No endpoint: a default-constructed one, or text that did not parse.
        Tcp,     ///< "tcp:HOST:PORT", a TCP connection (TcpFlow).
        Unix,    ///< "unix:PATH", a Unix domain socket (LocalFlow).
        Pipe,    ///< "pipe:NAME", an end of a PipeFlow pair.
        Tls,     ///< "tls:HOST:PORT", TLS over a TCP connection (TlsFlow).
        Local = Unix, ///< Qt's name for Unix, after QLocalSocket.
    };
    Q_ENUM(Type)

    /// An invalid endpoint.
    Endpoint() = default;
    /// "tcp:HOST:PORT": \a host is a name or an address literal.
    static Endpoint tcp(const QString &host, quint16 port);
    /// "tls:HOST:PORT": TLS over TCP to \a host (a name or an address literal) on \a port.
    static Endpoint tls(const QString &host, quint16 port);
    /// "unix:PATH", the socket at \a path.
    static Endpoint local(const QString &path);
    /// "pipe:NAME", an end of a PipeFlow pair called \a name.
    static Endpoint pipe(const QString &name);

    /// Parses \a text; on failure returns an invalid endpoint and, if \a error is given, says
    /// why (kind Error::Kind::InvalidArgument).
    static Endpoint parse(const QString &text, Error *error = nullptr);

    /// The transport.
    Type type() const { return m_type; }
    /// False for Type::Invalid.
    bool isValid() const { return m_type != Type::Invalid; }
    /// The host of a TCP or TLS endpoint, as given (a name or an address, without brackets);
    /// else empty.
    QString host() const { return m_host; }
    /// The port of a TCP or TLS endpoint; else 0.
    quint16 port() const { return m_port; }
    /// The path of a Unix endpoint, or the name of a pipe; else empty.
    QString path() const { return m_path; }
    /// The endpoint as text, which parse() reads back: "tcp:[::1]:80", "unix:/run/app.sock".
    Q_INVOKABLE QString toString() const;

    /// True if type, host, port and path are equal.
    friend bool operator==(const Endpoint &a, const Endpoint &b)
    {
        return a.m_type == b.m_type && a.m_host == b.m_host && a.m_port == b.m_port
                && a.m_path == b.m_path;
    }
    /// True if type, host, port or path differ.
    friend bool operator!=(const Endpoint &a, const Endpoint &b) { return !(a == b); }

private:
    Type m_type = Type::Invalid;
    QString m_host;
    quint16 m_port = 0;
    QString m_path;
};

/// Writes \a endpoint to \a debug as rill::Endpoint(its text), or rill::Endpoint(invalid).
RILL_EXPORT QDebug operator<<(QDebug debug, const Endpoint &endpoint);

} // namespace rill

Q_DECLARE_METATYPE(rill::Endpoint)
