// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Soak: many flows at once, for a while, in one process.
//
// 1000 flows (500 TCP over loopback, 500 over a Unix socket; RILL_SOAK_FLOWS to change) connect
// with rill::connectTo to a TcpListener and a LocalListener living in a second thread, whose
// accepted flows echo what they read (a read/write loop, each write awaited). Every client
// writes random bytes (write() and writev(), 1 B to 16 KiB, at most Window bytes unechoed) for
// RILL_SOAK_SECONDS (default 15) and checks every byte that comes back against what it sent.
// Then each client closes, the echo sees Eof and closes too, and the client sees Eof with
// nothing missing.
//
// Checked: no byte lost, duplicated, reordered or changed; every flow moved data; every future
// finished; no descriptor leaked; resident memory did not grow between a sample taken after a
// warm-up and one at the end (both with the traffic paused and every byte echoed).
//
// Set RILL_SOAK_SEED to replay a run's random choices (the seed is printed).
#include "../shared/sockettest.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QMutex>
#include <QtCore/QRandomGenerator>
#include <QtTest/QtTest>

#include <atomic>
#include <malloc.h>
#include <sys/resource.h>

using namespace sockettest;

namespace {

constexpr qint64 Window = 16 * KiB;  // bytes a client may have written and not seen back yet
constexpr int ConnectBatch = 40;     // connections opened at once (below the listen backlogs)
constexpr qint64 GrowthLimit = 16 * MiB;

// What each open descriptor is ("5 -> socket:[123]"), for failure messages.
QStringList descriptorTargets()
{
    QStringList targets;
    const QDir fds(QStringLiteral("/proc/self/fd"));
    for (const QString &name : fds.entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot))
        targets << name + QStringLiteral(" -> ") + QFile::symLinkTarget(fds.filePath(name));
    return targets;
}

int positiveEnv(const char *name, int fallback)
{
    bool ok = false;
    const int value = qEnvironmentVariableIntValue(name, &ok);
    return ok && value > 0 ? value : fallback;
}

// The echo side: the listeners and every flow they accept, all in the thread this object lives
// in. Counters are read from the test's thread.
class EchoServer : public QObject
{
public:
    std::atomic_int accepted = 0;
    std::atomic_int ended = 0;  // echoes that read Eof and whose close() resolved
    std::atomic<qint64> bytes = 0;

    // In the server's thread.
    bool listen(const QString &path, QString *why)
    {
        m_tcp = std::make_unique<rill::TcpListener>();
        m_local = std::make_unique<rill::LocalListener>();
        if (!m_tcp->listen(QHostAddress::LocalHost, 0)) {
            *why = rill::errorMessage(m_tcp->error());
            return false;
        }
        if (!m_local->listen(path)) {
            *why = rill::errorMessage(m_local->error());
            return false;
        }
        tcpEndpoint = m_tcp->endpoint().toString();
        localEndpoint = m_local->endpoint().toString();
        acceptNext<rill::TcpListener, rill::TcpFlow>(m_tcp.get());
        acceptNext<rill::LocalListener, rill::LocalFlow>(m_local.get());
        return true;
    }

    // In the server's thread: pending accepts finish (Closed); the echoes go on.
    void stopListening()
    {
        m_tcp->close();
        m_local->close();
    }

    // In the server's thread, once every echo ended.
    void destroyFlows()
    {
        m_flows.clear();
        m_tcp.reset();
        m_local.reset();
    }

    int flowsOpen() const // in the server's thread
    {
        int open = 0;
        for (const auto &flow : m_flows)
            open += flow->state() != rill::Flow::State::Closed;
        return open;
    }

    QString failure() const
    {
        QMutexLocker locker(&m_mutex);
        return m_failure;
    }

    QString tcpEndpoint;
    QString localEndpoint;

private:
    void fail(const QString &what)
    {
        QMutexLocker locker(&m_mutex);
        if (m_failure.isEmpty())
            m_failure = what;
    }

