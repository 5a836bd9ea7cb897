// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// The KV entries an eviction at ratio `alpha` keeps out of `length`: floor((1 - alpha) length),
/// rounded down so that a plan never keeps more than its ratio allows (the solver's time bound
/// then holds for the kept-token budget too). `alpha` is clamped to [0, 1]; NaN reads as 0.
/// Negative lengths read as 0. O(1), noexcept.
constexpr tokens kept_tokens_for_ratio(tokens length, double alpha) noexcept {
  const auto n = std::max<tokens::rep>(0, length.count());
  const double a = alpha >= 0.0 ? std::min(alpha, 1.0) : 0.0;  // NaN fails `>=`
  // The 1e-9 absorbs rounding: (1 - 0.9) * 10 is 0.99999999999999978, which keeps 1, not 0.
  const double kept = (1.0 - a) * static_cast<double>(n) + 1e-9;
  // Compared as doubles first: near 2^63 the product rounds up past what tokens::rep holds.
  if (kept >= static_cast<double>(n)) return tokens(n);
  return tokens(std::min(n, static_cast<tokens::rep>(kept)));
}

/// The eviction ratio that keeping `kept` of `length` KV entries means: 1 - kept / length, in
/// [0, 1]; 0 when `length` is 0. O(1), noexcept.
constexpr double ratio_for_kept_tokens(tokens length, tokens kept) noexcept {
  if (length.count() <= 0) return 0.0;
  const auto k = std::clamp<tokens::rep>(kept.count(), 0, length.count());
  return 1.0 - static_cast<double>(k) / static_cast<double>(length.count());
}

}  // namespace rtlm
