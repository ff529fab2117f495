// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/result.h>

#include <QtCore/QEvent>
#include <QtCore/QFuture>
#include <QtCore/QFutureWatcher>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QPromise>
#include <QtCore/QThread>

#include <functional>
#include <memory>
#include <variant>
#include <utility>

namespace rill {

// What a promise that can no longer be kept finishes with: ReadResult, WriteResult and
// FlowResult all have fromError().
template<typename T>
T abortedResult()
{
    return T::fromError(Error(Error::Kind::Aborted, QStringLiteral("the flow was aborted")));
}

// A QPromise that cannot be left unfinished: destroyed while pending (the flow went away, or a
// queued call to it was dropped), it finishes with an Aborted result instead of cancelling.
//
// Or, made from a callback, no QPromise at all: finishing calls the callback with the result,
// at once, as a continuation attached without context would run, and the callback says whether
// it took the result (false: its receiver is gone, so keep what it is, as for a cancelled
// future). A flow read or write made through Flow's callback overloads costs no future (the
// QFutureInterface, its mutex, wait conditions and result store: about 4,000 instructions on
// Qt 6.4).
template<typename T>
struct PromiseCallback
{
    using type = std::function<bool(const T &)>;
};
template<>
struct PromiseCallback<void>
{
    using type = std::function<void()>;
};

template<typename T>
class Promise
{
public:
    using Callback = typename PromiseCallback<T>::type;

    Promise() : m_state(std::in_place_index<0>) { std::get<0>(m_state).start(); }
    explicit Promise(Callback callback) : m_state(std::in_place_index<1>, std::move(callback)) {}
    Promise(Promise &&other) noexcept
        : m_state(std::move(other.m_state)), m_pending(std::exchange(other.m_pending, false))
    {
    }
    Promise &operator=(Promise &&other) noexcept
    {
        if (this != &other) {
            abandon();
            m_state = std::move(other.m_state);
            m_pending = std::exchange(other.m_pending, false);
        }
        return *this;
    }
    Q_DISABLE_COPY(Promise)
    ~Promise() { abandon(); }

    // Only for a promise with a future (made without a callback).
    QFuture<T> future() const { return std::get<0>(m_state).future(); }
    bool hasFuture() const { return m_state.index() == 0; }
    bool isPending() const { return m_pending; }
    // The caller cancelled the future: a result would be dropped by Qt, so keep it.
    bool isCanceled() const
    {
        const QPromise<T> *promise = std::get_if<0>(&m_state);
        return promise && promise->isCanceled();
    }

    // Finishes with value; returns false when the future was cancelled and so did not take it
    // (Qt drops results reported to a cancelled future), so the caller can keep what it is.
    template<typename U = T>
    std::enable_if_t<!std::is_void_v<U>, bool> tryFinish(U value)
    {
        m_pending = false;
        QPromise<T> *promise = std::get_if<0>(&m_state);
        if (!promise)
            return std::exchange(std::get<1>(m_state), nullptr)(value);
        const bool taken = promise->addResult(std::move(value));
        promise->finish();
        return taken;
    }

    template<typename U = T>
    std::enable_if_t<!std::is_void_v<U>> finish(U value)
    {
        tryFinish(std::move(value));
    }
    template<typename U = T>
    std::enable_if_t<std::is_void_v<U>> finish()
    {
        m_pending = false;
        if (QPromise<T> *promise = std::get_if<0>(&m_state))
            promise->finish();
        else
            std::exchange(std::get<1>(m_state), nullptr)();
    }

private:
    void abandon()
    {
        if (!m_pending)
            return;
        if constexpr (std::is_void_v<T>)
            finish();
        else
            finish(abortedResult<T>());
    }

