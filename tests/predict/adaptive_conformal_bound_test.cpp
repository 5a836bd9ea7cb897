// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/adaptive_conformal_bound.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

// A point prediction at 100 tokens; scores are then log(length / 100).
rtlm::length_distribution at_100() {
  rtlm::length_distribution d;
  const std::vector<double> edges{99, 101};
  const std::vector<double> p{1};
  d.assign(edges, p);
  return d;
}

constexpr rtlm::conformal_bound_config unscaled{.window = 500, .scale_by_uncertainty = false};

// Lengths 100 * exp(shift + N(0, 0.5^2)).
std::vector<rtlm::tokens> lengths(std::size_t n, double shift, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 0.5);
  std::vector<rtlm::tokens> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.emplace_back(
        static_cast<rtlm::tokens::rep>(std::ceil(100.0 * std::exp(shift + gauss(rng)))));
  }
  return out;
}

TEST(adaptive_conformal_bound, holds_its_coverage_on_exchangeable_outcomes) {
  const rtlm::length_distribution d = at_100();
  rtlm::adaptive_conformal_bound b({.coverage = 0.9, .bound = unscaled});
  double covered = 0;
  std::size_t counted = 0;
  for (rtlm::tokens l : lengths(4000, 0.0, 1)) {
    const rtlm::length_bound issued = b.bound(d);
    if (issued.calibrated) {
      covered += l <= issued.length ? 1 : 0;
      ++counted;
    }
    EXPECT_TRUE(b.observe(d, l));
  }
  EXPECT_NEAR(covered / static_cast<double>(counted), 0.9, 0.015);
  EXPECT_EQ(b.tracked(), counted);
  EXPECT_NEAR(b.level(), 0.9, 0.05);
}

TEST(adaptive_conformal_bound, recovers_its_coverage_when_the_scores_shift_up) {
  const rtlm::length_distribution d = at_100();
  rtlm::conformal_length_bound calibrated(unscaled);
  for (rtlm::tokens l : lengths(500, 0.0, 2)) calibrated.observe(d, l);
  rtlm::adaptive_conformal_bound adaptive({.coverage = 0.9, .rate = 0.1}, calibrated);
  rtlm::conformal_length_bound fixed = calibrated;  // the same window, no offset
  // The served mix changes: every answer now runs e^0.8 = 2.2 times longer than calibrated.
  const std::vector<rtlm::tokens> shifted = lengths(600, 0.8, 3);
  double adaptive_covered = 0;
  double fixed_covered = 0;
  double level_early = 0;
  for (std::size_t i = 0; i < shifted.size(); ++i) {
    if (i == 100) level_early = adaptive.level();
    adaptive_covered += shifted[i] <= adaptive.bound(d).length ? 1 : 0;
    fixed_covered += shifted[i] <= fixed.bound(d, 0.9).length ? 1 : 0;
    adaptive.observe(d, shifted[i]);
    fixed.observe(d, shifted[i]);
  }
  // The sliding window alone follows the shift only as the old scores leave it (500 outcomes);
  // the tracked offset restores the coverage within a few dozen.
  const auto n = static_cast<double>(shifted.size());
  EXPECT_LT(fixed_covered / n, 0.8);
  EXPECT_GT(adaptive_covered / n, 0.86);
  EXPECT_LT(adaptive_covered / n, 0.94);
  // While the window still held mostly old scores it had to ask for more than 90% of them.
  EXPECT_GT(level_early, 0.95);
  // And back down: once the window holds the new scores the offset returns towards 0.
  for (rtlm::tokens l : lengths(3000, 0.8, 4)) adaptive.observe(d, l);
  EXPECT_NEAR(adaptive.level(), 0.9, 0.05);
}

