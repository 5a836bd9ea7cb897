// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>

#include "rtlm/backend/backend_capabilities.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/schedule/scheduler_config.hpp"

namespace rtlm {

/// One backend's KV accounts: what each running request reserves (kept in the request's own
/// `reserved`) and their total against the backend's capacity. A request reserves its prompt
/// plus its predicted output bound (kv_reservation::predicted_bound) or its prompt alone
/// (on_demand), rounded up to whole KV blocks (paged allocators hand out blocks, so the
/// capacity is what whole blocks hold); one that outgrows its reservation grows it block by
/// block as it decodes (grow()), and the capacity stage preempts, or fails, while the total is
/// over capacity. O(1) per call; no allocation; not thread-safe (the scheduler's thread).
class kv_ledger {
 public:
  /// A ledger for a backend declaring `caps`. `max_output_tokens` is the growth reserved for a
  /// request without max_new_tokens on a backend that cannot preempt (an overrun there could not
  /// be undone).
  kv_ledger(const backend_capabilities& caps, tokens max_output_tokens,
            kv_reservation rule = kv_reservation::predicted_bound) noexcept
      : caps_(&caps),
        capacity_(caps.usable_kv_capacity()),
        step_tokens_(std::max(caps.max_tokens_per_outcome, tokens(1))),
        can_preempt_(caps.can_preempt_recompute || caps.can_preempt_swap),
        max_output_(max_output_tokens),
        on_demand_(rule == kv_reservation::on_demand && can_preempt_) {}

  /// The KV request `t` reserves when it is admitted: its prompt and output bound (none on
  /// demand), or what it will prefill plus one token if more, in whole blocks.
  template <class Request>
  [[nodiscard]] tokens need(const Request& t) const noexcept {
    tokens growth = on_demand_ ? tokens(0) : t.output_bound;
    if (!can_preempt_) growth = t.r.max_new_tokens ? *t.r.max_new_tokens : max_output_;
    return blocks(std::max(t.r.prompt_tokens + growth, t.prefill_target + tokens(1)));
  }
  /// What a swapped-out request reserves to come back: need(), or what it holds plus what its
  /// next decode may append if more.
  template <class Request>
  [[nodiscard]] tokens swap_in_need(const Request& t) const noexcept {
    return std::max(need(t), blocks(t.kv_held() + step_tokens_));
  }

  /// Whether `need` more tokens fit beside what is reserved.
  [[nodiscard]] bool fits(tokens need) const noexcept { return reserved_ + need <= capacity_; }
  /// Whether the reservations exceed the capacity (requests outgrew their bounds).
  [[nodiscard]] bool over_committed() const noexcept { return reserved_ > capacity_; }

  /// Reserves `need` for `t`, which holds nothing here.
  template <class Request>
  void reserve(Request& t, tokens need) noexcept {
    t.reserved = need;
    reserved_ += need;
  }
  /// Frees what `t` reserves.
  template <class Request>
  void release(Request& t) noexcept {
    reserved_ -= t.reserved;
    t.reserved = tokens(0);
  }
  /// After a decode step: a request past its reservation reserves what it holds plus what its
  /// next decode may append (max_tokens_per_outcome), in whole blocks.
  template <class Request>
  void grow(Request& t) noexcept {
    const tokens need = std::max(t.reserved, blocks(t.kv_held() + step_tokens_));
    reserved_ += need - t.reserved;
    t.reserved = need;
  }

  [[nodiscard]] tokens reserved() const noexcept { return reserved_; }
  [[nodiscard]] tokens capacity() const noexcept { return capacity_; }
  [[nodiscard]] tokens block_size() const noexcept { return caps_->kv_block_size; }

 private:
  // `n` rounded up to whole blocks (the backend's own rule).
  [[nodiscard]] tokens blocks(tokens n) const noexcept { return caps_->kv_footprint(n); }

  const backend_capabilities* caps_;  // the backend's, which outlives its lane
  tokens capacity_;
  tokens step_tokens_;  // the most tokens one decode appends (max_tokens_per_outcome)
  bool can_preempt_;
  tokens max_output_;
  bool on_demand_;  // kv_reservation::on_demand on a backend that can preempt
  tokens reserved_{0};
};

}  // namespace rtlm
