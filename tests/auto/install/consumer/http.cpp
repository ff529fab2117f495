// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Uses the installed Rill::Http as a user does: a server and a client over a PipeFlow pair.

#include <rill/http/client.h>
#include <rill/http/server.h>
#include <rill/pipeflow.h>

#include <QtCore/QCoreApplication>

#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    rill::http::Server server;
    server.route("GET", QStringLiteral("/hello"), [](const rill::http::Request &) {
        return QtFuture::makeReadyFuture(rill::http::Response(200, "hello\n", "text/plain"));
    });
    rill::PipeFlow::Pair pair = rill::PipeFlow::createPair();
    server.serveFlow(pair.first.release());
    rill::http::Client client;
    client.sendOver(pair.second.get(), rill::http::Request(QUrl(QStringLiteral("http://pipe/hello"))))
            .then(&app, [](const rill::http::Response &response) {
                const bool ok = response.status() == 200 && response.body() == "hello\n";
                std::printf("rill http: %s\n", ok ? "ok" : "failed");
                QCoreApplication::exit(ok ? 0 : 1);
            });
    return app.exec();
}
