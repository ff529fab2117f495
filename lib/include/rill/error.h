// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::Error, what went wrong and where.

#include <rill/global.h>

#include <QtCore/QMetaType>
#include <QtCore/QObject>
#include <QtCore/QString>

QT_BEGIN_NAMESPACE
class QDebug;
QT_END_NAMESPACE

namespace rill {

/// What went wrong in an operation: a kind to branch on, a message for people, and the endpoint
/// it happened on.
///
/// A value type, cheap to copy (two implicitly shared strings and an enum). A default-constructed
/// error has kind Kind::None: no error. errorMessage() makes the one line to show or log.
///
/// \sa errorMessage(), errorKindName(), Flow::error()
class RILL_EXPORT Error
{
    Q_GADGET
    /// The kind of error, to branch on. \sa kind()
    Q_PROPERTY(Kind kind READ kind CONSTANT)
    /// The message for people, without the endpoint. \sa message()
    Q_PROPERTY(QString message READ message CONSTANT)
    /// The endpoint the error happened on, as text; empty if none. \sa endpoint()
    Q_PROPERTY(QString endpoint READ endpoint CONSTANT)
public:
    /// The kinds of error. errorKindName() gives each one's short name.
    enum class Kind {
        None,   ///< No error.
        /// Closed: accept() on a listener that is closed, a stream that ended before the data a
        /// Channel read asked for, a write side closed under a Channel or a copy().
        Closed,
        Refused, ///< The peer refused the connection (ECONNREFUSED).
        /// The peer reset or dropped the connection (ECONNRESET, EPIPE, ECONNABORTED), or the
        /// other end of a PipeFlow was aborted or destroyed.
        Reset,
        /// A deadline passed (of the operation, a connect, close(), or the idle timeout with
        /// Flow::IdleAction::Abort), or ETIMEDOUT.
        TimedOut,
        /// The host or socket path was not found or cannot be reached (ENOENT, EHOSTUNREACH,
        /// ENETUNREACH).
        HostNotFound,
        AccessDenied, ///< Not allowed (EACCES, EPERM).
        AddressInUse, ///< The address to listen on is taken (EADDRINUSE).
        /// The operation was dropped: Flow::abort(), or its flow, listener or channel was
        /// destroyed, or its thread ended.
        Aborted,
        /// An argument the operation cannot use, such as an invalid endpoint or a null flow
        /// (also EINVAL, ENAMETOOLONG, EBADF).
        InvalidArgument,
        Unsupported, ///< The transport cannot do it (shutdown(Write) of a Windows named pipe).
        Other,       ///< Any other error; the message says what.
        LineTooLong, ///< A Channel read found no end of line (or delimiter) within its maxLength.
        Canceled,    ///< The caller cancelled the operation's future.
        /// Input was discarded unread (close() with more unread than it keeps).
        Discarded,
        OutOfResources, ///< Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
        /// The stream was cut: the flow under a TlsFlow ended without the peer's close_notify,
        /// so what arrived may not be all the peer sent.
        Truncated,
        /// TLS failed: the handshake (a certificate not trusted, expired or for another name,
        /// no shared cipher or version, a certificate missing), or a record that does not
        /// decrypt, or an alert from the peer. The message says which in plain words.
        Tls,
    };
    Q_ENUM(Kind)

    /// No error (kind Kind::None).
    Error() = default;
    /// An error of \a kind with \a message (for people) on \a endpoint (as text, may be empty).
    Error(Kind kind, const QString &message, const QString &endpoint = {});

    /// True for kind Kind::None: no error.
    bool isNone() const { return m_kind == Kind::None; }
    /// The kind of error.
    Kind kind() const { return m_kind; }
    /// The message for people, without the endpoint; errorMessage() prefixes it.
    QString message() const { return m_message; }
    /// The endpoint the error happened on ("tcp:127.0.0.1:4000"), or empty.
    QString endpoint() const { return m_endpoint; }

    /// The same error, naming \a endpoint as the one it happened on.
    Error withEndpoint(const QString &endpoint) const;

    /// The error for the C library's error number \a errnoValue on \a endpoint: its kind as
    /// listed under Kind (Other if none fits), the system's message in lower case.
    static Error fromErrno(int errnoValue, const QString &endpoint = {});

    /// True if kind, message and endpoint are all equal.
    friend bool operator==(const Error &a, const Error &b)
    {
        return a.m_kind == b.m_kind && a.m_message == b.m_message && a.m_endpoint == b.m_endpoint;
    }
    /// True if kind, message or endpoint differ.
    friend bool operator!=(const Error &a, const Error &b) { return !(a == b); }

private:
    Kind m_kind = Kind::None;
    QString m_message;
    QString m_endpoint;
};

/// The error as one line, for logs and users: "tcp:127.0.0.1:4000: connection refused".
///
/// The endpoint (if any), then the message, or errorKindName() when the message is empty.
RILL_EXPORT QString errorMessage(const Error &error);
/// The short name of \a kind, such as "connection refused" or "timed out"; "no error" for
/// Error::Kind::None.
RILL_EXPORT QString errorKindName(Error::Kind kind);

/// Writes \a error to \a debug as rill::Error(kind, endpoint, message).
RILL_EXPORT QDebug operator<<(QDebug debug, const Error &error);

} // namespace rill

Q_DECLARE_METATYPE(rill::Error)
