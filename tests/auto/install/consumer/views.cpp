// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Uses components Models and Quick of the installed package: links Rill::Models and Rill::Quick,
// calls into the first and takes the address of the second's entry point. Prints
// "rill views: ok".
#include <rill/datalog.h>
#include <rill/flowtext.h>
#include <rill/quick/inspector.h>

#include <QtCore/QTextStream>

int main()
{
    const auto view = &rill::quick::createInspectorView;
    rill::DataLog log;
    if (rill::FlowText::bytes(1536) != QLatin1String("1.5 KiB") || log.count() != 0 || !view) {
        QTextStream(stderr) << "rill views: unexpected results" << Qt::endl;
        return 1;
    }
    QTextStream(stdout) << "rill views: ok" << Qt::endl;
    return 0;
}
