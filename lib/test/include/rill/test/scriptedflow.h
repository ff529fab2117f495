// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::test::Script and rill::test::ScriptedFlow: a peer played from a script.

#include <rill/test/testglobal.h>
#include <rill/transport.h>

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QStringList>

#include <chrono>
#include <functional>
#include <source_location>

namespace rill::test {

/// What a scripted peer does, step by step: what it sends, what it expects the code under test
/// to write, when it pauses, how it ends.
///
/// \code
/// Script script;
/// script.send("HELLO\r\n").expect("OK\r\n").wait(10ms).send("BYE\r\n").eof().expectEof();
/// \endcode
///
/// Steps are played in order; each starts when the one before is done. send() and the end
/// steps are done at once, expect() when the bytes arrived (however the code under test split
/// its writes), wait() when its time or condition came.
class RILL_TEST_EXPORT Script {
public:
    /// What a step does.
    enum class StepKind {
        Send, ///< The peer sends bytes: the code under test reads them.
        Expect, ///< The peer waits for bytes the code under test must write.
        Wait, ///< The peer pauses for a time.
        WaitUntil, ///< The peer pauses until a condition holds.
        Eof, ///< The peer ends its side: reads give Eof after what it sent.
        ExpectEof, ///< The peer waits for the code under test to end its side.
        Reset, ///< The peer resets the connection: the flow fails with kind Reset.
        Stall, ///< The peer stops: sends nothing more and takes no more bytes.
    };

    /// One step of a script.
    struct Step {
        StepKind kind = StepKind::Send; ///< What the step does.
        QByteArray data; ///< The bytes of Send and Expect.
        std::chrono::milliseconds duration {0}; ///< The pause of Wait.
        std::function<bool()> condition; ///< The condition of WaitUntil.
        QString description; ///< What WaitUntil waits for, in words.
    };

    /// The peer sends \a data.
    Script &send(const QByteArray &data);
    /// The peer expects the code under test to write \a data next.
    Script &expect(const QByteArray &data);
    /// The peer pauses for \a duration.
    Script &wait(std::chrono::milliseconds duration);
    /// The peer pauses until \a condition returns true (checked every millisecond, and after
    /// every byte the code under test writes); \a description names it in reports.
    Script &waitUntil(std::function<bool()> condition, const QString &description = {});
    /// The peer ends its side of the stream.
    Script &eof();
    /// The peer expects the code under test to end its side (shutdown(Write) or close()).
    Script &expectEof();
    /// The peer resets the connection.
    Script &reset();
    /// The peer stops for good: it sends nothing more and takes no more bytes.
    Script &stall();

    /// The steps, in order.
    QList<Step> steps() const;
    /// \a step in words, e.g. 'expect "OK\r\n"'.
    static QString describe(const Step &step);

private:
    QList<Step> m_steps;
};

/// A difference between what a script expected and what the code under test wrote.
struct RILL_TEST_EXPORT ScriptMismatch {
    int step = -1; ///< The index of the step in the script.
    qint64 offset = 0; ///< The offset in the written stream of the first byte that differs.
    QByteArray expected; ///< What the step expected (from the offset on).
    QByteArray actual; ///< What was written instead (from the offset on; may be empty).
    QString description; ///< The mismatch in words, with both sides as text.
};

class ScriptTransport;

/// A flow whose peer is played from a Script: give it to the code under test, run, then
/// verify().
///
/// It is a TransportFlow with all of the Flow contract. What the code under test writes is
/// matched byte by byte against the expect() steps, whatever the split of its writes. The
/// first mismatch ends the play: it is recorded (mismatches()), logged, and the flow fails with
/// an error of kind Other that says where, so that every future of the code under test
/// finishes. verify() then fails the QTest function with the difference and the steps left
/// unplayed.
///
/// \code
/// ScriptedFlow flow(Script().send("HELLO\r\n").expect("OK\r\n").eof().expectEof());
/// runServer(&flow);
/// QTRY_VERIFY(flow.isFinished());
/// RILL_VERIFY_SCRIPT(flow);
/// \endcode
class RILL_TEST_EXPORT ScriptedFlow : public rill::TransportFlow {
    Q_OBJECT
    /// True once every step was played without a mismatch. \sa isFinished(), finished()
    Q_PROPERTY(bool finished READ isFinished NOTIFY finished)
    /// The index of the step being played. \sa currentStep()
    Q_PROPERTY(int currentStep READ currentStep NOTIFY stepPlayed)

public:
    /// Makes a flow that plays \a script; it is open at once and starts playing from the
    /// event loop.
    explicit ScriptedFlow(const Script &script, QObject *parent = nullptr);
    /// Aborts the flow if it is still open.
    ~ScriptedFlow() override;

    /// True once every step was played without a mismatch.
    bool isFinished() const;
    /// The index of the step being played (the number of steps once finished).
    int currentStep() const;
    /// The steps not played yet, in words (the current one first, with how much of it was
    /// played).
    QStringList unplayed() const;
    /// Every mismatch found (the play ends at the first).
    QList<ScriptMismatch> mismatches() const;
    /// Every byte the code under test wrote.
    QByteArray written() const;
    /// True if the script was played to its end without a mismatch; otherwise fails the current
    /// QTest function at \a where with report() and returns false.
    bool verify(std::source_location where = std::source_location::current()) const;
    /// The mismatches and the unplayed steps, in words; empty if all is well.
    QString report() const;

Q_SIGNALS:
    /// Step \a index was played.
    void stepPlayed(int index);
    /// Every step was played without a mismatch.
    void finished();
    /// The code under test wrote something the script did not expect: \a mismatch says what.
    void mismatchFound(const rill::test::ScriptMismatch &mismatch);

private:
    friend class ScriptTransport;
    ScriptTransport *scriptTransport() const;
};

} // namespace rill::test

Q_DECLARE_METATYPE(rill::test::ScriptMismatch)

/// Verifies a ScriptedFlow (rill::test::ScriptedFlow::verify()); returns from the test
/// function if it failed.
#define RILL_VERIFY_SCRIPT(flow)                                                                   \
    do {                                                                                           \
        if (!(flow).verify())                                                                      \
            return;                                                                                \
    } while (false)
