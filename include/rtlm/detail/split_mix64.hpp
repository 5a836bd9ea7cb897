// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace rtlm::detail {

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014), with uniform and bounded draws: the same
/// stream on every platform, unlike the std distributions, whose algorithms each standard
/// library chooses. O(1) per draw; no allocation; not thread-safe (one stream per user).
class split_mix64 {
 public:
  explicit split_mix64(std::uint64_t seed) noexcept : state_(seed) {}

  /// The next 64 random bits.
  std::uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }

  /// Uniform in (0, 1]: 53 random bits, never 0 (so its logarithm is finite).
  double uniform() noexcept { return static_cast<double>((next() >> 11U) + 1U) * 0x1p-53; }

  /// Uniform in [0, n) for n >= 1, without modulo bias: draws below 2^64 mod n are rejected, so
  /// the rest number a multiple of n.
  std::size_t below(std::size_t n) noexcept {
    const auto range = static_cast<std::uint64_t>(n);
    const std::uint64_t threshold = (0U - range) % range;
    for (;;) {
      const std::uint64_t x = next();
      if (x >= threshold) return static_cast<std::size_t>(x % range);
    }
  }

 private:
  std::uint64_t state_;
};

/// Exponential with mean 1, by inversion: -ln(u).
inline double unit_exponential(split_mix64& rng) noexcept { return -std::log(rng.uniform()); }

/// Standard normal, by Marsaglia's polar method (no trigonometry).
inline double standard_normal(split_mix64& rng) noexcept {
  for (;;) {
    const double u = 2.0 * rng.uniform() - 1.0;
    const double v = 2.0 * rng.uniform() - 1.0;
    const double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * std::log(s) / s);
  }
}

/// Gamma with `shape` > 0 and scale 1: Marsaglia and Tsang's method (ACM TOMS 2000) for shape
/// >= 1; below 1, their boost Gamma(shape) = Gamma(shape + 1) U^(1 / shape). Shape 1 is
/// unit_exponential() itself, draw for draw.
inline double unit_gamma(split_mix64& rng, double shape) noexcept {
  if (shape == 1.0) return unit_exponential(rng);
  const double k = shape < 1.0 ? shape + 1.0 : shape;
  const double d = k - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  double g = 0.0;
  for (;;) {
    const double x = standard_normal(rng);
    const double t = 1.0 + c * x;
    if (t <= 0.0) continue;
    const double v = t * t * t;
    if (std::log(rng.uniform()) < 0.5 * x * x + d - d * v + d * std::log(v)) {
      g = d * v;
      break;
    }
  }
  return shape < 1.0 ? g * std::exp(std::log(rng.uniform()) / shape) : g;
}

}  // namespace rtlm::detail
