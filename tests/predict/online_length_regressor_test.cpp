// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/online_length_regressor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "predict/test_data.hpp"
#include "rtlm/core/error.hpp"

namespace {

rtlm::online_regressor_config log_config() {
  return {.features = {.hash_bits = 8}, .target_power = 0.0};
}

// Mean absolute error of the predicted log-length against the planted one.
double planted_error(const rtlm::online_length_regressor& r, const rtlm::test::planted_data& d) {
  double error = 0;
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    error += std::abs(r.predict_score(d.features[i]) - d.log_means[i]);
  }
  return error / static_cast<double>(d.features.size());
}

TEST(online_length_regressor, fit_recovers_a_planted_relationship) {
  const auto train = rtlm::test::make_planted(600, 1, 0.3);
  const auto test = rtlm::test::make_planted(400, 2, 0.3);
  rtlm::online_length_regressor r(log_config());
  r.fit(train.features, train.lengths);
  EXPECT_LT(planted_error(r, test), 0.08);
  EXPECT_GT(r.fitted_l2(), 0.0);
  EXPECT_EQ(r.examples_seen(), 600U);
  // Leave-one-out residuals give the noise's spread: the 5%..95% band of N(0, 0.3).
  const auto q = r.residual_quantiles();
  EXPECT_NEAR(q.back() - q.front(), 2 * 0.3 * 1.96, 0.25);
  // The predicted distribution centres on the planted length.
  const rtlm::length_distribution d = r.predict(test.features[0]);
  EXPECT_NEAR(std::log(d.quantile_value(0.5)), test.log_means[0], 0.15);
  EXPECT_GT(d.uncertainty(), 0.15);
  EXPECT_LT(d.uncertainty(), 0.5);
}

TEST(online_length_regressor, the_iterative_fit_agrees_with_the_exact_one) {
  const auto train = rtlm::test::make_planted(600, 3, 0.3);
  const auto test = rtlm::test::make_planted(200, 4, 0.3);
  rtlm::online_regressor_config c = log_config();
  c.exact_fit_limit = 2;  // force conjugate gradients
  rtlm::online_length_regressor r(c);
  r.fit(train.features, train.lengths);
  EXPECT_LT(planted_error(r, test), 0.1);
}

TEST(online_length_regressor, repeated_prompts_are_left_out_together_in_the_penalty_search) {
  // Every prompt logged twice with its one length: leaving out one row would leave its twin in
  // training, reward the smallest penalty and report residuals near zero. Leaving out both
  // copies gives the penalty and residual spread of the log without repeats.
  const auto once = rtlm::test::make_planted(300, 15, 0.5);
  auto twice = once;
  twice.features.insert(twice.features.end(), once.features.begin(), once.features.end());
  twice.lengths.insert(twice.lengths.end(), once.lengths.begin(), once.lengths.end());
  rtlm::online_length_regressor a({.features = {.hash_bits = 8}});
  rtlm::online_length_regressor b({.features = {.hash_bits = 8}});
  a.fit(once.features, once.lengths);
  b.fit(twice.features, twice.lengths);
  const auto spread = [](const rtlm::online_length_regressor& r) {
    const auto q = r.residual_quantiles();
    return q[q.size() * 3 / 4] - q[q.size() / 4];
  };
  EXPECT_GT(b.fitted_l2(), 0.3 * a.fitted_l2());
  EXPECT_NEAR(spread(b), spread(a), 0.25 * spread(a));
}

TEST(online_length_regressor, learning_online_from_scratch_converges) {
  const auto stream = rtlm::test::make_planted(4000, 5, 0.3);
  const auto test = rtlm::test::make_planted(400, 6, 0.3);
  rtlm::online_length_regressor r(log_config());
  const double before = planted_error(r, test);
  for (std::size_t i = 0; i < stream.features.size(); ++i) {
    r.learn(stream.features[i], stream.lengths[i]);
  }
  EXPECT_GT(before, 3.0);
  EXPECT_LT(planted_error(r, test), 0.15);
  EXPECT_EQ(r.examples_seen(), 4000U);
}

