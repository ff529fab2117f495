// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// FlowText: the words, lamps, byte counts and printable bytes both front ends show.
#include "../shared/testutil.h"

#include <rill/flowtext.h>
#include <rill/pipeflow.h>

#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtTest/QTest>

using rill::Flow;
using rill::ReadResult;
using rill::WriteResult;
using Lamp = rill::FlowText::Lamp;
namespace FlowText = rill::FlowText;

class tst_FlowText : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void stateWords();
    void lampsShowTheHalfClose();
    void lampNamesAndColours();
    void resultTexts();
    void bytes_data();
    void bytes();
    void printable_data();
    void printable();
    void hexDump();
    void tlsTextsAreEmptyForOtherFlows();
};

void tst_FlowText::stateWords()
{
    QCOMPARE(FlowText::stateText(Flow::State::Connecting), QStringLiteral("connecting"));
    QCOMPARE(FlowText::stateText(Flow::State::Open), QStringLiteral("open"));
    QCOMPARE(FlowText::stateText(Flow::State::Closing), QStringLiteral("closing"));
    QCOMPARE(FlowText::stateText(Flow::State::Closed), QStringLiteral("closed"));
    QCOMPARE(FlowText::readStateText(Flow::ReadState::Open), QStringLiteral("open"));
    QCOMPARE(FlowText::readStateText(Flow::ReadState::Eof), QStringLiteral("end of stream"));
    QCOMPARE(FlowText::readStateText(Flow::ReadState::Failed), QStringLiteral("failed"));
    QCOMPARE(FlowText::writeStateText(Flow::WriteState::Open), QStringLiteral("open"));
    QCOMPARE(
        FlowText::writeStateText(Flow::WriteState::ShuttingDown), QStringLiteral("shutting down"));
    QCOMPARE(FlowText::writeStateText(Flow::WriteState::Closed), QStringLiteral("closed"));
    QCOMPARE(FlowText::writeStateText(Flow::WriteState::Failed), QStringLiteral("failed"));
}

void tst_FlowText::lampsShowTheHalfClose()
{
    QCOMPARE(FlowText::lamp(Flow::State::Connecting), Lamp::Idle);
    QCOMPARE(FlowText::lamp(Flow::State::Open), Lamp::Open);
    QCOMPARE(FlowText::lamp(Flow::State::Closing), Lamp::Ending);
    QCOMPARE(FlowText::lamp(Flow::State::Closed), Lamp::Idle);
    QCOMPARE(FlowText::lamp(Flow::ReadState::Open), Lamp::Open);
    QCOMPARE(FlowText::lamp(Flow::ReadState::Eof), Lamp::Ended);
    QCOMPARE(FlowText::lamp(Flow::ReadState::Failed), Lamp::Failed);
    QCOMPARE(FlowText::lamp(Flow::WriteState::Open), Lamp::Open);
    QCOMPARE(FlowText::lamp(Flow::WriteState::ShuttingDown), Lamp::Ending);
    QCOMPARE(FlowText::lamp(Flow::WriteState::Closed), Lamp::Ended);
    QCOMPARE(FlowText::lamp(Flow::WriteState::Failed), Lamp::Failed);
}

void tst_FlowText::lampNamesAndColours()
{
    // QML's StateLamp and the model's lamp role speak these names.
    const QStringList expected = {QStringLiteral("idle"), QStringLiteral("open"),
        QStringLiteral("ending"), QStringLiteral("ended"), QStringLiteral("failed")};
    QSet<QString> colours;
    int i = 0;
    for (Lamp lamp : {Lamp::Idle, Lamp::Open, Lamp::Ending, Lamp::Ended, Lamp::Failed}) {
        QCOMPARE(FlowText::lampName(lamp), expected[i++]);
        QCOMPARE(FlowText::lampNamed(FlowText::lampName(lamp)), lamp);
        const QString colour = FlowText::lampColor(lamp);
        QVERIFY2(QRegularExpression(QStringLiteral("^#[0-9a-f]{6}$")).match(colour).hasMatch(),
            qPrintable(colour));
        colours << colour;
    }
    QCOMPARE(colours.size(), 5); // a lamp is told apart by its colour
    QCOMPARE(FlowText::lampNamed(u"nonsense"), Lamp::Idle);
    QCOMPARE(FlowText::lampNamed(u""), Lamp::Idle);
}

void tst_FlowText::resultTexts()
{
    const rill::Error refused(rill::Error::Kind::Refused, QStringLiteral("connection refused"),
        QStringLiteral("tcp:127.0.0.1:1"));
    QCOMPARE(FlowText::readResultText(ReadResult::fromData("x")), QString());
    QCOMPARE(FlowText::readResultText(ReadResult::eof()), QStringLiteral("end of stream"));
    QCOMPARE(FlowText::readResultText(ReadResult::fromError(refused)), rill::errorMessage(refused));
    QCOMPARE(FlowText::writeResultText(WriteResult::ok()), QString());
    QCOMPARE(FlowText::writeResultText(WriteResult::eof()),
        QStringLiteral("the write side is closed (end of stream)"));
    QCOMPARE(
        FlowText::writeResultText(WriteResult::fromError(refused)), rill::errorMessage(refused));
}

