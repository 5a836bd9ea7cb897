// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/predict/lognormal_length.hpp"

namespace rtlm {

/// A policy's priority key: a "virtual time" in fractional seconds on the same timeline as
/// arrivals and deadlines (rtlm::time_point). Lower is served first. Because a key is a time, a
/// request whose key is k is served before every request that arrives after k (as long as every
/// key is >= its own arrival): the clock passing k is the aging that bounds starvation.
using virtual_time = std::chrono::time_point<time_point::clock, seconds>;

/// What a scheduling policy reads about one waiting request: plain data, trivially copyable,
/// cheap to copy. The scheduler fills it from the rtlm::request and its estimators.
struct queued_request {
  request_id id{};             ///< the request's id
  std::uint64_t sequence = 0;  ///< submission order, unique per scheduler: breaks key ties (FCFS)
  time_point arrival{};        ///< when the host received the request
  std::optional<time_point> deadline;                  ///< request::effective_deadline(), if any
  priority_class priority = priority_class::standard;  ///< lower is more urgent
  tokens prompt_tokens;                                ///< prompt length, tokens
  std::optional<length_estimate> predicted_length;     ///< the length predictor's output, if any
  tokens generated;  ///< output tokens produced so far (non-zero once preempted), tokens
  /// The predicted mean remaining output length given `generated` (rtlm::remaining_length: the
  /// prediction conditioned on outliving what was generated), tokens; NaN without a prediction.
  /// The scheduler refreshes it every scheduler_config::remaining_refresh_tokens tokens.
  double remaining_tokens = std::numeric_limits<double>::quiet_NaN();
  /// Predicted remaining service time (prefill still to do plus the remaining decode steps), in
  /// seconds, from the time estimator. Used by least_laxity_first; 0 when unknown.
  seconds predicted_remaining{0.0};
  /// arrival + request::ttft_target, while its first token is still to come; else none.
  std::optional<time_point> ttft_deadline;
  /// Predicted time to prefill what it must before its first token, seconds; 0 when unknown.
  seconds predicted_prefill{0.0};
  std::uint32_t tenant = 0;  ///< request::tenant (fairness partitions the queue by it)
  /// Relegated: it can no longer meet its objectives and is served after every request that
  /// can (the waiting queue orders it so, whatever the policy's key).
  bool relegated = false;
  /// The queue owner's own index for the request (the scheduler's slot), kept beside the key so
  /// that the owner finds the request without a lookup. Policies ignore it.
  std::uint32_t tag = 0;
};

/// The view of `r` a policy reads, with submission number `sequence`, predicted remaining
/// service time `predicted_remaining` (seconds) and remaining_tokens computed now. O(1); no
/// allocation (copies no string).
[[nodiscard]] queued_request make_queued_request(const request& r, std::uint64_t sequence,
                                                 seconds predicted_remaining = seconds(0.0));
/// As above, with remaining_tokens given (the scheduler's cached one; NaN without a
/// prediction).
[[nodiscard]] queued_request make_queued_request(const request& r, std::uint64_t sequence,
                                                 seconds predicted_remaining,
                                                 double remaining_tokens);

/// The built-in scheduling policies, for choosing one from configuration at run time.
enum class policy_kind : std::uint8_t {
  first_come_first_served,       ///< see rtlm::first_come_first_served
  priority_classes,              ///< see rtlm::priority_classes
  earliest_deadline_first,       ///< see rtlm::earliest_deadline_first
  shortest_prompt_first,         ///< see rtlm::shortest_prompt_first
  shortest_predicted_first,      ///< see rtlm::shortest_predicted_first
  shortest_predicted_remaining,  ///< see rtlm::shortest_predicted_remaining
  least_laxity_first,            ///< see rtlm::least_laxity_first
  uncertainty_aware_priority,    ///< see rtlm::uncertainty_aware_priority
  shortest_remaining_work,       ///< see rtlm::shortest_remaining_work
  gittins_index,                 ///< see rtlm::gittins_index
  tail_inflated_expectation,     ///< see rtlm::tail_inflated_expectation
};

/// Every policy_kind, in declaration order.
inline constexpr std::array<policy_kind, 11> all_policy_kinds = {
    policy_kind::first_come_first_served,   policy_kind::priority_classes,
    policy_kind::earliest_deadline_first,   policy_kind::shortest_prompt_first,
    policy_kind::shortest_predicted_first,  policy_kind::shortest_predicted_remaining,
    policy_kind::least_laxity_first,        policy_kind::uncertainty_aware_priority,
    policy_kind::shortest_remaining_work,   policy_kind::gittins_index,
    policy_kind::tail_inflated_expectation,
};

/// The name of a kind, equal to its enumerator ("earliest_deadline_first"). O(1); no allocation;
/// thread-safe (pure).
[[nodiscard]] std::string_view to_string(policy_kind kind) noexcept;
/// The kind named `name` (as to_string() writes it), or nullopt. O(kinds); no allocation;
/// thread-safe (pure).
[[nodiscard]] std::optional<policy_kind> policy_kind_from_string(std::string_view name) noexcept;

/// A scheduling policy: a small copyable type whose `key(q)` is q's priority key (lower is served
/// first; ties go to the lower `sequence`). key() must be noexcept, allocation-free and pure (the
/// same view gives the same key, whatever the time), because the waiting queue stores keys and
/// computes them on the scheduler's per-step path.
///
/// @code
/// // Oldest first among requests with a deadline, then the rest: a complete policy.
/// struct deadline_holders_first {
///   [[nodiscard]] rtlm::virtual_time key(const rtlm::queued_request& q) const noexcept {
///     const rtlm::virtual_time arrival(q.arrival);
///     return q.deadline ? arrival : arrival + rtlm::seconds(3600.0);
///   }
/// };
/// static_assert(rtlm::scheduling_policy<deadline_holders_first>);
/// rtlm::waiting_queue<deadline_holders_first> queue(deadline_holders_first{}, 4096);
/// @endcode
template <class P>
concept scheduling_policy = std::copy_constructible<P> &&
    requires(const P& p, const queued_request& q) {
  { p.key(q) }
  noexcept->std::same_as<virtual_time>;
};

namespace detail::policy {

// `v` when it is finite and >= 0, else `fallback`: keys stay finite and ordered even when an
// estimator hands over a NaN or a negative number.
[[nodiscard]] inline double sanitized(double v, double fallback) noexcept {
  return std::isfinite(v) && v >= 0.0 ? v : fallback;
}

// The predicted mean output length of `q`, tokens, or `fallback` without a usable prediction.
[[nodiscard]] inline double predicted_mean(const queued_request& q, double fallback) noexcept {
  return q.predicted_length ? sanitized(q.predicted_length->mean_tokens, fallback) : fallback;
}

// The predicted remaining output length of `q`, tokens (its remaining_tokens, else its mean
// less what it generated), at least 1, or `fallback` less what it generated without a usable
// prediction.
[[nodiscard]] inline double predicted_remaining_tokens(const queued_request& q,
                                                       double fallback) noexcept {
  const auto generated = static_cast<double>(std::max<tokens::rep>(q.generated.count(), 0));
  if (std::isfinite(q.remaining_tokens)) return std::max(1.0, q.remaining_tokens);
  return std::max(1.0, predicted_mean(q, fallback) - generated);
}

// `t` as a virtual time.
[[nodiscard]] inline virtual_time at(time_point t) noexcept { return t; }

// The start of an aging key (the arrival) or of a strict one (the epoch).
[[nodiscard]] inline virtual_time start(const queued_request& q, bool age) noexcept {
  return age ? at(q.arrival) : virtual_time{};
}

}  // namespace detail::policy

/// First come, first served (vLLM's and llama.cpp's default): key = arrival.
/// Starvation bound: none needed; a request waits only for those that arrived before it.
/// O(1); no allocation; thread-safe (immutable).
struct first_come_first_served {
  static constexpr policy_kind kind = policy_kind::first_come_first_served;
  /// key = arrival.
  [[nodiscard]] static virtual_time key(const queued_request& q) noexcept {
    return detail::policy::at(q.arrival);
  }
};

/// Configuration of rtlm::priority_classes.
struct priority_classes_config {
  /// Virtual seconds one class step costs: a class-c request ranks like a class-0 request that
  /// arrived c * class_spacing later. Finite, >= 0.
  seconds class_spacing{10.0};
};

/// Strict priority classes with aging: key = arrival + class_index * class_spacing.
/// Within a class, FCFS. Starvation bound: a class-c request arriving at a is served before
/// any request arriving after a + c * class_spacing, so it waits at most c * class_spacing plus
/// the time to drain the requests queued with keys below its own.
/// key() is O(1), no allocation; thread-safe (immutable).
class priority_classes {
 public:
  static constexpr policy_kind kind = policy_kind::priority_classes;
  /// Throws rtlm::error naming `priority_classes_config.class_spacing` unless finite and >= 0.
  explicit priority_classes(priority_classes_config config = {});
  /// key = arrival + class_index * class_spacing.
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    return detail::policy::at(q.arrival) + static_cast<double>(q.priority) * config_.class_spacing;
  }
  /// The configuration, as validated.
  [[nodiscard]] const priority_classes_config& config() const noexcept { return config_; }

