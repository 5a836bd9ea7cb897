// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/step_planner.hpp"

#include <gtest/gtest.h>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::request_phase;
using rtlm::tokens;
using policy = rtlm::first_come_first_served;
using capacity = rtlm::reserve_and_preempt<policy>;
using batch = rtlm::batch_former<policy>;

static_assert(rtlm::capacity_stage<capacity, policy>);
static_assert(rtlm::batch_stage<batch, policy, capacity>);

TEST(capacity_stage, an_over_committed_backend_preempts_the_least_urgent_until_it_fits) {
  auto caps = rtlm::test::part_fixture<>::default_caps();
  caps.kv_capacity = tokens(400);
  rtlm::test::part_fixture<> f(caps);
  f.run(1, tokens(100));
  const auto last = f.run(2, tokens(100));
  auto& first = f.table[f.lane.running[0]];
  first.r.progress.generated = tokens(300);  // far past its bound
  f.lane.kv.grow(first);
  ASSERT_TRUE(f.lane.kv.over_committed());
  auto c = f.context();
  capacity{}.make_room(c);
  EXPECT_FALSE(f.lane.kv.over_committed());
  EXPECT_EQ(f.table[last].phase, request_phase::swapped_out);
}

TEST(capacity_stage, swapped_out_requests_come_back_while_their_kv_fits) {
  rtlm::test::part_fixture<> f;
  const auto a = f.run(1, tokens(100), request_phase::decoding, tokens(3));
  auto c = f.context();
  rtlm::preemptor<policy>::preempt(c, 0);
  ASSERT_EQ(f.table[a].phase, request_phase::swapped_out);
  f.lane.plan.clear();
  auto next = f.context();
  capacity{}.bring_back(next);
  EXPECT_EQ(f.table[a].phase, request_phase::decoding);
  ASSERT_EQ(f.lane.plan.swap_ins.size(), 1U);
  ASSERT_EQ(f.lane.plan.decodes.size(), 1U);
  EXPECT_EQ(f.lane.plan.decodes[0].kv_length, tokens(102));
  EXPECT_EQ(next.budget, f.config.max_step_tokens - tokens(1));
}

TEST(capacity_stage, admits_counts_this_steps_admissions) {
  auto caps = rtlm::test::part_fixture<>::default_caps();
  caps.max_batch_size = 2;
  caps.kv_capacity = tokens(500);
  rtlm::test::part_fixture<> f(caps);
  f.run(1, tokens(100));  // reserves 120
  auto c = f.context();
  const capacity cap;
  EXPECT_TRUE(cap.admits(c, 0, tokens(0), tokens(380)));
  EXPECT_FALSE(cap.admits(c, 0, tokens(0), tokens(381)));
  EXPECT_FALSE(cap.admits(c, 1, tokens(0), tokens(1)));  // the batch of 2 is full
}

TEST(batch_stage, running_requests_decode_and_prefills_continue_in_chunks) {
  rtlm::test::part_fixture<> f;
  f.config.max_step_tokens = tokens(100);
  f.run(1, tokens(50), request_phase::decoding, tokens(2));
  const auto p = f.run(2, tokens(500), request_phase::prefilling);
  f.table[p].prefilled = tokens(200);
  auto c = f.context();
  batch::plan_running(c);
  ASSERT_EQ(f.lane.plan.decodes.size(), 1U);
  ASSERT_EQ(f.lane.plan.prefills.size(), 1U);
  EXPECT_EQ(f.lane.plan.prefills[0].new_tokens, tokens(99));  // what the decode leaves
  EXPECT_EQ(f.lane.plan.prefills[0].computed_tokens, tokens(200));
  EXPECT_FALSE(f.lane.plan.prefills[0].final_chunk);
  EXPECT_EQ(c.budget, tokens(0));
}

TEST(batch_stage, admissions_take_the_queue_in_order_within_the_token_budget) {
  rtlm::test::part_fixture<> f;
  f.config.max_step_tokens = tokens(250);
  f.queue(1, tokens(100));
  f.queue(2, tokens(100));
  f.queue(3, tokens(100));
  auto c = f.context();
  batch b;
  b.plan_admissions(c, capacity{});
  ASSERT_EQ(f.lane.plan.prefills.size(), 3U);
  EXPECT_EQ(f.lane.plan.prefills[2].new_tokens, tokens(50));  // chunked to the budget
  EXPECT_FALSE(f.lane.plan.prefills[2].final_chunk);
  EXPECT_EQ(f.lane.running.size(), 3U);
  EXPECT_TRUE(f.lane.waiting.empty());
  EXPECT_EQ(f.log.events.back().kind, rtlm::request_event_kind::admitted);
}

TEST(batch_stage, a_static_batch_takes_similar_lengths_and_waits_for_the_batch_to_drain) {
  auto caps = rtlm::test::part_fixture<>::default_caps();
  caps.batching = rtlm::batching_mode::static_batch;
  rtlm::test::part_fixture<> f(caps);
  f.queue(1, tokens(10), 100);
  f.queue(2, tokens(10), 5000);  // not similar to the head's 100
  f.queue(3, tokens(10), 150);
  auto c = f.context();
  batch b;
  b.plan_admissions(c, capacity{});
  ASSERT_EQ(f.lane.plan.prefills.size(), 2U);
  EXPECT_EQ(f.lane.waiting.size(), 1U);
  f.lane.plan.clear();
  auto next = f.context();
  b.plan_admissions(next, capacity{});
  EXPECT_TRUE(f.lane.plan.prefills.empty());  // the batch runs to its end first
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
