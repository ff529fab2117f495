// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The model-based random test of the Flow contract.
//
// Each sequence takes a connected pair from a factory (PipeFlow, a loopback TCP connection made
// by TcpListener and TcpFlow::connectToHost, a Unix socket connection made by LocalListener and
// LocalFlow::connectToServer), applies random operations to both
// ends (read and write with and without deadlines, writev, cancelling a pending read or a
// waiting write, shutdown(Read/Write/ReadWrite), close, abort, destroy, setHighWaterMark, and
// random amounts of event processing in between), checks every result and every signal
// against a small reference model of the contract as it arrives, then drains: both ends read
// to their end and close, every future must finish, and for each direction nothing disrupted,
// the reader must have read exactly what the writer's accepted writes held, less what close()
// said it discarded.
//
// Reproducing a failure: the failure message prints the seed of the failing sequence; run
//   RILL_MODEL_TRANSPORT=<transport> RILL_MODEL_SEED=<seed> RILL_MODEL_SEQUENCES=1 tst_modelcheck
// RILL_MODEL_SEED alone picks the first sequence's seed (sequence i uses seed + i);
// RILL_MODEL_SEQUENCES the number of sequences per transport (default: each factory's
// defaultSequences(), a fixed budget that keeps one ctest run well under a minute);
// RILL_MODEL_TRANSPORT a comma-separated list of the transports to run (pipe, tcp, unix, example:
// the example TransportFlow of docs/examples/transport, tls: TlsFlow pairs over PipeFlow;
// default all). The first seed is printed
// at the start, so a crash can be replayed too: the same seed
// crashes in the same sequence (for sockets, timing may differ between runs; a replay usually,
// not always, fails the same way).
//
// Where sockets differ from PipeFlow, the model states only what the contract promises for
// both; each relaxation is a FlowPairFactory property, explained in SocketPairFactory.
//
// Adding a transport: implement FlowPairFactory, add it to makeFactory() and a row to
// randomSequences_data().
#include "../shared/rng.h"
#include "../shared/testutil.h"

#include "../../../docs/examples/transport/queuetransport.h"

#include <rill/flow.h>
#include <rill/listener.h>
#include <rill/localflow.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>
#include <rill/tlsflow.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QElapsedTimer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QSslKey>
#include <QtTest/QtTest>

#include <algorithm>
#include <cstring>
#include <sys/socket.h>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

using rill::CloseResult;
using rill::Error;
using rill::Flow;
using rill::FlowStats;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

namespace {


// ---------------------------------------------------------------------------------------------
// The transport under test.

using FlowPair = std::pair<std::unique_ptr<Flow>, std::unique_ptr<Flow>>;

class FlowPairFactory
{
public:
    virtual ~FlowPairFactory() = default;
    virtual QString name() const = 0;
    // A connected pair, both ends living in the calling thread (which runs their event loop).
    // bufferSize: the per-direction buffer, for transports that have such a knob; <= 0 means
    // the transport's default. Returns a null pair on failure, and says why in lastError().
    virtual FlowPair createPair(qint64 bufferSize) = 0;
    virtual QString lastError() const { return {}; }
    // Whether bufferSize means anything to this transport.
    virtual bool hasBufferSize() const = 0;
    // Sequences per ctest run, unless RILL_MODEL_SEQUENCES says otherwise.
    virtual int defaultSequences() const = 0;

    // What an end sees when its peer is aborted or destroyed while open (the model's
    // relaxations; PipeFlow promises the most, sockets less: see SocketPairFactory).
    //
    // Whether the end notices by itself: its state becomes Closed even when it does not read
    // or write. When false, only what the contract promises is required: pending and later
    // reads and writes finish (Reset, Eof or Aborted), and the drain ends everything.
    virtual bool peerResetNoticedWithoutIo() const { return true; }
    // Whether reads may end with Eof instead of an error of kind Reset, although the peer
    // never shut its write side (the bytes it had queued are lost all the same).
    virtual bool peerResetMayReadAsEof() const { return false; }
};

class PipePairFactory final : public FlowPairFactory
{
public:
    QString name() const override { return QStringLiteral("pipe"); }
    FlowPair createPair(qint64 bufferSize) override
    {
        auto [a, b] = bufferSize > 0 ? PipeFlow::createPair(bufferSize) : PipeFlow::createPair();
        return {std::move(a), std::move(b)};
    }
    bool hasBufferSize() const override { return true; }
    int defaultSequences() const override { return 10000; }
};

// TLS over a PipeFlow pair (client A, server B), handed over once both are encrypted: a TlsFlow
// is a flow, so the model holds for it. Aborting an end aborts its wire, so the peer sees the
// PipeFlow's reset, but only once it reads or writes (its wire is read only while it wants
// bytes), as for sockets. The certificate is made once with the openssl command.
class TlsPairFactory final : public FlowPairFactory
{
public:
    QString name() const override { return QStringLiteral("tls"); }
    FlowPair createPair(qint64 bufferSize) override
    {
        if (!makeCertificate())
            return {};
        auto [a, b] = bufferSize > 0 ? PipeFlow::createPair(bufferSize) : PipeFlow::createPair();
        auto client = std::make_unique<rill::TlsFlow>(a.release(), rill::TlsFlow::Mode::Client,
                                                      m_client, QStringLiteral("localhost"));
        auto server = std::make_unique<rill::TlsFlow>(b.release(), rill::TlsFlow::Mode::Server,
                                                      m_server);
        if (!QTest::qWaitFor([&] { return client->isEncrypted() && server->isEncrypted(); },
                             10000)) {
            m_error = QStringLiteral("no handshake: ") + rill::errorMessage(client->error());
            return {};
        }
        return {std::move(client), std::move(server)};
    }
    QString lastError() const override { return m_error; }
    bool hasBufferSize() const override { return true; }
    int defaultSequences() const override { return 200; }
    bool peerResetNoticedWithoutIo() const override { return false; }

private:
    bool makeCertificate()
    {
        if (!m_server.privateKey().isNull())
            return true;
        QProcess openssl;
        openssl.setWorkingDirectory(m_dir.path());
        openssl.start(QStringLiteral("openssl"),
                      QStringLiteral("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                                     "-keyout key.pem -out cert.pem -days 30 -subj /CN=localhost "
                                     "-addext subjectAltName=DNS:localhost")
                              .split(QLatin1Char(' ')));
        QFile key(m_dir.filePath(QStringLiteral("key.pem")));
        const QList<QSslCertificate> certs =
                openssl.waitForFinished(60000) && openssl.exitCode() == 0
                        ? QSslCertificate::fromPath(m_dir.filePath(QStringLiteral("cert.pem")))
                        : QList<QSslCertificate>();
        if (certs.isEmpty() || !key.open(QIODevice::ReadOnly)) {
            m_error = QStringLiteral("openssl req failed: ")
                    + QString::fromLocal8Bit(openssl.readAllStandardError());
            return false;
        }
        m_server = QSslConfiguration::defaultConfiguration();
        m_server.setLocalCertificate(certs.first());
        m_server.setPrivateKey(QSslKey(key.readAll(), QSsl::Ec));
        m_client = QSslConfiguration::defaultConfiguration();
        m_client.setCaCertificates(certs); // the self-signed certificate is the one authority
        return !m_server.privateKey().isNull();
    }

    QTemporaryDir m_dir;
    QSslConfiguration m_server, m_client;
    QString m_error;
};

// The example transport of docs/examples/transport, written against rill/transport.h alone: a
// TransportFlow is a flow, so the model holds for it as for PipeFlow.
class ExamplePairFactory final : public FlowPairFactory
{
public:
    QString name() const override { return QStringLiteral("example"); }
    FlowPair createPair(qint64 bufferSize) override
    {
        example::QueuePair pair = bufferSize > 0 ? example::createQueuePair(bufferSize)
                                                 : example::createQueuePair();
        return {std::move(pair.a), std::move(pair.b)};
    }
    bool hasBufferSize() const override { return true; }
    int defaultSequences() const override { return 10000; }
};

// Real connections over loopback. A is the connecting end, B the accepted one.
//
// bufferSize: the model's stand-in for the kernel's socket buffers, so here it sets the
// kernel's own send buffer, SO_SNDBUF, on both ends (the kernel doubles the value and clamps
// it to its minimum, 4.5 KiB for TCP). Small buffers make the send queue, not the kernel, hold
// the bytes, so backpressure and partial sends happen often. It is not the high-water mark:
// that the model sets itself, as for pipes. Not SO_RCVBUF: a TCP receive buffer of a few KiB
// (window below one MSS of 64 KiB on loopback) makes the sender wait for the 200 ms persist
// timer between segments, about 16 KB/s; a drain of a megabyte then outlasts the deadline,
// and that is the kernel's silly-window avoidance, not anything of Rill's.
//
// Where the model had to say less for sockets than for PipeFlow, and why (flow.h and the
// README promise these; PipeFlow happens to promise more):
//
//  1. peerResetNoticedWithoutIo() is false. A PipeFlow end is told at once when its peer goes
//     (the shared channel wakes it). A socket end learns of a peer's reset only from the
//     kernel, when it reads or writes: with its read-ahead full (64 KiB unread, no read
//     pending), or after the peer's FIN (no more reading), and nothing queued to send, it
//     stays Open until the next read, write, shutdown or close. The contract ("abort(): the
//     peer sees a reset") speaks of what the peer's operations give, not of its state when
//     idle, so the model requires only that: pending reads and writes finish, the drain
//     (reading to the end and close()) ends and closes everything.
//  2. peerResetMayReadAsEof() is true for Unix sockets. AF_UNIX has no reset: closing a Unix
//     socket, with SO_LINGER 0 or not, tells the peer "end of stream" (recv() returns 0) unless
//     the closing end had unread bytes (then ECONNRESET), and the peer's writes get EPIPE
//     (Eof). So after a LocalFlow's abort() or destruction its peer's reads may end with Eof,
//     having lost whatever the aborted end still queued. The model still checks every byte
//     that was read against the stream, and that reads end (Eof or Reset) and never give data
//     afterwards. TCP keeps the strict rule: a peer that did not shut its write side must give
//     a reset, never Eof (an RST, ECONNRESET; EPIPE only in CLOSE_WAIT, where the peer's FIN
//     came first and Eof is right anyway).
//  3. Nothing about timing: acceptance into the send queue is decided by the flow (the queue
//     against the high-water mark), not by the transport, so the model's "a write above the
//     mark waits, a write below it is accepted at once" holds for sockets unchanged; when the
//     kernel takes the bytes is only watched through writeSent/dataSent and stats, which the
//     model already checks against "eventually" and "in order", never "at once".
class SocketPairFactory : public FlowPairFactory
{
public:
    FlowPair createPair(qint64 bufferSize) override
    {
        m_error.clear();
        FlowPair pair = connectPair();
        if (!pair.first || !pair.second)
            return {};
        if (bufferSize > 0) {
            for (Flow *flow : {pair.first.get(), pair.second.get()})
                setKernelBuffers(flow, int(bufferSize));
        }
        return pair;
    }
    QString lastError() const override { return m_error; }
    bool hasBufferSize() const override { return true; }
    int defaultSequences() const override { return 1000; }
    bool peerResetNoticedWithoutIo() const override { return false; }

protected:
    virtual FlowPair connectPair() = 0;
    virtual void setKernelBuffers(Flow *flow, int bytes) = 0;

