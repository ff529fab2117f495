// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Uses the installed Rill::Test as a user's QTest suite does: a small line protocol tested under
// every fault mode, and against a scripted peer. docs/testing.md shows this very code.
#include <rill/channel.h>
#include <rill/pipeflow.h>
#include <rill/test/faultyflow.h>
#include <rill/test/qtesthelpers.h>
#include <rill/test/scriptedflow.h>

#include <QtTest/QtTest>

using namespace std::chrono_literals;
using rill::test::FaultPlan;

// The code under test: reads "\n"-terminated commands until the stream ends, answers each in
// upper case, then ends its side. Returns the commands it read.
static QList<QByteArray> serve(rill::Flow *flow, QDeadlineTimer deadline)
{
    rill::Channel channel(flow);
    QList<QByteArray> commands;
    for (;;) {
        auto line = channel.readLine(1024, rill::Channel::StripTerminator, deadline);
        if (!rill::test::waitForFinished(line) || !line.result().isData())
            break;
        commands.append(line.result().data());
        channel.writeLine(line.result().data().toUpper());
    }
    auto shutdown = channel.shutdown(rill::Flow::Direction::Write);
    (void)rill::test::waitForFinished(shutdown, deadline);
    return commands;
}

class TestLines : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void underEveryFault_data() { rill::test::addFaultRows(14); }
    void underEveryFault()
    {
        RILL_FETCH_FAULTS(faults);
        auto [ours, peer] = rill::PipeFlow::createPair();
        rill::test::FaultyFlow flow(std::move(ours), faults);
        peer->write("one\ntwo\nthree\n");
        peer->shutdown(rill::Flow::Direction::Write);

        const bool stalls = faults.outcome() == FaultPlan::Outcome::Stall;
        const QList<QByteArray> commands = serve(&flow, QDeadlineTimer(stalls ? 200ms : 10s));
        if (faults.outcome() == FaultPlan::Outcome::Complete) {
            QCOMPARE(commands, (QList<QByteArray> { "one", "two", "three" }));
            RILL_COMPARE_STREAMS(rill::test::readAll(peer.get()).data, "ONE\nTWO\nTHREE\n");
        } else { // broken at byte 7: "one" and at most the piece "two" before an early end
            QCOMPARE(commands.value(0), QByteArray("one"));
            QVERIFY(commands.size() <= 2);
        }
    }

    void scripted()
    {
        using rill::test::Script;
        rill::test::ScriptedFlow flow(Script().send("hello\n").expect("HELLO\n").eof().expectEof());
        QCOMPARE(serve(&flow, QDeadlineTimer(10s)), QList<QByteArray> { "hello" });
        RILL_VERIFY_SCRIPT(flow);
    }
};

QTEST_GUILESS_MAIN(TestLines)
#include "kit.moc"
