// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The value types of the contract: Error, errorMessage/errorKindName, ReadResult, WriteResult,
// FlowStats, their metatypes and their QDebug output.
#include "../shared/testutil.h"

#include <rill/error.h>
#include <rill/flow.h>
#include <rill/pipeflow.h>
#include <rill/result.h>

#include <QtCore/QMetaEnum>
#include <QtCore/QMetaProperty>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QVariant>
#include <QtTest/QtTest>

#include <cerrno>
#include <cstring>

using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

class TestResult : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void errorDefaultIsNone();
    void errorAccessors();
    void errorWithEndpointCopies();
    void errorEquality();
    void errorKindNames();
    void errorMessageNamesEndpoint_data();
    void errorMessageNamesEndpoint();
    void errorFromErrno_data();
    void errorFromErrno();
    void errorGadget();
    void errorDebug();
    void resetErrorFromAFlowNamesTheEndpoint();
    void readResultKinds();
    void readResultEquality();
    void writeResultKinds();
    void writeResultEquality();
    void resultDebug();
    void metatypes();
    void flowStatsGadget();
};

void TestResult::errorDefaultIsNone()
{
    const Error e;
    QVERIFY2(e.isNone(), "a default-constructed Error must be None");
    QCOMPARE(e.kind(), Error::Kind::None);
    QVERIFY2(e.message().isEmpty() && e.endpoint().isEmpty(),
             "a default Error must carry no message and no endpoint");
    QVERIFY2(!rill::errorMessage(e).isEmpty(), "errorMessage() of a None error must not be empty");
}

void TestResult::errorAccessors()
{
    const Error e(Error::Kind::Refused, QStringLiteral("connection refused"),
                  QStringLiteral("tcp:127.0.0.1:4000"));
    QVERIFY2(!e.isNone(), "an Error of kind Refused reports isNone()");
    QCOMPARE(e.kind(), Error::Kind::Refused);
    QCOMPARE(e.message(), QStringLiteral("connection refused"));
    QCOMPARE(e.endpoint(), QStringLiteral("tcp:127.0.0.1:4000"));

    const Error noEndpoint(Error::Kind::Reset, QStringLiteral("boom"));
    QVERIFY2(noEndpoint.endpoint().isEmpty(), "the endpoint defaults to empty");
}

void TestResult::errorWithEndpointCopies()
{
    const Error e(Error::Kind::Reset, QStringLiteral("connection reset by peer"));
    const Error named = e.withEndpoint(QStringLiteral("unix:/tmp/x.sock"));
    QCOMPARE(named.endpoint(), QStringLiteral("unix:/tmp/x.sock"));
    QCOMPARE(named.kind(), e.kind());
    QCOMPARE(named.message(), e.message());
    QVERIFY2(e.endpoint().isEmpty(), "withEndpoint() must not modify the original");
}