    static void setSendBuffer(qintptr descriptor, int bytes)
    {
        if (descriptor >= 0)
            ::setsockopt(int(descriptor), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }

    // Waits for both futures of a connection; takes the flows or says why not.
    template<typename FlowType>
    bool take(const QFuture<rill::FlowResult<FlowType>> &connecting,
              const QFuture<rill::FlowResult<FlowType>> &accepting, std::unique_ptr<FlowType> *a,
              std::unique_ptr<FlowType> *b)
    {
        if (!waitFor(connecting) || !waitFor(accepting)) {
            m_error = QStringLiteral("connecting or accepting did not finish in time");
            return false;
        }
        rill::FlowResult<FlowType> c = connecting.result();
        rill::FlowResult<FlowType> d = accepting.result();
        if (!c.isOk() || !d.isOk()) {
            m_error = QStringLiteral("connecting gave %1, accepting %2")
                              .arg(rill::errorMessage(c.error()), rill::errorMessage(d.error()));
            return false;
        }
        *a = c.takeFlow();
        *b = d.takeFlow();
        return true;
    }

    QString m_error;
};

class TcpPairFactory final : public SocketPairFactory
{
public:
    QString name() const override { return QStringLiteral("tcp"); }

protected:
    FlowPair connectPair() override
    {
        // One listener for all sequences; connections are made one at a time, so the next
        // accepted one is ours (checked by the ports).
        if (!m_listener.isListening() && !m_listener.listen(QHostAddress::LocalHost, 0)) {
            m_error = QStringLiteral("listen: ") + rill::errorMessage(m_listener.error());
            return {};
        }
        std::unique_ptr<rill::TcpFlow> a;
        std::unique_ptr<rill::TcpFlow> b;
        const auto accepting = m_listener.accept();
        const auto connecting =
                rill::TcpFlow::connectToHost(QStringLiteral("127.0.0.1"), m_listener.serverPort());
        if (!take(connecting, accepting, &a, &b))
            return {};
        if (a->localPort() != b->peerPort()) {
            m_error = QStringLiteral("accepted the wrong connection (%1 vs %2)")
                              .arg(a->localEndpoint().toString(), b->peerEndpoint().toString());
            return {};
        }
        return {std::move(a), std::move(b)};
    }
    void setKernelBuffers(Flow *flow, int bytes) override
    {
        static_cast<rill::TcpFlow *>(flow)->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption,
                                                            bytes);
    }

private:
    rill::TcpListener m_listener;
};

class LocalPairFactory final : public SocketPairFactory
{
public:
    QString name() const override { return QStringLiteral("unix"); }
    bool peerResetMayReadAsEof() const override { return true; }

protected:
    FlowPair connectPair() override
    {
        if (!m_listener.isListening()) {
            if (!m_dir.isValid()) {
                m_error = QStringLiteral("no temporary folder: ") + m_dir.errorString();
                return {};
            }
            if (!m_listener.listen(m_dir.filePath(QStringLiteral("model.sock")))) {
                m_error = QStringLiteral("listen: ") + rill::errorMessage(m_listener.error());
                return {};
            }
        }
        std::unique_ptr<rill::LocalFlow> a;
        std::unique_ptr<rill::LocalFlow> b;
        const auto accepting = m_listener.accept();
        const auto connecting = rill::LocalFlow::connectToServer(m_listener.fullServerName());
        if (!take(connecting, accepting, &a, &b))
            return {};
        return {std::move(a), std::move(b)};
    }
    void setKernelBuffers(Flow *flow, int bytes) override
    {
        // A Unix stream socket's sender is bounded by its SO_SNDBUF alone.
        setSendBuffer(static_cast<rill::LocalFlow *>(flow)->socketDescriptor(), bytes);
    }

private:
    QTemporaryDir m_dir;
    rill::LocalListener m_listener;
};

std::unique_ptr<FlowPairFactory> makeFactory(const QString &name)
{
    if (name == QLatin1String("pipe"))
        return std::make_unique<PipePairFactory>();
    if (name == QLatin1String("tcp"))
        return std::make_unique<TcpPairFactory>();
    if (name == QLatin1String("example"))
        return std::make_unique<ExamplePairFactory>();
    if (name == QLatin1String("tls"))
        return std::make_unique<TlsPairFactory>();
    if (name == QLatin1String("unix"))
        return std::make_unique<LocalPairFactory>();
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Randomness: rilltest::Rng (../shared/rng.h).

// Payload bytes: slices of one random pool, so a misplaced slice never matches by accident.
const QByteArray &pool()
{
    static const QByteArray bytes = pattern(6 * 1024 * 1024, 0x5eed);
    return bytes;
}

QByteArray payload(Rng &rng, qint64 size)
{
    const qint64 offset = rng.range(0, pool().size() - size);
    return QByteArray(pool().constData() + offset, size);
}

template<typename E>
QString name(E value)
{
    return QString::fromLatin1(enumName(value));
}

QString describe(const WriteResult &r)
{
    return debugString(r);
}
QString describe(const ReadResult &r)
{
    return debugString(r);
}

// The check at the heart of the model: the next segment a reader got must continue what the
// writer's accepted writes hold, exactly where the reader is. Returns what is wrong, or empty.
QString checkSegment(const QByteArray &stream, const QByteArray &received, const QByteArray &segment)
{
    const qsizetype offset = received.size();
    if (segment.isEmpty())
        return QStringLiteral("a read resolved with data of zero bytes");
    if (offset + segment.size() > stream.size()) {
        return QStringLiteral("read %1 bytes at stream offset %2, but the peer's accepted writes hold "
                              "only %3 bytes (duplicated or invented bytes)")
                .arg(segment.size())
                .arg(offset)
                .arg(stream.size());
    }
    if (std::memcmp(stream.constData() + offset, segment.constData(), size_t(segment.size())) != 0) {
        qsizetype i = 0;
        while (stream.at(offset + i) == segment.at(i))
            ++i;
        // Say what it looks like: bytes from elsewhere in the stream, or from nowhere.
        const QByteArray probe = segment.mid(i, qMin<qsizetype>(16, segment.size() - i));
        const qsizetype found = stream.indexOf(probe);
        QString where;
        if (found >= 0 && found < offset + i)
            where = QStringLiteral("they repeat stream offset %1 (duplicated bytes)").arg(found);
        else if (found > offset + i)
            where = QStringLiteral("they belong at stream offset %1 (lost or reordered bytes)").arg(found);
        else
            where = QStringLiteral("they are not in the stream at all (corrupted bytes)");
        return QStringLiteral("read %1 bytes at stream offset %2; from offset %3 on they differ from "
                              "what the peer's accepted writes hold: %4")
                .arg(segment.size())
                .arg(offset)
                .arg(offset + i)
                .arg(where);
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// The model.

// What later writes must give once a write side has ended (sticky), or what one write must give.
struct Expect
{
    enum Status { Unset, Ok, Eof, Error };
    Status status = Unset;
    Error::Kind kind = Error::Kind::None;
    std::optional<WriteResult> exact; // once seen, the very same value (message and endpoint too)

    static Expect ok() { return {Ok, Error::Kind::None, WriteResult::ok()}; }
    static Expect eof() { return {Eof, Error::Kind::None, WriteResult::eof()}; }
    static Expect error(Error::Kind k) { return {Error, k, std::nullopt}; }

    bool isSet() const { return status != Unset; }
    bool matches(const WriteResult &r) const
    {
        if (exact)
            return r == *exact;
        switch (status) {
        case Unset:
            return true;
        case Ok:
            return r.isOk();
        case Eof:
            return r.isEof();
        case Error:
            return r.isError() && r.error().kind() == kind;
        }
        return false;
    }
    QString text() const
    {
        if (exact)
            return describe(*exact);
        switch (status) {
        case Unset:
            return QStringLiteral("anything");
        case Ok:
            return QStringLiteral("Ok");
        case Eof:
            return QStringLiteral("Eof");
        case Error:
            return QStringLiteral("an error of kind ") + name(kind);
        }
        return {};
    }
};

struct WriteRec
{
    quint64 id = 0; // the ledger id it must get: its call number on this flow
    QByteArray payload;
    QFuture<WriteResult> future;
    bool viaCallback = false; // write(..., context, callback): cannot be cancelled
    Expect expected;          // set when the write side had already ended at the call
    bool mustFail = false;    // the flow's write side was not Open at the call
    bool afterShut = false;   // issued after this end asked for its write side to close
    bool pendingAtAbort = false;
    bool pendingAtDestroy = false;
    bool cancelled = false;   // its future was cancelled while it waited: no result, the ledger says
    std::optional<QDeadlineTimer> deadline;
    bool done = false;
    WriteResult result;
};

// A future finished by a Flow callback, so that reads and writes made either way are checked
// alike. Unfinished (cancelled) if the flow drops the callback without calling it.
template<typename T>
QFuture<T> futureOfCallback(std::function<void(const T &)> *callback)
{
    auto promise = std::make_shared<QPromise<T>>();
    promise->start();
    *callback = [promise](const T &result) {
        promise->addResult(result);
        promise->finish();
    };
    return promise->future();
}

struct ReadRec
{
    int number = 0;
    QFuture<ReadResult> future;
    bool viaCallback = false; // read(context, callback): cannot be cancelled
    bool afterShut = false; // issued after an effective shutdown(Read)
    bool pendingAtAbort = false;
    bool pendingAtDestroy = false;
    bool cancelled = false; // its future was cancelled while it waited: consumes nothing
    bool endedAtCall = false; // an earlier read had already ended the read side
    std::optional<QDeadlineTimer> deadline;
    bool done = false;
    ReadResult result;
};

// A close() or shutdown(): one of the two futures, by kind.
struct VoidRec
{
    enum Kind { Close, ShutdownRead, ShutdownWrite, ShutdownBoth };
    Kind kind;
    QFuture<WriteResult> shutdown;
    QFuture<CloseResult> close;
    bool done = false;
    bool isFinished() const { return kind == Close ? close.isFinished() : shutdown.isFinished(); }
};

struct Ledger
{
    qint64 size = -1;
    int accepted = 0;
    int rejected = 0;
    int sent = 0;
    WriteResult rejectedWith;
};

struct Side
{
    QString name;
    std::unique_ptr<Flow> owner;
    Flow *flow = nullptr;
    qint64 highWaterMark = Flow::DefaultHighWaterMark;
    bool observeData = false;

    // What was done to this end.
    bool aborted = false;
    bool abortedOpen = false;   // aborted before it was Closed: the peer sees a reset
    bool destroyed = false;
    bool destroyedOpen = false; // destroyed before it was Closed: the peer sees a reset
    bool readShut = false;      // shutdown(Read) while the read side was open
    bool writeShutRequested = false; // shutdown(Write/ReadWrite) or close()
    bool closeCalled = false;
    bool discardedRead = false; // a read gave Discarded (close() threw input away)
    std::optional<CloseResult> closeResult; // what close() gave (every close() the same)
    Expect writeEnd; // what writes issued from now on must give

    // Writes, in call order; stream = the payloads of those that resolved Ok, in call order.
    std::vector<WriteRec> writes;
    size_t firstOpenWrite = 0;
    int unresolvedWrites = 0;
    QByteArray stream;
    qint64 okNonEmptyWrites = 0;

    // Reads, in call order; received = the data they gave, concatenated.
    std::vector<ReadRec> reads;
    size_t firstOpenRead = 0;
    QByteArray received;
    qint64 dataReads = 0;
    std::optional<ReadResult> readEnd; // the first result that was not data (sticky)

    std::vector<VoidRec> voids;

    // What the signals said.
    std::vector<Ledger> ledger; // by id - 1
    quint64 lastAcceptedNonEmpty = 0;
    quint64 lastSentNonEmpty = 0;
    QByteArray arrived;
    QByteArray sentData;
    std::optional<qint64> lastBytesQueued;
    std::optional<int> lastWritesWaiting;
    Flow::State state = Flow::State::Open;
    Flow::ReadState readState = Flow::ReadState::Open;
    Flow::WriteState writeState = Flow::WriteState::Open;
    int errorSignals = 0;
    Error lastError;
    FlowStats stats; // the last one seen (kept after destruction)

    bool alive() const { return flow != nullptr; }
};

struct Config
{
    qint64 bufferSize = -1;
    bool violent = false;       // abort and destroy are among the operations
    int operations = 0;
};

class Sequence
{
public:
    Sequence(FlowPairFactory &factory, quint64 seed) : m_factory(factory), m_seed(seed), m_rng(seed) {}

    // Runs the sequence; returns what broke, or an empty string.
    QString run();
    QString logTail(int lines = 60) const
    {
        const qsizetype from = qMax<qsizetype>(0, m_log.size() - lines);
        QString text;
        if (from > 0)
            text += QStringLiteral("    ... %1 earlier operations\n").arg(from);
        for (qsizetype i = from; i < m_log.size(); ++i)
            text += QStringLiteral("    ") + m_log.at(i) + QLatin1Char('\n');
        return text;
    }
    QString configText() const { return m_configText; }

private:
    // ---- failure bookkeeping
    bool failed() const { return !m_failure.isEmpty(); }
    void fail(const QString &what)
    {
        if (m_failure.isEmpty())
            m_failure = what;
    }
    void log(const QString &entry) { m_log.append(entry); }
    Side &peerOf(Side &x) { return &x == &m_sides[0] ? m_sides[1] : m_sides[0]; }
    // Whether y dropped the connection while it was still up (an abort or destruction of a
    // Closed flow changes nothing for its peer).
    static bool resetBy(const Side &y) { return y.abortedOpen || y.destroyedOpen; }

    // ---- setup
    void connectSignals(Side &x);
    void configure();

    // ---- operations
    void opRead(Side &x, bool mayTimeOut = true);
    void opWrite(Side &x, QList<QByteArray> buffers, bool vectored);
    void opCancelRead(Side &x);
    void opCancelWrite(Side &x);
    std::optional<QDeadlineTimer> randomDeadline();
    void opShutdown(Side &x, Flow::Direction direction);
    void opClose(Side &x);
    void opAbort(Side &x);
    void opDestroy(Side &x);
    void opSetHighWaterMark(Side &x, qint64 bytes);
    void opSpin();
    void settle();
    void drain();
    void randomOperation(int index);
    QList<QByteArray> randomBuffers(const Side &x, bool vectored);
    qint64 randomSize(const Side &x);
    void setWriteEndOnShutdown(Side &x);

    // ---- checking
    void poll();
    void pollWrites(Side &x, Side &y);
    void pollReads(Side &x, Side &y);
    void pollVoids(Side &x, Side &y);
    void checkInvariants(Side &x, Side &y);
    void finishWrite(Side &x, Side &y, WriteRec &w, bool earlierPending);
    void finishRead(Side &x, Side &y, ReadRec &r);
    void finishCancelledRead(Side &x, ReadRec &r);
    void finishCancelledWrite(Side &x, Side &y, WriteRec &w);
    void finishVoid(Side &x, Side &y, VoidRec &v);
    QString unmetObligations();
    void finalChecks();
    bool hasUnfinished(const Side &x) const;

    FlowPairFactory &m_factory;
    quint64 m_seed;
    Rng m_rng;
    Config m_config;
    QString m_configText;
    // The context of reads and writes made with a callback: outlives the flows, so that every
    // callback runs (a flow destroyed with them pending gives Aborted).
    QObject m_callbackContext;
    Side m_sides[2];
    QStringList m_log;
    QString m_failure;
};

// ---------------------------------------------------------------------------------------------
// Setup

void Sequence::configure()
{
    Rng &r = m_rng;
    const int profile = int(r.range(0, 99));
    // 60%: small pipe buffer and small marks; 25%: default buffer, small marks; 15%: defaults.
    m_config.bufferSize = profile < 60 && m_factory.hasBufferSize() ? r.logRange(1, 64 * 1024) : -1;
    m_config.violent = r.chance(45);
    m_config.operations = int(r.range(4, 200));
    for (int i = 0; i < 2; ++i) {
        Side &x = m_sides[i];
        x.name = i == 0 ? QStringLiteral("A") : QStringLiteral("B");
        x.highWaterMark = profile < 85 ? r.logRange(1, 16 * 1024) : Flow::DefaultHighWaterMark;
        x.observeData = r.chance(50);
    }
    m_configText = QStringLiteral("%1 pair, bufferSize %2, highWaterMark A %3 B %4, %5 operations%6%7")
                           .arg(m_factory.name())
                           .arg(m_config.bufferSize > 0 ? QString::number(m_config.bufferSize)
                                                        : QStringLiteral("default"))
                           .arg(m_sides[0].highWaterMark)
                           .arg(m_sides[1].highWaterMark)
                           .arg(m_config.operations)
                           .arg(m_config.violent ? QStringLiteral(", with abort/destroy") : QString())
                           .arg(m_sides[0].observeData || m_sides[1].observeData
                                        ? QStringLiteral(", observing data signals")
                                        : QString());
}

void Sequence::connectSignals(Side &x)
{
    Flow *f = x.flow;
    Side *s = &x;
    QObject::connect(f, &Flow::writeQueued, f, [this, s](quint64 id, qint64 size) {
        if (id != s->ledger.size() + 1)
            fail(QStringLiteral("%1: writeQueued(%2) but the next id is %3 (ids count calls from 1)")
                         .arg(s->name).arg(id).arg(s->ledger.size() + 1));
        Ledger l;
        l.size = size;
        s->ledger.push_back(l);
    });
    auto entry = [this, s](quint64 id, const char *signal) -> Ledger * {
        if (id == 0 || id > s->ledger.size()) {
            fail(QStringLiteral("%1: %2(%3) for an id never queued").arg(s->name, QLatin1String(signal)).arg(id));
            return nullptr;
        }
        return &s->ledger[size_t(id - 1)];
    };
    QObject::connect(f, &Flow::writeAccepted, f, [this, s, entry](quint64 id) {
        Ledger *l = entry(id, "writeAccepted");
        if (!l)
            return;
        if (l->accepted || l->rejected)
            fail(QStringLiteral("%1: writeAccepted(%2) for a write already accepted or rejected").arg(s->name).arg(id));
        l->accepted = 1;
        if (l->size > 0) {
            if (id <= s->lastAcceptedNonEmpty)
                fail(QStringLiteral("%1: writeAccepted(%2) after writeAccepted(%3): writes accepted out of order")
                             .arg(s->name).arg(id).arg(s->lastAcceptedNonEmpty));
            s->lastAcceptedNonEmpty = id;
        }
    });
    QObject::connect(f, &Flow::writeSent, f, [this, s, entry](quint64 id) {
        Ledger *l = entry(id, "writeSent");
        if (!l)
            return;
        if (!l->accepted || l->sent)
            fail(QStringLiteral("%1: writeSent(%2) for a write not accepted, or sent twice").arg(s->name).arg(id));
        l->sent = 1;
        if (l->size > 0) {
            if (id <= s->lastSentNonEmpty)
                fail(QStringLiteral("%1: writeSent(%2) after writeSent(%3): sent out of order")
                             .arg(s->name).arg(id).arg(s->lastSentNonEmpty));
            s->lastSentNonEmpty = id;
        }
    });
    QObject::connect(f, &Flow::writeRejected, f, [this, s, entry](quint64 id, const WriteResult &r) {
        Ledger *l = entry(id, "writeRejected");
        if (!l)
            return;
        if (l->accepted || l->rejected)
            fail(QStringLiteral("%1: writeRejected(%2) for a write already accepted or rejected").arg(s->name).arg(id));
        if (r.isOk())
            fail(QStringLiteral("%1: writeRejected(%2) with Ok").arg(s->name).arg(id));
        l->rejected = 1;
        l->rejectedWith = r;
    });
    QObject::connect(f, &Flow::bytesQueuedChanged, f, [this, s](qint64 bytes) {
        if (bytes < 0)
            fail(QStringLiteral("%1: bytesQueuedChanged(%2)").arg(s->name).arg(bytes));
        s->lastBytesQueued = bytes;
    });
    QObject::connect(f, &Flow::writesWaitingChanged, f, [this, s](int count) {
        if (count < 0)
            fail(QStringLiteral("%1: writesWaitingChanged(%2)").arg(s->name).arg(count));
        s->lastWritesWaiting = count;
    });
    QObject::connect(f, &Flow::stateChanged, f, [this, s](Flow::State next) {
        using S = Flow::State;
        const S prev = s->state;
        const bool ok = (prev == S::Open && (next == S::Closing || next == S::Closed))
                || (prev == S::Closing && next == S::Closed);
        if (!ok)
            fail(QStringLiteral("%1: stateChanged %2 -> %3 is not a valid transition").arg(s->name, name(prev), name(next)));
        s->state = next;
    });
    QObject::connect(f, &Flow::readStateChanged, f, [this, s](Flow::ReadState next) {
        using R = Flow::ReadState;
        const R prev = s->readState;
        if (!(prev == R::Open && next != R::Open))
            fail(QStringLiteral("%1: readStateChanged %2 -> %3 is not a valid transition").arg(s->name, name(prev), name(next)));
        s->readState = next;
    });
    QObject::connect(f, &Flow::writeStateChanged, f, [this, s](Flow::WriteState next) {
        using W = Flow::WriteState;
        const W prev = s->writeState;
        const bool ok = (prev == W::Open && next != W::Open)
                || (prev == W::ShuttingDown && (next == W::Closed || next == W::Failed));
        if (!ok)
            fail(QStringLiteral("%1: writeStateChanged %2 -> %3 is not a valid transition").arg(s->name, name(prev), name(next)));
        s->writeState = next;
    });
    QObject::connect(f, &Flow::errorOccurred, f, [this, s](const Error &e) {
        if (++s->errorSignals > 1)
            fail(QStringLiteral("%1: errorOccurred emitted a second time (%2)").arg(s->name, debugString(e)));
        if (e.isNone())
            fail(QStringLiteral("%1: errorOccurred with no error").arg(s->name));
        s->lastError = e;
    });
    if (x.observeData) {
        QObject::connect(f, &Flow::dataArrived, f, [this, s](const QByteArray &d) {
            if (d.isEmpty())
                fail(QStringLiteral("%1: dataArrived with no bytes").arg(s->name));
            s->arrived += d;
        });
        QObject::connect(f, &Flow::dataSent, f, [this, s](const QByteArray &d) {
            if (d.isEmpty())
                fail(QStringLiteral("%1: dataSent with no bytes").arg(s->name));
            s->sentData += d;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

qint64 Sequence::randomSize(const Side &x)
{
    const int r = int(m_rng.range(0, 99));
    const qint64 mark = x.highWaterMark;
    if (r < 10)
        return 0;
    if (r < 45)
        return m_rng.range(1, 64);
    if (r < 75)
        return m_rng.range(65, 4096);
    if (r < 93)
        return m_rng.logRange(1, qMin<qint64>(4 * mark, 256 * 1024));
    // Larger than the high-water mark (rarely, for the default mark of 1 MiB).
    if (mark > 64 * 1024 && !m_rng.chance(10))
        return m_rng.range(1, 4096);
    return mark + m_rng.range(1, qMin<qint64>(mark, 1024 * 1024));
}

QList<QByteArray> Sequence::randomBuffers(const Side &x, bool vectored)
{
    QList<QByteArray> buffers;
    if (!vectored) {
        buffers << payload(m_rng, randomSize(x));
        return buffers;
    }
    const int count = int(m_rng.range(0, 4));
    for (int i = 0; i < count; ++i) {
        const qint64 size = m_rng.chance(25) ? 0 : randomSize(x) / qMax(1, count);
        buffers << payload(m_rng, size);
    }
    return buffers;
}

// Short deadlines, some already passed: a wait that ends at its deadline must change nothing.
std::optional<QDeadlineTimer> Sequence::randomDeadline()
{
    if (!m_rng.chance(15))
        return std::nullopt;
    return QDeadlineTimer(m_rng.chance(20) ? 0 : m_rng.range(1, 5));
}

void Sequence::opRead(Side &x, bool mayTimeOut)
{
    ReadRec r;
    r.number = int(x.reads.size()) + 1;
    r.afterShut = x.readShut;
    r.endedAtCall = x.readEnd.has_value();
    if (mayTimeOut)
        r.deadline = randomDeadline();
    r.viaCallback = m_rng.chance(30);
    log(QStringLiteral("%1.read(%2)%3 #%4")
                .arg(x.name, r.deadline ? QStringLiteral("%1 ms").arg(r.deadline->remainingTime()) : QString(),
                     r.viaCallback ? QStringLiteral(" with a callback") : QString())
                .arg(r.number));
    if (r.viaCallback) {
        Flow::ReadCallback callback;
        r.future = futureOfCallback(&callback);
        x.flow->read(&m_callbackContext, std::move(callback),
                     r.deadline.value_or(QDeadlineTimer(QDeadlineTimer::Forever)));
    } else {
        r.future = r.deadline ? x.flow->read(*r.deadline) : x.flow->read();
    }
    x.reads.push_back(std::move(r));
}

// QFuture::cancel() on a read still waiting: it must consume nothing (the stream check finds
// lost bytes) and finish at once.
void Sequence::opCancelRead(Side &x)
{
    std::vector<ReadRec *> waiting;
    for (size_t i = x.firstOpenRead; i < x.reads.size(); ++i) {
        if (!x.reads[i].done && !x.reads[i].cancelled && !x.reads[i].viaCallback
            && !x.reads[i].future.isFinished())
            waiting.push_back(&x.reads[i]);
    }
    if (waiting.empty())
        return opSpin();
    ReadRec &r = *waiting[size_t(m_rng.range(0, qint64(waiting.size()) - 1))];
    log(QStringLiteral("%1: cancel read #%2").arg(x.name).arg(r.number));
    r.cancelled = true;
    r.future.cancel();
}

// QFuture::cancel() on a write still waiting: it must be withdrawn at once (Canceled in the
// ledger, writesWaiting drops) and its bytes must never reach the peer.
void Sequence::opCancelWrite(Side &x)
{
    std::vector<WriteRec *> waiting;
    for (size_t i = x.firstOpenWrite; i < x.writes.size(); ++i) {
        if (!x.writes[i].done && !x.writes[i].cancelled && !x.writes[i].viaCallback
            && !x.writes[i].future.isFinished())
            waiting.push_back(&x.writes[i]);
    }
    if (waiting.empty())
        return opSpin();
    WriteRec &w = *waiting[size_t(m_rng.range(0, qint64(waiting.size()) - 1))];
    log(QStringLiteral("%1: cancel write #%2").arg(x.name).arg(w.id));
    w.cancelled = true;
    w.future.cancel();
}

void Sequence::opWrite(Side &x, QList<QByteArray> buffers, bool vectored)
{
    WriteRec w;
    w.id = x.writes.size() + 1;
    for (const QByteArray &b : std::as_const(buffers))
        w.payload += b;
    w.afterShut = x.writeShutRequested;
    const Flow::WriteState ws = x.flow->writeState();
    if (x.writeEnd.isSet())
        w.expected = x.writeEnd;
    else if (ws != Flow::WriteState::Open)
        w.mustFail = true; // ended on its own: the peer reset or went away
    else if (w.payload.isEmpty())
        w.expected = Expect::ok();
    w.deadline = randomDeadline();
    // (A deadline already passed may reject at once a write that would have to wait.)
    const bool mustWait = ws == Flow::WriteState::Open && !x.writeEnd.isSet() && !w.payload.isEmpty()
            && (x.flow->bytesQueued() >= x.flow->highWaterMark() || x.flow->writesWaiting() > 0)
            && !w.deadline;
    const int waitingBefore = x.flow->writesWaiting();
    w.viaCallback = m_rng.chance(30);
    log(QStringLiteral("%1.%2(%3 bytes%4%5)%6 #%7")
                .arg(x.name, vectored ? QStringLiteral("writev") : QStringLiteral("write"))
                .arg(w.payload.size())
                .arg(vectored ? QStringLiteral(" in %1 buffers").arg(buffers.size()) : QString())
                .arg(w.deadline ? QStringLiteral(", %1 ms").arg(w.deadline->remainingTime()) : QString())
                .arg(w.viaCallback ? QStringLiteral(" with a callback") : QString())
                .arg(w.id));
    const QDeadlineTimer deadline = w.deadline.value_or(QDeadlineTimer(QDeadlineTimer::Forever));
    if (w.viaCallback) {
        Flow::WriteCallback callback;
        w.future = futureOfCallback(&callback);
        if (vectored)
            x.flow->writev(buffers, &m_callbackContext, std::move(callback), deadline);
        else
            x.flow->write(buffers.value(0), &m_callbackContext, std::move(callback), deadline);
    } else {
        w.future = vectored ? x.flow->writev(buffers, deadline) : x.flow->write(buffers.value(0), deadline);
    }
    if (mustWait) {
        // Contract 2: at or above the mark, a new write stays pending.
        if (w.future.isFinished())
            fail(QStringLiteral("%1.write #%2 resolved at once although bytesQueued() %3 >= highWaterMark() %4 "
                                "or writes were waiting")
                         .arg(x.name).arg(w.id).arg(x.flow->bytesQueued()).arg(x.flow->highWaterMark()));
        else if (x.flow->writesWaiting() != waitingBefore + 1)
            fail(QStringLiteral("%1.write #%2 waits but writesWaiting() went from %3 to %4")
                         .arg(x.name).arg(w.id).arg(waitingBefore).arg(x.flow->writesWaiting()));
    }
    ++x.unresolvedWrites;
    x.writes.push_back(std::move(w));
}

void Sequence::setWriteEndOnShutdown(Side &x)
{
    if (x.writeEnd.isSet())
        return;
    if (x.flow->writeState() == Flow::WriteState::Failed)
        x.writeEnd = Expect::error(x.flow->error().kind());
    else
        x.writeEnd = Expect::eof();
}

void Sequence::opShutdown(Side &x, Flow::Direction direction)
{
    log(QStringLiteral("%1.shutdown(%2)").arg(x.name, name(direction)));
    if (direction != Flow::Direction::Write && x.flow->readState() == Flow::ReadState::Open)
        x.readShut = true;
    if (direction != Flow::Direction::Read) {
        x.writeShutRequested = true;
        setWriteEndOnShutdown(x);
    }
    VoidRec v;
    v.kind = direction == Flow::Direction::Read        ? VoidRec::ShutdownRead
            : direction == Flow::Direction::Write ? VoidRec::ShutdownWrite
                                                  : VoidRec::ShutdownBoth;
    v.shutdown = x.flow->shutdown(direction);
    x.voids.push_back(std::move(v));
}

void Sequence::opClose(Side &x)
{
    log(QStringLiteral("%1.close()").arg(x.name));
    x.closeCalled = true;
    x.writeShutRequested = true;
    setWriteEndOnShutdown(x);
    VoidRec v;
    v.kind = VoidRec::Close;
    v.close = x.flow->close();
    x.voids.push_back(std::move(v));
}

void Sequence::opAbort(Side &x)
{
    log(QStringLiteral("%1.abort()").arg(x.name));
    for (size_t i = x.firstOpenRead; i < x.reads.size(); ++i)
        x.reads[i].pendingAtAbort = !x.reads[i].done;
    for (size_t i = x.firstOpenWrite; i < x.writes.size(); ++i)
        x.writes[i].pendingAtAbort = !x.writes[i].done;
    if (!x.writeEnd.isSet()) {
        switch (x.flow->writeState()) {
        case Flow::WriteState::Open:
        case Flow::WriteState::ShuttingDown:
            x.writeEnd = Expect::error(Error::Kind::Aborted);
            break;
        case Flow::WriteState::Failed:
            x.writeEnd = Expect::error(x.flow->error().kind());
            break;
        case Flow::WriteState::Closed:
            x.writeEnd = Expect::eof();
            break;
        }
    }
    x.aborted = true;
    x.abortedOpen = x.abortedOpen || x.flow->state() != Flow::State::Closed;
    x.flow->abort();
}

void Sequence::opDestroy(Side &x)
{
    log(QStringLiteral("%1 destroyed (state %2)").arg(x.name, name(x.flow->state())));
    x.stats = x.flow->stats();
    x.destroyedOpen = x.flow->state() != Flow::State::Closed;
    for (size_t i = x.firstOpenRead; i < x.reads.size(); ++i)
        x.reads[i].pendingAtDestroy = !x.reads[i].done;
    for (size_t i = x.firstOpenWrite; i < x.writes.size(); ++i)
        x.writes[i].pendingAtDestroy = !x.writes[i].done;
    x.destroyed = true;
    x.owner.reset();
    x.flow = nullptr;
    // Contract 4: no future of a destroyed flow is left unfinished.
    for (const ReadRec &r : x.reads)
        if (!r.done && !r.future.isFinished())
            fail(QStringLiteral("%1 was destroyed with read #%2 unfinished").arg(x.name).arg(r.number));
    for (const WriteRec &w : x.writes)
        if (!w.done && !w.future.isFinished())
            fail(QStringLiteral("%1 was destroyed with write #%2 unfinished").arg(x.name).arg(w.id));
    for (const VoidRec &v : x.voids)
        if (!v.done && !v.isFinished())
            fail(QStringLiteral("%1 was destroyed with a close()/shutdown() future unfinished").arg(x.name));
}

void Sequence::opSetHighWaterMark(Side &x, qint64 bytes)
{
    log(QStringLiteral("%1.setHighWaterMark(%2)").arg(x.name).arg(bytes));
    x.highWaterMark = bytes;
    x.flow->setHighWaterMark(bytes);
}

void Sequence::opSpin()
{
    const int how = int(m_rng.range(0, 9));
    if (how < 5) {
        const int rounds = int(m_rng.range(1, 3));
        log(QStringLiteral("process events x%1").arg(rounds));
        for (int i = 0; i < rounds; ++i) {
            QCoreApplication::processEvents();
            poll();
        }
    } else if (how < 9) {
        Side &x = m_sides[m_rng.range(0, 1)];
        if (!x.alive())
            return;
        log(QStringLiteral("deliver %1's posted events").arg(x.name));
        QCoreApplication::sendPostedEvents(x.flow, 0);
    } else {
        log(QStringLiteral("settle"));
        settle();
    }
}

void Sequence::randomOperation(int index)
{
    Side &x = m_sides[m_rng.range(0, 1)];
    if (!x.alive()) {
        opSpin();
        return;
    }
    // Endings (close, shutdown, abort, destroy) are rarer, and violence comes late, so most
    // sequences move data for a while first.
    const bool late = index >= m_config.operations / 3;
    const int r = int(m_rng.range(0, 999));
    if (r < 270) {
        const int n = m_rng.chance(20) ? int(m_rng.range(2, 4)) : 1;
        for (int i = 0; i < n; ++i)
            opRead(x);
    } else if (r < 550) {
        opWrite(x, randomBuffers(x, false), false);
    } else if (r < 650) {
        opWrite(x, randomBuffers(x, true), true);
    } else if (r < 675) {
        opCancelRead(x);
    } else if (r < 700) {
        opCancelWrite(x);
    } else if (r < 860) {
        opSpin();
    } else if (r < 875) {
        opShutdown(x, Flow::Direction::Read);
    } else if (r < 895) {
        opShutdown(x, Flow::Direction::Write);
    } else if (r < 905) {
        opShutdown(x, Flow::Direction::ReadWrite);
    } else if (r < 930) {
        opClose(x);
    } else if (r < 970) {
        opSetHighWaterMark(x, m_rng.chance(80) ? m_rng.logRange(1, 16 * 1024) : Flow::DefaultHighWaterMark);
    } else if (r < 985) {
        if (m_config.violent && late)
            opAbort(x);
        else
            opSpin();
    } else {
        if (m_config.violent && late)
            opDestroy(x);
        else
            opSpin();
    }
}

// Processes events until nothing the model knows must happen is still outstanding.
void Sequence::settle()
{
    QDeadlineTimer deadline(DefaultTimeout);
    for (;;) {
        poll();
        if (failed())
            return;
        const QString unmet = unmetObligations();
        if (unmet.isEmpty())
            return;
        if (deadline.hasExpired()) {
            fail(QStringLiteral("stuck: %1").arg(unmet));
            return;
        }
        QCoreApplication::processEvents();
    }
}

QString Sequence::unmetObligations()
{
    for (Side *px : {&m_sides[0], &m_sides[1]}) {
        Side &x = *px;
        Side &y = peerOf(x);
        if (!x.alive())
            continue;
        if (x.firstOpenRead < x.reads.size()
            && (y.stream.size() > x.received.size() || y.writeShutRequested || resetBy(y) || x.aborted)) {
            return QStringLiteral("%1.read #%2 is pending although %3 (peer accepted %4 bytes, %5 read)")
                    .arg(x.name)
                    .arg(x.reads[x.firstOpenRead].number)
                    .arg(x.aborted               ? QStringLiteral("it was aborted")
                                 : resetBy(y)          ? QStringLiteral("the peer was aborted or destroyed")
                                 : y.writeShutRequested ? QStringLiteral("the peer shut its write side")
                                                        : QStringLiteral("the peer's data was accepted"))
                    .arg(y.stream.size())
                    .arg(x.received.size());
        }
        if (x.unresolvedWrites > 0 && (x.aborted || y.readShut || resetBy(y)))
            return QStringLiteral("%1 has %2 unresolved writes although %3")
                    .arg(x.name)
                    .arg(x.unresolvedWrites)
                    .arg(x.aborted ? QStringLiteral("it was aborted")
                                   : resetBy(y) ? QStringLiteral("the peer was aborted or destroyed")
                                                : QStringLiteral("the peer discards what arrives"));
        // A socket end notices its peer's reset only when it reads or writes (see
        // SocketPairFactory, 1): then only its own abort must close it by itself.
        if ((x.aborted || (resetBy(y) && m_factory.peerResetNoticedWithoutIo()))
            && x.flow->state() != Flow::State::Closed)
            return QStringLiteral("%1 is %2 although %3").arg(x.name, name(x.flow->state()),
                                                             x.aborted ? QStringLiteral("it was aborted")
                                                                       : QStringLiteral("the peer was aborted or destroyed"));
        if (x.aborted) {
            for (const VoidRec &v : x.voids)
                if (!v.done)
                    return QStringLiteral("%1 was aborted but a close()/shutdown() is unfinished").arg(x.name);
        }
        // Every wait can have a limit, and a cancelled read or write is withdrawn at once.
        for (size_t i = x.firstOpenRead; i < x.reads.size(); ++i) {
            const ReadRec &r = x.reads[i];
            if (!r.done && r.deadline && r.deadline->hasExpired())
                return QStringLiteral("%1.read #%2 is pending past its deadline").arg(x.name).arg(r.number);
            if (!r.done && r.cancelled)
                return QStringLiteral("%1.read #%2 was cancelled while it waited but is unfinished").arg(x.name).arg(r.number);
        }
        for (size_t i = x.firstOpenWrite; i < x.writes.size(); ++i) {
            const WriteRec &w = x.writes[i];
            if (!w.done && w.deadline && w.deadline->hasExpired())
                return QStringLiteral("%1.write #%2 is pending past its deadline").arg(x.name).arg(w.id);
            if (!w.done && w.cancelled)
                return QStringLiteral("%1.write #%2 was cancelled while it waited but is not withdrawn")
                        .arg(x.name).arg(w.id);
        }
    }
    return {};
}

// Both ends read to their end and close; everything must finish.
void Sequence::drain()
{
    // Sometimes, when nothing is left unread either way, both ends close without reading:
    // close() resolves when the peer has closed too, and needs no read() for that.
    Side &a = m_sides[0];
    Side &b = m_sides[1];
    if (a.alive() && b.alive() && m_rng.chance(30) && !a.aborted && !b.aborted && !a.readShut && !b.readShut
        && a.received == b.stream && b.received == a.stream && a.unresolvedWrites == 0 && b.unresolvedWrites == 0
        && a.firstOpenRead == a.reads.size() && b.firstOpenRead == b.reads.size()) {
        log(QStringLiteral("drain: nothing is unread; both ends close without reading"));
        for (Side *px : {&a, &b}) {
            if (!px->closeCalled)
                opClose(*px);
        }
        QDeadlineTimer deadline(DefaultTimeout);
        while (!failed() && (hasUnfinished(a) || hasUnfinished(b))) {
            if (deadline.hasExpired())
                return fail(QStringLiteral("close() never resolved, although both ends closed and nothing was "
                                           "left unread (A is %1, B is %2)")
                                    .arg(name(a.flow->state()), name(b.flow->state())));
            QCoreApplication::processEvents();
            poll();
        }
    }
    log(QStringLiteral("drain: both ends close and read to the end"));
    for (Side *px : {&m_sides[0], &m_sides[1]}) {
        if (px->alive() && !px->closeCalled)
            opClose(*px);
    }
    QDeadlineTimer deadline(DefaultTimeout);
    for (;;) {
        poll();
        if (failed())
            return;
        bool done = true;
        for (Side *px : {&m_sides[0], &m_sides[1]}) {
            Side &x = *px;
            if (!x.alive())
                continue;
            if (!x.readEnd && x.firstOpenRead == x.reads.size())
                opRead(x, false);
            if (!x.readEnd || hasUnfinished(x))
                done = false;
        }
        if (done)
            return;
        if (deadline.hasExpired()) {
            QStringList what;
            for (Side *px : {&m_sides[0], &m_sides[1]}) {
                Side &x = *px;
                if (!x.alive())
                    continue;
                what << QStringLiteral("%1: state %2/%3/%4, %5 reads, %6 writes and %7 close/shutdown futures unfinished, "
                                       "read %8 of the peer's %9 accepted bytes, bytesQueued %10")
                                .arg(x.name, name(x.flow->state()), name(x.flow->readState()), name(x.flow->writeState()))
                                .arg(x.reads.size() - x.firstOpenRead)
                                .arg(x.unresolvedWrites)
                                .arg(std::count_if(x.voids.begin(), x.voids.end(), [](const VoidRec &v) { return !v.done; }))
                                .arg(x.received.size())
                                .arg(peerOf(x).stream.size())
                                .arg(x.flow->bytesQueued());
            }
            fail(QStringLiteral("the drain never finished (close() and reading to the end): ") + what.join(QStringLiteral("; ")));
            return;
        }
        QCoreApplication::processEvents();
    }
}

bool Sequence::hasUnfinished(const Side &x) const
{
    if (x.firstOpenRead < x.reads.size() || x.unresolvedWrites > 0)
        return true;
    return std::any_of(x.voids.begin(), x.voids.end(), [](const VoidRec &v) { return !v.done; });
}

// ---------------------------------------------------------------------------------------------
// Checking

void Sequence::poll()
{
    if (failed())
        return;
    // Writes first: a read may only see bytes of writes already known to be accepted.
    pollWrites(m_sides[0], m_sides[1]);
    pollWrites(m_sides[1], m_sides[0]);
    pollReads(m_sides[0], m_sides[1]);
    pollReads(m_sides[1], m_sides[0]);
    pollVoids(m_sides[0], m_sides[1]);
    pollVoids(m_sides[1], m_sides[0]);
    for (int i = 0; i < 2; ++i) {
        if (m_sides[i].alive())
            checkInvariants(m_sides[i], m_sides[1 - i]);
    }
}

void Sequence::pollWrites(Side &x, Side &y)
{
    bool earlierPending = false; // an earlier non-empty write is still unresolved
    for (size_t i = x.firstOpenWrite; i < x.writes.size() && !failed(); ++i) {
        WriteRec &w = x.writes[i];
        if (w.done)
            continue;
        if (!w.future.isFinished()) {
            if (!w.payload.isEmpty() && !w.cancelled)
                earlierPending = true;
            continue;
        }
        if (w.cancelled)
            finishCancelledWrite(x, y, w);
        else
            finishWrite(x, y, w, earlierPending);
    }
    while (x.firstOpenWrite < x.writes.size() && x.writes[x.firstOpenWrite].done)
        ++x.firstOpenWrite;
}

void Sequence::finishWrite(Side &x, Side &y, WriteRec &w, bool earlierPending)
{
    const QString what = QStringLiteral("%1.write #%2 (%3 bytes)").arg(x.name).arg(w.id).arg(w.payload.size());
    if (w.future.resultCount() != 1)
        return fail(what + QStringLiteral(" finished without a result"));
    w.done = true;
    --x.unresolvedWrites;
    w.result = w.future.result();
    const WriteResult &r = w.result;

    if (w.expected.isSet() && !w.expected.matches(r)) {
        return fail(what + QStringLiteral(" gave %1, but %2 was expected: %3")
                                   .arg(describe(r), w.expected.text(),
                                        w.payload.isEmpty() && w.expected.status == Expect::Ok
                                                ? QStringLiteral("an empty write on an open write side is a no-op that resolves Ok")
                                                : QStringLiteral("once the write side ended, every later write gives the same (sticky)")));
    }
    if (r.isOk()) {
        if (w.mustFail)
            return fail(what + QStringLiteral(" resolved Ok although the write side had already ended"));
        if (!w.payload.isEmpty() && earlierPending)
            return fail(what + QStringLiteral(" resolved Ok while an earlier write still waits (accepted out of order)"));
        x.stream += w.payload;
        if (!w.payload.isEmpty())
            ++x.okNonEmptyWrites;
        if (!x.destroyed && (w.id > x.ledger.size() || x.ledger[w.id - 1].accepted != 1))
            return fail(what + QStringLiteral(" resolved Ok but writeAccepted(%1) was not emitted").arg(w.id));
        return;
    }

    // Not Ok: why may it fail?
    if (r.isError() && r.error().kind() == Error::Kind::TimedOut && !w.pendingAtAbort && !w.pendingAtDestroy) {
        // Not sticky: the write side goes on.
        if (!w.deadline)
            return fail(what + QStringLiteral(" timed out but had no deadline"));
        if (!w.deadline->hasExpired())
            return fail(what + QStringLiteral(" timed out %1 ms before its deadline").arg(w.deadline->remainingTime()));
        if (!x.destroyed) {
            const Ledger *l = w.id <= x.ledger.size() ? &x.ledger[w.id - 1] : nullptr;
            if (!l || l->rejected != 1 || l->rejectedWith != r)
                return fail(what + QStringLiteral(" timed out but writeRejected(%1, TimedOut) was not emitted").arg(w.id));
        }
        return;
    }
    if (w.pendingAtAbort || w.pendingAtDestroy) {
        if (!(r.isError() && r.error().kind() == Error::Kind::Aborted))
            return fail(what + QStringLiteral(", pending when its flow was %1, gave %2 instead of an error of kind Aborted")
                                       .arg(w.pendingAtDestroy ? QStringLiteral("destroyed") : QStringLiteral("aborted"),
                                            describe(r)));
    } else if (!w.expected.isSet()) {
        bool allowed = false;
        if (r.isEof())
            allowed = resetBy(y); // the peer is gone
        else if (r.isError())
            allowed = (r.error().kind() == Error::Kind::Reset && resetBy(y))
                    // the peer went away with bytes of ours accepted and not yet sent
                    || (r.error().kind() == Error::Kind::Closed && resetBy(y))
                    || (r.error().kind() == Error::Kind::Aborted && (x.aborted || x.destroyed));
        if (!allowed)
            return fail(what + QStringLiteral(" gave %1 though nothing ended the write side when it was called "
                                              "(no abort, no reset, no shutdown)")
                                       .arg(describe(r)));
    }
    if (r.isError() && r.error().kind() == Error::Kind::Reset && r.error().endpoint().isEmpty())
        return fail(what + QStringLiteral(" gave a reset error that names no endpoint: ") + describe(r));
    // Sticky from now on: later writes give exactly this.
    if (!x.writeEnd.isSet())
        x.writeEnd = Expect{r.isEof() ? Expect::Eof : Expect::Error, r.error().kind(), r};
    else if (!x.writeEnd.exact && w.expected.isSet() && x.writeEnd.matches(r))
        x.writeEnd.exact = r;
    if (!w.pendingAtDestroy && !x.destroyed) {
        const Ledger *l = w.id <= x.ledger.size() ? &x.ledger[w.id - 1] : nullptr;
        if (!l || l->rejected != 1 || l->rejectedWith != r)
            return fail(what + QStringLiteral(" gave %1 but writeRejected(%2, %1) was not emitted").arg(describe(r)).arg(w.id));
    }
}

void Sequence::pollReads(Side &x, Side &y)
{
    const ReadRec *waiting = nullptr; // the first read still waiting (not cancelled)
    for (size_t i = x.firstOpenRead; i < x.reads.size() && !failed(); ++i) {
        ReadRec &r = x.reads[i];
        if (r.done)
            continue;
        if (!r.future.isFinished()) {
            if (!waiting && !r.cancelled)
                waiting = &r;
            continue;
        }
        if (r.cancelled) {
            finishCancelledRead(x, r);
            continue;
        }
        // Contract 1: reads are served in call order; one may time out before an earlier one.
        const bool timedOut = r.future.resultCount() == 1 && r.future.result().isError()
                && r.future.result().error().kind() == Error::Kind::TimedOut;
        if (waiting && !timedOut)
            return fail(QStringLiteral("%1.read #%2 finished before read #%3 (reads not served in call order)")
                                .arg(x.name).arg(r.number).arg(waiting->number));
        finishRead(x, y, r);
    }
    while (x.firstOpenRead < x.reads.size() && x.reads[x.firstOpenRead].done)
        ++x.firstOpenRead;
}

void Sequence::finishCancelledRead(Side &x, ReadRec &r)
{
    r.done = true;
    if (r.future.resultCount() != 0)
        fail(QStringLiteral("%1.read #%2 was cancelled while it waited yet gave %3")
                     .arg(x.name).arg(r.number).arg(describe(r.future.result())));
}

// A cancelled future holds no result: the ledger tells what became of the write.
void Sequence::finishCancelledWrite(Side &x, Side &y, WriteRec &w)
{
    const QString what = QStringLiteral("%1.write #%2 (%3 bytes, cancelled while it waited)").arg(x.name).arg(w.id).arg(w.payload.size());
    w.done = true;
    --x.unresolvedWrites;
    if (w.future.resultCount() != 0)
        return fail(what + QStringLiteral(" gave a result: ") + describe(w.future.result()));
    w.result = WriteResult::fromError(Error(Error::Kind::Canceled, QStringLiteral("unknown: the flow is gone")));
    if (x.destroyed)
        return; // the ledger's last signals may not have reached us
    const Ledger *l = w.id <= x.ledger.size() ? &x.ledger[w.id - 1] : nullptr;
    if (!l || l->accepted || l->rejected != 1)
        return fail(what + QStringLiteral(": the ledger says it was %1")
                                   .arg(!l ? QStringLiteral("never queued") : l->accepted ? QStringLiteral("accepted") : QStringLiteral("not rejected")));
    w.result = l->rejectedWith;
    const Error::Kind kind = w.result.isError() ? w.result.error().kind() : Error::Kind::None;
    // Withdrawn (Canceled), unless something rejected every waiting write first.
    const bool allowed = kind == Error::Kind::Canceled
            || (w.deadline && kind == Error::Kind::TimedOut && w.deadline->hasExpired())
            || w.pendingAtAbort || x.aborted || resetBy(y);
    if (!allowed)
        return fail(what + QStringLiteral(" was rejected with %1 instead of Canceled").arg(describe(w.result)));
}

void Sequence::finishRead(Side &x, Side &y, ReadRec &rec)
{
    const QString what = QStringLiteral("%1.read #%2").arg(x.name).arg(rec.number);
    if (rec.future.resultCount() != 1)
        return fail(what + QStringLiteral(" finished without a result"));
    rec.done = true;
    rec.result = rec.future.result();
    const ReadResult &r = rec.result;
    if (r.isData()) {
        if (x.readEnd)
            return fail(what + QStringLiteral(" gave %1 bytes after the read side ended with %2 (Eof and errors are sticky)")
                                       .arg(r.data().size()).arg(describe(*x.readEnd)));
        if (x.readShut)
            return fail(what + QStringLiteral(" gave %1 bytes after shutdown(Read)").arg(r.data().size()));
        if (rec.pendingAtAbort || rec.pendingAtDestroy)
            return fail(what + QStringLiteral(", pending when its flow was aborted or destroyed, gave data"));
        const QString wrong = checkSegment(y.stream, x.received, r.data());
        if (!wrong.isEmpty())
            return fail(what + QStringLiteral(": ") + wrong);
        x.received += r.data();
        ++x.dataReads;
        return;
    }
    // A read that times out may be polled after a later-issued one ended the read side.
    if (r.isError() && r.error().kind() == Error::Kind::TimedOut && !rec.pendingAtAbort && !rec.pendingAtDestroy
        && !rec.endedAtCall) {
        // Not sticky, and nothing consumed: the stream check on later reads finds lost bytes.
        if (!rec.deadline)
            return fail(what + QStringLiteral(" timed out but had no deadline"));
        if (!rec.deadline->hasExpired())
            return fail(what + QStringLiteral(" timed out %1 ms before its deadline").arg(rec.deadline->remainingTime()));
        if (rec.afterShut)
            return fail(what + QStringLiteral(" timed out after shutdown(Read); reads then give Eof at once"));
        return;
    }
    if (x.readEnd) {
        if (r != *x.readEnd)
            return fail(what + QStringLiteral(" gave %1 after an earlier read gave %2 (Eof and errors are sticky)")
                                       .arg(describe(r), describe(*x.readEnd)));
        return;
    }
    if (rec.pendingAtAbort || rec.pendingAtDestroy) {
        if (!(r.isError() && r.error().kind() == Error::Kind::Aborted))
            return fail(what + QStringLiteral(", pending when its flow was %1, gave %2 instead of an error of kind Aborted")
                                       .arg(rec.pendingAtDestroy ? QStringLiteral("destroyed") : QStringLiteral("aborted"),
                                            describe(r)));
    } else if (r.isEof()) {
        bool peerFinished = y.writeShutRequested && x.received == y.stream;
        for (size_t i = y.firstOpenWrite; peerFinished && i < y.writes.size(); ++i) {
            const WriteRec &w = y.writes[i];
            if (!w.done && !w.afterShut && !w.payload.isEmpty())
                peerFinished = false;
        }
        // A Unix socket has no reset: a peer's abort reads as end of stream (SocketPairFactory, 2).
        const bool resetAsEof = resetBy(y) && m_factory.peerResetMayReadAsEof();
        if (!(x.readShut || rec.afterShut || peerFinished || resetAsEof)) {
            return fail(what + QStringLiteral(" gave Eof, but %1 (read %2 of the %3 bytes the peer's writes accepted)")
                                       .arg(y.writeShutRequested ? QStringLiteral("not all the peer's data was read before it")
                                                                 : QStringLiteral("the peer never shut its write side"))
                                       .arg(x.received.size())
                                       .arg(y.stream.size()));
        }
    } else {
        const Error::Kind kind = r.error().kind();
        const bool allowed = (kind == Error::Kind::Aborted && (x.aborted || x.destroyed))
                || (kind == Error::Kind::Reset && resetBy(y))
                // close() kept what it could for later reads and discarded the rest: the gap
                // is an error, never a plain Eof
                || (kind == Error::Kind::Discarded && x.closeCalled);
        if (kind == Error::Kind::Discarded)
            x.discardedRead = true;
        if (!allowed)
            return fail(what + QStringLiteral(" gave %1, but nothing aborted this flow or reset its peer").arg(describe(r)));
        if (kind == Error::Kind::Reset && r.error().endpoint().isEmpty())
            return fail(what + QStringLiteral(" gave a reset error that names no endpoint: ") + describe(r));
    }
    x.readEnd = r;
}

void Sequence::pollVoids(Side &x, Side &y)
{
    for (VoidRec &v : x.voids) {
        if (failed())
            return;
        if (!v.done && v.isFinished())
            finishVoid(x, y, v);
    }
}

void Sequence::finishVoid(Side &x, Side &y, VoidRec &v)
{
    v.done = true;
    const bool disrupted = x.aborted || x.destroyed || resetBy(y);
    const QString what = v.kind == VoidRec::Close ? QStringLiteral("%1.close()").arg(x.name)
                                                  : QStringLiteral("%1.shutdown(%2)").arg(x.name, v.kind == VoidRec::ShutdownRead ? QStringLiteral("Read") : v.kind == VoidRec::ShutdownWrite ? QStringLiteral("Write") : QStringLiteral("ReadWrite"));
    const int results = v.kind == VoidRec::Close ? v.close.resultCount() : v.shutdown.resultCount();
    if (results != 1)
        return fail(what + QStringLiteral(" finished without a result"));
    if (!x.alive())
        return;
    // Ok means every accepted byte was handed to the transport (contract: nothing lost silently).
    bool ok = false;
    if (v.kind == VoidRec::Close) {
        const CloseResult r = v.close.result();
        if (x.closeResult && r != *x.closeResult)
            return fail(what + QStringLiteral(" gave %1, an earlier close() %2 (every close() gives the same)")
                                       .arg(debugString(r), debugString(*x.closeResult)));
        x.closeResult = r;
        if (r.bytesDiscarded() < 0)
            return fail(what + QStringLiteral(" discarded %1 bytes").arg(r.bytesDiscarded()));
        if (!r.isOk() && !disrupted)
            return fail(what + QStringLiteral(" gave %1 though nothing aborted this flow or reset its peer").arg(debugString(r)));
        ok = r.isOk();
        if (x.flow->state() != Flow::State::Closed)
            return fail(what + QStringLiteral(" resolved but its state is %1").arg(name(x.flow->state())));
        if (!(x.aborted || resetBy(y) || y.writeShutRequested))
            return fail(what + QStringLiteral(" resolved although the peer never closed its side"));
    } else {
        const WriteResult r = v.shutdown.result();
        if (!r.isOk() && !disrupted)
            return fail(what + QStringLiteral(" gave %1 though nothing aborted this flow or reset its peer").arg(describe(r)));
        ok = r.isOk() && v.kind != VoidRec::ShutdownRead;
        if (v.kind != VoidRec::ShutdownRead) {
            const Flow::WriteState ws = x.flow->writeState();
            if (ws != Flow::WriteState::Closed && ws != Flow::WriteState::Failed)
                return fail(what + QStringLiteral(" resolved but its write side is %1").arg(name(ws)));
        }
    }
    if (ok && x.flow->stats().bytesWritten != x.stream.size())
        return fail(what + QStringLiteral(" resolved Ok but only %1 of the %2 accepted bytes were handed to the transport")
                                   .arg(x.flow->stats().bytesWritten).arg(x.stream.size()));
    if (v.kind != VoidRec::ShutdownRead && !x.aborted && !resetBy(y)
        && (x.flow->bytesQueued() != 0 || x.flow->writesWaiting() != 0))
        return fail(what + QStringLiteral(" resolved with %1 bytes still queued and %2 writes waiting")
                                   .arg(x.flow->bytesQueued()).arg(x.flow->writesWaiting()));
}

void Sequence::checkInvariants(Side &x, Side &y)
{
    Flow *f = x.flow;
    const int waiting = f->writesWaiting();
    const qint64 queued = f->bytesQueued();
    const qint64 mark = f->highWaterMark();
    if (mark != x.highWaterMark)
        return fail(QStringLiteral("%1.highWaterMark() is %2, set to %3").arg(x.name).arg(mark).arg(x.highWaterMark));
    if (waiting != x.unresolvedWrites)
        return fail(QStringLiteral("%1.writesWaiting() is %2 but %3 writes are unresolved").arg(x.name).arg(waiting).arg(x.unresolvedWrites));
    if (waiting > 0 && queued < mark)
        return fail(QStringLiteral("%1: %2 writes wait although bytesQueued() %3 is below highWaterMark() %4")
                            .arg(x.name).arg(waiting).arg(queued).arg(mark));
    if (queued != x.lastBytesQueued.value_or(0))
        return fail(QStringLiteral("%1.bytesQueued() is %2 but bytesQueuedChanged last said %3")
                            .arg(x.name).arg(queued).arg(x.lastBytesQueued.value_or(0)));
    if (waiting != x.lastWritesWaiting.value_or(0))
        return fail(QStringLiteral("%1.writesWaiting() is %2 but writesWaitingChanged last said %3")
                            .arg(x.name).arg(waiting).arg(x.lastWritesWaiting.value_or(0)));
    const Flow::State st = f->state();
    const Flow::ReadState rs = f->readState();
    const Flow::WriteState ws = f->writeState();
    if (st != x.state || rs != x.readState || ws != x.writeState)
        return fail(QStringLiteral("%1: state %2/%3/%4 but the signals said %5/%6/%7")
                            .arg(x.name, name(st), name(rs), name(ws), name(x.state), name(x.readState), name(x.writeState)));
    // close() discards unread input past its bound: the read side then fails (Discarded).
    if (rs != Flow::ReadState::Open
        && !(x.readShut || x.aborted || resetBy(y) || y.writeShutRequested
             || (x.closeCalled && rs == Flow::ReadState::Failed)))
        return fail(QStringLiteral("%1: the read side is %2 but nothing ended it").arg(x.name, name(rs)));
    if (ws != Flow::WriteState::Open && !(x.writeShutRequested || x.aborted || resetBy(y)))
        return fail(QStringLiteral("%1: the write side is %2 but nothing ended it").arg(x.name, name(ws)));
    if (st == Flow::State::Closing && !x.closeCalled)
        return fail(QStringLiteral("%1 is Closing but close() was never called").arg(x.name));
    if (st == Flow::State::Closed && !(x.aborted || resetBy(y) || (rs != Flow::ReadState::Open && ws != Flow::WriteState::Open)))
        return fail(QStringLiteral("%1 is Closed but neither both directions ended nor an abort or reset happened").arg(x.name));
    if (x.errorSignals == 0 ? !f->error().isNone() : f->error() != x.lastError)
        return fail(QStringLiteral("%1.error() is %2 but errorOccurred said %3")
                            .arg(x.name, debugString(f->error()), x.errorSignals ? debugString(x.lastError) : QStringLiteral("nothing")));
    const FlowStats s = f->stats();
    x.stats = s;
    if (s.bytesRead != x.received.size() || s.readOps != x.dataReads)
        return fail(QStringLiteral("%1.stats(): bytesRead %2, readOps %3, but reads gave %4 bytes in %5 reads")
                            .arg(x.name).arg(s.bytesRead).arg(s.readOps).arg(x.received.size()).arg(x.dataReads));
    if (s.writeOps != x.okNonEmptyWrites)
        return fail(QStringLiteral("%1.stats().writeOps is %2 but %3 non-empty writes were accepted")
                            .arg(x.name).arg(s.writeOps).arg(x.okNonEmptyWrites));
    if (s.bytesWritten < 0 || s.bytesWritten > x.stream.size())
        return fail(QStringLiteral("%1.stats().bytesWritten is %2 but only %3 bytes were accepted")
                            .arg(x.name).arg(s.bytesWritten).arg(x.stream.size()));
    if (s.bytesWritten + queued > x.stream.size())
        return fail(QStringLiteral("%1: bytesWritten %2 + bytesQueued %3 exceed the %4 bytes accepted")
                            .arg(x.name).arg(s.bytesWritten).arg(queued).arg(x.stream.size()));
    if (x.observeData && x.sentData.size() != s.bytesWritten)
        return fail(QStringLiteral("%1: dataSent carried %2 bytes but stats().bytesWritten is %3")
                            .arg(x.name).arg(x.sentData.size()).arg(s.bytesWritten));
}

void Sequence::finalChecks()
{
    for (int i = 0; i < 2 && !failed(); ++i) {
        Side &x = m_sides[i];
        Side &y = m_sides[1 - i];
        // Every future finished (contract 4).
        if (hasUnfinished(x))
            return fail(QStringLiteral("%1 has unfinished futures at the end").arg(x.name));
        if (x.alive()) {
            if (x.flow->state() != Flow::State::Closed)
                return fail(QStringLiteral("%1 is %2 after close() resolved").arg(x.name, name(x.flow->state())));
            if (x.flow->bytesQueued() != 0 || x.flow->writesWaiting() != 0)
                return fail(QStringLiteral("%1 still queues %2 bytes / %3 writes when Closed").arg(x.name).arg(x.flow->bytesQueued()).arg(x.flow->writesWaiting()));
        }
        // The ledger: one writeQueued per call, with its size; accepted xor rejected, matching
        // the future; every accepted write sent unless the connection was dropped.
        const bool dropped = x.aborted || x.destroyedOpen || resetBy(y);
        if (x.ledger.size() != x.writes.size())
            return fail(QStringLiteral("%1: %2 write calls but %3 writeQueued signals").arg(x.name).arg(x.writes.size()).arg(x.ledger.size()));
        for (const WriteRec &w : x.writes) {
            const Ledger &l = x.ledger[w.id - 1];
            if (l.size != w.payload.size())
                return fail(QStringLiteral("%1: writeQueued(%2, %3) for a write of %4 bytes").arg(x.name).arg(w.id).arg(l.size).arg(w.payload.size()));
            if (w.result.isOk() && (l.accepted != 1 || l.rejected != 0))
                return fail(QStringLiteral("%1: write #%2 resolved Ok, ledger accepted %3 rejected %4").arg(x.name).arg(w.id).arg(l.accepted).arg(l.rejected));
            if (w.result.isOk() && !dropped && l.sent != 1)
                return fail(QStringLiteral("%1: write #%2 was accepted and the flow closed cleanly, but writeSent(%2) never came").arg(x.name).arg(w.id));
        }
        // Stats and data signals against what the model saw.
        const FlowStats &s = x.stats;
        if (s.bytesRead != x.received.size() || s.writeOps != x.okNonEmptyWrites)
            return fail(QStringLiteral("%1: final stats bytesRead %2 writeOps %3, model %4 / %5").arg(x.name).arg(s.bytesRead).arg(s.writeOps).arg(x.received.size()).arg(x.okNonEmptyWrites));
        if (!dropped && s.bytesWritten != x.stream.size())
            return fail(QStringLiteral("%1 closed cleanly but handed %2 of its %3 accepted bytes to the transport").arg(x.name).arg(s.bytesWritten).arg(x.stream.size()));
        if (x.observeData) {
            if (!x.stream.startsWith(x.sentData))
                return fail(QStringLiteral("%1: dataSent is not a prefix of the accepted bytes (%2)").arg(x.name, QString::fromLatin1(describeMismatch(x.sentData, x.stream.left(x.sentData.size())))));
            if (!y.stream.startsWith(x.arrived))
                return fail(QStringLiteral("%1: dataArrived is not a prefix of the peer's accepted bytes (%2)").arg(x.name, QString::fromLatin1(describeMismatch(x.arrived, y.stream.left(x.arrived.size())))));
            if (!x.readShut && !x.arrived.startsWith(x.received))
                return fail(QStringLiteral("%1: read more than dataArrived reported").arg(x.name));
        }
        if (x.errorSignals > 1)
            return fail(QStringLiteral("%1: errorOccurred %2 times").arg(x.name).arg(x.errorSignals));
        // The stream itself: what y's writes accepted, x read, exactly once and in order,
        // unless the connection was dropped or x stopped reading (then a prefix, checked as
        // the reads came in).
        // close() may have discarded input past its bound: then its reads ended with Discarded
        // and the flow counted what it threw away.
        const bool discarded = x.closeCalled && x.discardedRead;
        const bool undisturbed = !x.aborted && !x.destroyed && !resetBy(y) && !x.readShut;
        if (undisturbed && x.closeResult) {
            // Nothing lost silently: each byte the peer's writes accepted was read or counted.
            const qint64 counted = x.closeResult->bytesDiscarded();
            if (x.received.size() + counted != y.stream.size())
                return fail(QStringLiteral("%1 read %2 bytes and close() discarded %3, but the peer's accepted writes hold %4")
                                    .arg(x.name).arg(x.received.size()).arg(counted).arg(y.stream.size()));
            if ((counted > 0) != x.discardedRead)
                return fail(QStringLiteral("close() discarded %1 bytes of %2's input, but %3 read gave Discarded")
                                    .arg(counted).arg(x.name, x.discardedRead ? QStringLiteral("a") : QStringLiteral("no")));
        }
        const bool clean = undisturbed && !discarded;
        if (clean) {
            if (x.received != y.stream)
                return fail(QStringLiteral("%1 read %2 bytes, but the peer's accepted writes hold %3: %4")
                                    .arg(x.name).arg(x.received.size()).arg(y.stream.size())
                                    .arg(QString::fromLatin1(describeMismatch(x.received, y.stream))));
            if (!x.readEnd || !x.readEnd->isEof())
                return fail(QStringLiteral("%1's reads ended with %2 instead of Eof").arg(x.name, x.readEnd ? describe(*x.readEnd) : QStringLiteral("nothing")));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One sequence

QString Sequence::run()
{
    configure();
    FlowPair pair = m_factory.createPair(m_config.bufferSize);
    if (!pair.first || !pair.second)
        return QStringLiteral("the %1 factory gave no pair: %2").arg(m_factory.name(), m_factory.lastError());
    m_sides[0].owner = std::move(pair.first);
    m_sides[1].owner = std::move(pair.second);
    for (Side &x : m_sides) {
        x.flow = x.owner.get();
        connectSignals(x);
        if (x.highWaterMark != x.flow->highWaterMark())
            x.flow->setHighWaterMark(x.highWaterMark);
    }
    for (int i = 0; i < m_config.operations && !failed(); ++i) {
        randomOperation(i);
        poll();
    }
    if (!failed())
        settle();
    if (!failed())
        drain();
    if (!failed())
        finalChecks();
    // Tear down; what is left must not crash, whatever failed.
    for (Side &x : m_sides) {
        x.owner.reset();
        x.flow = nullptr;
    }
    QCoreApplication::processEvents();
    return m_failure;
}

quint64 envSeed(bool *given)
{
    bool ok = false;
    const quint64 seed = qgetenv("RILL_MODEL_SEED").toULongLong(&ok, 0);
    *given = ok;
    return ok ? seed : QRandomGenerator::system()->generate64();
}

// RILL_MODEL_SEQUENCES, or 0: each factory's default.
int envSequences()
{
    bool ok = false;
    const int n = qEnvironmentVariableIntValue("RILL_MODEL_SEQUENCES", &ok);
    return ok && n > 0 ? n : 0;
}

// RILL_MODEL_TRANSPORT: the transports to run; empty: all.
QStringList envTransports()
{
    QStringList names;
    const QStringList parts = qEnvironmentVariable("RILL_MODEL_TRANSPORT").split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString &part : parts)
        names << part.trimmed().toLower();
    return names;
}

const QStringList &allTransports()
{
    static const QStringList names{QStringLiteral("pipe"), QStringLiteral("tcp"), QStringLiteral("unix"),
                                   QStringLiteral("example"), QStringLiteral("tls")};
    return names;
}

} // namespace

class TestModelCheck : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void checkerCatchesBadStreams_data();
    void checkerCatchesBadStreams();
    void randomSequences_data();
    void randomSequences();

private:
    quint64 m_seed = 0;
    bool m_seedGiven = false;
    int m_sequences = 0; // 0: each factory's default
    QStringList m_transports;
};

void TestModelCheck::initTestCase()
{
    m_seed = envSeed(&m_seedGiven);
    m_sequences = envSequences();
    m_transports = envTransports();
    for (const QString &transport : std::as_const(m_transports)) {
        if (!allTransports().contains(transport))
            QFAIL(qPrintable(QStringLiteral("RILL_MODEL_TRANSPORT names \"%1\"; the transports are %2")
                                     .arg(transport, allTransports().join(QStringLiteral(", ")))));
    }
    qInfo("model check: first seed %llu%s, %s sequences per transport, transports %s "
          "(RILL_MODEL_SEED, RILL_MODEL_SEQUENCES, RILL_MODEL_TRANSPORT)",
          m_seed, m_seedGiven ? " (from RILL_MODEL_SEED)" : "",
          m_sequences ? qPrintable(QString::number(m_sequences)) : "the default number of",
          qPrintable((m_transports.isEmpty() ? allTransports() : m_transports).join(QLatin1Char(','))));
}

// The model's own heart: the segment check must catch lost, duplicated, reordered and invented
// bytes, and accept the right ones.
void TestModelCheck::checkerCatchesBadStreams_data()
{
    QTest::addColumn<QByteArray>("received");
    QTest::addColumn<QByteArray>("segment");
    QTest::addColumn<bool>("good");
    QTest::addColumn<QString>("says");
    // The peer's accepted writes held "abcdefghij".
    QTest::newRow("first segment") << QByteArray() << QByteArrayLiteral("abc") << true << QString();
    QTest::newRow("next segment") << QByteArrayLiteral("abc") << QByteArrayLiteral("defghij") << true << QString();
    QTest::newRow("lost bytes") << QByteArrayLiteral("abc") << QByteArrayLiteral("fgh") << false << QStringLiteral("lost");
    QTest::newRow("duplicated bytes") << QByteArrayLiteral("abc") << QByteArrayLiteral("cde") << false << QStringLiteral("duplicated");
    QTest::newRow("reordered bytes") << QByteArrayLiteral("abc") << QByteArrayLiteral("edf") << false << QStringLiteral("differ");
    QTest::newRow("invented bytes") << QByteArrayLiteral("abc") << QByteArrayLiteral("dXf") << false << QStringLiteral("corrupted");
    QTest::newRow("beyond what was accepted") << QByteArrayLiteral("abcdefgh") << QByteArrayLiteral("ijk") << false << QStringLiteral("only 10 bytes");
    QTest::newRow("empty segment") << QByteArrayLiteral("abc") << QByteArray() << false << QStringLiteral("zero bytes");
}

void TestModelCheck::checkerCatchesBadStreams()
{
    QFETCH(QByteArray, received);
    QFETCH(QByteArray, segment);
    QFETCH(bool, good);
    QFETCH(QString, says);
    const QString verdict = checkSegment(QByteArrayLiteral("abcdefghij"), received, segment);
    if (good) {
        QVERIFY2(verdict.isEmpty(), qPrintable(QStringLiteral("a correct segment was rejected: ") + verdict));
    } else {
        QVERIFY2(!verdict.isEmpty(), "a wrong segment was accepted");
        QVERIFY2(verdict.contains(says), qPrintable(QStringLiteral("the verdict does not say \"%1\": %2").arg(says, verdict)));
    }
}

void TestModelCheck::randomSequences_data()
{
    QTest::addColumn<QString>("transport");
    for (const QString &transport : allTransports())
        QTest::newRow(qPrintable(transport)) << transport;
}

void TestModelCheck::randomSequences()
{
    QFETCH(QString, transport);
    if (!m_transports.isEmpty() && !m_transports.contains(transport))
        QSKIP("not among RILL_MODEL_TRANSPORT");
    std::unique_ptr<FlowPairFactory> factory = makeFactory(transport);
    QVERIFY2(factory, qPrintable(QStringLiteral("no factory for ") + transport));
    const int sequences = m_sequences > 0 ? m_sequences : factory->defaultSequences();
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < sequences; ++i) {
        const quint64 seed = m_seed + quint64(i);
        Sequence sequence(*factory, seed);
        const QString failure = sequence.run();
        if (!failure.isEmpty()) {
            const QString message =
                    QStringLiteral("%1\n  sequence %2 of %3 (%4)\n  reproduce: RILL_MODEL_TRANSPORT=%5 RILL_MODEL_SEED=%6 "
                                   "RILL_MODEL_SEQUENCES=1 %7\n  operations:\n%8")
                            .arg(failure)
                            .arg(i + 1)
                            .arg(sequences)
                            .arg(sequence.configText())
                            .arg(transport)
                            .arg(seed)
                            .arg(QCoreApplication::applicationFilePath())
                            .arg(sequence.logTail());
            QFAIL(qPrintable(message));
        }
    }
    qInfo("model check: %d %s sequences passed in %lld ms", sequences, qPrintable(transport), qint64(clock.elapsed()));
}

QTEST_GUILESS_MAIN(TestModelCheck)
#include "tst_modelcheck.moc"
