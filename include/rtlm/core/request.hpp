// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

/// How urgent a request is relative to others, independent of its deadline. Lower values are
/// more urgent. The named levels are conventions; any value 0..255 is valid.
enum class priority_class : std::uint8_t {
  realtime = 0,     ///< e.g. a control loop waiting on the answer
  interactive = 1,  ///< a person is waiting
  standard = 2,     ///< the default
  background = 3,   ///< batch or offline work
};

/// The largest token count a request may carry (prompt, output cap, predicted bound): 2^40,
/// far past any model's context, and small enough that the scheduler's sums of a few lengths
/// cannot overflow.
inline constexpr tokens max_request_tokens{std::int64_t{1} << 40};

/// What a length predictor attaches to a request: the distribution of its output length, reduced
/// to what schedulers and the budget solver consume. Plain data.
struct length_estimate {
  double mean_tokens = 0.0;     ///< expected output length, tokens
  tokens upper_bound;           ///< output length exceeded with probability <= 1 - bound_coverage
  double bound_coverage = 0.0;  ///< the coverage `upper_bound` was calibrated for, in (0, 1)
  double uncertainty = 0.0;     ///< predictor-specific spread score, >= 0; larger is less certain
};

/// What the scheduler records about a request as it runs. Plain data.
struct request_progress {
  tokens prefilled;                            ///< prompt tokens whose KV has been computed
  tokens generated;                            ///< output tokens produced so far
  double eviction_ratio = 0;                   ///< fraction of the prompt's KV evicted, in [0, 1)
  std::optional<time_point> first_token_time;  ///< when the first output token came out
};

/// One inference request as the host submits it, plus room for what the predictor and the
/// scheduler attach later. Plain data: copyable, movable, not synchronized.
struct request {
  request_id id{};                         ///< host-chosen, unique among live requests
  tokens prompt_tokens;                    ///< prompt length after tokenization, in
                                           ///< [0, max_request_tokens]
  std::optional<std::string> prompt_text;  ///< the prompt, when the host has it (for prediction)
  time_point arrival{};                    ///< when the host received it
  std::optional<time_point> deadline;      ///< absolute time by which it must finish
  std::optional<seconds> time_budget;      ///< time allowed from arrival to the last token
  /// Service-level objectives, as DistServe states them: the longest time to first token, and
  /// the longest mean time per output token after the first. Each in (0, 1e9] seconds.
  std::optional<seconds> ttft_target;
  std::optional<seconds> tpot_target;
  /// The SLO class (an index into scheduler_config::slo.classes): its defaults fill the
  /// objectives and budget left unset, and it says whether the request may be shed.
  std::optional<std::uint32_t> slo_class;
  /// Who sent it: fairness between tenants (scheduler_config::fairness) counts service per
  /// tenant. Below fairness.tenants when fairness is on.
  std::uint32_t tenant = 0;
  priority_class priority = priority_class::standard;
  std::optional<tokens> max_new_tokens;             ///< the host's cap on output length, in
                                                    ///< [1, max_request_tokens]
  std::optional<length_estimate> predicted_length;  ///< attached by a length predictor
  request_progress progress;                        ///< maintained by the scheduler

  /// The time it must finish by: the earlier of `deadline` and `arrival + time_budget`, or none.
  /// O(1), no allocation.
  [[nodiscard]] std::optional<time_point> effective_deadline() const {
    std::optional<time_point> by_budget;
    // Saturated, though validate() bounds both: a request that skipped it stays harmless.
    if (time_budget) by_budget = add_saturated(arrival, *time_budget);
    if (deadline && by_budget) return std::min(*deadline, *by_budget);
    return deadline ? deadline : by_budget;
  }

  /// Throws rtlm::error naming the field when the request is malformed: a prompt length outside
  /// [0, max_request_tokens], an arrival or deadline more than max_time_seconds from the clock's
  /// epoch, a time budget that is not in [0, max_duration_seconds], a TTFT or TPOT target not in
  /// (0, max_duration_seconds] (zero, negative or NaN), a deadline before arrival,
  /// a max_new_tokens outside [1, max_request_tokens], or an inconsistent predicted length (an
  /// upper_bound outside [0, max_request_tokens], ...). O(1), no allocation unless it throws.
  void validate() const {
    detail::require(prompt_tokens.count() >= 0 && prompt_tokens <= max_request_tokens,
                    "request.prompt_tokens", prompt_tokens, "must be in [0, 2^40]");
    detail::require(within_timeline(arrival), "request.arrival",
                    std::chrono::duration<double>(arrival.time_since_epoch()).count(),
                    "must be within 4e9 s of the clock's epoch (seconds since it)");
    if (time_budget) {
      detail::require_non_negative_finite("request.time_budget", time_budget->count());
      detail::require(time_budget->count() <= max_duration_seconds, "request.time_budget",
                      time_budget->count(), "must be at most 1e9 s");
    }
    for (const auto& [field, target] : {std::pair{"request.ttft_target", &ttft_target},
                                        std::pair{"request.tpot_target", &tpot_target}}) {
      if (!*target) continue;
      const double v = (*target)->count();
      detail::require(v > 0.0 && v <= max_duration_seconds, field, v,
                      "must be in (0, 1e9] seconds");
    }
    if (deadline) {
      detail::require(within_timeline(*deadline), "request.deadline",
                      std::chrono::duration<double>(deadline->time_since_epoch()).count(),
                      "must be within 4e9 s of the clock's epoch (seconds since it)");
      detail::require(*deadline >= arrival, "request.deadline", (*deadline - arrival).count(),
                      "must not be before arrival (ns after arrival)");
    }
    if (max_new_tokens) {
      detail::require(max_new_tokens->count() >= 1 && *max_new_tokens <= max_request_tokens,
                      "request.max_new_tokens", *max_new_tokens, "must be in [1, 2^40]");
    }
    if (predicted_length) {
      const length_estimate& p = *predicted_length;
      detail::require_non_negative_finite("request.predicted_length.mean_tokens", p.mean_tokens);
      detail::require(p.upper_bound.count() >= 0 && p.upper_bound <= max_request_tokens,
                      "request.predicted_length.upper_bound", p.upper_bound,
                      "must be in [0, 2^40]");
      detail::require(p.bound_coverage > 0.0 && p.bound_coverage < 1.0,
                      "request.predicted_length.bound_coverage", p.bound_coverage,
                      "must be in (0, 1)");
      detail::require_non_negative_finite("request.predicted_length.uncertainty", p.uncertainty);
    }
  }
};

}  // namespace rtlm