    std::variant<QPromise<T>, Callback> m_state; // a future's promise, or a callback
    bool m_pending = true;
};

// The object (a flow, a channel) whose destructor is finishing its operations in this thread;
// see DestroyingScope.
inline thread_local const QObject *t_destroyingOwner = nullptr;

// While it lives, owner is being destroyed in this thread: callbacks whose context is owner are
// not called (its QPointers still see it, half destroyed), as if it were gone.
class DestroyingScope
{
public:
    explicit DestroyingScope(const QObject *owner) : m_outer(std::exchange(t_destroyingOwner, owner)) {}
    ~DestroyingScope() { t_destroyingOwner = m_outer; }
    Q_DISABLE_COPY_MOVE(DestroyingScope)

private:
    const QObject *m_outer;
};

// What code in another thread holds to reach an object (a flow, a channel) that its own thread
// may destroy: the owner clears `object` under the mutex before it goes, so a call made under
// the mutex never reaches a dead object. Recursive: such a call may end in the owner's code,
// which may take it again.
struct Lifeline
{
    QRecursiveMutex mutex;
    QObject *object = nullptr;
};

// A read result sent to a callback in another thread is in flight until that thread runs the
// call. Qt drops the queued call if the callback's context is destroyed first, and with it the
// result: the bytes of a read. So the owner (a flow, a channel) serves no other read while one
// is in flight, and the delivery settles it once, in whatever thread it ends: with null when
// the callback got the result, else with the result, whose bytes then go back in front of the
// stream, in order, for the next read.
template<typename T>
using Settle = std::function<void(const T *undelivered)>;
// Called on the owner's thread as a result is sent to another thread; returns how to settle it
// (nothing, when the result need not come back: an end of stream or an error repeats).
template<typename T>
using OnSend = std::function<Settle<T>(const T &sent)>;

template<typename T>
class Delivery
{
public:
    Delivery(T result, Settle<T> settle) : m_result(std::move(result)), m_settle(std::move(settle)) {}
    Delivery(Delivery &&other) noexcept
        : m_result(std::move(other.m_result)), m_settle(std::exchange(other.m_settle, nullptr))
    {
    }
    Delivery &operator=(Delivery &&) = delete;
    ~Delivery()
    {
        if (m_settle)
            m_settle(&m_result);
    }
    const T &result() const { return m_result; }
    // The callback got the result and returned: its owner may serve the next read (after it,
    // so that reads are served in call order across threads too).
    void delivered()
    {
        if (m_settle)
            std::exchange(m_settle, nullptr)(nullptr);
    }

private:
    T m_result;
    Settle<T> m_settle;
};

// A promise that calls callback in context's thread, if context still lives (see
// Flow::read(const QObject *, ReadCallback, QDeadlineTimer)); with a null context, in the thread
// that finishes it (owner's). Found gone at the result, it takes nothing, as a cancelled future;
// so does owner as the context while owner is being destroyed (see DestroyingScope), and a
// context whose thread has finished (nothing would run the call). A result sent to another
// thread is settled through onSend (see Delivery).
template<typename T>
Promise<T> callbackPromise(const QObject *owner, const QObject *context,
                           std::function<void(const T &)> callback, OnSend<T> onSend = {})
{
    if (!context) {
        return Promise<T>([callback = std::move(callback)](const T &result) {
            callback(result);
            return true;
        });
    }
    return Promise<T>([owner, guard = QPointer<QObject>(const_cast<QObject *>(context)),
                       callback = std::move(callback),
                       onSend = std::move(onSend)](const T &result) mutable {
        QObject *target = guard.data();
        if (!target || (target == owner && t_destroyingOwner == owner))
            return false;
        QThread *thread = target->thread();
        if (thread == QThread::currentThread()) {
            callback(result);
            return true;
        }
        if (!thread || thread->isFinished())
            return false;
        QMetaObject::invokeMethod(
                target,
                [guard, callback = std::move(callback),
                 delivery = Delivery<T>(result, onSend ? onSend(result) : Settle<T>())]() mutable {
                    if (guard) {
                        callback(delivery.result());
                        delivery.delivered();
                    }
                },
                Qt::QueuedConnection);
        return true;
    });
}

// Watches a future for cancel() only: every callout event Qt posts to the watcher (started,
// canceled, ...) is taken here and none is turned into a signal, so no connection and no slot
// object is allocated per pending operation (an idle flow holds one).
//
// It is never deleted while Qt holds an event posted to it: deleting (or disconnecting) a
// watcher with events pending makes Qt search the thread's whole queue of posted events
// (QCoreApplication::removePostedEvents), once per read, which made a busy PipeFlow transfer
// hundreds of times slower. drop() deletes it at once when nothing can be pending, else after
// the last event its future will post (see drop()).
template<typename T>
class CancelWatcher final : public QFutureWatcher<T>
{
public:
    explicit CancelWatcher(std::function<void(const QFutureWatcherBase *)> onCancel)
        : m_onCancel(std::move(onCancel))
    {
    }
    bool event(QEvent *event) override
    {
        if (event->type() != QEvent::FutureCallOut)
            return QFutureWatcher<T>::event(event);
        m_delivered = true;
        if (m_dropped) {
            // Once its future finished, all it will ever be posted is posted: deleted after it.
            if (this->isFinished() && !std::exchange(m_deleting, true))
                this->deleteLater();
            return true;
        }
        if (this->isCanceled() && m_onCancel) {
            m_inEvent = true;
            m_onCancel(this); // may drop() this watcher; a second call finds nothing
            m_inEvent = false;
        }
        return true;
    }

