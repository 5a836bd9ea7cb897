// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

namespace rtlm::detail {

/// P(Z > z) for a standard normal Z, accurate far into the upper tail (erfc, not 1 - cdf).
[[nodiscard]] inline double normal_upper_tail(double z) noexcept {
  return 0.5 * std::erfc(z / std::numbers::sqrt2);
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9);
/// `p` is clamped to [1e-12, 1 - 1e-12].
[[nodiscard]] inline double normal_quantile(double p) noexcept {
  constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                          1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                          6.680131188771972e+01, -1.328068155288572e+01};
  constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                          -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                          3.754408661907416e+00};
  p = std::clamp(p, 1e-12, 1.0 - 1e-12);
  if (p < 0.02425 || p > 1 - 0.02425) {
    // The tails, the upper one by symmetry.
    const double tail = std::min(p, 1 - p);
    const double q = std::sqrt(-2 * std::log(tail));
    const double z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                     ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < 0.5 ? z : -z;
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace rtlm::detail
