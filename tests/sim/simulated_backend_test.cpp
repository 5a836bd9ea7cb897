// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/simulated_backend.hpp"

#include <gtest/gtest.h>

#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;

constexpr rtlm::request_id short_request{1};
constexpr rtlm::request_id long_request{2};

// Steps whose time is only prefill (1 ms per token) and swaps (10 ms per token moved): every
// step's time says exactly which KV it moved. No noise.
class simulated_backend_test : public ::testing::Test {
 protected:
  simulated_backend_test() : backend_(config(), estimator()) {
    backend_.set_output_length(short_request, 1000_tok);
    backend_.set_output_length(long_request, 1000_tok);
  }

  static rtlm::sim::simulated_backend_config config() {
    rtlm::sim::simulated_backend_config c;
    c.capabilities.kv_capacity = 100'000_tok;
    c.capabilities.max_batch_size = 4;
    c.capabilities.can_evict_kv = true;
    c.capabilities.can_preempt_recompute = true;
    c.capabilities.can_preempt_swap = true;
    c.swap_seconds_per_token = 0.01;
    return c;
  }
  static const rtlm::test::linear_estimator& estimator() {
    static const rtlm::test::linear_estimator e = [] {
      rtlm::test::linear_estimator x;
      x.prefill_fixed = 0.0;
      x.prefill_per_token = 0.001;
      x.decode_fixed = 0.0;
      x.decode_per_sequence = 0.0;
      return x;
    }();
    return e;
  }

  // Runs `plan`, expects it to succeed, and returns the step's time.
  double run(const rtlm::step_plan& plan) {
    EXPECT_EQ(backend_.execute(plan, result_), rtlm::step_status::ok) << backend_.last_error();
    return result_.step_time.count();
  }

  // Prefills both requests (100 and 300 prompt tokens), then decodes both once: their KV holds
  // 101 and 301 entries.
  void prefill_and_decode_once() {
    rtlm::step_plan plan;
    plan.prefills = {{.id = short_request, .new_tokens = 100_tok, .computed_tokens = 0_tok},
                     {.id = long_request, .new_tokens = 300_tok, .computed_tokens = 0_tok}};
    EXPECT_DOUBLE_EQ(run(plan), 0.4);
    plan.clear();
    plan.decodes = {{.id = short_request, .kv_length = 100_tok},
                    {.id = long_request, .kv_length = 300_tok}};
    EXPECT_DOUBLE_EQ(run(plan), 0.0);
  }

  rtlm::sim::simulated_backend backend_;
  rtlm::step_result result_;
};

