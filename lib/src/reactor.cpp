// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "reactor_p.h"

#include "flow_p.h" // nowNs()

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QPointer>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <cerrno>
#include <cstring>
#include <vector>

#if defined(Q_OS_LINUX)
#  include <sys/epoll.h>
#  include <sys/timerfd.h>
#  include <unistd.h>
#  define RILL_HAVE_EPOLL 1
#endif

namespace rill {

Q_LOGGING_CATEGORY(lcReactor, "rill.reactor", QtWarningMsg)

ReactorKind reactorKind()
{
    static const ReactorKind kind = [] {
        const QByteArray wanted = qgetenv("RILL_REACTOR").trimmed().toLower();
#ifdef RILL_HAVE_EPOLL
        if (wanted.isEmpty() || wanted == "epoll")
            return ReactorKind::Epoll;
#else
        if (wanted == "epoll")
            qCWarning(lcReactor, "RILL_REACTOR=epoll: not on this system; using notifiers");
#endif
        if (!wanted.isEmpty() && wanted != "notifier" && wanted != "epoll")
            qCWarning(lcReactor, "RILL_REACTOR=%s: unknown (epoll, notifier); using notifiers",
                      wanted.constData());
        return ReactorKind::Notifier;
    }();
    return kind;
}

const char *reactorKindName()
{
    return reactorKind() == ReactorKind::Epoll ? "epoll" : "notifier";
}

// A thread's reactor. Registrations are slots with a generation: an event or a queued call for
// a slot whose generation has moved on (removed, perhaps reused by a new descriptor with the
// same number) is dropped, so nothing reaches a destroyed handler.
class Reactor : public std::enable_shared_from_this<Reactor>
{
public:
    static std::shared_ptr<Reactor> current();
    virtual ~Reactor() { deleteInItsThread(m_timer); }

    int add(int fd, IoHandler *handler)
    {
        ensureQtObjects();
        int slot;
        if (!m_freeSlots.empty()) {
            slot = m_freeSlots.back();
            m_freeSlots.pop_back();
        } else {
            slot = int(m_slots.size());
            m_slots.emplace_back();
        }
        Slot &s = m_slots[size_t(slot)];
        s.handler = handler;
        s.fd = fd;
        return slot;
    }
    void remove(int slot)
    {
        Slot &s = m_slots[size_t(slot)];
        drop(s);
        s.handler = nullptr;
        s.fd = -1;
        s.read = s.write = false;
        ++s.generation;
        m_freeSlots.push_back(slot);
    }
    void setInterest(int slot, bool read, bool write)
    {
        ensureQtObjects();
        Slot &s = m_slots[size_t(slot)];
        s.read = read;
        s.write = write;
        apply(slot, s);
    }

    void startTimer(ReactorTimer *timer)
    {
        timer->m_entry = m_timers.emplace(timer->m_dueNs, timer);
        if (timer->m_entry == m_timers.begin())
            armTimer();
    }
    // The Qt timer may stay armed for an earlier deadline: it then finds nothing due, re-arms.
    void stopTimer(ReactorTimer *timer) { m_timers.erase(timer->m_entry); }

    void watchThreadEnd(ThreadEndWatch *watch)
    {
        if (!m_threadHooked) {
            // Emitted in the finishing thread, before its dispatcher goes.
            m_threadHooked = true;
            QThread *thread = QThread::currentThread();
            QObject::connect(
                    thread, &QThread::finished, thread,
                    [self = weak_from_this()] {
                        if (auto reactor = self.lock())
                            reactor->onThreadFinished();
                    },
                    Qt::DirectConnection);
        }
        watch->m_entry = m_threadEndWatches.insert(m_threadEndWatches.end(), watch);
    }
    void unwatchThreadEnd(ThreadEndWatch *watch) { m_threadEndWatches.erase(watch->m_entry); }

protected:
    // The dispatcher deletes the reactor's Qt objects at the thread's end; a reactor that goes
    // first (its last flow deleted while the thread finishes) deletes them itself.
    // Elsewhere (the last flow deleted in another thread after this one finished) they are
    // not touched: the dispatcher is deleting them.
    template<typename T>
    void deleteInItsThread(const QPointer<T> &object)
    {
        if (QThread::currentThread() == m_thread)
            delete object.data();
    }
    QThread *const m_thread = QThread::currentThread();

