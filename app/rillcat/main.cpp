// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rillcat: a netcat built on flows. stdin and stdout are a flow too (rill::StdioFlow), so the
// whole program is two rill::copy() between two flows (rill::proxy() for --proxy), and
// half-close and backpressure come with it.
// Over TLS (tls:HOST:PORT) the same: a rill::TlsFlow is a flow, its shutdown(Write) is
// close_notify and then the FIN.
#include <rill/combinators.h>
#include <rill/connect.h>
#include <rill/descriptorflow.h>
#include <rill/endpoint.h>
#include <rill/tlsflow.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QMetaObject>
#include <QtCore/QStringList>
#include <QtCore/QTimer>
#include <QtNetwork/QSslKey>

#include <csignal>
#include <cstdio>
#include <memory>
#include <unistd.h>

using rill::Endpoint;
using rill::Error;
using rill::Flow;

namespace {

const char usageText[] =
        "usage: rillcat [-v] [--ca FILE] [--cert FILE --key FILE] ENDPOINT\n"
        "                          connect; stdin -> peer, peer -> stdout\n"
        "       rillcat [-v] --listen ENDPOINT [--cert FILE --key FILE] [--ca FILE]\n"
        "                          accept one connection, then the same\n"
        "       rillcat [-v] [--ca FILE] [--cert FILE --key FILE] --proxy LISTEN TARGET\n"
        "                          proxy each connection on LISTEN to TARGET\n"
        "ENDPOINT is tcp:HOST:PORT, tls:HOST:PORT or unix:PATH; -v prints each change of a\n"
        "connection's state.\n"
        "TLS, connecting: the server's certificate is checked against the system's authorities,\n"
        "or only against --ca FILE, and its name against HOST (also sent as SNI); --cert and\n"
        "--key are a client certificate. Listening: --cert and --key are the server's (needed);\n"
        "--ca FILE requires a client certificate issued by it. --proxy: --ca and a client\n"
        "certificate apply to a tls: TARGET; --cert and --key to a tls: LISTEN, where --ca then\n"
        "requires client certificates unless TARGET is tls: too.\n";

void printLine(const QString &line)
{
    std::fputs(qUtf8Printable(line + QLatin1Char('\n')), stderr);
    std::fflush(stderr);
}

void printError(const Error &error)
{
    printLine(QStringLiteral("rillcat: ") + rill::errorMessage(error));
}

struct Options
{
    enum class Mode { Connect, Listen, Proxy };
    Mode mode = Mode::Connect;
    bool verbose = false;
    Endpoint endpoint; // where to connect or listen
    Endpoint target;   // --proxy: where each connection goes
    QString caFile, certFile, keyFile;
    QSslConfiguration client = QSslConfiguration::defaultConfiguration(); // connecting over TLS
    QSslConfiguration server = QSslConfiguration::defaultConfiguration(); // listening over TLS
};

// The first private key in \a pem, whatever its algorithm.
QSslKey readKey(const QByteArray &pem)
{
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa, QSsl::Dh}) {
        QSslKey key(pem, algorithm);
        if (!key.isNull())
            return key;
    }
    return QSslKey();
}

