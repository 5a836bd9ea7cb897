// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/schedule/backend_lane.hpp"
#include "rtlm/schedule/placement.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/scheduler_event.hpp"

namespace rtlm {

/// What the arrival gate decided for one request.
struct gate_verdict {
  bool queued = false;      ///< queue it on `backend`; otherwise it is rejected for `reason`
  std::size_t backend = 0;  ///< where it goes
  seconds service{0};       ///< its predicted isolated service there
  /// downgraded or deadline_relaxed when admission control changed the request (reported before
  /// it is queued), with `reason`.
  std::optional<request_event_kind> changed;
  request_event_reason reason = request_event_reason::none;
};

/// The arrival gate: placement and admission control for a request the scheduler takes in.
/// Placement considers every backend whose KV can hold the request (and, where prompts are
/// prefilled whole, whose step can take its prompt), with each one's predicted wait and service
/// (place_request()); admission control asks whether any of them can meet the request's deadline
/// alone, at alpha_max where it can evict, and applies config.admission when none can.
/// O(backends) per request plus one budget solve per backend; no allocation after reserve().
/// Not thread-safe (the scheduler's thread).
template <waiting_queue_policy Policy>
class arrival_gate {
 public:
  using lanes = std::vector<std::unique_ptr<backend_lane<Policy>>>;

  explicit arrival_gate(const scheduler_config& config) : config_(&config) {}

  /// Sizes the scratch buffers for `backends` backends. Allocates.
  void reserve(std::size_t backends) {
    options_.reserve(backends);
    option_backend_.reserve(backends);
  }

  /// Decides where `t` (its output lengths and prefill target set) goes, or why it is refused.
  /// May change `t.r` (admission_mode downgrade or relax_deadline).
  gate_verdict judge(scheduled_request<Policy>& t, const lanes& backends, time_point now) noexcept {
    options_.clear();
    option_backend_.clear();
    for (std::size_t b = 0; b < backends.size(); ++b) {
      const backend_lane<Policy>& s = *backends[b];
      if (s.kv.need(t) > s.kv.capacity() || !prefill_fits_a_step(t, *s.caps)) continue;
      options_.push_back(
          {.device = s.caps->device, .wait = s.predicted_wait(), .service = s.isolated_service(t)});
      option_backend_.push_back(b);
    }
    if (options_.empty()) return {.reason = request_event_reason::too_long};
    gate_verdict v;
    if (t.r.effective_deadline() && config_->admission != admission_mode::accept) {
      v = admission_control(t, backends, now);
      if (v.reason != request_event_reason::none && !v.changed) return v;
    }
    t.deadline = t.r.effective_deadline();  // after admission control, which may change it
    const placement_decision d = place_request(
        options_,
        {.deadline = t.deadline, .priority = t.r.priority, .output_bound = t.output_bound},
        config_->offload, now);
    v.queued = true;
    v.backend = option_backend_[d.backend];
    v.service = options_[d.backend].service;
    return v;
  }

 private:
  // Whether a backend that prefills a prompt whole (static batches, or no chunked prefill) can
  // take `t`'s in one step of its max_step_tokens; a backend that chunks always can.
  static bool prefill_fits_a_step(const scheduled_request<Policy>& t,
                                  const backend_capabilities& caps) noexcept {
    const bool whole = caps.batching == batching_mode::static_batch || !caps.can_chunk_prefill;
    return !whole || caps.max_step_tokens.count() <= 0 || t.prefill_target <= caps.max_step_tokens;
  }

  // Can any placement option meet `t`'s deadline alone, at alpha_max where it can evict, for the
  // output length config.admission_length says? If not, applies config.admission: a verdict with
  // no reason admits it unchanged.
  gate_verdict admission_control(scheduled_request<Policy>& t, const lanes& backends,
                                 time_point now) noexcept {
    const scheduler_config& config = *config_;
    const time_point deadline = *t.r.effective_deadline();
    request_event_reason worst = request_event_reason::deadline_passed;
    seconds shortest{std::numeric_limits<double>::infinity()};
    for (const std::size_t b : option_backend_) {
      const backend_lane<Policy>& s = *backends[b];
      const double alpha = s.caps->can_evict_kv ? config.alpha_max : 0.0;
      const bool saturated = s.predicted_wait() >= config.offload.saturated_wait;
      const bool expected =
          config.admission_length == admission_basis::expected_length || saturated;
      time_budget_problem judged = time_budget_problem::until(
          deadline, now, t.r.prompt_tokens, expected ? t.output_mean : tokens(1), alpha);
      if (config.admission_at_current_pace) {
        // At the pace the backend runs now: after its predicted wait, every step as slow as its
        // last one over this request's own step alone.
        const double alone = s.solver.table().decode_run_time(t.r.prompt_tokens, tokens(1)).count();
        const double pace =
            !s.running.empty() && alone > 0.0 ? std::max(1.0, s.predicted.count() / alone) : 1.0;
        judged.budget = (judged.budget - s.predicted_wait()) / pace;
      }
      const time_budget_plan plan = s.solver.solve(judged);
      if (plan.feasible()) return {};
      // The relaxed deadline (relax_deadline) is for the expected length, whatever was judged.
      const time_budget_problem p =
          time_budget_problem::until(deadline, now, t.r.prompt_tokens, t.output_mean, alpha);
      shortest = std::min(shortest, s.solver.worst_case(p, 0.0));
      worst = std::max(worst, reason_of(plan.shortfall));
    }
    switch (config.admission) {
      case admission_mode::accept:  // not checked (judge() skips the check)
        return {};
      case admission_mode::reject:
        return {.reason = worst};
      case admission_mode::downgrade:
        t.r.deadline.reset();
        t.r.time_budget.reset();
        t.r.priority = priority_class::background;
        return {.changed = request_event_kind::downgraded, .reason = worst};
      case admission_mode::relax_deadline:
        t.r.time_budget.reset();
        t.r.deadline = add_saturated(now, shortest * config.relaxed_deadline_factor);
        return {.changed = request_event_kind::deadline_relaxed, .reason = worst};
    }
    return {.reason = worst};
  }

  static request_event_reason reason_of(budget_shortfall s) noexcept {
    switch (s) {
      case budget_shortfall::deadline_passed:
        return request_event_reason::deadline_passed;
      case budget_shortfall::prefill_too_long:
        return request_event_reason::prefill_too_long;
      case budget_shortfall::eviction_too_weak:
      case budget_shortfall::none:
        break;
    }
    return request_event_reason::eviction_too_weak;
  }

  const scheduler_config* config_;
  std::vector<placement_option> options_;    // scratch: placement
  std::vector<std::size_t> option_backend_;  // scratch: the backend of each option
};

}  // namespace rtlm
