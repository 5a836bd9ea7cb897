// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>

#include "rtlm/estimate/profile.hpp"

namespace rtlm {

RTLM_INLINE seconds profile_point::median() const {
  if (measurements.empty()) return seconds(0);
  std::vector<seconds> sorted = measurements;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
}

}  // namespace rtlm
