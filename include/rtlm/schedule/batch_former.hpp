// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "rtlm/schedule/consolidation.hpp"
#include "rtlm/schedule/eviction_planner.hpp"
#include "rtlm/schedule/relegation.hpp"
#include "rtlm/schedule/request_queueing.hpp"
#include "rtlm/schedule/step_context.hpp"
#include "rtlm/schedule/tpot_budget.hpp"

namespace rtlm {

/// Adds running request `slot`'s next decode to the plan; it spends one token of the step.
template <waiting_queue_policy Policy>
void plan_decode(step_context<Policy>& c, std::uint32_t slot) noexcept {
  const scheduled_request<Policy>& t = c.table[slot];
  c.lane.plan.decodes.push_back({.id = t.r.id, .kv_length = t.kv_held()});
  c.lane.decode_entries.push_back({slot, t.generation});
  c.lane.decode_kv.push_back(t.kv_held());
  c.budget -= tokens(1);
}

/// rtlm's default batch-forming stage: what runs in this step. Continuous batching: every
/// decoding request's next token, the prefills under way (chunked, oldest first), then new
/// admissions in policy order while the capacity stage admits them and the step's token budget
/// lasts, thinned by dynamic consolidation. Service-level objectives (slo_config) size the
/// budget to TPOT targets (tpot_budget), put first-token chunks ahead of other prefills
/// (ttft_first) and relegate a head that can no longer meet its objective (relegation). Static
/// batching (a backend that runs one batch to its end): a new batch of similar predicted lengths
/// once the last has drained. Stateless; O(batch + admissions x log queue) per step; no allocation.
template <waiting_queue_policy Policy>
struct batch_former {
  /// The running requests' part of the step: pending evictions (their prompt is now in the KV
  /// cache), decodes, and the next chunk of each prefill under way.
  static void plan_running(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    // One pass over the batch (its slots are scattered: one pass, few cache misses).
    for (const std::uint32_t slot : s.running) {
      scheduled_request<Policy>& t = c.table[slot];
      consolidation<Policy>::protect(c, t);
      if (t.phase == request_phase::prefilling) {
        s.prefilling.push_back(slot);
        continue;
      }
      eviction_planner<Policy>::send_pending(c, t);
      plan_decode(c, slot);
    }
    tpot_budget<Policy>::fit(c);
    // Chunks that do not produce a first token under a TTFT target go behind the admissions
    // (ttft_first), or wait for a larger room (a banked step: see tpot_budget).
    const bool defer = (c.config.slo.ttft_first && s.caps->can_chunk_prefill &&
                        s.caps->batching == batching_mode::continuous) ||
                       s.prefill_banked;
    for (const std::uint32_t slot : s.prefilling) {
      if (defer && !awaits_first_token(c.table[slot])) {
        s.deferred_prefills.push_back(slot);
        continue;
      }
      if (!plan_chunk(c, slot)) break;
    }
  }

  /// New requests' part of the step, admitted through `capacity` (the capacity stage), then the
  /// chunks deferred behind them (slo_config::ttft_first).
  template <class Capacity>
  void plan_admissions(step_context<Policy>& c, const Capacity& capacity) noexcept {
    admit(c, capacity);
    plan_deferred_chunks(c);
  }

 private:
  // Whether `t` still awaits its first token under a TTFT target it can meet.
  static bool awaits_first_token(const scheduled_request<Policy>& t) noexcept {
    return t.r.ttft_target && !t.r.progress.first_token_time && !t.relegated;
  }

  // Plans the next chunk of running prefill `slot`; false when the step's budget is spent.
  static bool plan_chunk(step_context<Policy>& c, std::uint32_t slot) noexcept {
    backend_lane<Policy>& s = c.lane;
    const scheduled_request<Policy>& t = c.table[slot];
    if (c.budget <= tokens(0)) return false;
    const tokens chunk = std::min(t.prefill_target - t.prefilled, c.budget);
    s.plan.prefills.push_back({.id = t.r.id,
                               .new_tokens = chunk,
                               .computed_tokens = t.prefilled,
                               .final_chunk = t.prefilled + chunk == t.prefill_target});
    s.prefill_entries.push_back({slot, t.generation});
    c.budget -= chunk;
    return true;
  }

