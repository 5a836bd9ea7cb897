// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>

#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

RTLM_INLINE tokens remaining_length_bound(const length_distribution& predicted, tokens produced,
                                          double coverage, tokens max_new_tokens) noexcept {
  const std::int64_t done = std::max<std::int64_t>(0, produced.count());
  const std::int64_t cap = max_new_tokens.count() - done;
  if (cap <= 0) return tokens(0);
  const double below = predicted.cdf(static_cast<double>(done));
  if (predicted.bucket_count() == 0 || !(1.0 - below > 1e-9)) return tokens(cap);
  const double q = std::isnan(coverage) ? 0.5 : std::clamp(coverage, 0.0, 1.0);
  const double length = predicted.quantile_value(below + q * (1.0 - below));
  const auto more = static_cast<std::int64_t>(std::ceil(length)) - done;
  return tokens(std::clamp<std::int64_t>(more, 1, cap));
}

namespace detail {

inline constexpr std::string_view replan_action_names[] = {"keep_going", "evict", "cap_output",
                                                           "stop"};

}  // namespace detail

RTLM_INLINE std::string_view to_string(replan_action a) noexcept {
  return detail::enum_name(a, detail::replan_action_names);
}

RTLM_INLINE replan_decision replan_at_checkpoint(const request_time_table& table,
                                                 const decode_checkpoint& at) noexcept {
  const tokens kv(std::max<std::int64_t>(0, at.kv_tokens.count()));
  const tokens more(std::max<std::int64_t>(0, at.remaining_bound.count()));
  const seconds cost(std::max(0.0, at.eviction_time.count()));
  const auto decide = [&](replan_action action, tokens keep, tokens allowed) {
    const seconds worst = table.decode_run_time(keep, allowed) + (keep < kv ? cost : seconds(0));
    return replan_decision{.action = action,
                           .keep_kv_tokens = keep,
                           .max_more_tokens = allowed,
                           .worst_case = worst,
                           .slack = at.remaining - worst};
  };
  const double left = at.remaining.count();
  if (table.decode_run_time(kv, more).count() <= left)
    return decide(replan_action::keep_going, kv, more);
  const auto fits = [&](tokens keep) {
    return (table.decode_run_time(keep, more) + cost).count() <= left;
  };
  const tokens fewest(std::clamp<std::int64_t>(at.min_kv_tokens.count(), 0, kv.count()));
  if (at.can_evict && fewest < kv && fits(fewest)) {
    std::int64_t lo = fewest.count();  // fits
    std::int64_t hi = kv.count();      // does not
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      (fits(tokens(mid)) ? lo : hi) = mid;
    }
    return decide(replan_action::evict, tokens(lo), more);
  }
  const tokens allowed = std::min(more, table.max_decode_steps(kv, at.remaining));
  if (allowed.count() == 0) return decide(replan_action::stop, kv, tokens(0));
  return decide(replan_action::cap_output, kv, allowed);
}

RTLM_INLINE replan_decision replan_best_effort(const request_time_table& table,
                                               const decode_checkpoint& at,
                                               const length_distribution& predicted,
                                               tokens produced, double min_gain) {
  detail::require(min_gain >= 0.0 && min_gain <= 1.0, "replan_best_effort min_gain", min_gain,
                  "must be in [0, 1]");
  const replan_decision plain = replan_at_checkpoint(table, at);
  if (plain.action == replan_action::keep_going || plain.action == replan_action::evict ||
      !at.can_evict)
    return plain;
  const tokens kv(std::max<std::int64_t>(0, at.kv_tokens.count()));
  const tokens fewest(std::clamp<std::int64_t>(at.min_kv_tokens.count(), 0, kv.count()));
  const auto done = static_cast<double>(std::max<std::int64_t>(0, produced.count()));
  const double below = predicted.cdf(done);
  if (fewest >= kv || predicted.bucket_count() == 0 || !(1.0 - below > 1e-9)) return plain;
  const seconds cost(std::max(0.0, at.eviction_time.count()));
  const tokens more(std::max<std::int64_t>(0, at.remaining_bound.count()));
  const auto allowed = [&](std::int64_t keep) {
    const seconds left = at.remaining - (keep < kv.count() ? cost : seconds(0));
    return std::min(more, table.max_decode_steps(tokens(keep), left));
  };
  const auto chance = [&](std::int64_t keep) {
    const double finished = done + static_cast<double>(allowed(keep).count());
    return (predicted.cdf(finished) - below) / (1.0 - below);
  };
  // The chance grows as less KV is kept, past the step of the eviction's own cost between
  // keeping all and one entry less; keep the most whose chance is within min_gain of the best.
  const double wanted = std::max(chance(fewest.count()), chance(kv.count())) - min_gain;
  if (chance(kv.count()) >= wanted) return plain;
  std::int64_t lo = fewest.count();  // meets `wanted`
  std::int64_t hi = kv.count();      // does not
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (chance(mid) >= wanted ? lo : hi) = mid;
  }
  // The bound still does not fit: the worst case is the bound's, the slack negative.
  const seconds worst = table.decode_run_time(tokens(lo), more) + cost;
  return replan_decision{.action = replan_action::evict,
                         .keep_kv_tokens = tokens(lo),
                         .max_more_tokens = allowed(lo),
                         .worst_case = worst,
                         .slack = at.remaining - worst};
}

}  // namespace rtlm
