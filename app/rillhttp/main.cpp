// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
//
// rillhttp: an HTTP/1.1 client with curl's option names, and a static file server, over
// Rill::Http.
//
//   rillhttp [-v] [-i] [-X METHOD] [-H 'Name: value']... [--data-binary @FILE|TEXT] [-o FILE]
//            [--unix-socket PATH] [--fail] [--max-time SECONDS] URL
//   rillhttp serve [-v] [--header-timeout SECONDS] [--idle-timeout SECONDS] LISTEN DIR
//
// Client exit status: 0 a complete response arrived (whatever its status), 22 with --fail and
// a status of 400 or more, 28 --max-time expired, 1 any other failure, 2 usage.

#include <rill/deviceflow.h>
#include <rill/endpoint.h>
#include <rill/http/client.h>
#include <rill/http/server.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

using namespace rill;
using namespace rill::http;

namespace {

const char usageText[] =
        "usage: rillhttp [-v] [-i] [-X METHOD] [-H 'Name: value']... [--data-binary @FILE|TEXT]\n"
        "                [-o FILE] [--unix-socket PATH] [--fail] [--max-time SECONDS] URL\n"
        "       rillhttp serve [-v] [--header-timeout SECONDS] [--idle-timeout SECONDS] LISTEN DIR\n";

void printLine(const QString &line)
{
    std::fputs(qPrintable(line + QLatin1Char('\n')), stderr);
    std::fflush(stderr);
}

int usageError(const QString &why)
{
    printLine(QStringLiteral("rillhttp: ") + why);
    std::fputs(usageText, stderr);
    return 2;
}

bool parseSeconds(const QString &text, double *seconds)
{
    bool ok = false;
    *seconds = text.toDouble(&ok);
    return ok && *seconds > 0 && *seconds < 1e7;
}

// ---- Client

class ClientRun : public QObject
{
public:
    int exitCode = 1;
    bool verbose = false;
    bool include = false;
    bool failOnError = false;
    QFile *output = nullptr;
    QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever);
    Request request;
    QString target; // what messages name: the endpoint

    void start()
    {
        client.setMaxRedirects(0);
        if (verbose) {
            std::fprintf(stderr, "> %s %s HTTP/1.1\n", request.method().constData(),
                         request.target().constData());
            for (const Headers::Field &f : request.headers().fields())
                std::fprintf(stderr, "> %s: %s\n", f.first.constData(), f.second.constData());
        }
        client.send(request, Client::BodyMode::Stream, deadline).then(this, [this](const Response &r) {
            onResponse(r);
        });
    }

private:
    void finish(int code)
    {
        exitCode = code;
        if (output)
            output->flush();
        QCoreApplication::exit(code);
    }

    void failWith(const Error &error)
    {
        if (error.kind() == Error::Kind::TimedOut || deadline.hasExpired()) {
            printLine(QStringLiteral("rillhttp: %1: operation timed out").arg(target));
            finish(28);
            return;
        }
        printLine(QStringLiteral("rillhttp: ") + errorMessage(error));
        finish(1);
    }

    void onResponse(const Response &r)
    {
        if (r.isError()) {
            failWith(r.error());
            return;
        }
        if (verbose) {
            for (const QByteArray &line : r.rawHead().split('\n'))
                if (!line.trimmed().isEmpty())
                    std::fprintf(stderr, "< %s\n", line.trimmed().constData());
        }
        if (failOnError && r.status() >= 400) {
            printLine(QStringLiteral("rillhttp: %1: the server answered %2 %3")
                              .arg(target)
                              .arg(r.status())
                              .arg(QString::fromLatin1(r.reason())));
            finish(22);
            return;
        }
        if (include)
            output->write(r.rawHead());
        m_body = r.bodyFlow();
        if (!m_body) {
            finish(0);
            return;
        }
        readBody();
    }

    void readBody()
    {
        m_body->read(deadline).then(this, [this](const ReadResult &r) {
            if (r.isData()) {
                if (output->write(r.data()) != r.data().size()) {
                    printLine(QStringLiteral("rillhttp: %1: %2").arg(output->fileName(), output->errorString()));
                    finish(1);
                    return;
                }
                readBody();
                return;
            }
            if (r.isEof()) {
                finish(0);
                return;
            }
            failWith(r.error().kind() == Error::Kind::Reset || r.error().kind() == Error::Kind::Aborted
                             ? Error(deadline.hasExpired() ? Error::Kind::TimedOut : Error::Kind::Truncated,
                                     QStringLiteral("response body cut short"), target)
                             : r.error());
        });
    }

