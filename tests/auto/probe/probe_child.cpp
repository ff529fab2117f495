// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The process tst_probe inspects: an ordinary Rill program with no probe code of its own (the
// probe comes from RILL_INSPECT in its environment). It connects to ENDPOINT, says "connected"
// on stdout, reads to end of stream (saying "eof"), and writes as MODE says:
//   idle        nothing; on the peer's end of stream it closes and exits
//   stall       64 KiB writes with a 64 KiB high-water mark, forever (the peer stops reading)
//   bulk BYTES  BYTES in 1 KiB writes, each awaited; "sent"; exits after the peer's end of
//               stream
#include <rill/connect.h>
#include <rill/endpoint.h>
#include <rill/flow.h>

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <memory>

using namespace rill;

namespace {

void say(const char *text)
{
    std::printf("%s\n", text);
    std::fflush(stdout);
}

struct Child
{
    std::unique_ptr<Flow> flow;
    QByteArray mode;
    qint64 toSend = 0;
    bool eof = false;
    bool sent = false;

    void readNext()
    {
        flow->read().then(flow.get(), [this](const ReadResult &r) {
            if (r.isData()) {
                readNext();
                return;
            }
            eof = true;
            say("eof");
            maybeQuit();
        });
    }

    void writeNext()
    {
        // No half-close here: a QTcpSocket peer would take our FIN for the end of both
        // directions, and the test's subscriber must read before we exit.
        if (mode == "bulk" && toSend <= 0) {
            sent = true;
            say("sent");
            maybeQuit();
            return;
        }
        const qint64 size = mode == "stall" ? 64 * 1024 : qMin<qint64>(1024, toSend);
        toSend -= size;
        flow->write(QByteArray(int(size), 'x')).then(flow.get(), [this](const WriteResult &r) {
            if (r.isOk())
                writeNext();
        });
    }

    void maybeQuit()
    {
        if (eof && (mode != "bulk" || sent)) {
            flow->close().then(flow.get(), [](const CloseResult &) { QCoreApplication::quit(); });
        }
    }
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3)
        return 2;
    Child child;
    child.mode = args[2].toLatin1();
    child.toSend = args.size() > 3 ? args[3].toLongLong() : 0;
    connectTo(Endpoint::parse(args[1])).then(&app, [&child](FlowResult<Flow> result) {
        if (!result.flow()) {
            say("failed");
            QCoreApplication::exit(1);
            return;
        }
        child.flow = result.takeFlow();
        if (child.mode == "stall")
            child.flow->setHighWaterMark(64 * 1024);
        say("connected");
        child.readNext();
        if (child.mode != "idle")
            child.writeNext();
    });
    return app.exec();
}
