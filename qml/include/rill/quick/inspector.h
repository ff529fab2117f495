// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// The inspector's main screen in Qt Quick, for C++ programs (component Quick).
///
/// The InspectorView component of QML module Rill (table of flows with half-close lamps, the
/// selected flow's write ledger and data log) in a window, over a FlowTableModel the program
/// fills; rill-inspector --quick shows it. Link target Rill::Quick; the module comes from the
/// library's own resources, so no QML import path needs setting.

#include <rill/flowtablemodel.h>

#include <QtQuick/QQuickView>

#include <memory>

QT_BEGIN_NAMESPACE
class QGuiApplication;
QT_END_NAMESPACE

/// The inspector's view for C++ programs (library Rill::Quick).
namespace rill::quick {

/// A window (not shown yet) whose root item is an InspectorView of \a model.
///
/// The model must outlive the window. Null if the view cannot be loaded; *\a errorString (if
/// given) then says why.
std::unique_ptr<QQuickView> createInspectorView(
    rill::FlowTableModel *model, QString *errorString = nullptr);

/// Shows createInspectorView(\a model) and runs \a app's event loop until the window is closed
/// or the application quits.
///
/// Returns the exit code (1 if the view cannot be loaded, with the reason on stderr).
int runInspector(QGuiApplication &app, rill::FlowTableModel *model);

} // namespace rill::quick
