// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/schedule/request_intake.hpp"

namespace rtlm {

namespace detail {

inline constexpr std::string_view submit_status_names[] = {"accepted", "queue_full", "invalid"};
inline constexpr std::string_view cancel_status_names[] = {"accepted", "queue_full"};

}  // namespace detail

RTLM_INLINE std::string_view to_string(submit_status status) noexcept {
  return detail::enum_name(status, detail::submit_status_names);
}

RTLM_INLINE std::string_view to_string(cancel_status status) noexcept {
  return detail::enum_name(status, detail::cancel_status_names);
}

RTLM_INLINE std::string_view invalid_request_field(const request& r) noexcept {
  // The rules of request::validate(), in its order; the tests check that both blame the same
  // field.
  const auto non_negative_finite = [](double v) { return std::isfinite(v) && v >= 0.0; };
  const auto length_in = [](tokens n, std::int64_t least) {
    return n.count() >= least && n <= max_request_tokens;
  };
  if (!length_in(r.prompt_tokens, 0)) return "request.prompt_tokens";
  if (!within_timeline(r.arrival)) return "request.arrival";
  if (r.time_budget && !(non_negative_finite(r.time_budget->count()) &&
                         r.time_budget->count() <= max_duration_seconds)) {
    return "request.time_budget";
  }
  const auto target_ok = [](const std::optional<seconds>& t) {
    return !t || (t->count() > 0.0 && t->count() <= max_duration_seconds);
  };
  if (!target_ok(r.ttft_target)) return "request.ttft_target";
  if (!target_ok(r.tpot_target)) return "request.tpot_target";
  if (r.deadline && (!within_timeline(*r.deadline) || *r.deadline < r.arrival)) {
    return "request.deadline";
  }
  if (r.max_new_tokens && !length_in(*r.max_new_tokens, 1)) return "request.max_new_tokens";
  if (r.predicted_length) {
    const length_estimate& p = *r.predicted_length;
    if (!non_negative_finite(p.mean_tokens)) return "request.predicted_length.mean_tokens";
    if (!length_in(p.upper_bound, 0)) return "request.predicted_length.upper_bound";
    if (!(p.bound_coverage > 0.0 && p.bound_coverage < 1.0)) {
      return "request.predicted_length.bound_coverage";
    }
    if (!non_negative_finite(p.uncertainty)) return "request.predicted_length.uncertainty";
  }
  return {};
}

namespace detail::intake {

// `value` after checking 1 <= value <= request_intake::max_capacity; throws rtlm::error naming
// `field` otherwise.
inline std::size_t checked_capacity(std::string_view field, std::size_t value) {
  require(value >= 1 && value <= request_intake::max_capacity, field, value,
          "must be in 1..16777216 (2^24)");
  return value;
}

}  // namespace detail::intake

RTLM_INLINE request_intake::shard::shard(std::size_t n)
    : capacity(n),
      slots(std::make_unique<request[]>(n)),  // NOLINT(*-avoid-c-arrays)
      free_slots(n),
      filled_slots(n) {
  // Pushed from the top so that the first submit takes slot 0; all nodes are preallocated.
  for (std::size_t i = n; i-- > 0;) {
    const bool pushed = free_slots.bounded_push(static_cast<std::uint32_t>(i));
    RTLM_ASSERT(pushed);
    static_cast<void>(pushed);
  }
}

RTLM_INLINE request_intake::request_intake(std::size_t capacity, std::size_t cancel_capacity,
                                           std::size_t shards)
    : capacity_(detail::intake::checked_capacity("request_intake.capacity", capacity)),
      cancel_queue_(
          detail::intake::checked_capacity("request_intake.cancel_capacity", cancel_capacity)),
      cancellations_(cancel_capacity) {
  detail::require(shards >= 1 && shards <= 64 && shards <= capacity, "request_intake.shards",
                  shards, "must be in 1..64 and at most the capacity");
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<shard>((capacity + shards - 1) / shards));
  }
}

RTLM_INLINE request_intake::shard& request_intake::own_shard() noexcept {
  if (shards_.size() == 1) return *shards_.front();
  // Threads take consecutive numbers when they first submit to any intake.
  static std::atomic<std::size_t> threads{0};
  thread_local const std::size_t number = threads.fetch_add(1, std::memory_order_relaxed);
  return *shards_[number % shards_.size()];
}

RTLM_INLINE submit_status request_intake::submit(request& r) noexcept {
  if (!invalid_request_field(r).empty()) return submit_status::invalid;
  shard& s = own_shard();
  std::uint32_t index = 0;
  if (!s.free_slots.pop(index)) return submit_status::queue_full;
  s.slots[index] = std::move(r);
  // The filled queue holds the shard's capacity of nodes and at most that many indices exist,
  // so this push finds a node; should it ever not, the request goes back to the caller.
  if (!s.filled_slots.bounded_push(index)) {
    r = std::move(s.slots[index]);
    release_slot(s, index);
    return submit_status::queue_full;
  }
  return submit_status::accepted;
}

RTLM_INLINE cancel_status request_intake::cancel(request_id id) noexcept {
  return cancel_queue_.bounded_push(id) ? cancel_status::accepted : cancel_status::queue_full;
}

RTLM_INLINE void request_intake::release_slot(shard& s, std::uint32_t index) noexcept {
  // The stack holds one node per slot index, so a freed index always fits.
  const bool pushed = s.free_slots.bounded_push(index);
  RTLM_ASSERT(pushed);
  static_cast<void>(pushed);
}

RTLM_INLINE std::size_t request_intake::collect_cancellations(std::size_t limit) noexcept {
  const std::size_t most = std::min(limit, cancellations_.size());
  std::size_t n = 0;
  while (n < most && cancel_queue_.pop(cancellations_[n])) ++n;
  return n;
}

RTLM_INLINE void request_intake::begin_drain() noexcept {
  const bool was_draining = draining_.exchange(true, std::memory_order_acquire);
  RTLM_ASSERT(!was_draining);  // drain() is single-consumer
  static_cast<void>(was_draining);
}

RTLM_INLINE void request_intake::end_drain() noexcept {
  draining_.store(false, std::memory_order_release);
}

}  // namespace rtlm
