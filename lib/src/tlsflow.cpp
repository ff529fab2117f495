// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/tcpflow.h>
#include <rill/tlsflow.h>

#include "promise_p.h"

#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslKey>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <deque>

namespace rill {

Q_LOGGING_CATEGORY(lcTls, "rill.tls", QtWarningMsg)

namespace {

// Plaintext encrypted per step, and how much ciphertext may wait in the wire's hands (not yet
// accepted into its send queue) before we stop encrypting: the wire's backpressure reaches the
// TLS flow's send queue this way.
constexpr qint64 WriteChunk = 64 * 1024;
constexpr qint64 WireWindow = 256 * 1024;
constexpr int ReadChunk = 64 * 1024;

int transportIndex()
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The text of OpenSSL's first queued error, lower case, and clears the queue.
QString takeOpenSslError(unsigned long *code = nullptr)
{
    const unsigned long e = ERR_peek_error();
    if (code)
        *code = e;
    QString text;
    if (e) {
        const char *reason = ERR_reason_error_string(e);
        text = reason ? QString::fromLatin1(reason).toLower()
                      : QStringLiteral("error %1").arg(e, 0, 16);
    }
    ERR_clear_error();
    return text;
}

QSslCertificate toQt(X509 *cert)
{
    if (!cert)
        return QSslCertificate();
    const int size = i2d_X509(cert, nullptr);
    if (size <= 0)
        return QSslCertificate();
    QByteArray der(size, Qt::Uninitialized);
    auto *out = reinterpret_cast<unsigned char *>(der.data());
    i2d_X509(cert, &out);
    return QSslCertificate(der, QSsl::Der);
}

X509 *toOpenSsl(const QSslCertificate &cert)
{
    const QByteArray der = cert.toDer();
    const auto *in = reinterpret_cast<const unsigned char *>(der.constData());
    return d2i_X509(nullptr, &in, der.size());
}

// The names a certificate is for: its DNS and IP subject alternative names, else its CN.
QString namesOf(const QSslCertificate &cert)
{
    QStringList names;
    const auto alt = cert.subjectAlternativeNames();
    for (auto it = alt.cbegin(); it != alt.cend(); ++it) {
        if (it.key() == QSsl::DnsEntry || it.key() == QSsl::IpAddressEntry)
            names << it.value();
    }
    if (names.isEmpty())
        names = cert.subjectInfo(QSslCertificate::CommonName);
    return names.isEmpty() ? QStringLiteral("no name") : names.join(QStringLiteral(", "));
}

QString issuerOf(const QSslCertificate &cert)
{
    QStringList names = cert.issuerInfo(QSslCertificate::CommonName);
    if (names.isEmpty())
        names = cert.issuerInfo(QSslCertificate::Organization);
    return names.isEmpty() ? QStringLiteral("an unnamed issuer") : names.join(QStringLiteral(", "));
}

// ALPN's wire format: each protocol as a length byte and the name.
QByteArray alpnWire(const QList<QByteArray> &protocols)
{
    QByteArray out;
    for (const QByteArray &p : protocols) {
        if (p.isEmpty() || p.size() > 255)
            continue;
        out.append(char(p.size()));
        out.append(p);
    }
    return out;
}

} // namespace

// TLS as a transport over another flow. OpenSSL works on two memory BIOs: ciphertext from the
// wire is written into m_rbio, what OpenSSL produces is taken from m_wbio and written to the
// wire after every SSL_* call (else a handshake waits for bytes never sent).
//
// One engine function, drive(), runs the handshake, decrypts into the flow, encrypts from the
// flow's send queue and sends close_notify; everything (wire results, the flow's requests)
// schedules it or calls it from the event loop, never from inside a virtual function.
class TlsTransport final : public Transport
{
public:
    TlsTransport(Flow *wire, TlsFlow::Mode mode, const QSslConfiguration &configuration,
                 const QString &verifyName)
        : m_wire(wire), m_mode(mode), m_config(configuration), m_verifyName(verifyName)
    {
        if (wire) {
            m_wireEndpoint = wire->peerEndpoint();
            m_wireLocal = wire->localEndpoint();
        }
    }

    ~TlsTransport() override
    {
        m_done = true;
        delete m_context.data();
        if (m_ssl)
            SSL_free(m_ssl);
    }

    QString name() const override { return QStringLiteral("tls"); }

    Endpoint localEndpoint() const override { return tlsOf(m_wireLocal, QString()); }
    Endpoint peerEndpoint() const override { return tlsOf(m_wireEndpoint, m_verifyName); }
    QString peerName() const override
    {
        const Endpoint e = peerEndpoint();
        if (e.isValid())
            return e.toString();
        if (m_wireEndpoint.isValid())
            return QStringLiteral("tls over ") + m_wireEndpoint.toString();
        return m_verifyName.isEmpty() ? QStringLiteral("tls") : QStringLiteral("tls:") + m_verifyName;
    }

