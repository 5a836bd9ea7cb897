// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

#include "rtlm/detail/split_mix64.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/controlled_length_noise.hpp"

namespace rtlm::sim {

namespace detail {

// max(length, 1), in tokens::rep.
inline tokens::rep at_least_one(tokens length) noexcept {
  return std::max<tokens::rep>(length.count(), 1);
}

// ln(max(length, 1)).
inline double log_length(tokens length) noexcept {
  return std::log(static_cast<double>(at_least_one(length)));
}

RTLM_INLINE double standard_normal_of_key(std::uint64_t key) noexcept {
  rtlm::detail::split_mix64 rng(key);
  const double u1 = rng.uniform();  // in (0, 1]: its logarithm is finite
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace detail

RTLM_INLINE controlled_length_noise::controlled_length_noise(double tau,
                                                             std::span<const tokens> true_lengths)
    : tau_(tau) {
  using rtlm::detail::require;
  // Written so that NaN fails too.
  require(tau > 0.0 && tau < 1.0, "controlled_length_noise.kendall_tau", tau, "must be in (0, 1)");
  require(!true_lengths.empty(), "controlled_length_noise.true_lengths", "empty",
          "must hold at least one length");
  const auto [low, high] = std::minmax_element(
      true_lengths.begin(), true_lengths.end(),
      [](tokens a, tokens b) { return detail::at_least_one(a) < detail::at_least_one(b); });
  // Checked on the lengths, not on s: rounding can leave a tiny s for equal lengths.
  require(detail::at_least_one(*low) < detail::at_least_one(*high),
          "controlled_length_noise.true_lengths", fmt::format("all {}", detail::at_least_one(*low)),
          "must not all be equal (lengths below 1 count as 1)");
  const auto n = static_cast<double>(true_lengths.size());
  double sum = 0.0;
  for (const tokens l : true_lengths) sum += detail::log_length(l);
  log_mean_ = sum / n;
  double squares = 0.0;
  for (const tokens l : true_lengths) {
    const double d = detail::log_length(l) - log_mean_;
    squares += d * d;
  }
  log_sd_ = std::sqrt(squares / n);
  const double rho = std::sin(std::numbers::pi * tau / 2.0);
  sigma_ = log_sd_ * std::sqrt(1.0 / (rho * rho) - 1.0);
  // In terms of rho, which stays finite as tau nears 0 or 1.
  shrink_ = rho * rho;
  posterior_sd_ = log_sd_ * std::sqrt(1.0 - rho * rho);
}

RTLM_INLINE length_estimate controlled_length_noise::predict(tokens true_length,
                                                             std::uint64_t key) const noexcept {
  const double y = detail::log_length(true_length) + sigma_ * detail::standard_normal_of_key(key);
  const double mu = log_mean_ + shrink_ * (y - log_mean_);
  constexpr double z90 = 1.2815515655446004;  // the standard normal's 0.9 quantile
  const double upper = std::ceil(std::exp(mu + z90 * posterior_sd_));
  const auto largest = static_cast<double>(max_request_tokens.count());
  return {.mean_tokens = std::exp(mu + posterior_sd_ * posterior_sd_ / 2.0),
          .upper_bound = tokens(static_cast<tokens::rep>(std::clamp(upper, 1.0, largest))),
          .bound_coverage = bound_coverage,
          .uncertainty = posterior_sd_};
}

RTLM_INLINE std::string controlled_length_noise::describe() const {
  return fmt::format(
      "controlled predictor: Kendall tau {:.2f} (log-normal noise sigma {:.2f} on ln length, "
      "calibrated posterior)",
      tau_, sigma_);
}

}  // namespace rtlm::sim
