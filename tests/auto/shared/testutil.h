// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Helpers shared by the QTest suites (not a library: header only, no CMakeLists.txt here).
//
// Synchronisation is only ever on futures, signals or an explicit condition, always with a
// deadline that fails the test instead of hanging it. Nothing here sleeps. Where Rill::Test
// (rill/test/qtesthelpers.h) has a helper, the one here forwards to it.

#include <rill/combinators.h>
#include <rill/error.h>
#include <rill/flow.h>
#include <rill/result.h>
#include <rill/test/qtesthelpers.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QDebug>
#include <QtCore/QEventLoop>
#include <QtCore/QFuture>
#include <QtCore/QFutureWatcher>
#include <QtCore/QMetaEnum>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QScopeGuard>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtTest/QTest>

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

// QCOMPARE prints these (QTest finds them by argument-dependent lookup).
namespace rill {

template<typename T>
QString rillTestDebugString(const T &value)
{
    QString text;
    QDebug(&text).nospace().noquote() << value;
    return text;
}

inline char *toString(const Error &error)
{
    return QTest::toString(rillTestDebugString(error));
}
inline char *toString(const ReadResult &result)
{
    return QTest::toString(rillTestDebugString(result));
}
inline char *toString(const WriteResult &result)
{
    return QTest::toString(rillTestDebugString(result));
}
inline char *toString(const CopyResult &result)
{
    return QTest::toString(rillTestDebugString(result));
}
inline char *toString(const ProxyResult &result)
{
    return QTest::toString(rillTestDebugString(result));
}

} // namespace rill

namespace rilltest {

// Whether a result (ReadResult, WriteResult, CloseResult, FlowResult) is an error of this kind.
template<typename Result>
bool isKind(const Result &result, rill::Error::Kind kind)
{
    return result.isError() && result.error().kind() == kind;
}

using namespace std::chrono_literals;

// Deadline for anything that must happen "eventually". Generous: a failure here means the
// thing never happens, not that it was slow.
inline constexpr std::chrono::milliseconds DefaultTimeout = 15s;

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer code runs several times slower, and freed memory waits in quarantine:
// resident size says nothing about leaks there.
inline constexpr bool Sanitized = true;
#else
inline constexpr bool Sanitized = false;
#endif

// The volume of the heaviest transfers: an eighth under sanitizers, whose run looks for memory
// errors on every path, not for volume (the normal run moves the full amount).
inline constexpr qint64 heavyVolume(qint64 bytes)
{
    return Sanitized ? bytes / 8 : bytes;
}

// QDebug text of a value, e.g. "rill::ReadResult(eof)".
template<typename T>
QString debugString(const T &value)
{
    return rill::rillTestDebugString(value);
}

// "Open", "Eof", ... for a Q_ENUM value.
template<typename E>
QByteArray enumName(E value)
{
    return QMetaEnum::fromType<E>().valueToKey(int(value));
}

// Runs this thread's event loop until the future is finished. Returns false if the deadline
// passes first. Works for futures finished by any thread.
template<typename T>
[[nodiscard]] bool waitFor(const QFuture<T> &future,
                           std::chrono::milliseconds timeout = DefaultTimeout)
{
    return rill::test::waitForFinished(future, QDeadlineTimer(timeout));
}

// Runs this thread's event loop until pred() holds. Returns false if the deadline passes first.
template<typename Pred>
[[nodiscard]] bool spinUntil(Pred &&pred, std::chrono::milliseconds timeout = DefaultTimeout)
{
    QDeadlineTimer deadline(timeout);
    while (!pred()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents);
        if (!pred())
            QThread::yieldCurrentThread();
    }
    return true;
}

// The value of a finished future that must carry one (never call result() on anything else).
#define RILL_RESULT(future, out)                                                               \
    do {                                                                                       \
        QVERIFY2((future).isFinished(), "the future is not finished");                         \
        QVERIFY2((future).resultCount() == 1, "the future finished without a result value");   \
        out = (future).result();                                                               \
    } while (false)

