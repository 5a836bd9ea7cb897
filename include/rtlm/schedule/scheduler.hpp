// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/core/usage_error.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/single_entry.hpp"
#include "rtlm/detail/step_result_check.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/schedule/arrival_gate.hpp"
#include "rtlm/schedule/backend_lane.hpp"
#include "rtlm/schedule/intake_pump.hpp"
#include "rtlm/schedule/relegation.hpp"
#include "rtlm/schedule/request_table.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/scheduler_observer.hpp"
#include "rtlm/schedule/step_feedback.hpp"
#include "rtlm/schedule/step_planner.hpp"
#include "rtlm/schedule/step_report.hpp"

namespace rtlm {

/// RT-LM's scheduler for continuous batching, with deadlines. It orchestrates its parts in the
/// order data flows (docs/scheduling.md, "The scheduler's parts"): the lock-free intake takes
/// requests in; the arrival gate places them and applies admission control; each step, the
/// capacity stage decides what may hold KV and run (preemption, swap-ins) and the batch stage
/// what runs (decodes, chunked prefills, admissions thinned by consolidation, static batches),
/// with evictions from the time-budget solver; step feedback applies the outcomes and corrects
/// the estimator. `Policy` orders each backend's queue: any rtlm::scheduling_policy (fixed at
/// compile time) or any_scheduling_policy (rtlm::scheduler). `Capacity` and `Batch` are the
/// two planning stages (capacity_stage, batch_stage).
///
/// Thread safety: submit() and cancel() may be called from any number of threads at once,
/// concurrently with everything else; they are lock-free and never block. Every other member
/// function belongs to one scheduler thread (the host's step loop) at a time. The functions that
/// change the scheduler (add_backend, set_observer, plan_step, complete_step, step,
/// update_prediction) enforce it: one called while another is inside, from the scheduler's own
/// observer or backend or from another thread, throws rtlm::usage_error and changes nothing.
///
/// Real-time rules: after warm-up (each backend's first few steps, once the plan buffers have
/// grown to the batch size) plan_step(), complete_step() and step() allocate nothing (unless the
/// host's backend or observer does) and throw nothing but usage_error and, for a `now` outside
/// the timeline (within_timeline()), rtlm::error; the tests count allocations to prove it.
template <waiting_queue_policy Policy, class Capacity = reserve_and_preempt<Policy>,
          class Batch = batch_former<Policy>>
requires capacity_stage<Capacity, Policy> && batch_stage<Batch, Policy, Capacity>
class basic_scheduler {
 public:
  /// Throws rtlm::error naming the field when `config` is invalid, or when config.policy names
  /// a policy other than `Policy`'s own.
  explicit basic_scheduler(Policy policy, const scheduler_config& config = {})
      : config_(validated(config)),
        policy_(std::move(policy)),
        intake_(config_),
        table_(config_.max_requests),
        gate_(config_) {
    affected_.reserve(config_.max_requests);
  }

  basic_scheduler(const basic_scheduler&) = delete;
  basic_scheduler& operator=(const basic_scheduler&) = delete;
  basic_scheduler(basic_scheduler&&) = delete;
  basic_scheduler& operator=(basic_scheduler&&) = delete;
  ~basic_scheduler() = default;

  /// Adds a backend that runs with `estimator`'s step times; returns its index. `backend` and
  /// `estimator` must outlive the scheduler. Builds the backend's budget table: call it before
  /// serving. Scheduler thread only. Throws rtlm::error when the backend's capabilities are
  /// unusable (no KV capacity).
  std::size_t add_backend(model_backend& backend, const step_time_estimator& estimator) {
    const detail::single_entry::scope entry(entry_, "scheduler::add_backend");
    backend.capabilities().validate();
    lanes_.push_back(std::make_unique<backend_lane<Policy>>(backend, estimator, policy_, config_));
    gate_.reserve(lanes_.size());
    return lanes_.size() - 1;
  }