 private:
  priority_classes_config config_;
};

/// Configuration of rtlm::earliest_deadline_first.
struct earliest_deadline_first_config {
  /// The deadline given to requests without one: arrival + default_relative_deadline.
  /// Finite, >= 0.
  seconds default_relative_deadline{60.0};
};

/// Earliest deadline first: key = effective deadline, or arrival + default_relative_deadline
/// for a request without one. Starvation bound: a deadline is never before its arrival, so a
/// request with key k is served before any request arriving after k: it waits at most
/// k - arrival (its relative deadline) plus the time to drain the requests queued with keys
/// below k. key() is O(1), no allocation; thread-safe (immutable).
class earliest_deadline_first {
 public:
  static constexpr policy_kind kind = policy_kind::earliest_deadline_first;
  /// Throws rtlm::error naming `earliest_deadline_first_config.default_relative_deadline` unless
  /// finite and >= 0.
  explicit earliest_deadline_first(earliest_deadline_first_config config = {});
  /// key = deadline, or arrival + default_relative_deadline.
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    return q.deadline ? detail::policy::at(*q.deadline)
                      : detail::policy::at(q.arrival) + config_.default_relative_deadline;
  }
  /// The configuration, as validated.
  [[nodiscard]] const earliest_deadline_first_config& config() const noexcept { return config_; }

 private:
  earliest_deadline_first_config config_;
};