    struct Slot
    {
        IoHandler *handler = nullptr;
        int fd = -1;
        quint32 generation = 0;
        bool read = false;
        bool write = false;
        quint32 kernelEvents = 0;  // epoll: the events the kernel's set holds
        bool inKernel = false;     // epoll: registered in the set
        QSocketNotifier *readNotifier = nullptr;  // notifier backend
        QSocketNotifier *writeNotifier = nullptr;
    };

    virtual void apply(int slot, Slot &s) = 0;
    virtual void drop(Slot &s) = 0;
    virtual void makeQtObjects(QAbstractEventDispatcher *dispatcher) = 0;
    // Arms the reactor's own kernel timer for dueNs (NoDeadline: disarm); false when it has
    // none, and a QTimer serves instead.
    virtual bool setKernelTimer(qint64 dueNs) { Q_UNUSED(dueNs); return false; }

    bool alive(int slot, quint32 generation) const
    {
        return size_t(slot) < m_slots.size() && m_slots[size_t(slot)].generation == generation
                && m_slots[size_t(slot)].handler;
    }
    // Runs the handler's calls for one ready slot. The handler may remove its slot, or remove
    // and add others, from either call.
    void deliver(int slot, bool readable, bool writable)
    {
        const quint32 generation = m_slots[size_t(slot)].generation;
        if (readable)
            m_slots[size_t(slot)].handler->ioReadable();
        if (writable && alive(slot, generation) && m_slots[size_t(slot)].write)
            m_slots[size_t(slot)].handler->ioWritable();
    }
    // A failure to register is reported from the event loop: a registration never calls back
    // synchronously.
    void reportFailure(int slot, int error)
    {
        qCWarning(lcReactor, "cannot watch descriptor %d: %s", m_slots[size_t(slot)].fd,
                  std::strerror(error));
        const quint32 generation = m_slots[size_t(slot)].generation;
        QMetaObject::invokeMethod(
                m_dispatcher.data(),
                [self = shared_from_this(), slot, generation, error] {
                    if (self->alive(slot, generation))
                        self->m_slots[size_t(slot)].handler->ioFailed(error);
                },
                Qt::QueuedConnection);
    }

    std::vector<Slot> m_slots;
    std::vector<int> m_freeSlots;
    // The Qt objects are children of the thread's event dispatcher, so they go with it (at the
    // thread's end, or with the application); a later dispatcher of the thread gets new ones.
    QPointer<QAbstractEventDispatcher> m_dispatcher;

private:
    void ensureQtObjects()
    {
        if (m_dispatcher && m_timer)
            return;
        QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
        if (!dispatcher) {
            qCWarning(lcReactor, "no event dispatcher in this thread: flows and listeners need "
                                 "a thread started with QThread");
            return;
        }
        m_dispatcher = dispatcher;
        m_timer = new QTimer(dispatcher);
        m_timer->setSingleShot(true);
        m_timer->setTimerType(Qt::PreciseTimer);
        QObject::connect(m_timer, &QTimer::timeout, m_timer,
                         [self = weak_from_this()] {
                             if (auto reactor = self.lock())
                                 reactor->onTimer();
                         });
        m_armedNs = FlowPrivate::NoDeadline;
        makeQtObjects(dispatcher);
        for (size_t slot = 0; slot < m_slots.size(); ++slot) {
            if (m_slots[slot].handler)
                apply(int(slot), m_slots[slot]);
        }
        armTimer();
    }

    void armTimer()
    {
        ensureQtObjects();
        if (setKernelTimer(m_timers.empty() ? FlowPrivate::NoDeadline : m_timers.begin()->first))
            return;
        if (!m_timer)
            return;
        if (m_timers.empty()) {
            m_timer->stop();
            m_armedNs = FlowPrivate::NoDeadline;
            return;
        }
        const qint64 due = m_timers.begin()->first;
        if (m_timer->isActive() && m_armedNs <= due)
            return; // fires first, finds nothing due yet, arms again
        m_armedNs = due;
        const qint64 remainingMs = qMax<qint64>((due - nowNs() + 999999) / 1000000, 0);
        m_timer->start(int(qMin<qint64>(remainingMs, std::numeric_limits<int>::max())));
    }

protected:
    void onTimer()
    {
        const auto keep = shared_from_this(); // a timer's owner may drop the last reference
        m_armedNs = FlowPrivate::NoDeadline;
        const qint64 now = nowNs();
        // One at a time from the map: a fire() may stop or delete any other timer.
        while (!m_timers.empty() && m_timers.begin()->first <= now) {
            ReactorTimer *timer = m_timers.begin()->second;
            m_timers.erase(m_timers.begin());
            timer->m_reactor.reset();
            timer->m_fire();
        }
        armTimer();
    }

