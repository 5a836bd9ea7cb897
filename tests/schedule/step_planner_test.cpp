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

// vLLM V1 admits nothing in a step that preempted for KV; rtlm's default admits what fits.
TEST(batch_stage, a_step_that_preempted_admits_only_where_configured) {
  for (const bool admit : {true, false}) {
    auto caps = rtlm::test::part_fixture<>::default_caps();
    caps.kv_capacity = tokens(600);
    auto config = rtlm::test::part_fixture<>::small_config();
    config.admit_after_preemption = admit;
    rtlm::test::part_fixture<> f(caps, config);
    f.run(1, tokens(100));
    f.run(2, tokens(100));
    const auto waiting = f.queue(3, tokens(10), 10, tokens(1));
    auto& first = f.table[f.lane.running[0]];
    first.r.progress.generated = tokens(400);  // reserves 500 beside the other's 120
    f.lane.kv.grow(first);
    ASSERT_TRUE(f.lane.kv.over_committed());
    auto c = f.context();
    const capacity cap;
    cap.make_room(c);
    ASSERT_EQ(f.lane.plan.preemptions.size(), 1U);
    batch b;
    batch::plan_running(c);
    b.plan_admissions(c, cap);
    EXPECT_EQ(f.table[waiting].phase, admit ? request_phase::prefilling : request_phase::waiting)
        << "admit_after_preemption " << admit;
  }
}

}  // namespace
