// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT

// The QML suite (tst_*.qml beside this file): module Rill from QML, against real loopback
// peers started here: echo servers on TCP and on a Unix socket (rill::Listener), an echo peer
// in Python (tests/auto/shared/peer.py, a peer nobody here wrote), and a TCP port nobody
// listens on. QML finds them in the context property `testEnv`.

#include "echoserver.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtQml/QQmlContext>
#include <QtQml/QQmlEngine>
#include <QtQuickTest/quicktest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

class Setup : public QObject {
    Q_OBJECT
    Q_PROPERTY(int tcpEchoPort MEMBER m_tcpEchoPort CONSTANT)
    Q_PROPERTY(QString unixEchoPath MEMBER m_unixEchoPath CONSTANT)
    Q_PROPERTY(int refusedPort MEMBER m_refusedPort CONSTANT)
    Q_PROPERTY(QString tempDir READ tempDir CONSTANT)
    Q_PROPERTY(int echoAccepted READ echoAccepted)
    Q_PROPERTY(int echoEnded READ echoEnded)

public:
    QString tempDir() const { return m_dir.path(); }
    int echoAccepted() const { return m_tcpEcho.acceptedCount() + m_unixEcho.acceptedCount(); }
    int echoEnded() const { return m_tcpEcho.endedCount() + m_unixEcho.endedCount(); }

    // Deletes \a object now: QML's destroy() waits for the event loop, where a pending
    // connect may finish first.
    Q_INVOKABLE void destroyNow(QObject *object) { delete object; }

    // A new Python echo peer (it serves one connection); its port, or 0 (the QML test fails).
    Q_INVOKABLE int startPythonEcho()
    {
        m_python = std::make_unique<QProcess>();
        m_python->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_python->start(QStringLiteral("python3"),
            {QStringLiteral(RILL_SOURCE_DIR "/tests/auto/shared/peer.py"), QStringLiteral("echo"),
                QStringLiteral("tcp:127.0.0.1:0"), QStringLiteral("--listen")});
        // One line, written before the peer accepts: blocking for it is safe.
        if (!m_python->waitForStarted(15000) || !m_python->waitForReadyRead(15000))
            return 0;
        m_python->setReadChannel(QProcess::StandardOutput);
        const QJsonObject event = QJsonDocument::fromJson(m_python->readLine()).object();
        if (event.value(QLatin1String("event")).toString() != QLatin1String("listening"))
            return 0;
        return rill::Endpoint::parse(event.value(QLatin1String("endpoint")).toString()).port();
    }

public Q_SLOTS:
    void applicationAvailable()
    {
        // No test function runs yet: a setup failure ends the suite with its reason.
        if (!m_dir.isValid())
            qFatal("no temporary folder");
        if (!m_tcpEcho.listen(QStringLiteral("tcp:127.0.0.1:0")))
            qFatal("the TCP echo server cannot listen");
        if (!m_unixEcho.listen(QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("echo"))))
            qFatal("the Unix echo server cannot listen");
        m_tcpEchoPort = m_tcpEcho.port();
        m_unixEchoPath = m_unixEcho.path();
        m_refusedPort = reserveRefusingPort();
        if (m_refusedPort <= 0)
            qFatal("no port to be refused on");
    }

    void qmlEngineAvailable(QQmlEngine *engine)
    {
        // The module as built, loaded through its plugin as any application would.
        engine->addImportPath(QStringLiteral(RILL_QML_IMPORT_DIR));
        engine->rootContext()->setContextProperty(QStringLiteral("testEnv"), this);
    }

    void cleanupTestCase()
    {
        if (m_python) {
            m_python->kill();
            m_python->waitForFinished(10000);
        }
        if (m_refusingFd >= 0)
            ::close(m_refusingFd);
    }

private:
    // A loopback port bound but not listening: connecting is refused, and nobody else can take
    // the port while the suite runs.
    int reserveRefusingPort()
    {
        m_refusingFd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address {};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (m_refusingFd < 0
            || ::bind(m_refusingFd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
            || ::getsockname(m_refusingFd, reinterpret_cast<sockaddr *>(&address), &length) != 0)
            return 0;
        return ntohs(address.sin_port);
    }

    QTemporaryDir m_dir;
    rilltest::EchoServer m_tcpEcho;
    rilltest::EchoServer m_unixEcho;
    std::unique_ptr<QProcess> m_python;
    int m_tcpEchoPort = 0;
    QString m_unixEchoPath;
    int m_refusedPort = 0;
    int m_refusingFd = -1;
};

QUICK_TEST_MAIN_WITH_SETUP(tst_qml, Setup)

#include "tst_qml.moc"
