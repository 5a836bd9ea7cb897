// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>

#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// Dynamic consolidation (RT-LM): how many of this step's admission candidates the batch takes
/// without making a running request miss a deadline that holds now. Their prefill lengthens
/// this step, and each new sequence every later decode step. Stateless; no allocation.
template <waiting_queue_policy Policy>
struct consolidation {
  /// Records running request `t`'s deadline for this step's check (one already predicted to
  /// miss is not protected at others' expense; the host's overrun policy deals with it).
  static void protect(step_context<Policy>& c, const scheduled_request<Policy>& t) noexcept {
    if (!t.deadline) return;
    c.lane.constraints.push_back(
        {.left = std::chrono::duration<double>(*t.deadline - c.now).count(),
         .steps = t.remaining_steps()});
  }

  /// The largest k such that admitting the first k of lane.candidates keeps every protected
  /// deadline. Monotone in k, so a binary search; each probe costs one O(batch) decode-time
  /// estimate. A candidate that cannot wait (must_admit()) is admitted whatever it costs:
  /// holding it back would only move the miss from a running request to it, and holding
  /// requests back without limit would starve the batch under overload. A saturated backend
  /// holds nothing back: there, a smaller batch only moves misses into the growing queue.
  /// `step_with_k` is left at the admitted batch's decode step time (seconds; unchanged when
  /// nothing is checked).
  [[nodiscard]] static std::size_t admissible(const step_context<Policy>& c, bool any_deadline,
                                              double& step_with_k) noexcept {
    const backend_lane<Policy>& s = c.lane;
    std::size_t k = s.candidates.size();
    if (!c.config.consolidate || c.saturated() || (s.constraints.empty() && !any_deadline)) {
      return k;
    }
    const double current = c.config.bound_level > 0.0
                               ? decode_seconds(c, std::span(s.batch_kv).first(s.decode_kv.size()))
                               : s.base_decode.count() * s.estimator.decode_factor();
    const auto keeps = [&](std::size_t n) {
      step_with_k = decode_seconds(c, std::span(s.batch_kv).first(s.decode_kv.size() + n));
      double extra = 0.0;
      for (std::size_t i = 0; i < n; ++i) extra += prefill_seconds(c, s.candidates[i].chunk);
      const auto held = [&](const typename backend_lane<Policy>::deadline_constraint& d) {
        return d.steps * current > d.left || extra + d.steps * step_with_k <= d.left;
      };
      return std::all_of(s.constraints.begin(), s.constraints.end(), held);
    };
    if (keeps(k)) return k;
    std::size_t lo = 0;  // admitted whatever keeps(lo) says: the candidates that cannot wait
    for (std::size_t i = 0; i < k; ++i) {
      if (must_admit(c, c.table[s.candidates[i].slot], current)) lo = i + 1;
    }
    std::size_t hi = k;  // keeps(hi) fails
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      (keeps(mid) ? lo : hi) = mid;
    }
    if (lo > 0) keeps(lo);  // leaves step_with_k at the admitted batch's step time
    return lo;
  }

  /// Whether `t` must be admitted now: it has waited consolidation_max_hold already, or its
  /// deadline can still be met but not after one more step: its prefill and bounded output, at
  /// the current decode step time `step`, fit now and no longer after waiting one such step.
  [[nodiscard]] static bool must_admit(const step_context<Policy>& c,
                                       const scheduled_request<Policy>& t, double step) noexcept {
    const double waited = std::chrono::duration<double>(c.now - t.r.arrival).count();
    if (waited >= c.config.consolidation_max_hold.count()) return true;
    if (!t.deadline) return false;
    const double left = std::chrono::duration<double>(*t.deadline - c.now).count();
    const double service = prefill_seconds(c, t.prefill_target) + t.remaining_steps() * step;
    return service <= left && left < service + step;
  }

  /// Decode and prefill times for planning: expected, or the calibrated bound at bound_level.
  [[nodiscard]] static double decode_seconds(const step_context<Policy>& c,
                                             std::span<const tokens> kv) noexcept {
    if (kv.empty()) return 0.0;
    const double level = c.config.bound_level;
    const online_step_correction& e = c.lane.estimator;
    return (level > 0.0 ? e.decode_upper_bound(kv, level) : e.decode_time(kv)).count();
  }
  [[nodiscard]] static double prefill_seconds(const step_context<Policy>& c, tokens n) noexcept {
    const double level = c.config.bound_level;
    const online_step_correction& e = c.lane.estimator;
    return (level > 0.0 ? e.prefill_upper_bound(n, tokens(0), level) : e.prefill_time(n, tokens(0)))
        .count();
  }
};

}  // namespace rtlm
