// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "rtlm/core/request.hpp"
#include "rtlm/detail/normal.hpp"

namespace rtlm {

/// A request's output length L as a log-normal distribution (ln L ~ N(mu, sigma^2)) fitted to
/// the length_estimate it carries, so that a scheduler can ask what a point estimate cannot:
/// how much is left once a request has generated `a` tokens (L conditioned on L > a), and the
/// Gittins rank and tail-inflated expectation of that remainder.
///
/// The fit keeps the estimate's calibrated bound: P(L <= upper_bound) = bound_coverage. sigma
/// then follows from the mean when a log-normal can have both (the bound at most
/// exp(z^2 / 2) times the mean, z the coverage's normal quantile); a wider bound gets sigma = z,
/// the widest such fit. A bound not above the mean gives no shape: sigma is the estimate's
/// uncertainty (the SD of ln L). sigma is at least min_sigma.
///
/// Every function is O(1) (gittins_rank: O(grid)), allocation-free, noexcept and pure, and
/// stays finite for any attained service (far tails use the log-normal's asymptotes).
class lognormal_length {
 public:
  /// The least sigma a fit takes: a point estimate is never treated as certain.
  static constexpr double min_sigma = 0.05;

  /// The log-normal with parameters mu and sigma (sigma clamped to >= min_sigma).
  lognormal_length(double mu, double sigma) noexcept
      : mu_(mu), sigma_(std::max(sigma, min_sigma)) {}

  /// The fit described above. A mean below 1 token counts as 1.
  [[nodiscard]] static lognormal_length fit(const length_estimate& e) noexcept {
    const double mean = std::isfinite(e.mean_tokens) ? std::max(e.mean_tokens, 1.0) : 1.0;
    const auto bound = static_cast<double>(e.upper_bound.count());
    const double coverage = std::clamp(e.bound_coverage, 0.5, 1.0 - 1e-9);
    const double z = detail::normal_quantile(coverage);
    if (!(bound > mean) || !(z > 0.0)) {
      const double s = std::max(std::isfinite(e.uncertainty) ? e.uncertainty : 0.0, min_sigma);
      return {std::log(mean) - 0.5 * s * s, s};
    }
    // ln(bound / mean) = z sigma - sigma^2 / 2: the smaller root, or z where there is none.
    const double gap = std::log(bound / mean);
    const double disc = z * z - 2.0 * gap;
    const double sigma = std::max(disc > 0.0 ? z - std::sqrt(disc) : z, min_sigma);
    return {std::log(bound) - z * sigma, sigma};
  }

  [[nodiscard]] double mu() const noexcept { return mu_; }
  [[nodiscard]] double sigma() const noexcept { return sigma_; }
  /// E[L].
  [[nodiscard]] double mean() const noexcept { return std::exp(mu_ + 0.5 * sigma_ * sigma_); }

  /// P(L > length).
  [[nodiscard]] double survival(double length) const noexcept {
    return length <= 0.0 ? 1.0 : detail::normal_upper_tail(z_of(length));
  }

  /// E[L - a | L > a]: the expected remaining length after `attained` tokens (E[L] at 0).
  [[nodiscard]] double mean_residual(double attained) const noexcept {
    if (attained <= 0.0) return mean();
    const double z = z_of(attained);
    if (z > far_tail) return attained * sigma_ / z;  // Mills-ratio asymptote
    // E[L 1{L > a}] = E[L] P(Z > z - sigma).
    const double above = mean() * detail::normal_upper_tail(z - sigma_);
    return std::max(above / survival(attained) - attained, 0.0);
  }

  /// The `q`-quantile of L - a given L > a, q in (0, 1).
  [[nodiscard]] double residual_quantile(double attained, double q) const noexcept {
    q = std::clamp(q, 1e-9, 1.0 - 1e-9);
    const double a = std::max(attained, 0.0);
    const double tail = (1.0 - q) * survival(a);
    if (tail < 1e-11) return mean_residual(a) * -std::log1p(-q);  // exponential-like far tail
    return std::max(std::exp(mu_ + sigma_ * -detail::normal_quantile(tail)) - a, 0.0);
  }

