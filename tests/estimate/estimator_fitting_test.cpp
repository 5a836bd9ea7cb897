// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/estimate/estimator_fitting.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/detail/nnls.hpp"

namespace {

using rtlm::step_feature;
using rtlm::step_phase;
using rtlm::tokens;

const rtlm::step_featurizer& featurizer() {
  static const rtlm::step_featurizer f{rtlm::model_shape(rtlm::models::llama_3_8b()),
                                       rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())};
  return f;
}

double dot(const rtlm::step_feature_vector& c, const rtlm::step_feature_vector& f) {
  double s = 0;
  for (std::size_t i = 0; i < c.size(); ++i) s += c[i] * f[i];
  return s;
}

rtlm::step_feature_vector coefficients(
    std::initializer_list<std::pair<step_feature, double>> terms) {
  rtlm::step_feature_vector c{};
  for (const auto& [f, v] : terms) c[static_cast<std::size_t>(f)] = v;
  return c;
}

// A profile whose times follow planted coefficients exactly, with `repeats` identical
// measurements per point.
rtlm::profile planted_profile(const rtlm::step_feature_vector& prefill,
                              const rtlm::step_feature_vector& single,
                              const rtlm::step_feature_vector& batched) {
  rtlm::profile p;
  p.source = "planted";
  for (const tokens::rep n : {1, 16, 64, 128, 300, 512, 1024, 2048, 4096, 8192, 16384, 32768}) {
    const double t = dot(prefill, featurizer().prefill(tokens(n), tokens(0)));
    p.points.push_back({.phase = step_phase::prefill,
                        .new_tokens = tokens(n),
                        .kv_lengths = {tokens(0)},
                        .measurements = {rtlm::seconds(t)}});
  }
  for (const tokens::rep k : {128, 512, 1024, 4096, 8192, 16384, 32768}) {
    const std::vector<tokens> kv{tokens(k)};
    p.points.push_back({.phase = step_phase::decode,
                        .new_tokens = tokens(1),
                        .kv_lengths = kv,
                        .measurements = {rtlm::seconds(dot(single, featurizer().decode(kv)))}});
  }
  for (const int b : {2, 8, 32, 64}) {
    for (const tokens::rep k : {256, 2048, 8192}) {
      std::vector<tokens> kv(static_cast<std::size_t>(b), tokens(k));
      kv.back() = tokens(k * 2);  // some mixed batches too
      p.points.push_back({.phase = step_phase::decode,
                          .new_tokens = tokens(b),
                          .kv_lengths = kv,
                          .measurements = {rtlm::seconds(dot(batched, featurizer().decode(kv)))}});
    }
  }
  return p;
}

TEST(nnls, matches_least_squares_when_unconstrained_and_clamps_otherwise) {
  Eigen::MatrixXd a(3, 2);
  a << 1, 0, 0, 1, 1, 1;
  Eigen::VectorXd b(3);
  b << 2, 3, 5;  // exact at x = (2, 3)
  Eigen::VectorXd x = rtlm::detail::nnls(a, b);
  EXPECT_NEAR(x(0), 2, 1e-12);
  EXPECT_NEAR(x(1), 3, 1e-12);
  b << -1, 2, 1;  // unconstrained optimum x = (-1, 2): the first coefficient must clamp to 0
  x = rtlm::detail::nnls(a, b);
  EXPECT_EQ(x(0), 0.0);
  EXPECT_NEAR(x(1), 1.5, 1e-12);  // argmin over x1 >= 0 of (2 - x1)^2 + (1 - x1)^2
}

