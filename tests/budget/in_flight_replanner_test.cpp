// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/in_flight_replanner.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

using rtlm::replan_action;
using rtlm::seconds;
using rtlm::tokens;

// Decode steps of 0.01 s + 1e-4 s per cached token, tabulated exactly (one-token cells).
rtlm::request_time_table table() {
  return rtlm::request_time_table(
      [](tokens) { return seconds(0); },
      [](tokens kv) { return seconds(0.01 + 1e-4 * static_cast<double>(kv.count())); },
      {.max_tokens = tokens(8192), .cell = tokens(1)});
}
double run(std::int64_t kv, std::int64_t steps) {
  return static_cast<double>(steps) * (0.01 + 1e-4 * static_cast<double>(kv)) +
         1e-4 * static_cast<double>(steps * (steps - 1)) / 2;
}

TEST(in_flight_replanner, keeps_going_when_the_rest_fits) {
  // 100 more tokens from 1000 cached: 100 * 0.11 + 1e-4 * 4950 = 11.495 s.
  const rtlm::replan_decision d = rtlm::replan_at_checkpoint(
      table(),
      {.remaining = seconds(12), .kv_tokens = tokens(1000), .remaining_bound = tokens(100)});
  EXPECT_EQ(d.action, replan_action::keep_going);
  EXPECT_EQ(d.keep_kv_tokens.count(), 1000);
  EXPECT_EQ(d.max_more_tokens.count(), 100);
  EXPECT_NEAR(d.worst_case.count(), 11.495, 1e-9);
  EXPECT_NEAR(d.slack.count(), 0.505, 1e-9);
}

TEST(in_flight_replanner, evicts_the_least_that_fits_when_the_backend_can) {
  // 10 s for 100 tokens needs 100 (0.01 + 1e-4 k) + 0.495 <= 10: k <= 850.5, so keep 850.
  const rtlm::decode_checkpoint at{.remaining = seconds(10),
                                   .kv_tokens = tokens(1000),
                                   .remaining_bound = tokens(100),
                                   .min_kv_tokens = tokens(64),
                                   .can_evict = true};
  const rtlm::replan_decision d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::evict);
  EXPECT_EQ(d.keep_kv_tokens.count(), 850);
  EXPECT_LE(run(850, 100), 10.0);
  EXPECT_GT(run(851, 100), 10.0);
  EXPECT_NEAR(d.worst_case.count(), run(850, 100), 1e-9);
}

TEST(in_flight_replanner, caps_the_output_when_eviction_cannot_save_it) {
  // Even 64 cached tokens need 100 * 0.0164 + 0.495 = 2.135 s; 1.5 s allows 72 more tokens
  // from 1000 cached (72: 1.5 s - 0.0036 s short of 73's 1.5 + 0.1 s).
  rtlm::decode_checkpoint at{.remaining = seconds(1.5),
                             .kv_tokens = tokens(1000),
                             .remaining_bound = tokens(100),
                             .min_kv_tokens = tokens(64),
                             .can_evict = true};
  rtlm::replan_decision d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::cap_output);
  EXPECT_EQ(d.keep_kv_tokens.count(), 1000);
  const std::int64_t allowed = d.max_more_tokens.count();
  EXPECT_LE(run(1000, allowed), 1.5);
  EXPECT_GT(run(1000, allowed + 1), 1.5);
  // Without in-flight eviction, a budget eviction would have met is capped too.
  at.remaining = seconds(10);
  at.can_evict = false;
  d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::cap_output);
  EXPECT_LE(d.worst_case.count(), 10.0);
}

TEST(in_flight_replanner, stops_when_not_one_more_token_fits) {
  for (double left : {0.0, 0.05, -1.0}) {
    const rtlm::replan_decision d = rtlm::replan_at_checkpoint(
        table(),
        {.remaining = seconds(left), .kv_tokens = tokens(1000), .remaining_bound = tokens(10)});
    EXPECT_EQ(d.action, replan_action::stop) << left;
    EXPECT_EQ(d.max_more_tokens.count(), 0);
  }
  // Nothing left to produce always fits.
  const rtlm::replan_decision done = rtlm::replan_at_checkpoint(
      table(), {.remaining = seconds(0.0), .kv_tokens = tokens(10), .remaining_bound = tokens(0)});
  EXPECT_EQ(done.action, replan_action::keep_going);
  EXPECT_EQ(rtlm::to_string(replan_action::cap_output), "cap_output");
  EXPECT_EQ(rtlm::to_string(replan_action::stop), "stop");
}

TEST(in_flight_replanner, remaining_bound_is_the_conditional_quantile) {
  rtlm::length_distribution d;
  const std::vector<double> edges{0, 100};
  const std::vector<double> probability{1};
  d.assign(edges, probability);  // uniform on (0, 100]
  // Given 50 out, the rest is uniform on (50, 100]: its median is 75, so 25 more.
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(50), 0.5, tokens(1000)).count(), 25);
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(50), 0.9, tokens(1000)).count(), 45);
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(0), 0.9, tokens(1000)).count(), 90);
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(50), 0.9, tokens(60)).count(), 10);  // capped
  // Past the predicted support, nothing is known: the cap.
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(150), 0.9, tokens(1000)).count(), 850);
  EXPECT_EQ(rtlm::remaining_length_bound(d, tokens(1000), 0.9, tokens(1000)).count(), 0);
  EXPECT_EQ(
      rtlm::remaining_length_bound(rtlm::length_distribution{}, tokens(3), 0.9, tokens(10)).count(),
      7);
  EXPECT_GE(rtlm::remaining_length_bound(d, tokens(99), 0.0, tokens(1000)).count(), 1);
}

}  // namespace
