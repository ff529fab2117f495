// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// libFuzzer target for rill::Endpoint::parse (lib/src/endpoint.cpp), built with clang++
// -fsanitize=fuzzer,address,undefined by tests/auto/fuzz/CMakeLists.txt.
//
// It checks properties, not only "no crash". For every text:
//   1. parse(text, &error) and parse(text) give the same endpoint;
//   2. invalid: type Invalid, no host, port 0, no path, toString() empty, and the error is of
//      kind InvalidArgument with a message that is not empty and quotes the text;
//   3. valid: the error given was left alone; a tcp endpoint has a host without spaces or
//      control characters and no path, a unix endpoint a path without NUL and no host or port;
//      toString() parses back to an equal endpoint, and printing that gives the same text again.
// Each input is tried twice: as UTF-8 (what a command line gives) and as raw UTF-16 code units
// (any QChar, lone surrogates and NUL included).
#include <rill/endpoint.h>
#include <rill/error.h>

#include <QtCore/QByteArray>
#include <QtCore/QString>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using rill::Endpoint;
using rill::Error;

namespace {

[[noreturn]] void violated(const QString &text, const char *property, const QString &detail = {})
{
    // The text as UTF-16 code units, so that what the terminal cannot show is still exact.
    QByteArray units;
    for (QChar c : text)
        units += QByteArray::number(c.unicode(), 16) + ' ';
    std::fprintf(stderr,
                 "\n*** Endpoint::parse property violated: %s\n"
                 "    text:   \"%s\"\n    UTF-16: %s\n    detail: %s\n",
                 property, text.toUtf8().constData(), units.constData(),
                 detail.toUtf8().constData());
    std::abort();
}

// Concatenated, not chained arg(): a host holding "%1" would be substituted again.
QString show(const Endpoint &e)
{
    return QStringLiteral("type ") + QString::number(int(e.type())) + QStringLiteral(" host \"")
            + e.host() + QStringLiteral("\" port ") + QString::number(e.port())
            + QStringLiteral(" path \"") + e.path() + QStringLiteral("\" toString \"")
            + e.toString() + QLatin1Char('"');
}

void check(const QString &text)
{
    Error error(Error::Kind::Other, QStringLiteral("untouched"));
    const Endpoint e = Endpoint::parse(text, &error);
    const Endpoint again = Endpoint::parse(text);
    if (e != again)
        violated(text, "parse() with and without an error pointer disagree",
                 show(e) + QStringLiteral(" vs ") + show(again));

    if (!e.isValid()) {
        if (e.type() != Endpoint::Type::Invalid || !e.host().isEmpty() || e.port() != 0
            || !e.path().isEmpty() || !e.toString().isEmpty())
            violated(text, "an invalid endpoint carries data", show(e));
        if (error.kind() != Error::Kind::InvalidArgument)
            violated(text, "an invalid endpoint without an InvalidArgument error",
                     rill::errorMessage(error));
        if (error.message().trimmed().isEmpty())
            violated(text, "an invalid endpoint with an empty error message");
        if (!error.message().contains(QLatin1Char('"') + text + QLatin1Char('"')))
            violated(text, "the error message does not quote the text", error.message());
        if (rill::errorMessage(error).isEmpty())
            violated(text, "errorMessage() is empty");
        return;
    }

    if (error.kind() != Error::Kind::Other || error.message() != QLatin1String("untouched"))
        violated(text, "a valid endpoint overwrote the error", rill::errorMessage(error));
    switch (e.type()) {
    case Endpoint::Type::Tcp:
    case Endpoint::Type::Tls:
        if (e.type() == Endpoint::Type::Tcp && !text.startsWith(QLatin1String("tcp:")))
            violated(text, "a tcp endpoint from a text without tcp:", show(e));
        if (e.type() == Endpoint::Type::Tls && !text.startsWith(QLatin1String("tls:")))
            violated(text, "a tls endpoint from a text without tls:", show(e));
        if (e.host().isEmpty() || !e.path().isEmpty())
            violated(text, "a tcp endpoint without a host, or with a path", show(e));
        for (QChar c : e.host()) {
            if (c.isSpace() || c.unicode() < 0x20 || c == QLatin1Char('[') || c == QLatin1Char(']'))
                violated(text, "a host with a space, control character or bracket", show(e));
        }
        break;
    case Endpoint::Type::Pipe:
        if (!text.startsWith(QLatin1String("pipe:")) || e.path() != text.mid(5) || e.path().isEmpty())
            violated(text, "a pipe endpoint whose name is not the text after pipe:", show(e));
        break;
    case Endpoint::Type::Local:
        if (!text.startsWith(QLatin1String("unix:")))
            violated(text, "a unix endpoint from a text without unix:", show(e));
        if (e.path().isEmpty() || e.path().contains(QChar(0)) || !e.host().isEmpty()
            || e.port() != 0)
            violated(text, "a unix endpoint with an empty path, a NUL, a host or a port", show(e));
        if (e.path() != text.mid(5))
            violated(text, "the path is not the text after unix:", show(e));
        break;
    case Endpoint::Type::Invalid:
        break;
    }

    const QString printed = e.toString();
    Error reparseError;
    const Endpoint back = Endpoint::parse(printed, &reparseError);
    if (back != e) {
        violated(text, "toString() does not parse back to an equal endpoint",
                 show(e) + QStringLiteral(" -> ") + show(back) + QStringLiteral(" (")
                         + rill::errorMessage(reparseError) + QStringLiteral(")"));
    }
    if (back.toString() != printed)
        violated(text, "printing is not stable", printed + QStringLiteral(" vs ") + back.toString());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size > 4096)
        return -1; // endpoints are short; long inputs only slow the search down
    check(QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size)));
    std::vector<char16_t> units(size / 2);
    if (!units.empty())
        std::memcpy(units.data(), data, units.size() * sizeof(char16_t));
    check(QString::fromUtf16(units.data(), qsizetype(units.size())));
    return 0;
}
