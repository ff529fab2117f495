// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::Channel: framed reads and buffered writes over any flow.
//
//   1. Reads: lines (kept or stripped terminators, a last line without one), exact sizes,
//      delimiters, readSome, peek; the stream ending inside each; LineTooLong and recovery;
//      call order; cancel and deadlines consume nothing; Aborted when the channel or the flow
//      goes away. The callback forms: in the context's thread, at once when buffered, without
//      nesting; in call order with futures; a destroyed context takes nothing; Aborted (or not
//      called, with the channel as context) when the channel goes; deadlines; the same results
//      as the futures; called from another thread; with a context in another thread, later
//      reads wait for the callback, and a context destroyed first gives the bytes back; called
//      after the channel's thread finished (Aborted).
//   2. The model: random protocol traffic (lines, length-prefixed records, delimited parts,
//      binary runs) delivered in random segments (every split point of a short stream, single
//      bytes, random sizes, one huge segment) over PipeFlow, and by a Python peer over TCP and a
//      Unix socket, read with random mixes of the read calls; every result is checked against a
//      reference reader working on the whole stream. The reads are futures, try*() reads and
//      callbacks.
//      Reproducing a failure: RILL_CHANNEL_SEED=<seed> RILL_CHANNEL_SEQUENCES=1 tst_channel model
//      (the failure message prints the command).
//   3. Writes: random writes of every kind arrive in order, the buffer within its limit; a
//      burst of small writes costs one flow write; flush(); write() false and
//      drained() while the peer does not read (pipe and TCP); 1 GiB offered to a stalled peer
//      keeps every buffer bounded; an automatic flush's error is kept; shutdown and close flush
//      first.
//   4. The three ways to wait: then(context), result() from another thread, co_await.
//   5. Under every fault mode of Rill::Test (rill::test::addFaultRows()): framed reads of a
//      mixed stream, and lines written, through a FaultyFlow that splits, delays, holds,
//      stalls, ends or resets the stream at its middle.
#include "../shared/rng.h"
#include "../shared/sockettest.h"

#include <rill/channel.h>
#include <rill/connect.h>
#include <rill/endpoint.h>
#include <rill/pipeflow.h>
#include <rill/test/faultyflow.h>
#include <rill/test/qtesthelpers.h>

#include <QCoroFuture>
#include <QCoroTask>

#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryFile>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <functional>
#include <memory>
#include <optional>

using rill::Channel;
using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;
using sockettest::KiB;
using sockettest::MiB;
using sockettest::GiB;

namespace {

// A channel over one end of a pipe; the test plays the peer on the other end.
struct Fixture
{
    explicit Fixture(qint64 pipeBuffer = PipeFlow::DefaultBufferSize)
    {
        auto [a, b] = PipeFlow::createPair(pipeBuffer);
        near = std::move(a);
        peer = std::move(b);
        channel = std::make_unique<Channel>(near.get());
    }
    ~Fixture()
    {
        channel.reset();
        near.reset();
        peer.reset();
    }
    Q_DISABLE_COPY(Fixture)