    void start() override
    {
        m_context = new QObject(flow());
        m_started.start();
        if (!m_wire)
            return later([this] { fail(Error::Kind::InvalidArgument, QStringLiteral("no flow under TLS")); });
        if (m_wire->thread() != flow()->thread()) {
            // Ours to delete, not to touch: deleteLater() is safe from any thread.
            m_wire->deleteLater();
            m_wire = nullptr;
            return later([this] {
                fail(Error::Kind::InvalidArgument,
                     QStringLiteral("the flow under TLS lives in another thread"));
            });
        }
        m_wire->setParent(flow());
        QString why;
        if (!setUp(&why))
            return later([this, why] { fail(Error::Kind::Tls, why); });
        QObject::connect(m_wire.data(), &Flow::errorOccurred, m_context.data(),
                         [this](const Error &error) { wireFailed(error); });
        QObject::connect(m_wire.data(), &QObject::destroyed, m_context.data(), [this] {
            fail(Error::Kind::Aborted, QStringLiteral("the flow under TLS was deleted"));
        });
        armHandshakeTimer();
        qCDebug(lcTls) << flow() << (m_mode == TlsFlow::Mode::Client ? "client" : "server")
                       << "handshake over" << m_wire.data();
        scheduleDrive();
    }

    void startWriting() override { scheduleDrive(); }
    void setReadEnabled(bool enabled) override
    {
        if (enabled)
            scheduleDrive(); // decrypted bytes OpenSSL holds, or a wire read to start
    }
    void shutdownWrite() override
    {
        m_shutdownRequested = true;
        scheduleDrive();
    }

    void abort() override
    {
        m_done = true;
        if (Flow *wire = m_wire.data()) {
            qCDebug(lcTls) << "abort: aborting the wire" << wire;
            m_wire = nullptr;
            QObject::disconnect(wire, nullptr, m_context.data(), nullptr);
            wire->abort();
            wire->deleteLater();
        }
    }

    void release() override
    {
        m_done = true;
        Flow *wire = m_wire.data();
        if (!wire)
            return;
        m_wire = nullptr;
        QObject::disconnect(wire, nullptr, m_context.data(), nullptr);
        // After a clean end the wire closes in turn; after a TLS failure too, so that the
        // alert OpenSSL wrote reaches the peer before the FIN. The wire no longer belongs to
        // this flow, which may be deleted before the wire's close() resolves.
        wire->setParent(nullptr);
        const QDeadlineTimer deadline(m_failed ? 2000 : 10000);
        // Not then(context, ...): Qt 6.4 asserts that a continuation's context still lives
        // when the future finishes, and the wire may be gone by then (its thread ended).
        wire->close(deadline).then([guard = QPointer<Flow>(wire)](const CloseResult &) {
            if (guard)
                guard->deleteLater();
        });
    }

    // ---- for TlsFlow

    struct Session
    {
        bool encrypted = false;
        QSsl::SslProtocol protocol = QSsl::UnknownProtocol;
        QString cipherName;
        QSslCipher cipher;
        QByteArray alpn;
        QList<QSslCertificate> chain;
        bool resumed = false;
        QByteArray ticket; // a client's session to resume, DER (i2d_SSL_SESSION)
    };

    Session session() const
    {
        QMutexLocker lock(&m_sessionMutex);
        return m_session;
    }

    TlsFlow::Mode mode() const { return m_mode; }
    QString verifyName() const { return m_verifyName; }
    Flow *wire() const { return m_wire.data(); }

    int handshakeTimeout() const { return m_handshakeTimeout.loadRelaxed(); }
    void setHandshakeTimeout(int ms)
    {
        m_handshakeTimeout.storeRelaxed(qMax(0, ms));
        if (m_context)
            armHandshakeTimer();
    }

