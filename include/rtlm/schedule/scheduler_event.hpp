// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// What happened to a request, as the scheduler reports it to its observer.
enum class request_event_kind : std::uint8_t {
  queued,            ///< placed on a backend's waiting queue
  rejected,          ///< refused at admission; `reason` says why; the request is gone
  downgraded,        ///< its deadline cannot be met: kept with background priority, no deadline
  deadline_relaxed,  ///< its deadline cannot be met: kept with a later deadline
  admitted,          ///< joined a backend's running batch
  preempted,         ///< left the running batch (recompute: back to waiting; swap: swapped out)
  finished,          ///< produced its last token; released in the backend's next step
  cancelled,         ///< cancelled by the host; released if it was running
  failed,            ///< given up after repeated backend failures; `reason` says why
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
};

/// The name of `k` ("queued", ...). O(1); no allocation; thread-safe (pure).
[[nodiscard]] constexpr std::string_view to_string(request_event_kind k) noexcept {
  switch (k) {
    case request_event_kind::queued:
      return "queued";
    case request_event_kind::rejected:
      return "rejected";
    case request_event_kind::downgraded:
      return "downgraded";
    case request_event_kind::deadline_relaxed:
      return "deadline_relaxed";
    case request_event_kind::admitted:
      return "admitted";
    case request_event_kind::preempted:
      return "preempted";
    case request_event_kind::finished:
      return "finished";
    case request_event_kind::cancelled:
      return "cancelled";
    case request_event_kind::failed:
      return "failed";
  }
  return "unknown";
}

/// The name of `r` ("none", "deadline_passed", ...). O(1); no allocation; thread-safe (pure).
[[nodiscard]] constexpr std::string_view to_string(request_event_reason r) noexcept {
  switch (r) {
    case request_event_reason::none:
      return "none";
    case request_event_reason::deadline_passed:
      return "deadline_passed";
    case request_event_reason::prefill_too_long:
      return "prefill_too_long";
    case request_event_reason::eviction_too_weak:
      return "eviction_too_weak";
    case request_event_reason::duplicate_id:
      return "duplicate_id";
    case request_event_reason::too_long:
      return "too_long";
    case request_event_reason::no_backend:
      return "no_backend";
    case request_event_reason::backend_failure:
      return "backend_failure";
  }
  return "unknown";
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
