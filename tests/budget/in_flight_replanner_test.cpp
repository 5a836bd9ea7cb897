// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/in_flight_replanner.hpp"

#include <gtest/gtest.h>

#include "rtlm/core/error.hpp"

#include <cmath>
#include <cstdint>
#include <string>
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

TEST(in_flight_replanner, an_eviction_pays_its_own_cost) {
  // With 1 s per eviction, 100 (0.01 + 1e-4 k) + 0.495 + 1 <= 10 needs k <= 750.5.
  rtlm::decode_checkpoint at{.remaining = seconds(10),
                             .kv_tokens = tokens(1000),
                             .remaining_bound = tokens(100),
                             .min_kv_tokens = tokens(64),
                             .can_evict = true,
                             .eviction_time = seconds(1)};
  rtlm::replan_decision d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::evict);
  EXPECT_EQ(d.keep_kv_tokens.count(), 750);
  EXPECT_NEAR(d.worst_case.count(), run(750, 100) + 1, 1e-9);
  // Keeping everything pays nothing.
  at.remaining = seconds(12);
  d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::keep_going);
  EXPECT_NEAR(d.worst_case.count(), run(1000, 100), 1e-9);
  // When the cost eats what eviction saves, nothing is evicted.
  at.remaining = seconds(10);
  at.eviction_time = seconds(8);
  d = rtlm::replan_at_checkpoint(table(), at);
  EXPECT_EQ(d.action, replan_action::cap_output);
  EXPECT_EQ(d.keep_kv_tokens.count(), 1000);
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

// Uniform on (0, 1000]: given `done` out, the rest is uniform on (done, 1000].
rtlm::length_distribution uniform_to_1000() {
  rtlm::length_distribution d;
  const std::vector<double> edges{0, 1000};
  const std::vector<double> probability{1};
  d.assign(edges, probability);
  return d;
}

// The most decode steps from `kv` cached tokens within `left` seconds, by brute force.
std::int64_t steps_within(std::int64_t kv, double left) {
  std::int64_t m = 0;
  while (run(kv, m + 1) <= left) ++m;
  return m;
}

TEST(in_flight_replanner, best_effort_evicts_the_least_within_min_gain_of_the_best_chance) {
  // 100 tokens out of at most 1000: the 0.95 bound is 855 more, which 5 s cannot fit even at
  // the 145 entries alpha_max leaves (900 prompt tokens at 0.95, plus the 100 out).
  const rtlm::length_distribution predicted = uniform_to_1000();
  const rtlm::decode_checkpoint at{
      .remaining = seconds(5),
      .kv_tokens = tokens(1000),
      .remaining_bound = rtlm::remaining_length_bound(predicted, tokens(100), 0.95, tokens(4096)),
      .min_kv_tokens = tokens(145),
      .can_evict = true,
      .eviction_time = seconds(0.1)};
  ASSERT_EQ(at.remaining_bound.count(), 855);
  EXPECT_EQ(rtlm::replan_at_checkpoint(table(), at).action, replan_action::cap_output);
  const auto chance = [&](std::int64_t keep) {
    const double left = 5.0 - (keep < 1000 ? 0.1 : 0.0);
    return static_cast<double>(steps_within(keep, left)) / 900.0;
  };
  const rtlm::replan_decision d =
      rtlm::replan_best_effort(table(), at, predicted, tokens(100), 0.01);
  ASSERT_EQ(d.action, replan_action::evict);
  const std::int64_t keep = d.keep_kv_tokens.count();
  const double wanted = chance(145) - 0.01;
  EXPECT_GE(chance(keep), wanted);
  EXPECT_LT(chance(keep + 1), wanted);
  EXPECT_GT(keep, 145);
  EXPECT_EQ(d.max_more_tokens.count(), steps_within(keep, 4.9));
  EXPECT_NEAR(d.worst_case.count(), run(keep, 855) + 0.1, 1e-9);
  EXPECT_LT(d.slack.count(), 0.0);
}

TEST(in_flight_replanner, best_effort_keeps_the_kv_when_eviction_buys_too_little) {
  const rtlm::length_distribution predicted = uniform_to_1000();
  rtlm::decode_checkpoint at{.remaining = seconds(5),
                             .kv_tokens = tokens(1000),
                             .remaining_bound = tokens(855),
                             .min_kv_tokens = tokens(145),
                             .can_evict = true};
  const rtlm::replan_decision plain = rtlm::replan_at_checkpoint(table(), at);
  // Evicting to 145 entries raises the chance from 43/900 to about 150/900: not 0.5.
  rtlm::replan_decision d = rtlm::replan_best_effort(table(), at, predicted, tokens(100), 0.5);
  EXPECT_EQ(d.action, replan_action::cap_output);
  EXPECT_EQ(d.keep_kv_tokens.count(), plain.keep_kv_tokens.count());
  EXPECT_EQ(d.max_more_tokens.count(), plain.max_more_tokens.count());
  // A request past its whole prediction gets the plain answer: no chance to weigh.
  d = rtlm::replan_best_effort(table(), at, predicted, tokens(1000), 0.01);
  EXPECT_EQ(d.action, replan_action::cap_output);
  // Nor does one whose backend cannot evict, or one that fits.
  at.can_evict = false;
  EXPECT_EQ(rtlm::replan_best_effort(table(), at, predicted, tokens(100)).action,
            replan_action::cap_output);
  at.remaining = seconds(1000);
  EXPECT_EQ(rtlm::replan_best_effort(table(), at, predicted, tokens(100)).action,
            replan_action::keep_going);
}

TEST(in_flight_replanner, best_effort_refuses_a_min_gain_outside_0_1) {
  const rtlm::length_distribution predicted = uniform_to_1000();
  const rtlm::decode_checkpoint at{.remaining = seconds(5),
                                   .kv_tokens = tokens(1000),
                                   .remaining_bound = tokens(855),
                                   .can_evict = true};
  for (const double bad : {-0.1, 1.5, std::nan("")}) {
    try {
      (void)rtlm::replan_best_effort(table(), at, predicted, tokens(100), bad);
      ADD_FAILURE() << "accepted min_gain " << bad;
    } catch (const rtlm::error& e) {
      EXPECT_NE(std::string(e.what()).find("replan_best_effort min_gain"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