TEST_F(simulated_backend_test, a_swap_moves_the_swapped_requests_own_kv_each_way) {
  prefill_and_decode_once();
  rtlm::step_plan plan;
  // Out: the short request's 101 entries, whatever the long one still decoding holds.
  plan.preemptions = {{.id = short_request, .mode = rtlm::preemption_mode::swap}};
  plan.decodes = {{.id = long_request, .kv_length = 301_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 101 * 0.01);
  // In: the same 101 entries, swapped-out KV does not grow.
  plan.clear();
  plan.swap_ins = {short_request};
  plan.decodes = {{.id = short_request, .kv_length = 101_tok},
                  {.id = long_request, .kv_length = 302_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 101 * 0.01);
}

TEST_F(simulated_backend_test, a_swap_after_an_eviction_moves_only_the_kept_kv) {
  prefill_and_decode_once();
  rtlm::step_plan plan;
  // The long request keeps 50 of its 300 prompt entries, plus the one token decoded.
  plan.evictions = {{.id = long_request, .eviction_ratio = 250.0 / 300.0, .kept_tokens = 50_tok}};
  plan.decodes = {{.id = short_request, .kv_length = 101_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 0.0);
  plan.clear();
  plan.preemptions = {{.id = long_request, .mode = rtlm::preemption_mode::swap}};
  EXPECT_DOUBLE_EQ(run(plan), 51 * 0.01);
}

// A swap's copy overlaps the step's compute: the step takes the longer of the two.
TEST_F(simulated_backend_test, a_swap_overlaps_the_steps_compute) {
  prefill_and_decode_once();
  constexpr rtlm::request_id third{3};
  constexpr rtlm::request_id fourth{4};
  backend_.set_output_length(third, 1000_tok);
  backend_.set_output_length(fourth, 1000_tok);
  rtlm::step_plan plan;
  plan.preemptions = {{.id = short_request, .mode = rtlm::preemption_mode::swap}};
  plan.prefills = {{.id = third, .new_tokens = 2000_tok, .computed_tokens = 0_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 2.0);  // 2 s of prefill hides 1.01 s of copy
  plan.clear();
  plan.swap_ins = {short_request};
  plan.prefills = {{.id = fourth, .new_tokens = 500_tok, .computed_tokens = 0_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 101 * 0.01);  // 1.01 s of copy outlasts 0.5 s of prefill
}

// A prefix cache of 4 blocks of 100 tokens: a prefill skips the leading blocks it holds, and the
// least recently used blocks leave first. Prefill costs 1 ms a token.
TEST(simulated_backend_prefix_cache, a_prefill_skips_the_cached_leading_blocks) {
  rtlm::sim::simulated_backend_config c;
  c.capabilities.kv_capacity = 100'000_tok;
  c.capabilities.can_chunk_prefill = true;
  c.prefix_cache_blocks = 4;
  c.prefix_block_tokens = 100_tok;
  rtlm::test::linear_estimator e;
  e.prefill_fixed = 0.0;
  e.prefill_per_token = 0.001;
  rtlm::sim::simulated_backend backend(c, e);
  rtlm::step_result result;
  const auto prefill = [&](std::uint64_t id, std::vector<std::uint32_t> blocks) {
    const rtlm::request_id r{id};
    backend.set_output_length(r, 10_tok);
    backend.set_prefix_blocks(r, std::move(blocks));
    rtlm::step_plan plan;
    plan.prefills = {{.id = r, .new_tokens = 300_tok, .computed_tokens = 0_tok}};
    EXPECT_EQ(backend.execute(plan, result), rtlm::step_status::ok) << backend.last_error();
    return result.step_time.count();
  };
  EXPECT_DOUBLE_EQ(prefill(1, {1, 2, 3}), 0.3);  // cold
  EXPECT_DOUBLE_EQ(prefill(2, {1, 2, 9}), 0.1);  // blocks 1 and 2 cached
  EXPECT_EQ(backend.cached_prefill_tokens(), 200_tok);
  EXPECT_DOUBLE_EQ(prefill(3, {1, 2, 3}), 0.001);  // all cached but the last token
  // The cache holds 3, 2, 1, 9 (most recent first); two new blocks push out 9 and 1.
  EXPECT_DOUBLE_EQ(prefill(4, {5, 6}), 0.3);
  EXPECT_DOUBLE_EQ(prefill(5, {2, 3, 1}), 0.1);  // 2 and 3 still there; 1 went
  EXPECT_DOUBLE_EQ(prefill(6, {9}), 0.3);
}

// A chunked prefill skips the cached part chunk by chunk.
TEST(simulated_backend_prefix_cache, a_chunked_prefill_skips_the_cached_part_of_each_chunk) {
  rtlm::sim::simulated_backend_config c;
  c.capabilities.kv_capacity = 100'000_tok;
  c.capabilities.can_chunk_prefill = true;
  c.prefix_cache_blocks = 8;
  c.prefix_block_tokens = 100_tok;
  rtlm::test::linear_estimator e;
  e.prefill_fixed = 0.0;
  e.prefill_per_token = 0.001;
  rtlm::sim::simulated_backend backend(c, e);
  rtlm::step_result result;
  const auto run = [&](rtlm::request_id id, rtlm::tokens computed, rtlm::tokens n, bool last) {
    rtlm::step_plan plan;
    plan.prefills = {{.id = id, .new_tokens = n, .computed_tokens = computed, .final_chunk = last}};
    EXPECT_EQ(backend.execute(plan, result), rtlm::step_status::ok) << backend.last_error();
    return result.step_time.count();
  };
  for (const std::uint64_t id : {1U, 2U}) {
    backend.set_output_length(rtlm::request_id{id}, 10_tok);
    backend.set_prefix_blocks(rtlm::request_id{id}, {7, 8, 9});
  }
  EXPECT_DOUBLE_EQ(run(rtlm::request_id{1}, 0_tok, 300_tok, true), 0.3);
  // All 300 tokens are cached: the first chunk computes nothing, the last only the prompt's last
  // token.
  EXPECT_DOUBLE_EQ(run(rtlm::request_id{2}, 0_tok, 150_tok, false), 0.0);
  EXPECT_DOUBLE_EQ(run(rtlm::request_id{2}, 150_tok, 150_tok, true), 0.001);
}

TEST_F(simulated_backend_test, a_recompute_moves_nothing_and_its_prefill_is_charged) {
  prefill_and_decode_once();
  rtlm::step_plan plan;
  plan.preemptions = {{.id = short_request, .mode = rtlm::preemption_mode::recompute}};
  plan.decodes = {{.id = long_request, .kv_length = 301_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 0.0);
  plan.clear();
  plan.prefills = {{.id = short_request, .new_tokens = 101_tok, .computed_tokens = 0_tok}};
  EXPECT_DOUBLE_EQ(run(plan), 0.101);
}

}  // namespace
