// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/conformal_length_bound.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "predict/test_data.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/predict/cross_calibration.hpp"
#include "rtlm/predict/online_length_regressor.hpp"

namespace {

double coverage(const rtlm::online_length_regressor& r, const rtlm::conformal_length_bound& b,
                const rtlm::test::planted_data& d, double q) {
  double covered = 0;
  rtlm::length_distribution dist;
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    r.predict(d.features[i], dist);
    const rtlm::length_bound bound = b.bound(dist, q);
    EXPECT_TRUE(bound.calibrated);
    covered += d.lengths[i] <= bound.length ? 1 : 0;
  }
  return covered / static_cast<double>(d.features.size());
}

TEST(conformal_length_bound, split_calibration_reaches_nominal_coverage_on_held_out_data) {
  // Noise wider than the predictor's own residual model assumes: calibration must fix it.
  const auto train = rtlm::test::make_planted(300, 21, 0.6);
  const auto calibration = rtlm::test::make_planted(2000, 22, 0.6);
  const auto held_out = rtlm::test::make_planted(6000, 23, 0.6);
  rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  r.fit(train.features, train.lengths);
  rtlm::conformal_length_bound b({.window = 2000});
  rtlm::length_distribution dist;
  for (std::size_t i = 0; i < calibration.features.size(); ++i) {
    r.predict(calibration.features[i], dist);
    b.observe(dist, calibration.lengths[i]);
  }
  EXPECT_EQ(b.size(), 2000U);
  EXPECT_NEAR(coverage(r, b, held_out, 0.9), 0.9, 0.02);
  EXPECT_NEAR(coverage(r, b, held_out, 0.99), 0.99, 0.01);
  EXPECT_NEAR(coverage(r, b, held_out, 0.5), 0.5, 0.03);
}

TEST(conformal_length_bound, cross_fitting_calibrates_without_a_separate_set) {
  // Kept small: cross-fitting refits the ridge (with its leave-one-out search) once per fold.
  const auto train = rtlm::test::make_planted(600, 31, 0.5);
  const auto held_out = rtlm::test::make_planted(4000, 32, 0.5);
  rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  rtlm::conformal_length_bound b;
  rtlm::fit_and_calibrate(r, std::span<const rtlm::prompt_features>(train.features),
                          std::span<const rtlm::tokens>(train.lengths), b, 5, 0);
  EXPECT_EQ(b.size(), 600U);
  EXPECT_NEAR(coverage(r, b, held_out, 0.9), 0.9, 0.03);
  EXPECT_THROW(rtlm::fit_and_calibrate(r, std::span<const rtlm::prompt_features>(train.features),
                                       std::span<const rtlm::tokens>(train.lengths), b, 1, 0),
               rtlm::error);
}

TEST(conformal_length_bound, refuses_impossible_lengths_and_one_outlier_moves_one_rank) {
  rtlm::conformal_length_bound b({.window = 100, .scale_by_uncertainty = false});
  rtlm::length_distribution d;
  const std::vector<double> edges{99, 101};
  const std::vector<double> p{1};
  d.assign(edges, p);
  for (int k = 0; k < 100; ++k) EXPECT_TRUE(b.observe(d, rtlm::tokens(100 + k)));
  const rtlm::tokens before = b.bound(d, 0.9).length;
  EXPECT_FALSE(b.observe(d, rtlm::tokens(std::int64_t{1} << 62)));
  EXPECT_FALSE(b.observe_score(std::nan("")));
  EXPECT_FALSE(b.observe(rtlm::length_distribution{}, rtlm::tokens(100)));
  EXPECT_EQ(b.size(), 100U);
  EXPECT_EQ(b.bound(d, 0.9).length, before);
  // The longest legal length replaces the oldest score: the 90% bound moves up one rank.
  EXPECT_TRUE(b.observe(d, rtlm::max_learned_length));
  EXPECT_LE(b.bound(d, 0.9).length - before, rtlm::tokens(2));
}

TEST(conformal_length_bound, the_window_slides_and_small_samples_fall_back) {
  rtlm::conformal_length_bound b({.window = 10, .scale_by_uncertainty = false});
  rtlm::length_distribution d;
  const std::vector<double> edges{99, 101};
  const std::vector<double> p{1};
  d.assign(edges, p);
  // With 5 scores, ceil(6 * 0.9) = 6 > 5: not calibrated yet, the predictor's own quantile.
  for (int k = 0; k < 5; ++k) b.observe(d, rtlm::tokens(200));
  EXPECT_FALSE(b.bound(d, 0.9).calibrated);
  EXPECT_EQ(b.bound(d, 0.9).length.count(), 101);
  for (int k = 0; k < 5; ++k) b.observe(d, rtlm::tokens(200));
  // Ten scores of log 2: the bound is twice the median.
  EXPECT_TRUE(b.bound(d, 0.5).calibrated);
  EXPECT_NEAR(static_cast<double>(b.bound(d, 0.5).length.count()), 200.0, 1.0);
  // Ten newer outcomes at the median push the old ones out.
  for (int k = 0; k < 10; ++k) b.observe(d, rtlm::tokens(100));
  EXPECT_EQ(b.size(), 10U);
  EXPECT_EQ(b.bound(d, 0.5).length.count(), 100);
  b.observe_score(std::nan(""));
  EXPECT_EQ(b.size(), 10U);
  b.clear();
  EXPECT_EQ(b.size(), 0U);
}

TEST(conformal_length_bound, configuration_errors_name_the_field) {
  EXPECT_THROW(rtlm::conformal_length_bound({.window = 3}), rtlm::error);
  try {
    rtlm::conformal_length_bound b({.min_uncertainty = 0});
    FAIL();
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "conformal_bound_config.min_uncertainty");
  }
}

}  // namespace
