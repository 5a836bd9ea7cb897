// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/predict/lognormal_length.hpp"
#include "rtlm/schedule/request_index.hpp"
#include "rtlm/schedule/waiting_queue.hpp"

namespace rtlm {

/// Where a request is in the scheduler's life cycle. The first five are live; the rest end it.
enum class request_phase : std::uint8_t {
  waiting,      ///< queued on its backend, never run (or run on no backend yet)
  preempted,    ///< queued again after a recompute preemption: its backend may still hold state
  prefilling,   ///< running, its prompt (or its re-prefill after a recompute) not yet complete
  decoding,     ///< running, generating one token per step
  swapped_out,  ///< preempted by swap: its KV is in host memory until it is swapped back in
  finished,     ///< produced its last token
  cancelled,    ///< cancelled by the host
  rejected,     ///< refused at admission
  failed,       ///< given up after repeated backend failures
};

/// The name of `p`, equal to its enumerator ("swapped_out"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(request_phase p) noexcept {
  return detail::enum_name(p, {"waiting", "preempted", "prefilling", "decoding", "swapped_out",
                               "finished", "cancelled", "rejected", "failed"});
}

/// Whether `p` is queued for admission (waiting or preempted).
[[nodiscard]] constexpr bool queued(request_phase p) noexcept {
  return p == request_phase::waiting || p == request_phase::preempted;
}
/// Whether `p` runs on its backend (prefilling or decoding): it holds KV there.
[[nodiscard]] constexpr bool running(request_phase p) noexcept {
  return p == request_phase::prefilling || p == request_phase::decoding;
}

/// One request as the scheduler holds it: the request, its phase, and what the scheduler derived
/// from it. Plain data.
template <waiting_queue_policy Policy>
struct scheduled_request {
  request r;
  request_phase phase = request_phase::finished;  // a slot never used reads as ended
  std::uint32_t backend = 0;
  std::uint32_t generation = 0;  ///< bumped when the slot is freed: stale plan entries skip it
  std::uint64_t sequence = 0;    ///< submission order (ties in every policy)
  std::optional<time_point> deadline;  ///< r.effective_deadline(), cached: read every step
  typename waiting_queue<Policy>::handle handle{};  ///< valid while queued(phase)
  tokens output_mean;                               ///< predicted output length, capped
  tokens output_bound;                              ///< predicted output bound, capped
  /// The predicted mean remaining output length given `remaining_at` generated tokens
  /// (remaining_length()), tokens; NaN without a prediction.
  double remaining_mean = std::numeric_limits<double>::quiet_NaN();
  /// The remaining output length it outlives with probability 0.9 given `remaining_at`
  /// generated tokens (a conservative count of the steps still to come), tokens; NaN without a
  /// prediction.
  double remaining_low = std::numeric_limits<double>::quiet_NaN();
  tokens remaining_at;    ///< the generated tokens remaining_mean was conditioned on
  tokens reserved;        ///< KV reserved on its backend while running (kv_ledger)
  tokens prefill_target;  ///< tokens to prefill: the prompt (plus generated after a recompute)
  tokens prefilled;       ///< of prefill_target
  tokens kept_prompt;     ///< prompt KV entries held (less than the prompt once evicted)
  double eviction_ratio = 0.0;    ///< planned at admission (eviction_planner)
  bool eviction_pending = false;  ///< planned, not yet sent to the backend
  bool relegated = false;         ///< can no longer meet its objectives (relegation_mode)
  bool decode_skipped = false;    ///< its decode sat out the last step (slo_config::tpot_budget)
  int failed_steps = 0;           ///< failed steps in a row
  int stalled_steps = 0;          ///< successful steps in a row that added no token
  seconds service{0};             ///< predicted isolated service on its backend (its queued work)

