// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/version.h>

static_assert(RILL_VERSION
        == RILL_VERSION_CHECK(RILL_VERSION_MAJOR, RILL_VERSION_MINOR, RILL_VERSION_PATCH),
    "RILL_VERSION and its parts disagree");

namespace rill {

const char *version() noexcept
{
    return RILL_VERSION_STR;
}

} // namespace rill
