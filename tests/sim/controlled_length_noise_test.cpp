// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/controlled_length_noise.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/split_mix64.hpp"
#include "rtlm/sim/rank_correlation.hpp"

namespace {

using rtlm::tokens;
using rtlm::sim::controlled_length_noise;

// `n` log-normal lengths, median 500 tokens, SD 1 on ln length, rounded to whole tokens.
std::vector<tokens> log_normal_lengths(std::size_t n, std::uint64_t seed) {
  rtlm::detail::split_mix64 rng(seed);
  std::vector<tokens> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = std::log(500.0) + rtlm::detail::standard_normal(rng);
    out.emplace_back(std::max<tokens::rep>(std::llround(std::exp(x)), 1));
  }
  return out;
}

// The rtlm::error's field and value when `f` throws one; empty strings otherwise.
template <class F>
std::pair<std::string, std::string> blamed(F&& f) {
  try {
    f();
  } catch (const rtlm::error& e) {
    return {e.field(), e.value()};
  }
  return {};
}

class controlled_tau : public testing::TestWithParam<double> {};

TEST_P(controlled_tau, reproduces_its_target_kendall_tau) {
  const std::vector<tokens> lengths = log_normal_lengths(20000, 7);
  const controlled_length_noise noise(GetParam(), lengths);
  std::vector<double> means;
  std::vector<double> truths;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    means.push_back(noise.predict(lengths[i], i).mean_tokens);
    truths.push_back(static_cast<double>(lengths[i].count()));
  }
  EXPECT_NEAR(rtlm::sim::kendall_tau(means, truths), GetParam(), 0.03);
}

TEST_P(controlled_tau, bound_covers_ninety_percent_of_log_normal_lengths) {
  const std::vector<tokens> lengths = log_normal_lengths(20000, 11);
  const controlled_length_noise noise(GetParam(), lengths);
  std::size_t covered = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const rtlm::length_estimate e = noise.predict(lengths[i], i);
    EXPECT_DOUBLE_EQ(e.bound_coverage, 0.9);
    covered += lengths[i] <= e.upper_bound ? 1U : 0U;
  }
  EXPECT_NEAR(static_cast<double>(covered) / static_cast<double>(lengths.size()), 0.9, 0.02);
}

INSTANTIATE_TEST_SUITE_P(sweep, controlled_tau, testing::Values(0.2, 0.5, 0.9));

TEST(controlled_length_noise, the_same_key_gives_the_same_estimate) {
  const controlled_length_noise noise(0.5, log_normal_lengths(1000, 3));
  for (std::uint64_t key = 0; key < 100; ++key) {
    const rtlm::length_estimate a = noise.predict(tokens(300), key);
    const rtlm::length_estimate b = noise.predict(tokens(300), key);
    EXPECT_EQ(a.mean_tokens, b.mean_tokens);
    EXPECT_EQ(a.upper_bound, b.upper_bound);
    EXPECT_EQ(a.uncertainty, b.uncertainty);
  }
  EXPECT_NE(noise.predict(tokens(300), 1).mean_tokens, noise.predict(tokens(300), 2).mean_tokens);
}

TEST(controlled_length_noise, fits_the_log_lengths_and_the_noise_to_the_tau) {
  const std::vector<tokens> lengths{tokens(1), tokens(0), tokens(100)};  // 0 counts as 1
  const controlled_length_noise noise(0.5, lengths);
  const double ln100 = std::log(100.0);
  EXPECT_NEAR(noise.log_mean(), ln100 / 3.0, 1e-12);
  EXPECT_NEAR(noise.log_sd(), ln100 * std::sqrt(2.0) / 3.0, 1e-12);
  // tau 0.5: rho = sin(pi / 4), so the noise is as wide as the lengths' spread.
  EXPECT_NEAR(noise.sigma(), noise.log_sd(), 1e-12);
  EXPECT_DOUBLE_EQ(noise.kendall_tau(), 0.5);
  EXPECT_EQ(noise.describe(),
            "controlled predictor: Kendall tau 0.50 (log-normal noise sigma 2.17 on ln length, "
            "calibrated posterior)");
}

TEST(controlled_length_noise, estimate_is_the_log_normal_posterior) {
  const controlled_length_noise noise(0.7, log_normal_lengths(1000, 5));
  const double rho = std::sin(std::numbers::pi * 0.7 / 2.0);
  const double sd = noise.log_sd() * std::sqrt(1.0 - rho * rho);
  for (std::uint64_t key = 0; key < 50; ++key) {
    const rtlm::length_estimate e = noise.predict(tokens(800), key);
    EXPECT_NEAR(e.uncertainty, sd, 1e-12);
    const double mu = std::log(e.mean_tokens) - sd * sd / 2.0;
    EXPECT_EQ(e.upper_bound.count(),
              static_cast<tokens::rep>(std::ceil(std::exp(mu + 1.2815515655446004 * sd))));
  }
}

TEST(controlled_length_noise, refuses_a_tau_outside_zero_to_one) {
  const std::vector<tokens> lengths{tokens(10), tokens(20)};
  for (const double tau : {0.0, 1.0, std::numeric_limits<double>::quiet_NaN(), -0.1}) {
    const auto [field, value] =
        blamed([&] { static_cast<void>(controlled_length_noise(tau, lengths)); });
    EXPECT_EQ(field, "controlled_length_noise.kendall_tau") << tau;
    EXPECT_EQ(value, fmt::format("{}", tau));
  }
}

TEST(controlled_length_noise, refuses_empty_or_constant_lengths) {
  const std::vector<tokens> empty;
  const std::vector<tokens> constant(5, tokens(42));
  const std::vector<tokens> all_one{tokens(1), tokens(0), tokens(-3)};
  for (const std::vector<tokens>* lengths : {&empty, &constant, &all_one}) {
    EXPECT_EQ(blamed([&] { static_cast<void>(controlled_length_noise(0.5, *lengths)); }).first,
              "controlled_length_noise.true_lengths");
  }
}

}  // namespace
