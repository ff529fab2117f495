// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qglobal.h>

#if defined(RILL_STATIC)
#  define RILL_EXPORT
#elif defined(RILL_BUILDING_LIBRARY)
#  define RILL_EXPORT Q_DECL_EXPORT
#else
#  define RILL_EXPORT Q_DECL_IMPORT
#endif
