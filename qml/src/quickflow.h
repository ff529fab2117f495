// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The QML face of a flow: TcpFlow and LocalFlow in module Rill. Each holds a rill::Flow (none
// before the first connection), turns its futures into signals and keeps a read loop running
// while `reading` is true, so QML hears about data, end of stream and errors without calling
// read() itself.

#include <rill/endpoint.h>
#include <rill/flow.h>

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QPointer>
#include <QtCore/QStringDecoder>
#include <QtCore/QVariant>
#include <QtQml/qqmlregistration.h>

#include <memory>

namespace rill::quick {

class QuickFlow : public QObject {
    Q_OBJECT
    QML_NAMED_ELEMENT(AbstractFlow)
    QML_UNCREATABLE("AbstractFlow is the common base of TcpFlow and LocalFlow")

    Q_PROPERTY(QString endpoint READ endpoint WRITE setEndpoint NOTIFY endpointChanged)
    Q_PROPERTY(QString transport READ transport CONSTANT)
    Q_PROPERTY(QString localEndpoint READ localEndpoint NOTIFY endpointsChanged)
    Q_PROPERTY(QString peerEndpoint READ peerEndpoint NOTIFY endpointsChanged)
    Q_PROPERTY(
        int connectTimeout READ connectTimeout WRITE setConnectTimeout NOTIFY connectTimeoutChanged)
    Q_PROPERTY(int writeTimeout READ writeTimeout WRITE setWriteTimeout NOTIFY timeoutsChanged)
    Q_PROPERTY(int closeTimeout READ closeTimeout WRITE setCloseTimeout NOTIFY timeoutsChanged)
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout NOTIFY timeoutsChanged)
    Q_PROPERTY(bool abortWhenIdle READ abortWhenIdle WRITE setAbortWhenIdle NOTIFY timeoutsChanged)
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(ReadState readState READ readState NOTIFY readStateChanged)
    Q_PROPERTY(WriteState writeState READ writeState NOTIFY writeStateChanged)
    Q_PROPERTY(QString stateName READ stateName NOTIFY stateChanged)
    Q_PROPERTY(QString readStateName READ readStateName NOTIFY readStateChanged)
    Q_PROPERTY(QString writeStateName READ writeStateName NOTIFY writeStateChanged)
    Q_PROPERTY(bool reading READ isReading WRITE setReading NOTIFY readingChanged)
    Q_PROPERTY(qint64 bytesIn READ bytesIn NOTIFY bytesInChanged)
    Q_PROPERTY(qint64 bytesOut READ bytesOut NOTIFY bytesOutChanged)
    Q_PROPERTY(qint64 bytesQueued READ bytesQueued NOTIFY bytesQueuedChanged)
    Q_PROPERTY(int writesWaiting READ writesWaiting NOTIFY writesWaitingChanged)
    Q_PROPERTY(int pendingWrites READ pendingWrites NOTIFY pendingWritesChanged)
    Q_PROPERTY(
        qint64 highWaterMark READ highWaterMark WRITE setHighWaterMark NOTIFY highWaterMarkChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorStringChanged)
    Q_PROPERTY(QString errorKind READ errorKind NOTIFY errorStringChanged)
    Q_PROPERTY(rill::Flow *flow READ flow NOTIFY flowChanged)

public:
    enum State {
        Unconnected, // not connected yet
        Connecting,
        Open,
        Closing,
        Closed,
    };
    Q_ENUM(State)

    // Distinct names, so QML can say TcpFlow.ReadEof without a clash between the enums.
    enum ReadState { ReadOpen, ReadEof, ReadFailed };
    Q_ENUM(ReadState)
    enum WriteState { WriteOpen, WriteShuttingDown, WriteClosed, WriteFailed };
    Q_ENUM(WriteState)

    ~QuickFlow() override;

    QString endpoint() const { return m_endpoint; }
    void setEndpoint(const QString &endpoint);
    QString transport() const;
    QString localEndpoint() const;
    QString peerEndpoint() const;
    int connectTimeout() const { return m_connectTimeout; }
    void setConnectTimeout(int milliseconds);
    // Limits in milliseconds, 0 for none (Flow's deadlines): a write still waiting above the
    // high-water mark after writeTimeout is withdrawn; a close() not done after closeTimeout
    // aborts; idleTimeout emits idleTimedOut() (and aborts, with abortWhenIdle).
    int writeTimeout() const { return m_writeTimeout; }
    void setWriteTimeout(int milliseconds);
    int closeTimeout() const { return m_closeTimeout; }
    void setCloseTimeout(int milliseconds);
    int idleTimeout() const { return m_idleTimeout; }
    void setIdleTimeout(int milliseconds);
    bool abortWhenIdle() const { return m_abortWhenIdle; }
    void setAbortWhenIdle(bool abort);

    State state() const { return m_state; }
    ReadState readState() const { return m_readState; }
    WriteState writeState() const { return m_writeState; }
    QString stateName() const;
    QString readStateName() const;
    QString writeStateName() const;
    bool isReading() const { return m_reading; }
    void setReading(bool reading);

    qint64 bytesIn() const { return m_bytesIn; }
    qint64 bytesOut() const { return m_bytesOut; }
    qint64 bytesQueued() const;
    int writesWaiting() const;
    int pendingWrites() const { return m_pendingWrites; }
    qint64 highWaterMark() const;
    void setHighWaterMark(qint64 bytes);
    QString errorString() const { return m_errorString; }
    QString errorKind() const { return m_errorKind; }

    rill::Flow *flow() const { return m_flow; }

