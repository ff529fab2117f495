// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/test/scriptedflow.h>

#include "text_p.h"

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtTest/QTest>

namespace rill::test {

// ---- Script

Script &Script::send(const QByteArray &data)
{
    m_steps.append({StepKind::Send, data, {}, {}, {}});
    return *this;
}

Script &Script::expect(const QByteArray &data)
{
    m_steps.append({StepKind::Expect, data, {}, {}, {}});
    return *this;
}

Script &Script::wait(std::chrono::milliseconds duration)
{
    m_steps.append({StepKind::Wait, {}, duration, {}, {}});
    return *this;
}

Script &Script::waitUntil(std::function<bool()> condition, const QString &description)
{
    m_steps.append({StepKind::WaitUntil, {}, {}, std::move(condition), description});
    return *this;
}

Script &Script::eof()
{
    m_steps.append({StepKind::Eof, {}, {}, {}, {}});
    return *this;
}

Script &Script::expectEof()
{
    m_steps.append({StepKind::ExpectEof, {}, {}, {}, {}});
    return *this;
}

Script &Script::reset()
{
    m_steps.append({StepKind::Reset, {}, {}, {}, {}});
    return *this;
}

Script &Script::stall()
{
    m_steps.append({StepKind::Stall, {}, {}, {}, {}});
    return *this;
}

QList<Script::Step> Script::steps() const
{
    return m_steps;
}

QString Script::describe(const Step &step)
{
    switch (step.kind) {
    case StepKind::Send:
        return QStringLiteral("send ") + quoted(step.data);
    case StepKind::Expect:
        return QStringLiteral("expect ") + quoted(step.data);
    case StepKind::Wait:
        return QStringLiteral("wait %1 ms").arg(step.duration.count());
    case StepKind::WaitUntil:
        return QStringLiteral("wait until ")
            + (step.description.isEmpty() ? QStringLiteral("a condition holds") : step.description);
    case StepKind::Eof:
        return QStringLiteral("eof");
    case StepKind::ExpectEof:
        return QStringLiteral("expect eof");
    case StepKind::Reset:
        return QStringLiteral("reset");
    case StepKind::Stall:
        return QStringLiteral("stall");
    }
    return {};
}

// ---- the transport

using StepKind = Script::StepKind;

// Plays the script from the event loop (queued calls and timers with m_context as context), as
// the transport interface asks; deleting m_context cuts every callback.
class ScriptTransport final : public Transport {
public:
    explicit ScriptTransport(const Script &script) : m_steps(script.steps()) { }
    ~ScriptTransport() override { delete m_context.data(); }

    QString name() const override { return QStringLiteral("script"); }
    QString peerName() const override { return QStringLiteral("the script"); }

    void start() override
    {
        m_context = new QObject(flow());
        opened();
        schedulePlay();
    }

    void startWriting() override
    {
        schedule(m_takeScheduled, [this] { take(); });
    }
    void setReadEnabled(bool) override { } // the script sends when its step comes
    void shutdownWrite() override
    {
        later([this] {
            m_writeEnded = true;
            // Played first: with both sides ended, endOfStreamSent() releases the transport,
            // and an expectEof() step must count before that.
            play();
            if (!m_done)
                endOfStreamSent();
        });
    }
    void abort() override { m_done = true; }
    void release() override { m_done = true; }

    int current() const { return m_current; }
    bool isFinished() const { return m_finished; }
    QByteArray writtenBytes() const { return m_written; }
    QList<ScriptMismatch> mismatches() const { return m_mismatches; }