/// Configuration of rtlm::shortest_prompt_first.
struct shortest_prompt_first_config {
  /// Virtual seconds one prompt token costs (the aging rate). Finite, >= 0. A huge value
  /// (1e6) gives plain prompt-length order, with no aging.
  double seconds_per_token = 0.001;
};

/// Shortest prompt first with aging: a prompt-length shortest-job-first baseline (proposed for
/// vLLM, not merged; docs/methods.md, 'Baselines and what serving engines ship').
/// key = arrival + seconds_per_token * prompt_tokens. Sorting by prompt length alone, with no
/// aging, lets a long prompt starve forever under a stream of shorter ones. Starvation bound: a
/// request is served before any request arriving after its key, so it waits at most
/// seconds_per_token * prompt_tokens plus the time to drain the requests queued with keys below
/// its own. key() is O(1), no allocation; thread-safe (immutable).
class shortest_prompt_first {
 public:
  static constexpr policy_kind kind = policy_kind::shortest_prompt_first;
  /// Throws rtlm::error naming `shortest_prompt_first_config.seconds_per_token` unless finite
  /// and >= 0.
  explicit shortest_prompt_first(shortest_prompt_first_config config = {});
  /// key = arrival + seconds_per_token * prompt_tokens (a negative count counts as 0).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    const auto prompt = static_cast<double>(std::max<tokens::rep>(q.prompt_tokens.count(), 0));
    return detail::policy::at(q.arrival) + seconds(config_.seconds_per_token * prompt);
  }
  /// The configuration, as validated.
  [[nodiscard]] const shortest_prompt_first_config& config() const noexcept { return config_; }

 private:
  shortest_prompt_first_config config_;
};

