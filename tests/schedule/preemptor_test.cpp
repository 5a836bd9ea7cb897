// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/preemptor.hpp"

#include <gtest/gtest.h>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::request_event_kind;
using rtlm::request_phase;
using rtlm::tokens;

TEST(preemptor, the_victim_is_the_running_request_served_last) {
  rtlm::test::part_fixture<> f;  // FCFS: the latest submitted is served last
  f.run(1, tokens(100));
  f.run(2, tokens(100));
  f.run(3, tokens(100), request_phase::prefilling);
  auto c = f.context();
  const auto v = rtlm::preemptor<rtlm::first_come_first_served>::least_urgent(c);
  ASSERT_TRUE(v);
  EXPECT_EQ(f.table[f.lane.running[v->index]].r.id, rtlm::request_id{3});
}

TEST(preemptor, a_decoding_request_is_swapped_and_a_prefilling_one_recomputed) {
  rtlm::test::part_fixture<> f;
  const auto decoding = f.run(1, tokens(100), request_phase::decoding, tokens(5));
  const auto prefilling = f.run(2, tokens(100), request_phase::prefilling);
  auto c = f.context();
  using p = rtlm::preemptor<rtlm::first_come_first_served>;
  p::preempt(c, 1);  // the prefilling one
  EXPECT_EQ(f.table[prefilling].phase, request_phase::preempted);
  EXPECT_EQ(f.lane.waiting.size(), 1U);
  p::preempt(c, 0);
  EXPECT_EQ(f.table[decoding].phase, request_phase::swapped_out);
  EXPECT_EQ(f.lane.swapped.size(), 1U);
  ASSERT_EQ(f.lane.plan.preemptions.size(), 2U);
  EXPECT_EQ(f.lane.plan.preemptions[0].mode, rtlm::preemption_mode::recompute);
  EXPECT_EQ(f.lane.plan.preemptions[1].mode, rtlm::preemption_mode::swap);
  EXPECT_EQ(f.lane.kv.reserved(), tokens(0));
  EXPECT_TRUE(f.lane.running.empty());
}

TEST(preemptor, least_laxity_keys_a_running_request_on_the_service_it_still_needs) {
  // Two running requests with the same deadline. Least laxity serves the one with the least
  // slack (deadline less the service it still needs) first, so the victim is the one nearly
  // done. Keyed on the service stored when they were queued (equal), the tie would instead go to
  // the later submitted, whatever their progress.
  rtlm::test::part_fixture<rtlm::least_laxity_first> f;
  const auto nearly_done = f.run(1, tokens(100), request_phase::decoding, tokens(19));
  const auto just_started = f.run(2, tokens(100), request_phase::decoding, tokens(1));
  for (const auto slot : {nearly_done, just_started}) {
    f.table[slot].r.deadline = rtlm::test::at_seconds(10.0);
  }
  auto c = f.context();
  const auto v = rtlm::preemptor<rtlm::least_laxity_first>::least_urgent(c);
  ASSERT_TRUE(v);
  EXPECT_EQ(f.lane.running[v->index], nearly_done);
}

TEST(preemptor, a_request_the_full_queue_cannot_take_back_fails_loudly) {
  // A table with more slots than the lane's queue holds: a broken invariant the scheduler's own
  // bookkeeping never produces; the request fails with a reason instead of a dangling handle.
  auto config = rtlm::test::part_fixture<>::small_config();
  config.max_requests = 2;
  rtlm::test::part_fixture<> f(rtlm::test::part_fixture<>::default_caps(), config, {}, 4);
  const auto running = f.run(1, tokens(100), request_phase::prefilling);
  f.queue(2, tokens(10));
  f.queue(3, tokens(10));
  auto c = f.context();
  rtlm::preemptor<rtlm::first_come_first_served>::preempt(c, 0);
  EXPECT_EQ(f.table[running].phase, request_phase::failed);
  EXPECT_FALSE(f.table.find(rtlm::request_id{1}));
  ASSERT_FALSE(f.log.events.empty());
  EXPECT_EQ(f.log.events.back().kind, request_event_kind::failed);
  EXPECT_EQ(f.log.events.back().reason, rtlm::request_event_reason::queue_full);
  ASSERT_EQ(f.lane.releases.size(), 1U);  // its backend held state for it
}

