// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/online_step_correction.hpp"
#include "rtlm/schedule/placement.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"
#include "rtlm/schedule/slo_config.hpp"
#include "rtlm/schedule/virtual_token_counter.hpp"

namespace rtlm {

/// What admission control does with a request whose deadline no backend can meet, even alone
/// and at alpha_max (see docs/scheduling.md, "Admission control").
enum class admission_mode : std::uint8_t {
  accept,          ///< no admission control: every request is queued (as in vLLM or SGLang)
  reject,          ///< refuse it at once: event `rejected` with the reason
  downgrade,       ///< keep it as best effort: background priority, deadline dropped
  relax_deadline,  ///< keep it with deadline = now + relaxed_deadline_factor x its isolated time
};

inline constexpr std::string_view admission_mode_names[] = {"accept", "reject", "downgrade",
                                                            "relax_deadline"};

/// The name of `m`, equal to its enumerator ("relax_deadline"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(admission_mode m) noexcept {
  return detail::enum_name(m, admission_mode_names);
}

/// The mode named `name` (as to_string() writes it), or nullopt. O(modes); thread-safe.
[[nodiscard]] constexpr std::optional<admission_mode> admission_mode_from_string(
    std::string_view name) noexcept {
  return detail::enum_from_name<admission_mode>(name, admission_mode_names);
}

/// The output length admission control judges a deadline on (see docs/scheduling.md,
/// "Admission control").
enum class admission_basis : std::uint8_t {
  /// The predicted mean, always: early rejection, at the price of refusing some requests whose
  /// answers turn out shorter than predicted.
  expected_length,
  /// The predicted mean on a saturated backend (its queue's predicted wait at least
  /// offload.saturated_wait), where refusing a request predicted to miss keeps the others'
  /// deadlines; one token elsewhere, so that a backend with room refuses only what cannot
  /// finish even with the shortest answer.
  expected_length_when_saturated,
};

/// What a running request holds in the KV cache ahead of its growth (docs/scheduling.md, "One
/// step").
enum class kv_reservation : std::uint8_t {
  /// Its prompt plus the predicted output bound, from admission on (rtlm's default): fewer
  /// preemptions, at the price of KV held against tokens that may never come.
  predicted_bound,
  /// What it holds plus its next step's tokens, block by block as it grows (vLLM V1's
  /// allocation on demand): the most requests fit, and a full cache preempts.
  on_demand,
};

inline constexpr std::string_view kv_reservation_names[] = {"predicted_bound", "on_demand"};

/// The name of `r`, equal to its enumerator ("on_demand"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(kv_reservation r) noexcept {
  return detail::enum_name(r, kv_reservation_names);
}

/// The rule named `name` (as to_string() writes it), or nullopt. O(rules); thread-safe.
[[nodiscard]] constexpr std::optional<kv_reservation> kv_reservation_from_string(
    std::string_view name) noexcept {
  return detail::enum_from_name<kv_reservation>(name, kv_reservation_names);
}

