// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "delegates.h"

#include "flowmonitor.h"

#include <rill/flowtablemodel.h>

#include <QtGui/QPainter>
#include <QtWidgets/QApplication>

namespace inspector {

using rill::Flow;
using rill::FlowTableModel;

using rill::FlowText::Lamp;

QColor colorOf(Lamp lamp)
{
    return QColor(rill::FlowText::lampColor(lamp));
}

namespace colors {
QColor open()
{
    return colorOf(Lamp::Open);
}
QColor shuttingDown()
{
    return colorOf(Lamp::Ending);
}
QColor ended()
{
    return colorOf(Lamp::Ended);
}
QColor failed()
{
    return colorOf(Lamp::Failed);
}
QColor dataIn()
{
    return QColor(0x1f, 0x5f, 0xbf);
}
QColor dataOut()
{
    return QColor(0x1b, 0x7a, 0x2f);
}
QColor waiting()
{
    return QColor(0xff, 0xe3, 0xa3);
}
QColor rejected()
{
    return QColor(0xf6, 0xc4, 0xc4);
}
QColor accepted()
{
    return QColor(0xdd, 0xea, 0xfb);
}
} // namespace colors

namespace {

// The lamp of the cell's state (the model's lamp role) and the state's word beside it.
void paintLamp(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index)
{
    const QColor color
        = colorOf(rill::FlowText::lampNamed(index.data(FlowTableModel::LampRole).toString()));
    const QString text = index.data(Qt::DisplayRole).toString();
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    const int d = qMin(option.rect.height() - 8, 12);
    const QRect circle(option.rect.left() + 6, option.rect.center().y() - d / 2, d, d);
    painter->setPen(color.darker(130));
    painter->setBrush(color);
    painter->drawEllipse(circle);
    painter->setPen(option.state & QStyle::State_Selected
            ? option.palette.color(QPalette::HighlightedText)
            : option.palette.color(QPalette::Text));
    painter->drawText(
        option.rect.adjusted(d + 12, 0, -2, 0), Qt::AlignVCenter | Qt::AlignLeft, text);
    painter->restore();
}

void paintQueue(QPainter *painter, const QStyleOptionViewItem &option, qint64 queued,
    qint64 highWaterMark, int waiting)
{
    painter->save();
    const QRect bar = option.rect.adjusted(3, 3, -3, -3);
    painter->setPen(QColor(0xb0, 0xb0, 0xb0));
    painter->setBrush(QColor(0xf4, 0xf4, 0xf4));
    painter->drawRect(bar.adjusted(0, 0, -1, -1));
    const double fill = highWaterMark > 0 ? qMin(1.0, double(queued) / double(highWaterMark)) : 0;
    QColor color = waiting > 0 ? colors::failed().lighter(130)
        : fill >= 0.5          ? colors::shuttingDown().lighter(130)
                               : colors::open().lighter(160);
    painter->setPen(Qt::NoPen);
    painter->setBrush(color);
    painter->drawRect(
        QRect(bar.left() + 1, bar.top() + 1, int((bar.width() - 2) * fill), bar.height() - 2));
    painter->setPen(QColor(0x20, 0x20, 0x20));
    painter->drawText(bar, Qt::AlignCenter,
        QStringLiteral("%1 / %2").arg(rill::FlowText::bytes(queued), rill::FlowText::bytes(highWaterMark)));
    painter->restore();
}

} // namespace

void FlowTableDelegate::initStyleOption(
    QStyleOptionViewItem *option, const QModelIndex &index) const
{
    QStyledItemDelegate::initStyleOption(option, index);
    switch (index.column()) {
    case FlowTableModel::BytesInColumn:
    case FlowTableModel::BytesOutColumn:
    case FlowTableModel::HighWaterMarkColumn:
        option->text = rill::FlowText::bytes(index.data(Qt::EditRole).toLongLong());
        break;
    case FlowTableModel::StateColumn: {
        const auto state = index.data(FlowTableModel::StateRole).value<Flow::State>();
        if (state == Flow::State::Closed)
            option->palette.setColor(QPalette::Text, QColor(0x80, 0x80, 0x80));
        else if (state == Flow::State::Connecting || state == Flow::State::Closing)
            option->palette.setColor(QPalette::Text, colors::shuttingDown().darker(130));
        break;
    }
    case FlowTableModel::WritesWaitingColumn:
        if (index.data(Qt::EditRole).toInt() > 0) {
            option->backgroundBrush = colors::waiting();
            option->font.setBold(true);
        }
        break;
    case FlowTableModel::LastErrorColumn:
        option->palette.setColor(QPalette::Text, colors::failed().darker(120));
        break;
    default:
        break;
    }
}

void FlowTableDelegate::paint(
    QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const int column = index.column();
    if (column != FlowTableModel::ReadStateColumn && column != FlowTableModel::WriteStateColumn
        && column != FlowTableModel::BytesQueuedColumn) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    // The cell's background and selection as usual, then our own content.
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);
    if (column == FlowTableModel::ReadStateColumn || column == FlowTableModel::WriteStateColumn) {
        paintLamp(painter, opt, index);
    } else {
        paintQueue(painter, opt, index.data(FlowTableModel::BytesQueuedRole).toLongLong(),
            index.data(FlowTableModel::HighWaterMarkRole).toLongLong(),
            index.data(FlowTableModel::WritesWaitingRole).toInt());
    }
}

QSize FlowTableDelegate::sizeHint(
    const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    const QFontMetrics metrics(option.font);
    switch (index.column()) {
    case FlowTableModel::ReadStateColumn:
    case FlowTableModel::WriteStateColumn:
        size.setWidth(metrics.horizontalAdvance(QStringLiteral("shutting down")) + 30);
        break;
    case FlowTableModel::BytesQueuedColumn:
        size.setWidth(metrics.horizontalAdvance(QStringLiteral("1023 KiB / 1023 KiB")) + 16);
        break;
    case FlowTableModel::BytesInColumn:
    case FlowTableModel::BytesOutColumn:
        size.setWidth(metrics.horizontalAdvance(QStringLiteral("1023.0 MiB")) + 12);
        break;
    default:
        break;
    }
    return size;
}

void LedgerDelegate::initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const
{
    QStyledItemDelegate::initStyleOption(option, index);
    using State = rill::WriteLedgerModel::EntryState;
    const auto state = index.data(rill::WriteLedgerModel::StateRole).value<State>();
    switch (state) {
    case State::Waiting:
        option->backgroundBrush = colors::waiting();
        option->font.setBold(true);
        break;
    case State::Accepted:
        option->backgroundBrush = colors::accepted();
        break;
    case State::Rejected:
        option->backgroundBrush = colors::rejected();
        break;
    case State::Sent:
        break;
    }
    if (index.column() == rill::WriteLedgerModel::SizeColumn)
        option->text = rill::FlowText::bytes(index.data(Qt::EditRole).toLongLong());
}

} // namespace inspector
