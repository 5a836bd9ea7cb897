// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/backend/model_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "backend/mock_model_backend.hpp"
#include "rtlm/core/error.hpp"

namespace {

using namespace rtlm::literals;
using ::testing::_;
using ::testing::Invoke;
using ::testing::ReturnRef;

class model_backend_test : public ::testing::Test {
 protected:
  void SetUp() override {
    caps_.kv_capacity = 4096_tok;
    caps_.can_chunk_prefill = true;
    ON_CALL(backend_, capabilities()).WillByDefault(ReturnRef(caps_));
    EXPECT_CALL(backend_, capabilities()).Times(::testing::AnyNumber());
    plan_.prefills = {{.id = rtlm::request_id{1}, .new_tokens = 64_tok, .computed_tokens = 0_tok}};
    plan_.decodes = {{.id = rtlm::request_id{2}, .kv_length = 100_tok}};
  }

  // A run_step that answers the plan correctly.
  static void answer(const rtlm::step_plan& plan, rtlm::step_result& result) {
    for (const auto& p : plan.prefills) result.outcomes.push_back({p.id, 1_tok, false});
    for (const auto& d : plan.decodes) result.outcomes.push_back({d.id, 1_tok, true});
    result.step_time = rtlm::seconds(0.02);
  }

  rtlm::backend_capabilities caps_;
  ::testing::StrictMock<rtlm::test::mock_model_backend> backend_;
  rtlm::step_plan plan_;
  rtlm::step_result result_;
};

TEST(model_backend_names, statuses_and_devices_are_named_after_their_enumerators) {
  EXPECT_EQ(rtlm::to_string(rtlm::step_status::ok), "ok");
  EXPECT_EQ(rtlm::to_string(rtlm::step_status::unsupported), "unsupported");
  EXPECT_EQ(rtlm::to_string(rtlm::step_status::backend_failure), "backend_failure");
  EXPECT_EQ(rtlm::to_string(rtlm::step_status::invalid_result), "invalid_result");
  EXPECT_EQ(rtlm::to_string(rtlm::device_kind::gpu), "gpu");
  EXPECT_EQ(rtlm::to_string(rtlm::device_kind::cpu), "cpu");
  EXPECT_EQ(rtlm::to_string(rtlm::device_kind::other), "other");
}

TEST_F(model_backend_test, a_good_step_is_ok) {
  EXPECT_CALL(backend_, run_step(_, _)).WillOnce(Invoke(&model_backend_test::answer));
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::ok);
  ASSERT_EQ(result_.outcomes.size(), 2U);
  EXPECT_TRUE(result_.outcomes[1].finished);
  EXPECT_EQ(result_.step_time, rtlm::seconds(0.02));
  EXPECT_EQ(backend_.last_error(), "");
}

TEST_F(model_backend_test, result_is_cleared_before_the_step) {
  result_.outcomes.push_back({rtlm::request_id{99}, 5_tok, true});
  result_.step_time = rtlm::seconds(7);
  result_.prefill_time = rtlm::seconds(6);
  EXPECT_CALL(backend_, run_step(_, _)).WillOnce(Invoke(&model_backend_test::answer));
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::ok);
  EXPECT_EQ(result_.outcomes.size(), 2U);
  EXPECT_FALSE(result_.prefill_time.has_value());
}

