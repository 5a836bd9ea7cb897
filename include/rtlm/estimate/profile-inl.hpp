// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/profile.hpp"

namespace rtlm {

RTLM_INLINE seconds profile_point::median() const {
  if (measurements.empty()) return seconds(0);
  std::vector<seconds> sorted = measurements;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
}

RTLM_INLINE void validate_profile_point(const profile_point& point, std::string_view where) {
  using detail::require;
  const auto field = [&](std::string_view name) { return fmt::format("{} {}", where, name); };
  const std::size_t batch = point.batch();
  require(batch >= 1 && batch <= max_profile_batch, field("batch"), batch,
          fmt::format("must be from 1 to {} sequences (kv_lengths lists one per sequence)",
                      max_profile_batch));
  const tokens::rep n = point.new_tokens.count();
  const auto b = static_cast<tokens::rep>(batch);
  require(n >= 1 && n <= max_profile_tokens, field("new_tokens"), n,
          fmt::format("must be from 1 to {} (rtlm::max_profile_tokens)", max_profile_tokens));
  if (point.phase == step_phase::decode) {
    require(n == b, field("new_tokens"), n,
            fmt::format("must equal the batch ({}) in a decode point", batch));
  } else {
    require(n % b == 0, field("new_tokens"), n,
            fmt::format("must split evenly over the batch ({})", batch));
  }
  const tokens::rep per_sequence = point.phase == step_phase::decode ? 1 : n / b;
  for (const tokens kv : point.kv_lengths) {
    require(kv.count() >= 0 && kv.count() <= max_profile_tokens - per_sequence, field("kv_lengths"),
            kv.count(),
            fmt::format("must be from 0 to {}: with the sequence's {} new token(s), at most {} "
                        "(rtlm::max_profile_tokens)",
                        max_profile_tokens - per_sequence, per_sequence, max_profile_tokens));
  }
  for (const seconds m : point.measurements) {
    require(std::isfinite(m.count()) && m.count() > 0 && m.count() <= max_profile_seconds,
            field("measurements"), m.count(),
            fmt::format("must be finite, > 0 and <= {:g} s (rtlm::max_profile_seconds)",
                        max_profile_seconds));
  }
}

}  // namespace rtlm