    void onThreadFinished()
    {
        const auto keep = shared_from_this();
        // One at a time: an ended() may destroy other watchers' owners.
        while (!m_threadEndWatches.empty()) {
            ThreadEndWatch *watch = m_threadEndWatches.front();
            m_threadEndWatches.pop_front();
            watch->m_reactor.reset();
            watch->m_ended();
        }
        // The thread lets go of its reactor now, not at its exit: thread_local destructors run
        // after QThread::wait() has returned, and the epoll descriptor must be closed (once the
        // last flow of the thread is gone) by the time the thread is seen as finished.
        releaseCurrent(this);
    }

private:
    static void releaseCurrent(Reactor *reactor);

    std::list<ThreadEndWatch *> m_threadEndWatches;
    bool m_threadHooked = false;
    std::multimap<qint64, ReactorTimer *> m_timers;
    QPointer<QTimer> m_timer;
    qint64 m_armedNs = FlowPrivate::NoDeadline;
};

namespace {

// A QSocketNotifier per direction of each descriptor: what Qt's own sockets do, and the only
// way where epoll does not exist.
class NotifierReactor final : public Reactor
{
protected:
    void apply(int slot, Slot &s) override
    {
        if (!m_dispatcher)
            return;
        if (s.read && !s.readNotifier)
            s.readNotifier = makeNotifier(slot, s, QSocketNotifier::Read);
        if (s.write && !s.writeNotifier)
            s.writeNotifier = makeNotifier(slot, s, QSocketNotifier::Write);
        if (s.readNotifier)
            s.readNotifier->setEnabled(s.read);
        if (s.writeNotifier)
            s.writeNotifier->setEnabled(s.write);
    }
    void drop(Slot &s) override
    {
        for (QSocketNotifier *notifier : {s.readNotifier, s.writeNotifier}) {
            if (notifier) {
                notifier->setEnabled(false);
                notifier->deleteLater(); // we may be inside its activated() signal
            }
        }
        s.readNotifier = s.writeNotifier = nullptr;
    }
    void makeQtObjects(QAbstractEventDispatcher *) override
    {
        // The old dispatcher deleted its children, our notifiers among them.
        for (Slot &s : m_slots)
            s.readNotifier = s.writeNotifier = nullptr;
    }

private:
    QSocketNotifier *makeNotifier(int slot, const Slot &s, QSocketNotifier::Type type)
    {
        auto *notifier = new QSocketNotifier(s.fd, type, m_dispatcher.data());
        const bool read = type == QSocketNotifier::Read;
        QObject::connect(notifier, &QSocketNotifier::activated, notifier,
                         [this, slot, generation = s.generation, read] {
                             if (alive(slot, generation))
                                 deliver(slot, read, !read);
                         });
        return notifier;
    }
};

#ifdef RILL_HAVE_EPOLL
// One epoll set per thread, seen by Qt's dispatcher as one descriptor. Level-triggered: a
// handler may leave data behind (its budget) and is run again at the next wake-up. Interest
// that goes away is dropped from the kernel's set lazily, at the first event it causes: a flow
// that toggles its write interest per message costs no system call for it.
class EpollReactor final : public Reactor
{
public:
    // When the thread finishes and its last flow is gone (or at exit in the main thread).
    ~EpollReactor() override
    {
        deleteInItsThread(m_notifier); // before its descriptor goes
        if (m_timerFd >= 0)
            ::close(m_timerFd);
        if (m_epoll >= 0)
            ::close(m_epoll);
    }

protected:
    static quint32 wantedEvents(const Slot &s)
    {
        return (s.read ? quint32(EPOLLIN | EPOLLRDHUP) : 0u) | (s.write ? quint32(EPOLLOUT) : 0u);
    }

