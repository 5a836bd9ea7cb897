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
