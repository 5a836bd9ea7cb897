// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/predictor_overlap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"

namespace {

using rtlm::seconds;
using rtlm::test::blamed_field;

TEST(predictor_overlap, fits_a_quadratic_latency_exactly) {
  const rtlm::predictor_latency_model truth{.a = 2e-9, .b = 3e-6, .c = 1e-3};
  std::vector<std::size_t> units;
  std::vector<seconds> latency;
  for (std::size_t n : {0U, 100U, 500U, 1000U, 4000U}) {
    units.push_back(n);
    latency.push_back(truth.latency(n));
  }
  const rtlm::predictor_latency_model fit = rtlm::fit_predictor_latency(units, latency);
  EXPECT_NEAR(fit.a, truth.a, 1e-15);
  EXPECT_NEAR(fit.b, truth.b, 1e-12);
  EXPECT_NEAR(fit.c, truth.c, 1e-9);
}

TEST(predictor_overlap, bad_measurements_name_the_field) {
  const std::vector<std::size_t> two{1, 2};
  const std::vector<seconds> two_times{seconds(1), seconds(2)};
  EXPECT_EQ(blamed_field([&] { (void)rtlm::fit_predictor_latency(two, two_times); }),
            "fit_predictor_latency units");
  const std::vector<std::size_t> same{5, 5, 5, 5};
  const std::vector<seconds> four{seconds(1), seconds(1), seconds(1), seconds(1)};
  EXPECT_EQ(blamed_field([&] { (void)rtlm::fit_predictor_latency(same, four); }),
            "fit_predictor_latency units");
  const std::vector<std::size_t> three{1, 2, 3};
  EXPECT_EQ(blamed_field([&] { (void)rtlm::fit_predictor_latency(three, two_times); }),
            "fit_predictor_latency latency");
  const std::vector<seconds> bad{seconds(1), seconds(std::nan("")), seconds(1)};
  EXPECT_EQ(blamed_field([&] { (void)rtlm::fit_predictor_latency(three, bad); }),
            "fit_predictor_latency latency[1]");
}

TEST(predictor_overlap, max_input_is_the_longest_that_hides_behind_the_prefill) {
  const rtlm::predictor_latency_model m{.a = 0, .b = 1e-5, .c = 1e-3};  // 1 ms + 10 us per unit
  EXPECT_EQ(rtlm::max_predictor_input(m, seconds(0.011), 5000), 1000U);
  EXPECT_EQ(rtlm::max_predictor_input(m, seconds(0.011), 300), 300U);  // all of it fits
  EXPECT_EQ(rtlm::max_predictor_input(m, seconds(0.0005), 300), 0U);   // nothing fits
  EXPECT_EQ(rtlm::max_predictor_input(m, seconds(std::nan("")), 300), 0U);
  const rtlm::predictor_latency_model q{.a = 1e-8, .b = 0, .c = 0};  // 1e-8 n^2
  EXPECT_EQ(rtlm::max_predictor_input(q, seconds(0.01), 5000), 1000U);
}

TEST(predictor_overlap, head_and_tail_compression) {
  EXPECT_EQ(rtlm::split_head_tail(10, 20).head, 10U);
  EXPECT_EQ(rtlm::split_head_tail(10, 20).tail, 0U);
  EXPECT_EQ(rtlm::split_head_tail(100, 10).head, 5U);
  EXPECT_EQ(rtlm::split_head_tail(100, 10).tail, 5U);
  EXPECT_EQ(rtlm::split_head_tail(100, 10, 0.8).head, 8U);
  EXPECT_EQ(rtlm::split_head_tail(100, 10, 2.0).head, 10U);
  EXPECT_EQ(rtlm::split_head_tail(100, 10, std::nan("")).head, 5U);
  const std::vector<int> input{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(rtlm::compress_head_tail<int>(input, 4), (std::vector<int>{1, 2, 9, 10}));
  EXPECT_EQ(rtlm::compress_head_tail<int>(input, 20), input);
  EXPECT_EQ(rtlm::compress_head_tail<int>(input, 0), std::vector<int>{});
  EXPECT_EQ(rtlm::compress_head_tail_text("abcdefghij", 5), "ab ij");
  EXPECT_EQ(rtlm::compress_head_tail_text("abc", 5), "abc");
  EXPECT_EQ(rtlm::compress_head_tail_text("abcdef", 0), "");
  // "é" is two bytes (C3 A9): a cut inside it moves to the character's edge.
  const std::string text = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
  const std::string cut = rtlm::compress_head_tail_text(text, 4);
  EXPECT_EQ(cut, "\xC3\xA9");  // head "é"; a one-byte tail would split a character
  EXPECT_LE(cut.size(), 4U);
}

}  // namespace