TEST_F(model_backend_test, undeclared_capabilities_are_refused_without_running) {
  EXPECT_CALL(backend_, run_step(_, _)).Times(0);
  rtlm::step_plan evict = plan_;
  evict.evictions = {{.id = rtlm::request_id{2}, .eviction_ratio = 0.5, .kept_tokens = 50_tok}};
  EXPECT_EQ(backend_.execute(evict, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "KV eviction is not supported");

  rtlm::step_plan swap = plan_;
  swap.preemptions = {{.id = rtlm::request_id{2}, .mode = rtlm::preemption_mode::swap}};
  EXPECT_EQ(backend_.execute(swap, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "preemption by swap is not supported");

  caps_.can_chunk_prefill = false;
  rtlm::step_plan chunk = plan_;
  chunk.prefills[0].final_chunk = false;
  EXPECT_EQ(backend_.execute(chunk, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "chunked prefill is not supported");

  caps_.max_batch_size = 1;
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::unsupported);
  caps_.max_batch_size = 0;
  caps_.max_step_tokens = 64_tok;  // 64 prefill tokens + 1 decode token
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "the plan's new tokens exceed max_step_tokens");
}

TEST_F(model_backend_test, eviction_ratio_outside_the_unit_interval_is_refused) {
  caps_.can_evict_kv = true;
  EXPECT_CALL(backend_, run_step(_, _)).Times(0);
  for (double ratio : {-0.1, 1.0, std::numeric_limits<double>::quiet_NaN()}) {
    rtlm::step_plan evict = plan_;
    evict.evictions = {{.id = rtlm::request_id{2}, .eviction_ratio = ratio, .kept_tokens = 50_tok}};
    EXPECT_EQ(backend_.execute(evict, result_), rtlm::step_status::unsupported) << ratio;
  }
}

TEST_F(model_backend_test, a_throwing_host_becomes_a_status) {
  EXPECT_CALL(backend_, run_step(_, _))
      .WillOnce([](const rtlm::step_plan&, rtlm::step_result&) {
        throw std::runtime_error("CUDA error: out of memory");
      })
      .WillOnce([](const rtlm::step_plan&, rtlm::step_result&) { throw 42; });
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "CUDA error: out of memory");
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::backend_failure);
  EXPECT_EQ(backend_.last_error(), "run_step threw a non-standard exception");
}

TEST_F(model_backend_test, results_that_break_the_contract_are_caught) {
  struct broken_case {
    const char* why;
    void (*mutate)(rtlm::step_result&);
  };
  const broken_case cases[] = {
      {"step_time is not a finite number >= 0",
       [](rtlm::step_result& r) {
         r.step_time = rtlm::seconds(std::numeric_limits<double>::quiet_NaN());
       }},
      {"step_time is not a finite number >= 0",
       [](rtlm::step_result& r) { r.step_time = rtlm::seconds(-1); }},
      {"the number of outcomes differs from the number of computed requests",
       [](rtlm::step_result& r) { r.outcomes.pop_back(); }},
      {"an outcome's id is out of plan order",
       [](rtlm::step_result& r) { std::swap(r.outcomes[0], r.outcomes[1]); }},
      {"an outcome's id is out of plan order",
       [](rtlm::step_result& r) { r.outcomes[1].id = rtlm::request_id{77}; }},
      {"an outcome generated a negative number of tokens",
       [](rtlm::step_result& r) { r.outcomes[1].generated = rtlm::tokens(-1); }},
      {"prefill_time is not a finite number >= 0",
       [](rtlm::step_result& r) {
         r.prefill_time = rtlm::seconds(std::numeric_limits<double>::quiet_NaN());
       }},
      {"prefill_time is not a finite number >= 0",
       [](rtlm::step_result& r) { r.prefill_time = rtlm::seconds(-0.001); }},
      {"prefill_time is longer than step_time",
       [](rtlm::step_result& r) { r.prefill_time = r.step_time + rtlm::seconds(1e-9); }},
  };
  for (const broken_case& c : cases) {
    EXPECT_CALL(backend_, run_step(_, _))
        .WillOnce([&c](const rtlm::step_plan& plan, rtlm::step_result& result) {
          answer(plan, result);
          c.mutate(result);
        });
    EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::invalid_result) << c.why;
    EXPECT_EQ(backend_.last_error(), c.why);
  }
}

TEST_F(model_backend_test, a_prefill_time_is_for_steps_with_prefills_only) {
  const auto split = [](const rtlm::step_plan& plan, rtlm::step_result& result) {
    answer(plan, result);
    result.prefill_time = rtlm::seconds(0.015);
  };
  EXPECT_CALL(backend_, run_step(_, _)).WillOnce(split).WillOnce(split);
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::ok);
  EXPECT_EQ(result_.prefill_time, rtlm::seconds(0.015));
  rtlm::step_plan decodes_only = plan_;
  decodes_only.prefills.clear();
  EXPECT_EQ(backend_.execute(decodes_only, result_), rtlm::step_status::invalid_result);
  EXPECT_EQ(backend_.last_error(), "prefill_time is given for a step without prefills");
}

