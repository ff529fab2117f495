// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT

// What module Rill needs from the library, checked on the library alone (rill::Flow and
// rill::FlowTableModel as QML and the QML wrappers use them). Each case names the library
// behaviour it depends on.

#include "../shared/testutil.h"

#include <rill/flowtablemodel.h>
#include <rill/pipeflow.h>

#include <QtCore/QProcess>
#include <QtQml/QJSEngine>
#include <QtTest/QtTest>

class tst_QmlLibrary : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void disconnectingAFlowSignalByHandleReturns();
    void modelFlowCalledFromQmlStaysTheModels();
};

// QObject::disconnect(QMetaObject::Connection) calls disconnectNotify() with the sender's signal
// lock held; Qt forbids calling isSignalConnected() there. connectTo() (connectedFuture in
// socketflow_p.h) disconnects by handle, and so does every QML Connections/binding teardown:
// if it deadlocks, no flow can connect. Checked in a child process, which is killed if it
// hangs, so the suite itself never does.
void tst_QmlLibrary::disconnectingAFlowSignalByHandleReturns()
{
    if (qEnvironmentVariableIsSet("RILL_QMLLIBRARY_CHILD")) {
        auto [a, b] = rill::PipeFlow::createPair();
        const QMetaObject::Connection connection
            = connect(a.get(), &rill::Flow::stateChanged, this, [] {});
        const bool disconnected = QObject::disconnect(connection);
        QVERIFY2(disconnected, "the connection was not removed");
        return;
    }
    QProcess child;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("RILL_QMLLIBRARY_CHILD"), QStringLiteral("1"));
    child.setProcessEnvironment(environment);
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(),
        {QStringLiteral("disconnectingAFlowSignalByHandleReturns")});
    QVERIFY2(child.waitForStarted(15000), "the child did not start");
    const bool finished = child.waitForFinished(15000);
    if (!finished) {
        child.kill();
        child.waitForFinished(15000);
    }
    QVERIFY2(finished,
        "QObject::disconnect(handle) of a rill::Flow signal deadlocks: Flow::disconnectNotify "
        "calls isSignalConnected() under the signal lock (lib/src/flow.cpp)");
    QVERIFY2(child.exitStatus() == QProcess::NormalExit && child.exitCode() == 0,
        child.readAll().constData());
}

// FlowTableModel::flow(row) is Q_INVOKABLE. QML gives an object returned from an invokable
// JavaScript ownership, and the garbage collector deletes such an object unless it has a parent:
// adoptFlow() must make the model the flow's parent, or one call from QML frees a flow the model
// owns. (Module Rill also sets C++ ownership on every flow its views see.)
void tst_QmlLibrary::modelFlowCalledFromQmlStaysTheModels()
{
    rill::FlowTableModel model;
    auto [a, b] = rill::PipeFlow::createPair();
    QPointer<rill::Flow> adopted = a.get();
    model.adoptFlow(std::move(a), QStringLiteral("adopted"));
    QCOMPARE(adopted->parent(), &model);

    QJSEngine engine;
    QJSEngine::setObjectOwnership(&model, QJSEngine::CppOwnership); // it lives on the stack
    engine.globalObject().setProperty(QStringLiteral("model"), engine.newQObject(&model));
    {
        const QJSValue flow = engine.evaluate(QStringLiteral("model.flow(0)"));
        QVERIFY2(!flow.isError(), qPrintable(flow.toString()));
        QCOMPARE(flow.toQObject(), adopted.data());
    }
    engine.collectGarbage();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    QVERIFY2(adopted, "the garbage collector deleted a flow the model owns after "
                      "FlowTableModel::flow(row) was called from QML");
    QCOMPARE(model.flow(0), adopted.data());
}

QTEST_MAIN(tst_QmlLibrary)

#include "tst_qmllibrary.moc"
