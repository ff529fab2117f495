// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::TlsFlow: TLS pairs over PipeFlow and TCP (both ends Rill), and against peers nobody here
// wrote: Python's ssl module (SSLObject over MemoryBIO, so it can send close_notify and go on
// reading) and `openssl s_server` / `s_client`. Half-close both ways (TLS 1.3 and 1.2),
// truncation, bad, expired and misnamed certificates, client certificates required and
// missing, no shared cipher, handshakes that never complete (the flow's limit, the listener's),
// renegotiation refused, ALPN, bulk both ways at once with checksums, and misuse: a read
// cancelled during the handshake, the peer vanishing mid-handshake, a wire that was closed
// already, a flow deleted from its own continuation.
//
// Certificates are made at test time with the openssl command in a temporary folder.
// Knobs: RILL_TLS_BULK_MIB (default 4; 256 for the issue's full run).
#include "../shared/testcerts.h"
#include "../shared/testutil.h"

#include <rill/connect.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>
#include <rill/tlsflow.h>

#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtNetwork/QSslKey>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>
#include <optional>

using namespace std::chrono_literals;
using rill::CloseResult;
using rill::Endpoint;
using rill::Error;
using rill::Flow;
using rill::FlowResult;
using rill::PipeFlow;
using rill::ReadResult;
using rill::TlsFlow;
using rill::WriteResult;
using namespace rilltest;

namespace {

constexpr qint64 MiB = 1024 * 1024;

QString sha256Hex(QByteArrayView data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

// A helper process (tlspeer.py, openssl): JSON events on stdout for tlspeer.py, raw text for
// openssl. Killed when destroyed.
class Proc
{
public:
    Proc()
    {
        QObject::connect(&m_process, &QProcess::readyReadStandardOutput, [this] { collect(); });
        QObject::connect(&m_process, &QProcess::readyReadStandardError,
                         [this] { m_stderr += m_process.readAllStandardError(); });
    }
    ~Proc()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(10000);
        }
    }
    Q_DISABLE_COPY(Proc)
    static constexpr int Timeout = int(std::chrono::milliseconds(DefaultTimeout).count());

    bool start(const QString &program, const QStringList &arguments)
    {
        const QString path = QStandardPaths::findExecutable(program);
        if (path.isEmpty())
            return false;
        if (!m_json) // openssl reports on stderr what the tests wait for ("RENEGOTIATING")
            m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(path, arguments);
        return m_process.waitForStarted(10000);
    }
    bool startPeer(const QStringList &arguments)
    {
        m_json = true;
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        return start(QStringLiteral("python3"),
                     QStringList{QStringLiteral(RILL_TEST_DATA_DIR "/tlspeer.py")} + arguments);
    }

    std::optional<QJsonObject> waitForEvent(const QString &name)
    {
        std::optional<QJsonObject> found;
        (void)QTest::qWaitFor([&] {
            collect();
            for (qsizetype i = 0; i < m_events.size(); ++i) {
                if (m_events.at(i).value(QLatin1String("event")).toString() == name) {
                    found = m_events.takeAt(i);
                    return true;
                }
            }
            return m_process.state() == QProcess::NotRunning && m_process.bytesAvailable() == 0;
        }, Timeout);
        return found;
    }
    // Waits until the raw output contains text. (QTest::qWaitFor, not spinUntil(): its
    // processEvents() without waiting left QProcess's output unread for seconds here.)
    bool waitForOutput(const QByteArray &text)
    {
        (void)QTest::qWaitFor([&] {
            collect();
            return m_output.contains(text) || m_process.state() == QProcess::NotRunning;
        }, Timeout);
        collect();
        return m_output.contains(text);
    }
    bool waitForExit()
    {
        return QTest::qWaitFor([&] { return m_process.state() == QProcess::NotRunning; }, Timeout);
    }
    QByteArray output()
    {
        collect();
        return m_output;
    }
    void write(const QByteArray &data) { m_process.write(data); }
    void closeInput() { m_process.closeWriteChannel(); }
    void kill() { m_process.kill(); }
    QProcess &process() { return m_process; }

    QString describe()
    {
        collect();
        if (m_process.processChannelMode() != QProcess::MergedChannels)
            m_stderr += m_process.readAllStandardError();
        QString text = QStringLiteral("\n  process: %1 %2")
                               .arg(m_process.program(), m_process.arguments().join(u' '));
        for (const QJsonObject &event : std::as_const(m_events))
            text += QStringLiteral("\n  event: ")
                    + QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact));
        if (!m_output.isEmpty())
            text += QStringLiteral("\n  stdout: ") + QString::fromLocal8Bit(m_output.right(2000));
        if (!m_stderr.isEmpty())
            text += QStringLiteral("\n  stderr: ") + QString::fromLocal8Bit(m_stderr.right(2000));
        return text;
    }

private:
    void collect()
    {
        const QByteArray data = m_process.readAllStandardOutput();
        m_output += data;
        if (!m_json)
            return;
        m_partial += data;
        qsizetype newline;
        while ((newline = m_partial.indexOf('\n')) >= 0) {
            const QByteArray line = m_partial.left(newline);
            m_partial.remove(0, newline + 1);
            const QJsonDocument document = QJsonDocument::fromJson(line);
            if (document.isObject())
                m_events.append(document.object());
        }
    }

    QProcess m_process;
    bool m_json = false;
    QByteArray m_output, m_partial, m_stderr;
    QList<QJsonObject> m_events;
};

} // namespace

using testcerts::loadCert;
using testcerts::loadKey;
using testcerts::openssl;