    static int verifyCallback(int ok, X509_STORE_CTX *store)
    {
        auto *ssl = static_cast<SSL *>(
                X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto *self = ssl ? static_cast<TlsTransport *>(SSL_get_ex_data(ssl, transportIndex()))
                         : nullptr;
        if (!self)
            return ok;
        if (!ok && self->m_verifyError == X509_V_OK) {
            self->m_verifyError = X509_STORE_CTX_get_error(store);
            self->m_verifyCert = toQt(X509_STORE_CTX_get_current_cert(store));
        }
        // QueryPeer asks for the certificate without failing on it.
        return self->m_config.peerVerifyMode() == QSslSocket::QueryPeer ? 1 : ok;
    }

    // A client got a session it may resume later (TLS 1.3: a ticket after the handshake).
    static int newSession(SSL *ssl, SSL_SESSION *session)
    {
        auto *self = static_cast<TlsTransport *>(SSL_get_ex_data(ssl, transportIndex()));
        const int length = i2d_SSL_SESSION(session, nullptr);
        if (!self || length <= 0)
            return 0;
        QByteArray der(length, Qt::Uninitialized);
        auto *out = reinterpret_cast<unsigned char *>(der.data());
        i2d_SSL_SESSION(session, &out);
        QMutexLocker lock(&self->m_sessionMutex);
        self->m_session.ticket = std::move(der);
        return 0; // not kept: OpenSSL frees it
    }

    static int alpnSelect(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *)
    {
        // The context is shared (see sharedContext()): the flow comes from the session.
        auto *self = static_cast<TlsTransport *>(SSL_get_ex_data(ssl, transportIndex()));
        if (!self)
            return SSL_TLSEXT_ERR_NOACK;
        unsigned char *chosen = nullptr;
        // The server's list first: its order wins.
        if (SSL_select_next_proto(&chosen, outlen,
                                  reinterpret_cast<const unsigned char *>(self->m_alpn.constData()),
                                  unsigned(self->m_alpn.size()), in, inlen)
            != OPENSSL_NPN_NEGOTIATED)
            return SSL_TLSEXT_ERR_NOACK;
        *out = chosen;
        return SSL_TLSEXT_ERR_OK;
    }

private:
    static Endpoint tlsOf(const Endpoint &wire, const QString &name)
    {
        if (wire.type() != Endpoint::Type::Tcp && wire.type() != Endpoint::Type::Tls)
            return {};
        return Endpoint::tls(name.isEmpty() ? wire.host() : name, wire.port());
    }

    template<typename F>
    void later(F &&f)
    {
        QMetaObject::invokeMethod(
                m_context.data(),
                [this, f = std::forward<F>(f)] {
                    if (!m_done)
                        f();
                },
                Qt::QueuedConnection);
    }

    void scheduleDrive()
    {
        if (m_done || !m_context || std::exchange(m_driveScheduled, true))
            return;
        later([this] {
            m_driveScheduled = false;
            drive();
        });
    }

    void fail(Error::Kind kind, const QString &message) { fail(Error(kind, message, peerName())); }
    void fail(const Error &error)
    {
        if (m_done)
            return;
        qCDebug(lcTls) << flow() << "failed:" << error;
        m_done = true;
        m_failed = true;
        if (m_handshakeTimer)
            m_handshakeTimer->stop();
        failed(error);
    }

    void wireFailed(const Error &error)
    {
        if (m_done)
            return;
        // The wire's error is this flow's; bytes already decrypted stay readable before it.
        fail(error.endpoint().isEmpty() ? error.withEndpoint(peerName()) : error);
    }

    // ---- setting up OpenSSL from a QSslConfiguration

    // Flows with the same mode and configuration share one context: making one loads the
    // system's CA store (about 20 ms of CPU here), which made a handshake 11x slower than
    // QSslSocket's. A context is not changed once made, so sessions of any thread may use it.
    struct ContextCache
    {
        struct Entry
        {
            TlsFlow::Mode mode;
            QSslConfiguration config;
            SSL_CTX *ctx;
        };
        QMutex mutex;
        std::deque<Entry> entries; // the newest first
    };
    static ContextCache &contextCache()
    {
        // Never destroyed: at exit OpenSSL may have cleaned up before a static's destructor.
        static ContextCache *cache = new ContextCache;
        return *cache;
    }
    static constexpr size_t ContextCacheSize = 16;

    // A context for this flow's mode and configuration, with a reference for the caller.
    SSL_CTX *sharedContext(QString *why)
    {
        ContextCache &cache = contextCache();
        // A session to resume is the SSL object's, not the context's: it must not make one
        // context per session.
        QSslConfiguration key = m_config;
        key.setSessionTicket({});
        {
            QMutexLocker lock(&cache.mutex);
            for (const ContextCache::Entry &e : cache.entries) {
                if (e.mode == m_mode && e.config == key) {
                    SSL_CTX_up_ref(e.ctx);
                    return e.ctx;
                }
            }
        }
        SSL_CTX *ctx = makeContext(why);
        if (!ctx)
            return nullptr;
        QMutexLocker lock(&cache.mutex);
        SSL_CTX_up_ref(ctx);
        cache.entries.push_front({m_mode, key, ctx});
        if (cache.entries.size() > ContextCacheSize) {
            SSL_CTX_free(cache.entries.back().ctx); // sessions keep their own references
            cache.entries.pop_back();
        }
        return ctx;
    }

    SSL_CTX *makeContext(QString *why)
    {
        SSL_CTX *ctx = SSL_CTX_new(TLS_method());
        if (!ctx) {
            *why = QStringLiteral("cannot make a TLS context: ") + takeOpenSslError();
            return nullptr;
        }
        auto freeCtx = qScopeGuard([ctx] { SSL_CTX_free(ctx); });
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                                         | SSL_OP_CIPHER_SERVER_PREFERENCE);
        int min = TLS1_2_VERSION, max = 0;
        switch (m_config.protocol()) {
        case QSsl::TlsV1_2:
            max = TLS1_2_VERSION;
            break;
        case QSsl::TlsV1_3:
        case QSsl::TlsV1_3OrLater:
            min = TLS1_3_VERSION;
            break;
        default:
            break;
        }
        SSL_CTX_set_min_proto_version(ctx, min);
        SSL_CTX_set_max_proto_version(ctx, max);

        if (!setCiphers(ctx, why))
            return nullptr;

        int verify = SSL_VERIFY_NONE;
        switch (m_config.peerVerifyMode()) {
        case QSslSocket::VerifyNone:
            break;
        case QSslSocket::QueryPeer:
            verify = SSL_VERIFY_PEER;
            break;
        case QSslSocket::VerifyPeer:
            verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
            break;
        case QSslSocket::AutoVerifyPeer:
            verify = m_mode == TlsFlow::Mode::Client ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
            break;
        }

        // Trust: the configuration's authorities only, or the system's store (only loaded
        // when this side checks its peer at all).
        const QList<QSslCertificate> cas = m_config.caCertificates();
        if (cas.isEmpty()) {
            if (verify != SSL_VERIFY_NONE)
                SSL_CTX_set_default_verify_paths(ctx);
        } else {
            X509_STORE *store = SSL_CTX_get_cert_store(ctx);
            for (const QSslCertificate &ca : cas) {
                if (X509 *x = toOpenSsl(ca)) {
                    X509_STORE_add_cert(store, x);
                    X509_free(x);
                }
            }
            ERR_clear_error(); // a certificate listed twice is not an error
        }

        if (!setLocalCertificate(ctx, why))
            return nullptr;
        SSL_CTX_set_verify(ctx, verify, &TlsTransport::verifyCallback);
        if (m_mode == TlsFlow::Mode::Server && !m_config.allowedNextProtocols().isEmpty())
            SSL_CTX_set_alpn_select_cb(ctx, &TlsTransport::alpnSelect, nullptr);
        // Resumption, as QSslSocket: a server sends tickets unless SslOptionDisableSessionTickets;
        // a client keeps the session it gets only with SslOptionDisableSessionPersistence off.
        if (m_mode == TlsFlow::Mode::Server && m_config.testSslOption(QSsl::SslOptionDisableSessionTickets)) {
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
            SSL_CTX_set_num_tickets(ctx, 0);
        }
        if (m_mode == TlsFlow::Mode::Client
            && !m_config.testSslOption(QSsl::SslOptionDisableSessionPersistence)) {
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(ctx, &TlsTransport::newSession);
        }
        freeCtx.dismiss();
        return ctx;
    }

