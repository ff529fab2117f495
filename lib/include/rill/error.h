// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/global.h>

#include <QtCore/QMetaType>
#include <QtCore/QObject>
#include <QtCore/QString>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace rill {

// A value type: cheap to copy (two implicitly shared strings and an enum).
class RILL_EXPORT Error
{
    Q_GADGET
    Q_PROPERTY(Kind kind READ kind CONSTANT)
    Q_PROPERTY(QString message READ message CONSTANT)
    Q_PROPERTY(QString endpoint READ endpoint CONSTANT)
public:
    enum class Kind {
        None,
        Closed,
        Refused,
        Reset,
        TimedOut,
        HostNotFound,
        AccessDenied,
        AddressInUse,
        Aborted,
        InvalidArgument,
        Unsupported,
        Other,
        LineTooLong, // a Channel read found no end of line (or delimiter) within its maxLength
        Canceled,       // the caller cancelled the operation's future
        Discarded,      // input was discarded unread (close() with more unread than it keeps)
        OutOfResources, // out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
    };
    Q_ENUM(Kind)

    Error() = default;
    Error(Kind kind, const QString &message, const QString &endpoint = {});

    bool isNone() const { return m_kind == Kind::None; }
    Kind kind() const { return m_kind; }
    QString message() const { return m_message; }
    QString endpoint() const { return m_endpoint; }

    // The same error, naming the endpoint it happened on.
    Error withEndpoint(const QString &endpoint) const;

    static Error fromErrno(int errnoValue, const QString &endpoint = {});

    friend bool operator==(const Error &a, const Error &b)
    {
        return a.m_kind == b.m_kind && a.m_message == b.m_message && a.m_endpoint == b.m_endpoint;
    }
    friend bool operator!=(const Error &a, const Error &b) { return !(a == b); }

private:
    Kind m_kind = Kind::None;
    QString m_message;
    QString m_endpoint;
};

// "tcp:127.0.0.1:4000: connection refused": one line, for logs and users.
RILL_EXPORT QString errorMessage(const Error &error);
// The short name of a kind, e.g. "refused", "reset".
RILL_EXPORT QString errorKindName(Error::Kind kind);

RILL_EXPORT QDebug operator<<(QDebug debug, const Error &error);

} // namespace rill

Q_DECLARE_METATYPE(rill::Error)
