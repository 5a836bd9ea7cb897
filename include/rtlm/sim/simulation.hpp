// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/scheduler_event.hpp"
#include "rtlm/sim/simulated_backend.hpp"
#include "rtlm/sim/trace.hpp"

namespace rtlm::sim {

/// The latest a simulated time may be, in seconds after the first arrival: rtlm's bound on
/// absolute times (|t| <= 4e9 s, well inside the int64-nanosecond clock's 9.2e9 s). A trace
/// arrival, a deadline or the simulation's clock beyond it is an error, not an overflow.
inline constexpr double max_time_seconds = 4e9;
/// The longest a simulated duration may be, in seconds: rtlm's bound on durations (a deadline's
/// distance from its arrival, a time budget, a deadline rule's TTFT and TPOT).
inline constexpr double max_duration_seconds = 1e9;
/// The largest slack factor deadline_rule accepts.
inline constexpr double max_deadline_slack = 1e9;

/// How a simulated request's deadline is set.
struct deadline_rule {
  enum class kind : std::uint8_t {
    none,   ///< no deadlines
    slack,  ///< arrival + slack x the request's isolated service time on backend 0
    slo,    ///< arrival + ttft + tpot x (true output tokens - 1)
  };
  kind rule = kind::slack;
  double slack = 5.0;
  seconds ttft{2.0};
  seconds tpot{0.1};
  /// Set the deadline from the request's predicted mean output length (what a client or the
  /// scheduler could know at arrival; simulation_config::deadline_basis) instead of its true
  /// length, which would hand every deadline-ordered policy the answer. A request without a
  /// prediction uses its true length.
  bool on_predicted_length = false;

  /// Throws rtlm::error naming the field unless `slack` is in (0, max_deadline_slack] (for
  /// `slack`) and `ttft` and `tpot` are in [0, max_duration_seconds] (for `slo`).
  void validate() const;
};

/// One simulated backend: its simulator settings and the estimator its steps are timed by (the
/// scheduler plans with the same estimator; its online correction learns the noise).
struct backend_spec {
  simulated_backend_config config;
  const step_time_estimator* estimator = nullptr;
};

/// A prediction source: the length estimate attached to trace request `index` (nullopt: none).
using prediction_source =
    std::function<std::optional<length_estimate>(std::size_t index, const trace_request&)>;

/// The oracle prediction source: every request's true output length, as mean and as bound (a
/// bound for comparisons, such as oracle SRPT).
[[nodiscard]] std::optional<length_estimate> true_length(std::size_t index,
                                                         const trace_request& request) noexcept;

/// A mixed workload: which SLO class and tenant each request of a trace belongs to, drawn
/// independently per request (SplitMix64 of `seed` and the request's index, so every policy
/// run with the same seed sees the same mix). A request of a class has its class's objectives
/// (its deadline is its class's time budget, or none); the others follow
/// simulation_config::deadlines. Plain data.
struct request_mix {
  /// Each class's share of the requests, by index into scheduler_config::slo.classes (empty:
  /// requests carry no class). Finite, >= 0, not all 0.
  std::vector<double> class_shares;
  /// Each tenant's share of the requests (its demand), tenant i with weight i (empty: all
  /// tenant 0). Finite, >= 0, not all 0; at most fairness_config::max_tenants.
  std::vector<double> tenant_shares;
  std::uint64_t seed = 1;