// Loads the TLS files into options->client and options->server; false with *why on failure.
bool loadTls(Options *options, QString *why)
{
    auto read = [why](const QString &path, QByteArray *data) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            *why = path + QStringLiteral(": ") + file.errorString();
            return false;
        }
        *data = file.readAll();
        return true;
    };
    QList<QSslCertificate> cas, chain;
    QSslKey key;
    if (!options->caFile.isEmpty()) {
        QByteArray pem;
        if (!read(options->caFile, &pem))
            return false;
        cas = QSslCertificate::fromData(pem, QSsl::Pem);
        if (cas.isEmpty()) {
            *why = options->caFile + QStringLiteral(": no certificate in it (PEM expected)");
            return false;
        }
    }
    if (!options->certFile.isEmpty()) {
        QByteArray pem;
        if (!read(options->certFile, &pem))
            return false;
        chain = QSslCertificate::fromData(pem, QSsl::Pem);
        if (chain.isEmpty()) {
            *why = options->certFile + QStringLiteral(": no certificate in it (PEM expected)");
            return false;
        }
        if (!read(options->keyFile, &pem))
            return false;
        key = readKey(pem);
        if (key.isNull()) {
            *why = options->keyFile + QStringLiteral(": no usable private key in it (PEM, not encrypted)");
            return false;
        }
    }
    const bool listensTls = options->mode != Options::Mode::Connect
            && options->endpoint.type() == Endpoint::Type::Tls;
    const bool connectsTls = options->mode == Options::Mode::Connect
            ? options->endpoint.type() == Endpoint::Type::Tls
            : options->mode == Options::Mode::Proxy && options->target.type() == Endpoint::Type::Tls;
    if (listensTls && chain.isEmpty()) {
        *why = QStringLiteral("listening on %1 needs --cert and --key").arg(options->endpoint.toString());
        return false;
    }
    if (!cas.isEmpty())
        options->client.setCaCertificates(cas); // only these, not the system's
    if (!chain.isEmpty() && !listensTls) {
        options->client.setLocalCertificateChain(chain);
        options->client.setPrivateKey(key);
    }
    if (listensTls) {
        options->server.setLocalCertificateChain(chain);
        options->server.setPrivateKey(key);
        if (!cas.isEmpty() && !connectsTls) {
            options->server.setCaCertificates(cas);
            options->server.setPeerVerifyMode(QSslSocket::VerifyPeer);
        }
    }
    return true;
}

// connectTo() with rillcat's TLS configuration for tls: endpoints.
QFuture<rill::FlowResult<Flow>> connectEndpoint(const Endpoint &endpoint, const Options &options)
{
    if (endpoint.type() != Endpoint::Type::Tls)
        return rill::connectTo(endpoint);
    return rill::TlsFlow::connectToHost(endpoint.host(), endpoint.port(), options.client)
            .then([](rill::FlowResult<rill::TlsFlow> result) {
                if (!result.isOk())
                    return rill::FlowResult<Flow>::fromError(result.error());
                return rill::FlowResult<Flow>::fromFlow(result.takeFlow().release());
            });
}

// Returns the exit status for a usage error or --help, or -1 to go on.
int parseArguments(const QStringList &arguments, Options *options)
{
    auto usageError = [](const QString &why) {
        printLine(QStringLiteral("rillcat: ") + why);
        std::fputs(usageText, stderr);
        return 2;
    };
    QStringList positional;
    const QStringList args = arguments.mid(1);
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString &argument = args.at(i);
        if (argument == QLatin1String("--ca") || argument == QLatin1String("--cert")
            || argument == QLatin1String("--key")) {
            if (i + 1 >= args.size())
                return usageError(QStringLiteral("%1 needs a file").arg(argument));
            const QString file = args.at(++i);
            if (argument == QLatin1String("--ca"))
                options->caFile = file;
            else if (argument == QLatin1String("--cert"))
                options->certFile = file;
            else
                options->keyFile = file;
        } else if (argument == QLatin1String("-v") || argument == QLatin1String("--verbose")) {
            options->verbose = true;
        } else if (argument == QLatin1String("-l") || argument == QLatin1String("--listen")) {
            if (options->mode != Options::Mode::Connect)
                return usageError(QStringLiteral("--listen and --proxy exclude each other"));
            options->mode = Options::Mode::Listen;
        } else if (argument == QLatin1String("--proxy")) {
            if (options->mode != Options::Mode::Connect)
                return usageError(QStringLiteral("--listen and --proxy exclude each other"));
            options->mode = Options::Mode::Proxy;
        } else if (argument == QLatin1String("-h") || argument == QLatin1String("--help")) {
            std::fputs(usageText, stdout);
            return 0;
        } else if (argument.startsWith(QLatin1Char('-')) && argument.size() > 1) {
            return usageError(QStringLiteral("unknown option %1").arg(argument));
        } else {
            positional.append(argument);
        }
    }
    const qsizetype wanted = options->mode == Options::Mode::Proxy ? 2 : 1;
    if (positional.size() != wanted) {
        return usageError(positional.size() < wanted ? QStringLiteral("missing endpoint")
                                                     : QStringLiteral("too many arguments"));
    }
    Error error;
    options->endpoint = Endpoint::parse(positional.at(0), &error);
    if (!options->endpoint.isValid())
        return usageError(rill::errorMessage(error));
    if (options->mode == Options::Mode::Proxy) {
        options->target = Endpoint::parse(positional.at(1), &error);
        if (!options->target.isValid())
            return usageError(rill::errorMessage(error));
    }
    if (options->certFile.isEmpty() != options->keyFile.isEmpty())
        return usageError(QStringLiteral("--cert and --key go together"));
    const bool anyTls = options->endpoint.type() == Endpoint::Type::Tls
            || options->target.type() == Endpoint::Type::Tls;
    if (!anyTls && (!options->caFile.isEmpty() || !options->certFile.isEmpty()))
        return usageError(QStringLiteral("--ca, --cert and --key are for tls: endpoints"));
    QString why;
    if (anyTls && !loadTls(options, &why))
        return usageError(why);
    return -1;
}