  /// Sets the observer that receives every request event (nullptr: none). The observer must not
  /// call the scheduler's step functions (that throws usage_error inside its noexcept
  /// on_event(), which terminates); submit() and cancel() are fine. Scheduler thread.
  void set_observer(scheduler_observer* observer) {
    const detail::single_entry::scope entry(entry_, "scheduler::set_observer");
    events_.set(observer);
  }

  /// Hands `r` to the scheduler; the next plan_step() sees it. Any thread, lock-free, noexcept.
  /// On queue_full or invalid the request is untouched and still the caller's: invalid when
  /// request::validate() or this configuration refuses it (an slo_class or tenant that does not
  /// exist: scheduler_config::validate_request() says which, with the value).
  submit_status submit(request& r) noexcept {
    if (!config_.invalid_request_field(r).empty()) return submit_status::invalid;
    return intake_.submit(r);
  }

  /// Cancels request `id`; the next plan_step() drops it (and releases it on its backend).
  /// Unknown or finished ids are ignored. Any thread, lock-free, noexcept.
  cancel_status cancel(request_id id) noexcept { return intake_.cancel(id); }

  /// Plans backend `b`'s next step at time `now`: takes in submitted requests and cancellations
  /// (placing, checking and queueing each), then decides the step (see docs/scheduling.md).
  /// Returns the plan to execute; it stays valid and unchanged until complete_step(b, ...)
  /// (calling plan_step(b) again before that returns the same plan). An empty plan (nothing to
  /// do) needs no engine call: hand complete_step() an empty result, or use step(). The
  /// scheduler's time is monotone: a `now` earlier than the latest one given is taken as that
  /// latest one. Scheduler thread. Throws usage_error (re-entered, or another thread inside) and
  /// rtlm::error (`b` is no backend, `now` is outside the timeline); nothing else.
  const step_plan& plan_step(std::size_t b, time_point now) {
    const detail::single_entry::scope entry(entry_, "scheduler::plan_step");
    check(b, now);
    return plan(b, now);
  }

  /// Applies the outcome of backend `b`'s planned step, finished at `now`: progress, finished
  /// requests (released in the next plan), the estimator's online update, failures. `status` is
  /// what model_backend::execute() returned (or the host's own verdict, e.g. backend_failure for
  /// a step it timed out); a result that breaks the plan (model_backend::execute()'s checks) is
  /// taken as invalid_result, and so is a call with no step of `b` in flight (nothing changes).
  /// `now` is monotone, as in plan_step(). Scheduler thread; throws as plan_step() does.
  step_report complete_step(std::size_t b, step_status status, const step_result& result,
                            time_point now) {
    const detail::single_entry::scope entry(entry_, "scheduler::complete_step");
    check(b, now);
    return complete(b, status, result, now);
  }

  /// plan_step(), model_backend::execute(), complete_step() at now + the measured step time.
  /// A backend that throws or returns garbage does not take the scheduler down: the report
  /// carries the failure and the affected requests (a backend that calls the scheduler back
  /// gets usage_error, and its step fails with that message). Scheduler thread; throws as
  /// plan_step() does.
  step_report step(std::size_t b, time_point now) {
    const detail::single_entry::scope entry(entry_, "scheduler::step");
    check(b, now);
    now = monotone(now);  // the step ends a step time after the scheduler's time, not the host's
    backend_lane<Policy>& s = *lanes_[b];
    const step_plan& p = plan(b, now);
    const step_status status = s.backend->execute(p, s.result);
    const time_point done = status == step_status::ok
                                ? now + std::chrono::duration_cast<duration>(s.result.step_time)
                                : now;
    return complete(b, status, s.result, done);
  }

