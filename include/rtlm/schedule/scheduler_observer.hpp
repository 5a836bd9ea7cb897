// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include "rtlm/core/request.hpp"
#include "rtlm/schedule/scheduler_event.hpp"

namespace rtlm {

/// Where a scheduler reports what happens to requests: the host's hook for responses, metrics,
/// and the length predictor's online learning (rtlm::length_feedback). Called on the
/// scheduler's thread, inside plan_step(), complete_step() and step(); must not throw and should
/// return quickly (it is on the per-step path).
class scheduler_observer {
 public:
  virtual ~scheduler_observer() = default;

  /// `r` is the request as the scheduler holds it at the event (its progress filled in); it is
  /// valid only during the call. For a rejected request it is the request as submitted.
  virtual void on_event(const request_event& event, const request& r) noexcept = 0;

 protected:
  scheduler_observer() = default;
  scheduler_observer(const scheduler_observer&) = default;
  scheduler_observer(scheduler_observer&&) = default;
  scheduler_observer& operator=(const scheduler_observer&) = default;
  scheduler_observer& operator=(scheduler_observer&&) = default;
};

/// The scheduler's parts report events through this: the observer, if any, with the backend and
/// the time filled in. O(1) plus the observer's call; no allocation of its own.
class event_sink {
 public:
  void set(scheduler_observer* observer) noexcept { observer_ = observer; }
  void emit(request_event_kind kind, const request& r, std::size_t backend, time_point now,
            request_event_reason reason = request_event_reason::none) const noexcept {
    if (observer_ == nullptr) return;
    observer_->on_event(
        request_event{.kind = kind, .id = r.id, .reason = reason, .backend = backend, .at = now},
        r);
  }

 private:
  scheduler_observer* observer_ = nullptr;
};

}  // namespace rtlm
