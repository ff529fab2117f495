// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "demo.h"

#include <rill/localflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QPromise>

#include <cmath>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

namespace inspector {

namespace {

struct SpeedLevel {
    const char *name;
    double writesPerSecond; // 0: as fast as the flow accepts
    qint64 writeSize;
};

constexpr SpeedLevel speedLevels[Demo::SpeedCount] = {
    {"slow: 2 lines a second", 2, 72},
    {"normal: 20 KiB a second", 20, 1024},
    {"fast: 400 KiB a second", 100, 4096},
    {"faster: 6 MiB a second", 400, 16384},
    {"full speed", 0, 16384},
};

// Small socket buffers make the demo's queues fill within seconds rather than minutes.
constexpr int DemoSocketBuffer = 16 * 1024;

void setUnixBuffer(rill::Flow *flow, int option)
{
#ifdef Q_OS_UNIX
    if (auto *local = qobject_cast<rill::LocalFlow *>(flow)) {
        const int fd = int(local->socketDescriptor());
        const int size = DemoSocketBuffer;
        if (fd >= 0)
            ::setsockopt(fd, SOL_SOCKET, option, &size, sizeof size);
    }
#else
    Q_UNUSED(flow);
    Q_UNUSED(option);
#endif
}

} // namespace

Demo::Demo(InspectorSession *session, const Options &options, QObject *parent)
    : QObject(parent), m_session(session), m_options(options), m_paused(options.paused),
      m_speed(qBound(0, options.speed, SpeedCount - 1)), m_stalled(options.readerStalled)
{
    m_timer.setInterval(10);
    connect(&m_timer, &QTimer::timeout, this, &Demo::generate);
    m_httpTimer.setInterval(HttpIntervalMs);
    connect(&m_httpTimer, &QTimer::timeout, this, &Demo::sendHttpRequest);
}

Demo::~Demo() = default;

bool Demo::start(QString *error)
{
    if (!m_session)
        return false;
    if (!m_dir.isValid()) {
        if (error)
            *error = QStringLiteral("no temporary folder for the Unix socket: %1")
                         .arg(m_dir.errorString());
        return false;
    }
    m_tcpEndpoint = m_session->listen(QStringLiteral("tcp:127.0.0.1:0"), error,
        [this](FlowMonitor *m) { onServerAccepted(m, QStringLiteral("tcp")); });
    if (m_tcpEndpoint.isEmpty())
        return false;
    m_unixEndpoint
        = m_session->listen(QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("echo.sock")),
            error, [this](FlowMonitor *m) { onServerAccepted(m, QStringLiteral("unix")); });
    if (m_unixEndpoint.isEmpty())
        return false;
    if (!startHttp(error))
        return false;
    for (int i = 1; i <= m_options.clientsPerTransport; ++i) {
        connectClient(m_tcpEndpoint, QStringLiteral("demo tcp client %1").arg(i), ClientKind::Echo);
        connectClient(m_unixEndpoint, QStringLiteral("demo unix client %1").arg(i), ClientKind::Echo);
    }
    connectClient(m_httpEndpoint, QStringLiteral("demo HTTP client"), ClientKind::Http);
    m_sinceGenerate.start();
    m_timer.start();
    return true;
}

