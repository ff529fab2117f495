// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/quick/inspector.h>

#include "flowmodel.h"

#include <QtCore/QLoggingCategory>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlEngine>

Q_LOGGING_CATEGORY(lcQuickInspector, "rill.quick.inspector", QtWarningMsg)

namespace rill::quick {

std::unique_ptr<QQuickView> createInspectorView(FlowTableModel *model, QString *errorString)
{
    auto view = std::make_unique<QQuickView>();
    // The module is in this library's resources: found wherever the program runs from.
    view->engine()->addImportPath(QStringLiteral("qrc:/qt/qml"));
    keepFlowsFromGarbageCollector(model);
    view->setInitialProperties({{QStringLiteral("model"), QVariant::fromValue(model)}});
    view->setResizeMode(QQuickView::SizeRootObjectToView);
    view->setTitle(QStringLiteral("Rill inspector"));
    view->setSource(QUrl(QStringLiteral("qrc:/qt/qml/Rill/InspectorView.qml")));
    if (view->status() != QQuickView::Ready || !view->rootObject()) {
        QStringList messages;
        for (const QQmlError &error : view->errors())
            messages << error.toString();
        const QString text = QStringLiteral("cannot load the inspector view: ")
            + messages.join(QLatin1String("; "));
        qCWarning(lcQuickInspector).noquote() << text;
        if (errorString)
            *errorString = text;
        return nullptr;
    }
    view->resize(1100, 700);
    return view;
}

int runInspector(QGuiApplication &app, FlowTableModel *model)
{
    QString error;
    std::unique_ptr<QQuickView> view = createInspectorView(model, &error);
    if (!view) {
        qCritical().noquote() << error;
        return 1;
    }
    view->show();
    // Closing the window ends the program even when other (hidden) windows exist.
    QObject::connect(view->engine(), &QQmlEngine::quit, &app, &QCoreApplication::quit);
    QObject::connect(view.get(), &QWindow::visibleChanged, &app, [&app](bool visible) {
        if (!visible)
            app.quit();
    });
    return app.exec();
}

} // namespace rill::quick
