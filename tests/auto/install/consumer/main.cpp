// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Uses the installed Rill: a pipe pair, a request, a reply (the server's end through Flow's
// callback forms), both ends closed. Prints
// "rill consumer: ok", then the version it was compiled with and the one it runs with, and exits
// 0 when all went as it should. Built by CMake, qmake and a plain compiler call with pkg-config
// (install_test.cmake), so it needs only the core library. A TlsFlow too: the installed library
// brings OpenSSL along by itself, the consumer links nothing more.
#include <rill/pipeflow.h>
#include <rill/tlsflow.h>
#include <rill/version.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>
#include <QtCore/QTextStream>

#include <functional>

namespace {

// Reads until the end of the stream, then calls done with everything read and the end.
void readAll(rill::Flow *flow, QByteArray sofar, std::function<void(QByteArray, rill::ReadResult)> done)
{
    flow->read().then(flow, [=](const rill::ReadResult &r) {
        if (r.isData())
            readAll(flow, sofar + r.data(), done);
        else
            done(sofar, r);
    });
}

// The same through Flow's callback form: no future per read.
void readAllByCallback(rill::Flow *flow, QByteArray sofar,
                       std::function<void(QByteArray, rill::ReadResult)> done)
{
    flow->read(flow, [=](const rill::ReadResult &r) {
        if (r.isData())
            readAllByCallback(flow, sofar + r.data(), done);
        else
            done(sofar, r);
    });
}

int fail(const QString &why)
{
    QTextStream(stderr) << "rill consumer: " << why << Qt::endl;
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    auto [client, server] = rill::PipeFlow::createPair();
    if (client->highWaterMark() != rill::Flow::DefaultHighWaterMark)
        return fail(QStringLiteral("unexpected default high-water mark"));

    QByteArray reply;
    rill::ReadResult end;
    int closed = 0;
    auto closedOne = [&closed, &app] {
        if (++closed == 2)
            app.quit();
    };
    rill::Flow *c = client.get();
    rill::Flow *s = server.get();
    c->writev({QByteArrayLiteral("hello"), QByteArrayLiteral(", rill")});
    c->shutdown(rill::Flow::Direction::Write);
    readAllByCallback(s, {}, [s, closedOne](const QByteArray &request, const rill::ReadResult &) {
        s->write("echo: " + request, s, [s, closedOne](const rill::WriteResult &) {
            s->close().then(s, [closedOne](const rill::CloseResult &) { closedOne(); });
        });
    });
    readAll(c, {}, [c, &reply, &end, closedOne](const QByteArray &data, const rill::ReadResult &r) {
        reply = data;
        end = r;
        c->close().then(c, [closedOne](const rill::CloseResult &) { closedOne(); });
    });

    QTimer::singleShot(30000, &app, [&] { app.exit(2); });
    const int rc = app.exec();
    if (rc != 0)
        return fail(QStringLiteral("timed out"));
    if (reply != "echo: hello, rill")
        return fail(QStringLiteral("unexpected reply: ") + QString::fromUtf8(reply));
    if (!end.isEof())
        return fail(QStringLiteral("the reply did not end with Eof: ") + rill::errorMessage(end.error()));
    if (client->state() != rill::Flow::State::Closed || server->state() != rill::Flow::State::Closed)
        return fail(QStringLiteral("the flows did not close"));
#if RILL_VERSION < RILL_VERSION_CHECK(0, 1, 0)
#error "RILL_VERSION is older than the first release"
#endif
    if (RILL_VERSION
        != RILL_VERSION_CHECK(RILL_VERSION_MAJOR, RILL_VERSION_MINOR, RILL_VERSION_PATCH))
        return fail(QStringLiteral("RILL_VERSION does not match its parts"));

    // A TLS server without a certificate fails (kind Tls) as soon as the event loop runs.
    auto [wire, other] = rill::PipeFlow::createPair();
    rill::TlsFlow tls(wire.release(), rill::TlsFlow::Mode::Server,
                      QSslConfiguration::defaultConfiguration());
    rill::Error tlsError;
    tls.read().then(&tls, [&](const rill::ReadResult &r) {
        tlsError = r.error();
        app.quit();
    });
    QTimer::singleShot(30000, &app, [&] { app.exit(2); });
    if (app.exec() != 0 || tlsError.kind() != rill::Error::Kind::Tls)
        return fail(QStringLiteral("a TLS server without a certificate did not fail as it should: ")
                    + rill::errorMessage(tlsError));
    QTextStream(stdout) << "rill consumer: ok" << Qt::endl
                        << "compiled with " << RILL_VERSION_STR << ", runs with " << rill::version()
                        << Qt::endl;
    return 0;
}
