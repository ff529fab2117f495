// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/flowtext.h>
#include <rill/tlsflow.h>

#include <QtNetwork/QSslCertificate>

namespace rill::FlowText {

QString stateText(Flow::State state)
{
    switch (state) {
    case Flow::State::Connecting:
        return QStringLiteral("connecting");
    case Flow::State::Open:
        return QStringLiteral("open");
    case Flow::State::Closing:
        return QStringLiteral("closing");
    case Flow::State::Closed:
        return QStringLiteral("closed");
    }
    return {};
}

QString readStateText(Flow::ReadState state)
{
    switch (state) {
    case Flow::ReadState::Open:
        return QStringLiteral("open");
    case Flow::ReadState::Eof:
        return QStringLiteral("end of stream");
    case Flow::ReadState::Failed:
        return QStringLiteral("failed");
    }
    return {};
}

QString writeStateText(Flow::WriteState state)
{
    switch (state) {
    case Flow::WriteState::Open:
        return QStringLiteral("open");
    case Flow::WriteState::ShuttingDown:
        return QStringLiteral("shutting down");
    case Flow::WriteState::Closed:
        return QStringLiteral("closed");
    case Flow::WriteState::Failed:
        return QStringLiteral("failed");
    }
    return {};
}

Lamp lamp(Flow::State state)
{
    switch (state) {
    case Flow::State::Open:
        return Lamp::Open;
    case Flow::State::Closing:
        return Lamp::Ending;
    case Flow::State::Connecting:
    case Flow::State::Closed:
        break;
    }
    return Lamp::Idle;
}

Lamp lamp(Flow::ReadState state)
{
    switch (state) {
    case Flow::ReadState::Open:
        return Lamp::Open;
    case Flow::ReadState::Eof:
        return Lamp::Ended;
    case Flow::ReadState::Failed:
        return Lamp::Failed;
    }
    return Lamp::Idle;
}

Lamp lamp(Flow::WriteState state)
{
    switch (state) {
    case Flow::WriteState::Open:
        return Lamp::Open;
    case Flow::WriteState::ShuttingDown:
        return Lamp::Ending;
    case Flow::WriteState::Closed:
        return Lamp::Ended;
    case Flow::WriteState::Failed:
        return Lamp::Failed;
    }
    return Lamp::Idle;
}

namespace {

struct LampInfo {
    Lamp lamp;
    QLatin1StringView name;
    QLatin1StringView color;
};

// The colours the Widgets inspector has always used; grey for idle.
constexpr LampInfo Lamps[] = {
    {Lamp::Idle, QLatin1StringView("idle"), QLatin1StringView("#8c959f")},
    {Lamp::Open, QLatin1StringView("open"), QLatin1StringView("#2e9e44")},
    {Lamp::Ending, QLatin1StringView("ending"), QLatin1StringView("#e09a00")},
    {Lamp::Ended, QLatin1StringView("ended"), QLatin1StringView("#3a78c2")},
    {Lamp::Failed, QLatin1StringView("failed"), QLatin1StringView("#d43c3c")},
};

const LampInfo &infoOf(Lamp lamp)
{
    for (const LampInfo &info : Lamps) {
        if (info.lamp == lamp)
            return info;
    }
    return Lamps[0];
}

} // namespace

QString lampName(Lamp lamp)
{
    return infoOf(lamp).name;
}

Lamp lampNamed(QStringView name)
{
    for (const LampInfo &info : Lamps) {
        if (name == info.name)
            return info.lamp;
    }
    return Lamp::Idle;
}

QString lampColor(Lamp lamp)
{
    return infoOf(lamp).color;
}

QString readResultText(const ReadResult &result)
{
    if (result.isData())
        return {};
    if (result.isEof())
        return QStringLiteral("end of stream");
    return errorMessage(result.error());
}

QString writeResultText(const WriteResult &result)
{
    if (result.isOk())
        return {};
    if (result.isEof())
        return QStringLiteral("the write side is closed (end of stream)");
    return errorMessage(result.error());
}

QString tlsSessionText(const Flow *flow)
{
    const auto *tls = qobject_cast<const TlsFlow *>(flow);
    if (!tls)
        return {};
    if (!tls->isEncrypted())
        return QStringLiteral("handshake running");
    QString text = tls->sessionProtocol() == QSsl::TlsV1_3 ? QStringLiteral("TLS 1.3")
            : tls->sessionProtocol() == QSsl::TlsV1_2      ? QStringLiteral("TLS 1.2")
                                                          : QStringLiteral("TLS");
    text += QStringLiteral(", ") + tls->sessionCipherName();
    if (const QByteArray alpn = tls->nextNegotiatedProtocol(); !alpn.isEmpty())
        text += QStringLiteral(", ALPN ") + QString::fromUtf8(alpn);
    return text;
}

QString peerCertificateText(const Flow *flow, const QDateTime &now)
{
    const auto *tls = qobject_cast<const TlsFlow *>(flow);
    if (!tls)
        return {};
    const QSslCertificate certificate = tls->peerCertificate();
    if (certificate.isNull())
        return tls->isEncrypted() ? QStringLiteral("no certificate") : QString();
    auto name = [](const QSslCertificate &c, bool subject) {
        const auto attribute = QSslCertificate::CommonName;
        QStringList parts = subject ? c.subjectInfo(attribute) : c.issuerInfo(attribute);
        return parts.isEmpty() ? (subject ? c.subjectDisplayName() : c.issuerDisplayName())
                               : QStringLiteral("CN=") + parts.join(QStringLiteral(", CN="));
    };
    const QDateTime expiry = certificate.expiryDate().toUTC();
    const QString date = expiry.toString(Qt::ISODate).left(10);
    const qint64 daysLeft = now.toUTC().daysTo(expiry);
    const QString validity = expiry < now
            ? QStringLiteral("expired on %1").arg(date)
            : QStringLiteral("valid until %1 (%2 left)")
                      .arg(date, daysLeft == 1 ? QStringLiteral("1 day")
                                               : QStringLiteral("%1 days").arg(daysLeft));
    return QStringLiteral("%1, issued by %2, %3").arg(name(certificate, true), name(certificate, false), validity);
}

QString bytes(qint64 count)
{
    if (count < 0)
        return QStringLiteral("-");
    if (count < 1024)
        return QStringLiteral("%1 B").arg(count);
    if (count < 1024 * 1024)
        return QStringLiteral("%1 KiB").arg(double(count) / 1024.0, 0, 'f', count < 10240 ? 1 : 0);
    if (count < 1024LL * 1024 * 1024)
        return QStringLiteral("%1 MiB").arg(double(count) / (1024.0 * 1024.0), 0, 'f', 1);
    return QStringLiteral("%1 GiB").arg(double(count) / (1024.0 * 1024.0 * 1024.0), 0, 'f', 2);
}

QString rate(qint64 bytesPerSecond)
{
    return bytes(bytesPerSecond) + QStringLiteral("/s");
}

namespace {

// The code point of the well-formed UTF-8 sequence at data[at], and its length; 0 if there is
// none (a stray continuation byte, an overlong form, a surrogate, a sequence cut short).
std::pair<char32_t, int> utf8At(QByteArrayView data, qsizetype at)
{
    const auto lead = uchar(data[at]);
    if (lead < 0xc2 || lead > 0xf4)
        return {0, 0};
    const int length = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    if (at + length > data.size())
        return {0, 0};
    char32_t point = lead & (0x7f >> length);
    for (int i = 1; i < length; ++i) {
        const auto next = uchar(data[at + i]);
        if ((next & 0xc0) != 0x80)
            return {0, 0};
        point = (point << 6) | (next & 0x3f);
    }
    const bool overlong = (length == 3 && point < 0x800) || (length == 4 && point < 0x10000);
    if (overlong || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
        return {0, 0};
    return {point, length};
}

} // namespace

QString printable(QByteArrayView data, qint64 totalSize, int maxChars)
{
    QString text;
    text.reserve(qMin<qsizetype>(data.size(), maxChars) + 24);
    qsizetype at = 0;
    for (int shown = 0; at < data.size() && shown < maxChars; ++shown) {
        const char c = data[at];
        const auto u = uchar(c);
        ++at;
        switch (c) {
        case '\n':
            text += QLatin1StringView("\\n");
            continue;
        case '\r':
            text += QLatin1StringView("\\r");
            continue;
        case '\t':
            text += QLatin1StringView("\\t");
            continue;
        case '\\':
            text += QLatin1StringView("\\\\");
            continue;
        default:
            break;
        }
        if (u >= 0x20 && u < 0x7f) {
            text += QLatin1Char(c);
            continue;
        }
        const auto [point, length] = utf8At(data, at - 1);
        if (length > 0 && QChar::isPrint(point)) {
            if (QChar::requiresSurrogates(point)) {
                text += QChar(QChar::highSurrogate(point));
                text += QChar(QChar::lowSurrogate(point));
            } else {
                text += QChar(char16_t(point));
            }
            at += length - 1;
            continue;
        }
        text += QStringLiteral("\\x%1").arg(u, 2, 16, QLatin1Char('0'));
    }
    const qint64 size = qMax<qint64>(totalSize, data.size());
    if (at < size)
        text += QStringLiteral(" … (%1 in all)").arg(bytes(size));
    return text;
}

QStringList hexDump(QByteArrayView data, qint64 totalSize, int maxBytes)
{
    QStringList lines;
    const qsizetype n = qMin<qsizetype>(data.size(), qMax(0, maxBytes));
    for (qsizetype offset = 0; offset < n; offset += 16) {
        QString hex;
        QString ascii;
        for (qsizetype i = offset; i < offset + 16; ++i) {
            if (i < n) {
                const auto b = uchar(data[i]);
                hex += QStringLiteral("%1 ").arg(b, 2, 16, QLatin1Char('0'));
                ascii += (b >= 0x20 && b < 0x7f) ? QLatin1Char(char(b)) : QLatin1Char('.');
            } else {
                hex += QLatin1StringView("   ");
            }
        }
        lines << QStringLiteral("    %1  %2 |%3|")
                     .arg(offset, 4, 16, QLatin1Char('0'))
                     .arg(hex, ascii);
    }
    const qint64 size = qMax<qint64>(totalSize, data.size());
    if (n < size)
        lines << QStringLiteral("    … %1 more").arg(bytes(size - n));
    return lines;
}

} // namespace rill::FlowText