    Client client;
    BodyFlow m_body;
};

int runClient(QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    parser.addOptions({
            {{QStringLiteral("v"), QStringLiteral("verbose")}, QStringLiteral("Show the exchange on stderr.")},
            {{QStringLiteral("i"), QStringLiteral("include")}, QStringLiteral("Print the status line and headers first.")},
            {{QStringLiteral("X"), QStringLiteral("request")}, QStringLiteral("The method."), QStringLiteral("METHOD")},
            {{QStringLiteral("H"), QStringLiteral("header")}, QStringLiteral("A header field."), QStringLiteral("Name: value")},
            {QStringLiteral("data-binary"), QStringLiteral("The body: @FILE or TEXT."), QStringLiteral("DATA")},
            {{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Write the body to FILE."), QStringLiteral("FILE")},
            {QStringLiteral("unix-socket"), QStringLiteral("Connect to this Unix socket."), QStringLiteral("PATH")},
            {QStringLiteral("fail"), QStringLiteral("Exit 22 on a status of 400 or more.")},
            {QStringLiteral("max-time"), QStringLiteral("Give up after SECONDS."), QStringLiteral("SECONDS")},
            {{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help.")},
    });
    if (!parser.parse(app.arguments()))
        return usageError(parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(usageText, stdout);
        return 0;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1)
        return usageError(positional.isEmpty() ? QStringLiteral("no URL") : QStringLiteral("one URL only"));

    ClientRun run;
    run.verbose = parser.isSet(QStringLiteral("verbose"));
    run.include = parser.isSet(QStringLiteral("include"));
    run.failOnError = parser.isSet(QStringLiteral("fail"));
    if (parser.isSet(QStringLiteral("max-time"))) {
        double seconds = 0;
        if (!parseSeconds(parser.value(QStringLiteral("max-time")), &seconds))
            return usageError(QStringLiteral("--max-time needs a number of seconds"));
        run.deadline = QDeadlineTimer(qint64(seconds * 1000));
    }

    const QString urlText = positional.first();
    const QUrl url(urlText, QUrl::StrictMode);
    const bool schemeOk = url.scheme() == QLatin1String("http") || url.scheme() == QLatin1String("https");
    if (!url.isValid() || !schemeOk || url.host().isEmpty()) {
        printLine(QStringLiteral("rillhttp: %1: not an http:// URL").arg(urlText));
        return 1;
    }
    run.request = Request(url);
    if (parser.isSet(QStringLiteral("unix-socket"))) {
        run.request.setEndpoint(Endpoint::local(parser.value(QStringLiteral("unix-socket"))));
    }
    run.target = Client::endpointFor(run.request).toString();

    for (const QString &header : parser.values(QStringLiteral("header"))) {
        const qsizetype colon = header.indexOf(QLatin1Char(':'));
        if (colon <= 0)
            return usageError(QStringLiteral("-H needs 'Name: value', not '%1'").arg(header));
        run.request.headers().append(header.left(colon).trimmed().toLatin1(),
                                     header.mid(colon + 1).trimmed().toUtf8());
    }
    std::unique_ptr<QFile> input;
    if (parser.isSet(QStringLiteral("data-binary"))) {
        const QString data = parser.value(QStringLiteral("data-binary"));
        run.request.setMethod("POST");
        if (data.startsWith(QLatin1Char('@'))) {
            const QString name = data.mid(1);
            if (name == QLatin1String("-")) {
                QFile in;
                if (!in.open(stdin, QIODevice::ReadOnly))
                    return usageError(QStringLiteral("cannot read standard input"));
                run.request.setBody(in.readAll());
            } else {
                auto *file = new QFile(name);
                if (!file->open(QIODevice::ReadOnly)) {
                    printLine(QStringLiteral("rillhttp: %1: %2").arg(name, file->errorString()));
                    delete file;
                    return 1;
                }
                const qint64 size = file->size();
                auto *flow = new DeviceFlow(file);
                file->setParent(flow);
                run.request.setBodyFlow(makeBodyFlow(flow), size);
            }
        } else {
            run.request.setBody(data.toUtf8());
        }
        if (!run.request.headers().contains("content-type"))
            run.request.headers().append("Content-Type", "application/x-www-form-urlencoded");
    }
    if (parser.isSet(QStringLiteral("request")))
        run.request.setMethod(parser.value(QStringLiteral("request")).toLatin1());

    QFile out;
    if (parser.isSet(QStringLiteral("output"))) {
        out.setFileName(parser.value(QStringLiteral("output")));
        if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            printLine(QStringLiteral("rillhttp: %1: %2").arg(out.fileName(), out.errorString()));
            return 1;
        }
    } else if (!out.open(stdout, QIODevice::WriteOnly | QIODevice::Unbuffered)) {
        printLine(QStringLiteral("rillhttp: cannot write standard output"));
        return 1;
    }
    run.output = &out;
    QMetaObject::invokeMethod(&run, [&run] { run.start(); }, Qt::QueuedConnection);
    return app.exec();
}

// ---- Server

int signalPipe[2] = {-1, -1};

extern "C" void onStopSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(signalPipe[1], &byte, 1);
}

QByteArray contentType(const QFileInfo &info)
{
    static const QHash<QString, QByteArray> types = {
            {QStringLiteral("html"), "text/html; charset=utf-8"},
            {QStringLiteral("htm"), "text/html; charset=utf-8"},
            {QStringLiteral("txt"), "text/plain; charset=utf-8"},
            {QStringLiteral("css"), "text/css; charset=utf-8"},
            {QStringLiteral("js"), "text/javascript; charset=utf-8"},
            {QStringLiteral("json"), "application/json"},
            {QStringLiteral("xml"), "application/xml"},
            {QStringLiteral("svg"), "image/svg+xml"},
            {QStringLiteral("png"), "image/png"},
            {QStringLiteral("jpg"), "image/jpeg"},
            {QStringLiteral("jpeg"), "image/jpeg"},
            {QStringLiteral("gif"), "image/gif"},
            {QStringLiteral("webp"), "image/webp"},
            {QStringLiteral("ico"), "image/vnd.microsoft.icon"},
            {QStringLiteral("pdf"), "application/pdf"},
            {QStringLiteral("wasm"), "application/wasm"},
            {QStringLiteral("gz"), "application/gzip"},
            {QStringLiteral("zip"), "application/zip"},
    };
    return types.value(info.suffix().toLower(), "application/octet-stream");
}

// The file a request names under root, or the status to answer: never a file outside root.
Response staticFile(const QString &root, const Request &request)
{
    const QByteArray target = request.target();
    if (!target.startsWith('/'))
        return Response(400, "Bad Request\n", "text/plain");
    const QByteArray rawPath = target.left(target.indexOf('?') < 0 ? target.size() : target.indexOf('?'));
    // An encoded slash or backslash would make one segment two after decoding: refused.
    const QByteArray lower = rawPath.toLower();
    if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") || rawPath.contains('\\'))
        return Response(404, "Not Found\n", "text/plain");
    const QString path = QString::fromUtf8(QByteArray::fromPercentEncoding(rawPath));
    for (const QString &segment : path.split(QLatin1Char('/')))
        if (segment == QLatin1String("..") || segment == QLatin1String("."))
            return Response(403, "Forbidden\n", "text/plain");

    QFileInfo info(root + path);
    if (info.isDir())
        info = QFileInfo(info.filePath() + QStringLiteral("/index.html"));
    if (!info.exists() || !info.isFile())
        return Response(404, "Not Found\n", "text/plain");
    // Symlinks are followed only while they stay under root.
    const QString real = info.canonicalFilePath();
    if (real.isEmpty() || !real.startsWith(root + QLatin1Char('/')))
        return Response(403, "Forbidden\n", "text/plain");
    auto *file = new QFile(real);
    if (!file->open(QIODevice::ReadOnly)) {
        delete file;
        return Response(403, "Forbidden\n", "text/plain");
    }
    Response response(200);
    response.headers().append("Content-Type", contentType(info));
    response.headers().append("Last-Modified", httpDate(info.lastModified()));
    const qint64 size = file->size();
    auto *flow = new DeviceFlow(file);
    file->setParent(flow);
    response.setBodyFlow(makeBodyFlow(flow), size); // streamed, never read whole
    return response;
}

int runServer(QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    parser.addOptions({
            {{QStringLiteral("v"), QStringLiteral("verbose")}, QStringLiteral("Log each exchange to stderr.")},
            {QStringLiteral("header-timeout"), QStringLiteral("Seconds for a request head (30)."), QStringLiteral("SECONDS")},
            {QStringLiteral("idle-timeout"), QStringLiteral("Seconds a kept-alive connection may idle (60)."), QStringLiteral("SECONDS")},
            {{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help.")},
    });
    QStringList arguments = app.arguments();
    arguments.removeAt(1); // "serve"
    if (!parser.parse(arguments))
        return usageError(parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(usageText, stdout);
        return 0;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 2)
        return usageError(QStringLiteral("serve needs LISTEN and DIR"));
    Server server;
    for (const char *name : {"header-timeout", "idle-timeout"}) {
        const QString option = QString::fromLatin1(name);
        if (!parser.isSet(option))
            continue;
        double seconds = 0;
        if (!parseSeconds(parser.value(option), &seconds))
            return usageError(QStringLiteral("--%1 needs a number of seconds").arg(option));
        const int ms = int(qMax(1.0, seconds * 1000));
        if (option == QLatin1String("header-timeout"))
            server.setHeaderTimeout(ms);
        else
            server.setIdleTimeout(ms);
    }
    Error parseError;
    const Endpoint endpoint = Endpoint::parse(positional.at(0), &parseError);
    if (!endpoint.isValid() || (endpoint.type() != Endpoint::Type::Tcp && endpoint.type() != Endpoint::Type::Unix))
        return usageError(QStringLiteral("LISTEN must be tcp:HOST:PORT or unix:PATH, not %1").arg(positional.at(0)));
    const QFileInfo dirInfo(positional.at(1));
    if (!dirInfo.isDir()) {
        printLine(QStringLiteral("rillhttp: %1: not a directory").arg(positional.at(1)));
        return 1;
    }
    const QString root = dirInfo.canonicalFilePath();

    server.setMaxBodySize(1024 * 1024); // static files take no bodies
    server.setFallback([root](const Request &request) {
        if (request.method() != "GET" && request.method() != "HEAD") {
            Response r(405, "Method Not Allowed\n", "text/plain");
            r.headers().append("Allow", "GET, HEAD");
            return r;
        }
        return staticFile(root, request);
    });
    if (parser.isSet(QStringLiteral("verbose"))) {
        QObject::connect(&server, &Server::exchangeFinished, &server,
                         [](const Request &request, int status, qint64 bytes, const Error &error) {
                             printLine(QStringLiteral("%1 %2 %3 %4 %5%6")
                                               .arg(request.peerEndpoint().toString(),
                                                    QString::fromLatin1(request.method()),
                                                    QString::fromLatin1(request.target()))
                                               .arg(status)
                                               .arg(bytes)
                                               .arg(error.isNone() ? QString() : QStringLiteral(" ") + errorMessage(error)));
                         });
    }
    if (!server.listen(endpoint)) {
        printLine(QStringLiteral("rillhttp: ") + errorMessage(server.listener()->error()));
        return 1;
    }
    printLine(QStringLiteral("listening on ") + server.endpoint().toString());

    if (::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        printLine(QStringLiteral("rillhttp: cannot make a pipe for signals"));
        return 1;
    }
    QSocketNotifier notifier(signalPipe[0], QSocketNotifier::Read);
    bool stopping = false;
    QObject::connect(&notifier, &QSocketNotifier::activated, &server, [&] {
        char buffer[16];
        while (::read(signalPipe[0], buffer, sizeof buffer) > 0) { }
        if (stopping)
            return;
        stopping = true;
        // Stop accepting, let responses in flight finish, then leave.
        server.stop().then(&server, [] { QCoreApplication::exit(0); });
    });
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && qstrcmp(argv[1], "serve") == 0)
        return runServer(app);
    return runClient(app);
}
