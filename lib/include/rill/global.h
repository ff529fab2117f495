// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// The export macro of the core library, Rill::Rill (librill).

#include <QtCore/qglobal.h>

/// \namespace rill
/// Rill: flows (byte streams whose operations return futures), their transports, listeners,
/// framing and combinators; the models of component Models live here too.

/// \def RILL_EXPORT
/// Marks a symbol of the core library: exported while building it, imported by its users,
/// empty with RILL_STATIC defined.
#if defined(RILL_STATIC)
#  define RILL_EXPORT
#elif defined(RILL_BUILDING_LIBRARY)
#  define RILL_EXPORT Q_DECL_EXPORT
#else
#  define RILL_EXPORT Q_DECL_IMPORT
#endif