TEST(fit_roofline_estimator, recovers_planted_coefficients_exactly) {
  // For one sequence, matmul_time is affine in new_tokens, so a planted model must not use both
  // (with constant) to be identifiable.
  const auto prefill = coefficients({{step_feature::new_tokens, 3e-6},
                                     {step_feature::attention_time, 2.5},
                                     {step_feature::roofline_time, 1.4}});
  const auto single =
      coefficients({{step_feature::constant, 0.0015}, {step_feature::roofline_time, 1.3}});
  const auto batched = coefficients({{step_feature::constant, 0.001},
                                     {step_feature::sequences, 2e-5},
                                     {step_feature::roofline_time, 1.25},
                                     {step_feature::longest_kv_time, 3.0}});
  const rtlm::roofline_fit fit =
      rtlm::fit_roofline_estimator(featurizer(), planted_profile(prefill, single, batched));
  const auto expect_same = [](const rtlm::step_feature_vector& got,
                              const rtlm::step_feature_vector& want) {
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-9 * std::max(1.0, want[i]))
          << rtlm::to_string(static_cast<step_feature>(i));
    }
  };
  expect_same(fit.estimator.coefficients(rtlm::step_regime::prefill), prefill);
  // Decode features are affine in each other for a fixed batch (a decode step is always
  // memory-bound, so roofline_time is the bytes term), so decode coefficients are not
  // identifiable; what must be recovered exactly is every decode time, on and off the grid.
  for (const int b : {1, 3, 8, 50}) {
    for (const tokens::rep k : {200, 3000, 20000}) {
      std::vector<tokens> kv(static_cast<std::size_t>(b), tokens(k));
      kv.front() = tokens(k / 2);
      const auto& planted = b == 1 ? single : batched;
      const double want = dot(planted, featurizer().decode(kv));
      EXPECT_NEAR(fit.estimator.decode_time(kv).count(), want, 1e-9 * want) << b << "x" << k;
    }
  }
  EXPECT_EQ(fit.prefill.selected,
            (std::vector<step_feature>{step_feature::new_tokens, step_feature::attention_time,
                                       step_feature::roofline_time}));
  EXPECT_LT(fit.prefill.cv_mape, 1e-9);
  // A query off the fitted grid is predicted exactly too.
  EXPECT_NEAR(fit.estimator.prefill_time(tokens(777), tokens(0)).count(),
              dot(prefill, featurizer().prefill(tokens(777), tokens(0))), 1e-12);
}

TEST(fit_roofline_estimator, recovers_a_planted_chunk_correction) {
  const auto prefill = coefficients({{step_feature::new_tokens, 3e-6},
                                     {step_feature::attention_time, 2.5},
                                     {step_feature::roofline_time, 1.4}});
  const auto correction = coefficients({{step_feature::kv_read_time, 1.7}});
  const auto single =
      coefficients({{step_feature::constant, 0.0015}, {step_feature::roofline_time, 1.3}});
  rtlm::profile p = planted_profile(prefill, single, single);
  const auto chunk_time = [&](tokens n, tokens k) {
    const rtlm::step_feature_vector f = featurizer().prefill(n, k);
    return dot(prefill, f) + dot(correction, f);
  };
  for (const tokens::rep k : {1024, 4096, 16384}) {
    for (const tokens::rep n : {128, 512, 2048}) {
      p.points.push_back({.phase = step_phase::prefill,
                          .new_tokens = tokens(n),
                          .kv_lengths = {tokens(k)},
                          .measurements = {rtlm::seconds(chunk_time(tokens(n), tokens(k)))}});
    }
  }
  const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(featurizer(), p);
  EXPECT_EQ(fit.chunked_prefill.selected, (std::vector<step_feature>{step_feature::kv_read_time}));
  const double want = chunk_time(tokens(1000), tokens(3000));
  EXPECT_NEAR(fit.estimator.prefill_time(tokens(1000), tokens(3000)).count(), want, 1e-9 * want);
  // Plain prefills are untouched by the correction.
  EXPECT_NEAR(fit.estimator.prefill_time(tokens(1000), tokens(0)).count(),
              dot(prefill, featurizer().prefill(tokens(1000), tokens(0))), 1e-12);
}

TEST(fit_timebill_estimator, recovers_planted_coefficients_exactly) {
  const rtlm::timebill_coefficients planted{
      .a = 1e-9, .b = 3e-5, .c = 0.007, .p = 4e-8, .q = 0.0068};
  const rtlm::timebill_estimator truth(planted);
  rtlm::profile p;
  for (const tokens::rep n : {1, 100, 1000, 4000, 16000, 32000}) {
    p.points.push_back({.phase = step_phase::prefill,
                        .new_tokens = tokens(n),
                        .kv_lengths = {tokens(0)},
                        .measurements = {truth.prefill_time(tokens(n), tokens(0))}});
  }
  for (const tokens::rep k : {100, 1000, 10000, 30000}) {
    const std::vector<tokens> kv{tokens(k)};
    p.points.push_back({.phase = step_phase::decode,
                        .new_tokens = tokens(1),
                        .kv_lengths = kv,
                        .measurements = {truth.decode_time(kv)}});
  }
  const rtlm::timebill_coefficients got = rtlm::fit_timebill_estimator(p).coefficients();
  EXPECT_NEAR(got.a, planted.a, 1e-15);
  EXPECT_NEAR(got.b, planted.b, 1e-12);
  EXPECT_NEAR(got.c, planted.c, 1e-10);
  EXPECT_NEAR(got.p, planted.p, 1e-14);
  EXPECT_NEAR(got.q, planted.q, 1e-10);
}

