// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "rtlm/backend/step_plan.hpp"
#include "rtlm/schedule/request_queueing.hpp"
#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// Preemption: which running request gives up its place, and how. The victim is the running
/// request the policy serves last (ties: the latest submitted), keyed on its service still to
/// come; it is swapped out where the backend can swap (no work lost), else recomputed (back to
/// the queue, its prompt and output prefilled again). A request still prefilling can only be
/// recomputed. Stateless; O(running) per victim; no allocation.
template <waiting_queue_policy Policy>
struct preemptor {
  /// A victim: its place in lane.running and its policy key.
  struct victim {
    std::size_t index = 0;
    virtual_time key{};
  };

  /// The running request the policy serves last among those the backend can preempt (for
  /// priority, also within scheduler_config::preemption_limit), if any.
  [[nodiscard]] static std::optional<victim> least_urgent(const step_context<Policy>& c,
                                                          bool for_priority = false) noexcept {
    const backend_capabilities& caps = *c.lane.caps;
    std::optional<victim> worst;
    for (std::size_t i = 0; i < c.lane.running.size(); ++i) {
      const scheduled_request<Policy>& t = c.table[c.lane.running[i]];
      const bool can = t.phase == request_phase::prefilling
                           ? caps.can_preempt_recompute
                           : caps.can_preempt_swap || caps.can_preempt_recompute;
      if (!can || (for_priority && past_limit(c, t))) continue;
      // Keyed on the service it still needs now, not what it needed when it was queued; a
      // relegated request is served last of all.
      const virtual_time k = t.relegated
                                 ? virtual_time(seconds(std::numeric_limits<double>::infinity()))
                                 : policy_key(c.policy, c.view(t, c.lane.isolated_service(t)));
      if (!worst || k > worst->key ||
          (k == worst->key && t.sequence > c.table[c.lane.running[worst->index]].sequence)) {
        worst = victim{.index = i, .key = k};
      }
    }
    return worst;
  }

  /// Preempts the least urgent running request; false when none can be preempted.
  static bool preempt_least_urgent(step_context<Policy>& c) noexcept {
    const std::optional<victim> v = least_urgent(c);
    if (!v) return false;
    preempt(c, v->index);
    return true;
  }

  /// Preemption for priority (scheduler_config::preempt_for_priority): while the first waiting
  /// request finds the batch or the KV full and outranks the least urgent running request by the
  /// margin, that one is preempted. Each pass frees one place, so at most one pass per running
  /// request.
  static void make_room_for_priority(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    if (s.caps->batching == batching_mode::static_batch) return;
    for (std::size_t passes = s.running.size(); passes > 0 && !s.waiting.empty(); --passes) {
      const scheduled_request<Policy>& head = c.table[s.waiting.top_tag()];
      const tokens need = s.kv.need(head);
      if (need > s.kv.capacity()) return;  // no preemption could make it fit
      if (s.running.size() < c.max_batch && s.kv.fits(need)) return;
      const std::optional<victim> v = least_urgent(c, true);
      if (!v) return;
      // A recompute's lost work raises the bar by its cost, when counted.
      const seconds extra =
          c.config.preemption_cost_counted ? cost(c, c.table[s.running[v->index]]) : seconds(0);
      if (!outranks(c, head, v->key - extra)) return;
      preempt(c, v->index);
    }
  }

  /// Whether running request `t` has generated too much of its predicted output to be preempted
  /// for priority (scheduler_config::preemption_limit).
  [[nodiscard]] static bool past_limit(const step_context<Policy>& c,
                                       const scheduled_request<Policy>& t) noexcept {
    const double limit = c.config.preemption_limit;
    if (std::isinf(limit)) return false;
    return static_cast<double>(t.r.progress.generated.count()) >=
           limit * static_cast<double>(t.output_mean.count());
  }

  /// What preempting running request `t` costs, seconds: what a recompute throws away (its
  /// prompt and output prefilled again), 0 for a swap.
  [[nodiscard]] static seconds cost(const step_context<Policy>& c,
                                    const scheduled_request<Policy>& t) noexcept {
    const bool swap = c.lane.caps->can_preempt_swap && t.phase == request_phase::decoding;
    if (swap) return seconds(0);
    return c.lane.estimator.prefill_time(t.r.prompt_tokens + t.r.progress.generated, tokens(0));
  }

  /// Whether queued request `t` ranks ahead of `key` by more than the preemption margin (a
  /// relegated request never does).
  [[nodiscard]] static bool outranks(const step_context<Policy>& c,
                                     const scheduled_request<Policy>& t,
                                     virtual_time key) noexcept {
    if (t.relegated) return false;
    return policy_key(c.policy, c.view(t)) + seconds(c.config.priority_preemption_margin) < key;
  }

  /// Preempts lane.running[index]: swapped out, or back to the queue to be recomputed.
  static void preempt(step_context<Policy>& c, std::size_t index) noexcept {
    backend_lane<Policy>& s = c.lane;
    const std::uint32_t slot = s.running[index];
    scheduled_request<Policy>& t = c.table[slot];
    t.refresh_remaining(c.config.remaining_refresh_tokens, true);  // queued on what it generated
    s.running.erase(s.running.begin() + static_cast<std::ptrdiff_t>(index));
    s.kv.release(t);
    const bool swap = s.caps->can_preempt_swap && t.phase == request_phase::decoding;
    s.plan.preemptions.push_back(
        {.id = t.r.id, .mode = swap ? preemption_mode::swap : preemption_mode::recompute});
    if (swap) {
      t.phase = request_phase::swapped_out;
      s.swapped.push_back(slot);
      c.emit(request_event_kind::preempted, t);
      return;
    }
    // Recompute: the prompt and the tokens generated so far are prefilled again, whole (the
    // eviction, if any, is not applied again: the request is late already).
    t.prefill_target = t.r.prompt_tokens + t.r.progress.generated;
    t.prefilled = tokens(0);
    t.kept_prompt = t.r.prompt_tokens;
    t.eviction_pending = false;
    t.r.progress.prefilled = tokens(0);
    t.r.progress.eviction_ratio = 0.0;
    t.service = s.isolated_service(t);  // what is left of it, re-prefill included
    if (!requeue(c, t, request_phase::preempted)) return;
    s.queued_work += t.service;
    c.emit(request_event_kind::preempted, t);
  }
};

}  // namespace rtlm
