// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// An echo server with one reactor per core: the main thread accepts, and hands each accepted
// flow to one of N worker threads (TcpListener::setWorkerThreads()), where that thread's
// reactor serves it. Each flow is an echo loop of futures whose continuations run in the flow's
// own thread (the flow is their context), so the threads share nothing.
//
//   reactor-per-core [--port PORT] [--threads N]      (N: QThread::idealThreadCount())
//
// Prints "listening on tcp:127.0.0.1:PORT, N reactors" and serves until stdin closes.
// Built and tested with the suites (tests/auto/listener), so this text keeps working.

#include <rill/listener.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>

#include <cstdio>
#include <memory>
#include <unistd.h>
#include <vector>

namespace {

// Reads, writes back, reads again; at the peer's end of stream, ends our side too. Runs in the
// flow's thread: the first call is posted there, and each continuation has the flow as context.
void echo(rill::Flow *flow)
{
    flow->read().then(flow, [flow](const rill::ReadResult &read) {
        if (read.isEof()) {
            flow->shutdown(rill::Flow::Direction::Write).then(flow, [flow](const rill::WriteResult &) {
                flow->deleteLater();
            });
            return;
        }
        if (read.isError()) {
            flow->deleteLater();
            return;
        }
        // Waits while the send queue is above its high-water mark: backpressure.
        flow->write(read.data()).then(flow, [flow](const rill::WriteResult &written) {
            if (written.isOk())
                echo(flow);
            else
                flow->deleteLater();
        });
    });
}

// A worker thread, and an object living in it that owns its flows: deleted at the thread's end
// (after that end aborted them), it takes the flows still open with it.
struct Worker
{
    QThread thread;
    QObject *flows = nullptr;
};
using Workers = std::vector<std::unique_ptr<Worker>>;

void acceptNext(rill::TcpListener *listener, const Workers *workers)
{
    listener->accept().then(listener, [listener, workers](rill::FlowResult<rill::TcpFlow> accepted) {
        if (accepted.isOk()) {
            // The flow already lives in its worker thread: start its loop there.
            rill::TcpFlow *flow = accepted.takeFlow().release();
            QObject *owner = nullptr;
            for (const auto &worker : *workers)
                owner = &worker->thread == flow->thread() ? worker->flows : owner;
            QMetaObject::invokeMethod(flow, [flow, owner] {
                flow->setParent(owner); // in the flow's thread, as QObject wants
                echo(flow);
            });
        } else if (accepted.error().kind() != rill::Error::Kind::OutOfResources) {
            return; // closed; out of descriptors is retried by the listener itself
        }
        acceptNext(listener, workers);
    });
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("An echo server with one reactor per core."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Port (0: any free one)."),
                                        QStringLiteral("PORT"), QStringLiteral("0"));
    const QCommandLineOption threadsOption(QStringLiteral("threads"), QStringLiteral("Worker threads."),
                                           QStringLiteral("N"), QString::number(QThread::idealThreadCount()));
    parser.addOptions({portOption, threadsOption});
    parser.process(app);
    const int threads = qMax(1, parser.value(threadsOption).toInt());

    // One thread per core, each with an event loop and, with its first flow, its own reactor.
    Workers workers;
    QList<QThread *> workerList;
    for (int i = 0; i < threads; ++i) {
        auto worker = std::make_unique<Worker>();
        worker->thread.setObjectName(QStringLiteral("reactor-%1").arg(i));
        worker->flows = new QObject;
        worker->flows->moveToThread(&worker->thread);
        QObject::connect(&worker->thread, &QThread::finished, worker->flows, &QObject::deleteLater);
        worker->thread.start();
        workerList.append(&worker->thread);
        workers.push_back(std::move(worker));
    }

    rill::TcpListener listener;
    listener.setWorkerThreads(workerList);
    if (!listener.listen(QHostAddress::LocalHost, quint16(parser.value(portOption).toUInt()))) {
        std::fprintf(stderr, "reactor-per-core: %s\n", qPrintable(rill::errorMessage(listener.error())));
        return 1;
    }
    acceptNext(&listener, &workers);
    std::printf("listening on %s, %d reactors\n", qPrintable(listener.endpoint().toString()), threads);
    std::fflush(stdout);

    QSocketNotifier stdinWatch(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinWatch, &QSocketNotifier::activated, &app, [&app] {
        char buffer[256];
        if (::read(STDIN_FILENO, buffer, sizeof buffer) <= 0)
            app.quit();
    });
    const int code = app.exec();

    // Stop accepting, then end the workers: flows still open there are aborted by their
    // thread's end (the flow contract), which closes their connections, then deleted.
    listener.close();
    for (auto &worker : workers) {
        worker->thread.quit();
        worker->thread.wait();
    }
    return code;
}
