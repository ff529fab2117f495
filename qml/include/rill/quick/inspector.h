// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The inspector's main screen in Qt Quick, for C++ programs (rill-inspector --quick): the
// InspectorView component of module Rill (table of flows with half-close lamps, the selected
// flow's write ledger and data log) in a window, over a FlowTableModel the program fills.
// Link target Rill::RillQuick; the module comes from the library's own resources, so no QML
// import path needs setting.

#include <rill/flowtablemodel.h>

#include <QtQuick/QQuickView>

#include <memory>

QT_BEGIN_NAMESPACE
class QGuiApplication;
QT_END_NAMESPACE

namespace rill::quick {

// A window (not shown yet) whose root item is an InspectorView of model. The model must outlive
// the window. Null if the view cannot be loaded; *errorString then says why.
std::unique_ptr<QQuickView> createInspectorView(
    rill::FlowTableModel *model, QString *errorString = nullptr);

// Shows createInspectorView(model) and runs app's event loop until the window is closed or the
// application quits. Returns the exit code (1 if the view cannot be loaded, with the reason on
// stderr).
int runInspector(QGuiApplication &app, rill::FlowTableModel *model);

} // namespace rill::quick
