// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// One reactor per thread: the descriptors of every socket flow and listener of the thread, and
// their deadlines, behind a single QSocketNotifier (epoll: its timer is a timerfd in the set;
// the fallback uses a single QTimer). Qt's dispatchers poll
// every enabled notifier of a thread on every wake-up, so a notifier per descriptor makes a
// wake-up cost the open connections; with one epoll set a wake-up costs the ready ones
// (../shared/notes/qt-facts.md, "Qt's event dispatchers cost every open socket").
//
// Two backends behind one interface: epoll (the default on Linux), and a QSocketNotifier per
// descriptor (other systems, and RILL_REACTOR=notifier, to compare and bisect). Readiness is
// level-triggered in both, so a handler that stops early (its per-wake-up budget) is run again
// at the next wake-up without waiting for a new edge.

#include <QtCore/QLoggingCategory>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcReactor)

class Reactor;

// What a descriptor's owner is told. The owner may destroy itself (and its IoWatch) from
// either call: the reactor never touches a registration after it was removed.
class IoHandler
{
public:
    virtual void ioReadable() = 0;
    virtual void ioWritable() = 0;
    virtual void ioFailed(int error) = 0; // errno: the descriptor cannot be watched

protected:
    ~IoHandler() = default;
};

// A descriptor's registration with the reactor of the thread it is used in. Interest set while
// detached is kept and applied when it attaches: a flow moved to another thread detaches in the
// old thread (before the move) and attaches again in the new one.
class IoWatch
{
public:
    IoWatch() = default;
    ~IoWatch() { reset(); }
    Q_DISABLE_COPY_MOVE(IoWatch)

    void watch(int fd, IoHandler *handler); // in the current thread's reactor, no interest yet
    void reset();                           // before the descriptor is closed
    void detach();                          // the owner leaves this thread
    void attach();                          // ... and arrives in the current one

    void setReadEnabled(bool enabled);
    void setWriteEnabled(bool enabled);
    bool isWatching() const { return m_fd >= 0; }

private:
    void apply();

    std::shared_ptr<Reactor> m_reactor;
    IoHandler *m_handler = nullptr;
    int m_fd = -1;
    int m_slot = -1;
    bool m_read = false;
    bool m_write = false;
};

// A deadline on the reactor's one timer. fire() runs in the thread that started it; like
// IoWatch, it detaches when its owner leaves the thread, and start() attaches to the current.
class ReactorTimer
{
public:
    explicit ReactorTimer(std::function<void()> fire) : m_fire(std::move(fire)) {}
    ~ReactorTimer() { stop(); }
    Q_DISABLE_COPY_MOVE(ReactorTimer)

    void start(qint64 dueNs); // QDeadlineTimer's clock, nanoseconds
    void stop();
    bool isActive() const { return m_reactor != nullptr || m_detached; }
    void detach(); // the owner leaves this thread; an active timer stays due
    void attach(); // ... and arrives in the current one

private:
    friend class Reactor;
    std::function<void()> m_fire;
    std::shared_ptr<Reactor> m_reactor;
    std::multimap<qint64, ReactorTimer *>::iterator m_entry;
    qint64 m_dueNs = 0;
    bool m_detached = false;
};

// Calls ended() in the thread it watches when that thread finishes (QThread::finished): one
// connection per thread for all of its flows, not one per flow. watch() follows the current
// thread (cheap when it is already the one watched); a flow moving to another thread calls
// detach() in the old one first.
class ThreadEndWatch
{
public:
    explicit ThreadEndWatch(std::function<void()> ended) : m_ended(std::move(ended)) {}
    ~ThreadEndWatch() { detach(); }
    Q_DISABLE_COPY_MOVE(ThreadEndWatch)

    void watch();
    void detach();

private:
    friend class Reactor;
    std::function<void()> m_ended;
    std::shared_ptr<Reactor> m_reactor;
    std::list<ThreadEndWatch *>::iterator m_entry;
};

// The kind of reactor this process uses: from RILL_REACTOR ("epoll", "notifier"), read once.
enum class ReactorKind { Epoll, Notifier };
ReactorKind reactorKind();
const char *reactorKindName();

} // namespace rill