    template<typename Listener, typename FlowType>
    void acceptNext(Listener *listener)
    {
        listener->accept().then(this, [this, listener](rill::FlowResult<FlowType> result) {
            if (!result.isOk()) {
                if (result.error().kind() != rill::Error::Kind::Closed)
                    fail(QStringLiteral("accept failed: ") + rill::errorMessage(result.error()));
                return;
            }
            rill::Flow *flow = result.takeFlow().release();
            m_flows.emplace_back(flow);
            ++accepted;
            echo(flow);
            acceptNext<Listener, FlowType>(listener);
        });
    }

    void echo(rill::Flow *flow)
    {
        flow->read().then(this, [this, flow](const rill::ReadResult &read) {
            if (read.isData()) {
                bytes += read.data().size();
                flow->write(read.data()).then(this, [this, flow](const rill::WriteResult &write) {
                    if (write.isOk())
                        echo(flow);
                    else
                        fail(QStringLiteral("an echo's write gave ") + rilltest::debugString(write));
                });
            } else if (read.isEof()) {
                flow->close().then(this, [this](const rill::CloseResult &) { ++ended; });
            } else {
                fail(QStringLiteral("an echo's read gave ") + rilltest::debugString(read));
            }
        });
    }

    std::unique_ptr<rill::TcpListener> m_tcp;
    std::unique_ptr<rill::LocalListener> m_local;
    std::vector<std::unique_ptr<rill::Flow>> m_flows;
    mutable QMutex m_mutex;
    QString m_failure;
};

// The writing, checking side, in the test's thread.
class Clients : public QObject
{
public:
    struct Client
    {
        int index = 0;
        std::unique_ptr<rill::Flow> flow;
        QByteArray expected; // written, not echoed yet
        qint64 verified = 0; // bytes echoed and checked
        bool writing = false;
        bool inPump = false;
        bool again = false;
        bool closing = false;
        bool eof = false;
        bool closed = false;
    };

    explicit Clients(quint32 seed) : m_random(seed)
    {
        m_block.resize(1 * MiB);
        for (qsizetype i = 0; i < m_block.size(); i += 4) {
            const quint32 word = m_random.generate();
            memcpy(m_block.data() + i, &word, 4);
        }
    }

    std::vector<std::unique_ptr<Client>> clients;
    bool paused = false;
    bool stopping = false;
    bool gone = false; // the flows are being destroyed: continuations do nothing
    qint64 writes = 0;
    qint64 writevs = 0;
    qint64 reads = 0;
    qint64 bytes = 0;
    QString failure;

    void add(std::unique_ptr<rill::Flow> flow)
    {
        auto client = std::make_unique<Client>();
        client->index = int(clients.size());
        client->flow = std::move(flow);
        clients.push_back(std::move(client));
    }

    void start()
    {
        for (const auto &client : clients) {
            readNext(client.get());
            pump(client.get());
        }
    }

    void resume()
    {
        paused = false;
        for (const auto &client : clients)
            pump(client.get());
    }

    void stop()
    {
        stopping = true;
        for (const auto &client : clients)
            pump(client.get());
    }

    // Nothing is being written and every byte came back.
    bool quiet() const
    {
        for (const auto &client : clients) {
            if (client->writing || !client->expected.isEmpty())
                return false;
        }
        return true;
    }

    bool allEnded() const
    {
        for (const auto &client : clients) {
            if (!client->eof || !client->closed)
                return false;
        }
        return true;
    }

private:
    void fail(const Client *client, const QString &what)
    {
        if (failure.isEmpty())
            failure = QStringLiteral("client %1 (%2): %3")
                          .arg(client->index)
                          .arg(client->flow->transportName(), what);
    }

    qsizetype randomSize()
    {
        const quint32 roll = m_random.bounded(100u);
        if (roll < 60)
            return 1 + qsizetype(m_random.bounded(256u));
        if (roll < 95)
            return 1 + qsizetype(m_random.bounded(4096u));
        return 1 + qsizetype(m_random.bounded(16384u));
    }

    QByteArray randomBytes(qsizetype size)
    {
        const qsizetype offset = qsizetype(m_random.bounded(quint32(m_block.size() - size)));
        return m_block.mid(offset, size);
    }

