// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/eviction_planner.hpp"

#include <gtest/gtest.h>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::tokens;
using planner = rtlm::eviction_planner<rtlm::first_come_first_served>;

TEST(eviction_planner, a_tight_deadline_gets_the_least_ratio_that_meets_it) {
  rtlm::test::part_fixture<> f;
  f.estimator.decode_per_kv = 1e-5;  // decode steps cost more with a longer KV: eviction helps
  f.lane.solver.retabulate(f.lane.estimator);
  auto& t = f.table[f.run(1, tokens(800), rtlm::request_phase::prefilling)];
  auto c = f.context();
  // Alone: prefill 0.09 s, then 20 steps at about 0.0105 + 8e-3 s each with the whole prompt.
  t.deadline = rtlm::test::at_seconds(0.40);
  planner::plan(c, t, 0.0);
  EXPECT_GT(t.eviction_ratio, 0.0);
  EXPECT_LE(t.eviction_ratio, f.config.alpha_max);
  EXPECT_TRUE(t.eviction_pending);
  // A loose deadline evicts nothing.
  t.deadline = rtlm::test::at_seconds(100.0);
  planner::plan(c, t, 0.0);
  EXPECT_EQ(t.eviction_ratio, 0.0);
  EXPECT_FALSE(t.eviction_pending);
}

TEST(eviction_planner, a_pending_eviction_is_sent_once_with_its_kept_tokens) {
  rtlm::test::part_fixture<> f;
  auto& t = f.table[f.run(1, tokens(1000))];
  t.eviction_ratio = 0.25;
  t.eviction_pending = true;
  auto c = f.context();
  planner::send_pending(c, t);
  planner::send_pending(c, t);
  ASSERT_EQ(f.lane.plan.evictions.size(), 1U);
  EXPECT_EQ(f.lane.plan.evictions[0].kept_tokens, tokens(750));
  EXPECT_EQ(t.kept_prompt, tokens(750));
  EXPECT_EQ(t.r.progress.eviction_ratio, 0.25);
}

TEST(eviction_planner, a_backend_that_cannot_evict_plans_nothing) {
  auto caps = rtlm::test::part_fixture<>::default_caps();
  caps.can_evict_kv = false;
  rtlm::test::part_fixture<> f(caps);
  auto& t = f.table[f.run(1, tokens(800), rtlm::request_phase::prefilling)];
  t.deadline = rtlm::test::at_seconds(0.2);
  auto c = f.context();
  planner::plan(c, t, 0.0);
  EXPECT_EQ(t.eviction_ratio, 0.0);
}

}  // namespace