TEST_F(model_backend_test, a_non_final_chunk_must_not_generate) {
  rtlm::step_plan chunk = plan_;
  chunk.prefills[0].final_chunk = false;
  EXPECT_CALL(backend_, run_step(_, _)).WillOnce(Invoke(&model_backend_test::answer));
  EXPECT_EQ(backend_.execute(chunk, result_), rtlm::step_status::invalid_result);
  EXPECT_EQ(backend_.last_error(), "a non-final prefill chunk generated tokens");
}

TEST_F(model_backend_test, success_clears_the_previous_error) {
  EXPECT_CALL(backend_, run_step(_, _))
      .WillOnce([](const rtlm::step_plan&, rtlm::step_result&) { throw std::runtime_error("x"); })
      .WillOnce(Invoke(&model_backend_test::answer));
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::backend_failure);
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::ok);
  EXPECT_EQ(backend_.last_error(), "");
}

// The idle protocol: an empty plan is answered without the host, ok, with nothing in the result.
TEST_F(model_backend_test, an_empty_plan_is_ok_without_calling_run_step) {
  EXPECT_CALL(backend_, run_step(_, _)).Times(0);
  caps_.can_evict_kv = false;
  rtlm::step_plan evict;
  evict.evictions = {{.id = rtlm::request_id{2}, .eviction_ratio = 0.5, .kept_tokens = 50_tok}};
  EXPECT_EQ(backend_.execute(evict, result_), rtlm::step_status::unsupported);
  result_.outcomes.push_back({rtlm::request_id{99}, 5_tok, true});
  result_.step_time = rtlm::seconds(7);
  result_.prefill_time = rtlm::seconds(6);
  const rtlm::step_plan empty;
  ASSERT_TRUE(empty.empty());
  EXPECT_EQ(backend_.execute(empty, result_), rtlm::step_status::ok);
  EXPECT_TRUE(result_.outcomes.empty());
  EXPECT_EQ(result_.step_time, rtlm::seconds(0));
  EXPECT_FALSE(result_.prefill_time.has_value());
  EXPECT_EQ(backend_.last_error(), "");  // the previous failure is cleared, as after any ok
}

// A plan with only a release is not empty: the host applies it.
TEST_F(model_backend_test, a_plan_with_only_control_operations_runs) {
  rtlm::step_plan release;
  release.releases = {rtlm::request_id{3}};
  EXPECT_CALL(backend_, run_step(_, _)).WillOnce(Invoke(&model_backend_test::answer));
  EXPECT_EQ(backend_.execute(release, result_), rtlm::step_status::ok);
  EXPECT_TRUE(result_.outcomes.empty());
}

// A speculative-decoding host declares how many tokens an outcome may carry; the check holds it
// to that, for decodes and final prefill chunks alike, and a non-final chunk still emits none.
TEST_F(model_backend_test, an_outcome_may_carry_up_to_max_tokens_per_outcome) {
  const auto emit = [](rtlm::tokens n) {
    return [n](const rtlm::step_plan& plan, rtlm::step_result& result) {
      answer(plan, result);
      for (rtlm::request_outcome& o : result.outcomes) o.generated = n;
    };
  };
  EXPECT_CALL(backend_, run_step(_, _))
      .WillOnce(emit(2_tok))
      .WillOnce(emit(4_tok))
      .WillOnce(emit(5_tok))
      .WillOnce(Invoke(&model_backend_test::answer));
  // The default, 1: two tokens are refused, naming the capability.
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::invalid_result);
  EXPECT_EQ(backend_.last_error(), "an outcome generated more tokens than max_tokens_per_outcome");

  caps_.max_tokens_per_outcome = 4_tok;
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::ok) << backend_.last_error();
  EXPECT_EQ(result_.outcomes[0].generated, 4_tok);  // the final prefill chunk
  EXPECT_EQ(result_.outcomes[1].generated, 4_tok);  // the decode
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::invalid_result);
  EXPECT_EQ(backend_.last_error(), "an outcome generated more tokens than max_tokens_per_outcome");

  rtlm::step_plan chunk = plan_;
  chunk.prefills[0].final_chunk = false;
  EXPECT_EQ(backend_.execute(chunk, result_), rtlm::step_status::invalid_result);
  EXPECT_EQ(backend_.last_error(), "a non-final prefill chunk generated tokens");
}

