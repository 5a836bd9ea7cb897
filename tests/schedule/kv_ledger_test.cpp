// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/kv_ledger.hpp"

#include <gtest/gtest.h>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::tokens;
using fixture = rtlm::test::part_fixture<>;

TEST(kv_ledger, a_request_reserves_its_prompt_and_output_bound) {
  fixture f;
  const auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  EXPECT_EQ(f.lane.kv.need(t), tokens(140));
}

TEST(kv_ledger, reservations_are_whole_blocks) {
  auto caps = fixture::default_caps();
  caps.kv_block_size = tokens(16);
  fixture f(caps);
  auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  EXPECT_EQ(f.lane.kv.need(t), tokens(144));  // 140 -> 9 blocks
  f.lane.kv.reserve(t, f.lane.kv.need(t));
  // Decoding past the bound grows the reservation a block at a time.
  t.prefilled = t.prefill_target;
  t.r.progress.generated = tokens(45);  // holds 100 + 44 = 144 entries, needs 145
  f.lane.kv.grow(t);
  EXPECT_EQ(t.reserved, tokens(160));
  EXPECT_EQ(f.lane.kv.reserved(), tokens(160));
}

TEST(kv_ledger, on_demand_a_request_reserves_its_prompt_and_grows_block_by_block) {
  auto caps = fixture::default_caps();
  caps.kv_block_size = tokens(16);
  auto config = fixture::small_config();
  config.kv_rule = rtlm::kv_reservation::on_demand;
  fixture f(caps, config);
  auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  EXPECT_EQ(f.lane.kv.need(t), tokens(112));  // 101 -> 7 blocks; the bound of 40 is ignored
  f.lane.kv.reserve(t, f.lane.kv.need(t));
  t.prefilled = t.prefill_target;
  t.r.progress.generated = tokens(12);  // holds 100 + 11 = 111 entries, needs 112
  f.lane.kv.grow(t);
  EXPECT_EQ(t.reserved, tokens(112));
  t.r.progress.generated = tokens(13);  // needs 113: one more block
  f.lane.kv.grow(t);
  EXPECT_EQ(t.reserved, tokens(128));
  EXPECT_EQ(f.lane.kv.reserved(), tokens(128));
}

TEST(kv_ledger, on_demand_on_a_backend_that_cannot_preempt_still_reserves_the_output_cap) {
  auto caps = fixture::default_caps();
  caps.can_preempt_recompute = false;
  caps.can_preempt_swap = false;
  auto config = fixture::small_config();
  config.kv_rule = rtlm::kv_reservation::on_demand;
  fixture f(caps, config);
  auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  EXPECT_EQ(f.lane.kv.need(t), tokens(100) + f.config.max_output_tokens);
}

TEST(kv_ledger, a_backend_that_cannot_preempt_reserves_the_output_cap) {
  auto caps = fixture::default_caps();
  caps.can_preempt_recompute = false;
  caps.can_preempt_swap = false;
  fixture f(caps);
  auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  EXPECT_EQ(f.lane.kv.need(t), tokens(100) + f.config.max_output_tokens);
  t.r.max_new_tokens = tokens(64);
  EXPECT_EQ(f.lane.kv.need(t), tokens(164));
}

TEST(kv_ledger, fits_and_over_commitment_follow_the_reservations) {
  auto caps = fixture::default_caps();
  caps.kv_capacity = tokens(300);
  fixture f(caps);
  auto& a = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  f.lane.kv.reserve(a, tokens(140));
  EXPECT_TRUE(f.lane.kv.fits(tokens(160)));
  EXPECT_FALSE(f.lane.kv.fits(tokens(161)));
  a.prefilled = a.prefill_target;
  a.r.progress.generated = tokens(250);  // a wrong prediction: far past its bound
  f.lane.kv.grow(a);
  EXPECT_TRUE(f.lane.kv.over_committed());
  f.lane.kv.release(a);
  EXPECT_EQ(f.lane.kv.reserved(), tokens(0));
  EXPECT_EQ(a.reserved, tokens(0));
}

TEST(kv_ledger, a_speculative_backend_reserves_room_for_a_whole_outcome) {
  auto caps = fixture::default_caps();
  caps.max_tokens_per_outcome = tokens(4);
  fixture f(caps);
  auto& t = f.table[f.queue(1, tokens(100), 10, tokens(40))];
  f.lane.kv.reserve(t, f.lane.kv.need(t));
  t.prefilled = t.prefill_target;
  t.r.progress.generated = tokens(41);  // holds 140 entries; its next decode may append 4
  f.lane.kv.grow(t);
  EXPECT_EQ(t.reserved, tokens(144));
}

}  // namespace
