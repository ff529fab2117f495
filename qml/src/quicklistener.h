// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// TcpListener and LocalListener in module Rill: they accept connections for as long as they
// listen and hand each to QML as a TcpFlow or LocalFlow through accepted(flow). The listener
// owns the flows it accepted (they go with it, or earlier with dispose(flow)).

#include "quickflow.h"

#include <rill/connect.h>

#include <QtQml/qqmlregistration.h>

namespace rill::quick {

class QuickListener : public QObject {
    Q_OBJECT
    QML_NAMED_ELEMENT(AbstractListener)
    QML_UNCREATABLE("AbstractListener is the common base of TcpListener and LocalListener")
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(QString endpoint READ endpoint NOTIFY listeningChanged)
    Q_PROPERTY(int acceptedCount READ acceptedCount NOTIFY acceptedCountChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorStringChanged)
public:
    ~QuickListener() override;

    bool isListening() const;
    QString endpoint() const; // where it listens ("tcp:127.0.0.1:40123"), "" when not
    int acceptedCount() const { return m_acceptedCount; }
    QString errorString() const { return m_errorString; }

    // Starts listening (again); false and errorString if that fails.
    Q_INVOKABLE bool listen();
    // Stops listening; flows accepted so far stay.
    Q_INVOKABLE void close();
    // Deletes a flow this listener accepted (later, so it is safe from the flow's signals).
    Q_INVOKABLE void dispose(rill::quick::QuickFlow *flow);

Q_SIGNALS:
    void listeningChanged();
    void acceptedCountChanged();
    void errorStringChanged();
    void errorOccurred(const QString &errorString);
    void accepted(rill::quick::QuickFlow *flow);

protected:
    explicit QuickListener(QObject *parent);
    virtual Endpoint requestedEndpoint(QString *problem) const = 0;
    virtual QuickFlow *wrap(std::unique_ptr<Flow> flow) = 0;

private:
    void acceptNext();
    void setError(const QString &text);

    Listener m_listener;
    quint64 m_generation = 0;
    int m_acceptedCount = 0;
    QString m_errorString;
};

class QuickTcpListener : public QuickListener {
    Q_OBJECT
    QML_NAMED_ELEMENT(TcpListener)
    Q_PROPERTY(QString host READ host WRITE setHost NOTIFY hostChanged)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged)
    Q_PROPERTY(int serverPort READ serverPort NOTIFY listeningChanged)
public:
    explicit QuickTcpListener(QObject *parent = nullptr);

    QString host() const { return m_host; }
    void setHost(const QString &host);
    int port() const { return m_port; } // 0: any free port; serverPort tells which
    void setPort(int port);
    int serverPort() const;

Q_SIGNALS:
    void hostChanged();
    void portChanged();

protected:
    Endpoint requestedEndpoint(QString *problem) const override;
    QuickFlow *wrap(std::unique_ptr<Flow> flow) override;

private:
    QString m_host = QStringLiteral("127.0.0.1");
    int m_port = 0;
};

class QuickLocalListener : public QuickListener {
    Q_OBJECT
    QML_NAMED_ELEMENT(LocalListener)
    Q_PROPERTY(QString path READ path WRITE setPath NOTIFY pathChanged)
public:
    explicit QuickLocalListener(QObject *parent = nullptr);

    QString path() const { return m_path; }
    void setPath(const QString &path);

Q_SIGNALS:
    void pathChanged();

protected:
    Endpoint requestedEndpoint(QString *problem) const override;
    QuickFlow *wrap(std::unique_ptr<Flow> flow) override;

private:
    QString m_path;
};

} // namespace rill::quick
