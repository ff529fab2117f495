// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// libFuzzer target for Rill::Http's request parsing path (lib/http/src/parser.cpp over llhttp),
// built with clang++ -fsanitize=fuzzer,address,undefined by tests/auto/fuzz/CMakeLists.txt.
//
// The server feeds the parser whatever segments the connection gives, and re-feeds what
// follows a complete request (pipelining). So for every input, it checks:
//   1. fed whole, or cut into pieces (cut points drawn from the input itself), the parser
//      reports the same requests: the same heads, the same body bytes, the same trailers, and
//      ends in the same state (waiting, complete, head too large, invalid);
//   2. no head has both a Content-Length and chunked framing (smuggling), no field name holds
//      whitespace, a Content-Length is never negative but -1 (none);
//   3. no crash, leak or undefined behaviour (the sanitizers).
#include "parser_p.h"

#include <QtCore/QByteArray>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace rill::http;

namespace {

[[noreturn]] void violated(const QByteArray &input, const char *property, const QByteArray &detail = {})
{
    std::fprintf(stderr, "\n*** request parser property violated: %s\n    input (hex): %s\n    detail: %s\n",
                 property, input.toHex().constData(), detail.constData());
    std::abort();
}

// Parses input in the pieces cuts gives; returns a log of what the parser reported.
QByteArray drive(const QByteArray &input, const std::vector<qsizetype> &cuts)
{
    Parser parser(Parser::Type::Request);
    parser.setMaxHeadSize(4096);
    QByteArray log;
    QByteArray body;
    parser.onHead = [&](const MessageHead &h) {
        if (h.contentLength >= 0 && h.chunked)
            violated(input, "a head with Content-Length and chunked framing");
        if (h.contentLength < -1)
            violated(input, "a negative Content-Length");
        log += "H " + h.method + ' ' + h.target + " 1." + QByteArray::number(h.minor) + " cl="
                + QByteArray::number(h.contentLength) + (h.chunked ? " chunked" : "")
                + (h.keepAlive ? " keep" : " close") + '\n';
        for (const Headers::Field &f : h.headers.fields()) {
            if (f.first.contains(' ') || f.first.contains('\t'))
                violated(input, "whitespace in a field name", f.first);
            log += "  " + f.first + ": " + f.second + '\n';
        }
        return true;
    };
    parser.onBody = [&](QByteArrayView data) {
        body.append(data);
        return true;
    };
    parser.onComplete = [&](const Headers &trailers) {
        log += "B " + body.toHex() + '\n';
        body.clear();
        for (const Headers::Field &f : trailers.fields())
            log += "  T " + f.first + ": " + f.second + '\n';
        log += "C\n";
    };
    qsizetype from = 0;
    std::vector<qsizetype> ends = cuts;
    ends.push_back(input.size());
    for (qsizetype to : ends) {
        QByteArray data = input.mid(from, to - from);
        from = to;
        while (!data.isEmpty()) {
            const Parser::Result r = parser.feed(data);
            if (r.status == Parser::Status::Complete) {
                if (r.consumed < 0 || r.consumed > data.size())
                    violated(input, "consumed out of range", QByteArray::number(r.consumed));
                data = data.mid(r.consumed);
                continue;
            }
            if (r.status == Parser::Status::NeedMore)
                break;
            // A failed message: the connection closes, nothing after it counts. The body bytes
            // handed out before the failure depend on the cuts, so they are not compared.
            log += r.status == Parser::Status::HeadTooLarge ? "E head too large\n" : "E invalid\n";
            return log;
        }
    }
    log += parser.inMessage() ? "W in message\n" : "W between messages\n";
    return log;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    const QByteArray whole = drive(input, {});
    // Cut points from the input's bytes: deterministic, and the fuzzer explores them too.
    std::vector<qsizetype> cuts;
    quint32 x = 2166136261u;
    for (char c : input)
        x = (x ^ quint8(c)) * 16777619u;
    for (qsizetype at = 0; input.size() > 1 && cuts.size() < 8;) {
        at += 1 + qsizetype(x % 7);
        x = x * 1103515245u + 12345u;
        if (at >= input.size())
            break;
        cuts.push_back(at);
    }
    std::vector<qsizetype> bytewise;
    for (qsizetype i = 1; i < input.size() && input.size() <= 512; ++i)
        bytewise.push_back(i);
    const QByteArray cut = drive(input, cuts);
    const QByteArray single = drive(input, bytewise);
    if (cut != whole)
        violated(input, "cut into pieces, the parser reports otherwise", whole + "---\n" + cut);
    if (single != whole)
        violated(input, "byte by byte, the parser reports otherwise", whole + "---\n" + single);
    return 0;
}