    QStringList unplayed() const
    {
        QStringList steps;
        if (m_finished)
            return steps;
        for (int i = m_current; i < m_steps.size(); ++i) {
            QString text
                = QStringLiteral("step %1: %2").arg(i + 1).arg(Script::describe(m_steps.at(i)));
            if (i == m_current && m_steps.at(i).kind == StepKind::Expect && m_stepMatched > 0)
                text += QStringLiteral(" (%1 of %2 bytes matched)")
                            .arg(m_stepMatched)
                            .arg(m_steps.at(i).data.size());
            steps << text;
        }
        return steps;
    }

private:
    ScriptedFlow *scriptedFlow() const { return static_cast<ScriptedFlow *>(flow()); }

    template<typename F> void later(F &&f)
    {
        QMetaObject::invokeMethod(
            m_context.data(),
            [this, f = std::forward<F>(f)] {
                if (!m_done)
                    f();
            },
            Qt::QueuedConnection);
    }

    template<typename F> void schedule(bool &flag, F &&f)
    {
        if (std::exchange(flag, true))
            return;
        later([this, &flag, f = std::forward<F>(f)] {
            flag = false;
            f();
        });
    }

    void schedulePlay()
    {
        schedule(m_playScheduled, [this] { play(); });
    }

    // The code under test wrote: the peer takes every byte, unless it stalled.
    void take()
    {
        if (m_done || m_stalled)
            return;
        const qint64 pending = bytesToWrite();
        if (pending == 0)
            return;
        for (const QByteArray &buffer : queuedData())
            m_written += buffer;
        written(pending); // may call startWriting() again, which schedules another take()
        if (!m_done)
            play();
    }

    void advance()
    {
        const int played = m_current++;
        m_stepMatched = 0;
        m_waiting = false;
        Q_EMIT scriptedFlow()->stepPlayed(played);
    }

    void play()
    {
        while (!m_done && !m_finished && !m_stalled) {
            if (m_current >= m_steps.size()) {
                m_finished = true;
                checkNothingMore();
                if (!m_done)
                    Q_EMIT scriptedFlow()->finished();
                return;
            }
            const Script::Step &step = m_steps.at(m_current);
            switch (step.kind) {
            case StepKind::Send:
                received(step.data);
                advance();
                break;
            case StepKind::Expect:
                if (!match(step))
                    return;
                advance();
                break;
            case StepKind::Wait:
                if (!std::exchange(m_waiting, true)) {
                    const int index = m_current;
                    QTimer::singleShot(step.duration, m_context.data(), [this, index] {
                        if (m_done || m_current != index)
                            return;
                        advance();
                        play();
                    });
                }
                return;
            case StepKind::WaitUntil:
                if (step.condition && !step.condition()) {
                    // Polled: the condition may depend on anything, with no signal to watch.
                    QTimer::singleShot(1, m_context.data(), [this] { play(); });
                    return;
                }
                advance();
                break;
            case StepKind::Eof:
                receivedEndOfStream();
                advance();
                break;
            case StepKind::ExpectEof:
                if (!m_writeEnded) {
                    if (m_matched < m_written.size())
                        return mismatch(QByteArray(), QStringLiteral("expected the end of stream"));
                    return;
                }
                if (m_matched < m_written.size())
                    return mismatch(QByteArray(), QStringLiteral("expected the end of stream"));
                advance();
                break;
            case StepKind::Reset:
                advance();
                m_done = true;
                failed(Error(Error::Kind::Reset, QStringLiteral("the script reset the connection"),
                    peerName()));
                return;
            case StepKind::Stall:
                m_stalled = true;
                return;
            }
        }
    }

    // Matches the written bytes against an expect() step; true once the whole step matched.
    bool match(const Script::Step &step)
    {
        while (m_stepMatched < step.data.size() && m_matched < m_written.size()) {
            if (m_written.at(m_matched) != step.data.at(m_stepMatched)) {
                mismatch(step.data.mid(m_stepMatched), QString());
                return false;
            }
            ++m_matched;
            ++m_stepMatched;
        }
        if (m_stepMatched == step.data.size())
            return true;
        if (m_writeEnded) {
            mismatch(step.data.mid(m_stepMatched),
                QStringLiteral("the code under test ended its stream"));
        }
        return false;
    }

