// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/testing/fake_backend.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "rtlm/core/error.hpp"

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
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .computed_tokens = 0_tok}};
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
  plan.prefills = {
      {.id = b, .new_tokens = 200_tok, .computed_tokens = 0_tok, .final_chunk = false}};
  ASSERT_EQ(run(plan), step_status::ok);
  EXPECT_EQ(result_.outcomes[0].generated, 0_tok);

  plan.prefills = {{.id = b, .new_tokens = 50_tok, .computed_tokens = 150_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(),
            "fake_backend: prefill of request 2 starts at 150 but its KV holds 200");

  plan.prefills = {{.id = b, .new_tokens = 50_tok, .computed_tokens = 200_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_TRUE(result_.outcomes[0].finished);  // output length 1: the prefill's token ends it
  EXPECT_EQ(backend_.kv_tokens(b), 250_tok);
}

TEST_F(fake_backend_test, eviction_shrinks_only_the_prompt_kv) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 400_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok);
  plan.clear();
  plan.evictions = {{.id = a, .eviction_ratio = 0.75, .kept_tokens = 100_tok}};
  plan.decodes = {{.id = a, .kv_length = 100_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_EQ(backend_.kv_tokens(a), 101_tok);
  plan.clear();
  plan.evictions = {
      {.id = a, .eviction_ratio = 0.5, .kept_tokens = 200_tok}};  // more than it holds
  EXPECT_EQ(run(plan), step_status::backend_failure);
}

TEST_F(fake_backend_test, preemption_by_swap_and_by_recompute) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 300_tok, .computed_tokens = 0_tok},
                   {.id = b, .new_tokens = 300_tok, .computed_tokens = 0_tok}};
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
  plan.prefills = {{.id = b, .new_tokens = 301_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_EQ(backend_.kv_tokens(a), 301_tok);
  EXPECT_EQ(backend_.kv_tokens(b), 301_tok);
  EXPECT_EQ(backend_.generated(b), 2_tok);
}

TEST_F(fake_backend_test, kv_capacity_is_enforced) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 600_tok, .computed_tokens = 0_tok},
                   {.id = b, .new_tokens = 401_tok, .computed_tokens = 0_tok}};
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
  plan.prefills = {{.id = a, .new_tokens = 10_tok, .computed_tokens = 0_tok}};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "GPU fell off the bus");
  EXPECT_EQ(run(plan), step_status::ok);
  EXPECT_EQ(backend_.steps_run(), 1U);
}

// What the fake holds for each of `ids`: (held, KV on the device, generated), and the total.
using held_state = std::tuple<bool, rtlm::tokens, rtlm::tokens>;
std::map<request_id, held_state> state_of(const rtlm::testing::fake_backend& backend,
                                          const std::vector<request_id>& ids) {
  std::map<request_id, held_state> out;
  for (const request_id id : ids)
    out[id] = {backend.holds(id), backend.kv_tokens(id), backend.generated(id)};
  out[request_id{0}] = {false, backend.kv_tokens_in_use(), rtlm::tokens(0)};
  return out;
}

