// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flowmodel.h"

#include <QtQml/QQmlEngine>

namespace rill::quick {

void keepFlowsFromGarbageCollector(FlowTableModel *model)
{
    auto keep = [model](int first, int last) {
        for (int row = first; row <= last; ++row) {
            if (Flow *flow = model->flow(row))
                QQmlEngine::setObjectOwnership(flow, QQmlEngine::CppOwnership);
        }
    };
    keep(0, model->rowCount() - 1);
    QObject::connect(model, &QAbstractItemModel::rowsInserted, model,
        [keep](const QModelIndex &, int first, int last) { keep(first, last); });
}

FlowModel::FlowModel(QObject *parent) : FlowTableModel(parent)
{
    keepFlowsFromGarbageCollector(this);
}

FlowModel::~FlowModel() = default;

void FlowModel::add(QuickFlow *flow, const QString &name)
{
    if (!flow || m_followed.contains(flow))
        return;
    m_followed.insert(flow, name);
    connect(flow, &QuickFlow::flowChanged, this, [this, flow] { show(flow); });
    connect(flow, &QObject::destroyed, this, [this, flow] { m_followed.remove(flow); });
    show(flow);
}

void FlowModel::remove(QuickFlow *flow)
{
    if (!flow || !m_followed.remove(flow))
        return;
    disconnect(flow, nullptr, this, nullptr);
    if (flow->flow())
        removeFlow(flow->flow());
}

void FlowModel::show(QuickFlow *flow)
{
    if (Flow *inner = flow->flow())
        addFlow(inner, m_followed.value(flow));
}

} // namespace rill::quick