  /// Re-orders a waiting request after the host refined its length prediction; false when it is
  /// not waiting, or when `estimate` is one submit() would refuse (request::validate()'s rules
  /// for predicted_length). O(log n). Scheduler thread; throws usage_error only.
  bool update_prediction(request_id id, const length_estimate& estimate) {
    const detail::single_entry::scope entry(entry_, "scheduler::update_prediction");
    request probe;  // no text: checking it allocates nothing
    probe.predicted_length = estimate;
    if (!invalid_request_field(probe).empty()) return false;
    const std::optional<std::uint32_t> slot = table_.find(id);
    if (!slot || !queued(table_[*slot].phase)) return false;
    scheduled_request<Policy>& t = table_[*slot];
    t.r.predicted_length = estimate;
    // Everything derived from the prediction follows it: the growth reserved at admission, the
    // service least laxity orders by, and the backend's queued work.
    t.set_output_lengths(config_.default_output_tokens);
    t.refresh_remaining(config_.remaining_refresh_tokens, true);
    backend_lane<Policy>& s = *lanes_[t.backend];
    s.queued_work -= t.service;
    t.service = s.isolated_service(t);
    s.queued_work += t.service;
    s.waiting.update(t.handle, context(t.backend, latest_).view(t));
    return true;
  }

  // Introspection: every function below is O(1) (find: O(1) expected), allocates nothing, and
  // belongs to the scheduler thread. A backend index `b` must be below backend_count().

  /// The number of backends added.
  [[nodiscard]] std::size_t backend_count() const noexcept { return lanes_.size(); }
  /// Requests waiting in backend `b`'s queue (recomputed preemptions included).
  [[nodiscard]] std::size_t waiting(std::size_t b) const noexcept {
    return lanes_[b]->waiting.size();
  }
  /// Requests admitted on backend `b` (prefilling or decoding).
  [[nodiscard]] std::size_t running(std::size_t b) const noexcept {
    return lanes_[b]->running.size();
  }
  /// Requests swapped out of backend `b`, waiting to come back.
  [[nodiscard]] std::size_t swapped_out(std::size_t b) const noexcept {
    return lanes_[b]->swapped.size();
  }
  /// KV tokens reserved on backend `b` by its running requests (their growth included).
  [[nodiscard]] tokens reserved_kv(std::size_t b) const noexcept {
    return lanes_[b]->kv.reserved();
  }
  /// Whether backend `b`'s next plan_step() may plan anything: it holds requests waiting,
  /// running or swapped out, or releases to send, or submissions wait in the intake (which any
  /// backend may take). A host whose backends all say false may sleep until its next submit().
  /// O(intake shards).
  [[nodiscard]] bool has_work(std::size_t b) const noexcept {
    const backend_lane<Policy>& s = *lanes_[b];
    return !s.waiting.empty() || !s.running.empty() || !s.swapped.empty() || !s.releases.empty() ||
           intake_.pending();
  }
  /// Requests taken in and not yet ended, on every backend.
  [[nodiscard]] std::size_t live_requests() const noexcept { return table_.live(); }
  /// Backend `b`'s estimator with its online correction (observe_step() fed by every step).
  [[nodiscard]] const online_step_correction& estimator(std::size_t b) const noexcept {
    return lanes_[b]->estimator;
  }
  /// The request `id` as the scheduler holds it, or nullptr.
  [[nodiscard]] const request* find(request_id id) const noexcept {
    const std::optional<std::uint32_t> slot = table_.find(id);
    return slot ? &table_[*slot].r : nullptr;
  }
  /// The phase of request `id`, or nullopt when it is not live.
  [[nodiscard]] std::optional<request_phase> phase(request_id id) const noexcept {
    const std::optional<std::uint32_t> slot = table_.find(id);
    return slot ? std::optional(table_[*slot].phase) : std::nullopt;
  }
  /// The KV eviction ratio planned for request `id` (0 when none or unknown).
  [[nodiscard]] double eviction_ratio(request_id id) const noexcept {
    const std::optional<std::uint32_t> slot = table_.find(id);
    return slot ? table_[*slot].eviction_ratio : 0.0;
  }
  /// The configuration, as validated. Thread-safe (immutable after construction).
  [[nodiscard]] const scheduler_config& config() const noexcept { return config_; }
  /// The policy. Thread-safe (immutable after construction).
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }

