// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Bytes as text for failure messages, shared by the scripted flow and the QTest helpers.

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QLoggingCategory>
#include <QtCore/QString>

namespace rill::test {

Q_DECLARE_LOGGING_CATEGORY(lcTest)

// "HELLO\r\n" as a C string literal would show it; at most maxBytes, then "..." and the count.
QString quoted(QByteArrayView bytes, qsizetype maxBytes = 120);

// Where actual and expected first differ, both sides around it, a caret under the difference;
// empty if they are equal. `base` is added to the offsets shown (the stream offset of the
// first byte).
QString describeDifference(QByteArrayView actual, QByteArrayView expected, qint64 base = 0);

} // namespace rill::test