void TestResult::errorEquality()
{
    const Error a(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:1"));
    QVERIFY2(a == Error(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:1")),
             "equal kind, message and endpoint must compare equal");
    QVERIFY2(a != Error(Error::Kind::Aborted, QStringLiteral("m"), QStringLiteral("pipe:1")),
             "a different kind must compare unequal");
    QVERIFY2(a != Error(Error::Kind::Reset, QStringLiteral("n"), QStringLiteral("pipe:1")),
             "a different message must compare unequal");
    QVERIFY2(a != Error(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:2")),
             "a different endpoint must compare unequal");
    QVERIFY2(Error() == Error(), "two None errors must compare equal");
}

void TestResult::errorKindNames()
{
    const QMetaEnum kinds = QMetaEnum::fromType<Error::Kind>();
    QVERIFY2(kinds.isValid(), "Error::Kind must be a Q_ENUM");
    QSet<QString> names;
    for (int i = 0; i < kinds.keyCount(); ++i) {
        const auto kind = Error::Kind(kinds.value(i));
        const QString name = rill::errorKindName(kind);
        QVERIFY2(!name.isEmpty(), qPrintable(QStringLiteral("errorKindName(%1) is empty")
                                                     .arg(QLatin1String(kinds.key(i)))));
        QVERIFY2(!names.contains(name),
                 qPrintable(QStringLiteral("errorKindName(%1) = \"%2\" is not unique")
                                    .arg(QLatin1String(kinds.key(i)), name)));
        names.insert(name);
    }
    QCOMPARE(rill::errorKindName(Error::Kind::Refused), QStringLiteral("connection refused"));
    QCOMPARE(rill::errorKindName(Error::Kind::Reset), QStringLiteral("connection reset"));
    QCOMPARE(rill::errorKindName(Error::Kind::Aborted), QStringLiteral("aborted"));
    QCOMPARE(rill::errorKindName(Error::Kind::Closed), QStringLiteral("closed"));
}

void TestResult::errorMessageNamesEndpoint_data()
{
    QTest::addColumn<Error>("error");
    QTest::addColumn<QString>("expected");

    QTest::newRow("endpoint and message")
            << Error(Error::Kind::Refused, QStringLiteral("connection refused"),
                     QStringLiteral("tcp:127.0.0.1:4000"))
            << QStringLiteral("tcp:127.0.0.1:4000: connection refused");
    QTest::newRow("message only")
            << Error(Error::Kind::Reset, QStringLiteral("the peer reset the connection"))
            << QStringLiteral("the peer reset the connection");
    QTest::newRow("endpoint, no message: the kind's name")
            << Error(Error::Kind::TimedOut, QString(), QStringLiteral("unix:/run/x.sock"))
            << QStringLiteral("unix:/run/x.sock: timed out");
    QTest::newRow("neither: the kind's name")
            << Error(Error::Kind::Aborted, QString()) << QStringLiteral("aborted");
    QTest::newRow("pipe endpoint")
            << Error(Error::Kind::Reset, QStringLiteral("reset"), QStringLiteral("pipe:7"))
            << QStringLiteral("pipe:7: reset");
}

void TestResult::errorMessageNamesEndpoint()
{
    QFETCH(Error, error);
    QFETCH(QString, expected);
    QCOMPARE(rill::errorMessage(error), expected);
    QVERIFY2(!rill::errorMessage(error).contains(QLatin1Char('\n')),
             "errorMessage() must be one line");
}

void TestResult::errorFromErrno_data()
{
    QTest::addColumn<int>("errnoValue");
    QTest::addColumn<Error::Kind>("kind");

    QTest::newRow("ECONNREFUSED") << ECONNREFUSED << Error::Kind::Refused;
    QTest::newRow("ECONNRESET") << ECONNRESET << Error::Kind::Reset;
    QTest::newRow("EPIPE") << EPIPE << Error::Kind::Reset;
    QTest::newRow("ECONNABORTED") << ECONNABORTED << Error::Kind::Reset;
    QTest::newRow("ETIMEDOUT") << ETIMEDOUT << Error::Kind::TimedOut;
    QTest::newRow("EACCES") << EACCES << Error::Kind::AccessDenied;
    QTest::newRow("EPERM") << EPERM << Error::Kind::AccessDenied;
    QTest::newRow("EADDRINUSE") << EADDRINUSE << Error::Kind::AddressInUse;
    QTest::newRow("ENOENT") << ENOENT << Error::Kind::HostNotFound;
    QTest::newRow("EHOSTUNREACH") << EHOSTUNREACH << Error::Kind::HostNotFound;
    QTest::newRow("EINVAL") << EINVAL << Error::Kind::InvalidArgument;
    QTest::newRow("EDOM (unmapped)") << EDOM << Error::Kind::Other;
}

void TestResult::errorFromErrno()
{
    QFETCH(int, errnoValue);
    QFETCH(Error::Kind, kind);
    const Error e = Error::fromErrno(errnoValue, QStringLiteral("tcp:[::1]:80"));
    QCOMPARE(e.kind(), kind);
    QCOMPARE(e.endpoint(), QStringLiteral("tcp:[::1]:80"));
    QCOMPARE(e.message(), QString::fromLocal8Bit(std::strerror(errnoValue)).toLower());
    QVERIFY2(rill::errorMessage(e).startsWith(QStringLiteral("tcp:[::1]:80: ")),
             qPrintable(QStringLiteral("errorMessage() does not name the endpoint: ")
                        + rill::errorMessage(e)));
    QVERIFY2(Error::fromErrno(errnoValue).endpoint().isEmpty(),
             "fromErrno without an endpoint must leave it empty");
}

void TestResult::errorGadget()
{
    const Error e(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:3"));
    const QMetaObject &mo = Error::staticMetaObject;
    const QMetaProperty kind = mo.property(mo.indexOfProperty("kind"));
    const QMetaProperty message = mo.property(mo.indexOfProperty("message"));
    const QMetaProperty endpoint = mo.property(mo.indexOfProperty("endpoint"));
    QVERIFY2(kind.isValid() && message.isValid() && endpoint.isValid(),
             "Error must expose kind, message and endpoint as gadget properties");
    QCOMPARE(kind.readOnGadget(&e).value<Error::Kind>(), Error::Kind::Reset);
    QCOMPARE(message.readOnGadget(&e).toString(), QStringLiteral("m"));
    QCOMPARE(endpoint.readOnGadget(&e).toString(), QStringLiteral("pipe:3"));
}

void TestResult::errorDebug()
{
    const Error e(Error::Kind::Refused, QStringLiteral("no listener"),
                  QStringLiteral("tcp:127.0.0.1:4000"));
    const QString text = debugString(e);
    QVERIFY2(text.startsWith(QStringLiteral("rill::Error(")),
             qPrintable(QStringLiteral("QDebug output must start with rill::Error(: ") + text));
    QVERIFY2(text.contains(rill::errorKindName(Error::Kind::Refused)),
             qPrintable(QStringLiteral("QDebug output must name the kind: ") + text));
    QVERIFY2(text.contains(QStringLiteral("tcp:127.0.0.1:4000")),
             qPrintable(QStringLiteral("QDebug output must name the endpoint: ") + text));
    QVERIFY2(text.contains(QStringLiteral("no listener")),
             qPrintable(QStringLiteral("QDebug output must carry the message: ") + text));
    QVERIFY2(!text.contains(QLatin1Char('\n')), "QDebug output must be one line");

    const QString none = debugString(Error());
    QVERIFY2(none.startsWith(QStringLiteral("rill::Error(")) && none.endsWith(QLatin1Char(')')),
             qPrintable(QStringLiteral("QDebug output of a None error: ") + none));

    // QDebug's spacing is restored: the next item is separated by one space as usual.
    QString spaced;
    QDebug(&spaced) << e << 42;
    QVERIFY2(spaced.trimmed().endsWith(QStringLiteral(") 42")),
             qPrintable(QStringLiteral("QDebug spacing not restored: ") + spaced));
}

void TestResult::resetErrorFromAFlowNamesTheEndpoint()
{
    auto [a, b] = PipeFlow::createPair();
    auto pendingRead = b->read();
    a->abort();
    ReadResult r;
    RILL_AWAIT(pendingRead, r);
    QVERIFY2(r.isError(), qPrintable(QStringLiteral("a read on the peer of an aborted flow gave ")
                                     + debugString(r)));
    QCOMPARE(r.error().kind(), Error::Kind::Reset);
    QVERIFY2(!r.error().endpoint().isEmpty(), "a reset error must name the endpoint");
    QCOMPARE(r.error().endpoint(), b->peerEndpoint().toString());
    const QString message = rill::errorMessage(r.error());
    QVERIFY2(message.startsWith(b->peerEndpoint().toString() + QStringLiteral(": ")),
             qPrintable(QStringLiteral("errorMessage() does not start with the endpoint: ")
                        + message));
    QCOMPARE(b->error(), r.error());
}

void TestResult::readResultKinds()
{
    const ReadResult def;
    QVERIFY2(def.isEof() && !def.isData() && !def.isError(),
             "a default-constructed ReadResult must be Eof and nothing else");

    const ReadResult eof = ReadResult::eof();
    QVERIFY2(eof.isEof() && !eof.isData() && !eof.isError(), "ReadResult::eof() must be Eof");
    QVERIFY2(eof.data().isEmpty(), "Eof carries no data");
    QVERIFY2(eof.error().isNone(), "Eof carries no error");

    const ReadResult data = ReadResult::fromData(QByteArrayLiteral("abc"));
    QVERIFY2(data.isData() && !data.isEof() && !data.isError(), "fromData() must be Data");
    QCOMPARE(data.data(), QByteArrayLiteral("abc"));
    QVERIFY2(data.error().isNone(), "Data carries no error");

    const Error e(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:1"));
    const ReadResult err = ReadResult::fromError(e);
    QVERIFY2(err.isError() && !err.isData() && !err.isEof(), "fromError() must be Error");
    QCOMPARE(err.error(), e);
    QVERIFY2(err.data().isEmpty(), "an error carries no data");
}

void TestResult::readResultEquality()
{
    QCOMPARE(ReadResult::eof(), ReadResult());
    QCOMPARE(ReadResult::fromData("x"), ReadResult::fromData("x"));
    QVERIFY2(ReadResult::fromData("x") != ReadResult::fromData("y"),
             "different data must compare unequal");
    QVERIFY2(ReadResult::fromData("x") != ReadResult::eof(), "Data and Eof must differ");
    const Error e(Error::Kind::Reset, QStringLiteral("m"));
    QCOMPARE(ReadResult::fromError(e), ReadResult::fromError(e));
    QVERIFY2(ReadResult::fromError(e) != ReadResult::fromError(e.withEndpoint(QStringLiteral("p"))),
             "different errors must compare unequal");
    QVERIFY2(ReadResult::fromError(e) != ReadResult::eof(), "Error and Eof must differ");
}

void TestResult::writeResultKinds()
{
    const WriteResult def;
    QVERIFY2(def.isOk() && !def.isEof() && !def.isError(),
             "a default-constructed WriteResult must be Ok");
    QVERIFY2(WriteResult::ok().isOk(), "WriteResult::ok() must be Ok");
    const WriteResult eof = WriteResult::eof();
    QVERIFY2(eof.isEof() && !eof.isOk() && !eof.isError(), "WriteResult::eof() must be Eof");
    QVERIFY2(eof.error().isNone(), "Eof carries no error");
    const Error e(Error::Kind::Aborted, QStringLiteral("m"));
    const WriteResult err = WriteResult::fromError(e);
    QVERIFY2(err.isError() && !err.isOk() && !err.isEof(), "fromError() must be Error");
    QCOMPARE(err.error(), e);
}

void TestResult::writeResultEquality()
{
    QCOMPARE(WriteResult::ok(), WriteResult());
    QCOMPARE(WriteResult::eof(), WriteResult::eof());
    QVERIFY2(WriteResult::ok() != WriteResult::eof(), "Ok and Eof must differ");
    const Error e(Error::Kind::Reset, QStringLiteral("m"));
    QCOMPARE(WriteResult::fromError(e), WriteResult::fromError(e));
    QVERIFY2(WriteResult::fromError(e) != WriteResult::fromError(Error(Error::Kind::Aborted, {})),
             "different errors must compare unequal");
}

void TestResult::resultDebug()
{
    const QString data = debugString(ReadResult::fromData(QByteArray(5, 'x')));
    QVERIFY2(data.startsWith(QStringLiteral("rill::ReadResult(")) && data.contains(QLatin1String("5")),
             qPrintable(QStringLiteral("ReadResult data QDebug must name the size: ") + data));
    QVERIFY2(data.contains(QStringLiteral("data")),
             qPrintable(QStringLiteral("ReadResult data QDebug must say data: ") + data));

    const QString eof = debugString(ReadResult::eof());
    QVERIFY2(eof.startsWith(QStringLiteral("rill::ReadResult(")) && eof.contains(QStringLiteral("eof")),
             qPrintable(QStringLiteral("ReadResult eof QDebug: ") + eof));

    const Error e(Error::Kind::Reset, QStringLiteral("gone"), QStringLiteral("pipe:9"));
    const QString err = debugString(ReadResult::fromError(e));
    QVERIFY2(err.startsWith(QStringLiteral("rill::ReadResult(")) && err.contains(debugString(e)),
             qPrintable(QStringLiteral("ReadResult error QDebug must include the error: ") + err));

    const QString ok = debugString(WriteResult::ok());
    QVERIFY2(ok.startsWith(QStringLiteral("rill::WriteResult(")) && ok.contains(QStringLiteral("ok")),
             qPrintable(QStringLiteral("WriteResult ok QDebug: ") + ok));
    const QString weof = debugString(WriteResult::eof());
    QVERIFY2(weof.startsWith(QStringLiteral("rill::WriteResult(")) && weof.contains(QStringLiteral("eof")),
             qPrintable(QStringLiteral("WriteResult eof QDebug: ") + weof));
    const QString werr = debugString(WriteResult::fromError(e));
    QVERIFY2(werr.startsWith(QStringLiteral("rill::WriteResult(")) && werr.contains(debugString(e)),
             qPrintable(QStringLiteral("WriteResult error QDebug must include the error: ") + werr));

    // The data itself is not dumped (it may be megabytes).
    const QString big = debugString(ReadResult::fromData(QByteArray(100000, 'z')));
    QVERIFY2(big.size() < 200, qPrintable(QStringLiteral("ReadResult QDebug dumps the data (%1 chars)")
                                                  .arg(big.size())));
}

void TestResult::metatypes()
{
    QVERIFY2(QMetaType::fromType<Error>().isValid(), "rill::Error must be a metatype");
    QVERIFY2(QMetaType::fromType<ReadResult>().isValid(), "rill::ReadResult must be a metatype");
    QVERIFY2(QMetaType::fromType<WriteResult>().isValid(), "rill::WriteResult must be a metatype");

    const Error e(Error::Kind::Reset, QStringLiteral("m"), QStringLiteral("pipe:1"));
    QCOMPARE(QVariant::fromValue(e).value<Error>(), e);
    QCOMPARE(QVariant::fromValue(ReadResult::fromData("abc")).value<ReadResult>(),
             ReadResult::fromData("abc"));
    QCOMPARE(QVariant::fromValue(WriteResult::fromError(e)).value<WriteResult>(),
             WriteResult::fromError(e));

    // Signals carrying them work through queued connections and QSignalSpy.
    auto [a, b] = PipeFlow::createPair();
    QSignalSpy rejected(a.get(), &Flow::writeRejected);
    QSignalSpy errors(b.get(), &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    QVERIFY(rejected.isValid() && errors.isValid());
    auto shut = a->shutdown(Flow::Direction::Write);
    auto w = a->write("late");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::eof());
    QCOMPARE(rejected.count(), 1);
    QCOMPARE(rejected.at(0).at(1).value<WriteResult>(), WriteResult::eof());
    a->abort();
    QVERIFY2(errors.wait(int(DefaultTimeout.count())) || errors.count() > 0,
             "the peer of an aborted flow never emitted errorOccurred");
    QCOMPARE(errors.at(0).at(0).value<Error>().kind(), Error::Kind::Reset);
    RILL_AWAIT_VOID(shut);
}

void TestResult::flowStatsGadget()
{
    const rill::FlowStats s;
    QCOMPARE(s.bytesRead, 0);
    QCOMPARE(s.readOps, 0);
    QCOMPARE(s.bytesWritten, 0);
    QCOMPARE(s.writeOps, 0);
    const QMetaObject &mo = rill::FlowStats::staticMetaObject;
    for (const char *name : {"bytesRead", "readOps", "bytesWritten", "writeOps"}) {
        QVERIFY2(mo.indexOfProperty(name) >= 0,
                 qPrintable(QStringLiteral("FlowStats lacks the gadget property %1")
                                    .arg(QLatin1String(name))));
    }
    rill::FlowStats t;
    t.bytesWritten = 42;
    QCOMPARE(mo.property(mo.indexOfProperty("bytesWritten")).readOnGadget(&t).toLongLong(), 42);
}

QTEST_GUILESS_MAIN(TestResult)
#include "tst_result.moc"
