// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/sim/simulation.hpp"

namespace rtlm::sim {

/// A request's time to first token, seconds: first token minus arrival (NaN unless finished).
/// O(1); no allocation.
[[nodiscard]] double time_to_first_token(const request_record& r) noexcept;

/// A request's time per output token after the first, seconds: (finish - first token) /
/// (output - 1); 0 for a one-token output (NaN unless finished). O(1); no allocation.
[[nodiscard]] double time_per_output_token(const request_record& r) noexcept;

/// The mean and nearest-rank percentiles (the ceil(q n)-th smallest) of one per-request time,
/// seconds; all 0 over no requests. Plain data.
struct time_distribution {
  std::size_t count = 0;  ///< requests it is over
  double mean = 0.0;
  double p50 = 0.0;
  double p90 = 0.0;
  double p99 = 0.0;
};

/// The figures serving papers report, for one run (docs/simulator.md, "Serving metrics").
/// Plain data.
struct serving_metrics {
  std::size_t requests = 0;
  std::size_t finished = 0;
  /// Per-token normalised latency: the mean over finished requests of latency / output
  /// tokens, seconds per token (vllm-ltr's metric); 0 with none finished.
  double normalized_latency = 0.0;
  /// Mean latency over every request that finished or has a deadline, seconds: one refused or
  /// failed counts at its deadline (deadline - arrival), so that refusing cannot lower it below
  /// what serving late would have cost; 0 with none.
  double mean_latency_all = 0.0;
  time_distribution ttft;       ///< time to first token, finished requests
  time_distribution tpot;       ///< time per output token, finished requests of 2 or more tokens
  std::size_t preemptions = 0;  ///< of all requests, recompute or swap
  tokens recomputed_tokens;     ///< of all requests: what recompute preemptions threw away
};

/// The serving metrics of `result`. O(n log n) in its records; allocates two vectors of times.
[[nodiscard]] serving_metrics serving_metrics_of(const simulation_result& result);

/// A (TTFT, TPOT) service-level objective, as DistServe states one. Plain data.
struct slo_target {
  seconds ttft{1.0};  ///< the longest time to first token, in [0, max_duration_seconds]
  seconds tpot{0.1};  ///< the longest time per output token, in [0, max_duration_seconds]

