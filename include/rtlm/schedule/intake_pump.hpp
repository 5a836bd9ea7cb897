// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/schedule/request_intake.hpp"
#include "rtlm/schedule/scheduler_config.hpp"

namespace rtlm {

/// The scheduler's side of the lock-free intake: each plan takes in the submitted requests (as
/// many as the request table has room for) and the cancellations. A cancellation can overtake
/// its request when the table was full and the request stayed in the intake: it is deferred
/// and tried again at the next pumps, until the request arrives or the intake holds no request
/// submitted before it. No cancellation is dropped and none is applied twice. submit() and
/// cancel() are lock-free and thread-safe; pump() belongs to the scheduler's thread. No
/// allocation after construction.
class intake_pump {
 public:
  explicit intake_pump(const scheduler_config& config)
      : intake_(config.intake_capacity, config.cancel_capacity, config.intake_shards) {
    deferred_.reserve(config.cancel_capacity);
  }

  submit_status submit(request& r) noexcept { return intake_.submit(r); }
  cancel_status cancel(request_id id) noexcept { return intake_.cancel(id); }
  /// Whether a request or cancellation waits for the next pump (a snapshot).
  [[nodiscard]] bool pending() const noexcept { return intake_.pending(); }

  /// Hands at most `room` requests to `on_request(request&&)` and every cancellation of a live
  /// request (`is_live(id)`) to `on_cancel(id)`, deferring the others while requests wait.
  template <class OnRequest, class OnCancel, class IsLive>
  void pump(std::size_t room, OnRequest&& on_request, OnCancel&& on_cancel,
            IsLive&& is_live) noexcept {
    const std::size_t deferred = deferred_.size();
    const auto cancel = [&](request_id id) noexcept {
      if (is_live(id)) {
        on_cancel(id);
        return;
      }
      // Finished, rejected, never seen, or still in the intake behind a full table; pump()
      // drains no more cancellations than this list has room for.
      RTLM_ASSERT(deferred_.size() < deferred_.capacity());
      deferred_.push_back(id);
    };
    const drain_counts c = intake_.drain(room, deferred_.capacity() - deferred, on_request, cancel);
    const bool limited = c.requests == room;
    // Not limited: every request submitted before this drain's cancellations was delivered, so
    // the ids this drain deferred are unknown for good (ignored, as cancel() promises).
    if (!limited) deferred_.resize(deferred);
    // Cancellations deferred by earlier pumps: retried once more, kept while still unknown.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < deferred; ++i) {
      const request_id id = deferred_[i];
      if (is_live(id)) {
        on_cancel(id);
      } else if (limited) {
        deferred_[kept++] = id;
      }
    }
    deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(kept),
                    deferred_.begin() + static_cast<std::ptrdiff_t>(deferred));
  }

 private:
  request_intake intake_;
  std::vector<request_id> deferred_;  // cancellations of requests not yet taken in
};

}  // namespace rtlm
