// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill/version.h: generated from project(), compared as QT_VERSION is; rill::version() at run time.
#include <rill/version.h>

#include <QtTest/QTest>

class tst_Version : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void headerIsProjectVersion();
    void versionCheckOrders();
    void runtimeVersion();
};

void tst_Version::headerIsProjectVersion()
{
    QCOMPARE(RILL_VERSION_STR, RILL_PROJECT_VERSION);
    QCOMPARE(RILL_VERSION_MAJOR, RILL_PROJECT_VERSION_MAJOR);
    QCOMPARE(RILL_VERSION_MINOR, RILL_PROJECT_VERSION_MINOR);
    QCOMPARE(RILL_VERSION_PATCH, RILL_PROJECT_VERSION_PATCH);
    QCOMPARE(RILL_VERSION,
        RILL_VERSION_CHECK(RILL_PROJECT_VERSION_MAJOR, RILL_PROJECT_VERSION_MINOR,
            RILL_PROJECT_VERSION_PATCH));
}

void tst_Version::versionCheckOrders()
{
    QCOMPARE(RILL_VERSION_CHECK(1, 2, 3), 0x010203);
    QVERIFY(RILL_VERSION_CHECK(0, 9, 9) < RILL_VERSION_CHECK(1, 0, 0));
    QVERIFY(RILL_VERSION_CHECK(1, 0, 255) < RILL_VERSION_CHECK(1, 1, 0));
#if RILL_VERSION < RILL_VERSION_CHECK(0, 1, 0)
    QFAIL("the preprocessor sees an older version than the first release");
#endif
}

void tst_Version::runtimeVersion()
{
    QCOMPARE(QByteArray(rill::version()), QByteArray(RILL_VERSION_STR));
}

QTEST_GUILESS_MAIN(tst_Version)
#include "tst_version.moc"
