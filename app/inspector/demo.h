// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The built-in demo: echo servers on TCP (127.0.0.1, a free port) and on a Unix socket (in a
// temporary folder), client flows to each, and a traffic generator writing text to the clients.
// The generator can pause and speed up; "stall the reader" makes the echo servers stop
// reading, so the clients' kernel buffers fill, then their send queues up to the (small)
// high-water mark, and then their writes wait. Beside them an HTTP client asks an HTTP server
// (Rill::Http, over TCP) for a page now and then, so the HTTP tab has something to show.

#include "session.h"

#include <rill/http/client.h>
#include <rill/http/server.h>
#include <rill/listener.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QPointer>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>

namespace inspector {

class Demo : public QObject {
    Q_OBJECT
    Q_PROPERTY(bool paused READ isPaused WRITE setPaused NOTIFY pausedChanged)
    Q_PROPERTY(int speed READ speed WRITE setSpeed NOTIFY speedChanged)
    Q_PROPERTY(
        bool readerStalled READ isReaderStalled WRITE setReaderStalled NOTIFY readerStalledChanged)
public:
    struct Options {
        int clientsPerTransport = 1;
        qint64 highWaterMark = 64 * 1024; // small, so the queue fills visibly
        int speed = 1;
        bool paused = false;
        bool readerStalled = false;
    };

    static constexpr int SpeedCount = 5; // 0 slow ... 4 full speed
    static constexpr int MaxWaitingWrites = 4; // the generator stops adding writes past this
    static constexpr int HttpIntervalMs = 500; // between the HTTP client's requests
    static constexpr int SlowResponseMs = 150; // how long GET /slow takes to answer
    static constexpr int EchoBodySize = 200;   // the body of each POST /echo

    Demo(InspectorSession *session, const Options &options, QObject *parent = nullptr);
    ~Demo() override;

    // Starts the servers and connects the clients; false and *error if a server cannot listen.
    bool start(QString *error);
    bool isReady() const { return m_ready; } // every client connected

    QString tcpEndpoint() const { return m_tcpEndpoint; }
    QString unixEndpoint() const { return m_unixEndpoint; }
    QList<FlowMonitor *> clients() const;
    QList<FlowMonitor *> servers() const;
    QString httpEndpoint() const { return m_httpEndpoint; }
    FlowMonitor *httpClient() const { return m_httpClientMonitor.data(); } // watched only

    bool isPaused() const { return m_paused; }
    void setPaused(bool paused);
    int speed() const { return m_speed; }
    void setSpeed(int level);
    static QString speedName(int level);
    bool isReaderStalled() const { return m_stalled; }
    void setReaderStalled(bool stalled);

Q_SIGNALS:
    void ready(); // every client connected
    void failed(const QString &message);
    void pausedChanged(bool paused);
    void speedChanged(int level);
    void readerStalledChanged(bool stalled);

private:
    enum class ClientKind { Echo, Http };
    void connectClient(const QString &endpoint, const QString &name, ClientKind kind);
    void onClientConnected(
        const QString &name, ClientKind kind, rill::FlowResult<rill::Flow> result);
    void onEchoClientConnected(const QString &name, std::unique_ptr<rill::Flow> flow);
    void onServerAccepted(FlowMonitor *monitor, const QString &transport);
    void generate();
    QByteArray message(FlowMonitor *client, qint64 size);
    bool startHttp(QString *error);
    void acceptHttp();
    void sendHttpRequest();

    QPointer<InspectorSession> m_session;
    Options m_options;
    QTemporaryDir m_dir;
    QString m_tcpEndpoint;
    QString m_unixEndpoint;
    QList<QPointer<FlowMonitor>> m_clients;
    QList<QPointer<FlowMonitor>> m_servers;
    QHash<const FlowMonitor *, qint64> m_sequence;
    QHash<const FlowMonitor *, double> m_budget;
    QHash<QString, int> m_serverCount;
    int m_pendingClients = 0;
    bool m_ready = false;
    bool m_paused = false;
    int m_speed = 1;
    bool m_stalled = false;
    QTimer m_timer;
    QElapsedTimer m_sinceGenerate;
    // Destroyed in reverse: the client's exchanges before the connection they run over, the
    // server's connections (their flows leave the session's table) before the listener.
    rill::TcpListener m_httpListener;
    std::unique_ptr<rill::Flow> m_httpFlow; // the HTTP client's connection
    rill::http::Server m_httpServer;
    rill::http::Client m_httpClient;
    QPointer<FlowMonitor> m_httpClientMonitor;
    QString m_httpEndpoint;
    QTimer m_httpTimer;
    int m_httpServerCount = 0;
    int m_httpStep = 0;
    bool m_httpBusy = false;
};

} // namespace inspector
