// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The library's models in module Rill: FlowModel (rill::FlowTableModel, plus a way to show the
// QML flow objects), WriteLedgerModel and DataLog as they are (Rill::Models), and the library
// types they speak of.

#include "quickflow.h"

#include <rill/datalog.h>
#include <rill/flowtablemodel.h>
#include <rill/writeledgermodel.h>

#include <QtQml/qqml.h>
#include <QtQml/qqmlregistration.h>

namespace rill::quick {

// A table of flows for any QML view: one row per flow, the roles of rill::FlowTableModel (id,
// name, transport, localEndpoint, peerEndpoint, state, readState, writeState, bytesIn, bytesOut,
// bytesQueued, writesWaiting, highWaterMark, lastError, flow, lamp), updated ten times a second.
class FlowModel : public rill::FlowTableModel {
    Q_OBJECT
    QML_NAMED_ELEMENT(FlowModel)
public:
    explicit FlowModel(QObject *parent = nullptr);
    ~FlowModel() override;

    // Shows the QML flow: now if it is connected, else once it is, and again with each new
    // connection it makes (a closed connection's row goes when the flow object drops it).
    Q_INVOKABLE void add(rill::quick::QuickFlow *flow, const QString &name = QString());
    // Stops showing it.
    Q_INVOKABLE void remove(rill::quick::QuickFlow *flow);

private:
    void show(QuickFlow *flow);

    QHash<QuickFlow *, QString> m_followed;
};

// Flows handed to QML by a FlowTableModel stay C++'s: QML never garbage-collects them (a model's
// Q_INVOKABLE flow(row) would otherwise hand unparented flows to the JavaScript engine).
void keepFlowsFromGarbageCollector(rill::FlowTableModel *model);

struct ForeignFlow {
    Q_GADGET
    QML_FOREIGN(rill::Flow)
    QML_NAMED_ELEMENT(Flow)
    QML_UNCREATABLE("Flows come from TcpFlow, LocalFlow and the listeners")
};

struct ForeignFlowTableModel {
    Q_GADGET
    QML_FOREIGN(rill::FlowTableModel)
    QML_NAMED_ELEMENT(FlowTableModel)
    QML_UNCREATABLE("Create a FlowModel")
};

struct ForeignWriteLedgerModel {
    Q_GADGET
    QML_FOREIGN(rill::WriteLedgerModel)
    QML_NAMED_ELEMENT(WriteLedgerModel)
};

// The bytes a flow moves, as a list: roles serial, time, direction ("in", "out"), size, text
// and bytes.
struct ForeignDataLog {
    Q_GADGET
    QML_FOREIGN(rill::DataLog)
    QML_NAMED_ELEMENT(DataLog)
};

} // namespace rill::quick
