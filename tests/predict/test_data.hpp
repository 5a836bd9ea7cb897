// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Generated training data with a planted relationship between features and output length.

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "rtlm/predict/prompt_features.hpp"

namespace rtlm::test {

/// Examples whose log-length is `base` plus the planted effect of each active "signal" feature,
/// with Gaussian noise of sd `noise`; every example also carries two of 50 noise features.
struct planted_data {
  std::vector<prompt_features> features;
  std::vector<tokens> lengths;
  std::vector<double> log_means;  // the noiseless log-length of each example
};

inline constexpr std::size_t planted_dimension = 300;
inline constexpr double planted_base = 4.0;
inline constexpr std::array<double, 4> planted_effects{1.5, -1.0, 0.8, 0.0};

inline planted_data make_planted(std::size_t n, std::uint64_t seed, double noise) {
  planted_data d;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::uint32_t> idx;
    std::vector<double> val;
    double mu = planted_base;
    for (std::size_t s = 0; s < planted_effects.size(); ++s) {
      if (rng() % 2 == 0) continue;
      idx.push_back(static_cast<std::uint32_t>(100 + s));
      val.push_back(1.0);
      mu += planted_effects[s];
    }
    const auto a = static_cast<std::uint32_t>(200 + rng() % 50);
    const auto b = static_cast<std::uint32_t>(250 + rng() % 50);
    idx.push_back(a);
    val.push_back(0.5);
    idx.push_back(b);
    val.push_back(0.5);
    const double y = mu + noise * gauss(rng);
    d.features.push_back(prompt_features::from_entries(planted_dimension, idx, val));
    d.lengths.emplace_back(static_cast<tokens::rep>(std::max(1.0, std::round(std::exp(y)))));
    d.log_means.push_back(mu);
  }
  return d;
}

}  // namespace rtlm::test
