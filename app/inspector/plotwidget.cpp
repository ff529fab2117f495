// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "plotwidget.h"

#include "delegates.h"
#include "flowmonitor.h"

#include <rill/flowtext.h>

#include <QtGui/QPainter>
#include <QtGui/QPainterPath>

#include <cmath>
#include <functional>

namespace inspector {

namespace {

constexpr qint64 WindowMs = qint64(FlowMonitor::MaxSamples) * 100; // what the plot spans

// A round upper bound for an axis of bytes: a power of two, or one and a half times one, so
// that its quarters are round too (96 KiB: 24, 48, 72).
qint64 niceCeiling(qint64 value)
{
    qint64 power = 1024;
    while (true) {
        if (power >= value)
            return power;
        if (power + power / 2 >= value)
            return power + power / 2;
        power *= 2;
    }
}

struct Series {
    QString label;
    QColor color;
    std::function<qint64(const FlowMonitor::Sample &)> value;
    bool filled = false;
    bool dashed = false;
};

void drawPanel(QPainter &p, const QRect &area, const QString &title,
    const std::deque<FlowMonitor::Sample> &samples, qint64 nowMs, const QList<Series> &series,
    qint64 yMax, bool rates)
{
    const QFontMetrics fm = p.fontMetrics();
    const int left = fm.horizontalAdvance(QStringLiteral("1023 KiB/s")) + 10;
    const QRect plot = area.adjusted(left, fm.height() + 8, -10, -fm.height() - 6);

    p.setPen(QColor(0x30, 0x30, 0x30));
    QFont bold = p.font();
    bold.setBold(true);
    p.save();
    p.setFont(bold);
    p.drawText(QPoint(area.left() + 6, area.top() + fm.ascent() + 2), title);
    p.restore();

    // Legend, right of the title.
    int x = area.left() + 14 + QFontMetrics(bold).horizontalAdvance(title) + 12;
    for (const Series &s : series) {
        p.fillRect(QRect(x, area.top() + 4 + fm.ascent() / 2 - 4, 14, 8), s.color);
        x += 18;
        QString label = s.label;
        if (!samples.empty()) {
            const qint64 v = s.value(samples.back());
            if (v >= 0)
                label += QStringLiteral(": ") + (rates ? rill::FlowText::rate(v) : rill::FlowText::bytes(v));
        }
        p.setPen(QColor(0x30, 0x30, 0x30));
        p.drawText(QPoint(x, area.top() + fm.ascent() + 2), label);
        x += fm.horizontalAdvance(label) + 16;
    }

    p.fillRect(plot, Qt::white);
    p.setPen(QColor(0xdd, 0xdd, 0xdd));
    for (int i = 0; i <= 4; ++i) {
        const int y = plot.top() + plot.height() * i / 4;
        p.drawLine(plot.left(), y, plot.right(), y);
    }
    for (int i = 0; i <= 6; ++i) {
        const int gx = plot.left() + plot.width() * i / 6;
        p.drawLine(gx, plot.top(), gx, plot.bottom());
    }
    p.setPen(QColor(0x99, 0x99, 0x99));
    p.drawRect(plot);

    // Axes' labels.
    p.setPen(QColor(0x50, 0x50, 0x50));
    for (int i = 0; i <= 4; ++i) {
        const qint64 v = yMax * (4 - i) / 4;
        const int y = plot.top() + plot.height() * i / 4;
        const QString text = rates ? rill::FlowText::rate(v) : rill::FlowText::bytes(v);
        p.drawText(QRect(area.left(), y - fm.height() / 2, left - 6, fm.height()),
            Qt::AlignRight | Qt::AlignVCenter, text);
    }
    for (int i = 0; i <= 6; ++i) {
        const int gx = plot.left() + plot.width() * i / 6;
        const qint64 secondsAgo = WindowMs / 1000 * (6 - i) / 6;
        const QString text
            = secondsAgo == 0 ? QStringLiteral("now") : QStringLiteral("-%1 s").arg(secondsAgo);
        p.drawText(QRect(gx - 30, plot.bottom() + 2, 60, fm.height()), Qt::AlignCenter, text);
    }

    if (samples.empty())
        return;
    auto xOf = [&](qint64 t) {
        return plot.left()
            + double(plot.width()) * double(WindowMs - (nowMs - t)) / double(WindowMs);
    };
    auto yOf = [&](qint64 v) {
        return plot.bottom() - double(plot.height()) * double(qMin(v, yMax)) / double(yMax);
    };
    p.save();
    p.setClipRect(plot.adjusted(1, 1, 0, 0));
    p.setRenderHint(QPainter::Antialiasing);
    for (const Series &s : series) {
        QPainterPath path;
        bool started = false;
        double firstX = 0;
        double lastX = 0;
        for (const FlowMonitor::Sample &sample : samples) {
            const qint64 v = s.value(sample);
            if (v < 0)
                continue;
            const QPointF point(xOf(sample.timeMs), yOf(v));
            if (!started) {
                path.moveTo(point);
                firstX = point.x();
                started = true;
            } else {
                path.lineTo(point);
            }
            lastX = point.x();
        }
        if (!started)
            continue;
        if (s.filled) {
            QPainterPath area = path;
            area.lineTo(lastX, plot.bottom());
            area.lineTo(firstX, plot.bottom());
            area.closeSubpath();
            QColor fill = s.color;
            fill.setAlpha(70);
            p.fillPath(area, fill);
        }
        QPen pen(s.color, 2);
        if (s.dashed)
            pen.setStyle(Qt::DashLine);
        p.strokePath(path, pen);
    }
    p.restore();
}

} // namespace

PlotWidget::PlotWidget(QWidget *parent) : QWidget(parent)
{
    setAutoFillBackground(true);
    QPalette pal = palette();
    pal.setColor(QPalette::Window, QColor(0xfa, 0xfa, 0xfa));
    setPalette(pal);
}

void PlotWidget::setMonitor(FlowMonitor *monitor)
{
    if (m_monitor == monitor)
        return;
    if (m_monitor)
        disconnect(m_monitor, nullptr, this, nullptr);
    m_monitor = monitor;
    if (monitor) {
        connect(monitor, &FlowMonitor::sampled, this, [this] {
            if (isVisible())
                update();
        });
    }
    update();
}

void PlotWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    if (!m_monitor) {
        p.setPen(QColor(0x80, 0x80, 0x80));
        p.drawText(rect(), Qt::AlignCenter, QStringLiteral("Select a flow to plot it"));
        return;
    }
    const std::deque<FlowMonitor::Sample> &samples = m_monitor->samples();
    const qint64 nowMs = samples.empty() ? 0 : samples.back().timeMs;

