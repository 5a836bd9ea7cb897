// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/length_distribution.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

TEST(length_distribution, moments_quantiles_and_cdf_of_uniform_buckets) {
  rtlm::length_distribution d;
  const std::vector<double> edges{0, 10, 20, 40};
  const std::vector<double> p{1, 2, 1};  // normalized to 0.25, 0.5, 0.25
  d.assign(edges, p);
  ASSERT_EQ(d.bucket_count(), 3U);
  EXPECT_DOUBLE_EQ(d.probabilities()[1], 0.5);
  EXPECT_DOUBLE_EQ(d.mean(), 0.25 * 5 + 0.5 * 15 + 0.25 * 30);
  EXPECT_DOUBLE_EQ(d.quantile_value(0.25), 10.0);
  EXPECT_DOUBLE_EQ(d.quantile_value(0.5), 15.0);
  EXPECT_DOUBLE_EQ(d.quantile_value(1.0), 40.0);
  EXPECT_EQ(d.quantile(0.875).count(), 30);
  EXPECT_EQ(d.quantile(0.0).count(), 1);  // at least one token
  EXPECT_EQ(d.quantile(std::nan("")).count(), 15);
  EXPECT_DOUBLE_EQ(d.cdf(15.0), 0.5);
  EXPECT_DOUBLE_EQ(d.cdf(100.0), 1.0);
  EXPECT_DOUBLE_EQ(d.cdf(-1.0), 0.0);
  const double l5 = std::log(5.0), l15 = std::log(15.0), l30 = std::log(30.0);
  const double m = 0.25 * l5 + 0.5 * l15 + 0.25 * l30;
  const double v = 0.25 * l5 * l5 + 0.5 * l15 * l15 + 0.25 * l30 * l30 - m * m;
  EXPECT_NEAR(d.uncertainty(), std::sqrt(v), 1e-12);
  const rtlm::length_estimate e = d.to_estimate(rtlm::tokens(38), 0.9);
  EXPECT_EQ(e.upper_bound.count(), 38);
  EXPECT_DOUBLE_EQ(e.mean_tokens, d.mean());
}

TEST(length_distribution, a_point_mass_has_no_uncertainty) {
  rtlm::length_distribution d;
  const std::vector<double> edges{100, 100};
  const std::vector<double> p{1};
  d.assign(edges, p);
  EXPECT_DOUBLE_EQ(d.mean(), 100.0);
  EXPECT_DOUBLE_EQ(d.uncertainty(), 0.0);
  EXPECT_EQ(d.quantile(0.99).count(), 100);
}

TEST(length_distribution, empty_is_harmless) {
  const rtlm::length_distribution d;
  EXPECT_EQ(d.mean(), 0.0);
  EXPECT_EQ(d.quantile(0.5).count(), 0);
  EXPECT_EQ(d.cdf(10), 0.0);
}

TEST(length_distribution, normalize_repairs_in_place_filling) {
  rtlm::length_distribution d;
  d.resize(2);
  d.mutable_edges()[0] = 5;
  d.mutable_edges()[1] = 3;  // below the edge before it: raised to 5
  d.mutable_edges()[2] = 9;
  d.mutable_probabilities()[0] = -1;
  d.mutable_probabilities()[1] = std::numeric_limits<double>::quiet_NaN();
  d.normalize();  // nothing left: uniform
  EXPECT_DOUBLE_EQ(d.edges()[1], 5.0);
  EXPECT_DOUBLE_EQ(d.probabilities()[0], 0.5);
  EXPECT_DOUBLE_EQ(d.mean(), 0.5 * 5 + 0.5 * 7);
}

TEST(length_distribution, assign_rejects_bad_input_naming_it) {
  rtlm::length_distribution d;
  const auto field = [&d](std::vector<double> e, std::vector<double> p) -> std::string {
    try {
      d.assign(e, p);
    } catch (const rtlm::error& err) {
      return err.field();
    }
    return "";
  };
  EXPECT_EQ(field({0, 1}, {}), "length_distribution.probabilities");
  EXPECT_EQ(field({0, 1}, {1, 1}), "length_distribution.edges");
  EXPECT_EQ(field({0, -1}, {1}), "length_distribution.edges[1]");
  EXPECT_EQ(field({2, 1}, {1}), "length_distribution.edges[1]");
  EXPECT_EQ(field({0, 1}, {-0.5}), "length_distribution.probabilities[0]");
  EXPECT_EQ(field({0, 1}, {0}), "length_distribution.probabilities");
  EXPECT_EQ(field({0, std::numeric_limits<double>::infinity()}, {1}),
            "length_distribution.edges[1]");
  EXPECT_EQ(field({0, 1}, {1}), "");
}

}  // namespace
