// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/batch_former.hpp"

#include <gtest/gtest.h>

#include "rtlm/schedule/step_planner.hpp"
#include "schedule/part_fixture.hpp"

namespace {

using rtlm::request_phase;
using rtlm::tokens;
using policy = rtlm::first_come_first_served;
using capacity = rtlm::reserve_and_preempt<policy>;
using batch = rtlm::batch_former<policy>;

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

}  // namespace
