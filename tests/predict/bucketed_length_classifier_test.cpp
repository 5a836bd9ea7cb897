// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/bucketed_length_classifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "predict/test_data.hpp"
#include "rtlm/core/error.hpp"

namespace {

using rtlm::tokens;

TEST(bucketed_length_classifier, buckets_follow_timebill) {
  const rtlm::bucketed_length_classifier c({.features = {.hash_bits = 8}});
  EXPECT_EQ(c.config().bucket_count, 512U);
  EXPECT_EQ(c.config().bucket_width, tokens(16));
  EXPECT_EQ(c.config().basis_size, 24U);
  EXPECT_EQ(c.bucket_of(tokens(1)), 0U);
  EXPECT_EQ(c.bucket_of(tokens(16)), 0U);
  EXPECT_EQ(c.bucket_of(tokens(17)), 1U);
  EXPECT_EQ(c.bucket_of(tokens(0)), 0U);
  EXPECT_EQ(c.bucket_of(tokens(100000)), 511U);
  // Untrained: uniform over 0..8192 tokens.
  const auto d = rtlm::test::make_planted(1, 1, 0.1);
  EXPECT_NEAR(c.predict(d.features[0]).mean(), 4096.0, 1e-6);
}

double mean_abs_log_error(const rtlm::bucketed_length_classifier& c,
                          const rtlm::test::planted_data& d) {
  double error = 0;
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    error += std::abs(std::log(c.predict(d.features[i]).quantile_value(0.5)) - d.log_means[i]);
  }
  return error / static_cast<double>(d.features.size());
}

TEST(bucketed_length_classifier, fit_recovers_a_planted_relationship) {
  const auto train = rtlm::test::make_planted(800, 11, 0.2);
  const auto test = rtlm::test::make_planted(300, 12, 0.2);
  // Planted lengths span e^2 .. e^7.3 tokens: 10-token buckets up to 2560.
  for (std::size_t basis : {std::size_t{0}, std::size_t{256}}) {
    rtlm::bucketed_length_classifier c({.features = {.hash_bits = 8},
                                        .bucket_width = tokens(10),
                                        .bucket_count = 256,
                                        .basis_size = basis});
    c.fit(train.features, train.lengths);
    EXPECT_LT(mean_abs_log_error(c, test), 0.35) << "basis " << basis;
  }
}

TEST(bucketed_length_classifier, online_learning_moves_towards_the_data) {
  rtlm::bucketed_length_classifier c(
      {.features = {.hash_bits = 8}, .bucket_width = tokens(50), .bucket_count = 10});
  EXPECT_EQ(c.config().basis_size, 10U);  // full rank for few buckets
  const auto d = rtlm::test::make_planted(1, 13, 0.1);
  const double before = c.predict(d.features[0]).probabilities()[1];
  for (int k = 0; k < 50; ++k) c.learn(d.features[0], tokens(75));
  const rtlm::length_distribution after = c.predict(d.features[0]);
  const auto p = after.probabilities();
  EXPECT_GT(p[1], before);
  EXPECT_EQ(std::max_element(p.begin(), p.end()) - p.begin(), 1);
}

TEST(bucketed_length_classifier, learn_refuses_impossible_lengths_and_clips_outliers) {
  const auto train = rtlm::test::make_planted(800, 51, 0.2);
  const auto stream = rtlm::test::make_planted(200, 52, 0.2);
  rtlm::bucketed_length_classifier c(
      {.features = {.hash_bits = 8}, .bucket_width = tokens(10), .bucket_count = 256});
  c.fit(train.features, train.lengths);
  const rtlm::prompt_features& probe = train.features[0];
  const double before = c.predict(probe).mean();

  EXPECT_EQ(c.learn(probe, tokens(std::int64_t{1} << 62)), rtlm::learn_status::refused);
  EXPECT_EQ(c.refused_observations(), 1U);
  EXPECT_EQ(c.predict(probe).mean(), before);

  // Read as the last bucket, far beyond the predicted quartiles: a shrunk step.
  EXPECT_EQ(c.learn(probe, rtlm::max_learned_length), rtlm::learn_status::clipped);
  const double after = c.predict(probe).mean();
  EXPECT_GT(after, before);
  EXPECT_LT(after, 1.5 * before);
  for (std::size_t i = 0; i < stream.features.size(); ++i) {
    c.learn(stream.features[i], stream.lengths[i]);
  }
  EXPECT_NEAR(c.predict(probe).mean(), before, 0.15 * before);
  EXPECT_LT(c.clipped_observations(), 5U);
}

TEST(bucketed_length_classifier, configuration_errors_name_the_field) {
  const auto field = [](rtlm::bucketed_classifier_config c) -> std::string {
    try {
      const rtlm::bucketed_length_classifier m(c);
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return "";
  };
  EXPECT_EQ(field({.bucket_width = tokens(0)}), "bucketed_classifier_config.bucket_width");
  EXPECT_EQ(field({.bucket_count = 1}), "bucketed_classifier_config.bucket_count");
  EXPECT_EQ(field({.bucket_count = 8, .basis_size = 9}), "bucketed_classifier_config.basis_size");
  EXPECT_EQ(field({.l2 = -1}), "bucketed_classifier_config.l2");
  EXPECT_EQ(field({.epochs = 0}), "bucketed_classifier_config.epochs");
  EXPECT_EQ(field({.learning_rate = std::nan("")}), "bucketed_classifier_config.learning_rate");
}

}  // namespace