TEST(timebill_estimator, an_uncalibrated_bound_on_a_zero_estimate_is_infinite_not_nan) {
  // A least-squares parabola can dip below 0 between its points; the estimate is clamped to 0,
  // and 0 x the uncalibrated factor (infinity) was NaN (fuzz/regressions/estimator_fit).
  const rtlm::timebill_estimator e(
      rtlm::timebill_coefficients{.a = 0, .b = 0, .c = 0, .p = 0, .q = 0});
  EXPECT_EQ(e.prefill_time(tokens(4096), tokens(0)).count(), 0.0);
  EXPECT_TRUE(std::isinf(e.prefill_upper_bound(tokens(4096), tokens(0), 0.9).count()));
  const std::vector<tokens> kv{tokens(512)};
  EXPECT_TRUE(std::isinf(e.decode_upper_bound(kv, 0.9).count()));
}

TEST(timebill_estimator, chunks_cost_the_prefill_difference) {
  const rtlm::timebill_estimator e({.a = 1e-9, .b = 3e-5, .c = 0.007, .p = 4e-8, .q = 0.0068});
  const double whole = e.prefill_time(tokens(3000), tokens(0)).count();
  const double head = e.prefill_time(tokens(1000), tokens(0)).count();
  EXPECT_NEAR(e.prefill_time(tokens(2000), tokens(1000)).count(), whole - head + 0.007, 1e-15);
  const std::vector<tokens> kv{tokens(100), tokens(300)};
  EXPECT_DOUBLE_EQ(e.decode_time(kv).count(), 0.0068 + 4e-8 * 400);
}

TEST(relative_error_bound, conformal_rank_and_limits) {
  // Residuals 0.01 .. 0.10: at level 0.8, rank ceil(11 * 0.8) = 9 -> 0.09.
  std::vector<double> r;
  for (int i = 10; i >= 1; --i) r.push_back(i / 100.0);
  r.push_back(std::nan(""));  // dropped
  const rtlm::relative_error_bound b(r);
  EXPECT_DOUBLE_EQ(b.factor(0.8), 1.09);
  EXPECT_DOUBLE_EQ(b.factor(0.5), 1.06);    // rank ceil(5.5) = 6
  EXPECT_TRUE(std::isinf(b.factor(0.95)));  // needs rank 11 of 10
  EXPECT_TRUE(std::isinf(b.factor(1.0)));
  EXPECT_TRUE(std::isinf(rtlm::relative_error_bound().factor(0.5)));
}

TEST(relative_error_bound, reaches_nominal_coverage_on_held_out_data) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> noise(0.0, 0.05);
  std::vector<double> calibration;
  for (int i = 0; i < 2000; ++i) calibration.push_back(noise(rng) - 1.0);
  const rtlm::relative_error_bound b(calibration);
  for (const double level : {0.9, 0.99}) {
    int covered = 0;
    constexpr int trials = 20000;
    for (int i = 0; i < trials; ++i) covered += (noise(rng) <= b.factor(level)) ? 1 : 0;
    const double coverage = static_cast<double>(covered) / trials;
    EXPECT_NEAR(coverage, level, level == 0.9 ? 0.02 : 0.006) << level;
  }
}

TEST(split_every_nth, holds_out_every_fifth_size_per_phase) {
  rtlm::profile p;
  for (tokens::rep n = 1; n <= 10; ++n) {
    p.points.push_back(
        {.phase = step_phase::prefill, .new_tokens = tokens(11 - n), .kv_lengths = {tokens(0)}});
  }
  for (tokens::rep k = 1; k <= 5; ++k) {
    p.points.push_back(
        {.phase = step_phase::decode, .new_tokens = tokens(1), .kv_lengths = {tokens(k * 100)}});
  }
  const rtlm::profile_split s = rtlm::split_every_nth(p);
  ASSERT_EQ(s.held_out.points.size(), 3U);
  EXPECT_EQ(s.held_out.points[0].new_tokens, tokens(5));   // 5th smallest prefill
  EXPECT_EQ(s.held_out.points[1].new_tokens, tokens(10));  // 10th
  EXPECT_EQ(s.held_out.points[2].kv_lengths.front(), tokens(500));
  EXPECT_EQ(s.fit.points.size(), 12U);
}