TEST(online_length_regressor, learn_refuses_impossible_lengths_and_clips_outliers) {
  // The default square-root scale, where one wild length once moved every prediction to the
  // max_tokens clamp (and AdaGrad's accumulators froze it there).
  const auto train = rtlm::test::make_planted(600, 41, 0.3);
  const auto stream = rtlm::test::make_planted(200, 42, 0.3);
  rtlm::online_length_regressor r({.features = {.hash_bits = 8}});
  r.fit(train.features, train.lengths);
  const rtlm::prompt_features& probe = train.features[0];
  const double before = r.predict(probe).mean();

  EXPECT_EQ(r.learn(probe, rtlm::tokens(std::int64_t{1} << 62)), rtlm::learn_status::refused);
  EXPECT_EQ(r.refused_observations(), 1U);
  EXPECT_EQ(r.examples_seen(), 600U);
  EXPECT_EQ(r.predict(probe).mean(), before);  // nothing moved

  // The longest legal length: taken in, clipped, and the prediction moves a bounded amount.
  EXPECT_EQ(r.learn(probe, rtlm::max_learned_length), rtlm::learn_status::clipped);
  EXPECT_EQ(r.clipped_observations(), 1U);
  const double after = r.predict(probe).mean();
  EXPECT_GT(after, before);
  EXPECT_LT(after, 1.5 * before);
  for (std::size_t i = 0; i < stream.features.size(); ++i) {
    r.learn(stream.features[i], stream.lengths[i]);
  }
  EXPECT_NEAR(r.predict(probe).mean(), before, 0.15 * before);
  EXPECT_LT(r.clipped_observations(), 5U);  // clean data is (almost) never clipped
}

TEST(online_length_regressor, clean_data_is_seldom_clipped) {
  const auto stream = rtlm::test::make_planted(4000, 43, 0.5);
  // Log-normal lengths: on the log scale the residuals are normal and none is clipped; on the
  // default square-root scale their spread grows with the length, so the longest few are.
  rtlm::online_length_regressor on_log(log_config());
  rtlm::online_length_regressor on_root({.features = {.hash_bits = 8}});
  for (std::size_t i = 0; i < stream.features.size(); ++i) {
    on_log.learn(stream.features[i], stream.lengths[i]);
    on_root.learn(stream.features[i], stream.lengths[i]);
  }
  EXPECT_EQ(on_log.clipped_observations(), 0U);
  EXPECT_LT(on_root.clipped_observations(), 80U);  // under 2%
}

TEST(online_length_regressor, fit_rejects_a_length_past_the_learned_range) {
  const auto train = rtlm::test::make_planted(20, 44, 0.3);
  std::vector<rtlm::tokens> lengths = train.lengths;
  lengths[3] = rtlm::max_learned_length + rtlm::tokens(1);
  rtlm::online_length_regressor r(log_config());
  try {
    r.fit(train.features, lengths);
    ADD_FAILURE() << "fit took a length of 2^24 + 1";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "length_predictor.fit lengths[3]");
    EXPECT_EQ(e.value(), "16777217");
  }
}

TEST(online_length_regressor, power_transform_round_trips) {
  const rtlm::online_length_regressor r({.features = {.hash_bits = 8}, .target_power = 0.5});
  EXPECT_DOUBLE_EQ(r.transform(1.0), 0.0);
  EXPECT_NEAR(r.inverse(r.transform(400.0)), 400.0, 1e-9);
  EXPECT_DOUBLE_EQ(r.inverse(-1e9), 0.0);
  EXPECT_DOUBLE_EQ(r.inverse(1e300), r.config().max_tokens);
}

TEST(online_length_regressor, untrained_prediction_is_the_prior_and_learn_ignores_garbage) {
  rtlm::online_length_regressor r(log_config());
  const auto d = rtlm::test::make_planted(1, 7, 0.1);
  const rtlm::length_distribution before = r.predict(d.features[0]);
  EXPECT_NEAR(before.quantile_value(0.5), 1.0, 0.2);  // exp(0) with a N(0, 1) spread
  r.learn(d.features[0], rtlm::tokens(-5));           // read as one token
  EXPECT_EQ(r.examples_seen(), 1U);
}

TEST(online_length_regressor, fit_and_configuration_errors_name_the_field) {
  const auto field = [](rtlm::online_regressor_config c) -> std::string {
    try {
      const rtlm::online_length_regressor r(c);
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return "";
  };
  EXPECT_EQ(field({.target_power = 2.0}), "online_regressor_config.target_power");
  EXPECT_EQ(field({.l2 = -1.0}), "online_regressor_config.l2");
  EXPECT_EQ(field({.learning_rate = 0.0}), "online_regressor_config.learning_rate");
  EXPECT_EQ(field({.residual_quantiles = 2}), "online_regressor_config.residual_quantiles");
  EXPECT_EQ(field({.max_tokens = std::nan("")}), "online_regressor_config.max_tokens");
  EXPECT_EQ(field({.features = {.hash_bits = 30}}), "prompt_feature_config.hash_bits");

  rtlm::online_length_regressor r(log_config());
  const auto d = rtlm::test::make_planted(3, 8, 0.1);
  const std::vector<rtlm::tokens> two(2, rtlm::tokens(5));
  EXPECT_THROW(r.fit(d.features, two), rtlm::error);
  EXPECT_THROW(r.fit({}, {}), rtlm::error);
  const std::vector<rtlm::tokens> negative{rtlm::tokens(1), rtlm::tokens(-1), rtlm::tokens(1)};
  EXPECT_THROW(r.fit(d.features, negative), rtlm::error);
}

}  // namespace
