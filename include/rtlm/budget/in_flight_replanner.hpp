// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>

#include "rtlm/budget/request_time_table.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/predict/length_distribution.hpp"

namespace rtlm {

/// A bound on the output tokens still to come once `produced` are out: the `coverage` quantile
/// of `predicted` conditioned on the length exceeding `produced`, minus `produced`, at least 1
/// and at most max_new_tokens - produced (0 when that is reached). When `predicted` holds no
/// mass above `produced` the request has outlived its prediction and the bound is the cap.
/// The conditional quantile inherits the distribution's calibration (none is added here).
/// O(buckets), noexcept, no allocation.
[[nodiscard]] tokens remaining_length_bound(const length_distribution& predicted, tokens produced,
                                            double coverage, tokens max_new_tokens) noexcept;

/// A request's state at a decode checkpoint. Plain data.
struct decode_checkpoint {
  seconds remaining{0};       ///< time left until the request's deadline (< 0 once passed)
  tokens kv_tokens{0};        ///< KV entries the request holds now (kept prompt + output)
  tokens remaining_bound{0};  ///< output tokens still to come, e.g. remaining_length_bound()
  tokens min_kv_tokens{0};    ///< the fewest KV entries an eviction may leave (sinks, window)
  bool can_evict = false;     ///< whether the backend evicts this request's KV in flight
  seconds eviction_time{0};   ///< what one eviction costs the host (scoring, selection, gather)
};

/// What to do at a checkpoint.
enum class replan_action : std::uint8_t {
  keep_going,  ///< the rest fits the deadline as it is
  evict,       ///< evicting down to keep_kv_tokens makes the rest fit
  cap_output,  ///< the rest cannot fit: stop after max_more_tokens more tokens (no eviction,
               ///< since truncation is then unavoidable and eviction would cost quality too)
  stop         ///< not one more token fits: end the request now (the Kill policy's move)
};

/// The name of an action ("keep_going", ...). O(1).
[[nodiscard]] std::string_view to_string(replan_action a) noexcept;

/// A checkpoint's decision. Plain data.
struct replan_decision {
  replan_action action = replan_action::keep_going;
  tokens keep_kv_tokens{0};   ///< KV entries to keep (= kv_tokens unless action is evict)
  tokens max_more_tokens{0};  ///< output tokens that fit as decided (< remaining_bound when
                              ///< capped, or after a best-effort eviction)
  seconds worst_case{0};      ///< predicted time of the rest as decided, an eviction included
  seconds slack{0};           ///< remaining - worst_case
};

/// Replanning in flight, which TimeBill does not do (it evicts once, after the prefill): from
/// where the request stands, decide whether the rest still fits the deadline under `table`'s
/// step times and, when it does not, evict the least KV that makes it fit (when the backend
/// can) or cap the output at what fits. Decode step i from here reads kv_tokens + i - 1 cached
/// tokens; an eviction pays at.eviction_time first. O(log kv_tokens + log cells), noexcept, no
/// allocation.
[[nodiscard]] replan_decision replan_at_checkpoint(const request_time_table& table,
                                                   const decode_checkpoint& at) noexcept;

/// replan_at_checkpoint with rtlm's best effort, as time_budget_solver::solve_best_effort does
/// at the prefill: when even min_kv_tokens cannot fit the bound, evict down to the most KV whose
/// chance of finishing in time is within `min_gain` of the fewest's, and evict nothing when no
/// eviction buys that much (the decision is then replan_at_checkpoint's cap_output or stop,
/// which a host may also treat as "run on and let the overrun policy act"). The chance of
/// keeping k entries is P(L <= produced + max_decode_steps(k, ...) | L > produced) under
/// `predicted`; a request that has outlived its prediction gets replan_at_checkpoint's answer.
/// An evict decision made this way carries the tokens that fit, fewer than the bound, and a
/// negative slack. Throws rtlm::error when `min_gain` is outside [0, 1]; O(log kv_tokens x
/// (log cells + buckets)), no allocation.
[[nodiscard]] replan_decision replan_best_effort(const request_time_table& table,
                                                 const decode_checkpoint& at,
                                                 const length_distribution& predicted,
                                                 tokens produced, double min_gain = 0.01);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/in_flight_replanner-inl.hpp"
#endif
