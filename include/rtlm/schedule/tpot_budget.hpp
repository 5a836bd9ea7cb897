// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>

#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// A step sized to the running requests' TPOT targets (slo_config::tpot_budget): Sarathi-Serve's
/// token budget, chosen every step from the estimator instead of fixed offline.
///
/// The allowance: a TPOT target bounds a mean, so a request may run a step longer than its
/// target when it banked time before or will bank it after. With h = tpot_headroom, a decoding
/// request (not relegated) with target p, g tokens out, its first token e seconds ago and r
/// more steps to come (the prediction's conservative remaining length, exceeded with
/// probability 0.9) allows the step h p g - e + (r - 1)(h p - d) seconds, d the decodes' step
/// time now: its mean stays within h p if the steps after it take d. A request still
/// prefilling allows any step (its TPOT starts with its first token). The step is planned to
/// the least allowance.
///
/// The step: the decodes first, then as many prompt tokens as fit (timed at no cached
/// context). A room of fewer than min_prefill_tokens runs the decodes and the chunks of
/// requests awaiting a first token (up to min_prefill_tokens) only, banking the rest
/// (lane.prefill_banked): every step that prefills pays a fixed cost besides its tokens. When
/// the decodes alone exceed the allowance, the decodes of requests without a TPOT target (or
/// relegated) sit the step out, never two steps in a row; alternating keeps a mean of h p while
/// a full step takes at most 2 h p less a targeted-only one, and past that no request without
/// a TPOT target is admitted (lane.decodes_over_tpot): it would only add to the decodes.
/// Stateless; O(batch + log budget) estimator calls; no allocation.
template <waiting_queue_policy Policy>
struct tpot_budget {
  /// Fits the planned decodes and the step's token budget (c.budget) to the TPOT targets.
  /// Called once the running requests' decodes are planned and before any prefill is.
  static void fit(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    s.decodes_over_tpot = false;
    s.prefill_banked = false;
    if (!c.config.slo.tpot_budget) return;
    double decode = decode_seconds(s);
    double tightest = std::numeric_limits<double>::infinity();
    const double limit = allowance(c, decode, tightest);
    if (!std::isfinite(limit)) return;
    if (decode > limit) {
      const double full = decode;
      skip_untargeted(c);
      decode = decode_seconds(s);
      s.decodes_over_tpot = full > 2.0 * c.config.slo.tpot_headroom * tightest - decode;
    } else {
      for (const plan_entry& e : s.decode_entries) c.table[e.slot].decode_skipped = false;
    }
    const tokens fitting = prefill_fitting(c, limit - decode);
    s.prefill_banked = fitting < c.config.slo.min_prefill_tokens;
    c.budget = std::min(c.budget, std::max(fitting, c.config.slo.min_prefill_tokens));
  }

 private:
  // The least time the decoding requests' TPOT targets allow the step, seconds, and their least
  // target (`tightest`); infinity if none has one (relegated requests have none to keep).
  static double allowance(const step_context<Policy>& c, double decode, double& tightest) noexcept {
    const double h = c.config.slo.tpot_headroom;
    double least = std::numeric_limits<double>::infinity();
    for (const std::uint32_t slot : c.lane.running) {
      const scheduled_request<Policy>& t = c.table[slot];
      if (!t.r.tpot_target || t.relegated || !t.r.progress.first_token_time) continue;
      const double since =
          std::chrono::duration<double>(c.now - *t.r.progress.first_token_time).count();
      const double p = h * t.r.tpot_target->count();
      const auto out = static_cast<double>(t.r.progress.generated.count());
      const double a = p * out - since + (steps_left(t) - 1.0) * std::max(p - decode, 0.0);
      least = std::min(least, a);
      tightest = std::min(tightest, t.r.tpot_target->count());
    }
    return least;
  }

  // The steps `t` is still to run, conservatively: at least 1.
  static double steps_left(const scheduled_request<Policy>& t) noexcept {
    const auto since = static_cast<double>((t.r.progress.generated - t.remaining_at).count());
    double left = std::isfinite(t.remaining_low) ? t.remaining_low - since : 1.0;
    if (t.r.max_new_tokens) {
      left = std::min(left,
                      static_cast<double>((*t.r.max_new_tokens - t.r.progress.generated).count()));
    }
    return std::max(left, 1.0);
  }

  static double decode_seconds(const backend_lane<Policy>& s) noexcept {
    return s.decode_kv.empty() ? 0.0 : s.estimator.decode_time(s.decode_kv).count();
  }

  // Drops from the plan the decodes of requests with no TPOT target to keep (or relegated) that
  // ran in the last step; the rest run, and their skip marks clear.
  static void skip_untargeted(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < s.decode_entries.size(); ++i) {
      scheduled_request<Policy>& t = c.table[s.decode_entries[i].slot];
      const bool untargeted = !t.r.tpot_target || t.relegated;
      if (untargeted && !t.decode_skipped) {
        t.decode_skipped = true;
        c.budget += tokens(1);
        continue;
      }
      t.decode_skipped = false;
      s.plan.decodes[kept] = s.plan.decodes[i];
      s.decode_entries[kept] = s.decode_entries[i];
      s.decode_kv[kept] = s.decode_kv[i];
      ++kept;
    }
    s.plan.decodes.resize(kept);
    s.decode_entries.resize(kept);
    s.decode_kv.resize(kept);
  }

  // The most prompt tokens (up to c.budget) whose prefill the estimator times within `room`.
  static tokens prefill_fitting(const step_context<Policy>& c, double room) noexcept {
    const online_step_correction& e = c.lane.estimator;
    const auto fits = [&](tokens n) { return e.prefill_time(n, tokens(0)).count() <= room; };
    if (room <= 0.0 || !fits(tokens(1))) return tokens(0);
    tokens lo(1);
    tokens hi = c.budget;
    if (hi <= lo || fits(hi)) return std::max(hi, tokens(0));
    while (hi - lo > tokens(1)) {  // fits(lo), !fits(hi)
      const tokens mid = lo + tokens((hi - lo).count() / 2);
      (fits(mid) ? lo : hi) = mid;
    }
    return lo;
  }
};

}  // namespace rtlm