/// Everything a scheduler is configured with. Aggregate: build it with designated initializers;
/// the scheduler's constructor validates it and throws rtlm::error naming the bad field.
struct scheduler_config {
  /// The policy, for rtlm::scheduler (unset: uncertainty_aware_priority). basic_scheduler<P>
  /// takes its policy as a type: there it must be unset or P's own kind.
  std::optional<policy_kind> policy;
  policy_config policies;              ///< the policies' weights
  std::size_t max_requests = 16384;    ///< live requests held (waiting, running, swapped out)
  std::size_t intake_capacity = 4096;  ///< submitted but not yet seen by a step
  std::size_t cancel_capacity = 1024;  ///< cancellations not yet seen by a step
  /// Intake shards (request_intake): submitting threads spread over them, so submits scale
  /// with threads; a thread sees intake_capacity / intake_shards of the room. 1..64.
  std::size_t intake_shards = 4;
  tokens max_step_tokens{2048};  ///< a step's token budget when the backend declares none
  /// Output length assumed for a request with no prediction (and as its growth reservation).
  tokens default_output_tokens{256};
  /// Growth reserved for a request on a backend that cannot preempt, when the request has no
  /// max_new_tokens: without preemption, an overrun could not be undone.
  tokens max_output_tokens{4096};
  double alpha_max = 0.9;  ///< the largest KV eviction ratio planned, in [0, 1)
  /// The estimator's calibrated level used for deadline checks: 0 plans on expected step times,
  /// a level in (0, 1) on the calibrated upper bounds (step_time_estimator::bound_factor).
  double bound_level = 0.0;
  int max_failed_steps = 3;  ///< a request whose steps fail this many times in a row is failed
  /// A request whose successful steps add no token this many times in a row (a backend that
  /// makes no progress) is failed with reason no_progress instead of running forever.
  int max_stalled_steps = 64;
  admission_mode admission = admission_mode::reject;
  admission_basis admission_length = admission_basis::expected_length_when_saturated;
  /// Admission control judges a deadline at the pace the backend runs now (its predicted wait,
  /// then every step as slow as its last planned one) rather than on the request run alone.
  bool admission_at_current_pace = false;
  /// What a running request reserves in KV (on a backend that cannot preempt, always its
  /// prompt plus max_new_tokens or max_output_tokens: an overrun there could not be undone).
  kv_reservation kv_rule = kv_reservation::predicted_bound;
  /// Whether a step that preempted a running request for KV also admits waiting ones. vLLM V1
  /// does not: memory that just ran out goes to the running requests first.
  bool admit_after_preemption = true;
  /// Dynamic consolidation (docs/scheduling.md): hold back admissions that would make a running
  /// request miss its deadline. Off, the batch takes whatever fits, as in vLLM or SGLang. Off by
  /// default: on the bundled Azure trace it delayed more deadlines than it kept at every load
  /// measured (docs/scheduling.md, "Dynamic consolidation"); turn it on where running requests'
  /// deadlines matter more than waiting ones'.
  bool consolidate = false;
  /// Consolidation holds a waiting request back for at most this long after its arrival.
  /// Finite, >= 0.
  seconds consolidation_max_hold{60.0};
  /// Preemption for priority: when the batch or the KV cache is full and the first waiting
  /// request ranks ahead of the least urgent running one by more than
  /// priority_preemption_margin (seconds of the policy's key), that one makes room (swap, else
  /// recompute), and a swapped-out request comes back only once no waiting request outranks it
  /// so. Off (the default, as in vLLM), only KV pressure preempts. Under FCFS it fires only for
  /// a request that KV pressure preempted before: every other running request arrived first.
  bool preempt_for_priority = false;
  /// Seconds of policy key by which a waiting request must outrank a running one to preempt it:
  /// what a preemption (a recompute's prefill, a swap's copy) is worth waiting for. Finite, >= 0.
  double priority_preemption_margin = 1.0;
  /// Limited preemption, after TRAIL (Shahout et al., ICLR 2025): preemption for priority takes
  /// a running request only while it has generated fewer than preemption_limit x its predicted
  /// mean output tokens (TRAIL's C; it found 0.8 best). Early in its life a request holds little
  /// KV and has little work to lose; later it runs to the end. Infinity (the default) sets no
  /// limit. >= 0, not NaN.
  double preemption_limit = std::numeric_limits<double>::infinity();
  /// Whether preemption for priority also charges the victim's own cost: the margin grows by
  /// the predicted time to prefill again what a recompute throws away (a swap loses nothing).
  bool preemption_cost_counted = false;
  /// A running request's remaining-length prediction (rtlm::remaining_length) is conditioned
  /// again on what it has generated every this many tokens: often enough to follow it, rarely
  /// enough to cost nothing per step. >= 1.
  tokens remaining_refresh_tokens{16};
  double relaxed_deadline_factor = 1.5;  ///< for admission_mode::relax_deadline, >= 1
  offload_config offload;                ///< strategic CPU offloading
  /// Static-batch backends: a batch takes the head request and waiting requests whose predicted
  /// length is within this factor of the head's, > 1.
  double similar_length_ratio = 2.0;
  online_correction_config step_time_learning;  ///< online update of each backend's estimator
  tokens solver_max_tokens{32768};  ///< lengths tabulated for each backend's budget solver
  slo_config slo;                   ///< TTFT and TPOT objectives: classes, relegation, step size
  fairness_config fairness;         ///< fairness between tenants (off by default)