  /// Throws rtlm::error naming `slo_target.ttft` or `slo_target.tpot` and the value unless each
  /// is finite and in range. O(1).
  void validate() const;
};

/// Whether `r` finished within `slo`: TTFT <= slo.ttft and TPOT <= slo.tpot. O(1).
[[nodiscard]] bool meets(const request_record& r, const slo_target& slo) noexcept;

/// How a run met one SLO. Plain data.
struct slo_attainment {
  std::size_t requests = 0;  ///< every request of the run
  std::size_t met = 0;       ///< finished within the SLO
  /// met / requests: refused, failed and cancelled requests count as violations; 1 with no
  /// requests (none violated it).
  double attainment = 1.0;
  double violation_rate = 0.0;  ///< 1 - attainment
  /// Requests finished within the SLO per simulated second (the goodput vLLM's benchmark
  /// reports after DistServe); 0 for a run of no simulated time.
  double goodput = 0.0;
};

/// The attainment of `slo` over every request of `result`. Throws rtlm::error for an invalid
/// `slo` (slo_target::validate). O(n); no allocation.
[[nodiscard]] slo_attainment attainment_of(const simulation_result& result, const slo_target& slo);

/// Whether `r` met every objective it carries: it finished, with TTFT <= r.ttft_target when it
/// has one (not NaN), TPOT <= r.tpot_target when it has one, and finish <= r.deadline when it
/// has one. A request that carries none meets them by finishing. O(1); no allocation.
[[nodiscard]] bool meets_own_objectives(const request_record& r) noexcept;

/// How the requests of one SLO class met their own objectives (meets_own_objectives). Rates
/// per simulated second are 0 for a run of no simulated time. Plain data.
struct class_attainment {
  std::uint32_t slo_class = no_slo_class;  ///< the class, or no_slo_class for those without one
  std::size_t requests = 0;                ///< every request of the class
  std::size_t finished = 0;
  std::size_t met = 0;  ///< met all their own objectives
  /// Of its requests with a TTFT target: those that finished with TTFT within it / their
  /// number (refused, failed and cancelled ones count as misses); 1 with none.
  double ttft_attainment = 1.0;
  double tpot_attainment = 1.0;  ///< the same, for the TPOT target
  double attainment = 1.0;       ///< met / requests
  double goodput = 0.0;          ///< met per simulated second
  double throughput = 0.0;       ///< finished per simulated second
};

/// The attainment of each SLO class of `result`: one entry per class that occurs in its
/// records, in ascending class id, then one for the requests without a class (no_slo_class)
/// if there are any. O(n log n) in its records; allocates the entries and the class ids.
[[nodiscard]] std::vector<class_attainment> class_attainment_of(const simulation_result& result);

/// How every request of a run met its own objectives. Plain data.
struct objective_summary {
  std::size_t requests = 0;
  std::size_t met = 0;      ///< met all their own objectives (meets_own_objectives)
  double attainment = 1.0;  ///< met / requests; 1 with no requests
  /// Requests meeting all their objectives per simulated second (DistServe's goodput); 0 for a
  /// run of no simulated time.
  double goodput = 0.0;
};

/// The attainment of their own objectives over every request of `result`. O(n); no
/// allocation.
[[nodiscard]] objective_summary objectives_of(const simulation_result& result);

/// Jain's fairness index of `x`: (sum x)^2 / (n sum x^2), in [1/n, 1], 1 when every value is
/// equal; 1 for no values or all 0. Computed on x / max x, so large values do not overflow.
/// Throws rtlm::error naming `jain_index` for a negative or non-finite value. O(n); no
/// allocation.
[[nodiscard]] double jain_index(std::span<const double> x);

/// The service one tenant asked for and received by the end of a window, in weighted tokens
/// (fairness_of). Plain data.
struct tenant_service {
  std::uint32_t tenant = 0;
  std::size_t requests = 0;  ///< its requests that arrived by the window's end
  /// The weighted cost of those requests: prefill weight x prompt + decode weight x output.
  double demand = 0.0;
  double service = 0.0;      ///< the weighted tokens they received by the window's end
  double fair_share = 0.0;   ///< its max-min fair share of the service every tenant received
  double share_ratio = 1.0;  ///< service / fair_share; 1 when fair_share is 0
};

/// How fairly a run served its tenants. Plain data.
struct fairness_report {
  std::vector<tenant_service> tenants;  ///< one per tenant in the records, ascending id
  /// Jain's index of the share ratios of the tenants with demand > 0: 1 under perfect max-min
  /// fairness, lower the further the service strays from it; 1 with no such tenant.
  double jain = 1.0;
};

/// The service each tenant of `result` received by `window_end` (simulated seconds) against
/// its max-min fair share, with VTC's cost (Sheng et al., OSDI 2024): a request weighs
/// prefill_weight x prompt + decode_weight x output tokens. A tenant's demand is the cost of its
/// requests that arrived by window_end. Its service counts, for each of those that made a first
/// token by window_end, its prompt and first output token at the first token's time, and, for
/// one that finished, its other output - 1 tokens spread uniformly over [first_token, finish],
/// the part at or before window_end; one that did not finish (refused, failed, cancelled, or
/// preempted and never resumed) counts nothing beyond its first token, since its record does not
/// say when its later tokens came. The fair shares split the total service among the tenants by
/// water-filling capped at each one's demand: a tenant demanding less than an equal share gets
/// its demand and the rest is split equally among the others, repeatedly. Throws rtlm::error
/// naming `prefill_weight` or `decode_weight` for a negative or non-finite weight and
/// `window_end` for a non-finite one. O(n log n) in its records; allocates the report, the
/// tenant ids and two vectors of one entry per tenant.
[[nodiscard]] fairness_report fairness_of(const simulation_result& result, double prefill_weight,
                                          double decode_weight, double window_end);

/// A search for the highest sustainable load: see sustainable_rate().
struct rate_search {
  double lo = 0.0;          ///< the lowest load to consider, finite
  double hi = 1.0;          ///< the highest, finite and > lo
  double target = 0.1;      ///< the violation fraction allowed, in [0, 1): 0.1 or 0.01
  double tolerance = 0.01;  ///< the answer's precision, in load units, finite and > 0