    void checkNothingMore()
    {
        if (m_matched < m_written.size())
            mismatch(QByteArray(), QStringLiteral("the script had ended"));
    }

    // Records a mismatch at the current step and offset, and ends the play by failing the flow.
    void mismatch(const QByteArray &expected, const QString &why)
    {
        ScriptMismatch found;
        found.step = m_current;
        found.offset = m_matched;
        found.expected = expected;
        found.actual = m_written.mid(m_matched);
        const QString where = m_current < m_steps.size()
            ? QStringLiteral("step %1 (%2)")
                  .arg(m_current + 1)
                  .arg(Script::describe(m_steps.at(m_current)))
            : QStringLiteral("after the last step");
        QString text
            = QStringLiteral("script mismatch at %1, written offset %2").arg(where).arg(m_matched);
        if (!why.isEmpty())
            text += QStringLiteral(": ") + why;
        // Both sides from the step's first byte, so the diff shows what did match too.
        const qint64 stepStart = m_matched - m_stepMatched;
        const QByteArray stepExpected
            = m_current < m_steps.size() && m_steps.at(m_current).kind == StepKind::Expect
            ? m_steps.at(m_current).data
            : QByteArray();
        text += QStringLiteral(":\n")
            + describeDifference(m_written.mid(stepStart), stepExpected, stepStart);
        found.description = text;
        m_mismatches.append(found);
        qCWarning(lcTest).noquote() << text;
        m_done = true;
        Q_EMIT scriptedFlow()->mismatchFound(found);
        failed(Error(Error::Kind::Other,
            QStringLiteral("script mismatch at written offset %1").arg(found.offset), peerName()));
    }

    QList<Script::Step> m_steps;
    QPointer<QObject> m_context;
    int m_current = 0;
    qint64 m_stepMatched = 0; // bytes of the current expect() step matched
    qint64 m_matched = 0; // bytes of m_written matched by expect() steps
    QByteArray m_written;
    QList<ScriptMismatch> m_mismatches;
    bool m_done = false;
    bool m_finished = false;
    bool m_stalled = false;
    bool m_waiting = false;
    bool m_writeEnded = false;
    bool m_playScheduled = false;
    bool m_takeScheduled = false;
};

// ---- ScriptedFlow

ScriptedFlow::ScriptedFlow(const Script &script, QObject *parent)
    : TransportFlow(std::make_unique<ScriptTransport>(script), parent)
{
}

ScriptedFlow::~ScriptedFlow() = default;

ScriptTransport *ScriptedFlow::scriptTransport() const
{
    return static_cast<ScriptTransport *>(transport());
}

bool ScriptedFlow::isFinished() const
{
    return scriptTransport()->isFinished() && scriptTransport()->mismatches().isEmpty();
}

int ScriptedFlow::currentStep() const
{
    return scriptTransport()->current();
}

QStringList ScriptedFlow::unplayed() const
{
    return scriptTransport()->unplayed();
}

QList<ScriptMismatch> ScriptedFlow::mismatches() const
{
    return scriptTransport()->mismatches();
}

QByteArray ScriptedFlow::written() const
{
    return scriptTransport()->writtenBytes();
}

QString ScriptedFlow::report() const
{
    QStringList parts;
    for (const ScriptMismatch &mismatch : scriptTransport()->mismatches())
        parts << mismatch.description;
    const QStringList left = unplayed();
    if (!left.isEmpty())
        parts << QStringLiteral("left unplayed:\n  ") + left.join(QStringLiteral("\n  "));
    return parts.join(QLatin1Char('\n'));
}

bool ScriptedFlow::verify(std::source_location where) const
{
    const QString text = report();
    if (text.isEmpty())
        return true;
    QTest::qFail(qPrintable(text), where.file_name(), int(where.line()));
    return false;
}

} // namespace rill::test
