// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "rtlm/detail/assert.hpp"
#include "rtlm/schedule/batch_former.hpp"
#include "rtlm/schedule/consolidation.hpp"
#include "rtlm/schedule/preemptor.hpp"
#include "rtlm/schedule/step_context.hpp"
#include "rtlm/schedule/step_feedback.hpp"

namespace rtlm {

/// The capacity stage of step planning (in the manner of TensorRT-LLM's capacity scheduler):
/// what may hold KV and run. make_room() preempts before the step is formed; bring_back()
/// returns swapped-out requests to the batch (each decodes in this step); admits() answers
/// whether one more request, reserving `need` after `pending_count` admissions reserving
/// `pending_kv` in this step, may join. All noexcept and allocation-free.
template <class S, class Policy>
concept capacity_stage = requires(const S& s, step_context<Policy>& c, std::size_t n, tokens kv,
                                  tokens need) {
  { s.make_room(c) }
  noexcept;
  { s.bring_back(c) }
  noexcept;
  { s.admits(std::as_const(c), n, kv, need) }
  noexcept->std::same_as<bool>;
};

/// The batch-forming stage (in the manner of TensorRT-LLM's micro-batch scheduler): what runs
/// in this step. plan_running() plans the running requests' work; plan_admissions() the new
/// requests', admitted through capacity stage `Capacity`. noexcept and allocation-free.
template <class B, class Policy, class Capacity>
concept batch_stage = requires(B& b, step_context<Policy>& c, const Capacity& capacity) {
  { b.plan_running(c) }
  noexcept;
  { b.plan_admissions(c, capacity) }
  noexcept;
};

/// rtlm's default capacity stage: every running request reserves its prompt plus its predicted
/// output bound (kv_ledger). While the reservations exceed the capacity (requests outgrew their
/// bounds) the least urgent running request is preempted; where preemption cannot help, the
/// largest is failed (kv_exhausted); with preempt_for_priority, a waiting
/// request that outranks the least urgent running one by the margin makes room; swapped-out
/// requests come back oldest first while their KV fits (and no waiting request outranks them).
template <waiting_queue_policy Policy>
struct reserve_and_preempt {
  void make_room(step_context<Policy>& c) const noexcept {
    while (c.lane.kv.over_committed() && c.lane.running.size() > 1 &&
           preemptor<Policy>::preempt_least_urgent(c)) {
    }
    // What preemption cannot cure (one request alone outgrows the KV, or the backend cannot
    // preempt) fails the request holding the most KV, the one that outgrew its reservation: a
    // plan never holds more KV than the backend has.
    while (c.lane.kv.over_committed()) {
      const auto& running = c.lane.running;
      RTLM_ASSERT(!running.empty());  // over capacity: something holds KV
      const auto largest = std::max_element(running.begin(), running.end(), [&](auto a, auto b) {
        return c.table[a].reserved < c.table[b].reserved;
      });
      step_feedback<Policy>::end(c, *largest, request_phase::failed,
                                 request_event_reason::kv_exhausted);
      // Released in this plan, not the next: the KV it frees is what this plan hands to others.
      c.lane.plan.releases.push_back(c.lane.releases.back());
      c.lane.releases.pop_back();
    }
    if (c.config.preempt_for_priority) preemptor<Policy>::make_room_for_priority(c);
  }

  void bring_back(step_context<Policy>& c) const noexcept {
    backend_lane<Policy>& s = c.lane;
    while (!s.swapped.empty() && s.running.size() < c.max_batch && c.budget > tokens(0)) {
      const std::uint32_t slot = s.swapped.front();
      scheduled_request<Policy>& t = c.table[slot];
      if (c.config.preempt_for_priority && !s.waiting.empty() &&
          preemptor<Policy>::outranks(c, c.table[s.waiting.top_tag()],
                                      policy_key(c.policy, c.view(t, s.isolated_service(t))))) {
        break;
      }
      const tokens need = s.kv.swap_in_need(t);
      if (!s.kv.fits(need)) break;
      s.swapped.erase(s.swapped.begin());
      t.phase = request_phase::decoding;
      s.kv.reserve(t, need);
      s.running.push_back(slot);
      s.plan.swap_ins.push_back(t.r.id);
      consolidation<Policy>::protect(c, t);
      plan_decode(c, slot);
    }
  }

  [[nodiscard]] bool admits(const step_context<Policy>& c, std::size_t pending_count,
                            tokens pending_kv, tokens need) const noexcept {
    return c.lane.running.size() + pending_count < c.max_batch && c.lane.kv.fits(pending_kv + need);
  }
};

}  // namespace rtlm
