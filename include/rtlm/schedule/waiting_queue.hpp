// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <boost/heap/d_ary_heap.hpp>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"
#include "rtlm/schedule/virtual_token_counter.hpp"

namespace rtlm {

/// A policy a waiting_queue accepts: a type meeting scheduling_policy, or any_scheduling_policy
/// (a built-in chosen at run time; its key is computed through std::visit).
template <class P>
concept waiting_queue_policy = scheduling_policy<P> || std::same_as<P, any_scheduling_policy>;

namespace detail::heap_pool {

// A fixed pool of equal-sized blocks with a free list: the heap's per-element nodes come from
// here, so push() and pop() do not allocate once the pool exists. The block size is that of the
// first single-object allocation made while the pool is current (the heap's list node).
class node_pool {
 public:
  explicit node_pool(std::size_t capacity) noexcept : capacity_(capacity) {}
  node_pool(const node_pool&) = delete;
  node_pool& operator=(const node_pool&) = delete;
  node_pool(node_pool&&) = delete;
  node_pool& operator=(node_pool&&) = delete;
  ~node_pool() { ::operator delete (storage_, std::align_val_t{alignment}); }

  // A block of `size` bytes from the pool, or nullptr when the pool cannot serve it (a size other
  // than its block size, or no free block). Allocates the pool's storage on the first call.
  void* allocate(std::size_t size) {
    if (storage_ == nullptr) {
      block_ = round_up(std::max(size, sizeof(void*)));
      storage_ =
          static_cast<std::byte*>(::operator new (block_* capacity_, std::align_val_t{alignment}));
      // Thread the free list through the blocks, first block first.
      for (std::size_t i = capacity_; i-- > 0;) push_free(storage_ + i * block_);
    }
    if (round_up(std::max(size, sizeof(void*))) != block_ || free_ == nullptr) {
      ++overflow_;
      return nullptr;
    }
    void* p = free_;
    free_ = *static_cast<void**>(free_);
    ++in_use_;
    return p;
  }

  // Takes `p` back if it is one of the pool's blocks; false otherwise.
  bool deallocate(void* p) noexcept {
    auto* b = static_cast<std::byte*>(p);
    if (storage_ == nullptr || b < storage_ || b >= storage_ + block_ * capacity_) return false;
    push_free(p);
    --in_use_;
    return true;
  }

  // Allocations the pool could not serve (each went to the global operator new).
  [[nodiscard]] std::size_t overflow() const noexcept { return overflow_; }
  // Blocks handed out and not yet returned.
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }

 private:
  static constexpr std::size_t alignment = alignof(std::max_align_t);
  static std::size_t round_up(std::size_t n) noexcept {
    return (n + alignment - 1) / alignment * alignment;
  }
  void push_free(void* p) noexcept {
    *static_cast<void**>(p) = free_;
    free_ = p;
  }

  std::size_t capacity_;
  std::size_t block_ = 0;
  std::byte* storage_ = nullptr;
  void* free_ = nullptr;
  std::size_t overflow_ = 0;
  std::size_t in_use_ = 0;
};

// The pool of the waiting_queue operating on this thread. Boost.Heap's mutable heaps
// default-construct their allocators (no constructor takes one), so a stateful allocator cannot
// be handed in: the queue makes its pool current for the duration of each operation instead.
inline thread_local node_pool* current_pool = nullptr;

// Makes `pool` current until the end of the scope.
class pool_scope {
 public:
  explicit pool_scope(node_pool* pool) noexcept : previous_(current_pool) { current_pool = pool; }
  pool_scope(const pool_scope&) = delete;
  pool_scope& operator=(const pool_scope&) = delete;
  pool_scope(pool_scope&&) = delete;
  pool_scope& operator=(pool_scope&&) = delete;
  ~pool_scope() { current_pool = previous_; }

 private:
  node_pool* previous_;
};

// A stateless allocator: single objects come from the current pool when it can serve them,
// everything else (the heap's index vector, reserved once) from the global operator new.
template <class T>
struct pool_allocator {
  using value_type = T;
  pool_allocator() noexcept = default;
  template <class U>
  explicit(false) pool_allocator(const pool_allocator<U>& /*other*/) noexcept {}