// -v: one line per change of a connection's state.
void watch(Flow *flow, bool verbose)
{
    if (!verbose)
        return;
    const QString name = flow->peerEndpoint().toString();
    auto log = [name](const QString &what) {
        printLine(QStringLiteral("%1 rillcat: %2: %3")
                          .arg(QDateTime::currentDateTime().toString(Qt::ISODateWithMs), name,
                               what));
    };
    log(QStringLiteral("connected (local end %1)").arg(flow->localEndpoint().toString()));
    QObject::connect(flow, &Flow::writeStateChanged, flow, [log](Flow::WriteState state) {
        if (state == Flow::WriteState::Closed)
            log(QStringLiteral("write shut down"));
    });
    QObject::connect(flow, &Flow::readStateChanged, flow, [log](Flow::ReadState state) {
        if (state == Flow::ReadState::Eof)
            log(QStringLiteral("peer end of stream"));
    });
    QObject::connect(flow, &Flow::stateChanged, flow, [log](Flow::State state) {
        if (state == Flow::State::Closed)
            log(QStringLiteral("closed"));
    });
    QObject::connect(flow, &Flow::errorOccurred, flow, [log](const Error &error) {
        log(QStringLiteral("error: ") + rill::errorMessage(error));
    });
}

// --proxy: one client and the connection made for it, until the proxy between them is done.
class ProxySession : public QObject
{
public:
    ProxySession(std::unique_ptr<Flow> client, const Options &options, QObject *parent)
        : QObject(parent), m_client(std::move(client)), m_verbose(options.verbose)
    {
        watch(m_client.get(), m_verbose);
        connectEndpoint(options.target, options).then(this, [this](rill::FlowResult<Flow> result) {
            if (!result.isOk()) {
                printError(result.error());
                m_client->abort(); // the client must not take this for an empty answer
                deleteLater();
                return;
            }
            m_server = result.takeFlow();
            watch(m_server.get(), m_verbose);
            rill::proxy(m_client.get(), m_server.get()).then(this, [this](const rill::ProxyResult &r) {
                if (r.isError())
                    printError(r.error());
                deleteLater();
            });
        });
    }

private:
    std::unique_ptr<Flow> m_client;
    std::unique_ptr<Flow> m_server;
    bool m_verbose;
};

class Rillcat : public QObject
{
public:
    explicit Rillcat(const Options &options) : m_options(options) {}
    // The listener goes first, while this object (the context of its accept's continuation)
    // still lives: closing it finishes a waiting accept, and Qt 6.4 asserts on a dead context.
    ~Rillcat() override { delete m_listener; }

    void start()
    {
        switch (m_options.mode) {
        case Options::Mode::Connect:
            connectEndpoint(m_options.endpoint, m_options).then(this, [this](rill::FlowResult<Flow> result) {
                if (!result.isOk())
                    return fail(result.error());
                serve(result.takeFlow());
            });
            return;
        case Options::Mode::Listen:
            if (!listen())
                return;
            m_listener->accept().then(this, [this](rill::FlowResult<Flow> result) {
                m_listener->close(); // one connection only
                if (!result.isOk())
                    return fail(result.error());
                serve(result.takeFlow());
            });
            return;
        case Options::Mode::Proxy:
            if (listen())
                acceptNext();
            return;
        }
    }

private:
    bool listen()
    {
        m_listener = new rill::Listener(this);
        m_listener->setTlsConfiguration(m_options.server);
        // A client whose TLS handshake failed is never handed out: --listen serves one
        // connection, so that was it (exit 1); --proxy says why and goes on.
        connect(m_listener, &rill::Listener::handshakeFailed, this, [this](const Error &error) {
            if (m_options.mode == Options::Mode::Listen)
                return fail(error);
            printError(error);
        });
        if (!m_listener->listen(m_options.endpoint)) {
            fail(m_listener->error());
            return false;
        }
        printLine(QStringLiteral("listening on ") + m_listener->endpoint().toString());
        return true;
    }

