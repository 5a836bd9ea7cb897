// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdio>
#include <cstdlib>

/// Checks an internal invariant in debug builds (on unless NDEBUG, or forced with
/// RTLM_ENABLE_ASSERT). A failed check is a bug in rtlm, never a user error: user errors throw
/// rtlm::error instead.
#if !defined(NDEBUG) || defined(RTLM_ENABLE_ASSERT)
#define RTLM_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : ::rtlm::detail::assert_fail(#condition, __FILE__, __LINE__))
#else
#define RTLM_ASSERT(condition) static_cast<void>(0)
#endif

namespace rtlm::detail {

[[noreturn]] inline void assert_fail(const char* condition, const char* file, int line) noexcept {
  // fprintf, not {fmt}: this runs when the process is already in a bad state.
  std::fprintf(stderr, "rtlm: internal invariant failed: %s (%s:%d)\n",  // NOLINT(*-vararg)
               condition, file, line);
  std::abort();
}

}  // namespace rtlm::detail
