// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/step_feedback.hpp"

#include <gtest/gtest.h>

#include "rtlm/schedule/batch_former.hpp"
#include "schedule/part_fixture.hpp"

namespace {

using rtlm::request_phase;
using rtlm::tokens;
using feedback = rtlm::step_feedback<rtlm::first_come_first_served>;

// Plans the lane's running requests (prefill chunks whole, decodes) as the batch stage would.
void plan_running(rtlm::test::part_fixture<>& f) {
  auto c = f.context();
  rtlm::batch_former<rtlm::first_come_first_served>::plan_running(c);
}

TEST(step_feedback, outcomes_advance_prefills_decodes_and_finish_requests) {
  rtlm::test::part_fixture<> f;
  const auto p = f.run(1, tokens(100), request_phase::prefilling);
  const auto d = f.run(2, tokens(100), request_phase::decoding, tokens(3));
  plan_running(f);
  rtlm::step_result result;
  result.step_time = rtlm::seconds(0.02);
  result.outcomes = {{.id = rtlm::request_id{1}, .generated = tokens(1)},
                     {.id = rtlm::request_id{2}, .generated = tokens(1), .finished = true}};
  auto c = f.context(1.0);
  EXPECT_EQ(feedback::apply(c, result), 1U);
  EXPECT_EQ(f.table[p].phase, request_phase::decoding);
  EXPECT_EQ(f.table[p].r.progress.generated, tokens(1));
  EXPECT_EQ(f.table[p].r.progress.first_token_time, rtlm::test::at_seconds(1.0));
  EXPECT_EQ(f.table[d].phase, request_phase::finished);
  EXPECT_EQ(f.lane.releases.size(), 1U);
  EXPECT_EQ(f.lane.running.size(), 1U);
}

TEST(step_feedback, a_request_whose_steps_keep_failing_fails) {
  rtlm::test::part_fixture<> f;
  f.config.max_failed_steps = 2;
  const auto d = f.run(1, tokens(100), request_phase::decoding, tokens(3));
  std::vector<rtlm::request_id> affected;
  for (int i = 0; i < 2; ++i) {
    f.lane.plan.clear();
    f.lane.decode_entries.clear();
    plan_running(f);
    auto c = f.context();
    feedback::fail(c, affected);
  }
  EXPECT_EQ(affected.size(), 2U);
  EXPECT_EQ(f.table[d].phase, request_phase::failed);
  EXPECT_EQ(f.log.events.back().reason, rtlm::request_event_reason::backend_failure);
}

TEST(step_feedback, the_budget_solver_follows_the_online_correction) {
  // A backend twice as slow as its estimator: once the correction has learnt it, the solver's
  // table (what admission control and eviction planning judge with) must say so too.
  rtlm::test::part_fixture<> f;
  const auto before = f.lane.solver.table().decode_run_time(tokens(100), tokens(100));
  f.run(1, tokens(100), request_phase::decoding, tokens(3));
  for (int i = 0; i < 200; ++i) {
    f.lane.plan.clear();
    f.lane.decode_entries.clear();
    f.lane.decode_kv.clear();
    plan_running(f);
    f.lane.base_decode = f.lane.estimator.base().decode_time(f.lane.decode_kv);
    rtlm::step_result result;
    result.step_time = f.lane.base_decode * 2.0;
    feedback::observe(f.lane, result);
  }
  EXPECT_NEAR(f.lane.estimator.decode_factor(), 2.0, 0.01);
  const auto after = f.lane.solver.table().decode_run_time(tokens(100), tokens(100));
  EXPECT_NEAR(after / before, 2.0, 0.05);
}

}  // namespace