 private:
  // plan_step()'s, complete_step()'s and step()'s arguments, checked before anything changes.
  void check(std::size_t b, time_point now) const {
    detail::require(b < lanes_.size(), "backend", b, "is not a backend of this scheduler");
    detail::require(within_timeline(now), "now",
                    std::chrono::duration<double>(now.time_since_epoch()).count(),
                    "must be within 4e9 s of the clock's epoch (seconds since it)");
  }

  const step_plan& plan(std::size_t b, time_point now) noexcept {
    now = monotone(now);
    backend_lane<Policy>& s = *lanes_[b];
    if (s.in_flight) return s.plan;
    take_in(now);
    build_plan(b, now);
    // The capacity stage's promise: no plan holds more KV than the backend has. (Between steps
    // the reservations may exceed it: a decode grows them, and the next plan makes room.)
    RTLM_ASSERT(s.kv.reserved() <= s.kv.capacity());
    s.in_flight = true;
    return s.plan;
  }

  step_report complete(std::size_t b, step_status status, const step_result& result,
                       time_point now) noexcept {
    now = monotone(now);
    backend_lane<Policy>& s = *lanes_[b];
    affected_.clear();
    if (!s.in_flight) {  // nothing was planned: the host's bookkeeping is off, and says so
      return {.backend = b,
              .status = step_status::invalid_result,
              .error = "no step in flight on this backend (complete_step() without plan_step())"};
    }
    step_report report = s.planned_report(b);
    s.in_flight = false;
    // The host's own result (not from execute()) gets the same checks; the report names why.
    const char* invalid =
        status == step_status::ok
            ? detail::invalid_result_reason(s.plan, result, s.caps->max_tokens_per_outcome)
            : nullptr;
    if (invalid != nullptr) status = step_status::invalid_result;
    report.status = status;
    step_context<Policy> c = context(b, now);
    if (status != step_status::ok) {
      report.error = invalid != nullptr ? std::string_view(invalid) : s.backend->last_error();
      step_feedback<Policy>::fail(c, affected_);
      report.affected = affected_;
      return report;
    }
    report.measured = result.step_time;
    step_feedback<Policy>::observe(s, result);
    report.finished = step_feedback<Policy>::apply(c, result);
    return report;
  }

  static const scheduler_config& validated(const scheduler_config& c) {
    c.validate();
    if constexpr (!std::is_same_v<Policy, any_scheduling_policy>) c.validate_policy_type(kind_of());
    return c;
  }
  static std::optional<policy_kind> kind_of() noexcept {
    if constexpr (requires { Policy::kind; }) return Policy::kind;
    return std::nullopt;
  }

  // The scheduler's clock never goes backwards: a host clock that jumped back would order events
  // wrongly and make latencies (first token minus admission, say) negative.
  time_point monotone(time_point now) noexcept {
    latest_ = std::max(latest_, now);
    return latest_;
  }

  step_context<Policy> context(std::size_t b, time_point now) noexcept {
    return {.table = table_,
            .lane = *lanes_[b],
            .config = config_,
            .policy = policy_,
            .events = events_,
            .backend = b,
            .now = now};
  }

  void take_in(time_point now) noexcept {
    intake_.pump(
        table_.room(), [&](request&& r) noexcept { accept(std::move(r), now); },
        [&](request_id id) noexcept { cancel_now(id, now); },
        [&](request_id id) noexcept { return table_.find(id).has_value(); });
  }