/// Configuration of the policies that order by predicted output length.
struct predicted_length_config {
  /// Virtual seconds one predicted output token costs (the aging rate). Finite, >= 0. About one
  /// decode step (0.01 s) makes the size term close to the request's isolated decode time.
  double seconds_per_token = 0.01;
  /// The output length assumed for a request without a usable prediction, tokens. Finite, >= 0.
  double default_length_tokens = 256.0;
  /// Whether the key starts at the arrival (aging). Off, the key is the size term alone: a
  /// strict shortest-first order (vLLM's `priority` with the predicted length as priority),
  /// which may starve long requests forever.
  bool age = true;
};

/// Shortest predicted (output length) first with aging:
/// key = (arrival, or the epoch without aging) + seconds_per_token * predicted mean output
/// tokens (default_length_tokens without a prediction): the prediction made at submission, kept
/// when the request is preempted, as vLLM's `priority` keeps a request's priority (for what is
/// left of a preempted request, shortest_predicted_remaining). Starvation bound (with aging):
/// waits at most seconds_per_token * predicted length plus the time to drain the requests
/// queued with keys below its own; none without aging.
/// key() is O(1), no allocation; thread-safe (immutable).
class shortest_predicted_first {
 public:
  static constexpr policy_kind kind = policy_kind::shortest_predicted_first;
  /// Throws rtlm::error naming `predicted_length_config.seconds_per_token` or
  /// `predicted_length_config.default_length_tokens` unless each is finite and >= 0.
  explicit shortest_predicted_first(predicted_length_config config = {});
  /// key = start + seconds_per_token * predicted mean.
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    const double size = detail::policy::predicted_mean(q, config_.default_length_tokens);
    return detail::policy::start(q, config_.age) + seconds(config_.seconds_per_token * size);
  }
  /// The configuration, as validated.
  [[nodiscard]] const predicted_length_config& config() const noexcept { return config_; }

 private:
  predicted_length_config config_;
};

/// Shortest predicted remaining first (SRPT on predictions) with aging:
/// key = (arrival, or the epoch without aging) + seconds_per_token * predicted remaining
/// tokens: remaining_tokens (the prediction conditioned on outliving what was
/// generated, so a request past its predicted mean is not ranked as nearly done), or
/// max(1, mean - generated) without one, or default_length_tokens - generated without a
/// prediction. Starvation bound (with aging): waits at most seconds_per_token * its remaining
/// tokens plus the time to drain the requests queued with keys below its own; none without
/// aging.
/// key() is O(1), no allocation; thread-safe (immutable).
class shortest_predicted_remaining {
 public:
  static constexpr policy_kind kind = policy_kind::shortest_predicted_remaining;
  /// Throws like shortest_predicted_first's constructor.
  explicit shortest_predicted_remaining(predicted_length_config config = {});
  /// key = start + seconds_per_token * predicted remaining tokens.
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    const double remaining =
        detail::policy::predicted_remaining_tokens(q, config_.default_length_tokens);
    return detail::policy::start(q, config_.age) + seconds(config_.seconds_per_token * remaining);
  }
  /// The configuration, as validated.
  [[nodiscard]] const predicted_length_config& config() const noexcept { return config_; }

 private:
  predicted_length_config config_;
};

