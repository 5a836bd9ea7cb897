// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// rtlm's one version source: CMakeLists.txt parses these three lines.
#define RTLM_VERSION_MAJOR 0
#define RTLM_VERSION_MINOR 1
#define RTLM_VERSION_PATCH 0

/// The version as one integer, major * 10000 + minor * 100 + patch, for `#if` checks.
#define RTLM_VERSION (RTLM_VERSION_MAJOR * 10000 + RTLM_VERSION_MINOR * 100 + RTLM_VERSION_PATCH)

namespace rtlm {

/// The library's version as "major.minor.patch". Constant; thread-safe.
inline constexpr const char* version_string = "0.1.0";

static_assert(RTLM_VERSION == 100, "version_string must match the RTLM_VERSION_* macros");

}  // namespace rtlm
