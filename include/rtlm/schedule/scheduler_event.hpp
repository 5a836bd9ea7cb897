// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/enum_names.hpp"

namespace rtlm {

/// What happened to a request, as the scheduler reports it to its observer.
enum class request_event_kind : std::uint8_t {
  queued,            ///< placed on a backend's waiting queue
  rejected,          ///< refused at admission, or shed from its queue by relegation (reason
                     ///< slo_unattainable); `reason` says why; the request is gone
  downgraded,        ///< its deadline cannot be met: kept with background priority, no deadline
  deadline_relaxed,  ///< its deadline cannot be met: kept with a later deadline
  admitted,          ///< joined a backend's running batch
  preempted,         ///< left the running batch (recompute: back to waiting; swap: swapped out)
  finished,          ///< produced its last token; released in the backend's next step
  cancelled,         ///< cancelled by the host; released if it was running
  failed,            ///< given up after repeated backend failures; `reason` says why
  relegated,         ///< it can no longer meet its objectives: served as best effort from now
};

/// Why a request was rejected or failed.
enum class request_event_reason : std::uint8_t {
  none,
  deadline_passed,    ///< its deadline was already past when the scheduler saw it
  prefill_too_long,   ///< no backend can even prefill it before its deadline
  eviction_too_weak,  ///< no backend finishes its expected length in time, even at alpha_max
  duplicate_id,       ///< another live request has the same id
  too_long,           ///< its prompt and output cap exceed every backend's KV capacity (or
                      ///< its prompt the max_step_tokens of each that prefills prompts whole)
  no_backend,         ///< the scheduler has no backend
  backend_failure,    ///< its steps failed max_failed_steps times in a row
  queue_full,         ///< its backend's waiting queue could not take it back (a broken
                      ///< invariant, reported rather than corrupting state)
  kv_exhausted,       ///< its KV outgrew what its backend holds, and preemption could not
                      ///< make room (it alone exceeds the capacity, or the backend cannot
                      ///< preempt)
  no_progress,        ///< its backend's steps added no token max_stalled_steps times in a row
  slo_unattainable,   ///< its TTFT target (or deadline) cannot be met even if it ran next
};

/// The name of `k` ("queued", ...). O(1); no allocation; thread-safe (pure).
[[nodiscard]] constexpr std::string_view to_string(request_event_kind k) noexcept {
  return detail::enum_name(k, {"queued", "rejected", "downgraded", "deadline_relaxed", "admitted",
                               "preempted", "finished", "cancelled", "failed", "relegated"});
}

/// The name of `r` ("none", "deadline_passed", ...). O(1); no allocation; thread-safe (pure).
[[nodiscard]] constexpr std::string_view to_string(request_event_reason r) noexcept {
  return detail::enum_name(r, {"none", "deadline_passed", "prefill_too_long", "eviction_too_weak",
                               "duplicate_id", "too_long", "no_backend", "backend_failure",
                               "queue_full", "kv_exhausted", "no_progress", "slo_unattainable"});
}

/// One event. Plain data.
struct request_event {
  request_event_kind kind = request_event_kind::queued;
  request_id id{};
  request_event_reason reason = request_event_reason::none;
  std::size_t backend = 0;  ///< the backend involved (for queued, admitted, finished, ...)
  time_point at{};          ///< the scheduler's `now` when it happened
};

}  // namespace rtlm
