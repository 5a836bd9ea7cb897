// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/bucketed_length_classifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

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

namespace guard {

// Words for made-up prompts, picked by a fixed generator.
std::string words(std::size_t n, std::uint64_t seed) {
  static const char* const vocabulary[] = {
      "the",     "river",   "market", "report",  "team",   "city",    "price",  "engine", "garden",
      "letter",  "council", "winter", "signal",  "board",  "coast",   "museum", "budget", "harbor",
      "meeting", "station", "record", "village", "summer", "project", "doctor", "school"};
  std::mt19937_64 rng(seed);
  std::string out;
  for (std::size_t k = 0; k < n; ++k) {
    if (k > 0) out += (k % 12 == 11) ? ". " : " ";
    out += vocabulary[rng() % std::size(vocabulary)];
  }
  return out;
}

}  // namespace guard

// A TimeBill-style classifier reads the prompt's length cues linearly: trained where long
// prompts ask for long answers, it may send a long-input, short-answer prompt (an extraction over
// 160-260 words) past anything trained on (issue 28). The guard reads cues outside the trained
// range as the nearest trained value and truncates at 4x the longest trained answer.
TEST(bucketed_length_classifier, long_input_short_answer_prompts_stay_within_the_training_support) {
  const rtlm::prompt_feature_config features{.hash_bits = 10};
  const rtlm::prompt_feature_extractor extractor(features);
  std::vector<rtlm::prompt_features> x;
  std::vector<tokens> y;
  std::mt19937_64 rng(3);
  for (std::uint64_t i = 0; i < 300; ++i) {
    // Short questions get short answers; longer requests (up to 40 words) longer ones, up to 400.
    const std::size_t n = 3 + rng() % 38;
    x.push_back(extractor.extract("Tell me about " + guard::words(n, i)));
    y.emplace_back(static_cast<tokens::rep>(10 * n + rng() % 20));
  }
  rtlm::bucketed_length_classifier c({.features = features});
  c.fit(x, y);
  const tokens longest = *std::max_element(y.begin(), y.end());
  EXPECT_EQ(c.longest_trained(), longest);
  for (std::uint64_t k = 0; k < 10; ++k) {
    const std::size_t n = 160 + 10 * k;  // 160-250 words: four to six times the longest trained
    const rtlm::prompt_features f = extractor.extract(
        "Extract the names of the places from this text: " + guard::words(n, 1000 + k));
    const rtlm::length_distribution d = c.predict(f);
    EXPECT_LE(d.quantile_value(1.0), c.support_factor() * static_cast<double>(longest.count()));
    // Read as the longest prompts trained on, not extrapolated past them.
    EXPECT_LE(d.mean(), 1.5 * static_cast<double>(longest.count())) << n << " words";
  }
}

TEST(bucketed_length_classifier, learn_extends_the_support) {
  rtlm::bucketed_length_classifier c(
      {.features = {.hash_bits = 8}, .bucket_width = tokens(10), .bucket_count = 100});
  const auto d = rtlm::test::make_planted(1, 14, 0.1);
  EXPECT_EQ(c.longest_trained(), tokens(0));
  EXPECT_NEAR(c.predict(d.features[0]).mean(), 500.0, 1e-6);  // untrained: uniform, unguarded
  c.learn(d.features[0], tokens(20));
  EXPECT_EQ(c.longest_trained(), tokens(20));
  EXPECT_LE(c.predict(d.features[0]).quantile_value(1.0), 80.0);
  c.learn(d.features[0], tokens(200));
  EXPECT_EQ(c.longest_trained(), tokens(200));
  EXPECT_LE(c.predict(d.features[0]).quantile_value(1.0), 800.0);
}
