// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/error.h>

#include <QtCore/QMetaType>
#include <QtCore/QString>

namespace rill {

// Where a flow goes: "tcp:HOST:PORT" (an IPv6 literal in brackets: "tcp:[::1]:80") or
// "unix:PATH". The one parser and printer every Rill program uses.
class RILL_EXPORT Endpoint
{
    Q_GADGET
    Q_PROPERTY(Type type READ type CONSTANT)
    Q_PROPERTY(QString host READ host CONSTANT)
    Q_PROPERTY(quint16 port READ port CONSTANT)
    Q_PROPERTY(QString path READ path CONSTANT)
public:
    enum class Type { Invalid, Tcp, Local };
    Q_ENUM(Type)

    Endpoint() = default;
    static Endpoint tcp(const QString &host, quint16 port);
    static Endpoint local(const QString &path);

    // Parses text; on failure returns an invalid endpoint and, if error is given, says why
    // (kind InvalidArgument).
    static Endpoint parse(const QString &text, Error *error = nullptr);

    Type type() const { return m_type; }
    bool isValid() const { return m_type != Type::Invalid; }
    QString host() const { return m_host; }
    quint16 port() const { return m_port; }
    QString path() const { return m_path; }
    QString toString() const;

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

} // namespace rill

Q_DECLARE_METATYPE(rill::Endpoint)
