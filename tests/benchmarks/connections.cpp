// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "connections.h"

#include <rill/listener.h>
#include <rill/localflow.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QFile>
#include <QtNetwork/QLocalServer>
#include <QtNetwork/QTcpServer>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace bench {

namespace {

constexpr int ConnectTimeoutMs = 20000;
// QTcpServer (and so TcpListener) listens with a backlog of 50: more connects at once than
// that and the kernel drops SYNs, which costs a one-second retransmission each.
constexpr int ConnectBatch = 32;

template<typename T>
class Queue
{
public:
    void push(T *object)
    {
        QMutexLocker lock(&m_mutex);
        m_items.push_back(object);
        lock.unlock();
        wakeMain();
    }
    T *take()
    {
        QMutexLocker lock(&m_mutex);
        if (m_items.empty())
            return nullptr;
        T *object = m_items.front();
        m_items.pop_front();
        return object;
    }
    size_t size() const
    {
        QMutexLocker lock(&m_mutex);
        return m_items.size();
    }

private:
    mutable QMutex m_mutex;
    std::deque<T *> m_items;
};

QString errnoText(const char *what)
{
    return QStringLiteral("%1: %2").arg(QLatin1String(what), QString::fromLocal8Bit(std::strerror(errno)));
}

void noDelay(int fd)
{
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

} // namespace

std::vector<std::unique_ptr<rill::Flow>> connectTcpFlows(quint16 port, int count, int timeoutMs)
{
    std::vector<QTcpSocket *> sockets;
    for (int i = 0; i < count; ++i) {
        sockets.push_back(new QTcpSocket);
        sockets.back()->connectToHost(QHostAddress::LocalHost, port);
    }
    spinUntil([&] {
        return std::all_of(sockets.begin(), sockets.end(), [](QTcpSocket *socket) {
            return socket->state() == QAbstractSocket::ConnectedState
                    || socket->state() == QAbstractSocket::UnconnectedState;
        });
    }, timeoutMs);
    std::vector<std::unique_ptr<rill::Flow>> flows;
    for (QTcpSocket *socket : sockets) {
        if (socket->state() == QAbstractSocket::ConnectedState) {
            flows.emplace_back(new rill::TcpFlow(socket));
        } else {
            delete socket;
            flows.emplace_back();
        }
    }
    return flows;
}

std::unique_ptr<rill::Flow> connectLocalFlow(const QString &path, int timeoutMs)
{
    auto *socket = new QLocalSocket;
    socket->connectToServer(path);
    spinUntil([&] {
        return socket->state() == QLocalSocket::ConnectedState || socket->state() == QLocalSocket::UnconnectedState;
    }, timeoutMs);
    if (socket->state() != QLocalSocket::ConnectedState) {
        delete socket;
        return nullptr;
    }
    return std::make_unique<rill::LocalFlow>(socket);
}

void setLowDelay(QTcpSocket *socket)
{
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
}

struct Connector::State
{
    // worker thread
    rill::TcpListener *rillTcp = nullptr;
    rill::LocalListener *rillLocal = nullptr;
    QTcpServer *qtTcp = nullptr;
    QLocalServer *qtLocal = nullptr;
    quint16 rillTcpPort = 0;
    quint16 qtTcpPort = 0;
    QString rillLocalPath;
    QString qtLocalPath;
    Queue<rill::Flow> rillTcpAccepted;
    Queue<rill::Flow> rillLocalAccepted;
    Queue<QTcpSocket> qtTcpAccepted;
    Queue<QLocalSocket> qtLocalAccepted;

    // main thread
    int posixTcp = -1;
    quint16 posixTcpPort = 0;
    int posixUnix = -1;
    QString posixUnixPath;

