// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// FlowText in module Rill: the words, lamp colours and byte counts of rill::FlowText
// (Rill::Models) for QML, so the QML views say what the Widgets inspector says.

#include <rill/flowtext.h>

#include <QtCore/QObject>
#include <QtCore/QVariant>
#include <QtQml/qqmlregistration.h>

namespace rill::quick {

class QuickFlowText : public QObject {
    Q_OBJECT
    QML_NAMED_ELEMENT(FlowText)
    QML_SINGLETON
public:
    explicit QuickFlowText(QObject *parent = nullptr);

    // "1.5 KiB": rill::FlowText::bytes().
    Q_INVOKABLE QString bytes(qint64 count) const { return rill::FlowText::bytes(count); }
    Q_INVOKABLE QString rate(qint64 bytesPerSecond) const
    {
        return rill::FlowText::rate(bytesPerSecond);
    }
    // The colour of the lamp named lamp ("open", "ending", "ended", "failed", "idle").
    Q_INVOKABLE QString lampColor(const QString &lamp) const
    {
        return rill::FlowText::lampColor(rill::FlowText::lampNamed(lamp));
    }
    // A string or an ArrayBuffer as one printable line: rill::FlowText::printable().
    Q_INVOKABLE QString printable(const QVariant &data) const;
};

} // namespace rill::quick