void tst_FlowText::bytes_data()
{
    QTest::addColumn<qint64>("count");
    QTest::addColumn<QString>("text");
    QTest::newRow("negative") << qint64(-1) << QStringLiteral("-");
    QTest::newRow("zero") << qint64(0) << QStringLiteral("0 B");
    QTest::newRow("1023") << qint64(1023) << QStringLiteral("1023 B");
    QTest::newRow("1 KiB") << qint64(1024) << QStringLiteral("1.0 KiB");
    QTest::newRow("1.5 KiB") << qint64(1536) << QStringLiteral("1.5 KiB");
    QTest::newRow("10 KiB, no decimals") << qint64(10240) << QStringLiteral("10 KiB");
    QTest::newRow("3.5 MiB") << qint64(3584 * 1024) << QStringLiteral("3.5 MiB");
    QTest::newRow("1.25 GiB") << qint64(1280) * 1024 * 1024 << QStringLiteral("1.25 GiB");
}

void tst_FlowText::bytes()
{
    QFETCH(qint64, count);
    QFETCH(QString, text);
    QCOMPARE(FlowText::bytes(count), text);
    QCOMPARE(FlowText::rate(count), text + QStringLiteral("/s"));
}

void tst_FlowText::printable_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<qint64>("totalSize");
    QTest::addColumn<int>("maxChars");
    QTest::addColumn<QString>("text");
    const int all = FlowText::DefaultTextChars;
    QTest::newRow("ascii") << QByteArray("GET / HTTP/1.0") << qint64(-1) << all
                           << QStringLiteral("GET / HTTP/1.0");
    QTest::newRow("line ends and tabs")
        << QByteArray("a\r\nb\tc") << qint64(-1) << all << QStringLiteral("a\\r\\nb\\tc");
    QTest::newRow("backslash") << QByteArray("a\\n") << qint64(-1) << all
                               << QStringLiteral("a\\\\n");
    QTest::newRow("binary") << QByteArray("\x00\x01\x7f\xff", 4) << qint64(-1) << all
                            << QStringLiteral("\\x00\\x01\\x7f\\xff");
    QTest::newRow("utf-8") << QByteArray("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") << qint64(-1)
                           << all << QStringLiteral("café € 😀");
    QTest::newRow("utf-8 cut short") << QByteArray("\xe2\x82") << qint64(-1) << all
                                     << QStringLiteral("\\xe2\\x82");
    QTest::newRow("stray continuation")
        << QByteArray("\x80x") << qint64(-1) << all << QStringLiteral("\\x80x");
    QTest::newRow("overlong") << QByteArray("\xc0\xaf\xe0\x80\xaf") << qint64(-1) << all
                              << QStringLiteral("\\xc0\\xaf\\xe0\\x80\\xaf");
    QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << qint64(-1) << all
                               << QStringLiteral("\\xed\\xa0\\x80");
    QTest::newRow("C1 control") << QByteArray("\xc2\x85") << qint64(-1) << all
                                << QStringLiteral("\\xc2\\x85");
    QTest::newRow("cut at maxChars")
        << QByteArray(200, 'a') << qint64(-1) << 10
        << QStringLiteral("aaaaaaaaaa … (200 B in all)");
    QTest::newRow("escapes count as one")
        << QByteArray("\n\n\n\n") << qint64(-1) << 2 << QStringLiteral("\\n\\n … (4 B in all)");
    QTest::newRow("first bytes of a larger chunk")
        << QByteArray("abc") << qint64(5000) << all << QStringLiteral("abc … (4.9 KiB in all)");
    QTest::newRow("empty") << QByteArray() << qint64(-1) << all << QString();
}

void tst_FlowText::printable()
{
    QFETCH(QByteArray, data);
    QFETCH(qint64, totalSize);
    QFETCH(int, maxChars);
    QFETCH(QString, text);
    QCOMPARE(FlowText::printable(data, totalSize, maxChars), text);
}

void tst_FlowText::hexDump()
{
    QCOMPARE(FlowText::hexDump(QByteArray("Hi\n")),
        QStringList {QStringLiteral("    0000  48 69 0a ") + QString(13 * 3, u' ')
            + QStringLiteral(" |Hi.|")});
    const QStringList lines = FlowText::hexDump(QByteArray(100, 'A'));
    QCOMPARE(lines.size(), 5); // 64 bytes shown, 16 a line, then what is left
    QVERIFY2(lines[1].startsWith(QStringLiteral("    0010  41 41")), qPrintable(lines[1]));
    QCOMPARE(lines.last(), QStringLiteral("    … 36 B more"));
    QCOMPARE(FlowText::hexDump(QByteArray(16, 'B'), 2048, 16).last(),
        QStringLiteral("    … 2.0 KiB more"));
    QVERIFY(FlowText::hexDump(QByteArray()).isEmpty());
}

QTEST_GUILESS_MAIN(tst_FlowText)
// The TLS texts name a TlsFlow's session and certificate (tst_inspector checks those, with a
// real handshake); any other flow has none.
void tst_FlowText::tlsTextsAreEmptyForOtherFlows()
{
    auto [a, b] = rill::PipeFlow::createPair();
    QVERIFY(rill::FlowText::tlsSessionText(a.get()).isEmpty());
    QVERIFY(rill::FlowText::peerCertificateText(a.get(), QDateTime::currentDateTimeUtc()).isEmpty());
    QVERIFY(rill::FlowText::tlsSessionText(nullptr).isEmpty());
}

#include "tst_flowtext.moc"