// After a failed step the scheduler sends its releases, preemptions, swap-ins and evictions
// again: each applied a second time leaves the fake as the first left it.
TEST_F(fake_backend_test, control_operations_applied_twice_change_nothing) {
  constexpr request_id c{3};
  constexpr request_id d{4};
  const std::vector<request_id> ids{a, b, c, d};
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .computed_tokens = 0_tok},
                   {.id = b, .new_tokens = 100_tok, .computed_tokens = 0_tok},
                   {.id = c, .new_tokens = 200_tok, .computed_tokens = 0_tok},
                   {.id = d, .new_tokens = 100_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();

  rtlm::step_plan control;
  control.releases = {d, request_id{77}};  // 77: never held
  control.preemptions = {{.id = a, .mode = rtlm::preemption_mode::swap},
                         {.id = b, .mode = rtlm::preemption_mode::recompute}};
  control.evictions = {{.id = c, .eviction_ratio = 0.75, .kept_tokens = 50_tok}};
  ASSERT_EQ(run(control), step_status::ok) << backend_.last_error();
  const auto once = state_of(backend_, ids);
  EXPECT_FALSE(backend_.holds(d));
  EXPECT_EQ(backend_.kv_tokens(a), 0_tok);  // swapped out
  EXPECT_TRUE(backend_.holds(a));
  EXPECT_EQ(backend_.kv_tokens(b), 0_tok);  // dropped
  EXPECT_EQ(backend_.generated(b), 1_tok);
  EXPECT_EQ(backend_.kv_tokens(c), 50_tok);
  ASSERT_EQ(run(control), step_status::ok) << backend_.last_error();
  EXPECT_EQ(state_of(backend_, ids), once);

  rtlm::step_plan swap_in;
  swap_in.swap_ins = {a};
  ASSERT_EQ(run(swap_in), step_status::ok) << backend_.last_error();
  const auto resident = state_of(backend_, ids);
  EXPECT_EQ(backend_.kv_tokens(a), 100_tok);
  ASSERT_EQ(run(swap_in), step_status::ok) << backend_.last_error();
  EXPECT_EQ(state_of(backend_, ids), resident);

  // The requests go on as if each operation had been sent once: a and c decode, b recomputes.
  plan.clear();
  plan.prefills = {{.id = b, .new_tokens = 101_tok, .computed_tokens = 0_tok}};
  plan.decodes = {{.id = a, .kv_length = 100_tok}, {.id = c, .kv_length = 50_tok}};
  ASSERT_EQ(run(plan), step_status::ok) << backend_.last_error();
  EXPECT_EQ(backend_.kv_tokens(b), 101_tok);
  EXPECT_EQ(backend_.kv_tokens(a), 101_tok);
  EXPECT_EQ(backend_.kv_tokens(c), 51_tok);
}

// Idempotent, not lax: a swap-in of a request with no KV anywhere is still a broken plan.
TEST_F(fake_backend_test, a_swap_in_of_a_request_without_kv_fails) {
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(run(plan), step_status::ok);
  plan.clear();
  plan.preemptions = {{.id = a, .mode = rtlm::preemption_mode::recompute}};
  ASSERT_EQ(run(plan), step_status::ok);
  plan.clear();
  plan.swap_ins = {a};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(),
            "fake_backend: swap-in of request 1, which holds no KV to bring back");
  plan.swap_ins = {b};
  EXPECT_EQ(run(plan), step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "fake_backend: swap-in of unknown request 2");
}

// The idle protocol: execute() answers an empty plan itself, so the fake runs no step.
TEST_F(fake_backend_test, an_empty_plan_is_not_a_step) {
  const rtlm::step_plan empty;
  ASSERT_EQ(run(empty), step_status::ok);
  EXPECT_TRUE(result_.outcomes.empty());
  EXPECT_EQ(result_.step_time, rtlm::seconds(0));
  EXPECT_EQ(backend_.steps_run(), 0U);
  EXPECT_EQ(backend_.busy_time(), rtlm::seconds(0));
}

TEST(fake_backend, kv_capacity_is_counted_in_whole_blocks) {
  rtlm::testing::fake_backend_config config;
  config.capabilities.kv_capacity = 1000_tok;  // 62 blocks of 16, 992 tokens
  config.capabilities.kv_block_size = 16_tok;
  rtlm::testing::fake_backend backend(config);
  rtlm::step_result result;
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 993_tok, .computed_tokens = 0_tok}};
  EXPECT_EQ(backend.execute(plan, result), step_status::backend_failure);  // 63 blocks
  EXPECT_EQ(backend.last_error(),
            "fake_backend: KV in use 993 (1008 in blocks of 16) exceeds capacity 1000 (62 blocks)");

  rtlm::testing::fake_backend fresh(config);
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .computed_tokens = 0_tok},
                   {.id = b, .new_tokens = 880_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(fresh.execute(plan, result), step_status::ok) << fresh.last_error();
  EXPECT_EQ(fresh.kv_tokens_in_use(), 980_tok);
  EXPECT_EQ(fresh.kv_footprint_in_use(), 992_tok);  // 7 + 55 blocks: every block in use
  plan.clear();
  plan.decodes = {{.id = a, .kv_length = 100_tok}};  // 101 entries still fit in 7 blocks
  ASSERT_EQ(fresh.execute(plan, result), step_status::ok) << fresh.last_error();
  plan.decodes = {{.id = b, .kv_length = 880_tok}};  // 881 entries need a 56th block
  EXPECT_EQ(fresh.execute(plan, result), step_status::backend_failure);
}