    // The owner lets go: nothing is called back any more.
    void drop()
    {
        m_onCancel = nullptr;
        if (m_dropped)
            return;
        if (this->isFinished()) {
            // Its future posts nothing more (its Finished callout is posted already): deleted
            // after what is posted.
            m_dropped = m_deleting = true;
            this->deleteLater();
        } else if (m_delivered && !m_inEvent) {
            delete this; // its Started callout came; nothing else was posted
        } else {
            // Its Started callout waits (or is being delivered): it goes once a callout finds
            // the future finished, which every Rill promise is.
            m_dropped = true;
        }
    }

private:
    std::function<void(const QFutureWatcherBase *)> m_onCancel;
    bool m_delivered = false;
    bool m_inEvent = false;
    bool m_dropped = false;
    bool m_deleting = false;
};

struct DropCancelWatcher
{
    template<typename T>
    void operator()(CancelWatcher<T> *watcher) const { watcher->drop(); }
};
// Owns a CancelWatcher: letting go drops it (see CancelWatcher).
template<typename T>
using CancelWatch = std::unique_ptr<CancelWatcher<T>, DropCancelWatcher>;

// Calls onCancel(watcher), in the calling thread, as soon as promise's future is cancelled from
// any thread: Qt 6.4 runs no continuation on cancel(), and a future holds one continuation
// only, which is the caller's.
template<typename T, typename F>
CancelWatch<T> watchCancel(const Promise<T> &promise, F onCancel)
{
    CancelWatch<T> watcher(new CancelWatcher<T>(std::move(onCancel)));
    watcher->setFuture(promise.future());
    return watcher;
}

// Calls f() in guard's thread, at once if that is this thread, if guard still lives then.
// (Each continuation runs once: it hands its callable on.)
template<typename F>
void runIfAlive(const QPointer<QObject> &guard, F f)
{
    QObject *target = guard.data();
    if (!target)
        return;
    if (target->thread() == QThread::currentThread()) {
        f();
        return;
    }
    QMetaObject::invokeMethod(
            target, [guard, f = std::move(f)]() mutable {
                if (guard)
                    f();
            },
            Qt::QueuedConnection);
}

// Calls f(result) in context's thread once future has finished, if context still lives by
// then. then(context, f) will not do where the future may outlive its context (a flow's or a
// request handler's future, and the object waiting on it): Qt 6.4 asserts that the context
// still lives when the future finishes. In context's own thread f runs at once (inside this
// call if the future has finished already), as then(context, f) does.
//
// A cancelled future runs nothing: for the futures of Rill's flows, which only their holder
// can cancel. A future someone else may cancel takes the overload with onCanceled.
template<typename T, typename F>
void thenIfAlive(const QFuture<T> &future, QObject *context, F f)
{
    QFuture<T>(future).then([guard = QPointer<QObject>(context), f = std::move(f)](const T &value) mutable {
        runIfAlive(guard, [f = std::move(f), value]() mutable { f(value); });
    });
}

// As thenIfAlive(future, context, f), and onCanceled() (in context's thread, if it lives)
// when the future is cancelled instead.
template<typename T, typename F, typename C>
void thenIfAlive(const QFuture<T> &future, QObject *context, F f, C onCanceled)
{
    const QPointer<QObject> guard(context);
    QFuture<T>(future)
            .then([guard, f = std::move(f)](const T &value) mutable {
                runIfAlive(guard, [f = std::move(f), value]() mutable { f(value); });
            })
            .onCanceled([guard, onCanceled = std::move(onCanceled)]() mutable {
                runIfAlive(guard, [onCanceled = std::move(onCanceled)]() mutable { onCanceled(); });
            });
}

template<typename T>
QFuture<T> readyFuture(T value)
{
    Promise<T> promise;
    QFuture<T> future = promise.future();
    promise.finish(std::move(value));
    return future;
}

inline QFuture<void> readyFuture()
{
    Promise<void> promise;
    QFuture<void> future = promise.future();
    promise.finish();
    return future;
}

} // namespace rill
