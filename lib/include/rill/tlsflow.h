// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::TlsFlow: TLS 1.2 and 1.3 over any flow, with half-close.

#include <rill/flowresult.h>
#include <rill/transport.h>

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtNetwork/QSsl>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslConfiguration>

#include <chrono>

namespace rill {

/// TLS 1.2 and 1.3 over any flow (the "wire"): TCP, Unix, a PipeFlow, another TlsFlow.
///
/// A TlsFlow is a TransportFlow whose transport is OpenSSL 3 working on memory buffers: it
/// reads ciphertext from the wire only while the TLS flow wants bytes (so backpressure reaches
/// the peer through the wire), and always while the handshake runs. Everything Flow promises
/// holds; what TLS adds:
///
/// - **Opening.** The flow is Connecting until the handshake completes; then it is Open,
///   encrypted() is emitted and the session's properties (sessionProtocol(), sessionCipher(),
///   nextNegotiatedProtocol(), peerCertificateChain()) are set. Writes made before queue up.
///   A failed handshake fails the flow with an error of kind Error::Kind::Tls whose message
///   says why in plain words ("certificate has expired", "certificate is for other.example,
///   not localhost", "certificate is not trusted (self-signed)", "no shared cipher", "peer
///   did not send a certificate"), naming the endpoint ("tls:localhost:4433").
/// - **Half-close.** shutdown(Write) sends close_notify and then shuts down the wire's write
///   side. The peer's close_notify reads as Eof, and this side may go on writing (TLS 1.3,
///   RFC 8446 section 6.1; also allowed over TLS 1.2 with peers that keep reading).
/// - **Truncation.** The wire ending without the peer's close_notify is an error of kind
///   Error::Kind::Truncated after the bytes that arrived, never Eof: an attacker or a crash
///   cut the stream.
/// - **Errors.** The wire's errors become this flow's; a corrupt record or an alert fails it
///   with kind Tls. abort() aborts the wire. Once both directions ended cleanly (close()), the
///   wire is closed in turn and deleted.
/// - **Renegotiation** is refused (SSL_OP_NO_RENEGOTIATION): a TLS 1.2 peer asking for it gets
///   a no_renegotiation alert. A peer may go on without it; OpenSSL's clients give up instead
///   (a fatal handshake_failure alert), and the flow then fails with kind Tls after the bytes
///   that came before. TLS 1.3 has no renegotiation; its key updates are handled.
///
/// Configuration is Qt's QSslConfiguration:
/// - protocol(): TlsV1_2, TlsV1_3, TlsV1_2OrLater, TlsV1_3OrLater; anything else means TLS 1.2
///   or later.
/// - ciphers(): applied when they differ from the default configuration's (TLS 1.3 suites and
///   TLS 1.2 ciphers by their OpenSSL names).
/// - caCertificates(): the only authorities trusted; when empty, the system's store
///   (OpenSSL's default paths). QSslConfiguration::defaultConfiguration() has an empty list on
///   Linux (Qt loads the system's certificates on demand), so it trusts the system's store.
/// - localCertificateChain() (or localCertificate()) and privateKey(): this side's certificate,
///   required for a server, optional (a client certificate) for a client.
/// - peerVerifyMode(): AutoVerifyPeer verifies the server as a client and asks nothing of the
///   client as a server; VerifyPeer on a server requires and verifies a client certificate;
///   QueryPeer asks for the peer's certificate without failing on it; VerifyNone checks nothing.
/// - allowedNextProtocols(): ALPN, offered by a client, chosen from by a server (the server's
///   order wins; no common protocol means no ALPN).
///
/// A client names the server with \a peerVerifyName: sent as SNI (unless it is an address),
/// and checked against the server's certificate (a name, or an IP address literal).
///
/// \code
/// rill::TlsFlow::connectToHost(QStringLiteral("example.org"), 443)
///     .then(this, [](rill::FlowResult<rill::TlsFlow> r) {
///         if (!r.isOk())
///             return qWarning() << rill::errorMessage(r.error());
///         rill::TlsFlow *tls = r.takeFlow().release();
///         tls->write("GET / HTTP/1.0\r\nHost: example.org\r\n\r\n");
///         tls->shutdown(rill::Flow::Direction::Write); // close_notify, then FIN
///         // read() until Eof: the server's close_notify
///     });
/// \endcode
///
/// Logging category: rill.tls.
class RILL_EXPORT TlsFlow : public TransportFlow
{
    Q_OBJECT
    /// Client or server. \sa mode()
    Q_PROPERTY(Mode mode READ mode CONSTANT)
    /// The name the server's certificate is checked against. \sa peerVerifyName()
    Q_PROPERTY(QString peerVerifyName READ peerVerifyName CONSTANT)
    /// Whether the handshake completed. \sa isEncrypted(), encrypted()
    Q_PROPERTY(bool encrypted READ isEncrypted NOTIFY encrypted)
    /// The negotiated protocol version. \sa sessionProtocol()
    Q_PROPERTY(QSsl::SslProtocol sessionProtocol READ sessionProtocol NOTIFY encrypted)
    /// The negotiated cipher. \sa sessionCipher()
    Q_PROPERTY(QSslCipher sessionCipher READ sessionCipher NOTIFY encrypted)
    /// The negotiated cipher's OpenSSL name. \sa sessionCipherName()
    Q_PROPERTY(QString sessionCipherName READ sessionCipherName NOTIFY encrypted)
    /// The protocol chosen by ALPN. \sa nextNegotiatedProtocol()
    Q_PROPERTY(QByteArray nextNegotiatedProtocol READ nextNegotiatedProtocol NOTIFY encrypted)
    /// Whether the handshake resumed a session. \sa isSessionResumed()
    Q_PROPERTY(bool sessionResumed READ isSessionResumed NOTIFY encrypted)
    /// The peer's certificate chain. \sa peerCertificateChain()
    Q_PROPERTY(QList<QSslCertificate> peerCertificateChain READ peerCertificateChain NOTIFY
                       encrypted)
    /// The handshake's time limit in milliseconds, 0 for none. \sa setHandshakeTimeout()
    Q_PROPERTY(int handshakeTimeout READ handshakeTimeout WRITE setHandshakeTimeout NOTIFY
                       handshakeTimeoutChanged)

public:
    /// Which side of the handshake this flow plays.
    enum class Mode {
        Client, ///< Starts the handshake; verifies the server's certificate and name.
        Server, ///< Answers it with its certificate; may ask for the client's.
    };
    Q_ENUM(Mode)