/// Least laxity first: key = deadline - predicted remaining service seconds (deadline =
/// arrival + default_relative_deadline without one), or, for a request with a TTFT target whose
/// first token is still to come, the TTFT deadline less its predicted prefill when that is
/// earlier (least TTFT slack). The laxity at time `now` is key - now, so ordering by key is
/// ordering by laxity at any time. Starvation bound: a request with key k is
/// served before any request arriving after k whose key is not below its arrival (laxity >= 0
/// at arrival); it waits at most k - arrival plus the time to drain the requests queued with
/// keys below k. Requests that arrive already unable to meet their deadline (negative laxity)
/// can overtake: LLF serves the most urgent first; admission control must bound them.
/// key() is O(1), no allocation; thread-safe (immutable).
class least_laxity_first {
 public:
  static constexpr policy_kind kind = policy_kind::least_laxity_first;
  /// Throws rtlm::error naming `earliest_deadline_first_config.default_relative_deadline` unless
  /// finite and >= 0.
  explicit least_laxity_first(earliest_deadline_first_config config = {});
  /// key = min(deadline - predicted_remaining, ttft_deadline - predicted_prefill) (NaN or
  /// negative times count as 0).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    const virtual_time deadline =
        q.deadline ? detail::policy::at(*q.deadline)
                   : detail::policy::at(q.arrival) + config_.default_relative_deadline;
    const virtual_time k =
        deadline - seconds(detail::policy::sanitized(q.predicted_remaining.count(), 0.0));
    if (!q.ttft_deadline) return k;
    return std::min(k, detail::policy::at(*q.ttft_deadline) -
                           seconds(detail::policy::sanitized(q.predicted_prefill.count(), 0.0)));
  }
  /// The configuration, as validated.
  [[nodiscard]] const earliest_deadline_first_config& config() const noexcept { return config_; }

 private:
  earliest_deadline_first_config config_;
};

/// Configuration of rtlm::uncertainty_aware_priority.
struct uncertainty_aware_config {
  /// Virtual seconds one (inflated) predicted output token costs. Finite, >= 0.
  double seconds_per_token = 0.01;
  /// The output length assumed without a usable prediction, tokens. Finite, >= 0.
  double default_length_tokens = 256.0;
  /// lambda in mean * exp(lambda * uncertainty). Finite, >= 0; 0 ignores uncertainty.
  double uncertainty_weight = 0.5;
  /// The largest inflation factor exp(lambda * uncertainty) may reach. Finite, >= 1.
  double max_inflation = 4.0;
  /// Virtual seconds one priority class step costs (as in priority_classes). Finite, >= 0; 0
  /// ignores classes.
  seconds class_spacing{0.0};
};

/// Uncertainty-aware prioritization, after RT-LM (Li, Li, Yang, Liu, "RT-LM: Uncertainty-Aware
/// Resource Management for Real-Time Inference of Language Models", RTSS 2023): a request whose
/// length is less certain ranks as longer. size = mean * min(exp(uncertainty_weight *
/// uncertainty), max_inflation) (default_length_tokens, uninflated, without a prediction);
/// key = arrival + class_index * class_spacing + seconds_per_token * size. The formula is
/// rtlm's: the paper's body is not available to us. Starvation bound: waits at most
/// class_index * class_spacing + seconds_per_token * mean * max_inflation plus the time to drain
/// the requests queued with keys below its own. key() is O(1), no allocation; thread-safe
/// (immutable).
class uncertainty_aware_priority {
 public:
  static constexpr policy_kind kind = policy_kind::uncertainty_aware_priority;
  /// Throws rtlm::error naming the `uncertainty_aware_config` field that is NaN, infinite,
  /// negative, or (max_inflation) below 1.
  explicit uncertainty_aware_priority(uncertainty_aware_config config = {});
  /// The inflated expected output length of `q` (of what remains of it, once it has generated
  /// tokens), tokens.
  [[nodiscard]] double inflated_length(const queued_request& q) const noexcept {
    if (!q.predicted_length) return config_.default_length_tokens;
    const double mean =
        q.generated.count() > 0
            ? detail::policy::predicted_remaining_tokens(q, config_.default_length_tokens)
            : detail::policy::predicted_mean(q, config_.default_length_tokens);
    const double u = detail::policy::sanitized(q.predicted_length->uncertainty, 0.0);
    // exp() may overflow to inf; min() caps it, so mean * factor stays finite.
    return mean * std::min(std::exp(config_.uncertainty_weight * u), config_.max_inflation);
  }
  /// key = arrival + class_index * class_spacing + seconds_per_token * inflated_length(q).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    return detail::policy::at(q.arrival) + static_cast<double>(q.priority) * config_.class_spacing +
           seconds(config_.seconds_per_token * inflated_length(q));
  }
  /// The configuration, as validated.
  [[nodiscard]] const uncertainty_aware_config& config() const noexcept { return config_; }

 private:
  uncertainty_aware_config config_;
};