    bool setUp(QString *why)
    {
        ERR_clear_error();
        SSL_CTX *ctx = sharedContext(why);
        if (!ctx)
            return false;
        // The SSL object keeps its own reference to the context.
        const auto freeCtx = qScopeGuard([ctx] { SSL_CTX_free(ctx); });
        m_alpn = alpnWire(m_config.allowedNextProtocols());

        m_ssl = SSL_new(ctx);
        if (!m_ssl) {
            *why = QStringLiteral("cannot make a TLS session: ") + takeOpenSslError();
            return false;
        }
        SSL_set_ex_data(m_ssl, transportIndex(), this);
        m_rbio = BIO_new(BIO_s_mem());
        m_wbio = BIO_new(BIO_s_mem());
        SSL_set_bio(m_ssl, m_rbio, m_wbio); // the session owns both from here
        BIO_set_mem_eof_return(m_rbio, -1);  // empty means "more to come" until the wire ends

        if (m_mode == TlsFlow::Mode::Client) {
            SSL_set_connect_state(m_ssl);
            if (!m_alpn.isEmpty())
                SSL_set_alpn_protos(m_ssl, reinterpret_cast<const unsigned char *>(m_alpn.constData()),
                                    unsigned(m_alpn.size()));
            if (const QByteArray ticket = m_config.sessionTicket(); !ticket.isEmpty()) {
                // Something else than a session (or one of another library) means a full
                // handshake, as when the server does not accept it.
                auto *in = reinterpret_cast<const unsigned char *>(ticket.constData());
                if (SSL_SESSION *session = d2i_SSL_SESSION(nullptr, &in, long(ticket.size()))) {
                    SSL_set_session(m_ssl, session);
                    SSL_SESSION_free(session);
                }
                ERR_clear_error();
            }
            if (!m_verifyName.isEmpty()) {
                const QByteArray name = m_verifyName.toUtf8();
                X509_VERIFY_PARAM *param = SSL_get0_param(m_ssl);
                QHostAddress address;
                if (address.setAddress(m_verifyName)) {
                    X509_VERIFY_PARAM_set1_ip_asc(param, name.constData());
                } else {
                    SSL_set_tlsext_host_name(m_ssl, name.constData());
                    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                    X509_VERIFY_PARAM_set1_host(param, name.constData(), size_t(name.size()));
                }
            }
        } else {
            SSL_set_accept_state(m_ssl);
        }
        ERR_clear_error();
        return true;
    }

    bool setCiphers(SSL_CTX *ctx, QString *why)
    {
        const QList<QSslCipher> ciphers = m_config.ciphers();
        if (ciphers.isEmpty() || ciphers == QSslConfiguration::defaultConfiguration().ciphers())
            return true;
        QStringList tls12, tls13;
        for (const QSslCipher &c : ciphers)
            (c.name().startsWith(QLatin1String("TLS_")) ? tls13 : tls12) << c.name();
        // An empty list of one kind leaves that version without ciphers (so unusable).
        const QByteArray list12 = tls12.join(QLatin1Char(':')).toLatin1();
        const QByteArray list13 = tls13.join(QLatin1Char(':')).toLatin1();
        if (!list12.isEmpty() && !SSL_CTX_set_cipher_list(ctx, list12.constData())) {
            *why = QStringLiteral("none of the TLS 1.2 ciphers is usable: ") + takeOpenSslError();
            return false;
        }
        if (list12.isEmpty())
            SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        if (!list13.isEmpty() && !SSL_CTX_set_ciphersuites(ctx, list13.constData())) {
            *why = QStringLiteral("none of the TLS 1.3 cipher suites is usable: ") + takeOpenSslError();
            return false;
        }
        if (list13.isEmpty())
            SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
        return true;
    }