  T* allocate(std::size_t n) {
    if (n == 1 && current_pool != nullptr && alignof(T) <= alignof(std::max_align_t)) {
      if (void* p = current_pool->allocate(sizeof(T))) return static_cast<T*>(p);
    }
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept {
    if (current_pool != nullptr && current_pool->deallocate(p)) return;
    ::operator delete (p, std::align_val_t{alignof(T)});
  }
  // Stateless: any two compare equal, so nodes may be freed through any copy.
  friend bool operator==(const pool_allocator& /*a*/, const pool_allocator& /*b*/) noexcept {
    return true;
  }
};

}  // namespace detail::heap_pool

/// The scheduler's queue of waiting requests, ordered by a policy's key (lowest first; equal
/// keys by the lower `sequence`, i.e. FCFS). Each request's key is computed once, when it is
/// pushed or updated, and stored with it. A relegated request (queued_request::relegated) comes
/// after every one that is not, whatever the keys.
///
/// Fairness (a fairness_config with tenants): one heap per tenant, all drawing on the same node
/// pool, and top() is the head of the heap of the backlogged tenant with the least virtual token
/// counter (virtual_token_counter), so the policy orders each tenant's requests and VTC chooses
/// between tenants. Heads that are not relegated come first, then heads awaiting a first token
/// by a TTFT target: tenants share fairly within each tier, and a TTFT is not lost to a turn. The
/// owner charges the service it gives (charge_prefill(), charge_decode()). top() and pop() then
/// cost O(tenants) more.
///
/// Structure: a Boost.Heap 4-ary heap with mutable handles (boost::heap::d_ary_heap, arity 4,
/// mutable_<true>). Chosen over the pairing and Fibonacci heaps because the per-step work is
/// dominated by pop() and update() over up to ~10^4 requests, where a 4-ary heap's contiguous
/// index array has fewer cache misses than pointer-linked nodes, with the same O(log n)
/// worst-case bounds (the node heaps' O(1) push is amortized, their pop only amortized
/// O(log n)). Mutability stores each element in a list node and keeps a reserved vector of
/// node iterators as the heap. The nodes hold only the key, the sequence and the index of the
/// request's view in a side array: a pop compares ~27 nodes of 10^4, and small nodes keep that
/// walk in cache (the full views are 3 cache lines each).
///
/// Allocation: the constructor reserves the index vector for `capacity` elements and a pool of
/// `capacity` list nodes; after construction push, pop, update and erase never allocate
/// (overflow_allocations() counts any that did: 0 unless a Boost version allocates differently).
///
/// Complexity: push, pop, update and erase are O(log n) (n = size()), plus one key computation;
/// top, size and empty are O(1) (top O(tenants) with fairness). Thread-safety: none; the
/// scheduler's thread only (the node pool is made current through a thread_local for the duration
/// of each call). Not copyable or movable (handles point into it).
///
/// @code
/// rtlm::waiting_queue queue(rtlm::shortest_predicted_first{}, 4096);
/// auto h = queue.push(rtlm::make_queued_request(r, next_sequence++));
/// if (!h) reject_busy(r);                       // full: nothing was queued
/// queue.update(*h, with_new_prediction);        // re-keyed in place
/// rtlm::queued_request next = queue.pop();      // lowest key first
/// @endcode
template <waiting_queue_policy Policy>
class waiting_queue {
  struct entry {
    virtual_time key;
    std::uint64_t sequence = 0;
    std::uint32_t view = 0;  // index into views_
    std::uint32_t tag = 0;   // queued_request::tag, read by top_tag() without touching views_
    std::uint16_t part = 0;  // the heap it is in: its tenant's, with fairness
    bool relegated = false;
    bool awaits_ttft = false;  // a first token is due by a TTFT target (ttft_deadline)
  };
  // Boost.Heap keeps the greatest element on top: "a is less than b" means a is served later.
  struct served_later {
    bool operator()(const entry& a, const entry& b) const noexcept {
      if (a.relegated != b.relegated) return a.relegated;
      if (a.key != b.key) return a.key > b.key;
      return a.sequence > b.sequence;
    }
  };
  using heap_type =
      boost::heap::d_ary_heap<entry, boost::heap::arity<4>, boost::heap::mutable_<true>,
                              boost::heap::compare<served_later>,
                              boost::heap::allocator<detail::heap_pool::pool_allocator<entry>>>;

 public:
  /// Refers to one queued request from its push() until it is popped or erased (then invalid).
  using handle = typename heap_type::handle_type;

  /// The largest capacity a queue accepts: 2^24.
  static constexpr std::size_t max_capacity = std::size_t{1} << 24;