TEST(preemptor, priority_preemption_needs_the_margin) {
  auto config = rtlm::test::part_fixture<rtlm::shortest_predicted_first>::small_config();
  config.preempt_for_priority = true;
  auto caps = rtlm::test::part_fixture<rtlm::shortest_predicted_first>::default_caps();
  caps.max_batch_size = 1;
  rtlm::test::part_fixture<rtlm::shortest_predicted_first> f(caps, config);
  const auto running = f.run(1, tokens(100));
  f.table[running].r.predicted_length->mean_tokens = 5000;
  f.queue(2, tokens(100), 10);
  auto c = f.context();
  rtlm::preemptor<rtlm::shortest_predicted_first>::make_room_for_priority(c);
  EXPECT_EQ(f.table[running].phase, request_phase::swapped_out);
}

}  // namespace

namespace {

// One running request (a batch of one) that a shorter waiting one outranks by far.
struct limited_fixture {
  using policy = rtlm::shortest_predicted_first;
  static rtlm::test::part_fixture<policy> make(rtlm::scheduler_config config, bool swap = true) {
    config.preempt_for_priority = true;
    auto caps = rtlm::test::part_fixture<policy>::default_caps();
    caps.max_batch_size = 1;
    caps.can_preempt_swap = swap;
    return rtlm::test::part_fixture<policy>(caps, config);
  }
};

// A request 8 tokens into a predicted 10 is past a limit of 0.8; at 7 it is not.
void expect_limited_preemption(rtlm::test::part_fixture<limited_fixture::policy> f) {
  const auto running = f.run(1, tokens(100), request_phase::decoding, tokens(8));
  f.table[running].r.predicted_length->mean_tokens = 5000;  // output_mean stays 10: 8 >= 0.8 x 10
  f.queue(2, tokens(100), 10);
  auto c = f.context();
  rtlm::preemptor<limited_fixture::policy>::make_room_for_priority(c);
  EXPECT_EQ(f.table[running].phase, request_phase::decoding);

  f.table[running].r.progress.generated = tokens(7);  // below the limit: preempted
  f.table[running].refresh_remaining(tokens(1), true);
  rtlm::preemptor<limited_fixture::policy>::make_room_for_priority(c);
  EXPECT_EQ(f.table[running].phase, request_phase::swapped_out);
}

TEST(preemptor, limited_preemption_spares_a_request_past_the_limit) {
  for (const rtlm::kv_reservation rule :
       {rtlm::kv_reservation::predicted_bound, rtlm::kv_reservation::on_demand}) {
    SCOPED_TRACE(rtlm::to_string(rule));
    auto config = rtlm::test::part_fixture<limited_fixture::policy>::small_config();
    config.preemption_limit = 0.8;
    config.kv_rule = rule;
    expect_limited_preemption(limited_fixture::make(config));
  }
}

TEST(preemptor, a_counted_recompute_cost_raises_the_bar) {
  auto config = rtlm::test::part_fixture<limited_fixture::policy>::small_config();
  config.priority_preemption_margin = 0.0;
  config.preemption_cost_counted = true;
  auto f = limited_fixture::make(config, /*swap=*/false);
  const auto running = f.run(1, tokens(2000), request_phase::decoding);
  f.queue(2, tokens(100), 10);
  // The waiting request outranks the running one by exactly the recompute's predicted cost:
  // not enough. A hair more, and it is.
  auto c = f.context();
  using p = rtlm::preemptor<limited_fixture::policy>;
  const double cost = p::cost(c, f.table[running]).count();
  ASSERT_GT(cost, 0.0);
  const double sjf_weight = 0.01;  // predicted_length_config's default seconds per token
  f.table[running].r.predicted_length->mean_tokens = 10.0 + cost / sjf_weight;
  p::make_room_for_priority(c);
  EXPECT_EQ(f.table[running].phase, request_phase::decoding);
  f.table[running].r.predicted_length->mean_tokens = 10.0 + 1.01 * cost / sjf_weight;
  p::make_room_for_priority(c);
  EXPECT_EQ(f.table[running].phase, request_phase::preempted);
}

}  // namespace
