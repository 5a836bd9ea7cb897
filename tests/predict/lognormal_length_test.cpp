// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/lognormal_length.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using rtlm::length_estimate;
using rtlm::lognormal_length;
using rtlm::tokens;

length_estimate estimate(double mean, tokens::rep bound, double uncertainty = 0.0) {
  return {.mean_tokens = mean,
          .upper_bound = tokens(bound),
          .bound_coverage = 0.9,
          .uncertainty = uncertainty};
}

// E[L - a | L > a] by the trapezoid rule on the survival function, over a log-spaced grid.
double integrated_residual(const lognormal_length& d, double a) {
  double sum = 0.0;
  double x = a;
  const double top = std::exp(d.mu() + 12.0 * d.sigma());
  const double factor = 1.0005;
  while (x < top) {
    const double next = std::max(x * factor, x + 1e-3);
    sum += 0.5 * (d.survival(x) + d.survival(next)) * (next - x);
    x = next;
  }
  return sum / d.survival(a);
}

TEST(lognormal_length, the_fit_keeps_the_mean_and_the_calibrated_bound) {
  const lognormal_length d = lognormal_length::fit(estimate(200.0, 400));
  EXPECT_NEAR(d.mean(), 200.0, 1e-9);
  EXPECT_NEAR(d.survival(400.0), 0.1, 1e-8);
  EXPECT_NEAR(d.residual_quantile(0.0, 0.9), 400.0, 1e-4);
}

TEST(lognormal_length, a_bound_too_wide_for_the_mean_keeps_the_bound_at_the_widest_fit) {
  const lognormal_length d = lognormal_length::fit(estimate(100.0, 4096));
  const double z = 1.2815515655446004;
  EXPECT_NEAR(d.sigma(), z, 1e-6);
  EXPECT_NEAR(d.survival(4096.0), 0.1, 1e-8);
}

TEST(lognormal_length, a_bound_not_above_the_mean_takes_the_uncertainty) {
  const lognormal_length d = lognormal_length::fit(estimate(100.0, 100, 0.6));
  EXPECT_DOUBLE_EQ(d.sigma(), 0.6);
  EXPECT_NEAR(d.mean(), 100.0, 1e-9);
  const lognormal_length certain = lognormal_length::fit(estimate(100.0, 50, 0.0));
  EXPECT_DOUBLE_EQ(certain.sigma(), lognormal_length::min_sigma);
}

TEST(lognormal_length, mean_residual_matches_the_integral) {
  const lognormal_length d(std::log(150.0), 0.8);
  EXPECT_NEAR(d.mean_residual(0.0), d.mean(), 1e-9);
  for (const double a : {10.0, 150.0, 600.0, 3000.0}) {
    SCOPED_TRACE(a);
    EXPECT_NEAR(d.mean_residual(a), integrated_residual(d, a), 1e-3 * d.mean_residual(a));
  }
}

TEST(lognormal_length, residual_quantile_is_the_conditional_quantile) {
  const lognormal_length d(std::log(150.0), 0.8);
  for (const double a : {0.0, 100.0, 1000.0}) {
    const double r = d.residual_quantile(a, 0.75);
    EXPECT_NEAR(d.survival(a + r) / d.survival(a), 0.25, 1e-6) << a;
  }
}

TEST(lognormal_length, gittins_rank_is_the_best_stopping_ratio) {
  const lognormal_length d(std::log(150.0), 0.9);
  for (const double a : {0.0, 50.0, 400.0}) {
    SCOPED_TRACE(a);
    // Brute force over b on a fine grid: the rank is within 2% of the true infimum and never
    // above the mean residual (b = infinity).
    double best = d.mean_residual(a);
    const double s_a = d.survival(a);
    double served = 0.0;
    for (double b = a + 0.5; b < a + 20'000.0; b += 0.5) {
      served += 0.5 * (d.survival(b - 0.5) + d.survival(b)) * 0.5;
      best = std::min(best, served / (s_a - d.survival(b)));
    }
    EXPECT_LE(d.gittins_rank(a), d.mean_residual(a) * (1.0 + 1e-12));
    EXPECT_NEAR(d.gittins_rank(a), best, 0.02 * best);
  }
}

TEST(lognormal_length, gittins_rank_of_a_near_certain_length_is_srpt) {
  const lognormal_length d(std::log(100.0), lognormal_length::min_sigma);
  EXPECT_NEAR(d.gittins_rank(0.0), 100.0, 1.0);
  EXPECT_NEAR(d.gittins_rank(70.0), 30.0, 1.5);
}

TEST(lognormal_length, tail_inflated_expectation_adds_the_weighted_cvar) {
  const lognormal_length d(std::log(150.0), 0.8);
  EXPECT_NEAR(d.tail_inflated_expectation(0.0, 0.9, 0.0), d.mean(), 1e-9);
  // CVaR_0.9 of a log-normal: E[L] P(Z > z_0.9 - sigma) / 0.1.
  const double z = 1.2815515655446004;
  const double cvar = d.mean() * 0.5 * std::erfc((z - 0.8) / std::sqrt(2.0)) / 0.1;
  EXPECT_NEAR(d.tail_inflated_expectation(0.0, 0.9, 0.5), d.mean() + 0.5 * cvar, 1e-3 * cvar);
  EXPECT_GT(d.tail_inflated_expectation(300.0, 0.9, 0.5), d.mean_residual(300.0));
}

TEST(lognormal_length, far_tails_stay_finite_and_positive) {
  const lognormal_length d(std::log(100.0), 0.3);
  for (const double a : {1e4, 1e8, 1e15}) {
    SCOPED_TRACE(a);
    for (const double v : {d.mean_residual(a), d.residual_quantile(a, 0.9), d.gittins_rank(a),
                           d.tail_inflated_expectation(a, 0.9, 0.5)}) {
      EXPECT_TRUE(std::isfinite(v));
      EXPECT_GT(v, 0.0);
    }
  }
}

TEST(lognormal_length, remaining_length_is_the_estimate_until_tokens_come) {
  const length_estimate e = estimate(200.0, 400, 0.5);
  const length_estimate same = rtlm::remaining_length(e, tokens(0));
  EXPECT_DOUBLE_EQ(same.mean_tokens, 200.0);
  EXPECT_EQ(same.upper_bound, tokens(400));
  const length_estimate later = rtlm::remaining_length(e, tokens(300));
  const lognormal_length d = lognormal_length::fit(e);
  EXPECT_NEAR(later.mean_tokens, d.mean_residual(300.0), 1e-9);  // the fit's mean is e's
  EXPECT_EQ(later.upper_bound,
            tokens(static_cast<tokens::rep>(std::ceil(d.residual_quantile(300.0, 0.9)))));
  EXPECT_GT(later.mean_tokens, 100.0);  // not 200 - 300: it has outlived its mean
  EXPECT_DOUBLE_EQ(later.bound_coverage, 0.9);
  const length_estimate far = rtlm::remaining_length(e, tokens(1'000'000'000));
  EXPECT_TRUE(std::isfinite(far.mean_tokens));
  EXPECT_GE(far.upper_bound, tokens(1));
}

}  // namespace
