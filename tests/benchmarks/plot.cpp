// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "plot.h"

#include <QtCore/QLocale>
#include <QtCore/QSaveFile>

#include <algorithm>
#include <cmath>

namespace bench {

namespace {

constexpr double Width = 900;
constexpr double Margin = 16;        // left and right of the title, legend and notes
constexpr double PanelsLeft = 34;    // room for the rotated y label
constexpr double PanelsRight = Width - 8;
constexpr double TickRoom = 46;      // left of each plot area, for its tick labels
constexpr double PlotRightGap = 12;
constexpr double XPad = 22;          // between the plot area's edges and the first and last x
constexpr double PanelTitleY = 74;
constexpr double PlotTop = 86;
constexpr double PlotHeight = 250;
constexpr double LegendRowHeight = 22;
constexpr int LegendColumns = 4;
constexpr double NoteLineHeight = 17;
constexpr int NoteChars = 140; // of 12 px sans-serif in 868 px, with room to spare

QString num(double v)
{
    return QString::number(v, 'f', 1);
}

QString escaped(const QString &text)
{
    return text.toHtmlEscaped(); // &, <, >, "
}

// The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) at least raw.
double niceStep(double raw)
{
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (double f : {1.0, 2.0, 2.5, 5.0}) {
        if (f * power >= raw * (1 - 1e-9))
            return f * power;
    }
    return 10 * power;
}

// A tick label: "0", "250", "12.5k", "1.2M", with as many decimals as the step needs.
QString tickLabel(double v, double step, double top)
{
    if (v == 0)
        return QStringLiteral("0");
    const double div = top >= 1e6 ? 1e6 : top >= 1e4 ? 1e3 : 1;
    const QString suffix = div == 1e6 ? QStringLiteral("M") : div == 1e3 ? QStringLiteral("k") : QString();
    int decimals = 0;
    while (decimals < 3) {
        const double scaled = step / div * std::pow(10.0, decimals);
        if (std::abs(scaled - std::round(scaled)) < 1e-6)
            break;
        ++decimals;
    }
    return QString::number(v / div, 'f', decimals) + suffix;
}

QString grouped(double v)
{
    return QLocale(QLocale::English).toString(qint64(std::llround(v)));
}

QStringList wrapped(const QString &text, int width)
{
    QStringList lines;
    QString line;
    for (const QString &word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (!line.isEmpty() && line.size() + 1 + word.size() > width) {
            lines << line;
            line.clear();
        }
        line += (line.isEmpty() ? QString() : QStringLiteral(" ")) + word;
    }
    if (!line.isEmpty())
        lines << line;
    return lines;
}

QString text(double x, double y, const QString &content, const QString &attributes = {})
{
    return QStringLiteral("<text x=\"%1\" y=\"%2\"%3>%4</text>\n")
            .arg(num(x), num(y), attributes.isEmpty() ? QString() : QLatin1Char(' ') + attributes, escaped(content));
}

QString marker(const LineChart::Series &s, double x, double y, const QString &tooltip = {})
{
    const QString paint = s.dashed
            ? QStringLiteral("fill=\"#ffffff\" stroke=\"%1\" stroke-width=\"1.8\"").arg(s.colour)
            : QStringLiteral("fill=\"%1\" stroke=\"%1\" stroke-width=\"1\"").arg(s.colour);
    QString element;
    QString geometry;
    switch (s.marker) {
    case LineChart::Marker::Square:
        element = QStringLiteral("rect");
        geometry = QStringLiteral("x=\"%1\" y=\"%2\" width=\"8\" height=\"8\"").arg(num(x - 4), num(y - 4));
        break;
    case LineChart::Marker::Circle:
        element = QStringLiteral("circle");
        geometry = QStringLiteral("cx=\"%1\" cy=\"%2\" r=\"4.5\"").arg(num(x), num(y));
        break;
    case LineChart::Marker::Triangle:
        element = QStringLiteral("polygon");
        geometry = QStringLiteral("points=\"%1,%2 %3,%4 %5,%4\"")
                           .arg(num(x), num(y - 5.5), num(x - 5.5), num(y + 4), num(x + 5.5));
        break;
    case LineChart::Marker::Diamond:
        element = QStringLiteral("polygon");
        geometry = QStringLiteral("points=\"%1,%2 %3,%4 %1,%5 %6,%4\"")
                           .arg(num(x), num(y - 5.5), num(x + 5.5), num(y), num(y + 5.5), num(x - 5.5));
        break;
    }
    const QString start = QStringLiteral("<%1 %2 %3").arg(element, geometry, paint);
    if (tooltip.isEmpty())
        return start + QStringLiteral("/>\n");
    return start + QStringLiteral("><title>%1</title></%2>\n").arg(escaped(tooltip), element);
}

QString lineAttributes(const LineChart::Series &s)
{
    return QStringLiteral("fill=\"none\" stroke=\"%1\" stroke-width=\"2\" stroke-linejoin=\"round\"%2")
            .arg(s.colour, s.dashed ? QStringLiteral(" stroke-dasharray=\"7 4\"") : QString());
}

} // namespace

QString svgOf(const LineChart &chart)
{
    const int panels = int(chart.panels.size());
    const int columns = int(std::min<qsizetype>(LegendColumns, std::max<qsizetype>(1, chart.series.size())));
    const int legendRows = int((chart.series.size() + columns - 1) / columns);
    const double plotBottom = PlotTop + PlotHeight;
    const double legendTop = plotBottom + 66;
    QStringList notes;
    for (const QString &note : chart.notes)
        notes << wrapped(note, NoteChars);
    const double notesTop = legendTop + legendRows * LegendRowHeight + 10;
    const double height = std::ceil(notesTop + notes.size() * NoteLineHeight + 6);

    QString svg;
    svg += QStringLiteral("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg += QStringLiteral("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%1\" height=\"%2\" viewBox=\"0 0 %1 %2\" "
                          "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\" fill=\"#222222\">\n")
                   .arg(num(Width), num(height));
    svg += QStringLiteral("<title>%1</title>\n").arg(escaped(chart.title));
    // Opaque, so the chart stays legible on a dark page.
    svg += QStringLiteral("<rect x=\"0\" y=\"0\" width=\"%1\" height=\"%2\" fill=\"#ffffff\"/>\n").arg(num(Width), num(height));
    svg += text(Margin, 26, chart.title, QStringLiteral("font-size=\"16\" font-weight=\"bold\""));
    if (!chart.subtitle.isEmpty())
        svg += text(Margin, 46, chart.subtitle, QStringLiteral("font-size=\"12\" fill=\"#555555\""));
    svg += QStringLiteral("<text transform=\"translate(%1 %2) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">%3</text>\n")
                   .arg(num(16), num(PlotTop + PlotHeight / 2), escaped(chart.yLabel));

    // x: log scale over the values measured.
    double lmin = 0, lmax = 0;
    if (!chart.xs.isEmpty()) {
        lmin = std::log10(chart.xs.first());
        lmax = std::log10(chart.xs.last());
    }
    const double panelWidth = panels > 0 ? (PanelsRight - PanelsLeft) / panels : 0;
    for (int p = 0; p < panels; ++p) {
        const LineChart::Panel &panel = chart.panels.at(p);
        const double left = PanelsLeft + p * panelWidth + TickRoom;
        const double right = PanelsLeft + (p + 1) * panelWidth - PlotRightGap;
        auto xAt = [&](int i) {
            if (lmax <= lmin)
                return (left + right) / 2;
            return left + XPad + (std::log10(chart.xs.at(i)) - lmin) / (lmax - lmin) * (right - left - 2 * XPad);
        };
        double highest = 0;
        for (const QList<double> &values : panel.values) {
            for (double v : values) {
                if (!std::isnan(v))
                    highest = std::max(highest, v);
            }
        }
        const double step = highest > 0 ? niceStep(highest * 1.04 / 5) : 1;
        const double top = highest > 0 ? std::ceil(highest * 1.04 / step) * step : 5;
        auto yAt = [&](double v) { return plotBottom - v / top * PlotHeight; };

        svg += QStringLiteral("<g>\n");
        svg += text((left + right) / 2, PanelTitleY, panel.title,
                    QStringLiteral("text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\""));
        // Grid and y ticks.
        for (int t = 0; t * step <= top * (1 + 1e-9); ++t) {
            const double v = t * step;
            const double y = yAt(v);
            if (t > 0) {
                svg += QStringLiteral("<line x1=\"%1\" y1=\"%2\" x2=\"%3\" y2=\"%2\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n")
                               .arg(num(left), num(y), num(right));
            }
            svg += text(left - 6, y + 4, tickLabel(v, step, top), QStringLiteral("text-anchor=\"end\""));
        }
        // x ticks at the values measured, a label only where it does not crowd the last one.
        double lastLabel = -1e9;
        for (int i = 0; i < chart.xs.size(); ++i) {
            const double x = xAt(i);
            svg += QStringLiteral("<line x1=\"%1\" y1=\"%2\" x2=\"%1\" y2=\"%3\" stroke=\"#efefef\" stroke-width=\"1\"/>\n")
                           .arg(num(x), num(PlotTop), num(plotBottom));
            svg += QStringLiteral("<line x1=\"%1\" y1=\"%2\" x2=\"%1\" y2=\"%3\" stroke=\"#333333\" stroke-width=\"1\"/>\n")
                           .arg(num(x), num(plotBottom), num(plotBottom + 5));
            if (x - lastLabel >= 44) {
                svg += text(x, plotBottom + 19, grouped(chart.xs.at(i)), QStringLiteral("text-anchor=\"middle\""));
                lastLabel = x;
            }
        }
        // Axes.
        svg += QStringLiteral("<path d=\"M%1 %2 V%3 H%4\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n")
                       .arg(num(left), num(PlotTop), num(plotBottom), num(right));
        svg += text((left + right) / 2, plotBottom + 38, chart.xLabel,
                    QStringLiteral("text-anchor=\"middle\" font-size=\"13\""));
        if (highest <= 0) {
            svg += text((left + right) / 2, PlotTop + PlotHeight / 2, QStringLiteral("no figures"),
                        QStringLiteral("text-anchor=\"middle\" fill=\"#888888\""));
        }
        // Lines first (joining neighbouring points only), then every marker above them.
        for (int s = 0; s < std::min(chart.series.size(), panel.values.size()); ++s) {
            const QList<double> &values = panel.values.at(s);
            QString path;
            bool open = false;
            for (int i = 0; i < std::min(values.size(), chart.xs.size()); ++i) {
                if (std::isnan(values.at(i))) {
                    open = false;
                    continue;
                }
                path += QStringLiteral("%1%2 %3 ").arg(open ? QStringLiteral("L") : QStringLiteral("M"), num(xAt(i)),
                                                        num(yAt(values.at(i))));
                open = true;
            }
            if (path.contains(QLatin1Char('L')))
                svg += QStringLiteral("<path d=\"%1\" %2/>\n").arg(path.trimmed(), lineAttributes(chart.series.at(s)));
        }
        for (int s = 0; s < std::min(chart.series.size(), panel.values.size()); ++s) {
            const QList<double> &values = panel.values.at(s);
            for (int i = 0; i < std::min(values.size(), chart.xs.size()); ++i) {
                if (std::isnan(values.at(i)))
                    continue;
                const QString tip = QStringLiteral("%1, %2: %3 %4 at %5")
                                            .arg(chart.series.at(s).label, panel.title, grouped(values.at(i)), chart.unit,
                                                 grouped(chart.xs.at(i)));
                svg += marker(chart.series.at(s), xAt(i), yAt(values.at(i)), tip);
            }
        }
        svg += QStringLiteral("</g>\n");
    }

    // Legend, filled column by column: a line sample with its marker, then the label.
    const double columnWidth = (Width - 2 * Margin) / columns;
    for (int s = 0; s < chart.series.size(); ++s) {
        const LineChart::Series &series = chart.series.at(s);
        const double x = Margin + (s / legendRows) * columnWidth;
        const double y = legendTop + (s % legendRows) * LegendRowHeight;
        svg += QStringLiteral("<path d=\"M%1 %2 H%3\" %4/>\n").arg(num(x), num(y - 4), num(x + 40), lineAttributes(series));
        svg += marker(series, x + 20, y - 4);
        svg += text(x + 48, y, series.label, QStringLiteral("font-size=\"13\""));
    }
    for (int i = 0; i < notes.size(); ++i)
        svg += text(Margin, notesTop + (i + 1) * NoteLineHeight - 4, notes.at(i), QStringLiteral("fill=\"#555555\""));
    svg += QStringLiteral("</svg>\n");
    return svg;
}

bool writeSvg(const QString &path, const LineChart &chart, QString *error)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(svgOf(chart).toUtf8()) < 0 || !f.commit()) {
        if (error)
            *error = f.errorString();
        return false;
    }
    return true;
}

} // namespace bench
