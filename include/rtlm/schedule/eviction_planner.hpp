// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <optional>

#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// TimeBill's use in the scheduler: at admission, the least KV eviction ratio whose worst case
/// meets the request's deadline; once its prompt is in the KV cache, the eviction goes into the
/// plan. Stateless; O(1) per request (the solver's table); no allocation.
template <waiting_queue_policy Policy>
struct eviction_planner {
  /// Plans `t`'s eviction ratio as it is admitted, on a backend that can evict: the solver's
  /// batch-1 times scaled by how much slower this batch's decode steps (`batch_step` seconds)
  /// are than a lone sequence's. Infeasible even at alpha_max: alpha_max, the most allowed.
  static void plan(const step_context<Policy>& c, scheduled_request<Policy>& t,
                   double batch_step) noexcept {
    t.eviction_ratio = 0.0;
    const std::optional<time_point> deadline = t.deadline;
    if (!deadline || !c.lane.caps->can_evict_kv || c.config.alpha_max <= 0.0) return;
    if (t.r.progress.generated > tokens(0)) return;  // a re-admitted request keeps its plan
    const std::array<tokens, 1> alone = {t.r.prompt_tokens + tokens(1)};
    const double lone_step = c.lane.estimator.decode_time(alone).count();
    const double slowdown = lone_step > 0.0 ? std::max(1.0, batch_step / lone_step) : 1.0;
    time_budget_problem p = time_budget_problem::until(*deadline, c.now, t.r.prompt_tokens,
                                                       t.output_bound, c.config.alpha_max);
    p.budget = p.budget / slowdown;
    t.eviction_ratio = c.lane.solver.solve(p).alpha;
    t.eviction_pending = t.eviction_ratio > 0.0;
  }

  /// Sends `t`'s planned eviction, if one is pending (its prefill is complete): the backend keeps
  /// kept_tokens_for_ratio() of its prompt's KV.
  static void send_pending(step_context<Policy>& c, scheduled_request<Policy>& t) noexcept {
    if (!t.eviction_pending) return;
    t.eviction_pending = false;
    const tokens kept = kept_tokens_for_ratio(t.r.prompt_tokens, t.eviction_ratio);
    c.lane.plan.evictions.push_back(
        {.id = t.r.id, .eviction_ratio = t.eviction_ratio, .kept_tokens = kept});
    t.kept_prompt = kept;
    t.r.progress.eviction_ratio = t.eviction_ratio;
  }
};

}  // namespace rtlm
