// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/stack.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// What request_intake::submit() did with a request.
enum class submit_status : std::uint8_t {
  accepted,    ///< moved into the intake; the next drain() hands it to the scheduler
  queue_full,  ///< every slot is taken: the request is untouched and still the caller's
  invalid,     ///< request::validate() would throw: the request is untouched and not queued
};

/// What request_intake::cancel() did with a cancellation.
enum class cancel_status : std::uint8_t {
  accepted,    ///< queued; the next drain() hands it to the scheduler
  queue_full,  ///< the cancellation queue is full: nothing was queued; try again later
};

/// The name of a status: "accepted", "queue_full" or "invalid". O(1); no allocation.
[[nodiscard]] std::string_view to_string(submit_status status) noexcept;
/// The name of a status: "accepted" or "queue_full". O(1); no allocation.
[[nodiscard]] std::string_view to_string(cancel_status status) noexcept;

/// The field that request::validate() would name for `r` ("request.deadline", ...), or an empty
/// view when `r` is well formed. The same rules as validate(), without throwing. O(1); no
/// allocation; thread-safe (reads `r` only).
[[nodiscard]] std::string_view invalid_request_field(const request& r) noexcept;

/// What one request_intake::drain() delivered. Plain data.
struct drain_counts {
  std::size_t requests = 0;       ///< requests handed to the request callback
  std::size_t cancellations = 0;  ///< request ids handed to the cancellation callback
};

/// A drain() callback for requests: called as `f(std::move(r))` with an `rtlm::request&&`; must
/// be noexcept (the drain runs on the scheduler's per-step path, which throws nothing).
template <class F>
concept request_sink = std::is_nothrow_invocable_v<F&, request&&>;

/// A drain() callback for cancellations: called as `f(id)` with an `rtlm::request_id`; must be
/// noexcept.
template <class F>
concept cancellation_sink = std::is_nothrow_invocable_v<F&, request_id>;

/// The scheduler's intake: a bounded, lock-free, multi-producer single-consumer queue of requests
/// and of cancellations (docs/methods.md, 'Architecture and real-time rules'). Any number of
/// host threads submit() and cancel(); the scheduler's one thread drain()s each step.
///
/// Requests are not trivially copyable, so they live in a slot array preallocated at
/// construction; a lock-free stack holds the free slot indices and a lock-free FIFO queue the
/// filled ones (Boost.Lockfree, both preallocated: submit(), cancel() and drain() never allocate,
/// apart from what moving a request's own members does, which for std::string is nothing).
///
/// Shards: the slots may be split into several shards, each with its own stack and queue, and
/// each producer thread submits to one shard (threads are spread over the shards in the order
/// they first submit). Producers on different shards then touch different cache lines, which is
/// what lets submits scale with threads; the price is that a producer sees only its shard's
/// capacity() / shards() slots and may get queue_full while another shard has room.
///
/// Cancellation semantics: cancel(id) queues the id; drain() delivers it to the cancellation
/// callback, and the scheduler removes the request wherever it is (just drained, waiting or
/// running) or ignores an id it does not hold (already finished, or never submitted). When the
/// host calls cancel(id) after its submit() of that request returned `accepted` (in the same
/// thread, or ordered by other synchronization), the request is delivered by the same drain()
/// as the cancellation or an earlier one, and within one drain() every request comes before
/// every cancellation: a scheduler that handles a cancellation by looking the id up never misses
/// it. A cancel() that races its own submit() (not ordered with it) has no such guarantee: the
/// id may be delivered before the request, and the scheduler then does not know it.
///
/// Thread-safety: submit() and cancel() may be called from any number of threads at once,
/// concurrently with drain(). drain() is single-consumer: only one thread at a time may call it
/// (the scheduler's; a concurrent second drain() fails an assertion in debug builds). The
/// constructor and destructor are not concurrent with anything. Not copyable or movable.
///
/// @code
/// rtlm::request_intake intake(4096);
/// // host threads:
/// rtlm::request r{.id = rtlm::request_id{7}, .prompt_tokens = rtlm::tokens(512), .arrival = now};
/// switch (intake.submit(r)) {
///   case rtlm::submit_status::accepted: break;  // r is moved from
///   case rtlm::submit_status::queue_full: reply_busy(r); break;  // r is still ours
///   case rtlm::submit_status::invalid: reply_bad(rtlm::invalid_request_field(r)); break;
/// }
/// // scheduler thread, each step:
/// intake.drain([&](rtlm::request&& q) noexcept { waiting.push(std::move(q)); },
///              [&](rtlm::request_id id) noexcept { scheduler.remove(id); });
/// @endcode
class request_intake {
 public:
  /// The largest capacity (request slots or cancellations) an intake accepts: 2^24.
  static constexpr std::size_t max_capacity = std::size_t{1} << 24;