    void apply(int slot, Slot &s) override
    {
        const quint32 wanted = wantedEvents(s);
        if (s.inKernel && (wanted & ~s.kernelEvents) == 0)
            return; // nothing new; what is no longer wanted goes at its first event
        if (!s.inKernel && wanted == 0)
            return;
        setKernelEvents(slot, s, wanted);
    }
    void drop(Slot &s) override
    {
        // Before the descriptor is closed: a duplicate of it elsewhere would keep the
        // registration alive, and level-triggered events for a dead slot would spin.
        if (s.inKernel && m_epoll >= 0)
            ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, s.fd, nullptr);
        s.inKernel = false;
        s.kernelEvents = 0;
    }
    void makeQtObjects(QAbstractEventDispatcher *) override
    {
        if (m_epoll >= 0)
            makeNotifier();
    }

    // Timers live in the epoll set too (a timerfd), not in a QTimer: while a Qt timer is
    // armed, every wait of the thread's dispatcher has a timeout, which the kernel arms and
    // cancels each time; with flows that re-arm their timer every millisecond (waiting
    // operations watched for cancel()) that doubled a TCP ping-pong's round trip.
    bool setKernelTimer(qint64 dueNs) override
    {
        if (m_timerFd < 0 && dueNs == FlowPrivate::NoDeadline)
            return true; // nothing to arm; a QTimer left armed finds nothing due
        if (ensureEpoll() != 0 || m_timerFd < 0 || !m_notifier)
            return false; // no set, or nobody watches it (no dispatcher): the QTimer's turn
        if (dueNs == m_timerDueNs)
            return true;
        itimerspec spec{};
        if (dueNs != FlowPrivate::NoDeadline) {
            const qint64 ns = qMax<qint64>(dueNs, 1); // all zero would disarm it
            spec.it_value.tv_sec = time_t(ns / 1000000000);
            spec.it_value.tv_nsec = long(ns % 1000000000);
        }
        // QDeadlineTimer's clock, which nowNs() reads, is CLOCK_MONOTONIC.
        if (::timerfd_settime(m_timerFd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0)
            return false;
        m_timerDueNs = dueNs;
        return true;
    }

private:
    // Made with the first descriptor: a thread whose flows are all pipes holds no epoll set.
    // Returns 0, or the errno of the failure.
    int ensureEpoll()
    {
        if (m_epoll >= 0)
            return 0;
        m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
        if (m_epoll < 0)
            return errno;
        // With the set, so that the thread's descriptors do not change when a flow first
        // sets a timer; without it, timers fall back to a QTimer.
        m_timerFd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (m_timerFd >= 0) {
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = TimerTag;
            if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timerFd, &event) != 0) {
                ::close(m_timerFd);
                m_timerFd = -1;
            }
        }
        makeNotifier();
        return 0;
    }
    void makeNotifier()
    {
        if (!m_dispatcher)
            return;
        m_notifier = new QSocketNotifier(m_epoll, QSocketNotifier::Read, m_dispatcher.data());
        QObject::connect(m_notifier.data(), &QSocketNotifier::activated, m_notifier.data(),
                         [self = weak_from_this()] {
                             if (auto reactor = self.lock())
                                 static_cast<EpollReactor *>(reactor.get())->onReady();
                         });
    }

    // Returns false (and reports) when the kernel refused.
    bool setKernelEvents(int slot, Slot &s, quint32 events)
    {
        if (const int error = ensureEpoll()) {
            reportFailure(slot, error);
            return false;
        }
        int result;
        if (events == 0) {
            result = ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, s.fd, nullptr);
            s.inKernel = false;
        } else {
            epoll_event event{};
            event.events = events;
            event.data.u64 = (quint64(s.generation) << 32) | quint32(slot);
            result = ::epoll_ctl(m_epoll, s.inKernel ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &event);
            if (result != 0 && errno == ENOENT) // closed and reopened behind our back
                result = ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, s.fd, &event);
            s.inKernel = result == 0;
        }
        s.kernelEvents = s.inKernel ? events : 0;
        if (result != 0 && events != 0) {
            reportFailure(slot, errno);
            return false;
        }
        return true;
    }

    void onReady()
    {
        const auto keep = shared_from_this();
        // A bounded batch, then back to the event loop so that timers, Qt's own sockets and
        // the GUI get their turn; the epoll descriptor stays readable while more are ready.
        constexpr int BatchSize = 256;
        constexpr int MaxBatches = 4;
        epoll_event events[BatchSize];
        for (int batch = 0; batch < MaxBatches; ++batch) {
            const int n = ::epoll_wait(m_epoll, events, BatchSize, 0);
            for (int i = 0; i < n; ++i)
                dispatch(events[i]);
            if (n < BatchSize)
                return;
        }
    }

    void dispatch(const epoll_event &event)
    {
        if (event.data.u64 == TimerTag) {
            quint64 expirations;
            [[maybe_unused]] const ssize_t n = ::read(m_timerFd, &expirations, sizeof expirations);
            m_timerDueNs = FlowPrivate::NoDeadline; // one-shot: it fired
            onTimer();
            return;
        }
        const int slot = int(quint32(event.data.u64));
        const quint32 generation = quint32(event.data.u64 >> 32);
        if (!alive(slot, generation))
            return; // removed, maybe reused, earlier in this batch
        Slot &s = m_slots[size_t(slot)];
        const quint32 ready = event.events;
        const bool readable = s.read && (ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
        const bool writable = s.write && (ready & (EPOLLOUT | EPOLLHUP | EPOLLERR));
        if (!readable && !writable) {
            setKernelEvents(slot, s, wantedEvents(s)); // the lazy drop of old interest
            return;
        }
        deliver(slot, readable, writable);
    }

    static constexpr quint64 TimerTag = ~quint64(0); // no slot has this number and generation
    int m_epoll = -1;
    int m_timerFd = -1;
    qint64 m_timerDueNs = FlowPrivate::NoDeadline;
    QPointer<QSocketNotifier> m_notifier;
};
#endif