    std::unique_ptr<PipeFlow> near;
    std::unique_ptr<PipeFlow> peer;
    std::unique_ptr<Channel> channel;
};

ReadResult data(const QByteArray &bytes)
{
    return ReadResult::fromData(bytes);
}

bool isError(const ReadResult &r, Error::Kind kind)
{
    return r.isError() && r.error().kind() == kind;
}

bool isError(const WriteResult &r, Error::Kind kind)
{
    return r.isError() && r.error().kind() == kind;
}

#define RILL_VERIFY_ERROR(result, kind)                                                        \
    QVERIFY2(isError((result), (kind)),                                                        \
             qPrintable(QStringLiteral("expected an error of kind %1, got %2")                 \
                                .arg(QString::fromLatin1(enumName(kind)),                      \
                                     debugString(result))))

// Runs the event loop until the peer flow's writes were handed over (a pipe delivers at the next
// turn) and the future is finished.
template<typename T>
T awaitResult(const QFuture<T> &future, bool *ok)
{
    *ok = waitFor(future) && future.resultCount() == 1;
    return *ok ? future.result() : T();
}

// RILL_AWAIT for an expression (a call): evaluated once.
#define RILL_GET(expression, out)                                                              \
    do {                                                                                       \
        const auto future_ = (expression);                                                     \
        RILL_AWAIT(future_, out);                                                              \
    } while (false)

#define RILL_AWAIT_EQ(future, expected)                                                        \
    do {                                                                                       \
        bool ok_ = false;                                                                      \
        const auto result_ = awaitResult((future), &ok_);                                      \
        QVERIFY2(ok_, "the future never finished: " #future);                                  \
        QCOMPARE(result_, (expected));                                                         \
    } while (false)

// ---------------------------------------------------------------------------------------------
// The model: a reference reader over the whole stream.

class Reference
{
public:
    explicit Reference(QByteArray stream) : m_stream(std::move(stream)) {}

    qsizetype position() const { return m_position; }
    qsizetype left() const { return m_stream.size() - m_position; }
    const QByteArray &stream() const { return m_stream; }

    ReadResult line(qsizetype max, Channel::Terminator terminator)
    {
        if (left() == 0)
            return ReadResult::eof();
        const qsizetype found = QByteArrayView(m_stream).sliced(m_position, qMin(max, left())).indexOf('\n');
        const qsizetype newline = found < 0 ? -1 : m_position + found;
        if (newline >= 0) {
            QByteArray bytes = m_stream.mid(m_position, newline - m_position + 1);
            m_position = newline + 1;
            if (terminator == Channel::Terminator::Strip) {
                bytes.chop(1);
                if (bytes.endsWith('\r'))
                    bytes.chop(1);
            }
            return ReadResult::fromData(bytes);
        }
        if (left() >= max)
            return tooLong();
        return take(left()); // the last line, without an end of line
    }

    ReadResult until(const QByteArray &delimiter, qsizetype max, Channel::Terminator terminator)
    {
        if (left() == 0)
            return ReadResult::eof();
        // Only within max: a delimiter absent from the rest must not cost a scan of it all.
        const qsizetype found = QByteArrayView(m_stream).sliced(m_position, qMin(max, left())).indexOf(delimiter);
        const qsizetype at = found < 0 ? -1 : m_position + found;
        if (at >= 0) {
            QByteArray bytes = m_stream.mid(m_position, at - m_position + delimiter.size());
            m_position = at + delimiter.size();
            if (terminator == Channel::Terminator::Strip)
                bytes.chop(delimiter.size());
            return ReadResult::fromData(bytes);
        }
        if (left() >= max)
            return tooLong();
        return ended();
    }

    ReadResult exactly(qsizetype size)
    {
        if (left() == 0)
            return ReadResult::eof();
        if (left() < size)
            return ended();
        return take(size);
    }

    // readSome's size depends on what had arrived: the reference checks and follows it.
    QString some(qsizetype max, const ReadResult &got)
    {
        if (left() == 0)
            return got == ReadResult::eof() ? QString() : QStringLiteral("expected Eof");
        if (!got.isData() || got.data().isEmpty() || got.data().size() > max)
            return QStringLiteral("expected 1 to %1 bytes").arg(max);
        if (got.data() != m_stream.mid(m_position, got.data().size()))
            return QStringLiteral("bytes differ from the stream at offset %1").arg(m_position);
        m_position += got.data().size();
        return {};
    }

private:
    ReadResult take(qsizetype size)
    {
        const QByteArray bytes = m_stream.mid(m_position, size);
        m_position += size;
        return ReadResult::fromData(bytes);
    }
    static ReadResult tooLong() { return ReadResult::fromError(Error(Error::Kind::LineTooLong, {})); }
    static ReadResult ended() { return ReadResult::fromError(Error(Error::Kind::Closed, {})); }

    QByteArray m_stream;
    qsizetype m_position = 0;
};

// Data and Eof must match exactly; errors by kind (their messages are the channel's prose).
bool sameResult(const ReadResult &a, const ReadResult &b)
{
    if (a.isError() || b.isError())
        return a.isError() && b.isError() && a.error().kind() == b.error().kind();
    return a == b;
}

const QList<QByteArray> &delimiters()
{
    static const QList<QByteArray> list{"\r\n\r\n", "--end--", "|", "\n"};
    return list;
}

// Random protocol traffic. Also notes where each item starts, so the reader can follow the
// protocol most of the time (and wander off it with random reads the rest).
struct Traffic
{
    enum class Item { Line, Record, Delimited, Binary };
    QByteArray stream;
    QHash<qsizetype, std::pair<Item, int>> items; // offset -> kind, delimiter index
};

Traffic makeTraffic(Rng &rng, qsizetype size)
{
    static const QByteArray pool = pattern(1 << 20, 0xc4a7);
    auto randomBytes = [&](qsizetype n) {
        return QByteArray(pool.constData() + rng.range(0, pool.size() - n), n);
    };
    auto text = [&](qsizetype n) {
        QByteArray t(n, Qt::Uninitialized);
        for (qsizetype i = 0; i < n; ++i)
            t[i] = char(' ' + rng.range(0, 94));
        return t;
    };
    Traffic t;
    while (t.stream.size() < size) {
        const auto item = Traffic::Item(rng.range(0, 3));
        const int delimiter = int(rng.range(0, delimiters().size() - 1));
        t.items.insert(t.stream.size(), {item, delimiter});
        switch (item) {
        case Traffic::Item::Line:
            t.stream += text(rng.logRange(0, 300)) + (rng.chance(50) ? "\r\n" : "\n");
            break;
        case Traffic::Item::Record: {
            const qsizetype n = rng.logRange(0, 4000);
            const char header[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
            t.stream += QByteArray(header, 4) + randomBytes(n);
            break;
        }
        case Traffic::Item::Delimited:
            t.stream += text(rng.logRange(0, 500)) + delimiters().at(delimiter);
            break;
        case Traffic::Item::Binary:
            t.stream += randomBytes(rng.chance(10) ? rng.logRange(1, 70000) : rng.logRange(1, 200));
            break;
        }
    }
    if (rng.chance(30)) // ends inside a line
        t.stream += text(rng.range(1, 40));
    return t;
}

// Reads a channel to its end with random reads, checking each result against the reference.
// feed() makes progress on the transport (writes the next segments, runs the event loop);
// returns false when nothing more can happen.
class ModelReader
{
public:
    ModelReader(Channel *channel, const Traffic &traffic, Rng &rng)
        : m_channel(channel), m_traffic(traffic), m_reference(traffic.stream), m_rng(rng)
    {}

    QString run(const std::function<bool()> &feed)
    {
        for (int round = 0; round < 200000; ++round) {
            // Sometimes several reads are queued at once: they must be served in call order.
            const int batch = m_rng.chance(20) ? int(m_rng.range(2, 5)) : 1;
            std::vector<Op> ops;
            for (int i = 0; i < batch; ++i) {
                ops.push_back(issue(i == 0, ops));
                if (!m_failure.isEmpty())
                    return m_failure;
            }
            for (Op &op : ops) {
                while (!op.future.isFinished()) {
                    if (!feed() && !op.future.isFinished())
                        return QStringLiteral("%1 never finished (%2 bytes buffered, %3 left in "
                                              "the stream, the flow's read side %4)")
                                .arg(op.text, QString::number(m_channel->bytesBuffered()),
                                     QString::number(m_reference.left()),
                                     QString::fromLatin1(enumName(m_channel->flow()->readState())));
                }
                if (op.future.resultCount() != 1)
                    return QStringLiteral("%1 finished without a result").arg(op.text);
                const QString wrong = check(op, op.future.result());
                if (!wrong.isEmpty())
                    return wrong;
            }
            if (const QString wrong = checkPeek(); !wrong.isEmpty())
                return wrong;
            if (m_sawEof)
                return {};
        }
        return QStringLiteral("the reader made no progress to the end of the stream");
    }

    QString log() const { return m_log.join(QLatin1Char('\n')); }

private:
    enum class Kind { Line, Until, Exactly, Some };
    struct Op
    {
        Kind kind;
        qsizetype size;
        QByteArray delimiter;
        Channel::Terminator terminator;
        QString text;
        QFuture<ReadResult> future;
        bool recordHeader = false;
    };

    Op issue(bool first, const std::vector<Op> &ahead)
    {
        Op op;
        op.terminator = m_rng.chance(50) ? Channel::Terminator::Keep : Channel::Terminator::Strip;
        const auto item = m_traffic.items.constFind(m_reference.position());
        if (first && m_recordSize >= 0) { // the body of a record whose header was just read
            op.kind = Kind::Exactly;
            op.size = qMax<qsizetype>(m_recordSize, 1);
            m_recordSize = -1;
        } else if (first && item != m_traffic.items.cend() && m_rng.chance(70)) {
            switch (item->first) {
            case Traffic::Item::Line:
                op.kind = Kind::Line;
                op.size = m_rng.chance(90) ? 1024 : m_rng.logRange(1, 400);
                break;
            case Traffic::Item::Record:
                op.kind = Kind::Exactly;
                op.size = 4;
                op.recordHeader = true;
                break;
            case Traffic::Item::Delimited:
                op.kind = Kind::Until;
                op.delimiter = delimiters().at(item->second);
                op.size = m_rng.chance(90) ? 1024 : m_rng.logRange(op.delimiter.size(), 600);
                break;
            case Traffic::Item::Binary:
                op.kind = Kind::Some;
                op.size = m_rng.logRange(1, 100000);
                break;
            }
        } else {
            op.kind = Kind(m_rng.range(0, 3));
            op.delimiter = delimiters().at(m_rng.range(0, delimiters().size() - 1));
            op.size = m_rng.logRange(op.kind == Kind::Until ? op.delimiter.size() : 1,
                                     op.kind == Kind::Exactly ? 5000 : 100000);
        }
        if (op.kind != Kind::Some && m_rng.chance(30) && tryNow(op, ahead))
            return op;
        if (m_rng.chance(30)) {
            issueCallback(op);
            return op;
        }
        switch (op.kind) {
        case Kind::Line:
            op.future = m_channel->readLine(op.size, op.terminator);
            op.text = QStringLiteral("readLine(%1, %2)").arg(op.size).arg(int(op.terminator));
            break;
        case Kind::Until:
            op.future = m_channel->readUntil(op.delimiter, op.size, op.terminator);
            op.text = QStringLiteral("readUntil(\"%1\", %2, %3)")
                              .arg(QString::fromLatin1(op.delimiter.toPercentEncoding()),
                                   QString::number(op.size), QString::number(int(op.terminator)));
            break;
        case Kind::Exactly:
            op.future = m_channel->readExactly(op.size);
            op.text = QStringLiteral("readExactly(%1)").arg(op.size);
            break;
        case Kind::Some:
            op.future = m_channel->readSome(op.size);
            op.text = QStringLiteral("readSome(%1)").arg(op.size);
            break;
        }
        return op;
    }

    // The callback forms, with the reader, no context or the channel as the context: the
    // callback finishes a promise of the test's, so the result is checked as a future's.
    void issueCallback(Op &op)
    {
        auto promise = std::make_shared<QPromise<ReadResult>>();
        promise->start();
        op.future = promise->future();
        Channel::ReadCallback callback = [promise](const ReadResult &r) {
            promise->addResult(r);
            promise->finish();
        };
        const int which = int(m_rng.range(0, 2));
        const QObject *context = which == 0 ? &m_context : which == 1 ? nullptr : m_channel;
        const bool keepForm = op.terminator == Channel::Terminator::Keep && m_rng.chance(50);
        switch (op.kind) {
        case Kind::Line:
            if (keepForm)
                m_channel->readLine(op.size, context, callback);
            else
                m_channel->readLine(op.size, op.terminator, context, callback);
            op.text = QStringLiteral("readLine(%1, %2, callback)").arg(op.size).arg(int(op.terminator));
            break;
        case Kind::Until:
            if (keepForm)
                m_channel->readUntil(op.delimiter, op.size, context, callback);
            else
                m_channel->readUntil(op.delimiter, op.size, op.terminator, context, callback);
            op.text = QStringLiteral("readUntil(\"%1\", %2, %3, callback)")
                              .arg(QString::fromLatin1(op.delimiter.toPercentEncoding()),
                                   QString::number(op.size), QString::number(int(op.terminator)));
            break;
        case Kind::Exactly:
            m_channel->readExactly(op.size, context, callback);
            op.text = QStringLiteral("readExactly(%1, callback)").arg(op.size);
            break;
        case Kind::Some:
            m_channel->readSome(op.size, context, callback);
            op.text = QStringLiteral("readSome(%1, callback)").arg(op.size);
            break;
        }
    }

    // The try*() reads: a result at once only when no read is waiting ahead, and std::nullopt
    // only when what is buffered cannot decide the read. True when it gave a result (op then
    // holds it as a finished future, checked as any other); else op is issued as a future.
    bool tryNow(Op &op, const std::vector<Op> &ahead)
    {
        const bool waitingAhead = std::any_of(ahead.begin(), ahead.end(),
                                              [](const Op &o) { return !o.future.isFinished(); });
        std::optional<ReadResult> now;
        switch (op.kind) {
        case Kind::Line:
            now = m_channel->tryReadLine(op.size, op.terminator);
            op.text = QStringLiteral("tryReadLine(%1, %2)").arg(op.size).arg(int(op.terminator));
            break;
        case Kind::Until:
            now = m_channel->tryReadUntil(op.delimiter, op.size, op.terminator);
            op.text = QStringLiteral("tryReadUntil(\"%1\", %2, %3)")
                              .arg(QString::fromLatin1(op.delimiter.toPercentEncoding()),
                                   QString::number(op.size), QString::number(int(op.terminator)));
            break;
        case Kind::Exactly:
            now = m_channel->tryReadExactly(op.size);
            op.text = QStringLiteral("tryReadExactly(%1)").arg(op.size);
            break;
        case Kind::Some:
            return false;
        }
        if (now) {
            if (waitingAhead)
                m_failure = QStringLiteral("%1 answered while an earlier read waited").arg(op.text);
            op.future = QtFuture::makeReadyFuture(*now);
            return true;
        }
        if (ahead.empty()) { // else the reference's position is behind: ahead is not checked yet
            const qsizetype buffered = m_channel->bytesBuffered();
            const QByteArray next = m_reference.stream().mid(m_reference.position(),
                                                             qMin(buffered, op.size));
            const bool decided = buffered >= op.size
                    || (op.kind == Kind::Line && next.contains('\n'))
                    || (op.kind == Kind::Until && next.contains(op.delimiter));
            if (decided)
                m_failure = QStringLiteral("%1 gave nothing with %2 bytes buffered at stream "
                                           "offset %3, enough to answer")
                                    .arg(op.text, QString::number(buffered),
                                         QString::number(m_reference.position()));
        }
        return false;
    }

    QString check(const Op &op, const ReadResult &got)
    {
        const qsizetype at = m_reference.position();
        m_log << QStringLiteral("  at %1: %2 -> %3").arg(QString::number(at), op.text, debugString(got));
        if (m_log.size() > 12)
            m_log.removeFirst();
        if (m_sawEof && !got.isEof())
            return QStringLiteral("%1 after Eof gave %2").arg(op.text, debugString(got));
        if (got.isEof())
            m_sawEof = m_reference.left() == 0;
        if (op.kind == Kind::Some) {
            const QString wrong = m_reference.some(op.size, got);
            return wrong.isEmpty() ? QString()
                                   : QStringLiteral("%1 at %2 gave %3: %4")
                                             .arg(op.text, QString::number(at), debugString(got), wrong);
        }
        ReadResult expected;
        switch (op.kind) {
        case Kind::Line:
            expected = m_reference.line(op.size, op.terminator);
            break;
        case Kind::Until:
            expected = m_reference.until(op.delimiter, op.size, op.terminator);
            break;
        case Kind::Exactly:
            expected = m_reference.exactly(op.size);
            break;
        case Kind::Some:
            break;
        }
        if (!sameResult(got, expected)) {
            return QStringLiteral("%1 at stream offset %2 of %3 gave %4, the reference %5")
                    .arg(op.text, QString::number(at), QString::number(m_reference.stream().size()),
                         debugString(got), debugString(expected));
        }
        if (op.recordHeader && got.isData()) {
            const auto *h = reinterpret_cast<const uchar *>(got.data().constData());
            m_recordSize = qsizetype(h[0]) << 24 | qsizetype(h[1]) << 16 | qsizetype(h[2]) << 8 | h[3];
        }
        return {};
    }

    QString checkPeek()
    {
        const qsizetype buffered = m_channel->bytesBuffered();
        if (buffered > m_reference.left())
            return QStringLiteral("bytesBuffered() is %1 but only %2 bytes are left in the stream")
                    .arg(buffered).arg(m_reference.left());
        const qsizetype max = m_rng.logRange(0, 5000);
        const QByteArray peeked = m_channel->peek(max);
        if (peeked.size() != qMin(max, buffered)
            || peeked != m_reference.stream().mid(m_reference.position(), peeked.size()))
            return QStringLiteral("peek(%1) gave %2 bytes that are not the next %3 of the stream")
                    .arg(max).arg(peeked.size()).arg(qMin(max, buffered));
        if (m_channel->bytesBuffered() != buffered)
            return QStringLiteral("peek() consumed bytes");
        return {};
    }

    Channel *m_channel;
    const Traffic &m_traffic;
    Reference m_reference;
    Rng &m_rng;
    qsizetype m_recordSize = -1;
    bool m_sawEof = false;
    QStringList m_log;
    QString m_failure;
    QObject m_context; // the callbacks' context
};

// Writes chunk until the channel refuses it and a pass of the event loop moves no byte to the
// transport: the peer's buffers, the flow's queue and the channel's buffer are full. False if
// that never happened within 1 GiB.
bool fillUntilStalled(Channel *channel, Flow *flow, const QByteArray &chunk, qint64 *taken)
{
    for (int quiet = 0; quiet < 20;) {
        if (*taken >= 1 * GiB)
            return false;
        if (channel->write(chunk)) {
            *taken += chunk.size();
            quiet = 0;
            continue;
        }
        const qint64 sent = flow->stats().bytesWritten;
        const qint64 queued = flow->bytesQueued();
        QCoreApplication::processEvents();
        if (flow->stats().bytesWritten == sent && flow->bytesQueued() == queued)
            ++quiet;
        else
            quiet = 0;
    }
    return true;
}

// Starts peer.py MODE ENDPOINT --listen ARGS... (arguments: MODE, ENDPOINT, then the rest) and
// connects a flow to it; null, and why, on failure.
std::unique_ptr<Flow> connectToPeer(sockettest::Peer *peer, QStringList arguments, QString *why)
{
    arguments.insert(2, QStringLiteral("--listen"));
    const auto listening = peer->startPython(arguments)
            ? peer->waitForEvent(QStringLiteral("listening"))
            : std::nullopt;
    if (!listening) {
        *why = peer->describe();
        return nullptr;
    }
    QFuture<rill::FlowResult<Flow>> connecting = rill::connectTo(
            rill::Endpoint::parse(listening->value(QLatin1String("endpoint")).toString()));
    if (!waitFor(connecting)) {
        *why = QStringLiteral("connecting never finished") + peer->describe();
        return nullptr;
    }
    rill::FlowResult<Flow> connected = connecting.result();
    if (!connected.isOk())
        *why = rill::errorMessage(connected.error()) + peer->describe();
    return connected.isOk() ? connected.takeFlow() : nullptr;
}

// How a pipe sequence cuts the stream into the peer's writes.
enum class Cut { SingleBytes, Small, Random, Huge };

QList<QByteArray> cut(const QByteArray &stream, Cut how, Rng &rng)
{
    QList<QByteArray> segments;
    for (qsizetype at = 0; at < stream.size();) {
        qsizetype n = stream.size();
        switch (how) {
        case Cut::SingleBytes: n = 1; break;
        case Cut::Small: n = rng.range(1, 64); break;
        case Cut::Random: n = rng.logRange(1, 128 * 1024); break;
        case Cut::Huge: break;
        }
        n = qMin(n, stream.size() - at);
        segments << stream.mid(at, n);
        at += n;
    }
    return segments;
}

// One pipe sequence: the peer writes the segments (a few per turn of the event loop, so they
// arrive as separate segments) while the model reads. Empty if all was right.
QString pipeSequence(quint64 seed, QString *log)
{
    Rng rng(seed);
    const Cut how = Cut(rng.range(0, 3));
    // Small segments cost a turn of the event loop each: they get shorter streams.
    const qsizetype most = how == Cut::SingleBytes ? 2000 : how == Cut::Small ? 40000 : 300000;
    const Traffic traffic = makeTraffic(rng, rng.logRange(1, most));
    // A small pipe buffer hands over part of a write at a time: more boundaries.
    const PipeFlow::Pair pair = PipeFlow::createPair(rng.chance(30) ? rng.logRange(1, 4096)
                                                                    : PipeFlow::DefaultBufferSize);
    PipeFlow *peer = pair.second.get();
    Channel channel(pair.first.get());
    QList<QByteArray> segments = cut(traffic.stream, how, rng);
    qsizetype next = 0;
    bool shut = false;
    int idleTurns = 0;
    qint64 moved = 0;
    auto feed = [&]() -> bool {
        const int writes = int(rng.logRange(1, 64));
        for (int i = 0; i < writes && next < segments.size(); ++i)
            (void)peer->write(segments.at(next++));
        if (next == segments.size() && !shut) {
            (void)peer->shutdown(Flow::Direction::Write);
            shut = true;
        }
        QCoreApplication::processEvents();
        // A pipe delivers within a few turns: a thousand turns that move no byte mean never.
        const qint64 now = peer->stats().bytesWritten + pair.first->stats().bytesRead;
        idleTurns = now == moved ? idleTurns + 1 : 0;
        moved = now;
        return !shut || idleTurns < 1000;
    };
    ModelReader reader(&channel, traffic, rng);
    const QString failure = reader.run(feed);
    if (!failure.isEmpty())
        *log = QStringLiteral("%1 bytes, cut %2 into %3 segments\n")
                       .arg(traffic.stream.size())
                       .arg(int(how))
                       .arg(segments.size())
               + reader.log();
    return failure;
}

quint64 envSeed(bool *given)
{
    bool ok = false;
    const quint64 seed = qgetenv("RILL_CHANNEL_SEED").toULongLong(&ok, 0);
    *given = ok;
    return ok ? seed : QRandomGenerator::system()->generate64();
}

// ---------------------------------------------------------------------------------------------
// Coroutines

QCoro::Task<QByteArray> askOverChannel(Channel *channel, QByteArray request)
{
    channel->writeLine(request);
    const WriteResult flushed = co_await channel->flush();
    if (!flushed.isOk())
        co_return QByteArray("flush failed");
    const ReadResult reply = co_await channel->readLine(1024, Channel::StripTerminator);
    co_return reply.isData() ? reply.data() : QByteArray("no reply: ") + debugString(reply).toUtf8();
}

} // namespace

class TestChannel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    // 1. Reads
    void readLineKeepsOrStripsTerminator();
    void lastLineWithoutTerminatorThenEof();
    void lineTooLongRecovery();
    void streamEndsInside_data();
    void streamEndsInside();
    void readErrorAfterPartialLine();
    void delimiterAcrossSegments();
    void readsServedInCallOrder();
    void peekDoesNotConsume();
    void tryReadsTakeOnlyWhatIsBuffered();
    void tryReadWaitsBehindPendingReads();
    void invalidArguments();
    void cancelPendingReadLine();
    void cancelledReadBehindAnother();
    void deadlines();
    void channelDestroyedFinishesEverything();
    void flowDestroyedFinishesEverything();
    void callbackInContextThreadAtOnceWhenBuffered();
    void callbackReadingAgainDoesNotNest();
    void callbacksAndFuturesInCallOrder();
    void callbackContextDestroyedTakesNothing();
    void callbackLostToAContextDestroyedGivesTheBytesBack();
    void callbackInAnotherThreadHoldsLaterReads();
    void callbackFormsAfterTheChannelsThreadFinished();
    void callbackChannelDestroyed();
    void callbackDeadline();
    void callbackResultsSameAsFutures_data();
    void callbackResultsSameAsFutures();
    void callbackFromAnotherThread();

    // 2. The model
    void everySplitPoint();
    void model();
    void modelOverSockets_data();
    void modelOverSockets();

    // 3. Writes
    void burstOfSmallWritesIsOneFlowWrite();
    void randomWritesArriveInOrder();
    void flushResolvesWhenAccepted();
    void writeRefusedUntilDrained();
    void writeRefusedUntilDrainedTcp();
    void gigabyteOfferedStaysBounded();
    void autoFlushErrorIsKept_data();
    void autoFlushErrorIsKept();
    void shutdownAndCloseFlushFirst();

    // 4. Styles
    void thenWithContext();
    void resultFromAnotherThread();
    void coAwait();

    // 5. Under every fault mode
    void framedReadsUnderEveryFault_data();
    void framedReadsUnderEveryFault();
    void writtenLinesUnderEveryFault_data();
    void writtenLinesUnderEveryFault();

private:
    quint64 m_seed = 0;
    bool m_seedGiven = false;
};

void TestChannel::initTestCase()
{
    m_seed = envSeed(&m_seedGiven);
    qInfo("channel model: first seed %llu%s (RILL_CHANNEL_SEED, RILL_CHANNEL_SEQUENCES)", m_seed,
          m_seedGiven ? " (from RILL_CHANNEL_SEED)" : "");
}

// ---------------------------------------------------------------------------------------------
// 1. Reads

void TestChannel::readLineKeepsOrStripsTerminator()
{
    Fixture f;
    (void)f.peer->write("one\ntwo\r\n\nthree\r\n\r\nfour\n");
    RILL_AWAIT_EQ(f.channel->readLine(100), data("one\n"));
    RILL_AWAIT_EQ(f.channel->readLine(100), data("two\r\n"));
    RILL_AWAIT_EQ(f.channel->readLine(100, Channel::StripTerminator), data(QByteArray()));
    RILL_AWAIT_EQ(f.channel->readLine(100, Channel::StripTerminator), data("three"));
    RILL_AWAIT_EQ(f.channel->readLine(100, Channel::StripTerminator), data(QByteArray()));
    // maxLength counts the end of line: "four\n" is five bytes.
    RILL_AWAIT_EQ(f.channel->readLine(5, Channel::StripTerminator), data("four"));
    QCOMPARE(f.channel->bytesBuffered(), 0);
}

void TestChannel::lastLineWithoutTerminatorThenEof()
{
    Fixture f;
    QFuture<ReadResult> first = f.channel->readLine(100);
    QFuture<ReadResult> last = f.channel->readLine(100);
    QFuture<ReadResult> end = f.channel->readLine(100);
    (void)f.peer->write("line\nno end of line");
    QVERIFY(waitFor(first));
    QCOMPARE(first.result(), data("line\n"));
    QVERIFY2(!last.isFinished(), "a line without its end was delivered before the stream ended");
    (void)f.peer->shutdown(Flow::Direction::Write);
    RILL_AWAIT_EQ(last, data("no end of line"));
    RILL_AWAIT_EQ(end, ReadResult::eof());
    RILL_AWAIT_EQ(f.channel->readSome(10), ReadResult::eof()); // sticky
}

void TestChannel::lineTooLongRecovery()
{
    Fixture f;
    (void)f.peer->write("0123456789abcdef\nshort\n");
    ReadResult r;
    RILL_GET(f.channel->readLine(8), r);
    RILL_VERIFY_ERROR(r, Error::Kind::LineTooLong);
    QVERIFY2(f.channel->bytesBuffered() >= 8, "the long line was consumed");
    QCOMPARE(f.channel->peek(8), QByteArray("01234567"));
    // The channel stays usable: the caller takes the long line in pieces.
    RILL_AWAIT_EQ(f.channel->readSome(10), data("0123456789"));
    RILL_AWAIT_EQ(f.channel->readLine(8), data("abcdef\n"));
    RILL_AWAIT_EQ(f.channel->readLine(8), data("short\n"));

    // The same when the long line arrives a byte at a time: the error comes as soon as maxLength
    // bytes are there, not at the end of the line.
    QFuture<ReadResult> pending = f.channel->readLine(4);
    for (char c : QByteArray("abcd")) {
        QVERIFY(!pending.isFinished());
        (void)f.peer->write(QByteArray(1, c));
        QVERIFY(spinUntil([&] { return f.channel->bytesBuffered() > 0 || pending.isFinished(); }));
        QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    }
    RILL_AWAIT(pending, r);
    RILL_VERIFY_ERROR(r, Error::Kind::LineTooLong);
    QCOMPARE(errorKindName(Error::Kind::LineTooLong), QStringLiteral("line too long"));
    RILL_AWAIT_EQ(f.channel->readExactly(4), data("abcd"));
}

void TestChannel::streamEndsInside_data()
{
    QTest::addColumn<QByteArray>("sent");
    QTest::addColumn<int>("read"); // 0 readLine, 1 readExactly(10), 2 readUntil("--end--")
    QTest::addColumn<ReadResult>("expected");
    QTest::addColumn<Error::Kind>("errorKind"); // when expected is an error
    QTest::addColumn<QByteArray>("leftReadable");
    const ReadResult closed = ReadResult::fromError(Error(Error::Kind::Closed, {}));
    QTest::newRow("line") << QByteArray("half a li") << 0 << data("half a li") << Error::Kind::None << QByteArray();
    QTest::newRow("line, nothing sent") << QByteArray() << 0 << ReadResult::eof() << Error::Kind::None << QByteArray();
    QTest::newRow("exact") << QByteArray("12345") << 1 << closed << Error::Kind::Closed << QByteArray("12345");
    QTest::newRow("exact, nothing sent") << QByteArray() << 1 << ReadResult::eof() << Error::Kind::None << QByteArray();
    QTest::newRow("delimiter, before it") << QByteArray("record") << 2 << closed << Error::Kind::Closed << QByteArray("record");
    QTest::newRow("delimiter, half of it") << QByteArray("record--en") << 2 << closed << Error::Kind::Closed << QByteArray("record--en");
    QTest::newRow("delimiter, nothing sent") << QByteArray() << 2 << ReadResult::eof() << Error::Kind::None << QByteArray();
}

void TestChannel::streamEndsInside()
{
    QFETCH(QByteArray, sent);
    QFETCH(int, read);
    QFETCH(ReadResult, expected);
    QFETCH(Error::Kind, errorKind);
    QFETCH(QByteArray, leftReadable);
    Fixture f;
    QFuture<ReadResult> pending = read == 0 ? f.channel->readLine(100)
            : read == 1                     ? f.channel->readExactly(10)
                                            : f.channel->readUntil("--end--", 100);
    if (!sent.isEmpty())
        (void)f.peer->write(sent);
    QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    QCoreApplication::processEvents();
    QVERIFY2(!pending.isFinished(), "resolved before the stream ended");
    (void)f.peer->shutdown(Flow::Direction::Write);
    ReadResult r;
    RILL_AWAIT(pending, r);
    if (errorKind != Error::Kind::None) {
        RILL_VERIFY_ERROR(r, errorKind);
        if (read == 1)
            QVERIFY2(r.error().message().contains(QStringLiteral("after 5 of 10 bytes")),
                     qPrintable(r.error().message()));
    } else {
        QCOMPARE(r, expected);
    }
    // What arrived is not thrown away.
    QCOMPARE(f.channel->bytesBuffered(), leftReadable.size());
    if (!leftReadable.isEmpty())
        RILL_AWAIT_EQ(f.channel->readSome(100), data(leftReadable));
    RILL_AWAIT_EQ(f.channel->readSome(100), ReadResult::eof());
}

// A stream that fails inside a line: the line's bytes stay readable, the read gives the error.
void TestChannel::readErrorAfterPartialLine()
{
    Fixture f;
    QFuture<ReadResult> line = f.channel->readLine(100);
    (void)f.peer->write("partial");
    QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    QCoreApplication::processEvents();
    f.peer->abort();
    ReadResult r;
    RILL_AWAIT(line, r);
    RILL_VERIFY_ERROR(r, Error::Kind::Reset);
    RILL_AWAIT_EQ(f.channel->readSome(100), data("partial"));
    RILL_GET(f.channel->readSome(100), r);
    RILL_VERIFY_ERROR(r, Error::Kind::Reset);
}

void TestChannel::delimiterAcrossSegments()
{
    Fixture f;
    QFuture<ReadResult> first = f.channel->readUntil("\r\n\r\n", 100);
    QFuture<ReadResult> second = f.channel->readUntil("\r\n\r\n", 100, Channel::StripTerminator);
    const QByteArray sent = "Host: x\r\n\r\nBody\r\n\r\n";
    for (char c : sent) { // one segment per byte
        (void)f.peer->write(QByteArray(1, c));
        QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
        QCoreApplication::processEvents();
    }
    RILL_AWAIT_EQ(first, data("Host: x\r\n\r\n"));
    RILL_AWAIT_EQ(second, data("Body"));
}

void TestChannel::readsServedInCallOrder()
{
    Fixture f;
    QList<QFuture<ReadResult>> reads{f.channel->readExactly(3), f.channel->readLine(100),
                                     f.channel->readUntil(";", 100), f.channel->readSome(2),
                                     f.channel->readLine(100, Channel::StripTerminator)};
    (void)f.peer->write("abcline\nrec;xyz\n");
    const QList<ReadResult> expected{data("abc"), data("line\n"), data("rec;"), data("xy"),
                                     data("z")};
    for (int i = 0; i < reads.size(); ++i)
        RILL_AWAIT_EQ(reads[i], expected[i]);
}

void TestChannel::peekDoesNotConsume()
{
    Fixture f;
    QCOMPARE(f.channel->peek(10), QByteArray());
    QFuture<ReadResult> read = f.channel->readExactly(20);
    (void)f.peer->write("0123456789");
    QVERIFY(spinUntil([&] { return f.channel->bytesBuffered() == 10; }));
    QCOMPARE(f.channel->peek(4), QByteArray("0123"));
    QCOMPARE(f.channel->peek(100), QByteArray("0123456789"));
    QCOMPARE(f.channel->bytesBuffered(), 10);
    (void)f.peer->write("abcdefghij");
    RILL_AWAIT_EQ(read, data("0123456789abcdefghij"));
}

// The try*() reads answer from the channel's buffer only: nothing before a read brought the
// bytes in, then line after line, LineTooLong without consuming, the last line and Eof.
void TestChannel::tryReadsTakeOnlyWhatIsBuffered()
{
    Fixture f;
    QFuture<WriteResult> written = f.peer->write("one\r\ntwo\nthree;rest");
    QVERIFY(waitFor(written));
    QCOMPARE(f.channel->tryReadLine(100), std::nullopt); // in the flow, not in the channel
    QCOMPARE(f.channel->bytesBuffered(), 0);

    RILL_AWAIT_EQ(f.channel->readLine(100), data("one\r\n"));
    QCOMPARE(f.channel->tryReadLine(2), std::optional(ReadResult::fromError(
            Error(Error::Kind::LineTooLong, QStringLiteral("no end of line in the first 2 bytes")))));
    QCOMPARE(f.channel->tryReadLine(100, Channel::StripTerminator), std::optional(data("two")));
    QCOMPARE(f.channel->tryReadLine(100), std::nullopt); // "three;rest": no end of line yet
    QCOMPARE(f.channel->tryReadExactly(20), std::nullopt);
    QCOMPARE(f.channel->tryReadUntil(";", 100, Channel::StripTerminator), std::optional(data("three")));
    QCOMPARE(f.channel->tryReadExactly(2), std::optional(data("re")));
    QCOMPARE(f.channel->bytesBuffered(), 2);

    (void)f.peer->shutdown(Flow::Direction::Write);
    QFuture<ReadResult> more = f.channel->readExactly(3); // sees the end: 2 of 3 bytes
    QVERIFY(waitFor(more));
    QCOMPARE(more.result().error().kind(), Error::Kind::Closed);
    QCOMPARE(f.channel->tryReadExactly(3)->error().kind(), Error::Kind::Closed);
    QCOMPARE(f.channel->tryReadLine(100), std::optional(data("st"))); // the last line
    QCOMPARE(f.channel->tryReadLine(100), std::optional(ReadResult::eof()));
    QCOMPARE(f.channel->tryReadUntil(";", 10), std::optional(ReadResult::eof()));
    QCOMPARE(f.channel->tryReadLine(0)->error().kind(), Error::Kind::InvalidArgument);
}

// A try*() read never overtakes a read that waits, even when the buffer could answer it.
void TestChannel::tryReadWaitsBehindPendingReads()
{
    Fixture f;
    QFuture<ReadResult> waiting = f.channel->readExactly(10);
    (void)f.peer->write("ab\ncd");
    QVERIFY(spinUntil([&] { return f.channel->bytesBuffered() == 5; }));
    QVERIFY(!waiting.isFinished());
    QCOMPARE(f.channel->tryReadLine(100), std::nullopt);
    QCOMPARE(f.channel->bytesBuffered(), 5);
    waiting.cancel(); // a cancelled read no longer holds the line back
    QCOMPARE(f.channel->tryReadLine(100), std::optional(data("ab\n")));
}

void TestChannel::invalidArguments()
{
    Fixture f;
    (void)f.peer->write("x\n");
    const QList<QFuture<ReadResult>> reads{f.channel->readLine(0), f.channel->readExactly(0),
                                           f.channel->readSome(-1), f.channel->readUntil("", 10),
                                           f.channel->readUntil("abc", 2)};
    for (const QFuture<ReadResult> &r : reads) {
        QVERIFY(r.isFinished());
        RILL_VERIFY_ERROR(r.result(), Error::Kind::InvalidArgument);
    }
    RILL_AWAIT_EQ(f.channel->readLine(10), data("x\n")); // nothing consumed
    Channel none(nullptr);
    RILL_VERIFY_ERROR(none.readLine(10).result(), Error::Kind::InvalidArgument);
    QVERIFY(!none.write("x"));
    RILL_VERIFY_ERROR(none.flush().result(), Error::Kind::InvalidArgument);
}

void TestChannel::cancelPendingReadLine()
{
    Fixture f;
    (void)f.peer->write("hel");
    QFuture<ReadResult> cancelled = f.channel->readLine(100);
    QVERIFY(spinUntil([&] { return f.channel->bytesBuffered() == 3; }));
    cancelled.cancel();
    (void)f.peer->write("lo\nworld\n");
    QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    QCoreApplication::processEvents();
    // Nothing was consumed by the cancelled read, nor lost.
    RILL_AWAIT_EQ(f.channel->readLine(100), data("hello\n"));
    RILL_AWAIT_EQ(f.channel->readLine(100), data("world\n"));
}

void TestChannel::cancelledReadBehindAnother()
{
    Fixture f;
    QFuture<ReadResult> first = f.channel->readExactly(4);
    QFuture<ReadResult> cancelled = f.channel->readExactly(4);
    QFuture<ReadResult> third = f.channel->readExactly(4);
    cancelled.cancel();
    (void)f.peer->write("aaaabbbb");
    RILL_AWAIT_EQ(first, data("aaaa"));
    RILL_AWAIT_EQ(third, data("bbbb"));
}

void TestChannel::deadlines()
{
    using namespace std::chrono_literals;
    Fixture f;
    // Nothing arrives: TimedOut, and the channel stays usable.
    (void)f.peer->write("par");
    QFuture<ReadResult> timed = f.channel->readLine(100, QDeadlineTimer(50ms));
    QFuture<ReadResult> untimed = f.channel->readExactly(2);
    ReadResult r;
    RILL_AWAIT(timed, r);
    RILL_VERIFY_ERROR(r, Error::Kind::TimedOut);
    RILL_AWAIT_EQ(untimed, data("pa")); // the next read goes on, nothing was consumed
    (void)f.peer->write("tial\n");
    RILL_AWAIT_EQ(f.channel->readLine(100, QDeadlineTimer(10s)), data("rtial\n"));

    // A deadline already passed does not stop a read the buffer answers at once.
    (void)f.peer->write("ready\n");
    QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    QFuture<ReadResult> peekable = f.channel->readSome(1); // makes the channel read the flow
    RILL_AWAIT_EQ(peekable, data("r"));
    RILL_AWAIT_EQ(f.channel->readLine(100, QDeadlineTimer(0)), data("eady\n"));
    RILL_GET(f.channel->readLine(100, QDeadlineTimer(0)), r);
    RILL_VERIFY_ERROR(r, Error::Kind::TimedOut);

    // A later read times out while an earlier one still waits; the earlier one is served.
    QFuture<ReadResult> earlier = f.channel->readExactly(3);
    QFuture<ReadResult> later = f.channel->readExactly(3, QDeadlineTimer(20ms));
    RILL_AWAIT(later, r);
    RILL_VERIFY_ERROR(r, Error::Kind::TimedOut);
    QVERIFY(!earlier.isFinished());
    (void)f.peer->write("abcdef");
    RILL_AWAIT_EQ(earlier, data("abc"));
    RILL_AWAIT_EQ(f.channel->readSome(10), data("def"));
}

void TestChannel::channelDestroyedFinishesEverything()
{
    Fixture f(4 * KiB);
    f.near->setHighWaterMark(1);
    QFuture<ReadResult> read = f.channel->readLine(100);
    // A flush the flow holds back: the peer reads nothing.
    QByteArray big(64 * KiB, 'x');
    QVERIFY(f.channel->write(big));
    QFuture<WriteResult> first = f.channel->flush();
    QVERIFY(f.channel->write(big));
    QFuture<WriteResult> held = f.channel->flush();
    QFuture<WriteResult> closing = f.channel->close();
    QVERIFY(!read.isFinished() && !held.isFinished() && !closing.isFinished());
    f.channel.reset();
    QVERIFY(read.isFinished() && held.isFinished() && closing.isFinished());
    RILL_VERIFY_ERROR(read.result(), Error::Kind::Aborted);
    RILL_VERIFY_ERROR(held.result(), Error::Kind::Aborted);
    RILL_VERIFY_ERROR(closing.result(), Error::Kind::Aborted);
    QVERIFY(first.isFinished());
    QCoreApplication::processEvents(); // the flow's own continuations find the channel gone
}

void TestChannel::flowDestroyedFinishesEverything()
{
    Fixture f;
    QFuture<ReadResult> read = f.channel->readLine(100);
    f.near.reset();
    ReadResult r;
    RILL_AWAIT(read, r);
    RILL_VERIFY_ERROR(r, Error::Kind::Aborted);
    QCOMPARE(f.channel->flow(), nullptr);
    RILL_GET(f.channel->readExactly(3), r);
    RILL_VERIFY_ERROR(r, Error::Kind::Aborted);
    QVERIFY(f.channel->write("x"));
    WriteResult w;
    RILL_GET(f.channel->flush(), w);
    RILL_VERIFY_ERROR(w, Error::Kind::Aborted);
    RILL_GET(f.channel->close(), w);
    RILL_VERIFY_ERROR(w, Error::Kind::Aborted);
}

// Callback reads: what each call gave, and in which thread (callbacks may run in several).
// Read results and threads once size() says all came.
struct CallbackLog
{
    QList<ReadResult> results;
    QList<QThread *> threads;
    mutable QMutex mutex;
    Channel::ReadCallback record()
    {
        return [this](const ReadResult &r) {
            QMutexLocker locker(&mutex);
            results << r;
            threads << QThread::currentThread();
        };
    }
    qsizetype size() const
    {
        QMutexLocker locker(&mutex);
        return results.size();
    }
};

void TestChannel::callbackInContextThreadAtOnceWhenBuffered()
{
    Fixture f;
    QObject context;
    CallbackLog log;
    // Not buffered: later, from the event loop, in the context's (this) thread.
    f.channel->readLine(100, &context, log.record());
    QVERIFY(log.results.isEmpty());
    (void)f.peer->write("one\ntwo\nthree\n");
    QTRY_COMPARE(log.size(), 1);
    QCOMPARE(log.results.at(0), data("one\n"));
    QCOMPARE(log.threads.at(0), QThread::currentThread());
    // Buffered: inside the call, each form.
    f.channel->readLine(100, Channel::StripTerminator, &context, log.record());
    QCOMPARE(log.results.size(), 2);
    QCOMPARE(log.results.at(1), data("two"));
    f.channel->readExactly(2, nullptr, log.record()); // null context: the channel's thread
    QCOMPARE(log.results.size(), 3);
    QCOMPARE(log.results.at(2), data("th"));
    f.channel->readUntil("e", 10, &context, log.record());
    f.channel->readUntil("e", 10, Channel::StripTerminator, &context, log.record());
    f.channel->readSome(10, &context, log.record());
    QCOMPARE(log.results.size(), 6);
    QCOMPARE(log.results.mid(3), (QList<ReadResult>{data("re"), data(""), data("\n")}));
    QCOMPARE(f.channel->bytesBuffered(), 0);
    // Invalid arguments: at once too.
    f.channel->readLine(0, &context, log.record());
    QCOMPARE(log.results.size(), 7);
    RILL_VERIFY_ERROR(log.results.at(6), Error::Kind::InvalidArgument);
    // The flush form.
    std::optional<WriteResult> flushed;
    QVERIFY(f.channel->write("x"));
    f.channel->flush(&context, [&](const WriteResult &r) { flushed = r; });
    QTRY_VERIFY(flushed.has_value());
    QCOMPARE(*flushed, WriteResult::ok());
    flushed.reset();
    f.channel->flush(&context, [&](const WriteResult &r) { flushed = r; });
    QCOMPARE(flushed, std::optional(WriteResult::ok())); // nothing to flush: at once
}

// Reading line after line from the callback: each read is served after the callback that made
// it returns (no call nests in another), in order, both from the buffer and as data arrives.
void TestChannel::callbackReadingAgainDoesNotNest()
{
    Fixture f;
    QObject context;
    QByteArray stream;
    for (int i = 0; i < 2000; ++i)
        stream += QByteArray::number(i) + '\n';
    (void)f.peer->write(stream);
    (void)f.peer->shutdown(Flow::Direction::Write);
    int depth = 0;
    int deepest = 0;
    QByteArray got;
    bool ended = false;
    std::function<void()> next = [&] {
        f.channel->readLine(100, &context, [&](const ReadResult &r) {
            deepest = qMax(deepest, ++depth);
            if (r.isData()) {
                got += r.data();
                next();
            } else {
                QCOMPARE(r, ReadResult::eof());
                ended = true;
            }
            --depth;
        });
    };
    next();
    QTRY_VERIFY(ended);
    QCOMPARE(got, stream);
    QCOMPARE(deepest, 1);
}

void TestChannel::callbacksAndFuturesInCallOrder()
{
    Fixture f;
    QObject context;
    QList<QByteArray> order; // what each read gave, in the order they were answered
    auto record = [&](const char *name) {
        return [&order, name](const ReadResult &r) { order << name + QByteArray("=") + r.data(); };
    };
    f.channel->readExactly(3, &context, record("a"));
    QFuture<ReadResult> b = f.channel->readLine(100);
    (void)b.then([&](const ReadResult &r) { order << "b=" + r.data(); });
    f.channel->readUntil(";", 100, &context, [&](const ReadResult &r) {
        order << "c=" + r.data();
        // Made from the callback: behind the reads made before it (d, e).
        f.channel->readSome(100, &context, record("f"));
    });
    f.channel->readSome(2, &context, record("d"));
    QFuture<ReadResult> e = f.channel->readLine(100, Channel::StripTerminator);
    (void)e.then([&](const ReadResult &r) { order << "e=" + r.data(); });
    (void)f.peer->write("abcline\nrec;xyz\nrest");
    QTRY_COMPARE(order.size(), 6);
    QCOMPARE(order, (QList<QByteArray>{"a=abc", "b=line\n", "c=rec;", "d=xy", "e=z", "f=rest"}));
}

void TestChannel::callbackContextDestroyedTakesNothing()
{
    Fixture f;
    CallbackLog log;
    auto context = std::make_unique<QObject>();
    (void)f.peer->write("hel");
    f.channel->readLine(100, context.get(), log.record());
    QTRY_COMPARE(f.channel->bytesBuffered(), 3);
    context.reset(); // the read is abandoned, as a cancelled future
    (void)f.peer->write("lo\nworld\n");
    QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
    QCoreApplication::processEvents();
    QVERIFY(log.results.isEmpty());
    RILL_AWAIT_EQ(f.channel->readLine(100), data("hello\n")); // nothing consumed, nor lost

    RILL_AWAIT_EQ(f.channel->readLine(100), data("world\n"));

    // Behind another read, its context gone before the bytes come.
    QObject keep;
    auto gone = std::make_unique<QObject>();
    f.channel->readExactly(3, &keep, log.record());
    f.channel->readLine(100, gone.get(), log.record());
    f.channel->readLine(100, &keep, log.record());
    gone.reset();
    (void)f.peer->write("abcline\nrest");
    QTRY_COMPARE(log.size(), 2);
    QCOMPARE(log.results, (QList<ReadResult>{data("abc"), data("line\n")}));
    QCOMPARE(f.channel->peek(100), QByteArray("rest"));
}

// A callback's context in another thread, destroyed after a line was sent to it and before its
// thread ran the call: Qt drops the call, and with it the line. Its bytes go back in front of
// the buffer as they were in the stream (a stripped "\r\n" or delimiter included), and a read
// made meanwhile waited for them.
void TestChannel::callbackLostToAContextDestroyedGivesTheBytesBack()
{
    Fixture f;
    WorkerThread other;
    CallbackLog log;
    auto *context = other.adopt(std::make_unique<QObject>());
    ThreadHold hold(other);
    f.channel->readLine(100, Channel::StripTerminator, context, log.record());
    (void)f.peer->write("one\r\ntwo--three\n");
    QTRY_COMPARE(f.channel->bytesBuffered(), 11); // "one\r\n" sent to the other thread
    QFuture<ReadResult> next = f.channel->readLine(100, Channel::StripTerminator);
    QCOMPARE(f.channel->tryReadLine(100), std::nullopt); // nor does a try*() read pass it
    hold.release(context);
    RILL_AWAIT_EQ(next, data("one"));
    QCOMPARE(f.channel->peek(100), QByteArray("two--three\n"));

    // readUntil with the delimiter stripped.
    auto *again = other.adopt(std::make_unique<QObject>());
    ThreadHold holdAgain(other);
    f.channel->readUntil("--", 100, Channel::StripTerminator, again, log.record());
    QTRY_COMPARE(f.channel->bytesBuffered(), 6);
    holdAgain.release(again);
    RILL_AWAIT_EQ(f.channel->readSome(100), data("two--three\n"));
    QCOMPARE(log.size(), 0);
}

// While a read's result is on its way to a callback in another thread, later reads wait until
// the callback has run, even with their bytes buffered: had the call been dropped, its bytes
// would come first.
void TestChannel::callbackInAnotherThreadHoldsLaterReads()
{
    Fixture f;
    WorkerThread other;
    QFuture<ReadResult> next;
    std::atomic<bool> nextFinishedFirst{true};
    std::atomic<bool> called{false};
    {
        ThreadHold hold(other);
        f.channel->readLine(100, other.context(), [&](const ReadResult &r) {
            nextFinishedFirst = next.isFinished();
            called = r == data("first\n");
        });
        (void)f.peer->write("first\nsecond\n");
        QTRY_COMPARE(f.channel->bytesBuffered(), 7);
        next = f.channel->readLine(100);
    }
    QTRY_VERIFY(called);
    QVERIFY2(!nextFinishedFirst, "a later read was served while the line before it was in flight");
    RILL_AWAIT_EQ(next, data("second\n"));
}

// The channel's thread has finished: the callback forms, which may be called from any thread,
// still call back (Aborted) instead of waiting for a thread that will never run them.
void TestChannel::callbackFormsAfterTheChannelsThreadFinished()
{
    QThread thread;
    thread.start();
    PipeFlow::Pair pair = PipeFlow::createPair();
    auto channel = std::make_unique<Channel>(pair.first.get());
    pair.first->moveToThread(&thread);
    pair.second->moveToThread(&thread);
    channel->moveToThread(&thread);
    thread.quit();
    QVERIFY(thread.wait(5000));
    QObject here;
    CallbackLog log;
    channel->readLine(100, &here, log.record());
    QCOMPARE(log.size(), 1); // at once: its context's thread is this one
    QVERIFY2(isKind(log.results.at(0), Error::Kind::Aborted), qPrintable(debugString(log.results.at(0))));
    std::optional<WriteResult> flushed;
    channel->flush(&here, [&](const WriteResult &r) { flushed = r; });
    QVERIFY(flushed.has_value());
    QVERIFY2(isKind(*flushed, Error::Kind::Aborted), qPrintable(debugString(*flushed)));
    WorkerThread other;
    std::atomic<bool> called{false};
    channel->readSome(100, other.context(), [&](const ReadResult &r) {
        called = isKind(r, Error::Kind::Aborted);
    });
    QTRY_VERIFY(called);
}

void TestChannel::callbackChannelDestroyed()
{
    Fixture f(4 * KiB);
    f.near->setHighWaterMark(1);
    QObject context;
    int calledWithChannel = 0;
    CallbackLog log;
    f.channel->readLine(100, &context, log.record());
    f.channel->readExactly(5, nullptr, log.record());
    // The channel as context: not called while it is half destroyed.
    f.channel->readSome(5, f.channel.get(), [&](const ReadResult &) { ++calledWithChannel; });
    f.channel->readUntil(";", 10, &context, log.record());
    // A flush the flow holds back (until the peer's flow reads it ahead: no turn of the event
    // loop before the channel goes).
    QVERIFY(f.channel->write(QByteArray(64 * KiB, 'x')));
    QVERIFY(f.channel->write(QByteArray(64 * KiB, 'y')));
    std::optional<WriteResult> flushed;
    f.channel->flush(&context, [&](const WriteResult &r) { flushed = r; });
    QVERIFY2(log.results.isEmpty(), qPrintable(debugString(log.results.value(0))));
    QVERIFY2(!flushed, qPrintable(debugString(flushed.value_or(WriteResult()))));
    f.channel.reset();
    QCOMPARE(log.results.size(), 3); // once each, at once (this thread)
    for (const ReadResult &r : log.results)
        RILL_VERIFY_ERROR(r, Error::Kind::Aborted);
    QVERIFY(flushed.has_value());
    RILL_VERIFY_ERROR(*flushed, Error::Kind::Aborted);
    QCoreApplication::processEvents();
    QCOMPARE(calledWithChannel, 0);
    QCOMPARE(log.results.size(), 3);
}

void TestChannel::callbackDeadline()
{
    using namespace std::chrono_literals;
    Fixture f;
    QObject context;
    CallbackLog log;
    (void)f.peer->write("par");
    f.channel->readLine(100, &context, log.record(), QDeadlineTimer(50ms));
    f.channel->readExactly(2, &context, log.record());
    QTRY_COMPARE(log.size(), 2);
    RILL_VERIFY_ERROR(log.results.at(0), Error::Kind::TimedOut);
    QCOMPARE(log.results.at(1), data("pa")); // nothing was consumed by the timed-out read
    // A later read times out while an earlier one waits; the earlier one is served.
    f.channel->readExactly(3, &context, log.record());
    f.channel->readUntil(";", 10, &context, log.record(), QDeadlineTimer(20ms));
    QTRY_COMPARE(log.size(), 3);
    RILL_VERIFY_ERROR(log.results.at(2), Error::Kind::TimedOut);
    (void)f.peer->write("tial\n");
    QTRY_COMPARE(log.size(), 4);
    QCOMPARE(log.results.at(3), data("rti"));
}

void TestChannel::callbackResultsSameAsFutures_data()
{
    QTest::addColumn<QByteArray>("sent");
    QTest::addColumn<bool>("end");  // the peer ends its side after sending
    QTest::addColumn<int>("read");  // 0 readLine(8), 1 readExactly(10), 2 readUntil("--end--", 20), 3 readSome(4)
    QTest::newRow("line") << QByteArray("a line\n") << false << 0;
    QTest::newRow("line too long") << QByteArray("0123456789abcdef\n") << false << 0;
    QTest::newRow("eof inside a line") << QByteArray("half") << true << 0;
    QTest::newRow("eof") << QByteArray() << true << 0;
    QTest::newRow("eof inside an exact read") << QByteArray("12345") << true << 1;
    QTest::newRow("exact") << QByteArray("0123456789") << false << 1;
    QTest::newRow("delimiter too far") << QByteArray(30, 'x') << false << 2;
    QTest::newRow("eof inside a delimiter") << QByteArray("rec--en") << true << 2;
    QTest::newRow("delimited") << QByteArray("rec--end--") << false << 2;
    QTest::newRow("some") << QByteArray("abcdef") << false << 3;
    QTest::newRow("some, eof") << QByteArray() << true << 3;
}

// The same stream read with a future and with a callback: the same result, message included,
// and the same bytes left.
void TestChannel::callbackResultsSameAsFutures()
{
    QFETCH(QByteArray, sent);
    QFETCH(bool, end);
    QFETCH(int, read);
    ReadResult results[2];
    QByteArray left[2];
    for (int callback = 0; callback < 2; ++callback) {
        Fixture f;
        QObject context;
        if (!sent.isEmpty())
            (void)f.peer->write(sent);
        if (end)
            (void)f.peer->shutdown(Flow::Direction::Write);
        std::optional<ReadResult> got;
        auto take = [&](const ReadResult &r) { got = r; };
        QFuture<ReadResult> future;
        switch (read) {
        case 0:
            callback ? f.channel->readLine(8, &context, take) : void(future = f.channel->readLine(8));
            break;
        case 1:
            callback ? f.channel->readExactly(10, &context, take)
                     : void(future = f.channel->readExactly(10));
            break;
        case 2:
            callback ? f.channel->readUntil("--end--", 20, &context, take)
                     : void(future = f.channel->readUntil("--end--", 20));
            break;
        case 3:
            callback ? f.channel->readSome(4, &context, take) : void(future = f.channel->readSome(4));
            break;
        }
        if (!callback) {
            QVERIFY(waitFor(future));
            got = future.result();
        }
        QTRY_VERIFY(got.has_value());
        results[callback] = *got;
        left[callback] = f.channel->peek(100);
    }
    QCOMPARE(results[1], results[0]);
    QCOMPARE(left[1], left[0]);
}

// The callback forms may be called from any thread: queued to the channel's, the callback in
// the context's thread.
void TestChannel::callbackFromAnotherThread()
{
    WorkerThread worker;
    PipeFlow::Pair pair = PipeFlow::createPair();
    Channel *channel = worker.adopt(std::make_unique<Channel>(pair.first.get()));
    PipeFlow *near = worker.adopt(std::move(pair.first));
    PipeFlow *peer = worker.adopt(std::move(pair.second));
    Q_UNUSED(near);
    QObject here;
    CallbackLog log;       // callbacks here
    CallbackLog workerLog; // callbacks in the worker
    channel->readLine(100, &here, log.record());
    channel->readLine(100, Channel::StripTerminator, nullptr, workerLog.record());
    channel->readExactly(2, worker.context(), workerLog.record());
    worker.post([peer] { (void)peer->write("one\ntwo\nthree"); });
    QTRY_COMPARE(log.size(), 1);
    QTRY_COMPARE(workerLog.size(), 2);
    QCOMPARE(log.results, QList<ReadResult>{data("one\n")});
    QCOMPARE(log.threads, QList<QThread *>{QThread::currentThread()});
    QCOMPARE(workerLog.results, (QList<ReadResult>{data("two"), data("th")}));
    QCOMPARE(workerLog.threads, (QList<QThread *>{worker.thread(), worker.thread()}));
    std::optional<WriteResult> flushed;
    QThread *flushedIn = nullptr;
    worker.call([&] { channel->writeLine("back"); });
    channel->flush(&here, [&](const WriteResult &r) {
        flushed = r;
        flushedIn = QThread::currentThread();
    });
    QTRY_VERIFY(flushed.has_value());
    QCOMPARE(*flushed, WriteResult::ok());
    QCOMPARE(flushedIn, QThread::currentThread());
    const QFuture<ReadResult> echoed = worker.call([&] { return peer->read(); });
    QCOMPARE(echoed.result(), data("back\n"));
    // A read still queued to the channel when it goes: Aborted.
    channel->readLine(100, &here, log.record());
    worker.destroy(channel);
    QTRY_COMPARE(log.size(), 2);
    RILL_VERIFY_ERROR(log.results.at(1), Error::Kind::Aborted);
}

// ---------------------------------------------------------------------------------------------
// 2. The model

// A short protocol stream cut at every split point, then at every pair of split points, read
// with one fixed script: the result must not depend on where the segments end.
void TestChannel::everySplitPoint()
{
    static const char raw[] = "GET / HTTP/1.0\r\nA: b\r\n\r\nxyz--end--\n\x00\x00\x00\x03"
                              "abc|tail";
    const QByteArray s(raw, sizeof raw - 1);
    auto script = [](Channel &c) {
        return QList<QFuture<ReadResult>>{c.readLine(100, Channel::StripTerminator),
                                          c.readUntil("\r\n\r\n", 100),
                                          c.readUntil("--end--", 11, Channel::StripTerminator),
                                          c.readLine(1),
                                          c.readExactly(4),
                                          c.readExactly(3),
                                          c.readLine(3),
                                          c.readUntil("|", 2),
                                          c.readSome(1),
                                          c.readLine(5),
                                          c.readLine(5)};
    };
    const QList<ReadResult> expected{
            data("GET / HTTP/1.0"), data("A: b\r\n\r\n"), data("xyz"), data("\n"),
            data(QByteArray("\0\0\0\3", 4)), data("abc"),
            ReadResult::fromError(Error(Error::Kind::LineTooLong, {})), data("|"), data("t"),
            data("ail"), ReadResult::eof()};
    for (qsizetype i = 0; i <= s.size(); ++i) {
        for (qsizetype j = i; j <= s.size(); ++j) {
            Fixture f;
            QList<QFuture<ReadResult>> reads = script(*f.channel);
            for (const QByteArray &part : {s.left(i), s.mid(i, j - i), s.mid(j)}) {
                if (part.isEmpty())
                    continue;
                (void)f.peer->write(part);
                QVERIFY(spinUntil([&] { return f.peer->bytesQueued() == 0; }));
                QCoreApplication::processEvents();
            }
            (void)f.peer->shutdown(Flow::Direction::Write);
            for (int k = 0; k < reads.size(); ++k) {
                QVERIFY2(waitFor(reads[k]), qPrintable(QStringLiteral("split %1/%2: read %3 never finished").arg(i).arg(j).arg(k)));
                QVERIFY2(sameResult(reads[k].result(), expected[k]),
                         qPrintable(QStringLiteral("split %1/%2: read %3 gave %4, expected %5")
                                            .arg(i).arg(j).arg(k)
                                            .arg(debugString(reads[k].result()), debugString(expected[k]))));
            }
        }
    }
}

void TestChannel::model()
{
    bool ok = false;
    int sequences = qEnvironmentVariableIntValue("RILL_CHANNEL_SEQUENCES", &ok);
    if (!ok || sequences <= 0)
        sequences = Sanitized ? 400 : 2000;
    for (int i = 0; i < sequences; ++i) {
        const quint64 seed = m_seed + quint64(i);
        QString log;
        const QString failure = pipeSequence(seed, &log);
        if (!failure.isEmpty())
            QFAIL(qPrintable(failure + QStringLiteral("\n  sequence %1 of %2: ").arg(i + 1).arg(sequences)
                             + log + QStringLiteral("\n  reproduce: RILL_CHANNEL_SEED=%1 RILL_CHANNEL_SEQUENCES=1 %2 model")
                                             .arg(seed).arg(QCoreApplication::applicationFilePath())));
    }
}

void TestChannel::modelOverSockets_data()
{
    QTest::addColumn<bool>("tcp");
    QTest::newRow("tcp") << true;
    QTest::newRow("unix") << false;
}

// The Python peer sends the traffic in random pieces; the kernel decides the segments.
void TestChannel::modelOverSockets()
{
    QFETCH(bool, tcp);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (int i = 0; i < 2; ++i) { // a Python peer per round: its start is most of the time
        const QString endpoint = tcp ? QStringLiteral("tcp:127.0.0.1:0")
                                     : QStringLiteral("unix:") + dir.filePath(QStringLiteral("s%1").arg(i));
        const quint64 seed = m_seed + 1000 + quint64(i);
        Rng rng(seed);
        // Pieces of a few bytes cost the Python peer a system call each: they get less volume.
        const qint64 pieces = rng.logRange(1, 20000);
        const Traffic traffic = makeTraffic(rng, heavyVolume(qMin(400 * KiB, pieces * 4 * KiB)));
        QTemporaryFile file;
        QVERIFY(file.open());
        file.write(traffic.stream);
        file.flush();
        sockettest::Peer peer;
        QString why;
        std::unique_ptr<Flow> flow = connectToPeer(
                &peer,
                {QStringLiteral("send-then-shutdown"), endpoint, QStringLiteral("--file"),
                 file.fileName(), QStringLiteral("--pieces"), QString::number(pieces),
                 QStringLiteral("--seed"), QString::number(seed % 100000)},
                &why);
        QVERIFY2(flow, qPrintable(why));
        Channel channel(flow.get());
        ModelReader reader(&channel, traffic, rng);
        QTimer wake; // so that the deadline is seen even when nothing happens
        wake.start(50);
        const QDeadlineTimer deadline(DefaultTimeout);
        const QString failure = reader.run([&] {
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
            return !deadline.hasExpired();
        });
        if (!failure.isEmpty())
            QFAIL(qPrintable(failure + QStringLiteral("\n  seed %1 (RILL_CHANNEL_SEED=%2 reproduces it)\n")
                                                   .arg(seed).arg(seed - 1000 - quint64(i))
                             + reader.log() + peer.describe()));
        RILL_AWAIT_EQ(channel.close(), WriteResult::ok());
        const auto done = peer.waitForEvent(QStringLiteral("done"));
        QVERIFY2(done, qPrintable(peer.describe()));
        QCOMPARE(done->value(QLatin1String("sent")).toInteger(), traffic.stream.size());
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Writes

void TestChannel::burstOfSmallWritesIsOneFlowWrite()
{
    Fixture f;
    QSignalSpy queued(f.near.get(), &Flow::writeQueued);
    QByteArray expected;
    for (int i = 0; i < 5000; ++i) { // 5000 writes, about 24 KB: below the limit
        const QByteArray piece = QByteArray::number(i) + ' ';
        QVERIFY(i % 2 ? f.channel->write(piece) : f.channel->write(QByteArrayView(piece)));
        expected += piece;
    }
    QCOMPARE(queued.count(), 0); // nothing leaves before the end of the turn
    QCOMPARE(f.channel->bytesToWrite(), expected.size());
    Drained got = readToEnd(f.peer.get(), expected.size());
    QVERIFY(got.finished);
    QCOMPARE(got.data, expected);
    QCOMPARE(queued.count(), 1);
    QCOMPARE(queued.at(0).at(1).toLongLong(), expected.size());

    // Past the limit, each full buffer leaves at once, still a few large writes.
    queued.clear();
    expected.clear();
    const QByteArray line(99, 'l');
    for (int i = 0; i < 10000; ++i) { // 1 MB
        QVERIFY(f.channel->writeLine(line));
        expected += line + '\n';
    }
    got = readToEnd(f.peer.get(), expected.size());
    QVERIFY(got.finished);
    QCOMPARE(got.data, expected);
    const qint64 most = expected.size() / f.channel->writeBufferLimit() + 2;
    QVERIFY2(queued.count() <= most, qPrintable(QStringLiteral("%1 flow writes for %2 bytes")
                                                       .arg(queued.count()).arg(expected.size())));
}

// Every way of writing, random sizes across blocks, the limit and shared arrays, random turns
// and flushes in between, a peer reading slowly: the peer gets exactly what was taken.
void TestChannel::randomWritesArriveInOrder()
{
    Rng rng(m_seed);
    Fixture f(rng.logRange(1, 64 * KiB));
    f.near->setHighWaterMark(rng.logRange(1, 256 * KiB));
    f.channel->setWriteBufferLimit(rng.logRange(1, 128 * KiB));
    QByteArray taken;
    qint64 lastTaken = 0;
    QByteArray received;
    QFuture<ReadResult> read = f.peer->read();
    for (int i = 0; i < 3000; ++i) {
        const QByteArray bytes = pattern(rng.logRange(0, 20000), quint32(i));
        QByteArray expected = bytes;
        bool ok = false;
        switch (rng.range(0, 3)) {
        case 0: ok = f.channel->write(QByteArrayView(bytes)); break;
        case 1: ok = f.channel->write(bytes); break;
        case 2:
            ok = f.channel->writeLine(bytes);
            expected += '\n';
            break;
        case 3:
            (void)f.channel->flush();
            expected = bytes.left(3);
            ok = f.channel->write(QByteArrayView(expected));
            break;
        }
        if (ok) {
            taken += expected;
            lastTaken = expected.size();
        }
        // Past the limit only by one write taken into an empty buffer, and then by no other.
        QVERIFY2(f.channel->bytesToWrite() <= qMax(f.channel->writeBufferLimit(), lastTaken),
                 qPrintable(QStringLiteral("the buffer holds %1 bytes, its limit is %2")
                                    .arg(f.channel->bytesToWrite())
                                    .arg(f.channel->writeBufferLimit())));
        if (rng.chance(30) || !ok)
            QCoreApplication::processEvents();
        while (read.isFinished()) {
            QVERIFY(read.result().isData());
            received += read.result().data();
            read = f.peer->read();
        }
    }
    // The shutdown resolves once every byte left: the peer reads meanwhile.
    const QFuture<WriteResult> shut = f.channel->shutdown(Flow::Direction::Write);
    QVERIFY(waitFor(read));
    if (read.result().isData()) {
        const Drained rest = readToEnd(f.peer.get());
        QVERIFY(rest.finished);
        received += read.result().data() + rest.data;
    }
    RILL_AWAIT_EQ(shut, WriteResult::ok());
    QVERIFY2(received == taken, describeMismatch(received, taken).constData());
}

void TestChannel::flushResolvesWhenAccepted()
{
    Fixture f(4 * KiB);
    f.near->setHighWaterMark(8 * KiB);
    f.channel->setWriteBufferLimit(1 * MiB);
    QSignalSpy queued(f.near.get(), &Flow::writeQueued);
    QVERIFY(f.channel->write("abc"));
    QVERIFY(f.channel->write(QByteArray(1000, 'd')));
    QFuture<WriteResult> flushed = f.channel->flush();
    QVERIFY2(flushed.isFinished(), "a flow below its high-water mark accepts at once");
    QCOMPARE(flushed.result(), WriteResult::ok());
    QCOMPARE(queued.count(), 1); // one flush, one ledger entry
    QCOMPARE(f.channel->bytesToWrite(), 0);
    QCOMPARE(f.channel->flush().result(), WriteResult::ok()); // nothing to flush

    // Above the mark the flow holds the flush back until the peer reads. (The peer's end reads
    // ahead 64 KiB by itself: the stall needs more than that.)
    const qint64 big = 200 * KiB;
    const QByteArray piece(4 * KiB, 'e'); // a pipe takes whole buffers: many, not one
    for (qint64 i = 0; i < big / piece.size(); ++i)
        QVERIFY(f.channel->write(piece));
    QFuture<WriteResult> first = f.channel->flush();
    QVERIFY(f.channel->write("later"));
    QFuture<WriteResult> second = f.channel->flush();
    QFuture<WriteResult> third = f.channel->flush();
    QCoreApplication::processEvents();
    QVERIFY(!second.isFinished() && !third.isFinished());
    const Drained got = readToEnd(f.peer.get(), 1003 + big + 5);
    QVERIFY(got.finished);
    QVERIFY(waitFor(second) && waitFor(third));
    QCOMPARE(first.result(), WriteResult::ok());
    QCOMPARE(second.result(), WriteResult::ok());
    QCOMPARE(third.result(), WriteResult::ok());
    QVERIFY(got.data.endsWith("later"));
}

void TestChannel::writeRefusedUntilDrained()
{
    Fixture f(16 * KiB);
    f.near->setHighWaterMark(32 * KiB);
    f.channel->setWriteBufferLimit(16 * KiB);
    QSignalSpy drained(f.channel.get(), &Channel::drained);
    const QByteArray chunk = pattern(4 * KiB, 7);
    qint64 taken = 0;
    QVERIFY2(fillUntilStalled(f.channel.get(), f.near.get(), chunk, &taken),
             "write() never refused while the peer did not read");
    QVERIFY(f.channel->bytesToWrite() <= f.channel->writeBufferLimit());
    drained.clear();
    QVERIFY(!f.channel->write(chunk)); // still full
    for (int i = 0; i < 100; ++i)
        QCoreApplication::processEvents();
    QCOMPARE(drained.count(), 0); // nothing moves while the peer does not read
    QVERIFY(f.channel->write(QByteArray())); // an empty write is always fine

    // The peer reads again: drained() comes, and writing goes on.
    const Drained got = readToEnd(f.peer.get(), taken);
    QVERIFY(got.finished);
    QTRY_VERIFY(drained.count() >= 1);
    QVERIFY(f.channel->write(chunk));
    taken += chunk.size();
    RILL_AWAIT_EQ(f.channel->shutdown(Flow::Direction::Write), WriteResult::ok());
    const Drained rest = readToEnd(f.peer.get());
    RILL_CHECK_DRAINED(rest, QByteArray(rest.data), ReadResult::eof());
    QCOMPARE(got.data.size() + rest.data.size(), taken);
}

// The same against a real peer that stops reading: its kernel buffers fill, then the flow's
// queue, then the channel's buffer.
void TestChannel::writeRefusedUntilDrainedTcp()
{
    sockettest::Peer peer;
    QString why;
    std::unique_ptr<Flow> flow =
            connectToPeer(&peer, {QStringLiteral("stall"), QStringLiteral("tcp:127.0.0.1:0")}, &why);
    QVERIFY2(flow, qPrintable(why));
    static_cast<rill::TcpFlow *>(flow.get())
            ->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, 64 * 1024);
    Channel channel(flow.get());
    QSignalSpy drained(&channel, &Channel::drained);
    const QByteArray chunk = pattern(16 * KiB, 3);
    qint64 taken = 0;
    QVERIFY2(fillUntilStalled(&channel, flow.get(), chunk, &taken),
             "write() never refused while the peer did not read");
    QVERIFY(channel.bytesToWrite() <= channel.writeBufferLimit());
    // Refused with no event processed since: drained() must follow once the peer reads.
    while (channel.write(chunk))
        taken += chunk.size();
    const int before = drained.count();
    peer.command("go");
    QTRY_VERIFY_WITH_TIMEOUT(drained.count() > before, int(DefaultTimeout.count()));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (qint64 i = 0; i < taken / chunk.size(); ++i)
        hash.addData(chunk);
    RILL_AWAIT_EQ(channel.shutdown(Flow::Direction::Write), WriteResult::ok());
    const auto eof = peer.waitForEvent(QStringLiteral("eof"));
    QVERIFY2(eof, qPrintable(peer.describe()));
    QCOMPARE(eof->value(QLatin1String("received")).toInteger(), taken);
    QCOMPARE(eof->value(QLatin1String("received_sha256")).toString(),
             QString::fromLatin1(hash.result().toHex()));
}

// 1 GiB offered to a peer that never reads, in 64 KiB chunks (copied only when taken): the
// channel's buffer never passes its limit, the flow's queue never passes its mark by more than
// one flush, and what was taken is what a stalled pipe holds, not a gigabyte.
void TestChannel::gigabyteOfferedStaysBounded()
{
    Fixture f;
    const QByteArray chunk = pattern(64 * KiB, 11);
    const qint64 limit = f.channel->writeBufferLimit();
    const qint64 mark = f.near->highWaterMark();
    qint64 offered = 0;
    qint64 taken = 0;
    qint64 maxBuffered = 0;
    qint64 maxQueued = 0;
    for (int i = 0; offered < 1 * GiB; ++i) {
        if (f.channel->write(QByteArrayView(chunk)))
            taken += chunk.size();
        offered += chunk.size();
        maxBuffered = qMax(maxBuffered, f.channel->bytesToWrite());
        maxQueued = qMax(maxQueued, f.near->bytesQueued());
        if (i % 16 == 0)
            QCoreApplication::processEvents();
    }
    QVERIFY2(maxBuffered <= limit,
             qPrintable(QStringLiteral("the channel buffered %1 bytes, its limit is %2").arg(maxBuffered).arg(limit)));
    QVERIFY2(maxQueued <= mark + limit,
             qPrintable(QStringLiteral("the flow queued %1 bytes, its mark is %2").arg(maxQueued).arg(mark)));
    // The pipe, the peer end's read-ahead (64 KiB), the flow's queue, a flush waiting, and the
    // channel's buffer.
    const qint64 bound = PipeFlow::DefaultBufferSize + 64 * KiB + mark + 2 * limit + chunk.size();
    QVERIFY2(taken <= bound,
             qPrintable(QStringLiteral("%1 bytes of 1 GiB were taken, more than %2").arg(taken).arg(bound)));
    const Drained got = readToEnd(f.peer.get(), taken);
    QVERIFY(got.finished);
    QCOMPARE(got.data.size(), taken);
}

void TestChannel::autoFlushErrorIsKept_data()
{
    QTest::addColumn<bool>("reset");
    QTest::newRow("the peer resets") << true;
    QTest::newRow("the flow's write side was shut under the channel") << false;
}

void TestChannel::autoFlushErrorIsKept()
{
    QFETCH(bool, reset);
    Fixture f;
    QSignalSpy errors(f.channel.get(), &Channel::errorOccurred);
    if (reset)
        f.peer->abort();
    else
        (void)f.near->shutdown(Flow::Direction::Write);
    QVERIFY(f.channel->writeLine("lost"));
    QTRY_COMPARE(errors.count(), 1); // the end-of-turn flush failed
    const Error error = errors.at(0).at(0).value<Error>();
    QCOMPARE(error.kind(), reset ? Error::Kind::Reset : Error::Kind::Closed);
    QCOMPARE(f.channel->error(), error);
    QVERIFY(!f.channel->write("more"));
    WriteResult w;
    RILL_GET(f.channel->flush(), w);
    if (reset)
        RILL_VERIFY_ERROR(w, Error::Kind::Reset);
    else
        QCOMPARE(w, WriteResult::eof());
    RILL_GET(f.channel->flush(), w); // and again: sticky
    QVERIFY(!w.isOk());
    QCOMPARE(errors.count(), 1);
}

void TestChannel::shutdownAndCloseFlushFirst()
{
    {
        Fixture f;
        QVERIFY(f.channel->write("hello "));
        QVERIFY(f.channel->writeLine("world"));
        QFuture<WriteResult> shut = f.channel->shutdown(Flow::Direction::Write);
        QVERIFY(!f.channel->write("too late"));
        const Drained got = readToEnd(f.peer.get());
        RILL_CHECK_DRAINED(got, QByteArray("hello world\n"), ReadResult::eof());
        RILL_AWAIT_EQ(shut, WriteResult::ok());
        // Reading goes on after our half-close.
        (void)f.peer->write("reply\n");
        RILL_AWAIT_EQ(f.channel->readLine(100), data("reply\n"));
    }
    {
        Fixture f;
        QVERIFY(f.channel->write("bye"));
        QFuture<WriteResult> closing = f.channel->close();
        const Drained got = readToEnd(f.peer.get());
        RILL_CHECK_DRAINED(got, QByteArray("bye"), ReadResult::eof());
        (void)f.peer->write("last words");
        (void)f.peer->shutdown(Flow::Direction::Write);
        RILL_AWAIT_EQ(f.channel->readSome(100), data("last words")); // read while closing
        RILL_AWAIT_EQ(closing, WriteResult::ok());
        QCOMPARE(f.near->state(), Flow::State::Closed);
    }
    {
        Fixture f; // shutdown(Read): what is buffered is dropped, reads give Eof
        (void)f.peer->write("unread");
        QFuture<ReadResult> partial = f.channel->readExactly(100);
        QVERIFY(spinUntil([&] { return f.channel->bytesBuffered() == 6; }));
        RILL_AWAIT_EQ(f.channel->shutdown(Flow::Direction::Read), WriteResult::ok());
        RILL_AWAIT_EQ(partial, ReadResult::eof());
        QCOMPARE(f.channel->bytesBuffered(), 0);
        QVERIFY(f.channel->write("still writable"));
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Styles: a line-based request/response, three ways.

void TestChannel::thenWithContext()
{
    Fixture f;
    Channel server(f.peer.get());
    QObject context;
    std::optional<ReadResult> answer;
    server.readLine(100, Channel::StripTerminator).then(&context, [&](const ReadResult &request) {
        server.writeLine("echo: " + request.data());
    });
    f.channel->writeLine("ping");
    f.channel->readLine(100).then(&context, [&](const ReadResult &r) { answer = r; });
    QTRY_VERIFY(answer.has_value());
    QCOMPARE(*answer, data("echo: ping\n"));
}

void TestChannel::resultFromAnotherThread()
{
    WorkerThread worker;
    PipeFlow::Pair pair = PipeFlow::createPair();
    auto owned = std::make_unique<Channel>(pair.first.get());
    // Deleted in this order by the worker: the channel before its flow.
    Channel *channel = worker.adopt(std::move(owned));
    PipeFlow *near = worker.adopt(std::move(pair.first));
    PipeFlow *peer = worker.adopt(std::move(pair.second));
    Q_UNUSED(near);
    const QFuture<ReadResult> line = worker.call([&] { return channel->readLine(100); });
    const QFuture<WriteResult> flushed = worker.call([&] {
        channel->writeLine("from the worker");
        return channel->flush();
    });
    worker.post([peer] { (void)peer->write("to the worker\n"); });
    QCOMPARE(line.result(), data("to the worker\n")); // blocks this thread; the worker serves
    QCOMPARE(flushed.result(), WriteResult::ok());
    const QFuture<ReadResult> echoed = worker.call([&] { return peer->read(); });
    QCOMPARE(echoed.result(), data("from the worker\n"));
}

void TestChannel::coAwait()
{
    Fixture f;
    Channel server(f.peer.get());
    QObject context;
    server.readLine(100, Channel::StripTerminator).then(&context, [&](const ReadResult &request) {
        server.writeLine("you said " + request.data());
    });
    QCoro::Task<QByteArray> asked = askOverChannel(f.channel.get(), "hi");
    QVERIFY(spinUntil([&] { return asked.isReady(); }));
    QCOMPARE(QCoro::waitFor(asked), QByteArray("you said hi"));
}

// ---------------------------------------------------------------------------------------------
// 5. Under every fault mode

namespace {

// A stream of every framing, broken (by the stall, end and reset rows) at its middle, byte 17:
// right after the exact read.
const QByteArray FramedStream = "first line\r\n12345delimited--\nno end";

} // namespace

void TestChannel::framedReadsUnderEveryFault_data()
{
    rill::test::addFaultRows(FramedStream.size());
}

void TestChannel::framedReadsUnderEveryFault()
{
    RILL_FETCH_FAULTS(faults);
    using Outcome = rill::test::FaultPlan::Outcome;
    auto [ours, peer] = PipeFlow::createPair();
    rill::test::FaultyFlow flow(std::move(ours), faults);
    Channel channel(&flow);
    peer->write(FramedStream);
    peer->shutdown(Flow::Direction::Write);

    // A stall is seen by a read's deadline; nothing else may meet it.
    const auto deadline = [&] {
        return QDeadlineTimer(faults.outcome() == Outcome::Stall ? 150ms : DefaultTimeout);
    };
    const std::function<QFuture<ReadResult>()> reads[] = {
        [&] { return channel.readLine(64, Channel::KeepTerminator, deadline()); },
        [&] { return channel.readExactly(5, deadline()); },
        [&] { return channel.readUntil("--", 64, Channel::StripTerminator, deadline()); },
        [&] { return channel.readLine(64, Channel::StripTerminator, deadline()); },
        [&] { return channel.readLine(64, Channel::StripTerminator, deadline()); },
        [&] { return channel.readLine(64, Channel::StripTerminator, deadline()); },
    };
    QList<ReadResult> expected = { data("first line\r\n"), data("12345"), data("delimited"),
                                   data(""), data("no end"), ReadResult::eof() };
    // Broken at the middle, the third read meets the break, and every later read the same end.
    const auto broken = [&](const ReadResult &end) {
        for (int i = 2; i < expected.size(); ++i)
            expected[i] = end;
    };
    switch (faults.outcome()) {
    case Outcome::Complete:
        break;
    case Outcome::Stall: // the stall holds for good: every later read times out too
        broken(ReadResult::fromError(Error(Error::Kind::TimedOut, {})));
        break;
    case Outcome::Eof:
        broken(ReadResult::eof());
        break;
    case Outcome::Reset:
        broken(ReadResult::fromError(Error(Error::Kind::Reset, {})));
        break;
    }
    for (int i = 0; i < expected.size(); ++i) {
        ReadResult got;
        RILL_GET(reads[i](), got);
        if (expected.at(i).isError()) {
            RILL_VERIFY_ERROR(got, expected.at(i).error().kind());
        } else {
            QCOMPARE(got, expected.at(i));
        }
    }
}

void TestChannel::writtenLinesUnderEveryFault_data()
{
    // 20 lines of 10 bytes; the faults strike our writes at their middle.
    rill::test::addFaultRows(200, rill::test::FaultPlan::Direction::Write);
}

void TestChannel::writtenLinesUnderEveryFault()
{
    RILL_FETCH_FAULTS(faults);
    using Outcome = rill::test::FaultPlan::Outcome;
    auto [ours, peer] = PipeFlow::createPair();
    rill::test::FaultyFlow flow(std::move(ours), faults);
    Channel channel(&flow);
    QByteArray sent;
    for (int i = 0; i < 20; ++i) {
        const QByteArray line = QByteArray("line ") + QByteArray::number(1000 + i);
        sent += line + '\n';
        QVERIFY(channel.writeLine(line)); // far below the write buffer's limit
    }
    const QFuture<WriteResult> shutdown = channel.shutdown(Flow::Direction::Write);
    const bool stalls = faults.outcome() == Outcome::Stall;
    const rill::test::ReadAll theirs =
            rill::test::readAll(peer.get(), QDeadlineTimer(stalls ? 150ms : DefaultTimeout));
    if (faults.outcome() == Outcome::Complete) {
        RILL_COMPARE_STREAMS(theirs.data, sent);
        QVERIFY(theirs.isEof());
        WriteResult result;
        RILL_AWAIT(shutdown, result);
        QCOMPARE(result, WriteResult::ok());
        return;
    }
    // Broken at byte 100: the peer has exactly what went before (a reset may drop the bytes
    // still in flight), and the channel's shutdown says the write side did not end cleanly.
    if (faults.outcome() == Outcome::Reset)
        QVERIFY(sent.left(100).startsWith(theirs.data));
    else
        RILL_COMPARE_STREAMS(theirs.data, sent.left(100));
    QCOMPARE(theirs.finished, !stalls);
    if (stalls)
        flow.abort(); // what a deadline on the shutdown would do
    WriteResult result;
    RILL_AWAIT(shutdown, result);
    QVERIFY2(result.isError(), qPrintable(debugString(result)));
}

QTEST_GUILESS_MAIN(TestChannel)
#include "tst_channel.moc"
