// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "text_p.h"

namespace rill::test {

Q_LOGGING_CATEGORY(lcTest, "rill.test", QtWarningMsg)

namespace {

QString escaped(QByteArrayView bytes)
{
    QString text;
    text.reserve(bytes.size());
    for (char c : bytes) {
        switch (c) {
        case '\r':
            text += QLatin1String("\\r");
            break;
        case '\n':
            text += QLatin1String("\\n");
            break;
        case '\t':
            text += QLatin1String("\\t");
            break;
        case '\\':
            text += QLatin1String("\\\\");
            break;
        case '"':
            text += QLatin1String("\\\"");
            break;
        default:
            if (uchar(c) >= 0x20 && uchar(c) < 0x7f)
                text += QLatin1Char(c);
            else
                text += QStringLiteral("\\x%1").arg(uchar(c), 2, 16, QLatin1Char('0'));
        }
    }
    return text;
}

} // namespace

QString quoted(QByteArrayView bytes, qsizetype maxBytes)
{
    if (bytes.size() <= maxBytes)
        return QLatin1Char('"') + escaped(bytes) + QLatin1Char('"');
    return QLatin1Char('"') + escaped(bytes.first(maxBytes))
        + QStringLiteral("\"... (%1 bytes)").arg(bytes.size());
}

QString describeDifference(QByteArrayView actual, QByteArrayView expected, qint64 base)
{
    if (actual == expected)
        return {};
    qsizetype at = 0;
    const qsizetype common = qMin(actual.size(), expected.size());
    while (at < common && actual[at] == expected[at])
        ++at;
    // Context: a little before the difference, more after it.
    constexpr qsizetype Before = 24;
    constexpr qsizetype After = 40;
    const qsizetype from = qMax<qsizetype>(at - Before, 0);
    const auto window = [&](QByteArrayView bytes) {
        const qsizetype to = qMin(bytes.size(), at + After);
        QString text
            = escaped(bytes.sliced(qMin(from, bytes.size()), qMax<qsizetype>(to - from, 0)));
        if (from > 0)
            text.prepend(QLatin1String("..."));
        if (to < bytes.size())
            text += QLatin1String("...");
        return text;
    };
    const QString expectedText = window(expected);
    const QString actualText = window(actual);
    // The caret sits under the first differing byte of the actual line.
    const qsizetype caret
        = (from > 0 ? 3 : 0) + escaped(actual.sliced(from, qMin(at, actual.size()) - from)).size();
    QString what;
    if (at == actual.size())
        what = QStringLiteral("actual ends at offset %1, expected %2 bytes")
                   .arg(base + at)
                   .arg(base + expected.size());
    else if (at == expected.size())
        what = QStringLiteral("actual has %1 bytes more than expected, from offset %2")
                   .arg(actual.size() - expected.size())
                   .arg(base + at);
    else
        what = QStringLiteral("first difference at offset %1").arg(base + at);
    return QStringLiteral(
        "%1 (actual %2 bytes, expected %3)\n   actual: \"%4\"\n           %5^\n expected: \"%6\"")
        .arg(what)
        .arg(actual.size())
        .arg(expected.size())
        .arg(actualText, QString(caret + 1, QLatin1Char(' ')), expectedText);
}

} // namespace rill::test