  /// Throws rtlm::error naming the field (`rate_search.hi`, ...) and the value unless each is in
  /// range. O(1).
  void validate() const;
};

/// Where the threshold load lies relative to [lo, hi].
enum class rate_search_outcome : std::uint8_t {
  found,        ///< inside: lo meets the target, hi does not
  lo_violates,  ///< below: even lo violates the target
  hi_meets,     ///< above: even hi meets it
};

/// The name of `o`, equal to its enumerator ("found", "lo_violates", "hi_meets"). O(1); no
/// allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(rate_search_outcome o) noexcept {
  return rtlm::detail::enum_name(o, {"found", "lo_violates", "hi_meets"});
}

/// One evaluation of the violation function. Plain data.
struct rate_probe {
  double load = 0.0;
  double violations = 0.0;
};

/// What sustainable_rate() found. Plain data.
struct sustainable_rate_result {
  rate_search_outcome outcome = rate_search_outcome::found;
  /// The highest load evaluated that met the target (found: within `tolerance` below the
  /// lowest that did not; hi_meets: hi); none when even lo violates.
  std::optional<double> load;
  /// The lowest load evaluated that violated the target; none when even hi meets it.
  std::optional<double> violating_load;
  std::vector<rate_probe> probes;  ///< every evaluation, in order

  /// How many times the function was evaluated. O(1).
  [[nodiscard]] std::size_t evaluations() const noexcept { return probes.size(); }
};

/// The fraction of requests that violate an SLO at a load, in [0, 1]: typically one simulation
/// at that load's arrival rate, returning attainment_of(...).violation_rate.
using violation_function = std::function<double(double load)>;

/// The highest load in [search.lo, search.hi] at which `violations` stays at or below
/// search.target, by bisection, assuming `violations` does not decrease with load (the answer
/// is only as good as that assumption). Evaluates lo, then hi (unless lo already violates), then
/// halves [highest meeting, lowest violating] until it is at most search.tolerance wide (or
/// cannot be halved in floating point): 2 + ceil(log2((hi - lo) / tolerance)) evaluations when
/// the threshold lies inside. Throws rtlm::error for an invalid search (rate_search::validate)
/// and, naming `violations(LOAD)`, for a value outside [0, 1] or NaN. Allocates the probes; what
/// `violations` allocates is its own.
///
/// @code
/// const rtlm::sim::slo_target slo{.ttft = rtlm::seconds(2.0), .tpot = rtlm::seconds(0.1)};
/// const auto at = [&](double load) {
///   const rtlm::sim::trace t = rtlm::sim::stretch_arrivals(base, 1.0 / load);
///   return rtlm::sim::attainment_of(rtlm::sim::simulate(t, config), slo).violation_rate;
/// };
/// const rtlm::sim::sustainable_rate_result r =
///     rtlm::sim::sustainable_rate(at, {.lo = 0.1, .hi = 4.0, .target = 0.1, .tolerance = 0.01});
/// @endcode
[[nodiscard]] sustainable_rate_result sustainable_rate(const violation_function& violations,
                                                       const rate_search& search);

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/serving_metrics-inl.hpp"
#endif
