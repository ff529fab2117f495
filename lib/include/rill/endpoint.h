// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/error.h>

#include <QtCore/QMetaType>
#include <QtCore/QString>

namespace rill {

// Where a flow goes: "tcp:HOST:PORT" (an IPv6 literal in brackets: "tcp:[::1]:80") or
// "unix:PATH"; "pipe:NAME" names an end of an in-memory PipeFlow pair (nothing connects to
// one). The one parser and printer every Rill program uses, and the type of every endpoint
// Rill's API hands out. The transport of Unix domain sockets is called "unix" everywhere
// (scheme, Type::Unix, Flow::transportName()); only LocalFlow and LocalListener keep Qt's
// name for it, after QLocalSocket and QLocalServer.
class RILL_EXPORT Endpoint
{
    Q_GADGET
    Q_PROPERTY(Type type READ type CONSTANT)
    Q_PROPERTY(QString host READ host CONSTANT)
    Q_PROPERTY(quint16 port READ port CONSTANT)
    Q_PROPERTY(QString path READ path CONSTANT)
public:
    enum class Type { Invalid, Tcp, Unix, Pipe, Local = Unix };
    Q_ENUM(Type)

    Endpoint() = default;
    static Endpoint tcp(const QString &host, quint16 port);
    static Endpoint local(const QString &path); // "unix:PATH"
    static Endpoint pipe(const QString &name);  // "pipe:NAME"

    // Parses text; on failure returns an invalid endpoint and, if error is given, says why
    // (kind InvalidArgument).
    static Endpoint parse(const QString &text, Error *error = nullptr);

    Type type() const { return m_type; }
    bool isValid() const { return m_type != Type::Invalid; }
    QString host() const { return m_host; }
    quint16 port() const { return m_port; }
    QString path() const { return m_path; }
    Q_INVOKABLE QString toString() const;

    friend bool operator==(const Endpoint &a, const Endpoint &b)
    {
        return a.m_type == b.m_type && a.m_host == b.m_host && a.m_port == b.m_port
                && a.m_path == b.m_path;
    }
    friend bool operator!=(const Endpoint &a, const Endpoint &b) { return !(a == b); }

private:
    Type m_type = Type::Invalid;
    QString m_host;
    quint16 m_port = 0;
    QString m_path;
};

RILL_EXPORT QDebug operator<<(QDebug debug, const Endpoint &endpoint);

} // namespace rill

Q_DECLARE_METATYPE(rill::Endpoint)
