// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace rtlm {

/// An upper bound on a measured time relative to its estimate, calibrated on residuals
/// r = measured / estimated - 1 of measurements the estimate was not fitted on (split conformal
/// prediction). For n residuals and level L, the bound factor is 1 + the ceil((n + 1) L)-th
/// smallest residual: if future measurements are exchangeable with the calibration ones, a
/// measurement exceeds estimate x factor with probability at most 1 - L. Immutable after
/// construction; queries are O(1), allocation-free and thread-safe.
class relative_error_bound {
 public:
  /// No residuals: every bound is +infinity (nothing calibrated, nothing promised).
  relative_error_bound() = default;
  /// Takes the calibration residuals; non-finite ones are dropped.
  explicit relative_error_bound(std::vector<double> residuals) : sorted_(std::move(residuals)) {
    std::erase_if(sorted_, [](double r) { return !std::isfinite(r); });
    std::sort(sorted_.begin(), sorted_.end());
  }

  /// The multiplier on an estimate that bounds the measurement at `level` in (0, 1); +infinity
  /// when `level` is outside (0, 1) or needs more residuals than there are (n < L / (1 - L)).
  [[nodiscard]] double factor(double level) const noexcept {
    if (!(level > 0.0 && level < 1.0) || sorted_.empty()) return kInfinity;
    const auto n = static_cast<double>(sorted_.size());
    const auto rank = static_cast<std::size_t>(std::ceil((n + 1.0) * level));
    if (rank > sorted_.size()) return kInfinity;
    return 1.0 + sorted_[std::max<std::size_t>(rank, 1) - 1];
  }

  /// The calibration residuals, sorted ascending.
  [[nodiscard]] std::span<const double> residuals() const noexcept { return sorted_; }

 private:
  static constexpr double kInfinity = std::numeric_limits<double>::infinity();
  std::vector<double> sorted_;
};

}  // namespace rtlm
