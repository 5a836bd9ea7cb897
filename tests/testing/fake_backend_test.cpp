// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/testing/fake_backend.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace rtlm::literals;
using rtlm::request_id;
using rtlm::step_status;

constexpr request_id a{1};
constexpr request_id b{2};

class fake_backend_test : public ::testing::Test {
 protected:
  step_status run(const rtlm::step_plan& plan) { return backend_.execute(plan, result_); }

  // Built field by field: GCC 12 warns falsely (maybe-uninitialized) on a nested designated
  // initializer holding a std::string at -O2.
  static rtlm::testing::fake_backend_config config() {
    rtlm::testing::fake_backend_config c;
    c.capabilities.name = "fake";
    c.capabilities.kv_capacity = 1000_tok;
    c.capabilities.can_chunk_prefill = true;
    c.capabilities.can_evict_kv = true;
    c.capabilities.can_preempt_recompute = true;
    c.capabilities.can_preempt_swap = true;
    c.default_output_length = 3_tok;
    return c;
  }

  rtlm::testing::fake_backend backend_{config()};
  rtlm::step_result result_;
};

TEST_F(fake_backend_test, a_request_runs_to_its_output_length) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .cached_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  ASSERT_EQ(result_.outcomes.size(), 1U);
  EXPECT_EQ(result_.outcomes[0].generated, 1_tok);
  EXPECT_FALSE(result_.outcomes[0].finished);
  EXPECT_EQ(backend_.kv_tokens(a), 100_tok);

  plan.clear();
  plan.decodes = {{.id = a, .kv_length = 100_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_FALSE(result_.outcomes[0].finished);
  plan.decodes = {{.id = a, .kv_length = 101_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_TRUE(result_.outcomes[0].finished);
  EXPECT_EQ(backend_.generated(a), 3_tok);
  EXPECT_EQ(backend_.kv_tokens(a), 102_tok);

  // A finished request decodes no more; once released its state is gone.
  plan.decodes = {{.id = a, .kv_length = 102_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  plan.clear();
  plan.releases = {a};
  ASSERT_EQ(run(plan), step_status::ok);
  EXPECT_FALSE(backend_.holds(a));
  EXPECT_EQ(backend_.kv_tokens_in_use(), 0_tok);
  EXPECT_EQ(backend_.steps_run(), 4U);
  EXPECT_DOUBLE_EQ(backend_.busy_time().count(), 0.040);
}

TEST_F(fake_backend_test, chunked_prefill_must_continue_where_the_kv_ends) {
  backend_.set_output_length(b, 1_tok);
  rtlm::step_plan plan;
  plan.prefills = {{.id = b, .new_tokens = 200_tok, .cached_tokens = 0_tok, .final_chunk = false}};
  ASSERT_EQ(run(plan), step_status::ok);
  EXPECT_EQ(result_.outcomes[0].generated, 0_tok);

  plan.prefills = {{.id = b, .new_tokens = 50_tok, .cached_tokens = 150_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(),
            "fake_backend: prefill of request 2 starts at 150 but its KV holds 200");

  plan.prefills = {{.id = b, .new_tokens = 50_tok, .cached_tokens = 200_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_TRUE(result_.outcomes[0].finished);  // output length 1: the prefill's token ends it
  EXPECT_EQ(backend_.kv_tokens(b), 250_tok);
}

TEST_F(fake_backend_test, eviction_shrinks_only_the_prompt_kv) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 400_tok, .cached_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok);
  plan.clear();
  plan.evictions = {{.id = a, .ratio = 0.75, .kept_tokens = 100_tok}};
  plan.decodes = {{.id = a, .kv_length = 100_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_EQ(backend_.kv_tokens(a), 101_tok);
  plan.clear();
  plan.evictions = {{.id = a, .ratio = 0.5, .kept_tokens = 200_tok}};  // more than it holds
  EXPECT_EQ(run(plan), step_status::backend_failure);
}

TEST_F(fake_backend_test, preemption_by_swap_and_by_recompute) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 300_tok, .cached_tokens = 0_tok},
                   {.id = b, .new_tokens = 300_tok, .cached_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok);

  plan.clear();
  plan.preemptions = {{.id = a, .mode = rtlm::preemption_mode::swap},
                      {.id = b, .mode = rtlm::preemption_mode::recompute}};
  ASSERT_EQ(run(plan), step_status::ok);
  EXPECT_EQ(backend_.kv_tokens(a), 0_tok);  // swapped out: off the device
  EXPECT_TRUE(backend_.holds(a));
  EXPECT_EQ(backend_.kv_tokens(b), 0_tok);
  EXPECT_EQ(backend_.generated(b), 1_tok);  // what it generated survives the recompute

  plan.clear();
  plan.decodes = {{.id = a, .kv_length = 300_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);  // swapped out, cannot decode
  plan.swap_ins = {a};
  // b recomputes its prompt plus the token it generated; its prefill emits its next token.
  plan.prefills = {{.id = b, .new_tokens = 301_tok, .cached_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_EQ(backend_.kv_tokens(a), 301_tok);
  EXPECT_EQ(backend_.kv_tokens(b), 301_tok);
  EXPECT_EQ(backend_.generated(b), 2_tok);
}

TEST_F(fake_backend_test, kv_capacity_is_enforced) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 600_tok, .cached_tokens = 0_tok},
                   {.id = b, .new_tokens = 401_tok, .cached_tokens = 0_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "fake_backend: KV in use 1001 exceeds capacity 1000");
}

TEST_F(fake_backend_test, decode_of_an_unknown_request_fails) {
  rtlm::step_plan plan;
  plan.decodes = {{.id = a, .kv_length = 10_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "fake_backend: decode of unknown request 1");
}

TEST_F(fake_backend_test, injected_failure_hits_the_next_step_only) {
  backend_.fail_next_step("GPU fell off the bus");
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 10_tok, .cached_tokens = 0_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "GPU fell off the bus");
  EXPECT_EQ(run(plan), step_status::ok);
  EXPECT_EQ(backend_.steps_run(), 1U);
}

TEST(fake_backend, roofline_step_time_matches_the_analytic_model) {
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());
  rtlm::testing::fake_backend_config config;
  config.step_time = rtlm::testing::fake_backend::roofline_step_time(llama, h100);
  rtlm::testing::fake_backend backend(std::move(config));
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 2048_tok, .cached_tokens = 0_tok}};
  rtlm::step_result result;
  ASSERT_EQ(backend.execute(plan, result), step_status::ok);
  EXPECT_DOUBLE_EQ(result.step_time.count(),
                   h100.roofline(llama.prefill_work(2048_tok)).time().count());
}

}  // namespace