/// Configuration of rtlm::shortest_remaining_work.
struct remaining_work_config {
  /// Virtual seconds one second of predicted remaining work costs. Finite, >= 0.
  double work_weight = 1.0;
  /// Whether the key starts at the arrival (aging: the clock passing the key serves it). Off,
  /// the key is the remaining work alone: pure SRPT, which may starve long requests forever.
  bool age = true;
};

/// Shortest remaining work first: key = arrival + work_weight * predicted remaining service
/// seconds (prefill still to do plus the remaining decode steps, from the time estimator), or
/// the remaining work alone without aging. Unlike shortest_predicted_remaining, which counts
/// output tokens, it ranks a long prompt as the work it is. Given true lengths and no aging it
/// is SRPT on true remaining work, the bound the simulator's oracle uses. Starvation bound
/// (with aging): waits at most work_weight * predicted remaining plus the time to drain the
/// requests queued with keys below its own; none without aging. key() is O(1), no allocation;
/// thread-safe (immutable).
class shortest_remaining_work {
 public:
  static constexpr policy_kind kind = policy_kind::shortest_remaining_work;
  /// Throws rtlm::error naming `remaining_work_config.work_weight` unless finite and >= 0.
  explicit shortest_remaining_work(remaining_work_config config = {});
  /// key = (arrival, or the epoch without aging) + work_weight * predicted_remaining (NaN or
  /// negative remaining counts as 0).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    const virtual_time start = config_.age ? detail::policy::at(q.arrival) : virtual_time{};
    return start + seconds(config_.work_weight *
                           detail::policy::sanitized(q.predicted_remaining.count(), 0.0));
  }
  /// The configuration, as validated.
  [[nodiscard]] const remaining_work_config& config() const noexcept { return config_; }

 private:
  remaining_work_config config_;
};

/// Configuration of the policies that rank by the predicted length distribution
/// (rtlm::gittins_index, rtlm::tail_inflated_expectation).
struct length_distribution_config {
  /// Virtual seconds one token of the rank costs. Finite, >= 0.
  double seconds_per_token = 0.01;
  /// The output length assumed for a request without a usable prediction, tokens (taken as
  /// certain). Finite, >= 0.
  double default_length_tokens = 256.0;
  /// Whether the key starts at the arrival (aging: the clock passing the key serves it). Off,
  /// the key is the rank alone, which may starve long requests forever.
  bool age = true;
  /// tail_inflated_expectation's tail level alpha, in [0, 1) (TIE's default: 0.9).
  double tail_level = 0.9;
  /// tail_inflated_expectation's tail weight beta. Finite, >= 0 (TIE adapts it in
  /// [0.1, 0.5] to the queue's length; a policy key is pure, so here it is fixed).
  double tail_weight = 0.5;
};

namespace detail::policy {

// The remaining length of `q`'s prediction given `generated` as a log-normal; nullopt without a
// usable prediction.
[[nodiscard]] inline std::optional<lognormal_length> length_model(
    const queued_request& q) noexcept {
  if (!q.predicted_length || !std::isfinite(q.predicted_length->mean_tokens)) return std::nullopt;
  return lognormal_length::fit(*q.predicted_length);
}

}  // namespace detail::policy