  /// Fills a free slot with `incoming`, newly taken in as the `sequence`-th: no progress, its
  /// whole prompt to prefill, nothing planned yet.
  void take(request&& incoming, std::uint64_t seq, tokens default_output) noexcept {
    r = std::move(incoming);
    r.progress = request_progress{};
    sequence = seq;
    set_output_lengths(default_output);
    prefill_target = r.prompt_tokens;
    prefilled = tokens(0);
    kept_prompt = r.prompt_tokens;
    eviction_ratio = 0.0;
    eviction_pending = false;
    relegated = false;
    decode_skipped = false;
    failed_steps = 0;
    stalled_steps = 0;
  }
  /// KV entries a decoding request holds: its prompt (after eviction) and every generated token
  /// but the last, which is the next decode's input (and the step appends it).
  [[nodiscard]] tokens kv_held() const noexcept {
    const tokens fed = prefill_target - r.prompt_tokens;  // generated tokens re-prefilled
    const tokens later = std::max(r.progress.generated - fed - tokens(1), tokens(0));
    return kept_prompt + fed + later;
  }
  /// Decode steps still needed by its bound (at least 1 while it runs): the unconditioned
  /// bound less what was generated. Conditioning the bound on the tokens generated made the
  /// service estimates that admission, consolidation and least laxity read too pessimistic
  /// (docs/scheduling.md, "Scheduling on the length distribution").
  [[nodiscard]] double remaining_steps() const noexcept {
    const tokens left = output_bound - r.progress.generated;
    return static_cast<double>(std::max<tokens::rep>(left.count(), 1));
  }
  /// Conditions remaining_mean on the tokens generated, when `every` more have come since it
  /// last was (or `force`). O(1); no allocation.
  void refresh_remaining(tokens every, bool force = false) noexcept {
    const tokens generated = r.progress.generated;
    if (!r.predicted_length || (!force && generated - remaining_at < every)) return;
    remaining_mean = remaining_length(*r.predicted_length, generated).mean_tokens;
    remaining_low = lognormal_length::fit(*r.predicted_length)
                        .residual_quantile(static_cast<double>(generated.count()), 0.1);
    remaining_at = generated;
  }
  /// Sets output_mean and output_bound from the prediction (or `default_output` without one):
  /// at least 1 and at most max_new_tokens.
  void set_output_lengths(tokens default_output) noexcept {
    const tokens cap = r.max_new_tokens ? *r.max_new_tokens : tokens(0);
    const auto capped = [&](tokens n) {
      n = std::max(n, tokens(1));
      return cap.count() > 0 ? std::min(n, cap) : n;
    };
    remaining_mean = r.predicted_length ? r.predicted_length->mean_tokens
                                        : std::numeric_limits<double>::quiet_NaN();
    remaining_low = r.predicted_length
                        ? lognormal_length::fit(*r.predicted_length).residual_quantile(0.0, 0.1)
                        : std::numeric_limits<double>::quiet_NaN();
    remaining_at = tokens(0);
    if (r.predicted_length) {
      const double mean = std::ceil(r.predicted_length->mean_tokens);
      output_mean = capped(tokens(static_cast<tokens::rep>(std::min(mean, 1e12))));
      output_bound = capped(std::max(r.predicted_length->upper_bound, output_mean));
    } else {
      output_mean = capped(default_output);
      output_bound = output_mean;
    }
  }
};

/// A computed sequence of a plan: the slot behind it and the slot's generation when planned.
struct plan_entry {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
};

/// Owns every live request's state: a fixed array of slots, a free list and an id index, sized
/// once, so that taking a request in and ending it allocate nothing. Not thread-safe (the
/// scheduler's thread).
template <waiting_queue_policy Policy>
class request_table {
 public:
  using entry = scheduled_request<Policy>;

  /// A table of `capacity` slots. O(capacity); allocates here, once.
  explicit request_table(std::size_t capacity) : index_(capacity), slots_(capacity) {
    free_.reserve(capacity);
    for (std::size_t i = capacity; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
  }

  /// The slot of live request `id`, if any. O(1) expected.
  [[nodiscard]] std::optional<std::uint32_t> find(request_id id) const noexcept {
    return index_.find(id);
  }
  [[nodiscard]] entry& operator[](std::uint32_t slot) noexcept { return slots_[slot]; }
  [[nodiscard]] const entry& operator[](std::uint32_t slot) const noexcept { return slots_[slot]; }
  /// The slot number of `e`, an entry of this table. O(1).
  [[nodiscard]] std::uint32_t slot_of(const entry& e) const noexcept {
    return static_cast<std::uint32_t>(&e - slots_.data());
  }

  /// Free slots left. O(1).
  [[nodiscard]] std::size_t room() const noexcept { return free_.size(); }
  /// Live requests. O(1).
  [[nodiscard]] std::size_t live() const noexcept { return index_.size(); }

  /// The slot the next request goes to, filled by the caller and made live by add().
  /// Precondition: room() > 0. O(1).
  [[nodiscard]] entry& next_free() noexcept {
    RTLM_ASSERT(!free_.empty());
    return slots_[free_.back()];
  }
  /// Makes next_free() live under its request's id, in `phase`. False (nothing changes) when
  /// another live request has that id. O(1) expected.
  bool add(request_phase phase) noexcept {
    const std::uint32_t slot = free_.back();
    if (!index_.insert(slots_[slot].r.id, slot)) return false;
    free_.pop_back();
    slots_[slot].phase = phase;
    return true;
  }
  /// Ends live slot `slot` in `end` (an end phase): its id is forgotten and the slot reused.
  /// O(1) expected.
  void end(std::uint32_t slot, request_phase end) noexcept {
    RTLM_ASSERT(!queued(end) && !running(end) && end != request_phase::swapped_out);
    entry& e = slots_[slot];
    index_.erase(e.r.id);
    e.phase = end;
    ++e.generation;
    free_.push_back(slot);
  }

  /// Whether plan entry `p` still refers to the running request it was planned for (not ended,
  /// preempted or cancelled since). O(1).
  [[nodiscard]] bool current(const plan_entry& p) const noexcept {
    const entry& e = slots_[p.slot];
    return e.generation == p.generation && running(e.phase);
  }

 private:
  detail::request_index index_;
  std::vector<entry> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace rtlm