  // The chunks of running prefills that went behind the requests awaiting a first token.
  static void plan_deferred_chunks(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    for (const std::uint32_t slot : s.deferred_prefills) {
      if (s.prefill_banked || !plan_chunk(c, slot)) break;
    }
    s.deferred_prefills.clear();
  }

  template <class Capacity>
  void admit(step_context<Policy>& c, const Capacity& capacity) noexcept {
    backend_lane<Policy>& s = c.lane;
    // The decode part is known now (admissions only prefill in this step).
    s.base_decode =
        s.plan.decodes.empty() ? seconds(0) : s.estimator.base().decode_time(s.decode_kv);
    if (s.caps->batching == batching_mode::static_batch) {
      if (s.running.empty()) admit_static_batch(c, capacity);
      return;
    }
    if (!c.config.admit_after_preemption && !s.plan.preemptions.empty()) return;
    const bool defer = !s.decodes_deferred && decodes_block(c, capacity);
    if (defer) c.budget = s.caps->max_step_tokens;
    admit_continuous(c, capacity);
    // A step that admitted the blocked prompt runs prefills only; its decodes run in the next.
    s.decodes_deferred = defer && !s.plan.prefills.empty();
    if (s.decodes_deferred) {
      s.plan.decodes.clear();
      s.decode_entries.clear();
      s.decode_kv.clear();
      s.base_decode = seconds(0);
    }
  }

  // Whether this step's decodes keep the next admission out on a backend that prefills prompts
  // whole under its own token limit: the prompt fits the limit but not what the decodes leave of
  // it. Then the step runs prefills only (as vLLM without chunked prefill does), never two steps
  // in a row; otherwise the prompt, and every request behind it, would wait for the batch to
  // drain.
  template <class Capacity>
  static bool decodes_block(const step_context<Policy>& c, const Capacity& capacity) noexcept {
    const backend_lane<Policy>& s = c.lane;
    const backend_capabilities& caps = *s.caps;
    if (caps.can_chunk_prefill || caps.max_step_tokens.count() <= 0 || s.plan.decodes.empty() ||
        s.waiting.empty() || s.running.size() >= c.max_batch) {
      return false;
    }
    const scheduled_request<Policy>& head = c.table[s.waiting.top_tag()];
    return head.prefill_target > c.budget && head.prefill_target <= caps.max_step_tokens &&
           capacity.admits(c, 0, tokens(0), s.kv.need(head));
  }