// The demo's HTTP server: a few routes, one of them slow; anything else is 404.
bool Demo::startHttp(QString *error)
{
    using rill::http::Request;
    using rill::http::Response;
    m_httpServer.route("GET", QStringLiteral("/"), [](const Request &) {
        return Response(200, "<html><body><h1>Rill demo</h1></body></html>\n", "text/html");
    });
    m_httpServer.route("GET", QStringLiteral("/status"), [this](const Request &) {
        return Response(200,
            QStringLiteral("{\"clients\": %1, \"paused\": %2}\n")
                .arg(m_clients.size())
                .arg(m_paused ? QStringLiteral("true") : QStringLiteral("false"))
                .toUtf8(),
            "application/json");
    });
    m_httpServer.route("POST", QStringLiteral("/echo"), [](const Request &request) {
        return Response(200, request.body(), "application/octet-stream");
    });
    m_httpServer.route("GET", QStringLiteral("/slow"), [this](const Request &) {
        auto promise = std::make_shared<QPromise<Response>>();
        promise->start();
        QTimer::singleShot(SlowResponseMs, this, [promise] {
            promise->addResult(Response(200, "worth the wait\n", "text/plain"));
            promise->finish();
        });
        return promise->future();
    });
    if (!m_httpListener.listen()) { // 127.0.0.1, a free port
        if (error)
            *error = QStringLiteral("the demo's HTTP server cannot listen: %1")
                         .arg(rill::errorMessage(m_httpListener.error()));
        return false;
    }
    m_httpEndpoint = m_httpListener.endpoint().toString();
    acceptHttp();
    return true;
}

void Demo::acceptHttp()
{
    QPointer<Demo> guard(this);
    m_httpListener.accept().then(
        QCoreApplication::instance(), [guard](rill::FlowResult<rill::TcpFlow> result) {
            if (!guard || !result.isOk())
                return; // the listener closed: the demo is going
            std::unique_ptr<rill::TcpFlow> flow = result.takeFlow();
            if (guard->m_session)
                guard->m_session->watchFlow(flow.get(),
                    QStringLiteral("demo HTTP server %1").arg(++guard->m_httpServerCount),
                    tr("the demo's HTTP server"));
            guard->m_httpServer.serveFlow(flow.release());
            guard->acceptHttp();
        });
}

// The next of a round of requests, when the one before was answered.
void Demo::sendHttpRequest()
{
    if (m_paused || m_httpBusy || !m_httpFlow || m_httpFlow->state() != rill::Flow::State::Open)
        return;
    static const char *const targets[] = {"/", "/status", "/echo", "/slow", "/missing"};
    const char *target = targets[m_httpStep++ % std::size(targets)];
    rill::http::Request request(QUrl(QStringLiteral("http://demo") + QLatin1String(target)));
    if (qstrcmp(target, "/echo") == 0) {
        request.setMethod("POST");
        QByteArray body = QStringLiteral("echo %1 ").arg(m_httpStep).toUtf8();
        body.append(QByteArray(EchoBodySize - body.size(), 'e'));
        request.setBody(body);
    }
    m_httpBusy = true;
    QPointer<Demo> guard(this);
    m_httpClient.sendOver(m_httpFlow.get(), request)
        .then(QCoreApplication::instance(), [guard](const rill::http::Response &) {
            if (guard)
                guard->m_httpBusy = false;
        });
}

void Demo::connectClient(const QString &endpoint, const QString &name, ClientKind kind)
{
    ++m_pendingClients;
    // The application as context: Qt 6.4 asserts when a continuation's context goes before
    // its future finishes, and connecting can outlast the demo.
    QPointer<Demo> guard(this);
    rill::connectTo(rill::Endpoint::parse(endpoint))
        .then(QCoreApplication::instance(), [guard, name, kind](rill::FlowResult<rill::Flow> result) {
            if (guard)
                guard->onClientConnected(name, kind, std::move(result));
        });
}

void Demo::onClientConnected(
    const QString &name, ClientKind kind, rill::FlowResult<rill::Flow> result)
{
    --m_pendingClients;
    if (!result.isOk() || !m_session) {
        Q_EMIT failed(
            QStringLiteral("%1 could not connect: %2").arg(name, result.error().message()));
        return;
    }
    std::unique_ptr<rill::Flow> flow = result.takeFlow();
    if (kind == ClientKind::Http) {
        m_httpFlow = std::move(flow);
        m_httpClientMonitor = m_session->watchFlow(m_httpFlow.get(), name, tr("the demo's HTTP client"));
        m_httpTimer.start();
    } else {
        onEchoClientConnected(name, std::move(flow));
    }
    if (m_pendingClients == 0 && !m_ready) {
        m_ready = true;
        Q_EMIT ready();
    }
}