  /// An intake of `capacity` request slots and as many queued cancellations. Throws
  /// rtlm::error naming `request_intake.capacity` unless 1 <= capacity <= max_capacity.
  /// O(capacity); allocates every slot and queue node here, once.
  explicit request_intake(std::size_t capacity) : request_intake(capacity, capacity) {}

  /// An intake of `capacity` request slots, split over `shards` shards (each gets
  /// ceil(capacity / shards)), and `cancel_capacity` queued cancellations. Throws rtlm::error
  /// naming `request_intake.capacity`, `request_intake.cancel_capacity` or
  /// `request_intake.shards` unless each is in 1..max_capacity (shards: 1..64, at most
  /// capacity). O(capacity + cancel_capacity); allocates everything here, once.
  request_intake(std::size_t capacity, std::size_t cancel_capacity, std::size_t shards = 1);

  request_intake(const request_intake&) = delete;
  request_intake& operator=(const request_intake&) = delete;
  request_intake(request_intake&&) = delete;
  request_intake& operator=(request_intake&&) = delete;
  ~request_intake() = default;

  /// Queues `r` for the scheduler. On `accepted`, `r` has been moved from (valid, unspecified).
  /// On `queue_full` (every slot of the calling thread's shard taken) or `invalid`
  /// (invalid_request_field(r) is not empty, so r.validate() would throw; call it for the full
  /// message), nothing was queued and `r` is untouched: nothing is dropped silently. Does not check
  /// that the id is unique. Lock-free; O(1) plus the move of `r`; no allocation; thread-safe (any
  /// number of threads, concurrently with drain()).
  submit_status submit(request& r) noexcept;

  /// Queues a cancellation of the request `id` for the scheduler (see the class comment for
  /// when it is delivered). `queue_full` when cancel_capacity() cancellations wait undelivered
  /// (occasionally a little earlier, while other threads' queue operations are in flight).
  /// Lock-free; O(1); no allocation; thread-safe (any number of threads, concurrently with
  /// drain()).
  cancel_status cancel(request_id id) noexcept;

  /// Delivers what was queued, on the scheduler's thread: first every submitted request
  /// (in the order its submit() took effect: FIFO per producer thread), each moved out to
  /// `on_request(std::move(r))` and its slot freed for reuse right after the call; then every
  /// cancellation queued before the drain began, to `on_cancel(id)`. Bounded: at most each
  /// shard's capacity of requests and cancel_capacity() cancellations per call, so a drain ends
  /// even while producers keep submitting (later ones wait for the next drain). Lock-free;
  /// O(delivered); no allocation; noexcept (the callbacks must be). Single consumer: only one
  /// thread at a time may drain (checked by an assertion in debug builds); concurrent with
  /// submit() and cancel().
  template <request_sink OnRequest, cancellation_sink OnCancel>
  drain_counts drain(OnRequest&& on_request, OnCancel&& on_cancel) noexcept {
    return drain(capacity_, std::forward<OnRequest>(on_request), std::forward<OnCancel>(on_cancel));
  }

  /// drain(), handing over at most `max_requests` requests (the consumer's free room); the
  /// rest stay queued, in order, for the next drain. Every queued cancellation is delivered.
  template <request_sink OnRequest, cancellation_sink OnCancel>
  drain_counts drain(std::size_t max_requests, OnRequest&& on_request,
                     OnCancel&& on_cancel) noexcept {
    return drain(max_requests, cancel_capacity(), std::forward<OnRequest>(on_request),
                 std::forward<OnCancel>(on_cancel));
  }