    // Connects to endpoint(). Writes made while connecting wait for the connection.
    Q_INVOKABLE void open();
    // Writes a string (as UTF-8) or an ArrayBuffer. Returns the write's id (1, 2, ... for this
    // object), later given to writeFinished(); 0 if data is neither.
    Q_INVOKABLE int write(const QVariant &data);
    Q_INVOKABLE void shutdownWrite(); // FIN after everything written so far; reading goes on
    Q_INVOKABLE void shutdownRead(); // stop reading: reads give end of stream from now on
    Q_INVOKABLE void close(); // flush, FIN, wait for the peer's end of stream
    Q_INVOKABLE void abort(); // drop the connection now (the peer sees a reset)

Q_SIGNALS:
    void endpointChanged();
    void endpointsChanged();
    void connectTimeoutChanged();
    void timeoutsChanged();
    void idleTimedOut(); // nothing moved for idleTimeout milliseconds
    void stateChanged(rill::quick::QuickFlow::State state);
    void readStateChanged(rill::quick::QuickFlow::ReadState state);
    void writeStateChanged(rill::quick::QuickFlow::WriteState state);
    void readingChanged(bool reading);
    void bytesInChanged();
    void bytesOutChanged();
    void bytesQueuedChanged();
    void writesWaitingChanged();
    void pendingWritesChanged();
    void highWaterMarkChanged();
    void errorStringChanged();
    void flowChanged();

    void connected();
    void dataReceived(const QByteArray &data); // an ArrayBuffer in QML
    void textReceived(const QString &text); // the same bytes decoded as UTF-8
    void endOfStream(); // the peer finished sending
    void errorOccurred(const QString &errorString);
    void writeFinished(int id, bool ok, const QString &errorString);

protected:
    explicit QuickFlow(rill::Endpoint::Type type, QObject *parent);
    // For flows a listener accepted: already open.
    QuickFlow(rill::Endpoint::Type type, std::unique_ptr<rill::Flow> flow, QObject *parent);

    virtual void endpointUpdated() { } // the subclass's host/port or path follow endpoint()

private:
    struct QueuedWrite {
        int id;
        QByteArray data;
    };

    void attach(std::unique_ptr<rill::Flow> flow);
    void detach();
    void connectFailed(const rill::Error &error);
    void setError(const rill::Error &error);
    void setState(State state);
    void setReadState(ReadState state);
    void setWriteState(WriteState state);
    void syncStates();
    void refreshBytesOut();
    void readNext();
    void readFinished(quint64 generation, const rill::ReadResult &result);
    template<typename F> void later(F &&f)
    {
        QMetaObject::invokeMethod(this, std::forward<F>(f), Qt::QueuedConnection);
    }
    void sendWrite(int id, const QByteArray &data);
    void finishWrite(int id, bool ok, const QString &errorString);

    rill::Endpoint::Type m_type;
    QString m_endpoint;
    int m_connectTimeout = 0;
    int m_writeTimeout = 0;
    int m_closeTimeout = 0;
    int m_idleTimeout = 0;
    bool m_abortWhenIdle = false;
    void applyIdle();
    QPointer<rill::Flow> m_flow;
    quint64 m_generation = 0; // bumped whenever m_flow changes or connecting is given up
    State m_state = Unconnected;
    ReadState m_readState = ReadOpen;
    WriteState m_writeState = WriteOpen;
    bool m_reading = true;
    bool m_readPending = false;
    bool m_callingFlow = false; // inside read() or write(): results found ready are handed on later
    qint64 m_bytesIn = 0;
    qint64 m_bytesOut = 0;
    qint64 m_highWaterMark = rill::Flow::DefaultHighWaterMark;
    int m_lastWriteId = 0;
    int m_pendingWrites = 0;
    QList<QueuedWrite> m_writesWhileConnecting;
    bool m_shutdownWriteWhileConnecting = false;
    QString m_errorString;
    QString m_errorKind;
    QStringDecoder m_decoder {QStringDecoder::Utf8};
};

// A TCP connection. Set host and port (or endpoint, "tcp:HOST:PORT"), then open() or
// connectToHost().
class QuickTcpFlow : public QuickFlow {
    Q_OBJECT
    QML_NAMED_ELEMENT(TcpFlow)
    Q_PROPERTY(QString host READ host WRITE setHost NOTIFY hostChanged)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged)
public:
    explicit QuickTcpFlow(QObject *parent = nullptr);
    QuickTcpFlow(std::unique_ptr<rill::Flow> flow, QObject *parent);

    QString host() const { return m_host; }
    void setHost(const QString &host);
    int port() const { return m_port; }
    void setPort(int port);

    Q_INVOKABLE void connectToHost(const QString &host, int port);

Q_SIGNALS:
    void hostChanged();
    void portChanged();

protected:
    void endpointUpdated() override;

private:
    void composeEndpoint();

    QString m_host = QStringLiteral("127.0.0.1");
    int m_port = 0;
};

// A local (Unix domain) socket connection. Set path (or endpoint, "unix:PATH"), then open() or
// connectToServer().
class QuickLocalFlow : public QuickFlow {
    Q_OBJECT
    QML_NAMED_ELEMENT(LocalFlow)
    Q_PROPERTY(QString path READ path WRITE setPath NOTIFY pathChanged)
public:
    explicit QuickLocalFlow(QObject *parent = nullptr);
    QuickLocalFlow(std::unique_ptr<rill::Flow> flow, QObject *parent);

    QString path() const { return m_path; }
    void setPath(const QString &path);

    Q_INVOKABLE void connectToServer(const QString &path);

Q_SIGNALS:
    void pathChanged();

protected:
    void endpointUpdated() override;

private:
    QString m_path;
};

} // namespace rill::quick