  /// The Gittins rank of the remainder after `attained` tokens (lower is served first):
  /// inf over b > a of E[min(L, b) - a | L > a] / P(L <= b | L > a), taken over b at fixed
  /// conditional quantiles and b = infinity (the mean residual). For a certain length it is
  /// the remaining length (SRPT); for a spread one it favours a request likely to end soon.
  [[nodiscard]] double gittins_rank(double attained) const noexcept {
    const double a = std::max(attained, 0.0);
    const double s_a = survival(a);
    const double best = mean_residual(a);
    if (z_of(std::max(a, 1e-300)) > far_tail || s_a < 1e-11) return best;
    double rank = best;
    for (const double p : rank_levels) {
      const double b = a + residual_quantile(a, p);
      const double served = served_between(a, b);  // E[min(L, b) - a; L > a]
      const double done = s_a - survival(b);       // P(a < L <= b)
      if (done > 0.0 && served > 0.0) rank = std::min(rank, served / done);
    }
    return rank;
  }

  /// TIE's tail-inflated expectation of the remainder R = L - a given L > a:
  /// E[R] + beta * CVaR_alpha[R], CVaR_alpha the mean of R above its alpha-quantile.
  [[nodiscard]] double tail_inflated_expectation(double attained, double alpha,
                                                 double beta) const noexcept {
    const double a = std::max(attained, 0.0);
    alpha = std::clamp(alpha, 0.0, 1.0 - 1e-9);
    const double residual = mean_residual(a);
    const double s_a = survival(a);
    double cvar = residual * (1.0 - std::log1p(-alpha));  // exponential-like far tail
    if (s_a * (1.0 - alpha) >= 1e-11) {
      const double v = a + residual_quantile(a, alpha);
      const double above = mean() * detail::normal_upper_tail(z_of(v) - sigma_);
      cvar = std::max(above / ((1.0 - alpha) * s_a) - a, residual);
    }
    return residual + beta * cvar;
  }

 private:
  // Beyond this many sigmas the tail formulas lose precision: asymptotes take over.
  static constexpr double far_tail = 25.0;
  // The conditional quantiles the Gittins rank tries as stopping points.
  static constexpr std::array<double, 12> rank_levels = {0.02, 0.05, 0.1, 0.2, 0.3, 0.4,
                                                         0.5,  0.6,  0.7, 0.8, 0.9, 0.99};

  [[nodiscard]] double z_of(double length) const noexcept {
    return (std::log(length) - mu_) / sigma_;
  }
  // E[min(L, b)] - E[min(L, a)] for 0 <= a <= b, from upper tails (no 1 - p cancellation):
  // E[min(L, x)] = E[L] P(Z <= z_x - sigma) + x P(L > x).
  [[nodiscard]] double served_between(double a, double b) const noexcept {
    const double above_a = a > 0.0 ? detail::normal_upper_tail(z_of(a) - sigma_) : 1.0;
    const double above_b = detail::normal_upper_tail(z_of(b) - sigma_);
    return mean() * (above_a - above_b) + b * survival(b) - a * survival(a);
  }

  double mu_;
  double sigma_;
};

/// What is left of the output of a request predicted as `e` once it has generated `generated`
/// tokens: the remainder's mean and its bound at e.bound_coverage, from the log-normal fit
/// conditioned on L > generated, with the fit's mean scaled to e's own (so that at 0 tokens it is
/// e itself). uncertainty is the fit's sigma. O(1); no allocation.
[[nodiscard]] inline length_estimate remaining_length(const length_estimate& e,
                                                      tokens generated) noexcept {
  if (generated.count() <= 0) return e;
  const lognormal_length d = lognormal_length::fit(e);
  const auto n = static_cast<double>(generated.count());
  const double scale = std::max(e.mean_tokens, 1.0) / d.mean();
  const double bound = std::ceil(d.residual_quantile(n, e.bound_coverage));
  return {.mean_tokens = std::max(d.mean_residual(n) * scale, 1.0),
          .upper_bound = tokens(static_cast<tokens::rep>(std::clamp(bound, 1.0, 1e12))),
          .bound_coverage = e.bound_coverage,
          .uncertainty = d.sigma()};
}

}  // namespace rtlm
