// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/consolidation.hpp"

#include <gtest/gtest.h>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::tokens;
using policy = rtlm::first_come_first_served;

TEST(consolidation, admissions_that_would_make_a_running_request_miss_are_held_back) {
  rtlm::test::part_fixture<> f;
  f.config.consolidate = true;
  // A running request that needs 20 more decode steps of about 0.0105 s (0.21 s) and has 0.25 s.
  auto& running = f.table[f.run(1, tokens(100), rtlm::request_phase::decoding)];
  running.deadline = rtlm::test::at_seconds(0.25);
  auto c = f.context();
  rtlm::consolidation<policy>::protect(c, running);
  f.lane.decode_kv = {running.kv_held()};
  f.lane.base_decode = f.lane.estimator.base().decode_time(f.lane.decode_kv);
  f.lane.batch_kv = f.lane.decode_kv;
  // Candidates whose prefills would cost 0.06 s each: one fits the slack, two do not.
  for (std::uint64_t id = 2; id <= 3; ++id) {
    const auto slot = f.queue(id, tokens(500));
    f.lane.candidates.push_back({.slot = slot, .chunk = tokens(500), .need = tokens(520)});
    f.lane.batch_kv.push_back(tokens(501));
  }
  double step = 0.0;
  EXPECT_EQ(rtlm::consolidation<policy>::admissible(c, false, step), 0U);
  running.deadline = rtlm::test::at_seconds(0.30);
  f.lane.constraints.clear();
  rtlm::consolidation<policy>::protect(c, running);
  EXPECT_EQ(rtlm::consolidation<policy>::admissible(c, false, step), 1U);
  EXPECT_GT(step, 0.0);
}

TEST(consolidation, a_request_held_back_past_the_configured_hold_is_admitted) {
  rtlm::test::part_fixture<> f;
  f.config.consolidation_max_hold = rtlm::seconds(5.0);
  f.config.policies.earliest_deadline_first.default_relative_deadline = rtlm::seconds(1000.0);
  const auto& t = f.table[f.queue(1, tokens(10))];
  EXPECT_FALSE(rtlm::consolidation<policy>::must_admit(f.context(4.0), t, 0.01));
  // The hold is consolidation's own setting, not EDF's default relative deadline.
  EXPECT_TRUE(rtlm::consolidation<policy>::must_admit(f.context(5.0), t, 0.01));
}

}  // namespace
