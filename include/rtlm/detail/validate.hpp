// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

#include "rtlm/core/error.hpp"

namespace rtlm::detail {

/// Throws rtlm::error naming `field` and `value` unless `ok`.
template <class T>
void require(bool ok, std::string_view field, const T& value, std::string_view requirement) {
  if (!ok) throw error(std::string(field), fmt::format("{}", value), requirement);
}

/// Throws unless `value` is finite and > 0 (NaN and infinity fail).
inline void require_positive_finite(std::string_view field, double value) {
  require(std::isfinite(value) && value > 0.0, field, value, "must be a finite number > 0");
}

/// Throws unless `value` is finite and >= 0 (NaN and infinity fail).
inline void require_non_negative_finite(std::string_view field, double value) {
  require(std::isfinite(value) && value >= 0.0, field, value, "must be a finite number >= 0");
}

}  // namespace rtlm::detail
