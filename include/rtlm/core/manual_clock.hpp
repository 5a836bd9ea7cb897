// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>

#include "rtlm/core/units.hpp"

namespace rtlm {

/// What rtlm needs of a clock: the std::chrono clock requirements, with rtlm's time_point.
/// Components that read time take the clock as a template parameter (default
/// std::chrono::steady_clock); tests pass rtlm::manual_clock and advance it instead of sleeping.
template <class Clock>
concept clock = requires {
  typename Clock::rep;
  typename Clock::period;
  typename Clock::duration;
  requires std::same_as<typename Clock::time_point, time_point>;
  { Clock::is_steady } -> std::convertible_to<bool>;
  { Clock::now() } -> std::same_as<time_point>;
};

/// A clock that moves only when told to. Meets the std::chrono clock requirements and shares
/// std::chrono::steady_clock's time_point type, so code templated on rtlm::clock runs unchanged
/// against it. Starts at the epoch (time_point{}). The state is process-wide, as `now()` is
/// static: a test sets it at its start. All members are thread-safe and lock-free.
class manual_clock {
 public:
  using duration = rtlm::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = rtlm::time_point;
  static constexpr bool is_steady = true;

  /// The current manual time. O(1), no allocation.
  static time_point now() noexcept {
    return time_point(duration(ticks_.load(std::memory_order_acquire)));
  }

  /// Moves time forward by `d` (a negative `d` is ignored: the clock is steady).
  static void advance(duration d) noexcept {
    if (d.count() > 0) ticks_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

  /// Sets the time, for a test's start; may move backwards, so never call it while a component
  /// under test relies on steadiness.
  static void set(time_point t) noexcept {
    ticks_.store(t.time_since_epoch().count(), std::memory_order_release);
  }

 private:
  static inline std::atomic<rep> ticks_{0};
};

static_assert(clock<manual_clock>);
static_assert(clock<std::chrono::steady_clock>);

}  // namespace rtlm