/// The Gittins index policy on the predicted length distribution (Gittins; Aalto, Ayesta and
/// Righter, 2009): the policy that minimises mean response time in an M/G/1 queue when sizes
/// are known only in distribution. A request's rank (lower first) is, with a its generated
/// tokens and L its length, inf over b > a of E[min(L, b) - a | L > a] / P(L <= b | L > a), in
/// tokens (lognormal_length::gittins_rank, on the log-normal fitted to its prediction); it is
/// the remaining length for a certain prediction (SRPT) and favours a request likely to end
/// soon over one whose prediction is as long on average but spread. key = (arrival, or the
/// epoch without aging) + seconds_per_token * rank, scaled so that a fresh request's rank
/// keeps its predicted mean's scale. Starvation bound (with aging): waits at most
/// seconds_per_token * rank plus the time to drain the requests queued with keys below its
/// own; none without aging. key() is O(1) (about 60 erfc and exp calls), no allocation;
/// thread-safe (immutable).
class gittins_index {
 public:
  static constexpr policy_kind kind = policy_kind::gittins_index;
  /// Throws rtlm::error naming the `length_distribution_config` field out of range.
  explicit gittins_index(length_distribution_config config = {});
  /// The rank of `q`, tokens.
  [[nodiscard]] double rank(const queued_request& q) const noexcept {
    const std::optional<lognormal_length> d = detail::policy::length_model(q);
    if (!d) return detail::policy::predicted_remaining_tokens(q, config_.default_length_tokens);
    const double scale = std::max(q.predicted_length->mean_tokens, 1.0) / d->mean();
    return std::max(d->gittins_rank(static_cast<double>(q.generated.count())) * scale, 1.0);
  }
  /// key = start + seconds_per_token * rank(q).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    return detail::policy::start(q, config_.age) + seconds(config_.seconds_per_token * rank(q));
  }
  /// The configuration, as validated.
  [[nodiscard]] const length_distribution_config& config() const noexcept { return config_; }

 private:
  length_distribution_config config_;
};

/// The tail-inflated expectation of TIE (Zheng et al., "Scheduling LLM Inference with
/// Uncertainty-Aware Output Length Predictions", ICML 2026): shortest first by
/// E[R] + beta * CVaR_alpha[R], R the remaining length, so that a request that might run long
/// ranks behind one as long on average but surely short. TIE fits a log-t per prompt with a
/// learned model and scores once; here R is the log-normal fitted to the prediction conditioned
/// on what was generated (lognormal_length::tail_inflated_expectation), scaled as in
/// gittins_index, with beta fixed. key = (arrival, or the epoch without aging) +
/// seconds_per_token * score. Starvation bound: as gittins_index's, with the score for the rank.
/// key() is O(1), no allocation; thread-safe (immutable).
class tail_inflated_expectation {
 public:
  static constexpr policy_kind kind = policy_kind::tail_inflated_expectation;
  /// Throws rtlm::error naming the `length_distribution_config` field out of range.
  explicit tail_inflated_expectation(length_distribution_config config = {});
  /// The score of `q`, tokens.
  [[nodiscard]] double score(const queued_request& q) const noexcept {
    const std::optional<lognormal_length> d = detail::policy::length_model(q);
    if (!d) return detail::policy::predicted_remaining_tokens(q, config_.default_length_tokens);
    const double scale = std::max(q.predicted_length->mean_tokens, 1.0) / d->mean();
    const double tie = d->tail_inflated_expectation(static_cast<double>(q.generated.count()),
                                                    config_.tail_level, config_.tail_weight);
    return std::max(tie * scale, 1.0);
  }
  /// key = start + seconds_per_token * score(q).
  [[nodiscard]] virtual_time key(const queued_request& q) const noexcept {
    return detail::policy::start(q, config_.age) + seconds(config_.seconds_per_token * score(q));
  }
  /// The configuration, as validated.
  [[nodiscard]] const length_distribution_config& config() const noexcept { return config_; }

 private:
  length_distribution_config config_;
};

static_assert(scheduling_policy<first_come_first_served>);
static_assert(scheduling_policy<priority_classes>);
static_assert(scheduling_policy<earliest_deadline_first>);
static_assert(scheduling_policy<shortest_prompt_first>);
static_assert(scheduling_policy<shortest_predicted_first>);
static_assert(scheduling_policy<shortest_predicted_remaining>);
static_assert(scheduling_policy<least_laxity_first>);
static_assert(scheduling_policy<uncertainty_aware_priority>);
static_assert(scheduling_policy<shortest_remaining_work>);
static_assert(scheduling_policy<gittins_index>);
static_assert(scheduling_policy<tail_inflated_expectation>);