  /// Throws rtlm::error naming `request_mix.class_shares[i]` (or tenant_shares) and the value
  /// when a share is out of range, and `request_mix.class_shares` when there are more shares
  /// than `classes`. O(shares).
  void validate(std::size_t classes) const;
};

/// Everything one simulation run needs. Aggregate.
struct simulation_config {
  scheduler_config scheduler;
  std::vector<backend_spec> backends;
  deadline_rule deadlines;
  prediction_source predict;  ///< empty: requests carry no prediction
  /// The prediction whose mean sets a deadline under deadline_rule::on_predicted_length (empty:
  /// `predict`'s). An oracle run sets it to the competitors' predictor, so that every policy is
  /// judged against the same deadlines while the oracle orders by true lengths.
  prediction_source deadline_basis;
  request_mix mix;  ///< classes and tenants (none by default)
};

/// request_record::slo_class of a request without one.
inline constexpr std::uint32_t no_slo_class = 0xffffffff;

/// What happened to one request. Times are simulated seconds since the first arrival; NaN when
/// the event did not happen.
struct request_record {
  std::size_t index = 0;  ///< position in the trace (also the request id)
  double arrival = 0.0;
  double deadline = 0.0;  ///< NaN without one
  double admitted = 0.0;  ///< first admission into a batch
  double first_token = 0.0;
  double finish = 0.0;
  tokens prompt;
  tokens output;                                            ///< true output length
  request_event_kind outcome = request_event_kind::queued;  ///< finished, rejected, failed, ...
  request_event_reason reason = request_event_reason::none;
  std::uint32_t preemptions = 0;  ///< times it left the running batch (recompute or swap)
  std::size_t backend = 0;
  double eviction_ratio = 0.0;  ///< the fraction of its prompt's KV evicted, in [0, 1)
  /// Tokens its recompute preemptions threw away and must prefill again: at each, its prompt
  /// plus the output generated so far (a swap loses none).
  tokens recomputed;
  std::uint32_t slo_class = no_slo_class;  ///< its SLO class, or no_slo_class
  std::uint32_t tenant = 0;
  /// Its TTFT target, seconds (its class's default applied); NaN: none.
  double ttft_target = std::numeric_limits<double>::quiet_NaN();
  double tpot_target = std::numeric_limits<double>::quiet_NaN();  ///< seconds; NaN: none
  bool relegated = false;  ///< relegated at some point (request_event_kind::relegated)

  [[nodiscard]] bool finished() const noexcept { return outcome == request_event_kind::finished; }
  [[nodiscard]] double latency() const noexcept { return finish - arrival; }
  /// Finished by its deadline (or finished, without one).
  [[nodiscard]] bool on_time() const noexcept;
};

/// The outcome of a run.
struct simulation_result {
  std::vector<request_record> records;  ///< one per trace request, in trace order
  double simulated_seconds = 0.0;       ///< from the first arrival to the last event
  std::vector<double> busy_seconds;     ///< per backend
  std::uint64_t steps = 0;
  /// Events that ended a request that had already ended (finished, rejected, failed or
  /// cancelled twice): 0 unless something is badly wrong; the conservation test checks it.
  std::size_t repeated_endings = 0;
  /// Prompt tokens the backends' prefix caches served instead of computing (0 without one).
  tokens cached_prefill_tokens{0};
};

/// Runs `t` through an rtlm::scheduler over the simulated backends: the discrete-event loop
/// steps each backend whenever it is idle and has work, submits each arrival at its time, and
/// records every request's fate. The scheduler is exactly the one a server runs. Deterministic:
/// the same inputs give the same result. Throws rtlm::error for an invalid configuration, for a
/// trace request with an arrival that is not finite, negative, beyond max_time_seconds or before
/// the previous one's, or a negative prompt or an output under 1 token (naming `trace request
/// N: ...`), for a deadline more than max_duration_seconds after its arrival or beyond
/// max_time_seconds, and when the simulated clock would pass max_time_seconds. Memory: the
/// records (sizeof(request_record) per trace request) and the scheduler's table of the requests
/// live at once; tests/sim/simulation_memory_test.cpp bounds it.
[[nodiscard]] simulation_result simulate(const trace& t, const simulation_config& config);

/// The figures of one run (docs/methods.md, 'Simulator evaluation').
struct simulation_metrics {
  std::size_t requests = 0;
  std::size_t finished = 0;
  std::size_t rejected = 0;
  std::size_t failed = 0;     ///< ended unfinished by the scheduler (kv_exhausted, ...)
  double mean_latency = 0.0;  ///< end-to-end, finished requests, seconds
  double p50_latency = 0.0;
  double p99_latency = 0.0;
  double mean_ttft = 0.0;           ///< time to first token, finished requests
  double mean_tpot = 0.0;           ///< time per output token after the first, finished requests
  double deadline_miss_rate = 0.0;  ///< of requests with a deadline: not finished by it
  double goodput = 0.0;             ///< requests finished on time per simulated second
  double throughput = 0.0;          ///< requests finished per simulated second
  double max_queue_wait = 0.0;      ///< longest arrival-to-admission wait
  double utilization = 0.0;         ///< mean over backends of busy / simulated seconds
  double mean_eviction = 0.0;       ///< mean KV eviction ratio of finished requests
  std::size_t preemptions = 0;      ///< preemptions of all requests (recompute or swap)
};

[[nodiscard]] simulation_metrics summarize(const simulation_result& result);

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/simulation-inl.hpp"
#endif
