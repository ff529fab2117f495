// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Connected pairs for every contender: the client end lives in the main thread, the server end
// in the worker thread. Listeners are made once and live in the worker thread.

#include "bench.h"

#include <rill/flow.h>

#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QTcpSocket>

namespace bench {

enum class Transport { Tcp, Local, Pipe };

struct FlowPair
{
    std::unique_ptr<rill::Flow> client; // main thread
    rill::Flow *server = nullptr;       // worker thread
    QString error;
    explicit operator bool() const { return client && server; }
};

template<typename Socket>
struct QtPair
{
    std::unique_ptr<Socket> client; // main thread
    Socket *server = nullptr;       // worker thread
    QString error;
    explicit operator bool() const { return client && server; }
};

template<typename Client, typename Server>
struct Many
{
    std::vector<std::unique_ptr<Client>> clients; // main thread
    std::vector<Server *> servers;                // worker thread
    QString error;
};

struct PosixPair
{
    int client = -1;
    int server = -1;
    QString error;
    explicit operator bool() const { return client >= 0 && server >= 0; }
};

class Connector
{
public:
    explicit Connector(Env &env);
    ~Connector();

    // Rill flows over TCP, a Unix socket or in memory (PipeFlow).
    FlowPair rill(Transport transport);
    // Many TCP connections at once, connected in batches the listen backlog can take. The
    // server ends are not in the clients' order.
    Many<rill::Flow, rill::Flow> rillTcpMany(int count);
    QtPair<QTcpSocket> qtTcp();
    Many<QTcpSocket, QTcpSocket> qtTcpMany(int count);
    QtPair<QLocalSocket> qtLocal();
    PosixPair posix(Transport transport); // Tcp or Local; both ends blocking

    // Deletes both ends of many connections, each in its own thread.
    template<typename C, typename S>
    void destroyMany(Many<C, S> &many)
    {
        many.clients.clear();
        m_env.worker->call([&many] { qDeleteAll(many.servers); });
        many.servers.clear();
    }
    static void closePair(PosixPair &pair);

private:
    struct State;
    Env &m_env;
    std::shared_ptr<State> m_state; // shared with lambdas in the worker thread
};

// Client flows over sockets connected first and then wrapped (TcpFlow(QTcpSocket *), a public
// way in); setup is never timed. Spins the main loop until every socket is connected; null
// entries for those that did not connect within timeoutMs.
std::vector<std::unique_ptr<rill::Flow>> connectTcpFlows(quint16 port, int count, int timeoutMs);
std::unique_ptr<rill::Flow> connectLocalFlow(const QString &path, int timeoutMs);

// TCP_NODELAY on a Qt socket (Rill's flows have it on by default).
void setLowDelay(QTcpSocket *socket);
inline void setLowDelay(QLocalSocket *) {}

} // namespace bench