TEST_F(model_backend_test, malformed_capabilities_are_refused_without_running) {
  EXPECT_CALL(backend_, run_step(_, _)).Times(0);
  caps_.kv_block_size = 0_tok;
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "backend_capabilities.kv_block_size is < 1");
  caps_.kv_block_size = 16_tok;
  caps_.max_tokens_per_outcome = 0_tok;
  EXPECT_EQ(backend_.execute(plan_, result_), rtlm::step_status::unsupported);
  EXPECT_EQ(backend_.last_error(), "backend_capabilities.max_tokens_per_outcome is < 1");
}

// The field validate() blames, or "" when it accepts `caps`.
std::string blamed_field(const rtlm::backend_capabilities& caps) {
  try {
    caps.validate();
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(backend_capabilities, validate_names_the_unusable_field) {
  rtlm::backend_capabilities caps;
  caps.name = "gpu0";
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.kv_capacity");
  caps.kv_capacity = 1000_tok;
  EXPECT_EQ(blamed_field(caps), "");
  EXPECT_EQ(caps.kv_block_size, 1_tok);           // allocated per token by default
  EXPECT_EQ(caps.max_tokens_per_outcome, 1_tok);  // one token per outcome by default

  caps.kv_block_size = 0_tok;
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.kv_block_size");
  caps.kv_block_size = 1001_tok;  // not one block fits
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.kv_block_size");
  try {
    caps.validate();
    ADD_FAILURE() << "validate() accepted kv_block_size 1001";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.value(), "1001");
    EXPECT_STREQ(e.what(),
                 "rtlm: backend_capabilities.kv_block_size = 1001: must be in [1, kv_capacity = "
                 "1000] (backend 'gpu0')");
  }
  caps.kv_block_size = 1000_tok;
  EXPECT_EQ(blamed_field(caps), "");
  caps.kv_block_size = 16_tok;

  caps.max_tokens_per_outcome = 0_tok;
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.max_tokens_per_outcome");
  caps.max_tokens_per_outcome = 8_tok;
  EXPECT_EQ(blamed_field(caps), "");

  caps.max_batch_size = -1;
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.max_batch_size");
  caps.max_batch_size = 0;
  caps.max_step_tokens = rtlm::tokens(-1);
  EXPECT_EQ(blamed_field(caps), "backend_capabilities.max_step_tokens");
}

TEST(backend_capabilities, kv_footprint_rounds_up_to_whole_blocks) {
  rtlm::backend_capabilities caps;
  caps.kv_capacity = 1000_tok;
  EXPECT_EQ(caps.kv_footprint(17_tok), 17_tok);  // 1-token blocks: as is
  EXPECT_EQ(caps.usable_kv_capacity(), 1000_tok);
  caps.kv_block_size = 16_tok;
  EXPECT_EQ(caps.kv_footprint(0_tok), 0_tok);
  EXPECT_EQ(caps.kv_footprint(1_tok), 16_tok);
  EXPECT_EQ(caps.kv_footprint(16_tok), 16_tok);
  EXPECT_EQ(caps.kv_footprint(17_tok), 32_tok);
  EXPECT_EQ(caps.kv_footprint(rtlm::tokens(-5)), rtlm::tokens(-5));
  EXPECT_EQ(caps.usable_kv_capacity(), 992_tok);  // 62 whole blocks
  constexpr rtlm::tokens::rep big = std::numeric_limits<rtlm::tokens::rep>::max() - 16;
  EXPECT_EQ(caps.kv_footprint(rtlm::tokens(big)).count() % 16, 0);
  EXPECT_GE(caps.kv_footprint(rtlm::tokens(big)), rtlm::tokens(big));
  caps.kv_block_size = 0_tok;  // malformed: taken as 1, never a division by zero
  EXPECT_EQ(caps.kv_footprint(17_tok), 17_tok);
  EXPECT_EQ(caps.usable_kv_capacity(), 1000_tok);
}

TEST(step_plan, clear_keeps_capacity_and_empties) {
  rtlm::step_plan plan;
  plan.decodes.resize(32);
  plan.releases.resize(4);
  const std::size_t capacity = plan.decodes.capacity();
  EXPECT_FALSE(plan.empty());
  plan.clear();
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.computed(), 0U);
  EXPECT_EQ(plan.decodes.capacity(), capacity);
}

}  // namespace