TEST(adaptive_conformal_bound, is_uncalibrated_until_the_window_can_tell) {
  const rtlm::length_distribution d = at_100();
  rtlm::adaptive_conformal_bound b({.bound = unscaled});
  EXPECT_FALSE(b.bound(d).calibrated);
  EXPECT_EQ(b.bound(d).length.count(), 101);  // the predictor's own 90% quantile
  EXPECT_DOUBLE_EQ(b.level(), 0.9);
  EXPECT_TRUE(std::isnan(b.threshold()));
  for (int k = 0; k < 8; ++k) b.observe(d, rtlm::tokens(200));
  EXPECT_FALSE(b.bound(d).calibrated);
  EXPECT_EQ(b.tracked(), 0U);  // no step is taken against an uncalibrated bound
  b.observe(d, rtlm::tokens(200));
  EXPECT_TRUE(b.bound(d).calibrated);
  EXPECT_EQ(b.bound(d).length.count(), 200);
}

TEST(adaptive_conformal_bound, refuses_what_it_cannot_score) {
  const rtlm::length_distribution d = at_100();
  rtlm::adaptive_conformal_bound b({.bound = unscaled});
  for (int k = 0; k < 20; ++k) b.observe(d, rtlm::tokens(100 + k));
  const double offset = b.offset();
  const rtlm::tokens before = b.bound(d).length;
  EXPECT_FALSE(b.observe(rtlm::length_distribution{}, rtlm::tokens(100)));
  EXPECT_FALSE(b.observe(d, rtlm::tokens(std::int64_t{1} << 40)));
  EXPECT_EQ(b.base().size(), 20U);
  EXPECT_EQ(b.offset(), offset);
  EXPECT_EQ(b.bound(d).length, before);
  EXPECT_FALSE(b.bound(rtlm::length_distribution{}).calibrated);
}

TEST(adaptive_conformal_bound, configuration_errors_name_the_field_and_value) {
  const auto field = [](rtlm::adaptive_bound_config c) -> std::string {
    try {
      rtlm::adaptive_conformal_bound b(c);
    } catch (const rtlm::error& e) {
      return e.field() + " = " + e.value();
    }
    return "";
  };
  EXPECT_EQ(field({.coverage = 1.0}), "adaptive_bound_config.coverage = 1");
  EXPECT_EQ(field({.coverage = std::nan("")}), "adaptive_bound_config.coverage = nan");
  EXPECT_EQ(field({.rate = 0.0}), "adaptive_bound_config.rate = 0");
  EXPECT_EQ(field({.rate = std::numeric_limits<double>::infinity()}),
            "adaptive_bound_config.rate = inf");
  EXPECT_EQ(field({.bound = {.window = 3}}), "conformal_bound_config.window = 3");
  EXPECT_EQ(field({}), "");
}

TEST(adaptive_conformal_bound, round_trips_through_bytes) {
  const rtlm::length_distribution d = at_100();
  rtlm::adaptive_conformal_bound b({.coverage = 0.8, .rate = 0.2, .bound = unscaled});
  for (rtlm::tokens l : lengths(300, 0.3, 5)) b.observe(d, l);
  const std::string bytes = b.serialize();
  const rtlm::adaptive_conformal_bound c = rtlm::adaptive_conformal_bound::deserialize(bytes, "x");
  EXPECT_EQ(c.offset(), b.offset());
  EXPECT_EQ(c.tracked(), b.tracked());
  EXPECT_EQ(c.misses(), b.misses());
  EXPECT_EQ(c.config().coverage, 0.8);
  EXPECT_EQ(c.bound(d).length, b.bound(d).length);
  EXPECT_THROW((void)rtlm::adaptive_conformal_bound::deserialize(bytes.substr(0, 20), "x"),
               rtlm::error);
  std::string bad = bytes;
  bad[0] = '\0', bad[6] = '\xf0', bad[7] = '\x3f';  // coverage 1.0 (little-endian double)
  EXPECT_THROW((void)rtlm::adaptive_conformal_bound::deserialize(bad, "x"), rtlm::error);
}

}  // namespace
