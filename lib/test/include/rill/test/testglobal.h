// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// The export macro of library Rill::Test (librill-test).
///
/// Its own, so that building it exports its symbols without re-exporting those it imports from
/// Rill::Rill.

#include <rill/global.h>

/// \def RILL_TEST_EXPORT
/// Marks a symbol of Rill::Test: exported while building it, imported by its users, empty with
/// RILL_STATIC defined.

#if defined(RILL_STATIC)
#define RILL_TEST_EXPORT
#elif defined(RILL_BUILDING_TEST)
#define RILL_TEST_EXPORT Q_DECL_EXPORT
#else
#define RILL_TEST_EXPORT Q_DECL_IMPORT
#endif
