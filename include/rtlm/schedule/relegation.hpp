// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <chrono>

#include "rtlm/schedule/request_queueing.hpp"
#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// Eager relegation, after QoServe (Ahmad et al., 2025): a request that can no longer meet its
/// objectives is demoted to best effort (or refused, if its class is sheddable) at once, instead
/// of taking capacity from requests that still can. Its objective is its TTFT target while its
/// first token is still to come, else its deadline. Stateless; O(1) per request; no allocation.
template <waiting_queue_policy Policy>
struct relegation {
  /// Whether relegation is on and `t` is not relegated yet but can no longer meet its objective
  /// even if it ran from now: its prefill ends after its TTFT target, or, without one, its
  /// prefill and expected output at the backend's decode step end after its deadline.
  [[nodiscard]] static bool due(const step_context<Policy>& c,
                                const scheduled_request<Policy>& t) noexcept {
    if (c.config.slo.relegation == relegation_mode::off || t.relegated) return false;
    const backend_lane<Policy>& s = c.lane;
    const double prefill =
        s.estimator.prefill_time(t.prefill_target - t.prefilled, t.prefilled).count();
    if (t.r.ttft_target && !t.r.progress.first_token_time) {
      return prefill > seconds_until(c, add_saturated(t.r.arrival, *t.r.ttft_target));
    }
    if (!t.deadline) return false;
    const tokens left = std::max(t.output_mean - t.r.progress.generated, tokens(1));
    const double decode = s.decode_step.count() * static_cast<double>(left.count());
    return prefill + decode > seconds_until(c, *t.deadline);
  }

  /// Relegates queued request `t`, off its queue: refused with reason slo_unattainable where
  /// its class is sheddable and the mode sheds, else marked relegated and queued again behind
  /// every request that is not. Returns whether it is still live.
  static bool relegate_queued(step_context<Policy>& c, scheduled_request<Policy>& t) noexcept {
    backend_lane<Policy>& s = c.lane;
    if (c.config.slo.sheds(t.r)) {
      s.queued_work -= t.service;
      if (t.phase == request_phase::preempted) s.releases.push_back(t.r.id);
      c.emit(request_event_kind::rejected, t, request_event_reason::slo_unattainable);
      c.table.end(c.table.slot_of(t), request_phase::rejected);
      return false;
    }
    t.relegated = true;
    if (!requeue(c, t, t.phase)) return false;
    c.emit(request_event_kind::relegated, t, request_event_reason::slo_unattainable);
    return true;
  }

  /// Marks running request `t` relegated once its first token came after its TTFT target (its
  /// objective is lost: its TPOT target no longer sizes the steps, and it is preempted first).
  static void after_first_token(step_context<Policy>& c, scheduled_request<Policy>& t) noexcept {
    if (c.config.slo.relegation == relegation_mode::off || t.relegated || !t.r.ttft_target ||
        !t.r.progress.first_token_time) {
      return;
    }
    if (*t.r.progress.first_token_time <= add_saturated(t.r.arrival, *t.r.ttft_target)) return;
    t.relegated = true;
    c.emit(request_event_kind::relegated, t, request_event_reason::slo_unattainable);
  }

 private:
  static double seconds_until(const step_context<Policy>& c, time_point t) noexcept {
    return std::chrono::duration<double>(t - c.now).count();
  }
};

}  // namespace rtlm
