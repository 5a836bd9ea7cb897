// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
// The enums whose to_string() is a table (detail::enum_name): every enumerator's name is spelled
// out here, so a table out of declaration order, or one missing or adding a name, fails.
#include "rtlm/detail/enum_names.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/budget/overrun_policy.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/estimate/step_features.hpp"
#include "rtlm/schedule/request_intake.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"

namespace {

// `expected` lists every enumerator of E, in declaration order, with its name: each must be
// named so, sit at its own index, and the value past the last must be "unknown".
template <class E>
void expect_names(std::initializer_list<std::pair<E, std::string_view>> expected) {
  std::size_t i = 0;
  for (const auto& [e, name] : expected) {
    EXPECT_EQ(static_cast<std::size_t>(e), i) << name;
    EXPECT_EQ(rtlm::to_string(e), name);
    ++i;
  }
  EXPECT_EQ(rtlm::to_string(static_cast<E>(expected.size())), "unknown");
}

// The round trip through `from_string`, for every enumerator in `expected`, and its refusals.
template <class E, class F>
void expect_round_trip(std::initializer_list<std::pair<E, std::string_view>> expected,
                       F from_string) {
  for (const auto& [e, name] : expected) {
    EXPECT_EQ(from_string(name), std::optional<E>(e)) << name;
    EXPECT_EQ(from_string(rtlm::to_string(e)), std::optional<E>(e)) << name;
  }
  EXPECT_EQ(from_string("unknown"), std::nullopt);
  EXPECT_EQ(from_string(""), std::nullopt);
  EXPECT_EQ(from_string("no_such_name"), std::nullopt);
}

TEST(EnumNames, StepFeature) {
  using rtlm::step_feature;
  const std::initializer_list<std::pair<step_feature, std::string_view>> names = {
      {step_feature::constant, "constant"},
      {step_feature::sequences, "sequences"},
      {step_feature::new_tokens, "new_tokens"},
      {step_feature::matmul_time, "matmul_time"},
      {step_feature::attention_time, "attention_time"},
      {step_feature::weight_time, "weight_time"},
      {step_feature::kv_read_time, "kv_read_time"},
      {step_feature::roofline_time, "roofline_time"},
      {step_feature::padded_kv_time, "padded_kv_time"},
      {step_feature::longest_kv_time, "longest_kv_time"},
      {step_feature::tiled_matmul_time, "tiled_matmul_time"},
      {step_feature::cached_attention_time, "cached_attention_time"},
      {step_feature::cached_sequences, "cached_sequences"},
      {step_feature::split_kv_time, "split_kv_time"},
  };
  EXPECT_EQ(names.size(), rtlm::step_feature_count);
  expect_names(names);
  expect_round_trip(names, [](std::string_view s) { return rtlm::step_feature_from_string(s); });
}

TEST(EnumNames, ReplanAction) {
  using rtlm::replan_action;
  expect_names<replan_action>({
      {replan_action::keep_going, "keep_going"},
      {replan_action::evict, "evict"},
      {replan_action::cap_output, "cap_output"},
      {replan_action::stop, "stop"},
  });
}

TEST(EnumNames, OverrunPolicy) {
  using rtlm::overrun_policy;
  const std::initializer_list<std::pair<overrun_policy, std::string_view>> names = {
      {overrun_policy::kill, "kill"},
      {overrun_policy::skip_next, "skip_next"},
  };
  expect_names(names);
  expect_round_trip(names, [](std::string_view s) { return rtlm::overrun_policy_from_string(s); });
}

TEST(EnumNames, JobOutcome) {
  using rtlm::job_outcome;
  expect_names<job_outcome>({
      {job_outcome::met, "met"},
      {job_outcome::killed, "killed"},
      {job_outcome::late, "late"},
      {job_outcome::skipped, "skipped"},
  });
}

TEST(EnumNames, GuardError) {
  using rtlm::guard_error;
  expect_names<guard_error>({
      {guard_error::none, "none"},
      {guard_error::time_went_backwards, "time_went_backwards"},
      {guard_error::deadline_before_release, "deadline_before_release"},
      {guard_error::nothing_running, "nothing_running"},
      {guard_error::stream_busy, "stream_busy"},
      {guard_error::nothing_waiting, "nothing_waiting"},
  });
}

TEST(EnumNames, BudgetShortfall) {
  using rtlm::budget_shortfall;
  expect_names<budget_shortfall>({
      {budget_shortfall::none, "none"},
      {budget_shortfall::deadline_passed, "deadline_passed"},
      {budget_shortfall::prefill_too_long, "prefill_too_long"},
      {budget_shortfall::eviction_too_weak, "eviction_too_weak"},
  });
}

TEST(EnumNames, SubmitStatus) {
  using rtlm::submit_status;
  expect_names<submit_status>({
      {submit_status::accepted, "accepted"},
      {submit_status::queue_full, "queue_full"},
      {submit_status::invalid, "invalid"},
  });
}

TEST(EnumNames, CancelStatus) {
  using rtlm::cancel_status;
  expect_names<cancel_status>({
      {cancel_status::accepted, "accepted"},
      {cancel_status::queue_full, "queue_full"},
  });
}

TEST(EnumNames, PolicyKind) {
  using rtlm::policy_kind;
  const std::initializer_list<std::pair<policy_kind, std::string_view>> names = {
      {policy_kind::first_come_first_served, "first_come_first_served"},
      {policy_kind::priority_classes, "priority_classes"},
      {policy_kind::earliest_deadline_first, "earliest_deadline_first"},
      {policy_kind::shortest_prompt_first, "shortest_prompt_first"},
      {policy_kind::shortest_predicted_first, "shortest_predicted_first"},
      {policy_kind::shortest_predicted_remaining, "shortest_predicted_remaining"},
      {policy_kind::least_laxity_first, "least_laxity_first"},
      {policy_kind::uncertainty_aware_priority, "uncertainty_aware_priority"},
      {policy_kind::shortest_remaining_work, "shortest_remaining_work"},
      {policy_kind::gittins_index, "gittins_index"},
      {policy_kind::tail_inflated_expectation, "tail_inflated_expectation"},
  };
  EXPECT_EQ(names.size(), rtlm::all_policy_kinds.size());
  expect_names(names);
  expect_round_trip(names, [](std::string_view s) { return rtlm::policy_kind_from_string(s); });
}

// The helper itself: a value past the table is "unknown"; a name not in it is nullopt.
enum class color : unsigned char { red, green, blue };
constexpr std::string_view color_names[] = {"red", "green", "blue"};

TEST(EnumNames, HelperIndexesByValue) {
  static_assert(rtlm::detail::enum_name(color::green, color_names) == "green");
  static_assert(rtlm::detail::enum_from_name<color>("blue", color_names) == color::blue);
  EXPECT_EQ(rtlm::detail::enum_name(color::red, color_names), "red");
  EXPECT_EQ(rtlm::detail::enum_name(static_cast<color>(3), color_names), "unknown");
  EXPECT_EQ(rtlm::detail::enum_name(static_cast<color>(255), color_names), "unknown");
  EXPECT_EQ(rtlm::detail::enum_from_name<color>("Red", color_names), std::nullopt);
  EXPECT_EQ(rtlm::detail::enum_from_name<color>("unknown", color_names), std::nullopt);
}

}  // namespace
