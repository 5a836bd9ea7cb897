// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/rank_correlation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/detail/split_mix64.hpp"

namespace {

using rtlm::sim::kendall_tau;
using rtlm::test::blamed_field;

int sign(double x) { return (x > 0.0) - (x < 0.0); }

// Tau-b by its definition over every pair: O(n^2).
double kendall_tau_by_pairs(const std::vector<double>& a, const std::vector<double>& b) {
  double score = 0.0;
  double untied_a = 0.0;
  double untied_b = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const int sa = sign(a[i] - a[j]);
      const int sb = sign(b[i] - b[j]);
      score += sa * sb;
      untied_a += sa != 0 ? 1.0 : 0.0;
      untied_b += sb != 0 ? 1.0 : 0.0;
    }
  }
  return score / std::sqrt(untied_a * untied_b);
}

TEST(kendall_tau, is_one_for_agreement_and_minus_one_for_reversal) {
  const std::vector<double> a{3, 1, 4, 1.5, 9, 2.6};
  const std::vector<double> same{30, 10, 40, 15, 90, 26};
  const std::vector<double> reversed{-3, -1, -4, -1.5, -9, -2.6};
  EXPECT_DOUBLE_EQ(kendall_tau(a, same), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau(a, reversed), -1.0);
}

TEST(kendall_tau, corrects_for_ties_as_tau_b) {
  // Pairs: 3 concordant, 1 discordant, 1 tied in a, 1 tied in b: (3 - 1) / sqrt(5 x 5).
  EXPECT_DOUBLE_EQ(kendall_tau(std::vector<double>{1, 2, 2, 3}, std::vector<double>{1, 3, 2, 2}),
                   0.4);
  // 4 concordant; one pair tied in both, one more tied in b: 4 / sqrt(5 x 4).
  EXPECT_DOUBLE_EQ(kendall_tau(std::vector<double>{1, 1, 2, 3}, std::vector<double>{1, 1, 2, 2}),
                   4.0 / std::sqrt(20.0));
}

TEST(kendall_tau, is_nan_for_fewer_than_two_pairs_or_a_constant_side) {
  EXPECT_TRUE(std::isnan(kendall_tau(std::vector<double>{}, std::vector<double>{})));
  EXPECT_TRUE(std::isnan(kendall_tau(std::vector<double>{1}, std::vector<double>{2})));
  EXPECT_TRUE(std::isnan(kendall_tau(std::vector<double>{1, 2, 3}, std::vector<double>{5, 5, 5})));
}

TEST(kendall_tau, refuses_unequal_sizes_and_nan) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(blamed_field([] {
              static_cast<void>(kendall_tau(std::vector<double>{1, 2}, std::vector<double>{1}));
            }),
            "kendall_tau.b");
  EXPECT_EQ(blamed_field([&] {
              static_cast<void>(
                  kendall_tau(std::vector<double>{1, nan, 3}, std::vector<double>{1, 2, 3}));
            }),
            "kendall_tau.a[1]");
  EXPECT_EQ(blamed_field([&] {
              static_cast<void>(
                  kendall_tau(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, nan}));
            }),
            "kendall_tau.b[2]");
}

TEST(kendall_tau, agrees_with_the_pairwise_definition_on_random_ties) {
  rtlm::detail::split_mix64 rng(42);
  for (int trial = 0; trial < 500; ++trial) {
    // Few distinct values, so ties in a, in b and in both are common; b leans on a in some.
    const std::size_t n = 2 + rng.below(200);
    const auto levels = static_cast<double>(1 + rng.below(8));
    const double lean = static_cast<double>(rng.below(3)) - 1.0;
    std::vector<double> a(n);
    std::vector<double> b(n);
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = std::floor(rng.uniform() * levels);
      b[i] = std::floor(rng.uniform() * levels) + lean * a[i];
    }
    const double expected = kendall_tau_by_pairs(a, b);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(kendall_tau(a, b))) << trial;
    } else {
      EXPECT_NEAR(kendall_tau(a, b), expected, 1e-12) << trial;
    }
  }
}

}  // namespace