    void acceptNext()
    {
        m_listener->accept().then(this, [this](rill::FlowResult<Flow> result) {
            if (!result.isOk())
                return fail(result.error()); // the listener is gone
            new ProxySession(result.takeFlow(), m_options, this);
            acceptNext();
        });
    }

    // stdin -> flow and flow -> stdout, with half-close both ways: two copies, each shutting
    // its destination down at its source's end. Done when both ended cleanly: stdout's end of
    // stream comes only after its last byte. Not rill::proxy(): on an error it aborts both
    // flows, and what arrived before the error (a TLS stream cut short) must still be printed.
    void serve(std::unique_ptr<Flow> flow)
    {
        m_flow = std::move(flow);
        watch(m_flow.get(), m_options.verbose);
        m_stdio = new rill::StdioFlow(this);
        const auto options = rill::CopyOption::ShutdownDestination;
        rill::copy(m_stdio, m_flow.get(), options).then(this, [this](const rill::CopyResult &r) {
            copyDone(r, rill::CopyResult::Side::Source);
        });
        rill::copy(m_flow.get(), m_stdio, options).then(this, [this](const rill::CopyResult &r) {
            copyDone(r, rill::CopyResult::Side::Destination);
        });
    }

    // stdioSide: which side of this copy is the stdio flow.
    void copyDone(const rill::CopyResult &r, rill::CopyResult::Side stdioSide)
    {
        if (m_exiting || m_failing)
            return;
        if (r.isError()) {
            // A descriptor's own error ("stdout: broken pipe") says more than what the copy
            // made of it.
            const Error stdioError = m_stdio->error();
            const bool onStdio = r.failedSide() == stdioSide;
            return failAfterFlush(onStdio && !stdioError.isNone()
                                                  && stdioError.kind() != Error::Kind::Aborted
                                          ? stdioError
                                          : r.error());
        }
        if (++m_copiesDone == 2) {
            m_exiting = true;
            QCoreApplication::exit(0);
        }
    }

    // The connection is dropped (its peer must not take this for a clean end), what arrived
    // before the error is written out, then the error is printed.
    void failAfterFlush(const Error &error)
    {
        m_failing = true;
        m_flow->abort();
        if (m_stdio->writeState() != Flow::WriteState::Open)
            return fail(error);
        m_stdio->shutdown(Flow::Direction::Write).then(this, [this, error](const rill::WriteResult &) {
            fail(error);
        });
        // A stdout nobody reads must not keep rillcat alive.
        QTimer::singleShot(5000, this, [this, error] { fail(error); });
    }

    void fail(const Error &error)
    {
        if (m_exiting)
            return;
        m_exiting = true;
        printError(error);
        QCoreApplication::exit(1);
    }

    Options m_options;
    rill::Listener *m_listener = nullptr;
    std::unique_ptr<Flow> m_flow;
    rill::StdioFlow *m_stdio = nullptr;
    int m_copiesDone = 0;
    bool m_failing = false;
    bool m_exiting = false;
};

extern "C" void onTerminate(int signalNumber)
{
    rill::DescriptorFlow::restoreDescriptorFlags();
    std::signal(signalNumber, SIG_DFL);
    std::raise(signalNumber);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Options options;
    const int status = parseArguments(QCoreApplication::arguments(), &options);
    if (status >= 0)
        return status;

    // A closed stdout is an error to report (EPIPE), not a reason to die silently.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, onTerminate);
    std::signal(SIGTERM, onTerminate);
    std::signal(SIGHUP, onTerminate);

    int exitCode = 0;
    {
        Rillcat rillcat(options);
        // From inside the event loop, so that an early exit() is not lost.
        QMetaObject::invokeMethod(&rillcat, [&rillcat] { rillcat.start(); }, Qt::QueuedConnection);
        exitCode = app.exec();
    }
    rill::DescriptorFlow::restoreDescriptorFlags();
    return exitCode;
}