  /// An empty queue ordered by `policy`, holding at most `capacity` requests, fair between
  /// `fairness.tenants` tenants (none: one heap). Throws rtlm::error naming
  /// `waiting_queue.capacity` unless 1 <= capacity <= max_capacity, and what
  /// fairness_config::validate() throws. O(capacity x heaps); allocates everything here, once.
  waiting_queue(Policy policy, std::size_t capacity, const fairness_config& fairness = {})
      : policy_(std::move(policy)),
        capacity_(checked_capacity(capacity)),
        pool_(std::make_unique<detail::heap_pool::node_pool>(capacity)),
        views_(capacity_),
        heaps_(std::max<std::size_t>(validated(fairness).tenants, 1)) {
    if (fairness.enabled()) counters_.emplace(fairness);
    free_views_.reserve(capacity_);
    for (std::size_t i = capacity_; i-- > 0;) free_views_.push_back(static_cast<std::uint32_t>(i));
    for (heap_type& h : heaps_) h.reserve(capacity_);
    // Warm-up: the first node allocation sizes and allocates the pool's blocks.
    const detail::heap_pool::pool_scope scope(pool_.get());
    heaps_[0].push(entry{});
    heaps_[0].pop();
  }

  waiting_queue(const waiting_queue&) = delete;
  waiting_queue& operator=(const waiting_queue&) = delete;
  waiting_queue(waiting_queue&&) = delete;
  waiting_queue& operator=(waiting_queue&&) = delete;
  ~waiting_queue() {
    // The nodes go back to the pool before the pool itself is freed.
    const detail::heap_pool::pool_scope scope(pool_.get());
    for (heap_type& h : heaps_) h.clear();
  }

  /// Queues `q` with key policy_key(policy(), q). Returns its handle, or nullopt when size() ==
  /// capacity() (nothing queued). O(log n); no allocation.
  std::optional<handle> push(const queued_request& q) noexcept {
    if (size_ >= capacity_) return std::nullopt;
    const std::uint32_t view = free_views_.back();
    free_views_.pop_back();
    views_[view] = q;
    const auto part = static_cast<std::uint16_t>(q.tenant % heaps_.size());
    // VTC: a tenant that becomes backlogged starts no lower than the least backlogged counter.
    if (counters_ && heaps_[part].empty()) counters_->lift(part, least_backlogged_counter());
    const detail::heap_pool::pool_scope scope(pool_.get());
    ++size_;
    return heaps_[part].push(entry_of(q, view, part));
  }

  /// The request served next (lowest key). Precondition: !empty(). O(1); O(tenants) with
  /// fairness, as are top_tag() and top_key().
  [[nodiscard]] const queued_request& top() const noexcept { return views_[top_entry().view]; }
  /// top().tag, read from the heap's own node (no access to the stored view). Precondition:
  /// !empty().
  [[nodiscard]] std::uint32_t top_tag() const noexcept { return top_entry().tag; }
  /// The key of top(). Precondition: !empty().
  [[nodiscard]] virtual_time top_key() const noexcept { return top_entry().key; }

  /// Removes and returns the request served next. Precondition: !empty(). O(log n); no
  /// allocation.
  queued_request pop() noexcept {
    heap_type& h = heaps_[top_part()];
    const std::uint32_t view = h.top().view;
    const detail::heap_pool::pool_scope scope(pool_.get());
    h.pop();
    --size_;
    free_views_.push_back(view);
    return views_[view];
  }

  /// Replaces the request `h` refers to with `q` and re-keys it in place (new predictions,
  /// progress, a downgrade). `h` stays valid. Precondition: `h` is queued here. O(log n); no
  /// allocation.
  void update(handle h, const queued_request& q) noexcept {
    const std::uint32_t view = (*h).view;
    const std::uint16_t part = (*h).part;  // a request's tenant does not change
    views_[view] = q;
    heaps_[part].update(h, entry_of(q, view, part));
  }

  /// Removes the request `h` refers to (a cancellation); `h` becomes invalid. Precondition: `h`
  /// is queued here. O(log n); no allocation.
  void erase(handle h) noexcept {
    const std::uint32_t view = (*h).view;
    const detail::heap_pool::pool_scope scope(pool_.get());
    heaps_[(*h).part].erase(h);
    --size_;
    free_views_.push_back(view);
  }

  /// The request `h` refers to. Precondition: `h` is queued here. O(1).
  [[nodiscard]] const queued_request& get(handle h) const noexcept { return views_[(*h).view]; }
  /// The stored key of the request `h` refers to. Precondition: `h` is queued here. O(1).
  [[nodiscard]] static virtual_time key(handle h) noexcept { return (*h).key; }

  /// Calls `f(const queued_request&)` for every queued request, in no particular order. O(n).
  template <class F>
  void for_each(F&& f) const {
    for (const heap_type& h : heaps_) {
      for (const entry& e : h) f(views_[e.view]);
    }
  }

