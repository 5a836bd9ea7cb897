// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/request_time_table.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "estimate/temp_file.hpp"
#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"

namespace {

using rtlm::seconds;
using rtlm::tokens;
using rtlm::test::blamed_field;

// A decode step of q + p kv and a prefill of c + b n: linear, so sums have closed forms.
constexpr double p = 1e-4;
constexpr double q = 0.01;
double step(std::int64_t kv) { return q + p * static_cast<double>(kv); }
double exact_run(std::int64_t first, std::int64_t steps) {
  double sum = 0;
  for (std::int64_t i = 0; i < steps; ++i) sum += step(first + i);
  return sum;
}

rtlm::request_time_table linear_table() {
  return rtlm::request_time_table(
      [](tokens n) { return seconds(0.5 + 1e-3 * static_cast<double>(n.count())); },
      [](tokens kv) { return seconds(step(kv.count())); },
      {.max_tokens = tokens(64), .cell = tokens(4)});
}

TEST(request_time_table, runs_are_exact_on_cell_edges_and_bounded_inside) {
  const rtlm::request_time_table t = linear_table();
  EXPECT_EQ(t.cell().count(), 4);
  EXPECT_EQ(t.max_tokens().count(), 64);
  EXPECT_NEAR(t.decode_run_time(tokens(8), tokens(16)).count(), exact_run(8, 16), 1e-12);
  EXPECT_NEAR(t.decode_run_time(tokens(0), tokens(64)).count(), exact_run(0, 64), 1e-12);
  EXPECT_EQ(t.decode_run_time(tokens(5), tokens(0)).count(), 0.0);
  for (std::int64_t a = 0; a < 20; ++a) {
    for (std::int64_t s = 1; s < 30; ++s) {
      const double bound = t.decode_run_time(tokens(a), tokens(s)).count();
      // Never below the truth, and above it by less than two cells of step-time growth.
      EXPECT_GE(bound, exact_run(a, s) - 1e-12) << a << " " << s;
      EXPECT_LE(bound, exact_run(a, s) + 2 * 4 * 4 * p + 1e-12) << a << " " << s;
    }
  }
}

TEST(request_time_table, extrapolates_a_linear_cost_exactly_past_the_table) {
  const rtlm::request_time_table t = linear_table();
  EXPECT_NEAR(t.decode_run_time(tokens(64), tokens(100)).count(), exact_run(64, 100), 1e-9);
  EXPECT_NEAR(t.decode_run_time(tokens(32), tokens(100)).count(), exact_run(32, 100), 1e-9);
}

TEST(request_time_table, absurd_lengths_saturate_instead_of_overflowing) {
  // Found by fuzz/fuzz_time_budget_solver: a run from a huge KV length overflowed int64.
  const rtlm::request_time_table t = linear_table();
  constexpr std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  const seconds run = t.decode_run_time(tokens(huge), tokens(huge));
  EXPECT_TRUE(run.count() > 0.0) << run.count();
  EXPECT_EQ(rtlm::kept_tokens_for_ratio(tokens(std::numeric_limits<std::int64_t>::max()), 0.0),
            tokens(std::numeric_limits<std::int64_t>::max()));
}

TEST(request_time_table, prefill_is_the_greatest_time_in_its_cell) {
  const rtlm::request_time_table t = linear_table();
  EXPECT_EQ(t.prefill_time(tokens(0)).count(), 0.0);
  EXPECT_DOUBLE_EQ(t.prefill_time(tokens(1)).count(), 0.5 + 3e-3);  // cell [0, 4): n = 3
  EXPECT_DOUBLE_EQ(t.prefill_time(tokens(4)).count(), 0.5 + 7e-3);  // cell [4, 8): n = 7
  EXPECT_NEAR(t.prefill_time(tokens(100)).count(), 0.5 + 1e-3 * 100, 1e-9);
}

TEST(request_time_table, max_decode_steps_is_the_last_run_that_fits) {
  const rtlm::request_time_table t = linear_table();
  for (std::int64_t a : {0, 3, 17, 60, 70}) {
    for (double budget : {0.005, 0.01, 0.05, 0.3, 1.0, 5.0}) {
      const tokens s = t.max_decode_steps(tokens(a), seconds(budget));
      EXPECT_LE(t.decode_run_time(tokens(a), s).count(), budget) << a << " " << budget;
      EXPECT_GT(t.decode_run_time(tokens(a), s + tokens(1)).count(), budget) << a << " " << budget;
    }
  }
  EXPECT_EQ(t.max_decode_steps(tokens(0), seconds(0)).count(), 0);
  EXPECT_EQ(t.max_decode_steps(tokens(0), seconds(-1)).count(), 0);
  EXPECT_EQ(t.max_decode_steps(tokens(0), seconds(std::nan(""))).count(), 0);
}

TEST(request_time_table, tabulates_an_estimator_or_its_calibrated_bound) {
  const rtlm::timebill_estimator e({.a = 1e-7, .b = 1e-4, .c = 0.01, .p = p, .q = q});
  const rtlm::request_time_table t(e, {.max_tokens = tokens(1024), .cell = tokens(1)});
  EXPECT_DOUBLE_EQ(t.prefill_time(tokens(100)).count(), 1e-7 * 1e4 + 1e-2 + 0.01);
  EXPECT_NEAR(t.decode_run_time(tokens(10), tokens(500)).count(), exact_run(10, 500), 1e-9);
  // An uncalibrated estimator has no finite bound to tabulate.
  EXPECT_EQ(blamed_field([&] { rtlm::request_time_table(e, {.level = 0.99}); }),
            "request_time_table decode_step time at 0 tokens");
}

TEST(request_time_table, bad_options_and_costs_name_the_field) {
  const rtlm::timebill_estimator e({.p = p, .q = q});
  EXPECT_EQ(blamed_field([&] { rtlm::request_time_table(e, {.cell = tokens(3)}); }),
            "request_table_options.cell");
  EXPECT_EQ(blamed_field([&] { rtlm::request_time_table(e, {.cell = tokens(0)}); }),
            "request_table_options.cell");
  EXPECT_EQ(blamed_field([&] {
              rtlm::request_time_table(e, {.max_tokens = tokens(64), .cell = tokens(64)});
            }),
            "request_table_options.max_tokens");
  EXPECT_EQ(blamed_field([&] { rtlm::request_time_table(e, {.level = 1.0}); }),
            "request_table_options.level");
  EXPECT_EQ(blamed_field([&] { rtlm::request_time_table(e, {.level = std::nan("")}); }),
            "request_table_options.level");
  const auto zero = [](tokens) { return seconds(0); };
  EXPECT_EQ(blamed_field([&] {
              rtlm::request_time_table(
                  zero,
                  [](tokens kv) {
                    return seconds(kv.count() == 5 ? std::numeric_limits<double>::quiet_NaN() : 0);
                  },
                  {.max_tokens = tokens(16), .cell = tokens(4)});
            }),
            "request_time_table decode_step time at 5 tokens");
  EXPECT_EQ(blamed_field([&] {
              rtlm::request_time_table([](tokens) { return seconds(-1); }, zero,
                                       {.max_tokens = tokens(16), .cell = tokens(4)});
            }),
            "request_time_table prefill time at 0 tokens");
}

}  // namespace