    bool setLocalCertificate(SSL_CTX *ctx, QString *why)
    {
        QList<QSslCertificate> chain = m_config.localCertificateChain();
        if (chain.isEmpty() && !m_config.localCertificate().isNull())
            chain << m_config.localCertificate();
        const QSslKey key = m_config.privateKey();
        if (chain.isEmpty() || key.isNull()) {
            if (m_mode == TlsFlow::Mode::Server) {
                *why = QStringLiteral("a TLS server needs a certificate and its private key");
                return false;
            }
            return true; // a client without a certificate
        }
        X509 *leaf = toOpenSsl(chain.first());
        if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
            X509_free(leaf);
            *why = QStringLiteral("the local certificate is not usable: ") + takeOpenSslError();
            return false;
        }
        X509_free(leaf);
        for (qsizetype i = 1; i < chain.size(); ++i) {
            if (X509 *x = toOpenSsl(chain.at(i)))
                SSL_CTX_add0_chain_cert(ctx, x); // takes x
        }
        const QByteArray pem = key.toPem();
        BIO *bio = BIO_new_mem_buf(pem.constData(), int(pem.size()));
        EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        if (!pkey || SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
            EVP_PKEY_free(pkey);
            *why = QStringLiteral("the private key is not usable: ") + takeOpenSslError();
            return false;
        }
        EVP_PKEY_free(pkey);
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            *why = QStringLiteral("the private key does not match the certificate");
            return false;
        }
        return true;
    }

    // ---- the handshake deadline

    void armHandshakeTimer()
    {
        if (m_handshakeDone || m_done)
            return;
        const int ms = m_handshakeTimeout.loadRelaxed();
        if (ms <= 0) {
            if (m_handshakeTimer)
                m_handshakeTimer->stop();
            return;
        }
        if (!m_handshakeTimer) {
            m_handshakeTimer = new QTimer(m_context.data());
            m_handshakeTimer->setSingleShot(true);
            QObject::connect(m_handshakeTimer, &QTimer::timeout, m_context.data(), [this] {
                if (!m_handshakeDone)
                    fail(Error::Kind::TimedOut,
                         QStringLiteral("the TLS handshake did not complete within %1 ms")
                                 .arg(m_handshakeTimeout.loadRelaxed()));
            });
        }
        m_handshakeTimer->start(int(qMax<qint64>(0, ms - m_started.elapsed())));
    }

    // ---- the engine

    void drive()
    {
        if (m_done || !m_ssl || !m_wire)
            return;
        if (!m_handshakeDone && !handshake())
            return;
        if (!readStep() || !writeStep() || !shutdownStep())
            return;
        requestWireRead();
    }

    // Pushes what OpenSSL wrote to the wire. The wire may fail at once (its continuation runs
    // inside write() then), so callers check m_done after it.
    void flushWire()
    {
        const int pending = int(BIO_ctrl_pending(m_wbio));
        if (pending <= 0 || !m_wire)
            return;
        QByteArray out(pending, Qt::Uninitialized);
        const int n = BIO_read(m_wbio, out.data(), pending);
        if (n <= 0)
            return;
        out.truncate(n);
        m_wireBytesPending += n;
        // Continuations on the wire's futures are synchronous (they run in the wire's thread,
        // which is ours) and check that the transport still lives: then(context, ...) would
        // assert in Qt 6.4 when the context died first (the flow deleted, its wire later).
        m_wire->write(out).then([this, guard = m_context, n](const WriteResult &result) {
            if (!guard)
                return;
            m_wireBytesPending -= n;
            if (m_done)
                return;
            if (result.isError())
                return wireFailed(result.error());
            if (result.isEof() && !m_shutdownSent) {
                // The wire's write side ended under us: what we encrypted will not arrive.
                m_writeBroken = true;
                return writeFailed(Error(Error::Kind::Reset,
                                         QStringLiteral("the peer stopped receiving"), peerName()));
            }
            // Never drive() from here: a wire that accepts at once runs this continuation
            // inside write(), which is inside drive().
            scheduleDrive();
        });
    }

    bool handshake()
    {
        ERR_clear_error();
        const int r = SSL_do_handshake(m_ssl);
        const int code = r == 1 ? SSL_ERROR_NONE : SSL_get_error(m_ssl, r);
        flushWire();
        if (m_done) // the wire failed as it was written to
            return false;
        if (r == 1) {
            m_handshakeDone = true;
            if (m_handshakeTimer)
                m_handshakeTimer->stop();
            recordSession();
            qCDebug(lcTls) << flow() << "encrypted:" << SSL_get_version(m_ssl)
                           << SSL_get_cipher_name(m_ssl);
            opened();
            if (m_done)
                return false;
            Q_EMIT static_cast<TlsFlow *>(flow())->encrypted();
            return !m_done;
        }
        if (code == SSL_ERROR_WANT_READ && !m_wireEof) {
            ERR_clear_error();
            requestWireRead();
            return false;
        }
        fail(Error::Kind::Tls, QStringLiteral("TLS handshake failed: ") + handshakeReason(code));
        return false;
    }

    void recordSession()
    {
        Session s;
        s.encrypted = true;
        const int version = SSL_version(m_ssl);
        s.protocol = version == TLS1_3_VERSION   ? QSsl::TlsV1_3
                : version == TLS1_2_VERSION ? QSsl::TlsV1_2
                                            : QSsl::UnknownProtocol;
        if (const char *name = SSL_get_cipher_name(m_ssl))
            s.cipherName = QString::fromLatin1(name);
        s.cipher = QSslCipher(s.cipherName, s.protocol);
        const unsigned char *alpn = nullptr;
        unsigned int alpnLength = 0;
        SSL_get0_alpn_selected(m_ssl, &alpn, &alpnLength);
        if (alpn)
            s.alpn = QByteArray(reinterpret_cast<const char *>(alpn), int(alpnLength));
        // A client's chain starts with the server's certificate; a server's lacks the client's.
        if (m_mode == TlsFlow::Mode::Server) {
            if (X509 *peer = SSL_get0_peer_certificate(m_ssl))
                s.chain << toQt(peer);
        }
        if (STACK_OF(X509) *chain = SSL_get_peer_cert_chain(m_ssl)) {
            for (int i = 0; i < sk_X509_num(chain); ++i)
                s.chain << toQt(sk_X509_value(chain, i));
        }
        // A resumed session keeps the peer's certificate, not its chain.
        if (s.chain.isEmpty() && m_mode == TlsFlow::Mode::Client) {
            if (X509 *peer = SSL_get0_peer_certificate(m_ssl))
                s.chain << toQt(peer);
        }
        s.resumed = SSL_session_reused(m_ssl) == 1;
        QMutexLocker lock(&m_sessionMutex);
        s.ticket = m_session.ticket; // TLS 1.2 gives it during the handshake
        m_session = s;
    }

    QString verifyReason() const
    {
        const QSslCertificate &cert = m_verifyCert;
        switch (m_verifyError) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return QStringLiteral("certificate has expired (on %1)")
                    .arg(cert.expiryDate().toUTC().toString(Qt::ISODate));
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return QStringLiteral("certificate is not valid yet (from %1)")
                    .arg(cert.effectiveDate().toUTC().toString(Qt::ISODate));
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return QStringLiteral("certificate is for %1, not %2").arg(namesOf(cert), m_verifyName);
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            return QStringLiteral("certificate is not trusted (self-signed)");
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return QStringLiteral("certificate is not trusted (issued by %1, an authority not "
                                  "trusted here)")
                    .arg(issuerOf(cert));
        case X509_V_ERR_CERT_REVOKED:
            return QStringLiteral("certificate was revoked");
        case X509_V_ERR_INVALID_PURPOSE:
            return QStringLiteral("certificate is not meant for this use");
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return QStringLiteral("certificate has a bad signature");
        default:
            return QStringLiteral("certificate is not valid (%1)")
                    .arg(QString::fromLatin1(X509_verify_cert_error_string(m_verifyError)));
        }
    }

    QString handshakeReason(int code)
    {
        unsigned long e = 0;
        const QString openssl = takeOpenSslError(&e);
        if (m_verifyError != X509_V_OK)
            return verifyReason();
        if (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN
            || (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) || (!e && m_wireEof))
            return QStringLiteral("the peer closed the connection during the handshake");
        if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
            switch (ERR_GET_REASON(e)) {
            case SSL_R_NO_SHARED_CIPHER:
                return QStringLiteral("no shared cipher");
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                return QStringLiteral("peer did not send a certificate");
            case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
                return QStringLiteral("the peer requires a certificate from us (alert: "
                                      "certificate required)");
            case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
                return QStringLiteral("the peer does not trust our certificate (alert: unknown CA)");
            case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
                return QStringLiteral("the peer rejected our certificate (alert: bad certificate)");
            case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
                return QStringLiteral("the peer says our certificate has expired");
            case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
                return QStringLiteral("the peer refused the handshake (no shared cipher or "
                                      "protocol, or a certificate it requires)");
            case SSL_R_UNSUPPORTED_PROTOCOL:
            case SSL_R_NO_PROTOCOLS_AVAILABLE:
            case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
                return QStringLiteral("no shared protocol version");
            case SSL_R_WRONG_VERSION_NUMBER:
            case SSL_R_PACKET_LENGTH_TOO_LONG:
            case SSL_R_HTTP_REQUEST:
            case SSL_R_RECORD_LENGTH_MISMATCH:
                return QStringLiteral("the peer does not speak TLS");
            case SSL_R_NO_APPLICATION_PROTOCOL:
            case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
                return QStringLiteral("no shared application protocol (ALPN)");
            default:
                break;
            }
        }
        return openssl.isEmpty() ? QStringLiteral("error %1").arg(code) : openssl;
    }

    // Decrypts into the flow while it has room. False if the flow ended.
    bool readStep()
    {
        while (!m_readClosed) {
            const qint64 room = readRoom();
            if (room == 0)
                return true;
            const int want = room < 0 ? ReadChunk : int(qMin<qint64>(room, ReadChunk));
            QByteArray buffer(want, Qt::Uninitialized);
            size_t n = 0;
            ERR_clear_error();
            const int r = SSL_read_ex(m_ssl, buffer.data(), size_t(want), &n);
            const int code = r == 1 ? SSL_ERROR_NONE : SSL_get_error(m_ssl, r);
            flushWire(); // a key update's answer, a no_renegotiation alert
            if (m_done)
                return false;
            if (r == 1) {
                buffer.truncate(int(n));
                received(buffer);
                if (m_done)
                    return false;
                continue;
            }
            switch (code) {
            case SSL_ERROR_WANT_READ:
                ERR_clear_error();
                if (m_wireEof) {
                    truncated();
                    return false;
                }
                return true;
            case SSL_ERROR_ZERO_RETURN:
                ERR_clear_error();
                qCDebug(lcTls) << flow() << "close_notify received";
                m_readClosed = true;
                receivedEndOfStream();
                return !m_done;
            default: {
                unsigned long e = 0;
                const QString text = takeOpenSslError(&e);
                if (m_wireEof && (code == SSL_ERROR_SYSCALL || !e
                                  || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
                    truncated();
                } else {
                    fail(Error::Kind::Tls, QStringLiteral("TLS error: ")
                                 + (text.isEmpty() ? QStringLiteral("error %1").arg(code) : text));
                }
                return false;
            }
            }
        }
        return true;
    }

    void truncated()
    {
        fail(Error::Kind::Truncated,
             QStringLiteral("truncated: the connection ended without the peer's TLS close_notify"));
    }

    // Encrypts the flow's queued bytes while the wire keeps up. False if the flow ended.
    bool writeStep()
    {
        while (!m_writeBroken && !m_shutdownSent && m_wireBytesPending < WireWindow) {
            if (bytesToWrite() <= 0)
                return true;
            const QList<QByteArray> chunks = queuedData(0, WriteChunk);
            qint64 total = 0;
            for (const QByteArray &chunk : chunks) {
                size_t n = 0;
                ERR_clear_error();
                if (SSL_write_ex(m_ssl, chunk.constData(), size_t(chunk.size()), &n) != 1) {
                    const int code = SSL_get_error(m_ssl, 0);
                    const QString text = takeOpenSslError();
                    flushWire();
                    fail(Error::Kind::Tls, QStringLiteral("TLS error while writing: ")
                                 + (text.isEmpty() ? QStringLiteral("error %1").arg(code) : text));
                    return false;
                }
                total += qint64(n);
            }
            flushWire();
            if (m_done)
                return false;
            if (total <= 0)
                return true;
            written(total);
            if (m_done)
                return false;
        }
        return true;
    }

    // Sends close_notify once the flow asked and every queued byte went out. False if ended.
    bool shutdownStep()
    {
        if (!m_shutdownRequested || m_shutdownSent || bytesToWrite() > 0)
            return true;
        m_shutdownSent = true;
        ERR_clear_error();
        SSL_shutdown(m_ssl); // 0: sent, the peer's not seen yet; 1: both; reading goes on
        ERR_clear_error();
        flushWire();
        if (m_done)
            return false;
        qCDebug(lcTls) << flow() << "close_notify sent; shutting down the wire's write side";
        m_wire->shutdown(Flow::Direction::Write)
                .then([this, guard = m_context](const WriteResult &result) {
                    if (!guard || m_done)
                        return;
                    if (result.isError())
                        return writeFailed(result.error());
                    endOfStreamSent();
                    scheduleDrive();
                });
        return true;
    }

    void requestWireRead()
    {
        if (m_done || !m_wire || m_wireReadPending || m_wireEof)
            return;
        // During the handshake always; after it only while the flow wants bytes.
        if (m_handshakeDone && (m_readClosed || readRoom() == 0))
            return;
        m_wireReadPending = true;
        m_wire->read().then([this, guard = m_context](const ReadResult &result) {
            if (!guard)
                return;
            m_wireReadPending = false;
            if (m_done)
                return;
            if (result.isData()) {
                const QByteArray data = result.data();
                BIO_write(m_rbio, data.constData(), int(data.size()));
            } else if (result.isEof()) {
                qCDebug(lcTls) << flow() << "the wire ended";
                m_wireEof = true;
                BIO_set_mem_eof_return(m_rbio, 0); // now an empty BIO is the end
            } else {
                return wireFailed(result.error());
            }
            scheduleDrive(); // as in flushWire(): this may run inside read(), inside drive()
        });
    }

    QPointer<Flow> m_wire;
    const TlsFlow::Mode m_mode;
    const QSslConfiguration m_config;
    const QString m_verifyName;
    Endpoint m_wireEndpoint, m_wireLocal;
    QPointer<QObject> m_context;
    QTimer *m_handshakeTimer = nullptr;
    QElapsedTimer m_started;
    QAtomicInt m_handshakeTimeout = 0;

    SSL *m_ssl = nullptr;
    BIO *m_rbio = nullptr; // owned by m_ssl
    BIO *m_wbio = nullptr; // owned by m_ssl
    QByteArray m_alpn;

    int m_verifyError = X509_V_OK;
    QSslCertificate m_verifyCert;

    qint64 m_wireBytesPending = 0;
    bool m_done = false, m_failed = false, m_driveScheduled = false;
    bool m_handshakeDone = false, m_readClosed = false, m_wireEof = false;
    bool m_wireReadPending = false, m_shutdownRequested = false, m_shutdownSent = false;
    bool m_writeBroken = false;

    mutable QMutex m_sessionMutex;
    Session m_session;
};

