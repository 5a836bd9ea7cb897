// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <variant>

#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"

namespace rtlm {

RTLM_INLINE queued_request make_queued_request(const request& r, std::uint64_t sequence,
                                               seconds predicted_remaining) {
  const double remaining =
      r.predicted_length ? remaining_length(*r.predicted_length, r.progress.generated).mean_tokens
                         : std::numeric_limits<double>::quiet_NaN();
  return make_queued_request(r, sequence, predicted_remaining, remaining);
}

RTLM_INLINE queued_request make_queued_request(const request& r, std::uint64_t sequence,
                                               seconds predicted_remaining,
                                               double remaining_tokens) {
  return queued_request{
      .id = r.id,
      .sequence = sequence,
      .arrival = r.arrival,
      .deadline = r.effective_deadline(),
      .priority = r.priority,
      .prompt_tokens = r.prompt_tokens,
      .predicted_length = r.predicted_length,
      .generated = r.progress.generated,
      .remaining_tokens = remaining_tokens,
      .predicted_remaining = predicted_remaining,
      .ttft_deadline = r.ttft_target && !r.progress.first_token_time
                           ? std::optional(add_saturated(r.arrival, *r.ttft_target))
                           : std::nullopt,
      .tenant = r.tenant};
}

namespace detail {

inline constexpr std::string_view policy_kind_names[] = {
    "first_come_first_served", "priority_classes",           "earliest_deadline_first",
    "shortest_prompt_first",   "shortest_predicted_first",   "shortest_predicted_remaining",
    "least_laxity_first",      "uncertainty_aware_priority", "shortest_remaining_work",
    "gittins_index",           "tail_inflated_expectation"};
static_assert(std::size(policy_kind_names) == all_policy_kinds.size());

}  // namespace detail

RTLM_INLINE std::string_view to_string(policy_kind kind) noexcept {
  return detail::enum_name(kind, detail::policy_kind_names);
}

RTLM_INLINE std::optional<policy_kind> policy_kind_from_string(std::string_view name) noexcept {
  return detail::enum_from_name<policy_kind>(name, detail::policy_kind_names);
}

namespace detail::policy {

inline void validate(const predicted_length_config& c) {
  require_non_negative_finite("predicted_length_config.seconds_per_token", c.seconds_per_token);
  require_non_negative_finite("predicted_length_config.default_length_tokens",
                              c.default_length_tokens);
}

inline void validate(const earliest_deadline_first_config& c) {
  require_non_negative_finite("earliest_deadline_first_config.default_relative_deadline",
                              c.default_relative_deadline.count());
}

}  // namespace detail::policy

RTLM_INLINE priority_classes::priority_classes(priority_classes_config config) : config_(config) {
  detail::require_non_negative_finite("priority_classes_config.class_spacing",
                                      config_.class_spacing.count());
}

RTLM_INLINE earliest_deadline_first::earliest_deadline_first(earliest_deadline_first_config config)
    : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE shortest_prompt_first::shortest_prompt_first(shortest_prompt_first_config config)
    : config_(config) {
  detail::require_non_negative_finite("shortest_prompt_first_config.seconds_per_token",
                                      config_.seconds_per_token);
}

RTLM_INLINE shortest_predicted_first::shortest_predicted_first(predicted_length_config config)
    : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE shortest_predicted_remaining::shortest_predicted_remaining(
    predicted_length_config config)
    : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE least_laxity_first::least_laxity_first(earliest_deadline_first_config config)
    : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE uncertainty_aware_priority::uncertainty_aware_priority(uncertainty_aware_config config)
    : config_(config) {
  using detail::require_non_negative_finite;
  require_non_negative_finite("uncertainty_aware_config.seconds_per_token",
                              config_.seconds_per_token);
  require_non_negative_finite("uncertainty_aware_config.default_length_tokens",
                              config_.default_length_tokens);
  require_non_negative_finite("uncertainty_aware_config.uncertainty_weight",
                              config_.uncertainty_weight);
  detail::require(std::isfinite(config_.max_inflation) && config_.max_inflation >= 1.0,
                  "uncertainty_aware_config.max_inflation", config_.max_inflation,
                  "must be a finite number >= 1");
  require_non_negative_finite("uncertainty_aware_config.class_spacing",
                              config_.class_spacing.count());
}

RTLM_INLINE shortest_remaining_work::shortest_remaining_work(remaining_work_config config)
    : config_(config) {
  detail::require_non_negative_finite("remaining_work_config.work_weight", config_.work_weight);
}

namespace detail::policy {

inline void validate(const length_distribution_config& c) {
  require_non_negative_finite("length_distribution_config.seconds_per_token", c.seconds_per_token);
  require_non_negative_finite("length_distribution_config.default_length_tokens",
                              c.default_length_tokens);
  require(c.tail_level >= 0.0 && c.tail_level < 1.0, "length_distribution_config.tail_level",
          c.tail_level, "must be in [0, 1)");
  require_non_negative_finite("length_distribution_config.tail_weight", c.tail_weight);
}

}  // namespace detail::policy

RTLM_INLINE gittins_index::gittins_index(length_distribution_config config) : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE tail_inflated_expectation::tail_inflated_expectation(length_distribution_config config)
    : config_(config) {
  detail::policy::validate(config_);
}

RTLM_INLINE any_scheduling_policy make_policy(policy_kind kind, const policy_config& config) {
  switch (kind) {
    case policy_kind::first_come_first_served:
      return first_come_first_served{};
    case policy_kind::priority_classes:
      return priority_classes(config.priority_classes);
    case policy_kind::earliest_deadline_first:
      return earliest_deadline_first(config.earliest_deadline_first);
    case policy_kind::shortest_prompt_first:
      return shortest_prompt_first(config.shortest_prompt_first);
    case policy_kind::shortest_predicted_first:
      return shortest_predicted_first(config.predicted_length);
    case policy_kind::shortest_predicted_remaining:
      return shortest_predicted_remaining(config.predicted_length);
    case policy_kind::least_laxity_first:
      return least_laxity_first(config.earliest_deadline_first);
    case policy_kind::uncertainty_aware_priority:
      return uncertainty_aware_priority(config.uncertainty_aware);
    case policy_kind::shortest_remaining_work:
      return shortest_remaining_work(config.remaining_work);
    case policy_kind::gittins_index:
      return gittins_index(config.length_distribution);
    case policy_kind::tail_inflated_expectation:
      return tail_inflated_expectation(config.length_distribution);
  }
  // Not reached for a declared enumerator; an out-of-range value is a caller's bug.
  detail::require(false, "policy_kind", static_cast<int>(kind), "must be a declared policy_kind");
  return first_come_first_served{};
}

RTLM_INLINE policy_kind kind_of(const any_scheduling_policy& p) noexcept {
  // The alternatives follow policy_kind's order (checked by a static_assert in the header).
  return static_cast<policy_kind>(p.index());
}

}  // namespace rtlm