// Waits for the future (deadline DefaultTimeout) and stores its value in out.
#define RILL_AWAIT(future, out)                                                                \
    do {                                                                                       \
        QVERIFY2(rilltest::waitFor(future), "the future never finished: " #future);           \
        RILL_RESULT(future, out);                                                              \
    } while (false)

// A future that finishes when future does, for lists that hold shutdown() and close() alike.
template<typename T>
QFuture<void> asVoid(QFuture<T> future)
{
    return future.then([](const T &) {});
}

// Waits for a future whose result the test does not look at.
#define RILL_AWAIT_VOID(future)                                                                \
    QVERIFY2(rilltest::waitFor(future), "the future never finished: " #future)

// Destroys the given owners (unique_ptrs) when it goes out of scope. Declare it after the
// QSignalSpy objects watching those flows, so the flows go first however the test function
// ends: then a receiver's destruction never runs Flow::disconnectNotify(), and a bug there
// (it once deadlocked) shows in TestFlow::receiverDestroyedWhileConnected only, instead of
// hanging unrelated tests now and then.
template<typename... Owners>
[[nodiscard]] auto destroyFirst(Owners &...owners)
{
    return qScopeGuard([&owners...] { (owners.reset(), ...); });
}

// What reading a flow to its end gave.
struct Drained
{
    QByteArray data;            // the data segments, concatenated
    rill::ReadResult end;       // the first result that was not data (Eof or an error)
    int dataReads = 0;          // reads that resolved with data
    bool finished = false;      // false: a read never finished (or finished without a value)
    bool emptySegment = false;  // a read resolved with data of zero bytes (never allowed)
    // With keepEvery > 0: every keepEvery-th read's data as it was handed out (shared, not
    // copied), with its offset in the stream; see firstChangedKept().
    QList<std::pair<qsizetype, QByteArray>> kept;
};

// Reads until Eof or an error (or, with atLeast >= 0, until that many bytes were read).
inline Drained readToEnd(rill::Flow *flow, qsizetype atLeast = -1,
                         std::chrono::milliseconds timeout = DefaultTimeout, int keepEvery = 0)
{
    Drained drained;
    QDeadlineTimer deadline(timeout);
    for (;;) {
        if (atLeast >= 0 && drained.data.size() >= atLeast) {
            drained.finished = true;
            return drained;
        }
        const QFuture<rill::ReadResult> future = flow->read();
        if (!waitFor(future, std::chrono::milliseconds(qMax<qint64>(deadline.remainingTime(), 1)))
            || future.resultCount() != 1)
            return drained;
        const rill::ReadResult result = future.result();
        if (!result.isData()) {
            drained.end = result;
            drained.finished = true;
            return drained;
        }
        if (result.data().isEmpty())
            drained.emptySegment = true;
        if (keepEvery > 0 && drained.dataReads % keepEvery == 0)
            drained.kept.append({drained.data.size(), result.data()});
        drained.data += result.data();
        ++drained.dataReads;
    }
}

// Checks a Drained: finished, no empty segment, the expected bytes, then the expected end.
#define RILL_CHECK_DRAINED(drained, expectedData, expectedEnd)                                 \
    do {                                                                                       \
        QVERIFY2((drained).finished, "a read never finished");                                 \
        QVERIFY2(!(drained).emptySegment, "a read resolved with data of zero bytes");          \
        QVERIFY2((drained).data == (expectedData),                                             \
                 (QByteArray("lost, duplicated or reordered bytes: ")                          \
                  + rilltest::describeMismatch((drained).data, (expectedData)))                \
                         .constData());                                                        \
        QCOMPARE((drained).end, (expectedEnd));                                                \
    } while (false)

// The offset of the first kept read (Drained::kept) whose data no longer matches expected
// there, or -1: a reader's data must never change under it (a transport that reuses its read
// buffers must wait until readers let go of them).
inline qsizetype firstChangedKept(const Drained &drained, const QByteArray &expected)
{
    for (const auto &[at, data] : std::as_const(drained.kept)) {
        if (data != expected.mid(at, data.size()))
            return at;
    }
    return -1;
}

// Deterministic bytes: a different pattern per seed, never a short period.
inline QByteArray pattern(qsizetype size, quint32 seed = 1)
{
    QByteArray bytes(size, Qt::Uninitialized);
    quint32 x = seed * 2654435761u + 0x9e3779b9u;
    for (qsizetype i = 0; i < size; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes[i] = char(x & 0xff);
    }
    return bytes;
}

// Where two byte strings first differ, for failure messages: the offset, both sides around it
// as text, a caret under the difference (rill::test::streamDifference()).
inline QByteArray describeMismatch(const QByteArray &actual, const QByteArray &expected)
{
    if (actual == expected)
        return QByteArray("no difference (") + QByteArray::number(actual.size()) + " bytes)";
    return rill::test::streamDifference(actual, expected).toUtf8();
}

// A thread with an event loop, and a context object living in it to run code there.
class WorkerThread
{
public:
    explicit WorkerThread(const char *name = "rill-test-worker")
    {
        m_thread.setObjectName(QString::fromLatin1(name));
        m_thread.start();
        m_context = new QObject;
        m_context->moveToThread(&m_thread);
    }
    ~WorkerThread()
    {
        // What it adopted and nobody deleted yet goes in its own thread (also when a test
        // failed half-way).
        call([this] {
            for (const QPointer<QObject> &object : std::as_const(m_owned))
                delete object.data();
        });
        m_context->deleteLater(); // deleted when the thread finishes
        m_thread.quit();
        m_thread.wait();
    }
    Q_DISABLE_COPY(WorkerThread)

    QThread *thread() { return &m_thread; }
    QObject *context() const { return m_context; }

    // Moves the object into this thread and owns it from now on; returns it.
    template<typename T>
    T *adopt(std::unique_ptr<T> object)
    {
        T *raw = object.release();
        raw->moveToThread(&m_thread);
        m_owned.append(QPointer<QObject>(raw));
        return raw;
    }

    // Deletes an object living in this thread, in this thread, and waits for it.
    void destroy(QObject *object)
    {
        call([object] { delete object; });
    }

    // Runs f in the worker thread and waits for it (it must not wait for this thread).
    template<typename F>
    auto call(F &&f) -> std::invoke_result_t<F>
    {
        using R = std::invoke_result_t<F>;
        if constexpr (std::is_void_v<R>) {
            QMetaObject::invokeMethod(m_context, std::forward<F>(f), Qt::BlockingQueuedConnection);
        } else {
            R result{};
            QMetaObject::invokeMethod(
                    m_context, [&result, &f] { result = f(); }, Qt::BlockingQueuedConnection);
            return result;
        }
    }

    // Runs f in the worker thread without waiting.
    template<typename F>
    void post(F &&f)
    {
        QMetaObject::invokeMethod(m_context, std::forward<F>(f), Qt::QueuedConnection);
    }

private:
    QThread m_thread;
    QObject *m_context = nullptr;
    QList<QPointer<QObject>> m_owned;
};

// Keeps a worker thread busy until release(): calls posted to its objects meanwhile wait, as a
// callback's call waits in a busy thread. release(gone) deletes gone in that thread first, so
// the calls posted to it are dropped unrun (Qt deletes them with it).
class ThreadHold
{
public:
    explicit ThreadHold(WorkerThread &worker)
    {
        worker.post([this] {
            m_held.release();
            m_go.acquire();
            delete m_gone;
            m_released.release();
        });
        m_held.acquire();
    }
    ~ThreadHold()
    {
        if (!m_done)
            release();
    }
    Q_DISABLE_COPY_MOVE(ThreadHold)

    void release(QObject *gone = nullptr)
    {
        m_gone = gone;
        m_done = true;
        m_go.release();
        m_released.acquire();
    }

private:
    QSemaphore m_held, m_go, m_released;
    QObject *m_gone = nullptr;
    bool m_done = false;
};

} // namespace rilltest