  // Candidates in policy order while the capacity stage admits them and the budget lasts; then
  // consolidation's cut; then the first k run their first chunk and the rest go back.
  template <class Capacity>
  static void admit_continuous(step_context<Policy>& c, const Capacity& capacity) noexcept {
    backend_lane<Policy>& s = c.lane;
    const backend_capabilities& caps = *s.caps;
    s.candidates.clear();
    s.batch_kv.assign(s.decode_kv.begin(), s.decode_kv.end());
    tokens pending{0};
    bool prefill_planned = !s.plan.prefills.empty();
    bool any_deadline = false;
    // Where the budget is the scheduler's own (the backend sets no limit), a backend that
    // prefills whole prompts takes the step's first prompt whatever its length, beside the
    // decodes: held back, it would wait for the batch to drain.
    const bool whole_first = !caps.can_chunk_prefill && caps.max_step_tokens.count() <= 0;
    while (!s.waiting.empty() && (c.budget > tokens(0) || (whole_first && !prefill_planned))) {
      const std::uint32_t slot = s.waiting.top_tag();
      scheduled_request<Policy>& head = c.table[slot];
      if (relegation<Policy>::due(c, head)) {
        s.waiting.pop();
        relegation<Policy>::relegate_queued(c, head);
        continue;
      }
      if (s.decodes_over_tpot && !head.r.tpot_target) break;  // see tpot_budget
      if (s.prefill_banked && !awaits_first_token(head)) break;
      // The deferred chunks go before any admission that does not await a first token.
      if (!s.deferred_prefills.empty() && !awaits_first_token(head)) {
        plan_deferred_chunks(c);
        prefill_planned = !s.plan.prefills.empty();
        if (c.budget <= tokens(0)) break;
      }
      const scheduled_request<Policy>& t = head;
      const tokens need = s.kv.need(t);
      if (!capacity.admits(c, s.candidates.size(), pending, need)) break;
      const tokens todo = t.prefill_target;
      tokens chunk = std::min(todo, c.budget);
      if (!caps.can_chunk_prefill && chunk < todo) {
        if (prefill_planned || !whole_first) break;  // see decodes_block() for a backend's limit
        chunk = todo;
      }
      s.waiting.pop();
      s.candidates.push_back({.slot = slot, .chunk = chunk, .need = need});
      s.batch_kv.push_back(t.r.prompt_tokens + tokens(1));
      pending += need;
      c.budget -= chunk;
      prefill_planned = true;
      any_deadline = any_deadline || t.deadline.has_value();
    }
    if (s.candidates.empty()) return;
    double step_with_k = 0.0;
    const std::size_t k = consolidation<Policy>::admissible(c, any_deadline, step_with_k);
    for (std::size_t i = 0; i < s.candidates.size(); ++i) {
      const typename backend_lane<Policy>::candidate& cand = s.candidates[i];
      scheduled_request<Policy>& t = c.table[cand.slot];
      if (i >= k) {
        requeue(c, t, t.phase);
        continue;
      }
      start(c, cand.slot, cand.need, cand.chunk);
      eviction_planner<Policy>::plan(c, t, step_with_k);
      c.emit(request_event_kind::admitted, t);
    }
  }

  // Static batching: the head request and the waiting requests of similar predicted length
  // (within config.similar_length_ratio), so no sequence idles long after the others finished.
  template <class Capacity>
  static void admit_static_batch(step_context<Policy>& c, const Capacity& capacity) noexcept {
    backend_lane<Policy>& s = c.lane;
    if (s.waiting.empty()) return;
    const std::uint32_t head = s.waiting.top_tag();
    const auto head_length = static_cast<double>(c.table[head].output_mean.count());
    const double ratio = c.config.similar_length_ratio;
    const auto take = [&](std::uint32_t slot) {
      scheduled_request<Policy>& t = c.table[slot];
      const tokens need = s.kv.need(t);
      if (!capacity.admits(c, 0, tokens(0), need)) return;
      if (!s.running.empty() && t.prefill_target > c.budget) return;
      s.waiting.erase(t.handle);
      start(c, slot, need, t.prefill_target);
      c.budget -= t.prefill_target;
      c.emit(request_event_kind::admitted, t);
    };
    take(head);
    // Then similar ones in the order the heap holds them (collected first: taking one erases it
    // from the heap being scanned).
    s.picked.clear();
    s.waiting.for_each([&](const queued_request& q) {
      const auto length = static_cast<double>(c.table[q.tag].output_mean.count());
      if (q.tag != head && length <= head_length * ratio && length * ratio >= head_length) {
        s.picked.push_back(q.tag);
      }
    });
    for (const std::uint32_t slot : s.picked) take(slot);
  }

  // Queued request `slot` joins the batch: it reserves `need` and prefills its first `chunk`.
  static void start(step_context<Policy>& c, std::uint32_t slot, tokens need,
                    tokens chunk) noexcept {
    backend_lane<Policy>& s = c.lane;
    scheduled_request<Policy>& t = c.table[slot];
    s.queued_work -= t.service;
    s.waiting.charge_prefill(t.r.tenant, t.prefill_target);
    t.phase = request_phase::prefilling;
    s.kv.reserve(t, need);
    s.running.push_back(slot);
    s.plan.prefills.push_back({.id = t.r.id,
                               .new_tokens = chunk,
                               .computed_tokens = tokens(0),
                               .final_chunk = chunk == t.prefill_target});
    s.prefill_entries.push_back({slot, t.generation});
  }
};

}  // namespace rtlm
