// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rillcat: a netcat built on flows. stdin and stdout are a flow too (rill::StdioFlow), so the
// whole program is rill::proxy() between two flows, and half-close and backpressure come with it.
#include <rill/combinators.h>
#include <rill/connect.h>
#include <rill/descriptorflow.h>
#include <rill/endpoint.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QMetaObject>
#include <QtCore/QStringList>

#include <csignal>
#include <cstdio>
#include <memory>
#include <unistd.h>

using rill::Endpoint;
using rill::Error;
using rill::Flow;

namespace {

const char usageText[] =
        "usage: rillcat [-v] ENDPOINT                  connect; stdin -> peer, peer -> stdout\n"
        "       rillcat [-v] --listen ENDPOINT         accept one connection, then the same\n"
        "       rillcat [-v] --proxy LISTEN TARGET     proxy each connection on LISTEN to TARGET\n"
        "ENDPOINT is tcp:HOST:PORT or unix:PATH; -v prints each change of a connection's state\n";

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
};

// Returns the exit status for a usage error or --help, or -1 to go on.
int parseArguments(const QStringList &arguments, Options *options)
{
    auto usageError = [](const QString &why) {
        printLine(QStringLiteral("rillcat: ") + why);
        std::fputs(usageText, stderr);
        return 2;
    };
    QStringList positional;
    for (const QString &argument : arguments.mid(1)) {
        if (argument == QLatin1String("-v") || argument == QLatin1String("--verbose")) {
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
        rill::connectTo(options.target).then(this, [this](rill::FlowResult<Flow> result) {
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

    void start()
    {
        switch (m_options.mode) {
        case Options::Mode::Connect:
            rill::connectTo(m_options.endpoint).then(this, [this](rill::FlowResult<Flow> result) {
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

    // stdin -> flow and flow -> stdout, with half-close both ways. The proxy is done when both
    // directions ended cleanly: stdout's end of stream comes only after its last byte.
    void serve(std::unique_ptr<Flow> flow)
    {
        m_flow = std::move(flow);
        watch(m_flow.get(), m_options.verbose);
        m_stdio = new rill::StdioFlow(this);
        rill::proxy(m_stdio, m_flow.get()).then(this, [this](const rill::ProxyResult &r) {
            if (r.isError()) {
                // A descriptor's own error ("stdout: broken pipe") says more than the abort
                // the proxy made of the stdio flow.
                const Error stdioError = m_stdio->error();
                return fail(stdioError.isNone() || stdioError.kind() == Error::Kind::Aborted
                                    ? r.error()
                                    : stdioError);
            }
            if (!m_exiting) {
                m_exiting = true;
                QCoreApplication::exit(0);
            }
        });
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
