// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT

// qml-installcheck FILE.qml PREFIX: loads FILE.qml as an application using the installed module
// would (QML_IMPORT_PATH only; this program does not link Rill), runs it until it calls
// Qt.exit(code), then checks that the module's libraries came from PREFIX. Exit code 0: ok.

#include <QtCore/QFile>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[])
{
    QGuiApplication app(argc, argv);
    if (argc != 3) {
        std::fprintf(stderr, "usage: qml-installcheck FILE.qml PREFIX\n");
        return 64;
    }
    const QString prefix = QFile::decodeName(argv[2]);

    QQmlEngine engine;
    QObject::connect(&engine, &QQmlEngine::exit, &app, &QCoreApplication::exit);
    QQmlComponent component(&engine, QUrl::fromLocalFile(QFile::decodeName(argv[1])));
    std::unique_ptr<QObject> root(component.create());
    if (!root) {
        std::fprintf(stderr, "%s\n", qPrintable(component.errorString()));
        return 65;
    }
    QTimer::singleShot(60000, &app, [] {
        std::fprintf(stderr, "the QML file never called Qt.exit()\n");
        QCoreApplication::exit(66);
    });
    const int code = app.exec();
    if (code != 0)
        return code;

    // Where librill, librill-quick and the plugin were loaded from.
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly))
        return 67;
    const QList<QByteArray> lines = maps.readAll().split('\n');
    int fromPrefix = 0;
    for (const QByteArray &line : lines) {
        const int slash = line.indexOf('/');
        if (slash < 0)
            continue;
        const QString path = QFile::decodeName(line.mid(slash));
        const bool ours = path.contains(QLatin1String("/librill.so"))
            || path.contains(QLatin1String("/librill-quick.so"))
            || path.contains(QLatin1String("/librillquickplugin.so"));
        if (!ours)
            continue;
        if (!path.startsWith(prefix + QLatin1Char('/'))) {
            std::fprintf(stderr, "loaded from outside the prefix: %s\n", qPrintable(path));
            return 68;
        }
        ++fromPrefix;
    }
    if (fromPrefix < 3) {
        std::fprintf(stderr, "not all of librill, librill-quick and the plugin were loaded\n");
        return 69;
    }
    std::printf("qml install check: ok\n");
    return 0;
}