    /// Starts TLS as \a mode over \a wire, with \a configuration, taking ownership of the wire.
    ///
    /// The wire becomes a child of this flow and must live in the calling thread; nothing else
    /// may read from or write to it. A client checks the server's certificate against
    /// \a peerVerifyName and sends it as SNI; a server ignores it. The handshake starts at once;
    /// the flow is Connecting until it completes. A null wire, or one in another thread, gives
    /// a flow that fails with kind InvalidArgument; a configuration OpenSSL cannot use (a key
    /// that does not match the certificate, a server without a certificate) one that fails
    /// with kind Tls, as soon as the event loop runs.
    TlsFlow(Flow *wire, Mode mode, const QSslConfiguration &configuration,
            const QString &peerVerifyName = {}, QObject *parent = nullptr);
    /// Aborts the flow if it is still open (the wire is aborted and deleted).
    ~TlsFlow() override;

    /// Connects to \a host on \a port over TCP and runs the handshake as a client, with
    /// \a configuration, until \a deadline (TcpFlow::defaultConnectTimeout() from now when
    /// forever).
    ///
    /// Resolves, in the calling thread, with the encrypted flow (owned by the result), or with
    /// the error of the connection or of the handshake (kind Tls), or TimedOut at the deadline.
    /// \a host is the SNI and the name the certificate must carry.
    static QFuture<FlowResult<TlsFlow>>
    connectToHost(const QString &host, quint16 port,
                  const QSslConfiguration &configuration = QSslConfiguration::defaultConfiguration(),
                  QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Runs the handshake of \a flow (which it takes over) until \a deadline: resolves with the
    /// flow once encrypted, or with its error (TimedOut at the deadline; the flow is then
    /// deleted).
    ///
    /// For a flow made with the constructor, to be handed on only after its handshake.
    static QFuture<FlowResult<TlsFlow>> handshake(TlsFlow *flow,
                                                  QDeadlineTimer deadline = QDeadlineTimer::Forever);

    /// Client or server.
    Mode mode() const;
    /// The name given to the constructor (a client's server name).
    QString peerVerifyName() const;
    /// True once the handshake completed; from any thread.
    bool isEncrypted() const;
    /// The negotiated version (TlsV1_2 or TlsV1_3), UnknownProtocol before the handshake.
    QSsl::SslProtocol sessionProtocol() const;
    /// The negotiated cipher as Qt knows it (null if Qt does not list it; see
    /// sessionCipherName()).
    QSslCipher sessionCipher() const;
    /// The negotiated cipher's OpenSSL name ("TLS_AES_256_GCM_SHA384"), empty before the
    /// handshake.
    QString sessionCipherName() const;
    /// True if the handshake resumed the session given with QSslConfiguration::setSessionTicket()
    /// instead of running in full; from any thread.
    bool isSessionResumed() const;
    /// A client's session, to resume with a later connection to the same server: pass it to
    /// QSslConfiguration::setSessionTicket() of that connection's configuration. Empty until the
    /// server sent one (TLS 1.3 sends it after the handshake, so it comes with the first bytes
    /// read), and always empty unless the configuration has
    /// QSsl::SslOptionDisableSessionPersistence off, as for QSslSocket. From any thread.
    QByteArray sessionTicket() const;
    /// The protocol ALPN chose ("h2", "http/1.1"), empty if none.
    QByteArray nextNegotiatedProtocol() const;
    /// The peer's certificate chain, its own certificate first; empty if it sent none.
    QList<QSslCertificate> peerCertificateChain() const;
    /// The peer's certificate, or a null one.
    QSslCertificate peerCertificate() const;

    /// The handshake's time limit in milliseconds; 0 (the default) is none.
    int handshakeTimeout() const;
    /// Sets the handshake's time limit to \a milliseconds from the flow's start: a handshake
    /// not complete by then fails the flow with an error of kind TimedOut. 0 turns it off.
    /// Call it in the flow's thread.
    void setHandshakeTimeout(int milliseconds);
    /// Sets the handshake's time limit to \a timeout, as setHandshakeTimeout(int).
    void setHandshakeTimeout(std::chrono::milliseconds timeout);

    /// The flow under TLS, until it is released (after a clean end or a failure); else null.
    /// Call it in the flow's thread.
    Flow *wire() const;

Q_SIGNALS:
    /// The handshake completed: the flow is Open and the session properties are set.
    void encrypted();
    /// The handshake's time limit changed to \a milliseconds.
    void handshakeTimeoutChanged(int milliseconds);

private:
    Q_DISABLE_COPY(TlsFlow)
};

} // namespace rill
