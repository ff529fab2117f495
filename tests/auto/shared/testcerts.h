// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Certificates made at test time with the openssl command (header only, as testutil.h).

#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>

namespace testcerts {

// Runs the openssl command in dir; false (and the reason in *why) if it fails.
inline bool openssl(const QString &dir, const QStringList &arguments, QString *why)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.start(QStringLiteral("openssl"), arguments);
    if (!p.waitForFinished(60000) || p.exitCode() != 0) {
        *why = QStringLiteral("openssl %1: %2")
                       .arg(arguments.join(u' '), QString::fromLocal8Bit(p.readAllStandardError()));
        return false;
    }
    return true;
}

inline QSslKey loadKey(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return QSslKey();
    return QSslKey(f.readAll(), QSsl::Ec);
}

inline QSslCertificate loadCert(const QString &path)
{
    const auto list = QSslCertificate::fromPath(path);
    return list.isEmpty() ? QSslCertificate() : list.first();
}

// In dir: ca.crt/ca.key (CN=Rill-Test-CA) and server.crt/server.key (CN=localhost, for
// localhost and 127.0.0.1, signed by the CA), EC P-256, valid for 30 days.
inline bool makeCaAndServer(const QString &dir, QString *why)
{
    QFile ext(dir + QStringLiteral("/localhost.ext"));
    if (!ext.open(QIODevice::WriteOnly)) {
        *why = ext.errorString();
        return false;
    }
    ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    ext.close();
    const QString ec = QStringLiteral("-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes");
    for (const QString &line :
         {QStringLiteral("req -x509 %1 -keyout ca.key -out ca.crt -days 30 -subj /CN=Rill-Test-CA").arg(ec),
          QStringLiteral("req %1 -keyout server.key -out server.csr -subj /CN=localhost").arg(ec),
          QStringLiteral("x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                         "-out server.crt -days 30 -extfile localhost.ext")}) {
        if (!openssl(dir, line.split(u' ', Qt::SkipEmptyParts), why))
            return false;
    }
    return true;
}

} // namespace testcerts