class TestTlsFlow : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

    // The server's configuration with the certificate CERT (server.crt, expired.crt, ...).
    QSslConfiguration serverConfig(const QString &cert = QStringLiteral("server.crt"),
                                   const QString &key = QStringLiteral("server.key")) const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setLocalCertificate(loadCert(path(cert)));
        c.setPrivateKey(loadKey(path(key)));
        return c;
    }
    // A client trusting only the test CA.
    QSslConfiguration clientConfig() const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setCaCertificates({loadCert(path(QStringLiteral("ca.crt")))});
        return c;
    }

    struct TlsPair
    {
        std::unique_ptr<TlsFlow> client, server;
    };
    // A client and a server TlsFlow over a PipeFlow pair.
    TlsPair pipePair(const QSslConfiguration &client, const QSslConfiguration &server,
                     const QString &name = QStringLiteral("localhost"))
    {
        auto [a, b] = PipeFlow::createPair();
        TlsPair pair;
        pair.client = std::make_unique<TlsFlow>(a.release(), TlsFlow::Mode::Client, client, name);
        pair.server = std::make_unique<TlsFlow>(b.release(), TlsFlow::Mode::Server, server);
        return pair;
    }

    // Rows "TLS 1.3" and "TLS 1.2" of a column "protocol" (a QSsl::SslProtocol).
    static void addProtocolRows()
    {
        QTest::addColumn<int>("protocol");
        QTest::newRow("TLS 1.3") << int(QSsl::TlsV1_3);
        QTest::newRow("TLS 1.2") << int(QSsl::TlsV1_2);
    }

    static int bulkMiB()
    {
        bool ok = false;
        const int n = qEnvironmentVariableIntValue("RILL_TLS_BULK_MIB", &ok);
        return ok && n > 0 ? n : 4;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("the openssl command is not installed");
        const QString d = m_dir.path();
        QString why;
        auto run = [&](const QString &line) {
            return openssl(d, line.split(u' ', Qt::SkipEmptyParts), &why);
        };
        // ca.crt, server.crt and localhost.ext, which the certificates below use too.
        QVERIFY2(testcerts::makeCaAndServer(d, &why), qPrintable(why));
        QFile other(path(QStringLiteral("other.ext")));
        QVERIFY(other.open(QIODevice::WriteOnly));
        other.write("subjectAltName=DNS:other.example\n");
        other.close();
        const QString ec = QStringLiteral("-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes");
        // Expired: valid until one day before it was made (openssl takes -days -1).
        QVERIFY2(run(QStringLiteral("x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out expired.crt -days -1 -extfile localhost.ext")), qPrintable(why));
        QVERIFY2(run(QStringLiteral("x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out other.crt -days 30 -extfile other.ext")), qPrintable(why));
        QVERIFY2(run(QStringLiteral("req -x509 %1 -keyout self.key -out self.crt -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost").arg(ec)), qPrintable(why));
        QVERIFY2(run(QStringLiteral("req %1 -keyout client.key -out client.csr -subj /CN=rill-client").arg(ec)), qPrintable(why));
        QVERIFY2(run(QStringLiteral("x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 30")), qPrintable(why));
        const QSslCertificate expired = loadCert(path(QStringLiteral("expired.crt")));
        QVERIFY(!expired.isNull());
        QVERIFY2(expired.expiryDate() < QDateTime::currentDateTimeUtc(), "the expired certificate is not expired");
        QVERIFY(!loadKey(path(QStringLiteral("server.key"))).isNull());
    }

    // Both ends Rill over a PipeFlow: each side half-closes in turn. The server answers after
    // the client's close_notify (which it reads as Eof): TLS 1.3's half-close, and OpenSSL
    // still writes after receiving close_notify.
    void pipePairHalfClose_data() { addProtocolRows(); }
    void pipePairHalfClose()
    {
        QFETCH(int, protocol);
        QSslConfiguration client = clientConfig();
        client.setProtocol(QSsl::SslProtocol(protocol));
        client.setAllowedNextProtocols({QByteArrayLiteral("h2"), QByteArrayLiteral("http/1.1")});
        QSslConfiguration server = serverConfig();
        server.setAllowedNextProtocols({QByteArrayLiteral("http/1.1")});
        TlsPair p = pipePair(client, server);
        QSignalSpy clientEncrypted(p.client.get(), &TlsFlow::encrypted);
        QSignalSpy serverEncrypted(p.server.get(), &TlsFlow::encrypted);
        auto cleanup = destroyFirst(p.client, p.server);

        QCOMPARE(p.client->state(), Flow::State::Connecting);
        // Written before the handshake: queued, sent once encrypted.
        const QByteArray request = pattern(100 * 1024, 7);
        auto w = p.client->write(request);
        auto sd = p.client->shutdown(Flow::Direction::Write);

        Drained atServer = readToEnd(p.server.get());
        RILL_CHECK_DRAINED(atServer, request, ReadResult::eof());
        QCOMPARE(clientEncrypted.size(), 1);
        QCOMPARE(serverEncrypted.size(), 1);
        WriteResult wr;
        RILL_AWAIT(sd, wr);
        QVERIFY2(wr.isOk(), qPrintable(debugString(wr)));
        QCOMPARE(p.client->writeState(), Flow::WriteState::Closed);

        for (TlsFlow *f : {p.client.get(), p.server.get()}) {
            QVERIFY(f->isEncrypted());
            QCOMPARE(int(f->sessionProtocol()), protocol);
            QVERIFY(!f->sessionCipherName().isEmpty());
            QCOMPARE(f->nextNegotiatedProtocol(), QByteArrayLiteral("http/1.1"));
            QCOMPARE(f->transportName(), QStringLiteral("tls"));
        }
        QVERIFY(!p.client->sessionCipher().isNull());
        QCOMPARE(p.client->peerCertificate().subjectInfo(QSslCertificate::CommonName),
                 QStringList{QStringLiteral("localhost")});
        QCOMPARE(p.client->peerCertificateChain().size(), 1);
        QVERIFY(p.server->peerCertificateChain().isEmpty()); // no client certificate

        // The other direction still works after the client's close_notify.
        const QByteArray reply = pattern(300 * 1024, 8);
        p.server->write(reply);
        CloseResult cr;
        auto serverClose = p.server->close();
        Drained atClient = readToEnd(p.client.get());
        RILL_CHECK_DRAINED(atClient, reply, ReadResult::eof());
        RILL_AWAIT(serverClose, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        auto clientClose = p.client->close();
        RILL_AWAIT(clientClose, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        QCOMPARE(p.client->state(), Flow::State::Closed);
        QVERIFY(p.client->error().isNone());
        QVERIFY(p.server->error().isNone());
        RILL_AWAIT_VOID(w);
    }

    // The server half-closes first; the client goes on writing after reading Eof.
    void serverHalfClosesFirst()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        p.server->write("banner");
        p.server->shutdown(Flow::Direction::Write);
        Drained d = readToEnd(p.client.get());
        RILL_CHECK_DRAINED(d, QByteArrayLiteral("banner"), ReadResult::eof());
        p.client->write("still talking");
        p.client->shutdown(Flow::Direction::Write);
        d = readToEnd(p.server.get());
        RILL_CHECK_DRAINED(d, QByteArrayLiteral("still talking"), ReadResult::eof());
    }

    // A client with session persistence on (QSsl::SslOptionDisableSessionPersistence off, as
    // for QSslSocket) gets a session from the server's ticket, and a later connection given it
    // with setSessionTicket() resumes instead of running the full handshake, on both sides.
    // With persistence off (the default) no session is kept; a ticket that is not a session
    // means a full handshake, not a failure.
    void sessionResumption_data() { addProtocolRows(); }
    void sessionResumption()
    {
        QFETCH(int, protocol);
        QSslConfiguration client = clientConfig();
        client.setProtocol(QSsl::SslProtocol(protocol));
        client.setSslOption(QSsl::SslOptionDisableSessionPersistence, false);
        // One exchange: the bytes read bring the ticket (TLS 1.3 sends it after the handshake).
        auto exchange = [](TlsPair &p) {
            p.server->write("hello");
            auto r = p.client->read();
            ReadResult got;
            RILL_AWAIT(r, got);
            QCOMPARE(got, ReadResult::fromData("hello"));
        };
        QByteArray ticket;
        {
            TlsPair first = pipePair(client, serverConfig());
            auto cleanup = destroyFirst(first.client, first.server);
            exchange(first);
            QVERIFY(!first.client->isSessionResumed());
            QTRY_VERIFY_WITH_TIMEOUT(!first.client->sessionTicket().isEmpty(), 10000);
            ticket = first.client->sessionTicket();
        }
        QSslConfiguration again = client;
        again.setSessionTicket(ticket);
        {
            TlsPair second = pipePair(again, serverConfig());
            auto cleanup = destroyFirst(second.client, second.server);
            exchange(second);
            QVERIFY2(second.client->isSessionResumed(), "the client should resume its session");
            QVERIFY2(second.server->isSessionResumed(), "the server should resume the session");
            QCOMPARE(second.client->peerCertificate(), loadCert(path(QStringLiteral("server.crt"))));
        }
        QSslConfiguration garbage = client;
        garbage.setSessionTicket("not a session");
        QSslConfiguration noPersistence = clientConfig();
        noPersistence.setProtocol(QSsl::SslProtocol(protocol));
        for (const QSslConfiguration &c : {garbage, noPersistence}) {
            TlsPair p = pipePair(c, serverConfig());
            auto cleanup = destroyFirst(p.client, p.server);
            exchange(p);
            QVERIFY(!p.client->isSessionResumed());
            if (c.testSslOption(QSsl::SslOptionDisableSessionPersistence)) {
                // What the client read came after any ticket, which it has handled.
                QVERIFY(p.client->sessionTicket().isEmpty());
            }
        }
    }

    // The wire ends without close_notify: the bytes before it, then Truncated, never Eof.
    void truncationOverPipe()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        QSignalSpy encrypted(p.server.get(), &TlsFlow::encrypted);
        p.server->write("partial answer");
        QVERIFY(QTest::qWaitFor([&] { return p.server->bytesQueued() == 0 && encrypted.size() == 1; }, 10000));
        // Behind TLS's back: the FIN without close_notify.
        QVERIFY(p.server->wire());
        auto fin = p.server->wire()->shutdown(Flow::Direction::Write);
        RILL_AWAIT_VOID(fin);
        Drained d = readToEnd(p.client.get());
        QVERIFY(d.finished);
        QCOMPARE(d.data, QByteArrayLiteral("partial answer"));
        QVERIFY2(isKind(d.end, Error::Kind::Truncated), qPrintable(debugString(d.end)));
        QVERIFY(errorMessage(d.end.error()).contains(QLatin1String("truncated")));
    }

    // Certificates the client must refuse, each with its reason in plain words; nothing is
    // handed to the application on either side.
    void badCertificates_data()
    {
        QTest::addColumn<QString>("cert");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("trustCa");
        QTest::addColumn<QString>("words");
        QTest::newRow("expired") << "expired.crt" << "server.key" << "localhost" << true
                                 << "certificate has expired";
        QTest::newRow("misnamed") << "other.crt" << "server.key" << "localhost" << true
                                  << "certificate is for other.example, not localhost";
        QTest::newRow("wrong name asked") << "server.crt" << "server.key" << "rill.example" << true
                                          << "certificate is for localhost, 127.0.0.1, not rill.example";
        QTest::newRow("self-signed") << "self.crt" << "self.key" << "localhost" << true
                                     << "certificate is not trusted (self-signed)";
        QTest::newRow("unknown authority") << "server.crt" << "server.key" << "localhost" << false
                                           << "certificate is not trusted (issued by Rill-Test-CA";
    }
    void badCertificates()
    {
        QFETCH(QString, cert);
        QFETCH(QString, key);
        QFETCH(QString, name);
        QFETCH(bool, trustCa);
        QFETCH(QString, words);
        QSslConfiguration client = clientConfig();
        if (!trustCa) // trusting only an unrelated authority (the self-signed certificate)
            client.setCaCertificates({loadCert(path(QStringLiteral("self.crt")))});
        TlsPair p = pipePair(client, serverConfig(cert, key), name);
        QSignalSpy clientEncrypted(p.client.get(), &TlsFlow::encrypted);
        QSignalSpy serverEncrypted(p.server.get(), &TlsFlow::encrypted);
        auto cleanup = destroyFirst(p.client, p.server);
        auto w = p.client->write("secret");
        ReadResult r;
        auto rf = p.client->read();
        RILL_AWAIT(rf, r);
        QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
        QVERIFY2(r.error().message().contains(words), qPrintable(r.error().message()));
        QVERIFY(r.error().message().contains(QLatin1String("certificate")));
        QCOMPARE(p.client->state(), Flow::State::Closed);
        // The server learns of it from the client's alert, and never sees the secret.
        auto sf = p.server->read();
        RILL_AWAIT(sf, r);
        QVERIFY2(r.isError(), qPrintable(debugString(r)));
        QCOMPARE(clientEncrypted.size(), 0);
        QCOMPARE(serverEncrypted.size(), 0);
        RILL_AWAIT_VOID(w);
    }

    // Over TCP the error names the endpoint as tls:HOST:PORT.
    void errorNamesTheEndpoint()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig(QStringLiteral("expired.crt")));
        QVERIFY2(listener.listen(Endpoint::parse(QStringLiteral("tls:127.0.0.1:0"))),
                 qPrintable(errorMessage(listener.error())));
        QSignalSpy failedHandshakes(&listener, &rill::Listener::handshakeFailed);
        const quint16 port = listener.endpoint().port();
        QCOMPARE(listener.endpoint().type(), Endpoint::Type::Tls);
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"), port, clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY(!r.isOk());
        QCOMPARE(r.error().kind(), Error::Kind::Tls);
        QCOMPARE(errorMessage(r.error()),
                 QStringLiteral("tls:localhost:%1: TLS handshake failed: certificate has expired (on %2)")
                         .arg(port)
                         .arg(loadCert(path(QStringLiteral("expired.crt"))).expiryDate().toUTC().toString(Qt::ISODate)));
        QTRY_COMPARE_WITH_TIMEOUT(failedHandshakes.size(), 1, 10000);
        QCOMPARE(listener.pendingConnections(), 0);
    }

    // A server that requires a client certificate: refused without one, with one it sees it.
    void clientCertificates()
    {
        QSslConfiguration server = serverConfig();
        server.setPeerVerifyMode(QSslSocket::VerifyPeer);
        server.setCaCertificates({loadCert(path(QStringLiteral("ca.crt")))});
        {
            TlsPair p = pipePair(clientConfig(), server);
            auto cleanup = destroyFirst(p.client, p.server);
            ReadResult r;
            auto sf = p.server->read();
            RILL_AWAIT(sf, r);
            QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
            QVERIFY2(r.error().message().contains(QLatin1String("peer did not send a certificate")),
                     qPrintable(r.error().message()));
            auto cf = p.client->read();
            RILL_AWAIT(cf, r);
            QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
            QVERIFY2(r.error().message().contains(QLatin1String("certificate")),
                     qPrintable(r.error().message()));
        }
        {
            QSslConfiguration client = clientConfig();
            client.setLocalCertificate(loadCert(path(QStringLiteral("client.crt"))));
            client.setPrivateKey(loadKey(path(QStringLiteral("client.key"))));
            TlsPair p = pipePair(client, server);
            auto cleanup = destroyFirst(p.client, p.server);
            p.client->write("with a certificate");
            p.client->shutdown(Flow::Direction::Write);
            Drained d = readToEnd(p.server.get());
            RILL_CHECK_DRAINED(d, QByteArrayLiteral("with a certificate"), ReadResult::eof());
            QCOMPARE(p.server->peerCertificate().subjectInfo(QSslCertificate::CommonName),
                     QStringList{QStringLiteral("rill-client")});
        }
        {
            // A client certificate from an authority the server does not trust.
            QSslConfiguration client = clientConfig();
            client.setLocalCertificate(loadCert(path(QStringLiteral("self.crt"))));
            client.setPrivateKey(loadKey(path(QStringLiteral("self.key"))));
            TlsPair p = pipePair(client, server);
            auto cleanup = destroyFirst(p.client, p.server);
            ReadResult r;
            auto sf = p.server->read();
            RILL_AWAIT(sf, r);
            QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
            QVERIFY2(r.error().message().contains(QLatin1String("certificate is not trusted (self-signed)")),
                     qPrintable(r.error().message()));
        }
    }

    void noSharedCipher()
    {
        QSslConfiguration client = clientConfig();
        client.setProtocol(QSsl::TlsV1_2);
        client.setCiphers({QSslCipher(QStringLiteral("ECDHE-ECDSA-CHACHA20-POLY1305"))});
        QSslConfiguration server = serverConfig();
        server.setProtocol(QSsl::TlsV1_2);
        server.setCiphers({QSslCipher(QStringLiteral("ECDHE-ECDSA-AES128-GCM-SHA256"))});
        QVERIFY(!client.ciphers().first().isNull());
        QVERIFY(!server.ciphers().first().isNull());
        TlsPair p = pipePair(client, server);
        auto cleanup = destroyFirst(p.client, p.server);
        ReadResult r;
        auto sf = p.server->read();
        RILL_AWAIT(sf, r);
        QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
        QVERIFY2(r.error().message().contains(QLatin1String("no shared cipher")),
                 qPrintable(r.error().message()));
        auto cf = p.client->read();
        RILL_AWAIT(cf, r);
        QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
    }

    void alpnWithoutOverlap()
    {
        QSslConfiguration client = clientConfig();
        client.setAllowedNextProtocols({QByteArrayLiteral("h2")});
        QSslConfiguration server = serverConfig();
        server.setAllowedNextProtocols({QByteArrayLiteral("imap")});
        TlsPair p = pipePair(client, server);
        auto cleanup = destroyFirst(p.client, p.server);
        QSignalSpy encrypted(p.client.get(), &TlsFlow::encrypted);
        QTRY_COMPARE_WITH_TIMEOUT(encrypted.size(), 1, 10000);
        QVERIFY(p.client->nextNegotiatedProtocol().isEmpty());
    }

    // A peer that never answers: the flow's own limit, then TimedOut; futures all finish.
    void handshakeTimeout()
    {
        auto [a, b] = PipeFlow::createPair();
        TlsFlow client(a.release(), TlsFlow::Mode::Client, clientConfig(), QStringLiteral("localhost"));
        QSignalSpy changed(&client, &TlsFlow::handshakeTimeoutChanged);
        client.setHandshakeTimeout(300ms);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(client.handshakeTimeout(), 300);
        auto w = client.write("never sent");
        auto rf = client.read();
        ReadResult r;
        RILL_AWAIT(rf, r);
        QVERIFY2(isKind(r, Error::Kind::TimedOut), qPrintable(debugString(r)));
        QVERIFY(r.error().message().contains(QLatin1String("handshake")));
        WriteResult wr;
        RILL_AWAIT(w, wr);
        // The silent peer got the ClientHello and then the end of the connection.
        Drained d = readToEnd(b.get());
        QVERIFY(d.finished);
        QVERIFY(!d.data.isEmpty());
    }

    // The listener drops a client that never completes its handshake, and says so; a good
    // client meanwhile is served.
    void listenerHandshakeTimeout()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        listener.setHandshakeTimeout(300ms);
        QCOMPARE(listener.handshakeTimeout(), 300ms);
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        QSignalSpy failedHandshakes(&listener, &rill::Listener::handshakeFailed);
        const quint16 port = listener.endpoint().port();
        auto silentF = rill::TcpFlow::connectToHost(QStringLiteral("127.0.0.1"), port);
        FlowResult<rill::TcpFlow> silent;
        RILL_AWAIT(silentF, silent);
        QVERIFY(silent.isOk());
        auto accepted = listener.accept(10s);
        auto good = TlsFlow::connectToHost(QStringLiteral("localhost"), port, clientConfig());
        FlowResult<Flow> a;
        RILL_AWAIT(accepted, a);
        QVERIFY2(a.isOk(), qPrintable(errorMessage(a.error())));
        QCOMPARE(a.flow()->state(), Flow::State::Open);
        QVERIFY(qobject_cast<TlsFlow *>(a.flow()));
        QTRY_COMPARE_WITH_TIMEOUT(failedHandshakes.size(), 1, 10000);
        QCOMPARE(failedHandshakes.at(0).at(0).value<Error>().kind(), Error::Kind::TimedOut);
        Drained d = readToEnd(silent.flow());
        QVERIFY(d.finished); // the silent client was dropped
        FlowResult<TlsFlow> g;
        RILL_AWAIT(good, g);
        QVERIFY(g.isOk());
        // Accept with a deadline and nobody coming: TimedOut.
        auto none = listener.accept(100ms);
        FlowResult<Flow> n;
        RILL_AWAIT(none, n);
        QCOMPARE(n.error().kind(), Error::Kind::TimedOut);
        listener.close();
        auto closed = listener.accept();
        RILL_AWAIT(closed, n);
        QCOMPARE(n.error().kind(), Error::Kind::Closed);
    }

    // maxPendingConnections() bounds the handshakes running at once: with one place taken by
    // a client that never speaks, a good client waits in the kernel's backlog and is served
    // only once the silent one is gone. (Without the bound it would be served at once, before
    // the silent one is dropped: the order of the two events tells.)
    void listenerBoundsHandshakes()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        listener.setHandshakeTimeout(1h);
        listener.setMaxPendingConnections(1);
        QCOMPARE(listener.maxPendingConnections(), 1);
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        QSignalSpy failedHandshakes(&listener, &rill::Listener::handshakeFailed);
        const quint16 port = listener.endpoint().port();
        auto silentF = rill::TcpFlow::connectToHost(QStringLiteral("127.0.0.1"), port);
        FlowResult<rill::TcpFlow> silent;
        RILL_AWAIT(silentF, silent);
        QVERIFY(silent.isOk());
        QTRY_COMPARE_WITH_TIMEOUT(listener.pendingConnections(), 1, 10000);

        auto good = TlsFlow::connectToHost(QStringLiteral("localhost"), port, clientConfig());
        qsizetype failedWhenServed = -1;
        auto served = good.then(&listener, [&](const FlowResult<TlsFlow> &) {
            failedWhenServed = failedHandshakes.size();
        });
        rill::TcpFlow *silentFlow = silent.flow();
        QTimer::singleShot(200ms, silentFlow, [silentFlow] { silentFlow->abort(); });
        QTRY_VERIFY_WITH_TIMEOUT(served.isFinished(), 20000);
        QCOMPARE(failedWhenServed, 1);
        FlowResult<TlsFlow> g = good.result();
        QVERIFY2(g.isOk(), qPrintable(errorMessage(g.error())));
        // The good client's flow waits for accept(), and counts as pending until taken.
        QTRY_COMPARE_WITH_TIMEOUT(listener.pendingConnections(), 1, 10000);
        auto accepted = listener.accept(10s);
        FlowResult<Flow> a;
        RILL_AWAIT(accepted, a);
        QVERIFY2(a.isOk(), qPrintable(errorMessage(a.error())));
        QCOMPARE(listener.pendingConnections(), 0);
    }

    // connectTo("tls:...") uses the system's authorities: our test CA is not among them.
    void connectToEndpointUsesSystemTrust()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        QVERIFY(listener.listen(Endpoint::parse(QStringLiteral("tls:localhost:0"))));
        const QString text = QStringLiteral("tls:localhost:%1").arg(listener.endpoint().port());
        QCOMPARE(listener.endpoint().toString(), QStringLiteral("tls:127.0.0.1:%1").arg(listener.endpoint().port()));
        auto f = rill::connectTo(Endpoint::parse(text));
        FlowResult<Flow> r;
        RILL_AWAIT(f, r);
        QVERIFY(!r.isOk());
        QCOMPARE(r.error().kind(), Error::Kind::Tls);
        QVERIFY2(errorMessage(r.error()).startsWith(text + QStringLiteral(": TLS handshake failed: certificate is not trusted")),
                 qPrintable(errorMessage(r.error())));
    }

    // Bulk both ways at once over TCP, both ends Rill (through the tls: listener), checksums.
    void bulkBothWaysOverTcp()
    {
        const qint64 size = heavyVolume(bulkMiB() * MiB);
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        auto accepted = listener.accept();
        auto connected = TlsFlow::connectToHost(QStringLiteral("localhost"),
                                                listener.endpoint().port(), clientConfig());
        FlowResult<Flow> a;
        FlowResult<TlsFlow> c;
        RILL_AWAIT(accepted, a);
        RILL_AWAIT(connected, c);
        QVERIFY(a.isOk() && c.isOk());
        std::unique_ptr<Flow> server = a.takeFlow();
        std::unique_ptr<TlsFlow> client = c.takeFlow();
        const QByteArray up = pattern(size, 11), down = pattern(size, 12);
        // Writes in 256 KiB pieces, each once the one before was accepted (backpressure).
        auto pump = [](Flow *f, const QByteArray &data) {
            auto offset = std::make_shared<qint64>(0);
            auto step = std::make_shared<std::function<void()>>();
            // The pending write's continuation holds the only strong reference.
            std::weak_ptr<std::function<void()>> self = step;
            *step = [f, data, offset, self] {
                if (*offset >= data.size()) {
                    f->shutdown(Flow::Direction::Write);
                    return;
                }
                const QByteArray piece = data.mid(*offset, 256 * 1024);
                *offset += piece.size();
                f->write(piece).then(f, [next = self.lock()](const WriteResult &r) {
                    if (r.isOk())
                        (*next)();
                });
            };
            (*step)();
        };
        pump(client.get(), up);
        pump(server.get(), down);
        QByteArray gotUp, gotDown;
        std::optional<ReadResult> endUp, endDown; // a default ReadResult is Eof
        std::function<void()> readUp, readDown;
        readUp = [&] {
            server->read().then(server.get(), [&](const ReadResult &r) {
                if (r.isData()) { gotUp += r.data(); readUp(); } else endUp = r; });
        };
        readDown = [&] {
            client->read().then(client.get(), [&](const ReadResult &r) {
                if (r.isData()) { gotDown += r.data(); readDown(); } else endDown = r; });
        };
        readUp();
        readDown();
        QVERIFY2(spinUntil([&] { return endUp && endDown; }, 150s),
                 qPrintable(QStringLiteral("up %1/%2, down %3/%4").arg(gotUp.size()).arg(size)
                                    .arg(gotDown.size()).arg(size)));
        QVERIFY2(endUp->isEof(), qPrintable(debugString(*endUp)));
        QVERIFY2(endDown->isEof(), qPrintable(debugString(*endDown)));
        QCOMPARE(gotUp.size(), up.size());
        QCOMPARE(gotDown.size(), down.size());
        QCOMPARE(sha256Hex(gotUp), sha256Hex(up));
        QCOMPARE(sha256Hex(gotDown), sha256Hex(down));
        CloseResult cr;
        auto cc = client->close();
        auto sc = server->close();
        RILL_AWAIT(cc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        RILL_AWAIT(sc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
    }

    // ---- peers nobody here wrote: Python's ssl module

    // Python serves: reads our request to our close_notify, then answers (after it: TLS 1.3
    // half-close from the other side), close_notify, FIN.
    void pythonServerRepliesAfterOurCloseNotify()
    {
        Proc py;
        const QByteArray reply = "answer from python";
        QVERIFY(py.startPeer({QStringLiteral("server"), QStringLiteral("reply-after-eof"),
                              QStringLiteral("--cert"), path(QStringLiteral("server.crt")),
                              QStringLiteral("--key"), path(QStringLiteral("server.key")),
                              QStringLiteral("--text"), QString::fromLatin1(reply),
                              QStringLiteral("--alpn"), QStringLiteral("x-rill,http/1.1")}));
        auto listening = py.waitForEvent(QStringLiteral("listening"));
        QVERIFY2(listening, qPrintable(py.describe()));
        const quint16 port = quint16(listening->value(QLatin1String("port")).toInt());
        QSslConfiguration config = clientConfig();
        config.setAllowedNextProtocols({QByteArrayLiteral("x-rill")});
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"), port, config);
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error()) + py.describe()));
        std::unique_ptr<TlsFlow> flow = r.takeFlow();
        QCOMPARE(flow->peerEndpoint(), Endpoint::tls(QStringLiteral("localhost"), port));
        QCOMPARE(flow->sessionProtocol(), QSsl::TlsV1_3);
        QCOMPARE(flow->nextNegotiatedProtocol(), QByteArrayLiteral("x-rill"));
        const QByteArray request = pattern(200000, 3);
        flow->write(request);
        flow->shutdown(Flow::Direction::Write);
        auto received = py.waitForEvent(QStringLiteral("received"));
        QVERIFY2(received, qPrintable(py.describe()));
        QCOMPARE(received->value(QLatin1String("how")).toString(), QStringLiteral("close_notify"));
        QCOMPARE(received->value(QLatin1String("count")).toInteger(), request.size());
        QCOMPARE(received->value(QLatin1String("sha256")).toString(), sha256Hex(request));
        Drained d = readToEnd(flow.get());
        RILL_CHECK_DRAINED(d, reply, ReadResult::eof());
        CloseResult cr;
        auto cf = flow->close();
        RILL_AWAIT(cf, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        QVERIFY(py.waitForEvent(QStringLiteral("done")));
    }

    // Python as the client of the tls: listener: sends, close_notify, goes on reading; we reply
    // after reading its close_notify as Eof.
    void pythonClientHalfCloses()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        Proc py;
        const QByteArray request = pattern(50000, 4);
        QVERIFY(py.startPeer({QStringLiteral("client"), QStringLiteral("send-then-read"),
                              QStringLiteral("--port"), QString::number(listener.endpoint().port()),
                              QStringLiteral("--ca"), path(QStringLiteral("ca.crt")),
                              QStringLiteral("--bytes"), QString::number(request.size()),
                              QStringLiteral("--seed"), QStringLiteral("9")}));
        auto accepted = listener.accept();
        FlowResult<Flow> a;
        RILL_AWAIT(accepted, a);
        QVERIFY2(a.isOk(), qPrintable(errorMessage(a.error()) + py.describe()));
        std::unique_ptr<Flow> flow = a.takeFlow();
        Drained d = readToEnd(flow.get());
        QVERIFY(d.finished);
        QVERIFY2(d.end.isEof(), qPrintable(debugString(d.end)));
        auto done = py.waitForEvent(QStringLiteral("encrypted"));
        QVERIFY(done);
        const QByteArray reply = pattern(123456, 5);
        flow->write(reply);
        CloseResult cr;
        auto cf = flow->close();
        RILL_AWAIT(cf, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr) + py.describe()));
        auto received = py.waitForEvent(QStringLiteral("received"));
        QVERIFY2(received, qPrintable(py.describe()));
        QCOMPARE(received->value(QLatin1String("how")).toString(), QStringLiteral("close_notify"));
        QCOMPARE(received->value(QLatin1String("sha256")).toString(), sha256Hex(reply));
        auto finished = py.waitForEvent(QStringLiteral("done"));
        QVERIFY(finished);
        QCOMPARE(finished->value(QLatin1String("sent_sha256")).toString(), sha256Hex(d.data));
    }

    // Python sends, then a FIN without close_notify: the data, then Truncated.
    void pythonTruncates()
    {
        Proc py;
        QVERIFY(py.startPeer({QStringLiteral("server"), QStringLiteral("truncate"),
                              QStringLiteral("--cert"), path(QStringLiteral("server.crt")),
                              QStringLiteral("--key"), path(QStringLiteral("server.key")),
                              QStringLiteral("--text"), QStringLiteral("cut short")}));
        auto listening = py.waitForEvent(QStringLiteral("listening"));
        QVERIFY2(listening, qPrintable(py.describe()));
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"),
                                        quint16(listening->value(QLatin1String("port")).toInt()),
                                        clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error()) + py.describe()));
        std::unique_ptr<TlsFlow> flow = r.takeFlow();
        Drained d = readToEnd(flow.get());
        QVERIFY(d.finished);
        QCOMPARE(d.data, QByteArrayLiteral("cut short"));
        QVERIFY2(isKind(d.end, Error::Kind::Truncated), qPrintable(debugString(d.end)));
        QCOMPARE(flow->error().kind(), Error::Kind::Truncated);
        // Sticky: every later read gives the same error.
        auto again = flow->read();
        ReadResult r2;
        RILL_AWAIT(again, r2);
        QCOMPARE(r2, d.end);
    }

    // Both directions at once against Python, checksummed.
    void pythonBulkBothWays()
    {
        const qint64 size = heavyVolume(bulkMiB() * MiB);
        Proc py;
        QVERIFY(py.startPeer({QStringLiteral("server"), QStringLiteral("bulk"),
                              QStringLiteral("--cert"), path(QStringLiteral("server.crt")),
                              QStringLiteral("--key"), path(QStringLiteral("server.key")),
                              QStringLiteral("--bytes"), QString::number(size),
                              QStringLiteral("--seed"), QStringLiteral("21")}));
        auto listening = py.waitForEvent(QStringLiteral("listening"));
        QVERIFY2(listening, qPrintable(py.describe()));
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"),
                                        quint16(listening->value(QLatin1String("port")).toInt()),
                                        clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error()) + py.describe()));
        std::unique_ptr<TlsFlow> flow = r.takeFlow();
        const QByteArray up = pattern(size, 22);
        for (qint64 off = 0; off < size; off += MiB)
            flow->write(up.mid(off, MiB)); // accepted as the send queue drains
        flow->shutdown(Flow::Direction::Write);
        Drained d = readToEnd(flow.get(), -1, 150s);
        QVERIFY(d.finished);
        QVERIFY2(d.end.isEof(), qPrintable(debugString(d.end) + py.describe()));
        auto received = py.waitForEvent(QStringLiteral("received"));
        QVERIFY2(received, qPrintable(py.describe()));
        QCOMPARE(received->value(QLatin1String("sha256")).toString(), sha256Hex(up));
        auto done = py.waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, qPrintable(py.describe()));
        QCOMPARE(sha256Hex(d.data), done->value(QLatin1String("sent_sha256")).toString());
    }

    // ---- openssl s_server and s_client

    void opensslServer()
    {
        Proc server;
        const quint16 port = startSServer(server);
        QVERIFY2(port, qPrintable(server.describe()));
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"), port, clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error()) + server.describe()));
        std::unique_ptr<TlsFlow> flow = r.takeFlow();
        flow->write("hello s_server\n");
        QVERIFY2(server.waitForOutput("hello s_server\n"), qPrintable(server.describe()));
        server.write("hello rill\n");
        Drained d = readToEnd(flow.get(), 11);
        QCOMPARE(d.data, QByteArrayLiteral("hello rill\n"));
        // Our close_notify ends s_server's session: it answers with its own, then closes.
        CloseResult cr;
        auto cf = flow->close();
        RILL_AWAIT(cf, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr) + server.describe()));
    }

    // s_server killed mid-session: the kernel sends the FIN, no close_notify: Truncated.
    void opensslServerKilled()
    {
        Proc server;
        const quint16 port = startSServer(server);
        QVERIFY2(port, qPrintable(server.describe()));
        auto f = TlsFlow::connectToHost(QStringLiteral("localhost"), port, clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error()) + server.describe()));
        std::unique_ptr<TlsFlow> flow = r.takeFlow();
        server.write("last words\n");
        Drained d = readToEnd(flow.get(), 11);
        QCOMPARE(d.data, QByteArrayLiteral("last words\n"));
        server.process().terminate();
        d = readToEnd(flow.get());
        QVERIFY(d.finished);
        QVERIFY2(isKind(d.end, Error::Kind::Truncated), qPrintable(debugString(d.end)));
    }

    // s_client against the tls: listener over TLS 1.2 asks to renegotiate ("R"): refused. The
    // client gets a no_renegotiation alert and gives up; nothing renegotiates, and our flow
    // ends with the client's alert as a TLS error, the data before it read.
    void renegotiationRefused()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        Proc client;
        QVERIFY(client.start(QStringLiteral("openssl"),
                             {QStringLiteral("s_client"), QStringLiteral("-connect"),
                              QStringLiteral("127.0.0.1:%1").arg(listener.endpoint().port()),
                              QStringLiteral("-tls1_2"), QStringLiteral("-CAfile"),
                              path(QStringLiteral("ca.crt"))}));
        auto accepted = listener.accept();
        FlowResult<Flow> a;
        RILL_AWAIT(accepted, a);
        QVERIFY2(a.isOk(), qPrintable(errorMessage(a.error()) + client.describe()));
        std::unique_ptr<Flow> flow = a.takeFlow();
        QCOMPARE(qobject_cast<TlsFlow *>(flow.get())->sessionProtocol(), QSsl::TlsV1_2);
        client.write("before\n");
        Drained d = readToEnd(flow.get(), 7);
        QCOMPARE(d.data, QByteArrayLiteral("before\n"));
        client.write("R\n");
        QVERIFY2(client.waitForOutput("RENEGOTIATING"), qPrintable(client.describe()));
        d = readToEnd(flow.get());
        QVERIFY(d.finished);
        QVERIFY2(d.data.isEmpty(), d.data.constData());
        QVERIFY2(isKind(d.end, Error::Kind::Tls), qPrintable(debugString(d.end) + client.describe()));
        QVERIFY(client.waitForExit());
    }

    // TLS inside TLS: the wire of a TlsFlow may be another TlsFlow.
    void tlsOverTls()
    {
        TlsPair outer = pipePair(clientConfig(), serverConfig());
        TlsPair inner;
        inner.client = std::make_unique<TlsFlow>(outer.client.release(), TlsFlow::Mode::Client,
                                                 clientConfig(), QStringLiteral("localhost"));
        inner.server = std::make_unique<TlsFlow>(outer.server.release(), TlsFlow::Mode::Server,
                                                 serverConfig());
        auto cleanup = destroyFirst(inner.client, inner.server);
        QCOMPARE(inner.client->wire()->transportName(), QStringLiteral("tls"));
        const QByteArray data = pattern(500000, 41);
        inner.client->write(data);
        inner.client->shutdown(Flow::Direction::Write);
        Drained d = readToEnd(inner.server.get());
        RILL_CHECK_DRAINED(d, data, ReadResult::eof());
        inner.server->write("inner reply");
        CloseResult cr;
        auto sc = inner.server->close();
        d = readToEnd(inner.client.get());
        RILL_CHECK_DRAINED(d, QByteArrayLiteral("inner reply"), ReadResult::eof());
        RILL_AWAIT(sc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        auto cc = inner.client->close();
        RILL_AWAIT(cc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        QVERIFY(!inner.client->wire()); // released once both directions ended
    }

    // An address as the name: checked against the certificate's IP address, no SNI.
    void addressAsName()
    {
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        auto f = TlsFlow::connectToHost(QStringLiteral("127.0.0.1"), listener.endpoint().port(),
                                        clientConfig());
        FlowResult<TlsFlow> r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error())));
        QCOMPARE(r.flow()->peerVerifyName(), QStringLiteral("127.0.0.1"));
        QCOMPARE(r.flow()->mode(), TlsFlow::Mode::Client);
    }

    // Encrypted flows handed to worker threads by the listener keep working there.
    void listenerWorkerThreads()
    {
        QThread worker;
        worker.start();
        auto stop = qScopeGuard([&] { worker.quit(); worker.wait(); });
        rill::Listener listener;
        listener.setTlsConfiguration(serverConfig());
        listener.setWorkerThreads({&worker});
        QVERIFY(listener.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
        auto accepted = listener.accept();
        auto connected = TlsFlow::connectToHost(QStringLiteral("localhost"),
                                                listener.endpoint().port(), clientConfig());
        FlowResult<Flow> a;
        FlowResult<TlsFlow> c;
        RILL_AWAIT(accepted, a);
        RILL_AWAIT(connected, c);
        QVERIFY(a.isOk() && c.isOk());
        Flow *server = a.flow();
        QCOMPARE(server->thread(), &worker);
        QCOMPARE(qobject_cast<TlsFlow *>(server)->wire()->thread(), &worker);
        // Read and answer in the worker thread (blocking waits are fine off the flow's thread).
        c.flow()->write("ping");
        c.flow()->shutdown(Flow::Direction::Write);
        QFuture<ReadResult> r1 = server->read();
        RILL_AWAIT_VOID(r1);
        QCOMPARE(r1.result(), ReadResult::fromData("ping"));
        server->write("pong");
        auto sc = server->close();
        Drained d = readToEnd(c.flow());
        RILL_CHECK_DRAINED(d, QByteArrayLiteral("pong"), ReadResult::eof());
        RILL_AWAIT_VOID(sc);
        QVERIFY(sc.result().isOk());
        Flow *owned = a.takeFlow().release();
        QMetaObject::invokeMethod(owned, [owned] { delete owned; }, Qt::BlockingQueuedConnection);
    }

    // ---- misuse

    // close() while the handshake runs: the flow waits for it, then closes cleanly.
    void closeDuringHandshake()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        p.client->write("queued before the handshake");
        auto cc = p.client->close(QDeadlineTimer(10s));
        Drained d = readToEnd(p.server.get());
        RILL_CHECK_DRAINED(d, QByteArrayLiteral("queued before the handshake"), ReadResult::eof());
        auto sc = p.server->close();
        CloseResult cr;
        RILL_AWAIT(cc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
        RILL_AWAIT(sc, cr);
        QVERIFY2(cr.isOk(), qPrintable(debugString(cr)));
    }

    void cancelReadDuringHandshake()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        auto first = p.client->read();
        first.cancel();
        QVERIFY(first.isCanceled());
        p.server->write("after the cancel");
        ReadResult r;
        auto second = p.client->read();
        RILL_AWAIT(second, r);
        QCOMPARE(r, ReadResult::fromData("after the cancel"));
        // A read deadline during the handshake: TimedOut, the flow goes on.
        TlsPair q = pipePair(clientConfig(), serverConfig());
        auto cleanup2 = destroyFirst(q.client, q.server);
        auto timed = q.client->read(QDeadlineTimer(0));
        RILL_AWAIT(timed, r);
        QVERIFY2(isKind(r, Error::Kind::TimedOut), qPrintable(debugString(r)));
        q.server->write("still fine");
        auto later = q.client->read();
        RILL_AWAIT(later, r);
        QCOMPARE(r, ReadResult::fromData("still fine"));
    }

    void peerVanishesMidHandshake()
    {
        auto [a, b] = PipeFlow::createPair();
        TlsFlow client(a.release(), TlsFlow::Mode::Client, clientConfig(), QStringLiteral("localhost"));
        auto w = client.write("x");
        // The ClientHello arrives, then the other end is gone.
        ReadResult hello;
        auto hf = b->read();
        RILL_AWAIT(hf, hello);
        QVERIFY(hello.isData());
        b.reset();
        auto rf = client.read();
        ReadResult r;
        RILL_AWAIT(rf, r);
        QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
        // And one that closes cleanly (FIN) mid-handshake.
        auto [c, e] = PipeFlow::createPair();
        TlsFlow client2(c.release(), TlsFlow::Mode::Client, clientConfig(), QStringLiteral("localhost"));
        auto ef = e->shutdown(Flow::Direction::Write);
        auto rf2 = client2.read();
        RILL_AWAIT(rf2, r);
        QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
        QVERIFY2(r.error().message().contains(QLatin1String("closed the connection during the handshake")),
                 qPrintable(r.error().message()));
        RILL_AWAIT_VOID(w);
    }

    void wireAlreadyClosed()
    {
        auto [a, b] = PipeFlow::createPair();
        auto closing = a->close();
        auto peerClosing = b->close();
        RILL_AWAIT_VOID(closing);
        RILL_AWAIT_VOID(peerClosing);
        TlsFlow client(a.release(), TlsFlow::Mode::Client, clientConfig(), QStringLiteral("localhost"));
        auto rf = client.read();
        ReadResult r;
        RILL_AWAIT(rf, r);
        QVERIFY2(r.isError(), qPrintable(debugString(r)));
        auto cf = client.close();
        CloseResult cr;
        RILL_AWAIT(cf, cr);
        QVERIFY(cr.isError());
        // A null wire.
        TlsFlow none(nullptr, TlsFlow::Mode::Client, clientConfig());
        auto nf = none.read();
        RILL_AWAIT(nf, r);
        QVERIFY2(isKind(r, Error::Kind::InvalidArgument), qPrintable(debugString(r)));
        // A wire living in another thread: refused, and deleted there (it was given to us).
        {
            QThread other;
            other.start();
            auto stop = qScopeGuard([&] { other.quit(); other.wait(); });
            auto [w, peer] = PipeFlow::createPair();
            w->moveToThread(&other);
            QPointer<Flow> foreign = w.get();
            TlsFlow elsewhere(w.release(), TlsFlow::Mode::Client, clientConfig());
            auto ef = elsewhere.read();
            RILL_AWAIT(ef, r);
            QVERIFY2(isKind(r, Error::Kind::InvalidArgument), qPrintable(debugString(r)));
            QVERIFY(r.error().message().contains(QLatin1String("another thread")));
            QTRY_VERIFY_WITH_TIMEOUT(foreign.isNull(), 10000);
        }
        // A server without a certificate.
        auto [x, y] = PipeFlow::createPair();
        TlsFlow bare(x.release(), TlsFlow::Mode::Server, QSslConfiguration::defaultConfiguration());
        auto bf = bare.read();
        RILL_AWAIT(bf, r);
        QVERIFY2(isKind(r, Error::Kind::Tls), qPrintable(debugString(r)));
        QVERIFY(r.error().message().contains(QLatin1String("certificate")));
    }

    void deleteFromContinuation()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        QPointer<TlsFlow> client = p.client.get();
        QPointer<Flow> wire = p.client->wire();
        QVERIFY(wire);
        bool ran = false;
        p.client->read().then(p.client.get(), [&](const ReadResult &r) {
            ran = r.isData();
            p.client.release()->deleteLater();
        });
        auto pending = p.client->read(); // finishes (Aborted) when the flow goes
        p.server->write("bye");
        QTRY_VERIFY_WITH_TIMEOUT(client.isNull(), 10000);
        QVERIFY(ran);
        QTRY_VERIFY_WITH_TIMEOUT(wire.isNull(), 10000);
        ReadResult r;
        RILL_AWAIT(pending, r);
        QVERIFY2(isKind(r, Error::Kind::Aborted), qPrintable(debugString(r)));
        // The server sees the connection reset.
        auto sf = p.server->read();
        RILL_AWAIT(sf, r);
        QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
    }

    // abort() aborts the wire; every pending future finishes.
    void abortAbortsTheWire()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        QSignalSpy encrypted(p.client.get(), &TlsFlow::encrypted);
        QTRY_COMPARE_WITH_TIMEOUT(encrypted.size(), 1, 10000);
        auto rf = p.client->read();
        auto sf = p.server->read();
        p.client->abort();
        ReadResult r;
        RILL_AWAIT(rf, r);
        QVERIFY2(isKind(r, Error::Kind::Aborted), qPrintable(debugString(r)));
        RILL_AWAIT(sf, r);
        QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
    }

    // A slow reader pushes back: the server stops reading the wire, the client's queue fills.
    void backpressure()
    {
        TlsPair p = pipePair(clientConfig(), serverConfig());
        auto cleanup = destroyFirst(p.client, p.server);
        const QByteArray chunk = pattern(MiB, 31);
        QList<QFuture<WriteResult>> writes;
        for (int i = 0; i < 16; ++i)
            writes << p.client->write(chunk);
        // Nobody reads the server: a few MiB at most can be in flight (the flows' queues, the
        // pipe's buffer, the read-ahead); the last write must still wait. (A bounded wait for
        // something that must not happen.)
        QVERIFY(spinUntil([&] { return p.client->stats().bytesWritten > 0; }));
        QVERIFY(!spinUntil([&] { return writes.last().isFinished(); }, 500ms));
        QVERIFY2(p.server->wire()->stats().bytesRead < 8 * MiB,
                 qPrintable(QString::number(p.server->wire()->stats().bytesRead)));
        p.client->shutdown(Flow::Direction::Write);
        Drained d = readToEnd(p.server.get(), -1, 60s);
        QVERIFY(d.finished);
        QVERIFY2(d.end.isEof(), qPrintable(debugString(d.end)));
        QCOMPARE(d.data.size(), 16 * MiB);
        for (auto &w : writes) {
            WriteResult wr;
            RILL_AWAIT(w, wr);
            QVERIFY(wr.isOk());
        }
    }

private:
    // Starts `openssl s_server` for one connection on a free port of 127.0.0.1 (port 0: it
    // prints "ACCEPT 127.0.0.1:PORT" once listening); returns the port, 0 on failure.
    quint16 startSServer(Proc &server)
    {
        if (!server.start(QStringLiteral("openssl"),
                          {QStringLiteral("s_server"), QStringLiteral("-accept"),
                           QStringLiteral("127.0.0.1:0"), QStringLiteral("-naccept"), QStringLiteral("1"),
                           QStringLiteral("-cert"), path(QStringLiteral("server.crt")),
                           QStringLiteral("-key"), path(QStringLiteral("server.key"))}))
            return 0;
        if (!server.waitForOutput("ACCEPT "))
            return 0;
        (void)QTest::qWaitFor([&] { return server.output().contains('\n'); }, Proc::Timeout);
        const auto m = QRegularExpression(QStringLiteral("ACCEPT 127\\.0\\.0\\.1:(\\d+)"))
                               .match(QString::fromLatin1(server.output()));
        return m.hasMatch() ? quint16(m.captured(1).toUInt()) : 0;
    }
};

QTEST_GUILESS_MAIN(TestTlsFlow)
#include "tst_tlsflow.moc"