    void readNext(Client *client)
    {
        client->flow->read().then(this, [this, client](const rill::ReadResult &result) {
            if (gone)
                return;
            if (result.isData()) {
                const QByteArray data = result.data();
                ++reads;
                if (data.isEmpty()) {
                    fail(client, QStringLiteral("a read resolved with zero bytes"));
                } else if (data.size() > client->expected.size()
                           || memcmp(data.constData(), client->expected.constData(),
                                     size_t(data.size()))
                                   != 0) {
                    fail(client, QStringLiteral("the %1 bytes echoed at offset %2 are not those "
                                                "sent (%3 bytes unechoed)")
                                         .arg(data.size())
                                         .arg(client->verified)
                                         .arg(client->expected.size()));
                    return;
                }
                client->expected.remove(0, data.size());
                client->verified += data.size();
                bytes += data.size();
                pump(client);
                readNext(client);
            } else if (result.isEof()) {
                client->eof = true;
                if (!client->closing)
                    fail(client, QStringLiteral("Eof before the client closed"));
                if (!client->expected.isEmpty())
                    fail(client, QStringLiteral("Eof with %1 bytes never echoed")
                                         .arg(client->expected.size()));
            } else {
                fail(client, QStringLiteral("a read gave ") + rilltest::debugString(result));
            }
        });
    }

    // Writes while the window allows; iterative, because a continuation may run at once.
    void pump(Client *client)
    {
        if (client->inPump) {
            client->again = true;
            return;
        }
        client->inPump = true;
        do {
            client->again = false;
            if (client->writing || client->closing || !failure.isEmpty())
                break;
            if (stopping) {
                client->closing = true;
                client->flow->close().then(this, [this, client](const rill::CloseResult &) {
                    if (!gone)
                        client->closed = true;
                });
                break;
            }
            if (paused || client->expected.size() >= Window)
                break;
            QFuture<rill::WriteResult> future;
            if (m_random.bounded(100u) < 15) {
                QList<QByteArray> buffers;
                const int count = 2 + int(m_random.bounded(3u));
                for (int i = 0; i < count; ++i) {
                    const QByteArray buffer
                            = m_random.bounded(8u) == 0 ? QByteArray() : randomBytes(randomSize() / 2 + 1);
                    client->expected += buffer;
                    buffers.append(buffer);
                }
                ++writevs;
                future = client->flow->writev(buffers);
            } else {
                const QByteArray buffer = randomBytes(randomSize());
                client->expected += buffer;
                ++writes;
                future = client->flow->write(buffer);
            }
            client->writing = true;
            future.then(this, [this, client](const rill::WriteResult &result) {
                if (gone)
                    return;
                client->writing = false;
                if (!result.isOk())
                    fail(client, QStringLiteral("a write gave ") + rilltest::debugString(result));
                pump(client);
            });
        } while (client->again);
        client->inPump = false;
    }

    QRandomGenerator m_random;
    QByteArray m_block; // random bytes that writes copy from
};

} // namespace

class tst_Soak : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void echoManyFlows();
};

