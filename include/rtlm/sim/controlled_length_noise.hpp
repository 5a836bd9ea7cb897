// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm::sim {

/// Output-length predictions of a chosen quality, measured as the Kendall tau between the
/// predicted mean and the true length: for sweeps of how good a predictor must be.
///
/// The model: x = ln(true length) is taken as normal, N(m, s^2), with m and s the mean and
/// standard deviation of ln(length) over the trace's true lengths. The predictor observes
/// y = x + sigma z, z standard normal drawn from a SplitMix64 hash of the key (Box-Muller).
/// For a bivariate normal, tau = (2 / pi) asin(rho) with rho = s / sqrt(s^2 + sigma^2), so
/// sigma = s sqrt(1 / rho^2 - 1) at rho = sin(pi tau / 2) gives the target tau. The estimate is
/// the calibrated posterior x | y ~ N(mu_p, v_p), v_p = s^2 sigma^2 / (s^2 + sigma^2),
/// mu_p = m + s^2 / (s^2 + sigma^2) (y - m): mean exp(mu_p + v_p / 2), upper bound at 90%
/// coverage exp(mu_p + 1.2816 sqrt(v_p)) rounded up, uncertainty sqrt(v_p) (the SD of ln length,
/// as length_distribution::uncertainty). The posterior mean is monotone in y, so the tau holds
/// for the mean as for y; bounds cover 90% of lengths that are log-normal as assumed.
///
/// @code
/// const rtlm::sim::controlled_length_noise noise(0.5, true_lengths);
/// fmt::print("length prediction: {}\n", noise.describe());
/// request.predicted_length = noise.predict(trace_request.output, request_index);
/// @endcode
///
/// Immutable after construction: every const method is thread-safe.
class controlled_length_noise {
 public:
  /// The coverage every estimate's upper bound is calibrated for.
  static constexpr double bound_coverage = 0.9;

  /// The predictor whose means have Kendall tau `tau` with the true lengths, in (0, 1),
  /// fitted to `true_lengths` (values below 1 count as 1). Throws rtlm::error naming
  /// `controlled_length_noise.kendall_tau` for a tau outside (0, 1) or NaN, and
  /// `controlled_length_noise.true_lengths` when they are empty or all equal. O(n), no
  /// allocation.
  controlled_length_noise(double tau, std::span<const tokens> true_lengths);

  /// The prediction for a request whose true output length is `true_length` (values below 1
  /// count as 1), its noise drawn by `key` (a trace index): the same arguments always give the
  /// same estimate, on every platform. O(1), no allocation.
  [[nodiscard]] length_estimate predict(tokens true_length, std::uint64_t key) const noexcept;

  /// "controlled predictor: Kendall tau 0.50 (log-normal noise sigma 1.23 on ln length,
  /// calibrated posterior)", to state in a simulation's output.
  [[nodiscard]] std::string describe() const;

  /// The target Kendall tau, as given.
  [[nodiscard]] double kendall_tau() const noexcept { return tau_; }
  /// The SD of the observation noise on ln length.
  [[nodiscard]] double sigma() const noexcept { return sigma_; }
  /// The mean of ln(true length) over the lengths given.
  [[nodiscard]] double log_mean() const noexcept { return log_mean_; }
  /// The standard deviation of ln(true length) over the lengths given, > 0.
  [[nodiscard]] double log_sd() const noexcept { return log_sd_; }

 private:
  double tau_;
  double log_mean_ = 0.0;
  double log_sd_ = 0.0;
  double sigma_ = 0.0;
  double shrink_ = 0.0;        // s^2 / (s^2 + sigma^2) = rho^2
  double posterior_sd_ = 0.0;  // sqrt(v_p)
};

namespace detail {

/// A standard normal drawn from `key` alone (Box-Muller over two SplitMix64 uniforms in (0, 1]):
/// the same on every platform. O(1).
[[nodiscard]] double standard_normal_of_key(std::uint64_t key) noexcept;

}  // namespace detail

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/controlled_length_noise-inl.hpp"
#endif