void Demo::onEchoClientConnected(const QString &name, std::unique_ptr<rill::Flow> flow)
{
    flow->setHighWaterMark(m_options.highWaterMark);
    if (auto *tcp = qobject_cast<rill::TcpFlow *>(flow.get()))
        tcp->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, DemoSocketBuffer);
    setUnixBuffer(flow.get(), SO_SNDBUF);
    FlowMonitor *monitor = m_session->addFlow(std::move(flow), name);
    m_clients << monitor;
}

void Demo::onServerAccepted(FlowMonitor *monitor, const QString &transport)
{
    m_servers << monitor;
    rill::Flow *flow = monitor->flow();
    flow->setHighWaterMark(m_options.highWaterMark);
    if (auto *tcp = qobject_cast<rill::TcpFlow *>(flow))
        tcp->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, DemoSocketBuffer);
    setUnixBuffer(flow, SO_RCVBUF);
    if (m_session)
        m_session->setName(monitor,
            QStringLiteral("demo %1 echo server %2")
                .arg(transport)
                .arg(++m_serverCount[transport]));
    monitor->setEcho(true);
    monitor->setReading(!m_stalled);
}

QList<FlowMonitor *> Demo::clients() const
{
    QList<FlowMonitor *> list;
    for (const QPointer<FlowMonitor> &m : m_clients) {
        if (m)
            list << m.data();
    }
    return list;
}

QList<FlowMonitor *> Demo::servers() const
{
    QList<FlowMonitor *> list;
    for (const QPointer<FlowMonitor> &m : m_servers) {
        if (m)
            list << m.data();
    }
    return list;
}

void Demo::setPaused(bool paused)
{
    if (paused == m_paused)
        return;
    m_paused = paused;
    m_budget.clear();
    Q_EMIT pausedChanged(paused);
}

void Demo::setSpeed(int level)
{
    level = qBound(0, level, SpeedCount - 1);
    if (level == m_speed)
        return;
    m_speed = level;
    m_budget.clear();
    Q_EMIT speedChanged(level);
}

QString Demo::speedName(int level)
{
    return QString::fromLatin1(speedLevels[qBound(0, level, SpeedCount - 1)].name);
}

void Demo::setReaderStalled(bool stalled)
{
    if (stalled == m_stalled)
        return;
    m_stalled = stalled;
    for (FlowMonitor *server : servers())
        server->setReading(!stalled);
    Q_EMIT readerStalledChanged(stalled);
}

QByteArray Demo::message(FlowMonitor *client, qint64 size)
{
    static const QByteArray filler
        = QByteArrayLiteral("the quick brown fox jumps over the lazy dog, ");
    QByteArray text = QStringLiteral("[%1] message %2: ")
                          .arg(client->name())
                          .arg(++m_sequence[client])
                          .toUtf8();
    while (text.size() < size - 1)
        text.append(filler);
    text.truncate(qMax<qint64>(size - 1, 0));
    text.append('\n');
    return text;
}

void Demo::generate()
{
    const double elapsed = double(m_sinceGenerate.restart()) / 1000.0;
    if (m_paused)
        return;
    const SpeedLevel &level = speedLevels[m_speed];
    for (FlowMonitor *client : clients()) {
        rill::Flow *flow = client->flow();
        if (!flow || flow->state() != rill::Flow::State::Open
            || flow->writeState() != rill::Flow::WriteState::Open)
            continue;
        if (level.writesPerSecond <= 0) {
            // Full speed: keep the queue full and a few writes waiting.
            for (int i = 0; i < 64 && flow->writesWaiting() < MaxWaitingWrites; ++i)
                flow->write(message(client, level.writeSize));
            continue;
        }
        double &budget = m_budget[client];
        budget
            = qMin(budget + level.writesPerSecond * elapsed, qMax(1.0, level.writesPerSecond / 2));
        while (budget >= 1.0 && flow->writesWaiting() < MaxWaitingWrites) {
            flow->write(message(client, level.writeSize));
            budget -= 1.0;
        }
    }
}

} // namespace inspector