void tst_Soak::echoManyFlows()
{
    const int total = positiveEnv("RILL_SOAK_FLOWS", 1000);
    const int seconds = positiveEnv("RILL_SOAK_SECONDS", 15);
    const quint32 seed = qEnvironmentVariableIsSet("RILL_SOAK_SEED")
            ? quint32(qEnvironmentVariableIntValue("RILL_SOAK_SEED"))
            : QRandomGenerator::global()->generate();
    qInfo("%d flows (%d TCP, %d Unix), %d s, RILL_SOAK_SEED=%u", total, total / 2,
          total - total / 2, seconds, seed);

    // Each connection holds two descriptors here (client and echo), three for a moment while a
    // connecting socket is taken over. Raise the soft limit to the hard one if needed.
    const rlim_t needed = rlim_t(2 * total + 1000);
    rlimit limit{};
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed)
            QSKIP(qPrintable(QStringLiteral("%1 flows need %2 descriptors; the hard limit "
                                            "(ulimit -Hn) is %3")
                                     .arg(total)
                                     .arg(needed)
                                     .arg(limit.rlim_max)));
        const rlim_t old = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? qMax<rlim_t>(needed, 65536)
                                                         : limit.rlim_max;
        QVERIFY2(::setrlimit(RLIMIT_NOFILE, &limit) == 0, strerror(errno));
        qInfo("raised the descriptor limit from %llu to %llu", (unsigned long long)old,
              (unsigned long long)limit.rlim_cur);
    }

    QTemporaryDir dir;
    QVERIFY2(dir.isValid(), qPrintable(dir.errorString()));
    rilltest::WorkerThread worker("rill-soak-echo");
    // Its event dispatcher (an eventfd) and both threads' reactors exist before the count.
    bool warm = warmUpReactor();
    worker.call([&] { warm = warm && warmUpReactor(); });
    QVERIFY(warm);
    const int descriptorsBefore = openDescriptorCount();
    const QStringList targetsBefore = descriptorTargets();

    EchoServer *server = nullptr;
    QString why;
    bool listening = false;
    worker.call([&] {
        server = new EchoServer;
        listening = server->listen(dir.filePath(QStringLiteral("echo.sock")), &why);
    });
    auto destroyServer = qScopeGuard([&] {
        worker.call([&] {
            server->stopListening();
            QCoreApplication::processEvents(); // the accepts' continuations see Closed
            server->destroyFlows();
            delete server;
        });
    });
    QVERIFY2(listening, qPrintable(why));

    Clients clients(seed);
    auto destroyClients = qScopeGuard([&] {
        clients.gone = true;
        clients.clients.clear();
    });
    QElapsedTimer clock;
    clock.start();

    // Connect in batches, TCP and Unix alternating.
    for (int first = 0; first < total; first += ConnectBatch) {
        QList<QFuture<rill::FlowResult<rill::Flow>>> batch;
        for (int i = first; i < qMin(total, first + ConnectBatch); ++i) {
            const QString endpoint = i % 2 == 0 ? server->tcpEndpoint : server->localEndpoint;
            batch.append(rill::connectTo(rill::Endpoint::parse(endpoint)));
        }
        for (auto &future : batch) {
            QVERIFY2(rilltest::waitFor(future), "a connect never finished");
            auto result = future.result();
            QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
            clients.add(result.takeFlow());
        }
    }
    QVERIFY2(runUntil([&] { return server->accepted.load() == total; }),
             qPrintable(QStringLiteral("the listeners accepted %1 of %2 connections")
                                .arg(server->accepted.load())
                                .arg(total)));
    const qint64 connectMs = clock.elapsed();
    qInfo("%d connections open after %lld ms; %d descriptors open", total, connectMs,
          openDescriptorCount());

    auto failed = [&] { return !clients.failure.isEmpty() || !server->failure().isEmpty(); };
    auto failureText = [&] {
        return QStringLiteral("client side: %1; echo side: %2")
                .arg(clients.failure.isEmpty() ? QStringLiteral("fine") : clients.failure,
                     server->failure().isEmpty() ? QStringLiteral("fine") : server->failure());
    };
    // Pauses the writers and waits until every byte came back, then samples memory.
    auto quietResident = [&](const char *when) -> qint64 {
        clients.paused = true;
        if (!runUntil([&] { return clients.quiet() || failed(); }, 60s) || failed())
            return -1;
        ::malloc_trim(0);
        const qint64 resident = residentBytes();
        qInfo("%s: %lld bytes echoed, RSS %lld KiB", when, clients.bytes, resident / KiB);
        return resident;
    };

    // Warm-up: every flow, queue and allocator pool reaches its working size. Half the run:
    // the allocator's slack keeps growing for several seconds at full speed (a 15 s run with a
    // 3 s warm-up saw 16 MiB more by its end, a 45 s run with 9 s less than 1 MiB).
    clock.restart();
    clients.start();
    const qint64 warmUp = qMax<qint64>(1000, seconds * 1000 / 2);
    QVERIFY2(runUntil([&] { return clock.elapsed() >= warmUp || failed(); }, 60s),
             "the warm-up never ended");
    QVERIFY2(!failed(), qPrintable(failureText()));
    const qint64 residentWarm = quietResident("after the warm-up");
    QVERIFY2(residentWarm > 0, qPrintable(failureText()));
    const qint64 bytesWarm = clients.bytes;
    const qint64 operationsWarm = clients.writes + clients.writevs + clients.reads;

    clients.resume();
    QVERIFY2(runUntil([&] { return clock.elapsed() >= seconds * 1000 || failed(); },
                      std::chrono::seconds(seconds + 60)),
             "the run never ended");
    QVERIFY2(!failed(), qPrintable(failureText()));
    const qint64 residentEnd = quietResident("at the end");
    QVERIFY2(residentEnd > 0, qPrintable(failureText()));
    const qint64 runMs = clock.elapsed();
    const qint64 operations = clients.writes + clients.writevs + clients.reads - operationsWarm;

    // Every flow moved data.
    qint64 least = std::numeric_limits<qint64>::max();
    qint64 most = 0;
    for (const auto &client : clients.clients) {
        least = qMin(least, client->verified);
        most = qMax(most, client->verified);
    }
    qInfo("%lld MiB echoed in %lld ms (%.1f MiB/s), %lld writes, %lld writevs, %lld reads; "
          "per flow %lld to %lld bytes",
          clients.bytes / MiB, runMs, double(clients.bytes) / MiB / (double(runMs) / 1000),
          clients.writes, clients.writevs, clients.reads, least, most);
    QVERIFY2(least > 0, "a flow never echoed anything");
    QCOMPARE(server->bytes.load(), clients.bytes);

    // No growth. Both samples are taken with the traffic paused and every byte echoed, after
    // malloc_trim(0): no data is in flight and every queue is empty, so what is resident is the
    // steady state of 2 x 1000 idle flows (their objects, notifiers, one pending read each)
    // plus allocator slack. Between the samples the run moved clients.bytes - bytesWarm bytes
    // in `operations` operations; a leak of a few hundred bytes per operation (a promise, a
    // buffer, a continuation) would exceed 16 MiB, while the allocator's slack from up to
    // 1000 x Window (16 MiB) of data in flight at once, which malloc_trim cannot always hand
    // back (fragmented pages), stays well below it.
    const qint64 growth = residentEnd - residentWarm;
    qInfo("RSS growth over the run: %lld KiB (limit %lld KiB%s); %lld operations, %lld bytes, "
          "so a leak of %lld bytes per operation would fail",
          growth / KiB, GrowthLimit / KiB, rilltest::Sanitized ? ", not checked under AddressSanitizer" : "",
          operations, clients.bytes - bytesWarm, operations > 0 ? GrowthLimit / operations : -1);
    if (!rilltest::Sanitized)
        QVERIFY2(growth < GrowthLimit,
                 qPrintable(QStringLiteral("resident memory grew by %1 KiB over the run")
                                    .arg(growth / KiB)));

    // Every client closes; every echo reads Eof and closes; every client reads Eof.
    clients.stop();
    QVERIFY2(runUntil([&] { return (clients.allEnded() && server->ended.load() == total)
                                   || failed(); },
                      60s),
             qPrintable(QStringLiteral("%1 of %2 echoes ended").arg(server->ended.load()).arg(total)));
    QVERIFY2(!failed(), qPrintable(failureText()));
    int open = -1;
    worker.call([&] { open = server->flowsOpen(); });
    QCOMPARE(open, 0);
    for (const auto &client : clients.clients)
        QCOMPARE(client->flow->state(), rill::Flow::State::Closed);

    // No descriptor left behind.
    destroyClients.dismiss();
    clients.gone = true;
    clients.clients.clear();
    destroyServer.dismiss();
    worker.call([&] {
        server->stopListening();
        QCoreApplication::processEvents();
        server->destroyFlows();
        delete server;
    });
    worker.call([] { QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete); });
    deleteDeferred();
    const int descriptorsAfter = openDescriptorCount();
    QVERIFY2(descriptorsAfter == descriptorsBefore,
             qPrintable(QStringLiteral("descriptors leaked: %1 open before, %2 after\n"
                                       "  before: %3\n  after: %4")
                                .arg(descriptorsBefore)
                                .arg(descriptorsAfter)
                                .arg(targetsBefore.join(QStringLiteral(", ")),
                                     descriptorTargets().join(QStringLiteral(", ")))));
}

QTEST_GUILESS_MAIN(tst_Soak)
#include "tst_soak.moc"