  /// drain(), handing over at most `max_requests` requests and `max_cancellations`
  /// cancellations (the consumer's free room for each); the rest stay queued, in order, for the
  /// next drain, so a consumer short of room loses nothing.
  template <request_sink OnRequest, cancellation_sink OnCancel>
  drain_counts drain(std::size_t max_requests, std::size_t max_cancellations,
                     OnRequest&& on_request, OnCancel&& on_cancel) noexcept;

  /// The number of request slots, all shards together. O(1); thread-safe.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// The number of shards. O(1); thread-safe.
  [[nodiscard]] std::size_t shards() const noexcept { return shards_.size(); }
  /// The number of cancellations that may wait undelivered. O(1); thread-safe.
  [[nodiscard]] std::size_t cancel_capacity() const noexcept { return cancellations_.size(); }
  /// Whether a submitted request or a cancellation waits for the next drain: a snapshot (a
  /// concurrent submit() may land just after it). O(shards); no allocation; thread-safe.
  [[nodiscard]] bool pending() const noexcept {
    if (!cancel_queue_.empty()) return true;
    return std::any_of(shards_.begin(), shards_.end(),
                       [](const std::unique_ptr<shard>& s) { return !s->filled_slots.empty(); });
  }

 private:
  // One shard: its slots, its free-slot stack and its queue of filled slots, on cache lines of
  // its own.
  struct alignas(64) shard {
    explicit shard(std::size_t n);
    std::size_t capacity;
    std::unique_ptr<request[]> slots;  // NOLINT(*-avoid-c-arrays): a fixed array, sized once
    boost::lockfree::stack<std::uint32_t> free_slots;
    boost::lockfree::queue<std::uint32_t> filled_slots;
  };

  // The shard the calling thread submits to.
  [[nodiscard]] shard& own_shard() noexcept;
  // Returns a drained slot of `s` to its free list.
  static void release_slot(shard& s, std::uint32_t index) noexcept;
  // Moves the queued cancellations (at most `limit` and cancel_capacity()) into
  // cancellations_; returns how many. Consumer only.
  std::size_t collect_cancellations(std::size_t limit) noexcept;
  // Marks the start and end of a drain, asserting a single consumer.
  void begin_drain() noexcept;
  void end_drain() noexcept;

  std::size_t capacity_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::size_t first_shard_ = 0;  // the shard the next drain starts with (consumer only)
  boost::lockfree::queue<request_id> cancel_queue_;
  std::vector<request_id> cancellations_;  // the consumer's buffer, cancel_capacity() long
  std::atomic<bool> draining_{false};
};

template <request_sink OnRequest, cancellation_sink OnCancel>
drain_counts request_intake::drain(std::size_t max_requests, std::size_t max_cancellations,
                                   OnRequest&& on_request, OnCancel&& on_cancel) noexcept {
  begin_drain();
  drain_counts counts;
  // Cancellations are taken first and delivered last: a request submitted before its cancel()
  // is then already in the filled queue, so it is delivered by this drain, before its id.
  const std::size_t cancelled = collect_cancellations(max_cancellations);
  // At most one shard's capacity of pops per shard: every request queued when the drain began
  // is among them (FIFO per shard), and slots refilled meanwhile wait for the next drain. The
  // starting shard rotates, so a limited drain does not favour one shard.
  const std::size_t n = shards_.size();
  for (std::size_t k = 0; k < n && counts.requests < max_requests; ++k) {
    shard& s = *shards_[(first_shard_ + k) % n];
    std::uint32_t index = 0;
    for (std::size_t popped = 0;
         popped < s.capacity && counts.requests < max_requests && s.filled_slots.pop(index);
         ++popped) {
      on_request(std::move(s.slots[index]));
      release_slot(s, index);
      ++counts.requests;
    }
  }
  first_shard_ = first_shard_ + 1 < n ? first_shard_ + 1 : 0;  // n >= 1 (the constructor)
  for (std::size_t i = 0; i < cancelled; ++i) on_cancel(cancellations_[i]);
  counts.cancellations = cancelled;
  end_drain();
  return counts;
}

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/schedule/request_intake-inl.hpp"
#endif
