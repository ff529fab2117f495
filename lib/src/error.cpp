// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/error.h>
#include <rill/result.h>

#include <QtCore/QDebug>

#include <cerrno>
#include <cstring>

namespace rill {

Error::Error(Kind kind, const QString &message, const QString &endpoint)
    : m_kind(kind), m_message(message), m_endpoint(endpoint)
{}

Error Error::withEndpoint(const QString &endpoint) const
{
    Error copy = *this;
    copy.m_endpoint = endpoint;
    return copy;
}

Error Error::fromErrno(int errnoValue, const QString &endpoint)
{
    Kind kind = Kind::Other;
    switch (errnoValue) {
    case ECONNREFUSED:
        kind = Kind::Refused;
        break;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        kind = Kind::Reset;
        break;
    case ETIMEDOUT:
        kind = Kind::TimedOut;
        break;
    case EACCES:
    case EPERM:
        kind = Kind::AccessDenied;
        break;
    case EADDRINUSE:
        kind = Kind::AddressInUse;
        break;
    case ENOENT:
    case EHOSTUNREACH:
    case ENETUNREACH:
        kind = Kind::HostNotFound;
        break;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        kind = Kind::OutOfResources;
        break;
    case EINVAL:
    case ENAMETOOLONG:
    case EBADF:
        kind = Kind::InvalidArgument;
        break;
    default:
        break;
    }
    return Error(kind, QString::fromLocal8Bit(std::strerror(errnoValue)).toLower(), endpoint);
}

QString errorKindName(Error::Kind kind)
{
    switch (kind) {
    case Error::Kind::None:
        return QStringLiteral("no error");
    case Error::Kind::Closed:
        return QStringLiteral("closed");
    case Error::Kind::Refused:
        return QStringLiteral("connection refused");
    case Error::Kind::Reset:
        return QStringLiteral("connection reset");
    case Error::Kind::TimedOut:
        return QStringLiteral("timed out");
    case Error::Kind::HostNotFound:
        return QStringLiteral("not found");
    case Error::Kind::AccessDenied:
        return QStringLiteral("access denied");
    case Error::Kind::AddressInUse:
        return QStringLiteral("address in use");
    case Error::Kind::Aborted:
        return QStringLiteral("aborted");
    case Error::Kind::InvalidArgument:
        return QStringLiteral("invalid argument");
    case Error::Kind::Unsupported:
        return QStringLiteral("unsupported");
    case Error::Kind::LineTooLong:
        return QStringLiteral("line too long");
    case Error::Kind::Canceled:
        return QStringLiteral("canceled");
    case Error::Kind::Discarded:
        return QStringLiteral("input discarded");
    case Error::Kind::OutOfResources:
        return QStringLiteral("out of resources");
    case Error::Kind::Truncated:
        return QStringLiteral("truncated");
    case Error::Kind::Tls:
        return QStringLiteral("TLS error");
    case Error::Kind::Other:
        break;
    }
    return QStringLiteral("error");
}

QString errorMessage(const Error &error)
{
    QString text = error.message().isEmpty() ? errorKindName(error.kind()) : error.message();
    if (!error.endpoint().isEmpty())
        text = error.endpoint() + QStringLiteral(": ") + text;
    return text;
}

QDebug operator<<(QDebug debug, const Error &error)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::Error(" << errorKindName(error.kind());
    if (!error.endpoint().isEmpty())
        debug << ", " << error.endpoint();
    if (!error.message().isEmpty())
        debug << ", " << error.message();
    debug << ')';
    return debug;
}

ReadResult ReadResult::fromData(const QByteArray &data)
{
    ReadResult result;
    result.m_status = Status::Data;
    result.m_data = data;
    return result;
}

ReadResult ReadResult::fromError(const Error &error)
{
    ReadResult result;
    result.m_status = Status::Error;
    result.m_error = error;
    return result;
}

WriteResult WriteResult::eof()
{
    WriteResult result;
    result.m_status = Status::Eof;
    return result;
}

WriteResult WriteResult::fromError(const Error &error)
{
    WriteResult result;
    result.m_status = Status::Error;
    result.m_error = error;
    return result;
}

QDebug operator<<(QDebug debug, const ReadResult &result)
{
    QDebugStateSaver saver(debug);
    debug.nospace();
    if (result.isData())
        debug << "rill::ReadResult(data, " << result.data().size() << " bytes)";
    else if (result.isEof())
        debug << "rill::ReadResult(eof)";
    else
        debug << "rill::ReadResult(" << result.error() << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const WriteResult &result)
{
    QDebugStateSaver saver(debug);
    debug.nospace();
    if (result.isOk())
        debug << "rill::WriteResult(ok)";
    else if (result.isEof())
        debug << "rill::WriteResult(eof)";
    else
        debug << "rill::WriteResult(" << result.error() << ')';
    return debug;
}

CloseResult CloseResult::ok(qint64 bytesDiscarded)
{
    CloseResult result;
    result.m_bytesDiscarded = bytesDiscarded;
    return result;
}

CloseResult CloseResult::fromError(const Error &error, qint64 bytesDiscarded)
{
    CloseResult result = ok(bytesDiscarded);
    result.m_error = error;
    return result;
}

QDebug operator<<(QDebug debug, const CloseResult &result)
{
    QDebugStateSaver saver(debug);
    debug.nospace();
    if (result.isOk())
        debug << "rill::CloseResult(ok";
    else
        debug << "rill::CloseResult(" << result.error();
    if (result.bytesDiscarded())
        debug << ", " << result.bytesDiscarded() << " bytes discarded";
    debug << ')';
    return debug;
}

} // namespace rill
