// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "quickflowtext.h"

namespace rill::quick {

QuickFlowText::QuickFlowText(QObject *parent) : QObject(parent) { }

QString QuickFlowText::printable(const QVariant &data) const
{
    const QByteArray bytes = data.metaType() == QMetaType::fromType<QString>()
        ? data.toString().toUtf8()
        : data.toByteArray();
    return rill::FlowText::printable(bytes);
}

} // namespace rill::quick
