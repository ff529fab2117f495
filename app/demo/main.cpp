// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill-demo: two piped flows talking, every change of state printed. A client sends a request
// and half-closes; the server reads to the end of stream, then answers and closes.
#include <rill/pipeflow.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QMetaEnum>
#include <QtCore/QTextStream>

#include <functional>

using rill::Flow;

namespace {

QElapsedTimer clock_;

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

void log(const QString &who, const QString &what)
{
    out() << QStringLiteral("%1 ms  %2  %3").arg(clock_.elapsed(), 4).arg(who, -7).arg(what)
          << Qt::endl;
}

template<typename E>
QString enumName(E value)
{
    return QString::fromLatin1(QMetaEnum::fromType<E>().valueToKey(int(value)));
}

void watch(Flow *flow, const QString &name)
{
    QObject::connect(flow, &Flow::readStateChanged, flow, [=](Flow::ReadState s) {
        log(name, QStringLiteral("read side: %1").arg(enumName(s)));
    });
    QObject::connect(flow, &Flow::writeStateChanged, flow, [=](Flow::WriteState s) {
        log(name, QStringLiteral("write side: %1").arg(enumName(s)));
    });
    QObject::connect(flow, &Flow::stateChanged, flow, [=](Flow::State s) {
        log(name, QStringLiteral("flow: %1").arg(enumName(s)));
    });
    QObject::connect(flow, &Flow::writeQueued, flow, [=](quint64 id, qint64 size) {
        log(name, QStringLiteral("write #%1 queued (%2 bytes)").arg(id).arg(size));
    });
    QObject::connect(flow, &Flow::writeSent, flow, [=](quint64 id) {
        log(name, QStringLiteral("write #%1 handed to the pipe").arg(id));
    });
}

// Reads until Eof, then calls done with everything read.
void readAll(Flow *flow, const QString &name, QByteArray sofar,
             std::function<void(QByteArray)> done)
{
    flow->read().then(flow, [=](const rill::ReadResult &r) {
        if (r.isData()) {
            log(name, QStringLiteral("read %1 bytes: \"%2\"")
                              .arg(r.data().size())
                              .arg(QString::fromUtf8(r.data())));
            readAll(flow, name, sofar + r.data(), done);
        } else if (r.isEof()) {
            log(name, QStringLiteral("read: end of stream"));
            done(sofar);
        } else {
            log(name, QStringLiteral("read error: %1").arg(rill::errorMessage(r.error())));
            done(sofar);
        }
    });
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    clock_.start();
    auto [client, server] = rill::PipeFlow::createPair();
    watch(client.get(), QStringLiteral("client"));
    watch(server.get(), QStringLiteral("server"));

    Flow *c = client.get();
    Flow *s = server.get();
    c->writev({QByteArrayLiteral("GET /hello"), QByteArrayLiteral(" please")});
    c->shutdown(Flow::Direction::Write);
    readAll(s, QStringLiteral("server"), {}, [s](const QByteArray &request) {
        s->write("you said: " + request);
        s->close();
    });
    readAll(c, QStringLiteral("client"), {}, [c](const QByteArray &) {
        c->close().then(c, [](const rill::CloseResult &r) {
            log(QStringLiteral("demo"), r.isOk() ? QStringLiteral("both flows closed cleanly")
                                                 : rill::errorMessage(r.error()));
            QCoreApplication::quit();
        });
    });
    return app.exec();
}