  /// Counts `n` prompt tokens served to `tenant` (nothing without fairness). O(1).
  void charge_prefill(std::uint32_t tenant, tokens n) noexcept {
    if (counters_) counters_->charge_prefill(tenant % heaps_.size(), n);
  }
  /// Counts `n` output tokens served to `tenant` (nothing without fairness). O(1).
  void charge_decode(std::uint32_t tenant, tokens n) noexcept {
    if (counters_) counters_->charge_decode(tenant % heaps_.size(), n);
  }
  /// The virtual token counters, or nullptr without fairness. O(1).
  [[nodiscard]] const virtual_token_counter* counters() const noexcept {
    return counters_ ? &*counters_ : nullptr;
  }

  /// The number of queued requests. O(1).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Whether no request is queued. O(1).
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// The most requests the queue holds. O(1).
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// The policy that orders the queue. O(1).
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  /// Node allocations since construction that the preallocated pool could not serve (each went
  /// to the global allocator): 0 in normal use. For tests and monitoring. O(1).
  [[nodiscard]] std::size_t overflow_allocations() const noexcept { return pool_->overflow(); }
  /// Heap nodes currently taken from the preallocated pool: size() in normal use. For tests and
  /// monitoring. O(1).
  [[nodiscard]] std::size_t pooled_nodes() const noexcept { return pool_->in_use(); }

 private:
  static const fairness_config& validated(const fairness_config& fairness) {
    fairness.validate();
    return fairness;
  }

  [[nodiscard]] entry entry_of(const queued_request& q, std::uint32_t view,
                               std::uint16_t part) const noexcept {
    return entry{
        key_of(q), q.sequence, view, q.tag, part, q.relegated, q.ttft_deadline.has_value()};
  }

  // The heap top() is drawn from: the only one, or, with fairness, the backlogged tenant's
  // whose head is not relegated (when any is not), awaits a first token by a TTFT target (when
  // any does), and whose counter is least (ties: the head served first).
  [[nodiscard]] std::size_t top_part() const noexcept {
    RTLM_ASSERT(size_ > 0);
    if (heaps_.size() == 1) return 0;
    std::size_t best = heaps_.size();
    for (std::size_t p = 0; p < heaps_.size(); ++p) {
      if (heaps_[p].empty()) continue;
      if (best == heaps_.size() || before(p, best)) best = p;
    }
    return best;
  }
  [[nodiscard]] bool before(std::size_t p, std::size_t q) const noexcept {
    const entry& a = heaps_[p].top();
    const entry& b = heaps_[q].top();
    if (a.relegated != b.relegated) return b.relegated;
    if (a.awaits_ttft != b.awaits_ttft) return a.awaits_ttft;
    const double ca = counters_->counter(p);
    const double cb = counters_->counter(q);
    if (ca != cb) return ca < cb;
    return served_later{}(b, a);
  }
  [[nodiscard]] const entry& top_entry() const noexcept { return heaps_[top_part()].top(); }

  // The least counter among the backlogged tenants, or the last served one's when none is.
  [[nodiscard]] double least_backlogged_counter() const noexcept {
    double least = std::numeric_limits<double>::infinity();
    for (std::size_t p = 0; p < heaps_.size(); ++p) {
      if (!heaps_[p].empty()) least = std::min(least, counters_->counter(p));
    }
    return std::isfinite(least) ? least : counters_->last_served();
  }

  static std::size_t checked_capacity(std::size_t capacity) {
    detail::require(capacity >= 1 && capacity <= max_capacity, "waiting_queue.capacity", capacity,
                    "must be in 1..16777216 (2^24)");
    return capacity;
  }

  // The key of `q`, NaN mapped to +infinity so that the heap's order stays a strict weak order.
  [[nodiscard]] virtual_time key_of(const queued_request& q) const noexcept {
    const virtual_time k = policy_key(policy_, q);
    if (std::isnan(k.time_since_epoch().count())) {
      return virtual_time(seconds(std::numeric_limits<double>::infinity()));
    }
    return k;
  }

  Policy policy_;
  std::size_t capacity_;
  std::unique_ptr<detail::heap_pool::node_pool> pool_;
  std::vector<queued_request> views_;              // the queued requests' views, by entry::view
  std::vector<std::uint32_t> free_views_;          // unused indices into views_
  std::vector<heap_type> heaps_;                   // one, or one per tenant
  std::optional<virtual_token_counter> counters_;  // with fairness
  std::size_t size_ = 0;
};

}  // namespace rtlm
