// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// The export macro of library Rill::Http (librill-http).
///
/// Its own, so that building it exports its symbols without re-exporting those it imports from
/// Rill::Rill.

#include <rill/global.h>

/// \def RILL_HTTP_EXPORT
/// Marks a symbol of Rill::Http: exported while building it, imported by its users, empty with
/// RILL_STATIC defined.

#if defined(RILL_STATIC)
#define RILL_HTTP_EXPORT
#elif defined(RILL_BUILDING_HTTP)
#define RILL_HTTP_EXPORT Q_DECL_EXPORT
#else
#define RILL_HTTP_EXPORT Q_DECL_IMPORT
#endif
