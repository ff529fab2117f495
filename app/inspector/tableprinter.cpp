// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "tableprinter.h"

#include "session.h"

#include <rill/flowtablemodel.h>
#include <rill/flowtext.h>
#include <rill/probe.h>

#include <QtCore/QDateTime>

namespace inspector {

namespace {

QString cut(const QString &text, int width)
{
    if (text.size() <= width)
        return text.leftJustified(width);
    return text.left(width - 1) + QChar(u'~');
}

} // namespace

QString formatFlowTable(const rill::FlowTableModel &model)
{
    using M = rill::FlowTableModel;
    struct Column {
        const char *title;
        int width;
        bool right;
    };
    static const Column columns[] = {
        {"ID", 4, true},
        {"NAME", 24, false},
        {"TRANSPORT", 9, false},
        {"LOCAL", 21, false},
        {"PEER", 21, false},
        {"STATE", 10, false},
        {"READ", 13, false},
        {"WRITE", 13, false},
        {"IN", 10, true},
        {"OUT", 10, true},
        {"QUEUED / HWM", 20, true},
        {"WAITING", 7, true},
        {"LAST ERROR", 0, false},
    };
    auto line = [](const QStringList &cells) {
        QString text;
        for (int i = 0; i < cells.size(); ++i) {
            const Column &c = columns[i];
            if (c.width == 0)
                text += cells[i];
            else if (c.right)
                text += cells[i].rightJustified(c.width) + QLatin1Char(' ');
            else
                text += cut(cells[i], c.width) + QLatin1Char(' ');
        }
        while (text.endsWith(QLatin1Char(' ')))
            text.chop(1);
        return text + QLatin1Char('\n');
    };
    QStringList header;
    for (const Column &c : columns)
        header << QString::fromLatin1(c.title);
    QString text = line(header);
    for (int row = 0; row < model.rowCount(); ++row) {
        auto value = [&](int column) { return model.data(model.index(row, column)); };
        QStringList cells;
        cells << value(M::IdColumn).toString() << value(M::NameColumn).toString()
              << value(M::TransportColumn).toString() << value(M::LocalEndpointColumn).toString()
              << value(M::PeerEndpointColumn).toString() << value(M::StateColumn).toString()
              << value(M::ReadStateColumn).toString() << value(M::WriteStateColumn).toString()
              << rill::FlowText::bytes(value(M::BytesInColumn).toLongLong())
              << rill::FlowText::bytes(value(M::BytesOutColumn).toLongLong())
              << rill::FlowText::bytes(value(M::BytesQueuedColumn).toLongLong()) + QStringLiteral(" / ")
                + rill::FlowText::bytes(value(M::HighWaterMarkColumn).toLongLong())
              << value(M::WritesWaitingColumn).toString() << value(M::LastErrorColumn).toString();
        text += line(cells);
    }
    return text;
}

TablePrinter::TablePrinter(InspectorSession *session, FILE *out, QObject *parent)
    : QObject(parent), m_session(session), m_out(out)
{
    connect(&m_timer, &QTimer::timeout, this, &TablePrinter::printNow);
}

void TablePrinter::start(int intervalMs)
{
    m_timer.start(intervalMs);
}

void TablePrinter::printNow()
{
    QString where = QStringLiteral("listening on ")
        + m_session->listeningEndpoints().join(QStringLiteral(", "));
    if (m_client) {
        const rill::ProbeProcess process = m_client->process();
        where = QStringLiteral("process %1 (%2)").arg(process.pid).arg(process.program);
        if (m_client->state() == rill::ProbeClient::State::Ended)
            where += QStringLiteral(", ended: ") + m_client->endReason();
        else if (m_client->eventsLost())
            where += QStringLiteral(", %1 events lost").arg(m_client->eventsLost());
        const QStringList listening = m_session->listeningEndpoints();
        if (!listening.isEmpty())
            where += QStringLiteral(", listening on ") + listening.join(QStringLiteral(", "));
    }
    const QString header
        = QStringLiteral("--- %1 · %2 flows · %3 · event loop lag %4 ms\n")
              .arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")))
              .arg(m_session->model()->rowCount())
              .arg(where)
              .arg(m_session->recentLagMs());
    const QByteArray text = (header + formatFlowTable(*m_session->model())).toLocal8Bit();
    std::fwrite(text.constData(), 1, size_t(text.size()), m_out);
    std::fflush(m_out);
}

} // namespace inspector