TEST(fake_backend, a_decode_step_may_emit_several_tokens) {
  rtlm::testing::fake_backend_config config;
  config.capabilities.max_tokens_per_outcome = 4_tok;
  config.tokens_per_step = 3_tok;
  config.default_output_length = 8_tok;
  rtlm::testing::fake_backend backend(config);
  backend.set_tokens_per_step(b, 4_tok);
  backend.set_output_length(b, 3_tok);
  rtlm::step_result result;
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 100_tok, .computed_tokens = 0_tok},
                   {.id = b, .new_tokens = 10_tok, .computed_tokens = 0_tok}};
  ASSERT_EQ(backend.execute(plan, result), step_status::ok) << backend.last_error();
  EXPECT_EQ(result.outcomes[0].generated, 1_tok);  // a prefill emits its first token only
  EXPECT_EQ(result.outcomes[1].generated, 1_tok);

  // Every emitted token but the last enters the KV, as with one token per step.
  const struct {
    rtlm::tokens kv_before, emitted_a, emitted_b;
    bool finished_a;
  } steps[] = {{100_tok, 3_tok, 2_tok, false}, {103_tok, 3_tok, 0_tok, false}};
  for (const auto& step : steps) {
    plan.clear();
    plan.decodes = {{.id = a, .kv_length = step.kv_before}};
    if (step.emitted_b.count() > 0) plan.decodes.push_back({.id = b, .kv_length = 10_tok});
    ASSERT_EQ(backend.execute(plan, result), step_status::ok) << backend.last_error();
    EXPECT_EQ(result.outcomes[0].generated, step.emitted_a);
    EXPECT_EQ(result.outcomes[0].finished, step.finished_a);
    if (step.emitted_b.count() > 0) {
      // b would emit 4 but has 2 left of its 3: it stops at its output length.
      EXPECT_EQ(result.outcomes[1].generated, step.emitted_b);
      EXPECT_TRUE(result.outcomes[1].finished);
      EXPECT_EQ(backend.kv_tokens(b), 12_tok);
    }
  }
  EXPECT_EQ(backend.generated(a), 7_tok);
  EXPECT_EQ(backend.kv_tokens(a), 106_tok);
  plan.clear();
  plan.decodes = {{.id = a, .kv_length = 106_tok}};
  ASSERT_EQ(backend.execute(plan, result), step_status::ok) << backend.last_error();
  EXPECT_EQ(result.outcomes[0].generated, 1_tok);  // the 8th and last
  EXPECT_TRUE(result.outcomes[0].finished);
  EXPECT_EQ(backend.kv_tokens(a), 107_tok);
}

TEST(fake_backend, tokens_per_step_past_the_declared_most_is_an_error) {
  const auto field_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return "";
  };
  rtlm::testing::fake_backend_config config;
  config.tokens_per_step = 2_tok;  // max_tokens_per_outcome is 1
  EXPECT_EQ(field_of([&] { rtlm::testing::fake_backend backend(config); }),
            "fake_backend_config.tokens_per_step");
  config.tokens_per_step = 0_tok;
  EXPECT_EQ(field_of([&] { rtlm::testing::fake_backend backend(config); }),
            "fake_backend_config.tokens_per_step");
  config.tokens_per_step = 1_tok;
  config.capabilities.max_tokens_per_outcome = 4_tok;
  rtlm::testing::fake_backend backend(config);
  EXPECT_EQ(field_of([&] { backend.set_tokens_per_step(a, 5_tok); }), "tokens_per_step");
  EXPECT_EQ(field_of([&] { backend.set_tokens_per_step(a, 0_tok); }), "tokens_per_step");
  EXPECT_EQ(field_of([&] { backend.set_tokens_per_step(a, 4_tok); }), "");
}

TEST(fake_backend, roofline_step_time_matches_the_analytic_model) {
  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());
  rtlm::testing::fake_backend_config config;
  config.step_time = rtlm::testing::fake_backend::roofline_step_time(llama, h100);
  rtlm::testing::fake_backend backend(std::move(config));
  rtlm::step_plan plan;
  plan.prefills = {{.id = a, .new_tokens = 2048_tok, .computed_tokens = 0_tok}};
  rtlm::step_result result;
  ASSERT_EQ(backend.execute(plan, result), step_status::ok);
  EXPECT_DOUBLE_EQ(result.step_time.count(),
                   h100.roofline(llama.prefill_work(2048_tok)).time().count());
}

}  // namespace
