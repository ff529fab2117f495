// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The export macro of library Rill::Models (librill-models): its own, so that building it
// exports its symbols without re-exporting those it imports from Rill::Rill.

#include <rill/global.h>

#if defined(RILL_STATIC)
#  define RILL_MODELS_EXPORT
#elif defined(RILL_BUILDING_MODELS)
#  define RILL_MODELS_EXPORT Q_DECL_EXPORT
#else
#  define RILL_MODELS_EXPORT Q_DECL_IMPORT
#endif
