// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// How the tables look: lamps for the two directions (the table model's lamp role, in
// rill::FlowText's colours), a bar for the send queue against the high-water mark, byte counts
// for people, and waiting writes that stand out.

#include <rill/flow.h>
#include <rill/flowtext.h>
#include <rill/writeledgermodel.h>

#include <QtGui/QColor>
#include <QtWidgets/QStyledItemDelegate>

namespace inspector {

// The colour of a lamp (rill::FlowText::lampColor()).
QColor colorOf(rill::FlowText::Lamp lamp);

namespace colors {
// The lamps' colours, for the rest of the window too.
QColor open();
QColor shuttingDown();
QColor ended(); // end of stream seen, FIN sent
QColor failed();
QColor dataIn();
QColor dataOut();
QColor waiting(); // background of a waiting write
QColor rejected(); // background of a rejected write
QColor accepted(); // background of a write in the send queue
} // namespace colors

class FlowTableDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
        const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override;
};

class LedgerDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override;
};

} // namespace inspector
