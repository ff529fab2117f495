// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill-http-bench-server: the Qt HTTP servers of rill-bench's http part, one thread each.
//   --mode rill  rill::http::Server on tcp:127.0.0.1:0
//   --mode qt    QHttpServer (Qt 6.4's qt6-httpserver-dev) on 127.0.0.1, a free port; exits 3
//                with "not built" on stderr when this build had no Qt6::HttpServer
// Both answer GET / with the same small fixed body (--body TEXT), Content-Type text/plain, and
// with --file PATH GET /file with that file: Rill streams it from disk (a DeviceFlow over a
// QFile as the response's body flow); QHttpServer 6.4 has only QHttpServerResponse::fromFile(),
// which reads the whole file into memory for each request. The port goes to stdout; the server
// runs until stdin closes (the benchmark ends) or it is killed.

#include <rill/deviceflow.h>
#include <rill/http/server.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QSocketNotifier>

#ifdef RILL_BENCH_QHTTPSERVER
#include <QtHttpServer/QHttpServer>
#include <QtHttpServer/QHttpServerResponse>
#endif

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    QString mode;
    QByteArray body = QByteArrayLiteral("Hello, world!\n");
    QString file;
    for (int i = 1; i + 1 < args.size(); i += 2) {
        if (args.at(i) == QLatin1String("--mode"))
            mode = args.at(i + 1);
        else if (args.at(i) == QLatin1String("--body"))
            body = args.at(i + 1).toUtf8();
        else if (args.at(i) == QLatin1String("--file"))
            file = args.at(i + 1);
    }
    if (mode != QLatin1String("rill") && mode != QLatin1String("qt")) {
        std::fprintf(stderr, "usage: rill-http-bench-server --mode rill|qt [--body TEXT] [--file PATH]\n");
        return 2;
    }

    quint16 port = 0;
    rill::http::Server rillServer;
#ifdef RILL_BENCH_QHTTPSERVER
    QHttpServer qtServer;
#endif
    if (mode == QLatin1String("rill")) {
        // An immediate handler, as QHttpServer's: neither makes a future per request.
        rillServer.route("GET", QStringLiteral("/"), [body](const rill::http::Request &) {
            return rill::http::Response(200, body, "text/plain");
        });
        if (!file.isEmpty()) {
            // Streamed: the server reads the file as it sends it, never all of it at once.
            rillServer.route("GET", QStringLiteral("/file"), [file](const rill::http::Request &) {
                auto *device = new QFile(file);
                if (!device->open(QIODevice::ReadOnly)) {
                    delete device;
                    return rill::http::Response(404, "no such file\n", "text/plain");
                }
                auto *flow = new rill::DeviceFlow(device);
                device->setParent(flow); // goes with the flow, which the response's body owns
                rill::http::Response response(200);
                response.headers().set("Content-Type", "application/octet-stream");
                response.setBodyFlow(rill::http::makeBodyFlow(flow), device->size());
                return response;
            });
        }
        if (!rillServer.listen(rill::Endpoint::parse(QStringLiteral("tcp:127.0.0.1:0")))) {
            std::fprintf(stderr, "rill-http-bench-server: %s\n",
                         qPrintable(rill::errorMessage(rillServer.listener()->error())));
            return 1;
        }
        port = rillServer.endpoint().port();
    } else {
#ifdef RILL_BENCH_QHTTPSERVER
        qtServer.route(QStringLiteral("/"), [body] {
            return QHttpServerResponse("text/plain", body);
        });
        if (!file.isEmpty()) {
            qtServer.route(QStringLiteral("/file"), [file] {
                return QHttpServerResponse::fromFile(file);
            });
        }
        port = qtServer.listen(QHostAddress::LocalHost, 0);
        if (port == 0) {
            std::fprintf(stderr, "rill-http-bench-server: QHttpServer cannot listen\n");
            return 1;
        }
#else
        std::fprintf(stderr, "rill-http-bench-server: QHttpServer not built (no Qt6::HttpServer)\n");
        return 3;
#endif
    }

    // The benchmark closes our stdin when it is done (or dies): leave at once.
    QSocketNotifier stdinWatch(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinWatch, &QSocketNotifier::activated, &app, [] {
        char c[64];
        if (::read(STDIN_FILENO, c, sizeof c) <= 0)
            std::_Exit(0);
    });

    std::printf("%u\n", unsigned(port));
    std::fflush(stdout);
    return app.exec();
}
