// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

#include "rtlm/core/units.hpp"
#include "rtlm/schedule/backend_lane.hpp"
#include "rtlm/schedule/request_table.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/scheduler_observer.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"

namespace rtlm {

/// What the parts that plan one step of one backend share: the requests, the backend's lane,
/// the configuration and policy, the event sink, the step's time, and the step's limits (the
/// batch size and the tokens left in the step, which the stages spend). Built by the scheduler
/// for each plan; references only.
template <waiting_queue_policy Policy>
struct step_context {
  request_table<Policy>& table;
  backend_lane<Policy>& lane;
  const scheduler_config& config;
  const Policy& policy;
  const event_sink& events;
  std::size_t backend = 0;
  time_point now{};
  std::size_t max_batch = 0;  ///< the most sequences the step computes
  tokens budget;              ///< tokens the step may still compute

  /// The view of `t` the policy keys, with its isolated service `service`.
  [[nodiscard]] queued_request view(const scheduled_request<Policy>& t,
                                    seconds service) const noexcept {
    queued_request q = make_queued_request(t.r, t.sequence, service, t.remaining_mean);
    q.tag = table.slot_of(t);
    q.relegated = t.relegated;
    if (q.ttft_deadline)
      q.predicted_prefill = lane.estimator.prefill_time(t.prefill_target, tokens(0));
    return q;
  }
  /// The view of queued request `t` (its service as queued).
  [[nodiscard]] queued_request view(const scheduled_request<Policy>& t) const noexcept {
    return view(t, t.service);
  }
  /// Whether the backend is saturated: its predicted wait has reached offload.saturated_wait
  /// (where admission sheds load and consolidation stops).
  [[nodiscard]] bool saturated() const noexcept {
    return lane.predicted_wait() >= config.offload.saturated_wait;
  }
  void emit(request_event_kind kind, const scheduled_request<Policy>& t,
            request_event_reason reason = request_event_reason::none) const noexcept {
    events.emit(kind, t.r, backend, now, reason);
  }
};

}  // namespace rtlm
