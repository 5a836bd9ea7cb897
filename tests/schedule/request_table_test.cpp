// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/request_table.hpp"

#include <gtest/gtest.h>

namespace {

using rtlm::request_phase;
using table = rtlm::request_table<rtlm::first_come_first_served>;

rtlm::request_id id(std::uint64_t n) { return rtlm::request_id{n}; }

void fill(table& t, std::uint64_t n) {
  rtlm::request r;
  r.id = id(n);
  r.prompt_tokens = rtlm::tokens(10);
  t.next_free().take(std::move(r), n, rtlm::tokens(64));
}

TEST(request_table, a_request_is_live_from_add_until_end_and_its_slot_is_reused) {
  table t(2);
  fill(t, 1);
  ASSERT_TRUE(t.add(request_phase::waiting));
  const std::uint32_t slot = *t.find(id(1));
  EXPECT_EQ(t[slot].phase, request_phase::waiting);
  EXPECT_EQ(t.live(), 1U);
  EXPECT_EQ(t.room(), 1U);
  const rtlm::plan_entry planned{slot, t[slot].generation};
  t[slot].phase = request_phase::decoding;
  EXPECT_TRUE(t.current(planned));
  t.end(slot, request_phase::finished);
  EXPECT_FALSE(t.find(id(1)));
  EXPECT_EQ(t[slot].phase, request_phase::finished);
  EXPECT_FALSE(t.current(planned));  // a stale plan entry no longer refers to it
  EXPECT_EQ(t.room(), 2U);
}

TEST(request_table, a_duplicate_live_id_is_refused_and_changes_nothing) {
  table t(3);
  fill(t, 7);
  ASSERT_TRUE(t.add(request_phase::waiting));
  fill(t, 7);
  EXPECT_FALSE(t.add(request_phase::waiting));
  EXPECT_EQ(t.live(), 1U);
  EXPECT_EQ(t.room(), 2U);
}

TEST(request_table, take_starts_a_request_over_from_its_prediction) {
  table t(1);
  rtlm::request r;
  r.id = id(3);
  r.prompt_tokens = rtlm::tokens(100);
  r.max_new_tokens = rtlm::tokens(50);
  r.predicted_length = rtlm::length_estimate{.mean_tokens = 30.2, .upper_bound = rtlm::tokens(80)};
  r.progress.generated = rtlm::tokens(9);  // a host's leftovers are cleared
  auto& e = t.next_free();
  e.take(std::move(r), 4, rtlm::tokens(64));
  EXPECT_EQ(e.r.progress.generated, rtlm::tokens(0));
  EXPECT_EQ(e.output_mean, rtlm::tokens(31));   // rounded up
  EXPECT_EQ(e.output_bound, rtlm::tokens(50));  // capped at max_new_tokens
  EXPECT_EQ(e.prefill_target, rtlm::tokens(100));
  EXPECT_EQ(e.kept_prompt, rtlm::tokens(100));
  EXPECT_EQ(e.sequence, 4U);
}

TEST(request_table, kv_held_counts_the_kept_prompt_and_all_but_the_last_token) {
  table t(1);
  fill(t, 1);
  auto& e = t.next_free();
  e.kept_prompt = rtlm::tokens(6);  // after an eviction
  e.r.progress.generated = rtlm::tokens(5);
  EXPECT_EQ(e.kv_held(), rtlm::tokens(6 + 4));
  // After a recompute that re-prefilled 5 generated tokens and then generated 2 more.
  e.prefill_target = rtlm::tokens(15);
  e.kept_prompt = rtlm::tokens(10);
  e.r.progress.generated = rtlm::tokens(7);
  EXPECT_EQ(e.kv_held(), rtlm::tokens(10 + 5 + 1));
}

TEST(request_table, phases_have_names_and_kinds) {
  EXPECT_EQ(rtlm::to_string(request_phase::swapped_out), "swapped_out");
  EXPECT_EQ(rtlm::to_string(request_phase::failed), "failed");
  EXPECT_TRUE(rtlm::queued(request_phase::preempted));
  EXPECT_TRUE(rtlm::running(request_phase::prefilling));
  EXPECT_FALSE(rtlm::running(request_phase::swapped_out));
  EXPECT_EQ(rtlm::to_string(static_cast<request_phase>(200)), "unknown");
}

}  // namespace

namespace {

// The remaining-length prediction follows the tokens generated, every `every` of them.
TEST(request_table, the_remaining_prediction_is_conditioned_every_few_tokens) {
  rtlm::scheduled_request<rtlm::first_come_first_served> e;
  rtlm::request r;
  r.prompt_tokens = rtlm::tokens(10);
  r.predicted_length = rtlm::length_estimate{
      .mean_tokens = 100.0, .upper_bound = rtlm::tokens(200), .bound_coverage = 0.9};
  e.take(std::move(r), 0, rtlm::tokens(64));
  EXPECT_DOUBLE_EQ(e.remaining_mean, 100.0);  // the prediction's mean before any token

  e.r.progress.generated = rtlm::tokens(15);
  e.refresh_remaining(rtlm::tokens(16));  // 15 < 16 since the last: unchanged
  EXPECT_EQ(e.remaining_at, rtlm::tokens(0));
  EXPECT_DOUBLE_EQ(e.remaining_mean, 100.0);

  e.r.progress.generated = rtlm::tokens(250);  // past the bound
  e.refresh_remaining(rtlm::tokens(16));
  EXPECT_EQ(e.remaining_at, rtlm::tokens(250));
  EXPECT_DOUBLE_EQ(e.remaining_mean,
                   rtlm::remaining_length(*e.r.predicted_length, rtlm::tokens(250)).mean_tokens);
  EXPECT_GT(e.remaining_mean, 50.0);           // not 1 token: it is still running
  EXPECT_DOUBLE_EQ(e.remaining_steps(), 1.0);  // the service estimate's bound stays unconditioned

  e.r.progress.generated = rtlm::tokens(260);
  e.refresh_remaining(rtlm::tokens(16), true);  // forced
  EXPECT_EQ(e.remaining_at, rtlm::tokens(260));
}

}  // namespace