  // One submitted request through the gate, onto a backend's queue or refused.
  void accept(request&& r, time_point now) noexcept {
    if (lanes_.empty() || table_.find(r.id)) {
      const auto why =
          lanes_.empty() ? request_event_reason::no_backend : request_event_reason::duplicate_id;
      events_.emit(request_event_kind::rejected, r, 0, now, why);
      return;
    }
    config_.slo.apply_defaults(r);
    scheduled_request<Policy>& t = table_.next_free();
    t.take(std::move(r), next_sequence_++, config_.default_output_tokens);
    const gate_verdict v = gate_.judge(t, lanes_, now);
    if (v.changed) events_.emit(*v.changed, t.r, 0, now, v.reason);
    if (!v.queued) {
      events_.emit(request_event_kind::rejected, t.r, 0, now, v.reason);
      return;
    }
    t.backend = static_cast<std::uint32_t>(v.backend);
    t.service = v.service;
    const bool added = table_.add(request_phase::waiting);
    RTLM_ASSERT(added);  // its id was checked above
    static_cast<void>(added);
    step_context<Policy> c = context(v.backend, now);
    const bool relegate = relegation<Policy>::due(c, t);
    if (relegate && config_.slo.sheds(t.r)) {
      c.emit(request_event_kind::rejected, t, request_event_reason::slo_unattainable);
      table_.end(table_.slot_of(t), request_phase::rejected);
      return;
    }
    t.relegated = relegate;
    if (!requeue(c, t, request_phase::waiting)) return;
    c.lane.queued_work += t.service;
    c.emit(request_event_kind::queued, t);
    if (relegate) c.emit(request_event_kind::relegated, t, request_event_reason::slo_unattainable);
  }

  // Cancels live request `id`: off its queue, or off its backend (released there).
  void cancel_now(request_id id, time_point now) noexcept {
    const std::optional<std::uint32_t> slot = table_.find(id);
    RTLM_ASSERT(slot.has_value());  // intake_pump asks is_live first
    scheduled_request<Policy>& t = table_[*slot];
    backend_lane<Policy>& s = *lanes_[t.backend];
    if (queued(t.phase)) {
      s.waiting.erase(t.handle);
      s.queued_work -= t.service;
      if (t.phase == request_phase::preempted) s.releases.push_back(t.r.id);
    } else {
      step_feedback<Policy>::leave(s, table_, *slot);
    }
    events_.emit(request_event_kind::cancelled, t.r, t.backend, now);
    table_.end(*slot, request_phase::cancelled);
  }

  // The step, in the order data flows: releases, the capacity stage's room, the running
  // requests' work, swap-ins, admissions, then the step's estimate.
  void build_plan(std::size_t b, time_point now) noexcept {
    backend_lane<Policy>& s = *lanes_[b];
    s.plan.clear();
    s.prefill_entries.clear();
    s.decode_entries.clear();
    s.decode_kv.clear();
    s.prefilling.clear();
    s.constraints.clear();
    s.plan.releases.assign(s.releases.begin(), s.releases.end());
    s.releases.clear();
    step_context<Policy> c = context(b, now);
    c.max_batch = s.max_batch();
    c.budget =
        s.caps->max_step_tokens.count() > 0 ? s.caps->max_step_tokens : config_.max_step_tokens;
    capacity_.make_room(c);
    batch_.plan_running(c);
    capacity_.bring_back(c);
    batch_.plan_admissions(c, capacity_);
    step_feedback<Policy>::resend(c);
    s.estimate_plan();
  }

  scheduler_config config_;
  Policy policy_;
  intake_pump intake_;
  request_table<Policy> table_;
  arrival_gate<Policy> gate_;
  Capacity capacity_;
  Batch batch_;
  std::vector<std::unique_ptr<backend_lane<Policy>>> lanes_;
  event_sink events_;
  std::vector<request_id> affected_;  // a failed step's requests, for its report
  std::uint64_t next_sequence_ = 0;
  time_point latest_ = time_point::min();  // the latest `now` given: see monotone()
  detail::single_entry entry_;             // one step function at a time (see the class comment)
};

#ifndef RTLM_HEADER_ONLY
// The compiled library instantiates the run-time-policy scheduler once (src/scheduler.cpp).
extern template class basic_scheduler<any_scheduling_policy>;
#endif

/// The scheduler with its policy chosen at run time from scheduler_config::policy.
class scheduler : public basic_scheduler<any_scheduling_policy> {
 public:
  explicit scheduler(const scheduler_config& config = {})
      : basic_scheduler(make_policy(config.policy.value_or(policy_kind::uncertainty_aware_priority),
                                    config.policies),
                        config) {}
};

}  // namespace rtlm
