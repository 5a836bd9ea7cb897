// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/estimate/online_step_correction.hpp"
#include "rtlm/schedule/kv_ledger.hpp"
#include "rtlm/schedule/request_table.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/step_report.hpp"
#include "rtlm/schedule/waiting_queue.hpp"

namespace rtlm {

/// Everything the scheduler keeps for one backend: the backend and its estimator (with the
/// online correction), the budget solver, the waiting queue, the running and swapped-out
/// requests, the KV ledger, the plan in flight, and scratch buffers sized once so that planning
/// allocates nothing. Plain state; the scheduler's parts act on it. Not thread-safe.
template <waiting_queue_policy Policy>
struct backend_lane {
  /// Sizes every buffer for `config.max_requests` requests and the backend's batch (the running
  /// requests' buffers for the most that may run at once). Throws what time_budget_solver throws
  /// for an estimator it cannot tabulate.
  backend_lane(model_backend& b, const step_time_estimator& e, const Policy& policy,
               const scheduler_config& config)
      : backend(&b),
        caps(&b.capabilities()),
        estimator(e, config.step_time_learning),
        solver(estimator, request_table_options{.max_tokens = config.solver_max_tokens}),
        waiting(policy, config.max_requests, config.fairness),
        kv(*caps, config.max_output_tokens, config.kv_rule) {
    const std::size_t batch = caps->max_batch_size > 0
                                  ? static_cast<std::size_t>(caps->max_batch_size)
                                  : std::size_t{256};
    // Admission keeps the running requests below max_batch(): a declared batch limit keeps
    // these buffers small however many requests the scheduler holds.
    const std::size_t most_running = std::min(config.max_requests, max_batch());
    running.reserve(most_running);
    swapped.reserve(config.max_requests);
    releases.reserve(config.max_requests);
    prefill_entries.reserve(most_running);
    decode_entries.reserve(most_running);
    decode_kv.reserve(most_running);
    batch_kv.reserve(most_running);
    constraints.reserve(most_running);
    picked.reserve(config.max_requests);  // every similar waiting request, before the cut
    candidates.reserve(batch);
    prefilling.reserve(most_running);
    deferred_prefills.reserve(most_running);
    plan.releases.reserve(config.max_requests);
    plan.preemptions.reserve(batch);
    plan.swap_ins.reserve(batch);
    plan.evictions.reserve(batch);
    plan.prefills.reserve(batch);
    plan.decodes.reserve(batch);
    result.outcomes.reserve(batch);
    resend_preemptions.reserve(batch);
    resend_swap_ins.reserve(batch);
    resend_evictions.reserve(batch);
    // A full batch's throughput over a single sequence's, at a typical KV length: how much
    // faster than one-at-a-time the queued work drains (placement's wait estimate).
    const std::vector<tokens> one(1, tokens(512));
    const std::vector<tokens> full(batch, tokens(512));
    const double t1 = e.decode_time(one).count();
    const double tb = e.decode_time(full).count();
    concurrency = t1 > 0.0 && tb > 0.0 ? std::max(1.0, static_cast<double>(batch) * t1 / tb) : 1.0;
    decode_step = seconds(std::max(t1, 0.0));
  }

  /// The most sequences one step may compute: the declared batch limit, and max_step_tokens
  /// (every sequence computes at least one token).
  [[nodiscard]] std::size_t max_batch() const noexcept {
    std::size_t n = caps->max_batch_size > 0 ? static_cast<std::size_t>(caps->max_batch_size)
                                             : std::numeric_limits<std::size_t>::max();
    if (caps->max_step_tokens.count() > 0) {
      n = std::min(n, static_cast<std::size_t>(caps->max_step_tokens.count()));
    }
    return n;
  }
  /// How long a request placed here now is predicted to wait: the queued work over the batch's
  /// concurrency. Placement, admission control and consolidation all read it.
  [[nodiscard]] seconds predicted_wait() const noexcept { return queued_work / concurrency; }
  /// `t`'s predicted service here run alone: its prefill and a decode step per token of its
  /// output bound still to come.
  [[nodiscard]] seconds isolated_service(const scheduled_request<Policy>& t) const noexcept {
    return estimator.prefill_time(t.prefill_target, tokens(0)) + decode_step * t.remaining_steps();
  }