thread_local std::shared_ptr<Reactor> threadReactor;

} // namespace

void Reactor::releaseCurrent(Reactor *reactor)
{
    if (threadReactor.get() == reactor)
        threadReactor.reset();
}

std::shared_ptr<Reactor> Reactor::current()
{
    if (!threadReactor) {
#ifdef RILL_HAVE_EPOLL
        if (reactorKind() == ReactorKind::Epoll)
            threadReactor = std::make_shared<EpollReactor>();
        else
#endif
            threadReactor = std::make_shared<NotifierReactor>();
        qCDebug(lcReactor) << "reactor" << reactorKindName() << "for" << QThread::currentThread();
    }
    return threadReactor;
}

// ---- IoWatch

void IoWatch::watch(int fd, IoHandler *handler)
{
    reset();
    m_fd = fd;
    m_handler = handler;
    m_read = m_write = false;
    attach();
}

void IoWatch::reset()
{
    detach();
    m_fd = -1;
    m_handler = nullptr;
    m_read = m_write = false;
}

void IoWatch::detach()
{
    if (!m_reactor)
        return;
    m_reactor->remove(m_slot);
    m_reactor.reset();
    m_slot = -1;
}

void IoWatch::attach()
{
    if (m_reactor || m_fd < 0)
        return;
    m_reactor = Reactor::current();
    m_slot = m_reactor->add(m_fd, m_handler);
    if (m_read || m_write)
        m_reactor->setInterest(m_slot, m_read, m_write);
}

void IoWatch::setReadEnabled(bool enabled)
{
    if (m_read == enabled)
        return;
    m_read = enabled;
    apply();
}

void IoWatch::setWriteEnabled(bool enabled)
{
    if (m_write == enabled)
        return;
    m_write = enabled;
    apply();
}

void IoWatch::apply()
{
    if (m_reactor)
        m_reactor->setInterest(m_slot, m_read, m_write);
}

// ---- ThreadEndWatch

void ThreadEndWatch::watch()
{
    if (m_reactor && m_reactor.get() == threadReactor.get())
        return;
    detach();
    m_reactor = Reactor::current();
    m_reactor->watchThreadEnd(this);
}

void ThreadEndWatch::detach()
{
    if (!m_reactor)
        return;
    m_reactor->unwatchThreadEnd(this);
    m_reactor.reset();
}

// ---- ReactorTimer

void ReactorTimer::start(qint64 dueNs)
{
    if (m_reactor && m_dueNs == dueNs)
        return;
    stop();
    m_detached = false;
    m_dueNs = dueNs;
    m_reactor = Reactor::current();
    m_reactor->startTimer(this);
}

void ReactorTimer::stop()
{
    m_detached = false;
    if (!m_reactor)
        return;
    m_reactor->stopTimer(this);
    m_reactor.reset();
}

void ReactorTimer::detach()
{
    if (!m_reactor)
        return;
    m_reactor->stopTimer(this);
    m_reactor.reset();
    m_detached = true;
}

void ReactorTimer::attach()
{
    if (m_detached)
        start(m_dueNs);
}

} // namespace rill