// ---- TlsFlow

TlsFlow::TlsFlow(Flow *wire, Mode mode, const QSslConfiguration &configuration,
                 const QString &peerVerifyName, QObject *parent)
    : TransportFlow(std::make_unique<TlsTransport>(wire, mode, configuration, peerVerifyName),
                    parent)
{}

TlsFlow::~TlsFlow() = default;

namespace {
TlsTransport *tls(Transport *t)
{
    return static_cast<TlsTransport *>(t);
}

// Waits for a TlsFlow's handshake: a child of the flow, so deleting the flow finishes the
// promise (with Aborted) instead of leaving it pending.
class HandshakeWaiter : public QObject
{
public:
    HandshakeWaiter(TlsFlow *flow, QDeadlineTimer deadline) : QObject(flow), m_flow(flow)
    {
        connect(flow, &TlsFlow::encrypted, this, [this] { succeed(); });
        connect(flow, &Flow::errorOccurred, this, [this](const Error &error) { failWith(error); });
        if (!deadline.isForever()) {
            auto *timer = new QTimer(this);
            timer->setSingleShot(true);
            connect(timer, &QTimer::timeout, this, [this] {
                failWith(Error(Error::Kind::TimedOut,
                               QStringLiteral("the TLS handshake did not complete in time"),
                               m_flow->peerEndpoint().isValid() ? m_flow->peerEndpoint().toString()
                                                                : QString()));
            });
            timer->start(int(qMax<qint64>(0, deadline.remainingTime())));
        }
    }