  void validate() const {
    const auto in_range = [](std::size_t v) { return v >= 1 && v <= (std::size_t{1} << 24); };
    detail::require(in_range(max_requests), "scheduler_config.max_requests", max_requests,
                    "must be in 1..16777216");
    detail::require(in_range(intake_capacity), "scheduler_config.intake_capacity", intake_capacity,
                    "must be in 1..16777216");
    detail::require(in_range(cancel_capacity), "scheduler_config.cancel_capacity", cancel_capacity,
                    "must be in 1..16777216");
    detail::require(intake_shards >= 1 && intake_shards <= 64 && intake_shards <= intake_capacity,
                    "scheduler_config.intake_shards", intake_shards,
                    "must be in 1..64 and at most intake_capacity");
    detail::require(max_step_tokens.count() >= 1, "scheduler_config.max_step_tokens",
                    max_step_tokens, "must be >= 1");
    detail::require(default_output_tokens.count() >= 1, "scheduler_config.default_output_tokens",
                    default_output_tokens, "must be >= 1");
    detail::require(max_output_tokens.count() >= 1, "scheduler_config.max_output_tokens",
                    max_output_tokens, "must be >= 1");
    detail::require(alpha_max >= 0.0 && alpha_max < 1.0, "scheduler_config.alpha_max", alpha_max,
                    "must be in [0, 1)");
    detail::require(bound_level >= 0.0 && bound_level < 1.0, "scheduler_config.bound_level",
                    bound_level, "must be in [0, 1)");
    detail::require(max_failed_steps >= 1, "scheduler_config.max_failed_steps", max_failed_steps,
                    "must be >= 1");
    detail::require(max_stalled_steps >= 1, "scheduler_config.max_stalled_steps", max_stalled_steps,
                    "must be >= 1");
    detail::require(priority_preemption_margin >= 0.0 && std::isfinite(priority_preemption_margin),
                    "scheduler_config.priority_preemption_margin", priority_preemption_margin,
                    "must be finite and >= 0");
    detail::require(preemption_limit >= 0.0, "scheduler_config.preemption_limit", preemption_limit,
                    "must be >= 0 (infinity: no limit)");
    detail::require(remaining_refresh_tokens.count() >= 1,
                    "scheduler_config.remaining_refresh_tokens", remaining_refresh_tokens,
                    "must be >= 1");
    detail::require(relaxed_deadline_factor >= 1.0 && std::isfinite(relaxed_deadline_factor),
                    "scheduler_config.relaxed_deadline_factor", relaxed_deadline_factor,
                    "must be finite and >= 1");
    detail::require(similar_length_ratio > 1.0 && std::isfinite(similar_length_ratio),
                    "scheduler_config.similar_length_ratio", similar_length_ratio,
                    "must be finite and > 1");
    detail::require(
        consolidation_max_hold.count() >= 0.0 && std::isfinite(consolidation_max_hold.count()),
        "scheduler_config.consolidation_max_hold", consolidation_max_hold.count(),
        "must be finite and >= 0");
    detail::require(solver_max_tokens.count() >= 64, "scheduler_config.solver_max_tokens",
                    solver_max_tokens, "must be >= 64");
    offload.validate();
    step_time_learning.validate();
    slo.validate();
    fairness.validate();
  }

  /// The field of `r` that this configuration refuses, or empty: an slo_class that names no
  /// class of slo.classes, or, with fairness on, a tenant not below fairness.tenants (what
  /// request::validate() cannot know). O(1); no allocation.
  [[nodiscard]] std::string_view invalid_request_field(const request& r) const noexcept {
    if (r.slo_class && *r.slo_class >= slo.classes.size()) return "request.slo_class";
    if (fairness.enabled() && r.tenant >= fairness.tenants) return "request.tenant";
    return {};
  }

  /// Throws rtlm::error naming the field and the value where invalid_request_field(r) is not
  /// empty. O(1).
  void validate_request(const request& r) const {
    if (r.slo_class) {
      detail::require(*r.slo_class < slo.classes.size(), "request.slo_class", *r.slo_class,
                      "must index scheduler_config.slo.classes (" +
                          std::to_string(slo.classes.size()) + " classes)");
    }
    if (fairness.enabled()) {
      detail::require(r.tenant < fairness.tenants, "request.tenant", r.tenant,
                      "must be below scheduler_config.fairness.tenants (" +
                          std::to_string(fairness.tenants) + ")");
    }
  }

  /// For a scheduler whose policy is a type (basic_scheduler<P>): throws rtlm::error naming
  /// `scheduler_config.policy` when it is set and is not `own`, the type's kind (nullopt: a
  /// host's own policy type, which no kind names).
  void validate_policy_type(std::optional<policy_kind> own) const {
    if (!policy || policy == own) return;
    const std::string expected =
        own ? "unset or " + std::string(to_string(*own)) + ", this scheduler's policy"
            : std::string("unset: this scheduler's policy is the host's own type");
    detail::require(false, "scheduler_config.policy", to_string(*policy), "must be " + expected);
  }
};

}  // namespace rtlm