/// Every built-in policy, for a policy chosen at run time; the alternatives are in policy_kind's
/// order. Trivially copyable, so never valueless.
using any_scheduling_policy =
    std::variant<first_come_first_served, priority_classes, earliest_deadline_first,
                 shortest_prompt_first, shortest_predicted_first, shortest_predicted_remaining,
                 least_laxity_first, uncertainty_aware_priority, shortest_remaining_work,
                 gittins_index, tail_inflated_expectation>;

namespace detail::policy {

// Whether alternative I of any_scheduling_policy is the policy of policy_kind I, for every I.
template <std::size_t... I>
constexpr bool alternatives_follow_kinds(std::index_sequence<I...> /*unused*/) noexcept {
  return (
      (static_cast<std::size_t>(std::variant_alternative_t<I, any_scheduling_policy>::kind) == I) &&
      ...);
}

}  // namespace detail::policy

static_assert(std::variant_size_v<any_scheduling_policy> == all_policy_kinds.size());
static_assert(detail::policy::alternatives_follow_kinds(
                  std::make_index_sequence<std::variant_size_v<any_scheduling_policy>>{}),
              "any_scheduling_policy's alternatives must be in policy_kind's order");

/// The configurations of every built-in policy; make_policy() reads the one its kind needs.
struct policy_config {
  priority_classes_config priority_classes;                ///< for policy_kind::priority_classes
  earliest_deadline_first_config earliest_deadline_first;  ///< for EDF and least_laxity_first
  shortest_prompt_first_config shortest_prompt_first;      ///< for shortest_prompt_first
  predicted_length_config predicted_length;        ///< for shortest_predicted_first and _remaining
  uncertainty_aware_config uncertainty_aware;      ///< for uncertainty_aware_priority
  remaining_work_config remaining_work;            ///< for shortest_remaining_work
  length_distribution_config length_distribution;  ///< for gittins_index and TIE
};

/// The built-in policy `kind`, configured from `config`. Throws rtlm::error naming the bad
/// field of the configuration that kind reads (the others are not checked). O(1); thread-safe
/// (pure).
[[nodiscard]] any_scheduling_policy make_policy(policy_kind kind, const policy_config& config = {});

/// The kind of the policy `p` holds. O(1); no allocation; thread-safe (pure).
[[nodiscard]] policy_kind kind_of(const any_scheduling_policy& p) noexcept;

/// q's key under policy `p` (a built-in or any type meeting scheduling_policy). O(1); no
/// allocation; thread-safe (policies are immutable).
template <scheduling_policy P>
[[nodiscard]] virtual_time policy_key(const P& p, const queued_request& q) noexcept {
  return p.key(q);
}

namespace detail::policy {

// Sets `k` to q's key under alternative I of `p` and returns true, if `p` holds that alternative.
template <std::size_t I>
bool key_if_holds(const any_scheduling_policy& p, const queued_request& q,
                  virtual_time& k) noexcept {
  const auto* policy = std::get_if<I>(&p);
  if (policy == nullptr) return false;
  k = policy->key(q);
  return true;
}

template <std::size_t... I>
virtual_time key_of_alternative(const any_scheduling_policy& p, const queued_request& q,
                                std::index_sequence<I...> /*unused*/) noexcept {
  virtual_time k{};
  static_cast<void>((key_if_holds<I>(p, q, k) || ...));
  return k;
}

}  // namespace detail::policy

/// q's key under the policy `p` holds (visits the variant with std::get_if; never throws). O(1);
/// no allocation; thread-safe (policies are immutable).
[[nodiscard]] inline virtual_time policy_key(const any_scheduling_policy& p,
                                             const queued_request& q) noexcept {
  return detail::policy::key_of_alternative(
      p, q, std::make_index_sequence<std::variant_size_v<any_scheduling_policy>>{});
}

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/schedule/scheduling_policy-inl.hpp"
#endif