    QFuture<FlowResult<TlsFlow>> future() const { return m_promise.future(); }

private:
    void succeed()
    {
        if (!m_promise.isPending())
            return;
        m_flow->disconnect(this);
        setParent(nullptr);
        deleteLater();
        m_promise.finish(FlowResult<TlsFlow>::fromFlow(m_flow));
    }
    void failWith(const Error &error)
    {
        if (!m_promise.isPending())
            return;
        m_flow->disconnect(this);
        setParent(nullptr);
        deleteLater();
        TlsFlow *flow = m_flow;
        flow->abort();
        flow->deleteLater();
        m_promise.finish(FlowResult<TlsFlow>::fromError(error));
    }

    TlsFlow *m_flow;
    Promise<FlowResult<TlsFlow>> m_promise;
};

} // namespace

QFuture<FlowResult<TlsFlow>> TlsFlow::handshake(TlsFlow *flow, QDeadlineTimer deadline)
{
    if (!flow)
        return readyFuture(FlowResult<TlsFlow>::fromError(
                Error(Error::Kind::InvalidArgument, QStringLiteral("no flow"))));
    if (flow->isEncrypted())
        return readyFuture(FlowResult<TlsFlow>::fromFlow(flow));
    if (flow->state() == State::Closed) {
        const Error error = flow->error();
        flow->deleteLater();
        return readyFuture(FlowResult<TlsFlow>::fromError(error));
    }
    return (new HandshakeWaiter(flow, deadline))->future();
}

