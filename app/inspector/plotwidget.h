// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// A live plot of one flow over the last minute, painted with QPainter: throughput in each
// direction above, the send queue below (Rill's queue against the high-water mark, and the
// kernel's send queue where it is known).

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

namespace inspector {

class FlowMonitor;

class PlotWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlotWidget(QWidget *parent = nullptr);
    void setMonitor(FlowMonitor *monitor);
    QSize sizeHint() const override { return {600, 320}; }
    QSize minimumSizeHint() const override { return {300, 180}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QPointer<FlowMonitor> m_monitor;
};

} // namespace inspector
