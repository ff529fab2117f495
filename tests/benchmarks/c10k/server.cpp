// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill-c10k-server: the Qt servers of rill-bench's c10k part, one thread each.
//   --mode qt    QTcpServer + QTcpSocket: on readyRead, read everything there is and write it back
//   --mode rill  TcpListener + TcpFlow: each flow a read() -> write() loop through its futures,
//                one read always pending (what an idle Rill server connection looks like)
//   --mode rill-callback  the same loop through read(context, callback) and
//                write(buffer, context, callback): no future per message
//   --threads N  (rill) accepted flows spread over N worker threads, each with its reactor
//                (TcpListener::setWorkerThreads()); the main thread only accepts
// Listens on 127.0.0.1 on a free port, prints the port and the event dispatcher's class on
// stdout (so the benchmark can tell which one it measured), and serves until stdin closes
// (the benchmark ends) or it is killed. The dispatcher (QT_NO_GLIB) and Rill's reactor
// (RILL_REACTOR) come from the environment the benchmark sets.

#include <rill/listener.h>
#include <rill/tcpflow.h>

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QCoreApplication>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>
#include <sys/resource.h>
#include <unistd.h>

namespace {

// ---- raw Qt

void serveQt(QTcpSocket *socket)
{
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1); // as TcpFlow's default
    QObject::connect(socket, &QIODevice::readyRead, socket, [socket] {
        char buffer[65536];
        while (socket->bytesAvailable() > 0) {
            const qint64 n = socket->read(buffer, sizeof buffer);
            if (n <= 0)
                break;
            socket->write(buffer, n);
        }
        // Qt would send on the next write notification, one more pass of its event loop;
        // flush() sends now, Qt's best case.
        socket->flush();
    });
    QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
}

bool listenQt(QTcpServer &server)
{
    server.setMaxPendingConnections(INT_MAX); // the handler below takes them all at once
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        std::fprintf(stderr, "rill-c10k-server: %s\n", qPrintable(server.errorString()));
        return false;
    }
    QObject::connect(&server, &QTcpServer::newConnection, &server, [&server] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            socket->setParent(nullptr); // lives until its peer goes, not with the server
            serveQt(socket);
        }
    });
    return true;
}

// ---- Rill

void serveFlow(rill::Flow *flow);

// Writes back what a read gave; true to read again at once. The flow is the continuations'
// context, so nothing runs after it is deleted.
bool echo(rill::Flow *flow, const rill::ReadResult &r)
{
    if (!r.isData()) { // the peer went: end of stream or an error
        flow->deleteLater();
        return false;
    }
    QFuture<rill::WriteResult> w = flow->write(r.data());
    if (!w.isFinished()) { // above the high-water mark: read again once it is accepted
        w.then(flow, [flow](rill::WriteResult result) {
            if (result.isOk())
                serveFlow(flow);
            else
                flow->deleteLater();
        });
        return false;
    }
    if (!w.result().isOk()) {
        flow->deleteLater();
        return false;
    }
    return true;
}

void serveFlow(rill::Flow *flow)
{
    for (;;) {
        QFuture<rill::ReadResult> f = flow->read();
        if (!f.isFinished()) {
            f.then(flow, [flow](rill::ReadResult r) {
                if (echo(flow, r))
                    serveFlow(flow);
            });
            return;
        }
        if (!echo(flow, f.result()))
            return;
    }
}

// The same echo with callbacks: a write accepted at once calls back inside write(), and the
// next read's callback inside read() when data is buffered (bounded: each read takes all).
void serveFlowWithCallbacks(rill::Flow *flow)
{
    flow->read(flow, [flow](const rill::ReadResult &r) {
        if (!r.isData()) {
            flow->deleteLater();
            return;
        }
        flow->write(r.data(), flow, [flow](const rill::WriteResult &w) {
            if (w.isOk())
                serveFlowWithCallbacks(flow);
            else
                flow->deleteLater();
        });
    });
}

bool g_callbacks = false;

// Takes every connection that is waiting, then waits for the next.
void acceptFlows(rill::TcpListener *listener)
{
    for (;;) {
        QFuture<rill::FlowResult<rill::TcpFlow>> f = listener->accept();
        auto take = [listener](rill::FlowResult<rill::TcpFlow> r) {
            if (!r.isOk()) {
                // Out of descriptors or memory: the listener retries by itself; anything else
                // (closed) ends serving.
                return r.error().kind() == rill::Error::Kind::OutOfResources;
            }
            rill::TcpFlow *flow = r.takeFlow().release(); // deletes itself when its peer goes
            const auto serve = g_callbacks ? serveFlowWithCallbacks : serveFlow;
            if (flow->thread() == QThread::currentThread())
                serve(flow);
            else // handed to a worker: its loop runs there
                QMetaObject::invokeMethod(flow, [flow, serve] { serve(flow); });
            return true;
        };
        if (!f.isFinished()) {
            f.then(listener, [listener, take](rill::FlowResult<rill::TcpFlow> r) {
                if (take(r))
                    acceptFlows(listener);
            });
            return;
        }
        if (!take(f.result()))
            return;
    }
}

} // namespace

int main(int argc, char **argv)
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const qsizetype at = args.indexOf(QStringLiteral("--mode"));
    const QString mode = at >= 0 && at + 1 < args.size() ? args.at(at + 1) : QString();
    if (mode != QLatin1String("qt") && mode != QLatin1String("rill")
        && mode != QLatin1String("rill-callback")) {
        std::fprintf(stderr, "usage: rill-c10k-server --mode qt|rill|rill-callback\n");
        return 2;
    }
    g_callbacks = mode == QLatin1String("rill-callback");

    const qsizetype threadsAt = args.indexOf(QStringLiteral("--threads"));
    const int threads = threadsAt >= 0 && threadsAt + 1 < args.size() ? args.at(threadsAt + 1).toInt() : 0;
    std::vector<std::unique_ptr<QThread>> workers;
    QList<QThread *> workerList;
    for (int i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<QThread>());
        workers.back()->start();
        workerList.append(workers.back().get());
    }

    QTcpServer qtServer;
    rill::TcpListener listener;
    listener.setWorkerThreads(workerList);
    quint16 port = 0;
    if (mode == QLatin1String("qt")) {
        if (!listenQt(qtServer))
            return 1;
        port = qtServer.serverPort();
    } else {
        if (!listener.listen(QHostAddress::LocalHost, 0)) {
            std::fprintf(stderr, "rill-c10k-server: %s\n", qPrintable(rill::errorMessage(listener.error())));
            return 1;
        }
        listener.setMaxPendingConnections(INT_MAX);
        acceptFlows(&listener);
        port = listener.serverPort();
    }

    // The benchmark closes our stdin when it is done (or dies): leave at once, without tearing
    // down thousands of connections one by one.
    QSocketNotifier stdinWatch(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinWatch, &QSocketNotifier::activated, &app, [] {
        char c[64];
        if (::read(STDIN_FILENO, c, sizeof c) <= 0)
            std::_Exit(0);
    });

    std::printf("%u %s\n", unsigned(port), QAbstractEventDispatcher::instance()->metaObject()->className());
    std::fflush(stdout);
    return app.exec();
}