QFuture<FlowResult<TlsFlow>> TlsFlow::connectToHost(const QString &host, quint16 port,
                                                    const QSslConfiguration &configuration,
                                                    QDeadlineTimer deadline)
{
    if (deadline.isForever())
        deadline = QDeadlineTimer(TcpFlow::defaultConnectTimeout());
    auto *context = new QObject; // the continuation's thread: the caller's
    return TcpFlow::connectToHost(host, port, deadline)
            .then(context,
                  [context, host, port, configuration, deadline](FlowResult<TcpFlow> result) {
                      context->deleteLater();
                      if (!result.isOk()) {
                          Error e = result.error();
                          return readyFuture(FlowResult<TlsFlow>::fromError(
                                  e.withEndpoint(Endpoint::tls(host, port).toString())));
                      }
                      auto *flow = new TlsFlow(result.takeFlow().release(), Mode::Client,
                                               configuration, host);
                      return handshake(flow, deadline);
                  })
            .unwrap();
}

TlsFlow::Mode TlsFlow::mode() const
{
    return tls(transport())->mode();
}

QString TlsFlow::peerVerifyName() const
{
    return tls(transport())->verifyName();
}

bool TlsFlow::isEncrypted() const
{
    return tls(transport())->session().encrypted;
}

QSsl::SslProtocol TlsFlow::sessionProtocol() const
{
    return tls(transport())->session().protocol;
}

QSslCipher TlsFlow::sessionCipher() const
{
    return tls(transport())->session().cipher;
}

QString TlsFlow::sessionCipherName() const
{
    return tls(transport())->session().cipherName;
}

QByteArray TlsFlow::nextNegotiatedProtocol() const
{
    return tls(transport())->session().alpn;
}

bool TlsFlow::isSessionResumed() const
{
    return tls(transport())->session().resumed;
}

QByteArray TlsFlow::sessionTicket() const
{
    return tls(transport())->session().ticket;
}

QList<QSslCertificate> TlsFlow::peerCertificateChain() const
{
    return tls(transport())->session().chain;
}

QSslCertificate TlsFlow::peerCertificate() const
{
    const auto chain = peerCertificateChain();
    return chain.isEmpty() ? QSslCertificate() : chain.first();
}

int TlsFlow::handshakeTimeout() const
{
    return tls(transport())->handshakeTimeout();
}

void TlsFlow::setHandshakeTimeout(int milliseconds)
{
    if (handshakeTimeout() == milliseconds)
        return;
    tls(transport())->setHandshakeTimeout(milliseconds);
    Q_EMIT handshakeTimeoutChanged(milliseconds);
}

void TlsFlow::setHandshakeTimeout(std::chrono::milliseconds timeout)
{
    setHandshakeTimeout(int(timeout.count()));
}

Flow *TlsFlow::wire() const
{
    return tls(transport())->wire();
}

} // namespace rill