TEST(fitting, too_little_data_is_an_error_naming_the_profile) {
  rtlm::profile p;
  p.source = "tiny.csv";
  p.points.push_back({.phase = step_phase::prefill,
                      .new_tokens = tokens(8),
                      .kv_lengths = {tokens(0)},
                      .measurements = {rtlm::seconds(0.01)}});
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_roofline_estimator(featurizer(), p); }),
            "profile 'tiny.csv' prefill points");
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_timebill_estimator(p); }),
            "profile 'tiny.csv' plain prefill lengths");
  rtlm::estimator_fit_options bad;
  bad.folds = 1;
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_timebill_estimator(p, bad); }),
            "estimator_fit_options.folds");
}

TEST(fitting, points_outside_the_profile_limits_are_refused_naming_the_point) {
  const rtlm::step_feature_vector pre = coefficients({{step_feature::constant, 1e-3}});
  const rtlm::step_feature_vector dec = coefficients({{step_feature::constant, 5e-3}});
  struct bad_case {
    rtlm::profile_point point;
    std::string field;
  };
  const auto prefill = [](tokens::rep n, tokens::rep k, double t) {
    return rtlm::profile_point{.phase = step_phase::prefill,
                               .new_tokens = tokens(n),
                               .kv_lengths = {tokens(k)},
                               .measurements = {rtlm::seconds(t)}};
  };
  const bad_case cases[] = {
      {prefill(tokens::rep{1} << 62, 0, 0.5), "new_tokens"},
      {prefill((tokens::rep{1} << 24) + 1, 0, 0.5), "new_tokens"},
      {prefill(0, 0, 0.5), "new_tokens"},
      {prefill(1024, -1, 0.5), "kv_lengths"},
      {prefill(1024, tokens::rep{1} << 24, 0.5), "kv_lengths"},
      {prefill(1024, 0, std::nan("")), "measurements"},
      {prefill(1024, 0, -1.0), "measurements"},
      {prefill(1024, 0, 2e6), "measurements"},
      {rtlm::profile_point{.phase = step_phase::prefill,
                           .new_tokens = tokens(8),
                           .kv_lengths = {},
                           .measurements = {rtlm::seconds(0.01)}},
       "batch"},
      {rtlm::profile_point{.phase = step_phase::decode,
                           .new_tokens = tokens(3),
                           .kv_lengths = {tokens(1), tokens(2)},
                           .measurements = {rtlm::seconds(0.01)}},
       "new_tokens"},
  };
  for (const bad_case& c : cases) {
    rtlm::profile p = planted_profile(pre, dec, dec);
    p.source = "api";
    const std::string expected =
        "profile 'api' point " + std::to_string(p.points.size()) + " " + c.field;
    p.points.push_back(c.point);
    EXPECT_EQ(
        rtlm::test::blamed_field([&] { (void)rtlm::fit_roofline_estimator(featurizer(), p); }),
        expected);
    EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_timebill_estimator(p); }), expected);
  }
}

TEST(fitting, identical_points_are_refused_as_singular) {
  rtlm::profile p;
  p.source = "flat.csv";
  for (int i = 0; i < 5; ++i) {
    p.points.push_back({.phase = step_phase::prefill,
                        .new_tokens = tokens(64),
                        .kv_lengths = {tokens(0)},
                        .measurements = {rtlm::seconds(0.01)}});
  }
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_timebill_estimator(p); }),
            "profile 'flat.csv' plain prefill lengths");
}

}  // namespace

namespace {

TEST(fitting, repeated_shapes_are_refused_as_singular_by_rtlm_fit) {
  rtlm::profile p;
  p.source = "same.csv";
  for (int i = 0; i < 5; ++i) {
    p.points.push_back({.phase = rtlm::step_phase::prefill,
                        .new_tokens = rtlm::tokens(64),
                        .kv_lengths = {rtlm::tokens(0)},
                        .measurements = {rtlm::seconds(0.01)}});
  }
  EXPECT_EQ(rtlm::test::blamed_field([&] { (void)rtlm::fit_roofline_estimator(featurizer(), p); }),
            "profile 'same.csv' prefill points");
}

}  // namespace