    // A standing accept(): each accepted flow goes to the queue, then the next accept().
    template<typename Listener, typename FlowType>
    static void acceptLoop(Listener *listener, Queue<rill::Flow> *queue, QObject *context)
    {
        listener->accept().then(context, [listener, queue, context](rill::FlowResult<FlowType> r) {
            if (!r.isOk())
                return; // the listener closed
            queue->push(r.takeFlow().release());
            acceptLoop<Listener, FlowType>(listener, queue, context);
        });
    }
};

Connector::Connector(Env &env) : m_env(env), m_state(std::make_shared<State>())
{
    State *s = m_state.get();
    static int serial = 0; // each part has its own Connector: fresh socket names
    const QString dir = env.tempDir + QStringLiteral("/%1-").arg(++serial);
    QStringList errors;
    env.worker->call([s, dir, &errors, context = env.worker->context()] {
        s->rillTcp = new rill::TcpListener;
        if (!s->rillTcp->listen(QHostAddress::LocalHost, 0))
            errors << QStringLiteral("TcpListener: %1").arg(rill::errorMessage(s->rillTcp->error()));
        s->rillTcpPort = s->rillTcp->serverPort();
        State::acceptLoop<rill::TcpListener, rill::TcpFlow>(s->rillTcp, &s->rillTcpAccepted, context);

        s->rillLocalPath = dir + QStringLiteral("rill.sock");
        s->rillLocal = new rill::LocalListener;
        if (!s->rillLocal->listen(s->rillLocalPath))
            errors << QStringLiteral("LocalListener: %1").arg(rill::errorMessage(s->rillLocal->error()));
        State::acceptLoop<rill::LocalListener, rill::LocalFlow>(s->rillLocal, &s->rillLocalAccepted,
                                                                context);

        s->qtTcp = new QTcpServer;
        s->qtTcp->setMaxPendingConnections(100000);
        if (!s->qtTcp->listen(QHostAddress::LocalHost, 0))
            errors << QStringLiteral("QTcpServer: %1").arg(s->qtTcp->errorString());
        s->qtTcpPort = s->qtTcp->serverPort();
        QObject::connect(s->qtTcp, &QTcpServer::newConnection, context, [s] {
            while (QTcpSocket *socket = s->qtTcp->nextPendingConnection()) {
                socket->setParent(nullptr);
                setLowDelay(socket);
                s->qtTcpAccepted.push(socket);
            }
        });

        s->qtLocalPath = dir + QStringLiteral("qt.sock");
        s->qtLocal = new QLocalServer;
        s->qtLocal->setMaxPendingConnections(100000);
        if (!s->qtLocal->listen(s->qtLocalPath))
            errors << QStringLiteral("QLocalServer: %1").arg(s->qtLocal->errorString());
        QObject::connect(s->qtLocal, &QLocalServer::newConnection, context, [s] {
            while (QLocalSocket *socket = s->qtLocal->nextPendingConnection()) {
                socket->setParent(nullptr);
                s->qtLocalAccepted.push(socket);
            }
        });
    });
    for (const QString &e : errors)
        qWarning("rill-bench: %s", qPrintable(e));

    // POSIX listeners: plain sockets, accepted with a blocking accept() right after connect().
    s->posixTcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof in;
    if (::bind(s->posixTcp, reinterpret_cast<sockaddr *>(&in), sizeof in) != 0
        || ::listen(s->posixTcp, 128) != 0
        || ::getsockname(s->posixTcp, reinterpret_cast<sockaddr *>(&in), &length) != 0)
        qWarning("rill-bench: %s", qPrintable(errnoText("POSIX TCP listener")));
    s->posixTcpPort = ntohs(in.sin_port);

    s->posixUnixPath = dir + QStringLiteral("posix.sock");
    s->posixUnix = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    const QByteArray path = QFile::encodeName(s->posixUnixPath);
    std::memcpy(un.sun_path, path.constData(), size_t(qMin<qsizetype>(path.size(), sizeof un.sun_path - 1)));
    if (::bind(s->posixUnix, reinterpret_cast<sockaddr *>(&un), sizeof un) != 0
        || ::listen(s->posixUnix, 128) != 0)
        qWarning("rill-bench: %s", qPrintable(errnoText("POSIX Unix listener")));
}

Connector::~Connector()
{
    State *s = m_state.get();
    m_env.worker->call([s] {
        delete s->rillTcp;
        delete s->rillLocal;
        delete s->qtTcp;
        delete s->qtLocal;
        while (rill::Flow *f = s->rillTcpAccepted.take())
            delete f;
        while (rill::Flow *f = s->rillLocalAccepted.take())
            delete f;
        while (QTcpSocket *socket = s->qtTcpAccepted.take())
            delete socket;
        while (QLocalSocket *socket = s->qtLocalAccepted.take())
            delete socket;
    });
    ::close(s->posixTcp);
    ::close(s->posixUnix);
    QFile::remove(s->posixUnixPath);
}

FlowPair Connector::rill(Transport transport)
{
    FlowPair pair;
    State *s = m_state.get();
    if (transport == Transport::Pipe) {
        rill::PipeFlow::Pair ends = rill::PipeFlow::createPair();
        ends.second->moveToThread(m_env.worker->thread());
        pair.client = std::move(ends.first);
        pair.server = ends.second.release();
        return pair;
    }
    Queue<rill::Flow> *accepted = transport == Transport::Tcp ? &s->rillTcpAccepted
                                                              : &s->rillLocalAccepted;
    std::unique_ptr<rill::Flow> client;
    if (transport == Transport::Tcp)
        client = std::move(connectTcpFlows(s->rillTcpPort, 1, ConnectTimeoutMs).front());
    else
        client = connectLocalFlow(s->rillLocalPath, ConnectTimeoutMs);
    if (!client || !spinUntil([&] { return accepted->size() > 0; }, ConnectTimeoutMs)) {
        pair.error = QStringLiteral("connecting failed");
        return pair;
    }
    if (client->state() != rill::Flow::State::Open) {
        pair.error = rill::errorMessage(client->error());
        return pair;
    }
    pair.client = std::move(client);
    pair.server = accepted->take();
    return pair;
}

Many<rill::Flow, rill::Flow> Connector::rillTcpMany(int count)
{
    Many<rill::Flow, rill::Flow> many;
    State *s = m_state.get();
    for (int done = 0; done < count;) {
        const int batch = qMin(ConnectBatch, count - done);
        std::vector<std::unique_ptr<rill::Flow>> flows = connectTcpFlows(s->rillTcpPort, batch, ConnectTimeoutMs);
        const bool ok = spinUntil([&] { return s->rillTcpAccepted.size() >= size_t(batch); }, ConnectTimeoutMs);
        for (auto &f : flows) {
            if (f && f->state() == rill::Flow::State::Open)
                many.clients.push_back(std::move(f));
            else if (many.error.isEmpty())
                many.error = f ? rill::errorMessage(f->error()) : QStringLiteral("connecting failed");
        }
        while (rill::Flow *f = s->rillTcpAccepted.take())
            many.servers.push_back(f);
        if (!ok && many.error.isEmpty())
            many.error = QStringLiteral("connecting timed out");
        if (!many.error.isEmpty())
            return many;
        done += batch;
    }
    return many;
}

QtPair<QTcpSocket> Connector::qtTcp()
{
    QtPair<QTcpSocket> pair;
    State *s = m_state.get();
    auto socket = std::make_unique<QTcpSocket>();
    socket->connectToHost(QHostAddress::LocalHost, s->qtTcpPort);
    if (!spinUntil([&] {
            return socket->state() == QAbstractSocket::ConnectedState && s->qtTcpAccepted.size() > 0;
        }, ConnectTimeoutMs)) {
        pair.error = QStringLiteral("QTcpSocket: connecting failed: %1").arg(socket->errorString());
        return pair;
    }
    setLowDelay(socket.get());
    pair.client = std::move(socket);
    pair.server = s->qtTcpAccepted.take();
    return pair;
}

Many<QTcpSocket, QTcpSocket> Connector::qtTcpMany(int count)
{
    Many<QTcpSocket, QTcpSocket> many;
    State *s = m_state.get();
    for (int done = 0; done < count;) {
        const int batch = qMin(ConnectBatch, count - done);
        std::vector<std::unique_ptr<QTcpSocket>> sockets;
        for (int i = 0; i < batch; ++i) {
            sockets.push_back(std::make_unique<QTcpSocket>());
            sockets.back()->connectToHost(QHostAddress::LocalHost, s->qtTcpPort);
        }
        const bool ok = spinUntil([&] {
            for (const auto &socket : sockets) {
                if (socket->state() != QAbstractSocket::ConnectedState)
                    return false;
            }
            return s->qtTcpAccepted.size() >= size_t(batch);
        }, ConnectTimeoutMs);
        for (auto &socket : sockets) {
            setLowDelay(socket.get());
            many.clients.push_back(std::move(socket));
        }
        while (QTcpSocket *socket = s->qtTcpAccepted.take())
            many.servers.push_back(socket);
        if (!ok) {
            many.error = QStringLiteral("QTcpSocket: connecting timed out");
            return many;
        }
        done += batch;
    }
    return many;
}

QtPair<QLocalSocket> Connector::qtLocal()
{
    QtPair<QLocalSocket> pair;
    State *s = m_state.get();
    auto socket = std::make_unique<QLocalSocket>();
    socket->connectToServer(s->qtLocalPath);
    if (!spinUntil([&] {
            return socket->state() == QLocalSocket::ConnectedState && s->qtLocalAccepted.size() > 0;
        }, ConnectTimeoutMs)) {
        pair.error = QStringLiteral("QLocalSocket: connecting failed: %1").arg(socket->errorString());
        return pair;
    }
    pair.client = std::move(socket);
    pair.server = s->qtLocalAccepted.take();
    return pair;
}

PosixPair Connector::posix(Transport transport)
{
    PosixPair pair;
    State *s = m_state.get();
    int listener = -1;
    if (transport == Transport::Tcp) {
        pair.client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in.sin_port = htons(s->posixTcpPort);
        if (::connect(pair.client, reinterpret_cast<sockaddr *>(&in), sizeof in) != 0) {
            pair.error = errnoText("POSIX connect");
            closePair(pair);
            return pair;
        }
        listener = s->posixTcp;
    } else {
        pair.client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        const QByteArray path = QFile::encodeName(s->posixUnixPath);
        std::memcpy(un.sun_path, path.constData(), size_t(path.size()));
        if (::connect(pair.client, reinterpret_cast<sockaddr *>(&un), sizeof un) != 0) {
            pair.error = errnoText("POSIX connect");
            closePair(pair);
            return pair;
        }
        listener = s->posixUnix;
    }
    pair.server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (pair.server < 0) {
        pair.error = errnoText("POSIX accept");
        closePair(pair);
        return pair;
    }
    if (transport == Transport::Tcp) {
        noDelay(pair.client);
        noDelay(pair.server);
    }
    return pair;
}

void Connector::closePair(PosixPair &pair)
{
    if (pair.client >= 0)
        ::close(pair.client);
    if (pair.server >= 0)
        ::close(pair.server);
    pair.client = pair.server = -1;
}

} // namespace bench
