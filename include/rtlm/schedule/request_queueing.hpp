// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>

#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// Puts `t` (back) on its backend's waiting queue in `phase` (waiting or preempted). Every queue
/// holds max_requests, as many as the table, so this cannot fail while the scheduler's
/// bookkeeping is right; if it ever does, the request fails with reason queue_full (released on
/// its backend if that holds state for it) rather than leaving a dangling handle. Returns
/// whether it was queued. O(log n); no allocation.
template <waiting_queue_policy Policy>
bool requeue(step_context<Policy>& c, scheduled_request<Policy>& t, request_phase phase) noexcept {
  const std::optional<typename waiting_queue<Policy>::handle> h = c.lane.waiting.push(c.view(t));
  if (h) {
    t.handle = *h;
    t.phase = phase;
    return true;
  }
  if (phase == request_phase::preempted) c.lane.releases.push_back(t.r.id);
  c.emit(request_event_kind::failed, t, request_event_reason::queue_full);
  c.table.end(c.table.slot_of(t), request_phase::failed);
  return false;
}

}  // namespace rtlm
