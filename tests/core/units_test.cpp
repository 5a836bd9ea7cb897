// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/core/units.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <type_traits>

namespace {

using namespace rtlm::literals;

TEST(tokens, arithmetic_and_comparison) {
  rtlm::tokens t = 100_tok;
  t += 28_tok;
  EXPECT_EQ(t.count(), 128);
  t -= 8_tok;
  EXPECT_EQ(t, rtlm::tokens(120));
  EXPECT_EQ((t + 8_tok).count(), 128);
  EXPECT_EQ((t - 130_tok).count(), -10);
  EXPECT_EQ((t * 2).count(), 240);
  EXPECT_EQ((3 * t).count(), 360);
  EXPECT_LT(1_tok, 2_tok);
  EXPECT_EQ(rtlm::tokens().count(), 0);
}

TEST(tokens, is_not_an_integer) {
  // A token count must not silently become or come from a bare number.
  static_assert(!std::is_convertible_v<int, rtlm::tokens>);
  static_assert(!std::is_convertible_v<rtlm::tokens, long>);
  static_assert(std::is_trivially_copyable_v<rtlm::tokens>);
}

TEST(units, formatting) {
  EXPECT_EQ(fmt::format("{}", 4096_tok), "4096");
  EXPECT_EQ(fmt::format("{:>6}", 12_tok), "    12");
  EXPECT_EQ(fmt::format("{}", rtlm::request_id{42}), "42");
  EXPECT_EQ(rtlm::to_integer(rtlm::request_id{7}), 7U);
}

TEST(units, time_types) {
  static_assert(std::is_same_v<rtlm::duration, std::chrono::nanoseconds>);
  const rtlm::seconds half(0.5);
  EXPECT_EQ(std::chrono::duration_cast<rtlm::duration>(half).count(), 500'000'000);
}

}  // namespace
