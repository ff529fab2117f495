// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill-inspector: shows Rill flows live. Starts on a built-in demo (echo servers over TCP and a
// Unix socket, clients, a traffic generator); connects and listens on endpoints you give it.
#include "demo.h"
#include "flowdetailview.h"
#include "mainwindow.h"
#include "session.h"
#include "tableprinter.h"

#include <rill/probe.h>
#include <rill/quick/inspector.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QTimer>
#include <QtQuick/QQuickView>
#include <QtWidgets/QApplication>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>

#include <cstdio>
#include <cstring>
#include <memory>

using namespace inspector;

namespace {

bool hasArgument(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0)
            return true;
    }
    return false;
}

// QApplication aborts without a display; say so and run headless instead.
bool displayMissing(int argc, char **argv)
{
#if defined(Q_OS_UNIX) && !defined(Q_OS_MACOS)
    return qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
        && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && !hasArgument(argc, argv, "-platform");
#else
    Q_UNUSED(argc);
    Q_UNUSED(argv);
    return false;
#endif
}

void fail(const QString &message)
{
    std::fprintf(stderr, "rill-inspector: %s\n", qPrintable(message));
}

// --list: one line per inspectable process of this user, "PID PROGRAM FLOWS".
int listProcesses()
{
    for (const rill::ProbeProcess &p : rill::ProbeClient::processes()) {
        const QString program = p.program.isEmpty() ? QStringLiteral("?") : p.program;
        std::printf("%lld %s %d\n", p.pid, qPrintable(program), p.flows);
    }
    std::fflush(stdout);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    const bool listing = hasArgument(argc, argv, "--list");
    bool headless = hasArgument(argc, argv, "--headless") || listing;
    if (!headless && displayMissing(argc, argv)) {
        fail(QStringLiteral("no display (neither DISPLAY nor WAYLAND_DISPLAY is set): running "
                            "headless, the flow table printed every second. For the window, run "
                            "it under xvfb-run, or with QT_QPA_PLATFORM=offscreen and "
                            "--screenshot FILE."));
        headless = true;
    }
    std::unique_ptr<QCoreApplication> app;
    if (headless)
        app = std::make_unique<QCoreApplication>(argc, argv);
    else
        app = std::make_unique<QApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("rill-inspector"));
    QCoreApplication::setOrganizationName(QStringLiteral("Rill"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Rill Inspector: shows flows live. Without options it runs a built-in demo."));
    parser.addHelpOption();
    const QCommandLineOption headlessOption(QStringLiteral("headless"),
        QStringLiteral("No window: print the flow table every second."));
    const QCommandLineOption printOption(QStringLiteral("print-table"),
        QStringLiteral("With the window, print the flow table every second too."));
    const QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
        QStringLiteral(
            "Write a PNG of the window to <file> once the demo has run a moment, then quit."),
        QStringLiteral("file"));
    const QCommandLineOption delayOption(QStringLiteral("screenshot-delay"),
        QStringLiteral("How long to run before the screenshot (default 3000)."),
        QStringLiteral("ms"), QStringLiteral("3000"));
    const QCommandLineOption durationOption(QStringLiteral("duration"),
        QStringLiteral("Quit after <seconds>."), QStringLiteral("seconds"));
    const QCommandLineOption noDemoOption(
        QStringLiteral("no-demo"), QStringLiteral("Start without the built-in demo."));
    const QCommandLineOption clientsOption(QStringLiteral("demo-clients"),
        QStringLiteral("Demo clients per transport (default 1); each has an echo server flow."),
        QStringLiteral("n"), QStringLiteral("1"));
    const QCommandLineOption speedOption(QStringLiteral("speed"),
        QStringLiteral("Demo traffic speed, 0 (slow) to 4 (full speed); default 1."),
        QStringLiteral("level"), QStringLiteral("1"));
    const QCommandLineOption stallOption(
        QStringLiteral("stall"), QStringLiteral("Start with the demo's reader stalled."));
    const QCommandLineOption connectOption(QStringLiteral("connect"),
        QStringLiteral("Connect to <endpoint> (tcp:HOST:PORT or unix:PATH); repeatable."),
        QStringLiteral("endpoint"));
    const QCommandLineOption listenOption(QStringLiteral("listen"),
        QStringLiteral("Listen on <endpoint>; repeatable."), QStringLiteral("endpoint"));
    const QCommandLineOption showOption(QStringLiteral("show"),
        QStringLiteral("The selected flow's view to show first: ledger, plot, data or events."),
        QStringLiteral("view"), QStringLiteral("ledger"));
    const QCommandLineOption quickOption(QStringLiteral("quick"),
        QStringLiteral("Show the Qt Quick view (module Rill) instead of the Widgets window."));
    const QCommandLineOption listOption(QStringLiteral("list"),
        QStringLiteral("List the processes of this user that can be inspected: PID PROGRAM "
                       "FLOWS, one a line."));
    const QCommandLineOption attachOption(QStringLiteral("attach"),
        QStringLiteral("Show the flows of process <pid> (started with RILL_INSPECT=1, or "
                       "calling rill::Probe::start()) instead of the demo."),
        QStringLiteral("pid"));
    parser.addOptions({listOption, attachOption});
    parser.addOptions(
        {quickOption, headlessOption, printOption, screenshotOption, delayOption, durationOption, noDemoOption,
            clientsOption, speedOption, stallOption, connectOption, listenOption, showOption});
    parser.process(*app);
    if (parser.isSet(listOption))
        return listProcesses();

    // --attach: the table follows another process's flows through its probe.
    std::unique_ptr<rill::ProbeClient> probeClient;
    if (parser.isSet(attachOption)) {
        bool ok = false;
        const qint64 pid = parser.value(attachOption).toLongLong(&ok);
        QString error;
        probeClient = std::make_unique<rill::ProbeClient>();
        if (!ok || !probeClient->attach(pid, &error)) {
            fail(ok ? error : QStringLiteral("--attach takes a process id"));
            return 1;
        }
    }

    if (headless && parser.isSet(screenshotOption)) {
        fail(QStringLiteral(
            "--screenshot needs the window; use QT_QPA_PLATFORM=offscreen or xvfb-run"));
        return 2;
    }

    Demo::Options demoOptions;
    demoOptions.clientsPerTransport = qMax(1, parser.value(clientsOption).toInt());
    demoOptions.speed = parser.value(speedOption).toInt();
    demoOptions.readerStalled = parser.isSet(stallOption);
    const bool withDemo = !parser.isSet(noDemoOption) && !probeClient;

    std::unique_ptr<MainWindow> window;
    std::unique_ptr<InspectorSession> headlessSession;
    std::unique_ptr<Demo> headlessDemo;
    std::unique_ptr<TablePrinter> printer;
    std::unique_ptr<QQuickView> quickView;
    InspectorSession *session = nullptr;
    if (parser.isSet(quickOption) && parser.isSet(screenshotOption)) {
        fail(QStringLiteral("--screenshot takes a picture of the Widgets window, not of --quick"));
        return 2;
    }
    if (headless || parser.isSet(quickOption)) {
        headlessSession = std::make_unique<InspectorSession>();
        session = headlessSession.get();
        if (withDemo) {
            headlessDemo = std::make_unique<Demo>(session, demoOptions);
            QString error;
            if (!headlessDemo->start(&error)) {
                fail(QStringLiteral("the demo could not start: ") + error);
                return 1;
            }
        }
        if (headless) {
            printer = std::make_unique<TablePrinter>(session, stdout);
            printer->start();
        } else {
            QString error;
            quickView = rill::quick::createInspectorView(session->model(), &error);
            if (!quickView) {
                fail(QStringLiteral("the Qt Quick view could not load: ") + error);
                return 1;
            }
            quickView->show();
        }
    } else {
        MainWindow::Options options;
        options.demo = withDemo;
        options.demoOptions = demoOptions;
        window = std::make_unique<MainWindow>(options);
        session = window->session();
        const QStringList views = {QStringLiteral("ledger"), QStringLiteral("plot"),
            QStringLiteral("data"), QStringLiteral("events")};
        const int view = views.indexOf(parser.value(showOption));
        if (view < 0) {
            fail(QStringLiteral("--show takes one of: ") + views.join(QStringLiteral(", ")));
            return 2;
        }
        window->detailView()->tabs()->setCurrentIndex(view);
        window->show();
        if (parser.isSet(printOption)) {
            printer = std::make_unique<TablePrinter>(session, stdout);
            printer->start();
        }
    }

    if (probeClient) {
        rill::ProbeClient *client = probeClient.get();
        session->attach(client);
        if (printer)
            printer->setProbeClient(client);
        const QString title = QStringLiteral("Rill Inspector: process %1").arg(client->process().pid);
        if (window)
            window->setWindowTitle(title);
        QObject::connect(client, &rill::ProbeClient::attached, session, [client, &window] {
            const rill::ProbeProcess p = client->process();
            std::fprintf(stderr, "rill-inspector: attached to process %lld (%s), %d flows\n",
                p.pid, qPrintable(p.program), p.flows);
            if (window) {
                window->setWindowTitle(
                    QStringLiteral("Rill Inspector: %1 (process %2)").arg(p.program).arg(p.pid));
                window->statusBar()->showMessage(
                    QStringLiteral("Attached to %1 (process %2)").arg(p.program).arg(p.pid));
            }
        });
        // The table keeps the last picture; only the words change.
        QObject::connect(client, &rill::ProbeClient::ended, session,
            [&window](const QString &reason) {
                fail(reason + QStringLiteral("; showing its last picture"));
                if (window) {
                    window->setWindowTitle(window->windowTitle() + QStringLiteral(" (ended)"));
                    window->statusBar()->showMessage(reason + QStringLiteral(": the last picture"));
                }
            });
        QObject::connect(client, &rill::ProbeClient::eventsLostChanged, session,
            [](qint64 count) { fail(QStringLiteral("%1 events lost so far").arg(count)); });
    }

    QObject::connect(session, &InspectorSession::connectFailed, session,
        [](const QString &endpoint, const QString &message) {
            fail(QStringLiteral("could not connect to %1: %2").arg(endpoint, message));
        });
    for (const QString &endpoint : parser.values(listenOption)) {
        QString error;
        const QString listening = session->listen(endpoint, &error);
        if (listening.isEmpty()) {
            fail(QStringLiteral("could not listen on %1: %2").arg(endpoint, error));
            return 1;
        }
        std::fprintf(stderr, "rill-inspector: listening on %s\n", qPrintable(listening));
    }
    for (const QString &endpoint : parser.values(connectOption))
        session->connectTo(endpoint);

    if (parser.isSet(screenshotOption)) {
        const QString path = parser.value(screenshotOption);
        QTimer::singleShot(
            qMax(0, parser.value(delayOption).toInt()), window.get(), [&window, path] {
                QString error;
                if (!window->saveScreenshot(path, &error)) {
                    fail(error);
                    QCoreApplication::exit(1);
                    return;
                }
                std::fprintf(
                    stderr, "rill-inspector: screenshot written to %s\n", qPrintable(path));
                QCoreApplication::exit(0);
            });
    }
    if (parser.isSet(durationOption)) {
        const int ms = int(parser.value(durationOption).toDouble() * 1000);
        QTimer::singleShot(qMax(0, ms), app.get(), [] { QCoreApplication::exit(0); });
    }
    const int code = app->exec();
    if (printer)
        printer->printNow();
    // Windows and flows go before the application object.
    printer.reset();
    quickView.reset();
    window.reset();
    headlessDemo.reset();
    headlessSession.reset();
    probeClient.reset();
    return code;
}