  /// Sets the planned step's estimate from its plan: the base estimator's prefill and decode
  /// times (kept for the online correction) and the corrected step time.
  void estimate_plan() noexcept {
    base_prefill = seconds(0);
    for (const prefill_assignment& p : plan.prefills) {
      base_prefill += estimator.base().prefill_time(p.new_tokens, p.computed_tokens);
    }
    predicted = estimator.step_time(base_prefill, plan.prefills.size(), base_decode);
    if (!plan.decodes.empty()) decode_step = base_decode * estimator.decode_factor();
  }

  /// The report of the plan in flight, before its outcome: what it computes and its estimate.
  [[nodiscard]] step_report planned_report(std::size_t b) const noexcept {
    return {.backend = b,
            .computed = plan.computed(),
            .predicted = predicted,
            .base_prefill = base_prefill,
            .base_decode = base_decode};
  }

  // A running request's deadline as consolidation checks it: its remaining `steps` steps must
  // end within `left` seconds.
  struct deadline_constraint {
    double left = 0.0;
    double steps = 0.0;
  };
  // A waiting request taken as a candidate for admission in this step.
  struct candidate {
    std::uint32_t slot = 0;
    tokens chunk;  // its first prefill chunk
    tokens need;   // the KV it reserves
  };

  model_backend* backend;
  const backend_capabilities* caps;
  online_step_correction estimator;
  time_budget_solver solver;  // over `estimator`: see step_feedback::refresh_solver()
  waiting_queue<Policy> waiting;
  kv_ledger kv;
  std::vector<std::uint32_t> running;  // prefilling or decoding slots, in admission order
  std::vector<std::uint32_t> swapped;  // swapped-out slots, oldest first
  std::vector<request_id> releases;    // to release in the next plan
  // A failed step's control operations, sent again with the next plan (step_feedback::resend()).
  std::vector<preemption> resend_preemptions;
  std::vector<request_id> resend_swap_ins;
  std::vector<kv_eviction> resend_evictions;
  seconds queued_work{0};  // predicted isolated service of the queued requests
  double concurrency = 1.0;
  seconds decode_step{0};  // the last planned decode step (placement's service estimate)
  step_plan plan;
  step_result result;
  std::vector<plan_entry> prefill_entries;  // the slot of each of `plan`'s prefills...
  std::vector<plan_entry> decode_entries;   // ...and decodes, for complete_step()
  std::vector<tokens> decode_kv;            // scratch: the planned decode set's KV lengths
  std::vector<tokens> batch_kv;             // scratch: the decode set with this step's admissions
  std::vector<deadline_constraint> constraints;  // scratch: consolidation
  std::vector<std::uint32_t> picked;             // scratch: a static batch's members
  std::vector<candidate> candidates;             // scratch: this step's admissions
  std::vector<std::uint32_t> prefilling;         // scratch: running slots still prefilling
  std::vector<std::uint32_t> deferred_prefills;  // scratch: ...whose chunks go after admissions
  seconds base_prefill{0};  // the base estimator's time for the plan's prefills...
  seconds base_decode{0};   // ...and decodes (the estimator's online update)
  seconds predicted{0};
  bool in_flight = false;
  bool decodes_deferred = false;   // the last plan ran whole prompts only (see the batch stage)
  bool decodes_over_tpot = false;  // this plan's decodes exceed the TPOT targets (tpot_budget)
  bool prefill_banked = false;     // this plan's room is too short for other than first tokens
  // The correction factors the solver's table was built at (step_feedback::refresh_solver()).
  double solver_prefill_scale = 1.0;
  double solver_decode_factor = 1.0;
  double solver_prefill_offset = 0.0;
  std::uint32_t steps_since_refresh = 0;
};

}  // namespace rtlm
