// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// A small line chart written as self-contained SVG text (no library): panels side by side that
// share the x values (log scale) and the series, each panel with its own linear y axis from 0,
// then a legend and a few lines of notes. Sized for a GitHub page: 900 px wide, 12-16 px text.

#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace bench {

struct LineChart
{
    enum class Marker { Square, Circle, Triangle, Diamond };
    struct Series
    {
        QString label;
        QString colour;      // "#0072B2"
        bool dashed = false; // a dashed line and a hollow marker; else solid and filled
        Marker marker = Marker::Circle;
    };
    struct Panel
    {
        QString title;
        QList<QList<double>> values; // [series][x]; NaN: no point
    };

    QString title;
    QString subtitle;
    QString xLabel;
    QString yLabel;
    QString unit;     // for the points' tooltips: "round trips/s"
    QList<double> xs; // ascending, all > 0
    QList<Series> series; // drawn in this order; the legend fills column by column
    QList<Panel> panels;
    QStringList notes; // under the legend, wrapped to the width
};

QString svgOf(const LineChart &chart);
// Writes svgOf(chart) to path; false with *error set if it cannot.
bool writeSvg(const QString &path, const LineChart &chart, QString *error);

} // namespace bench
