// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>

#include "rtlm/budget/in_flight_replanner.hpp"

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

RTLM_INLINE std::string_view to_string(replan_action a) noexcept {
  switch (a) {
    case replan_action::keep_going:
      return "keep_going";
    case replan_action::evict:
      return "evict";
    case replan_action::cap_output:
      return "cap_output";
    case replan_action::stop:
      return "stop";
  }
  return "unknown";
}

RTLM_INLINE replan_decision replan_at_checkpoint(const request_time_table& table,
                                                 const decode_checkpoint& at) noexcept {
  const tokens kv(std::max<std::int64_t>(0, at.kv_tokens.count()));
  const tokens more(std::max<std::int64_t>(0, at.remaining_bound.count()));
  const auto decide = [&](replan_action action, tokens keep, tokens allowed) {
    const seconds worst = table.decode_run_time(keep, allowed);
    return replan_decision{.action = action,
                           .keep_kv_tokens = keep,
                           .max_more_tokens = allowed,
                           .worst_case = worst,
                           .slack = at.remaining - worst};
  };
  const double left = at.remaining.count();
  const auto fits = [&](tokens keep) { return table.decode_run_time(keep, more).count() <= left; };
  if (fits(kv)) return decide(replan_action::keep_going, kv, more);
  const tokens fewest(std::clamp<std::int64_t>(at.min_kv_tokens.count(), 0, kv.count()));
  if (at.can_evict && fits(fewest)) {
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

}  // namespace rtlm