    qint64 maxRate = 0;
    qint64 maxQueue = 0;
    bool kernel = false;
    for (const FlowMonitor::Sample &s : samples) {
        if (nowMs - s.timeMs > WindowMs)
            continue;
        maxRate = qMax(maxRate, qMax(s.rateIn, s.rateOut));
        maxQueue = qMax(maxQueue, qMax(s.bytesQueued, s.highWaterMark));
        if (s.kernel.isAvailable()) {
            kernel = true;
            maxQueue = qMax(maxQueue, s.kernel.sendQueue);
        }
    }

    const QRect all = rect().adjusted(4, 4, -4, -4);
    const QRect top(all.left(), all.top(), all.width(), all.height() / 2);
    const QRect bottom(all.left(), top.bottom() + 1, all.width(), all.bottom() - top.bottom());

    drawPanel(p, top, QStringLiteral("Throughput"), samples, nowMs,
        {Series {QStringLiteral("in"), colors::dataIn(),
             [](const FlowMonitor::Sample &s) { return s.rateIn; }},
            Series {QStringLiteral("out"), colors::dataOut(),
                [](const FlowMonitor::Sample &s) { return s.rateOut; }}},
        niceCeiling(maxRate), true);

    QList<Series> queue = {
        Series {QStringLiteral("Rill send queue"), colors::shuttingDown(),
            [](const FlowMonitor::Sample &s) { return s.bytesQueued; }, true},
        Series {QStringLiteral("high-water mark"), colors::failed(),
            [](const FlowMonitor::Sample &s) { return s.highWaterMark; }, false, true},
    };
    if (kernel) {
        queue << Series {QStringLiteral("kernel send queue"), QColor(0x8a, 0x3f, 0xb5),
            [](const FlowMonitor::Sample &s) {
                return s.kernel.isAvailable() ? s.kernel.sendQueue : qint64(-1);
            }};
    }
    drawPanel(p, bottom, QStringLiteral("Send queue"), samples, nowMs, queue,
        niceCeiling(maxQueue + maxQueue / 8), false);
}

} // namespace inspector
