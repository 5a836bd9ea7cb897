// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/assert.hpp"
#include "rtlm/detail/step_result_check.hpp"
#include "rtlm/estimate/online_step_correction.hpp"
#include "rtlm/schedule/placement.hpp"
#include "rtlm/schedule/request_index.hpp"
#include "rtlm/schedule/request_intake.hpp"
#include "rtlm/schedule/scheduler_config.hpp"
#include "rtlm/schedule/scheduler_event.hpp"
#include "rtlm/schedule/scheduler_observer.hpp"
#include "rtlm/schedule/waiting_queue.hpp"

namespace rtlm {

/// What one step did, as complete_step() and step() report it.
struct step_report {
  std::size_t backend = 0;
  step_status status = step_status::ok;
  /// Why, when status != ok: the backend's message, or the check a host's result failed (a
  /// static string); the backend's is valid until its next step.
  std::string_view error;
  std::size_t computed = 0;  ///< sequences in the forward pass
  std::size_t finished = 0;  ///< requests that finished in this step
  /// The requests of a failed step (status != ok): their work in it is lost and is planned
  /// again, unless they failed max_failed_steps times in a row (then they are failed, with an
  /// event). Valid until the next call on this scheduler.
  std::span<const request_id> affected;
  seconds predicted{0};  ///< the step time the plan was built on
  seconds measured{0};   ///< the backend's measured step time (0 when it failed)
  /// The base estimator's times for the plan's prefill chunks (summed) and its decode part,
  /// before the online correction: what a host logs to replay the correction offline.
  seconds base_prefill{0};
  seconds base_decode{0};
};

/// RT-LM's scheduler for continuous batching, with deadlines: lock-free intake, a waiting queue
/// per backend ordered by `Policy`, step planning (admission against KV capacity, chunked
/// prefill, the decode set, preemption, KV eviction ratios from the time-budget solver),
/// dynamic consolidation, placement across backends with strategic CPU offloading, admission
/// control, and feedback to the estimator and (through an observer) the length predictor.
/// docs/scheduling.md describes each rule.
///
/// `Policy` is any rtlm::scheduling_policy (fixed at compile time, inlined) or
/// any_scheduling_policy (chosen at run time; rtlm::scheduler).
///
/// Thread safety: submit() and cancel() may be called from any number of threads at once,
/// concurrently with everything else; they are lock-free and never block. Every other member
/// function belongs to one scheduler thread (the host's step loop) and must not run concurrently
/// with another of them.
///
/// Real-time rules: after warm-up (each backend's first few steps, once the plan buffers have
/// grown to the batch size) plan_step(), complete_step() and step() allocate nothing (unless the
/// host's backend or observer does) and throw nothing; the tests count allocations to prove it.
template <waiting_queue_policy Policy>
class basic_scheduler {
 public:
  /// Throws rtlm::error naming the field when `config` is invalid.
  explicit basic_scheduler(Policy policy, scheduler_config config = {})
      : config_(validated(config)),
        policy_(std::move(policy)),
        intake_(config_.intake_capacity, config_.cancel_capacity, config_.intake_shards),
        index_(config_.max_requests),
        slots_(config_.max_requests) {
    free_slots_.reserve(config_.max_requests);
    for (std::size_t i = config_.max_requests; i-- > 0;) {
      free_slots_.push_back(static_cast<std::uint32_t>(i));
    }
    affected_.reserve(config_.max_requests);
    deferred_cancels_.reserve(config_.cancel_capacity);
  }

  basic_scheduler(const basic_scheduler&) = delete;
  basic_scheduler& operator=(const basic_scheduler&) = delete;
  basic_scheduler(basic_scheduler&&) = delete;
  basic_scheduler& operator=(basic_scheduler&&) = delete;
  ~basic_scheduler() = default;

  /// Adds a backend that runs with `estimator`'s step times; returns its index. `backend` and
  /// `estimator` must outlive the scheduler. Builds the backend's budget table (milliseconds):
  /// call it before serving. Scheduler thread only. Throws rtlm::error when the backend's
  /// capabilities are unusable (no KV capacity).
  std::size_t add_backend(model_backend& backend, const step_time_estimator& estimator) {
    const backend_capabilities& caps = backend.capabilities();
    detail::require(caps.kv_capacity.count() >= 1, "backend_capabilities.kv_capacity",
                    caps.kv_capacity, "must be >= 1 (backend '" + caps.name + "')");
    detail::require(caps.max_batch_size >= 0, "backend_capabilities.max_batch_size",
                    caps.max_batch_size, "must be >= 0 (backend '" + caps.name + "')");
    detail::require(caps.max_step_tokens.count() >= 0, "backend_capabilities.max_step_tokens",
                    caps.max_step_tokens, "must be >= 0 (backend '" + caps.name + "')");
    auto b = std::make_unique<backend_state>(backend, estimator, policy_, config_);
    backends_.push_back(std::move(b));
    options_.reserve(backends_.size());
    option_backend_.reserve(backends_.size());
    return backends_.size() - 1;
  }

  /// Sets the observer that receives every request event (nullptr: none). Scheduler thread.
  void set_observer(scheduler_observer* observer) noexcept { observer_ = observer; }

  /// Hands `r` to the scheduler; the next plan_step() sees it. Any thread, lock-free, noexcept.
  /// On queue_full or invalid the request is untouched and still the caller's.
  submit_status submit(request& r) noexcept { return intake_.submit(r); }

  /// Cancels request `id`; the next plan_step() drops it (and releases it on its backend).
  /// Unknown or finished ids are ignored. Any thread, lock-free, noexcept.
  cancel_status cancel(request_id id) noexcept { return intake_.cancel(id); }

  /// Plans backend `b`'s next step at time `now`: takes in submitted requests and cancellations
  /// (placing, checking and queueing each), then decides the step (see docs/scheduling.md).
  /// Returns the plan to execute; it stays valid and unchanged until complete_step(b, ...)
  /// (calling plan_step(b) again before that returns the same plan). The scheduler's time is
  /// monotone: a `now` earlier than the latest one given to plan_step(), complete_step() or
  /// step() is taken as that latest one. Scheduler thread; noexcept.
  const step_plan& plan_step(std::size_t b, time_point now) noexcept {
    RTLM_ASSERT(b < backends_.size());
    now = monotone(now);
    backend_state& s = *backends_[b];
    if (s.in_flight) return s.plan;
    take_in(now);
    build_plan(b, now);
    s.in_flight = true;
    return s.plan;
  }

  /// Applies the outcome of backend `b`'s planned step, finished at `now`: progress, finished
  /// requests (released in the next plan), the estimator's online update, failures. `status` is
  /// what model_backend::execute() returned (or the host's own verdict, e.g. backend_failure for
  /// a step it timed out); a result that breaks the plan (model_backend::execute()'s checks) is
  /// taken as invalid_result, and so is a call with no step of `b` in flight (nothing changes).
  /// `now` is monotone, as in plan_step(). Scheduler thread.
  step_report complete_step(std::size_t b, step_status status, const step_result& result,
                            time_point now) noexcept {
    RTLM_ASSERT(b < backends_.size());
    now = monotone(now);
    backend_state& s = *backends_[b];
    step_report report;
    report.backend = b;
    affected_.clear();
    if (!s.in_flight) {  // nothing was planned: the host's bookkeeping is off, and says so
      report.status = step_status::invalid_result;
      report.error = "no step in flight on this backend (complete_step() without plan_step())";
      return report;
    }
    report.predicted = s.predicted;
    report.base_prefill = s.base_prefill;
    report.base_decode = s.base_decode;
    report.computed = s.plan.computed();
    s.in_flight = false;
    // The host's own result (not from execute()) gets the same checks; the report names why.
    const char* invalid =
        status == step_status::ok ? detail::invalid_result_reason(s.plan, result) : nullptr;
    if (invalid != nullptr) status = step_status::invalid_result;
    report.status = status;
    if (status != step_status::ok) {
      report.error = invalid != nullptr ? std::string_view(invalid) : s.backend->last_error();
      fail_step(b, now);
      report.affected = affected_;
      return report;
    }
    report.measured = result.step_time;
    s.estimator.observe_step({.base_prefill = s.base_prefill,
                              .prefills = s.plan.prefills.size(),
                              .base_decode = s.base_decode,
                              .measured = result.step_time,
                              .measured_prefill = result.prefill_time});
    report.finished = apply_outcomes(b, result, now);
    return report;
  }

  /// plan_step(), model_backend::execute(), complete_step() at now + the measured step time.
  /// A backend that throws or returns garbage does not take the scheduler down: the report
  /// carries the failure and the affected requests. Scheduler thread; noexcept.
  step_report step(std::size_t b, time_point now) noexcept {
    now = monotone(now);  // the step ends a step time after the scheduler's time, not the host's
    backend_state& s = *backends_[b];
    const step_plan& plan = plan_step(b, now);
    const step_status status = s.backend->execute(plan, s.result);
    const time_point done = status == step_status::ok
                                ? now + std::chrono::duration_cast<duration>(s.result.step_time)
                                : now;
    return complete_step(b, status, s.result, done);
  }

  /// Re-orders a waiting request after the host refined its length prediction; false when it is
  /// not waiting, or when `estimate` is one submit() would refuse (request::validate()'s rules
  /// for predicted_length). Uses the queue's mutable handle (O(log n)). Scheduler thread.
  bool update_prediction(request_id id, const length_estimate& estimate) noexcept {
    request probe;  // no text: checking it allocates nothing
    probe.predicted_length = estimate;
    if (!invalid_request_field(probe).empty()) return false;
    const std::optional<std::uint32_t> slot = index_.find(id);
    if (!slot || slots_[*slot].state != slot_state::waiting) return false;
    tracked& t = slots_[*slot];
    t.r.predicted_length = estimate;
    // Everything derived from the prediction follows it: the growth reserved at admission, the
    // service least laxity orders by, and the backend's queued work.
    set_output_lengths(t);
    backend_state& s = *backends_[t.backend];
    s.queued_work -= t.service;
    t.service = isolated_service(s, t);
    s.queued_work += t.service;
    s.waiting.update(t.handle, queued_view(t));
    return true;
  }

  // Introspection: every function below is O(1) (find: O(1) expected), allocates nothing, and
  // belongs to the scheduler thread (it reads state that plan_step() changes). A backend index
  // `b` must be below backend_count(), as for plan_step() (the Python module checks it).

  /// The number of backends added.
  [[nodiscard]] std::size_t backend_count() const noexcept { return backends_.size(); }
  /// Requests waiting in backend `b`'s queue (recomputed preemptions included).
  [[nodiscard]] std::size_t waiting(std::size_t b) const noexcept {
    return backends_[b]->waiting.size();
  }
  /// Requests admitted on backend `b` (prefilling or decoding).
  [[nodiscard]] std::size_t running(std::size_t b) const noexcept {
    return backends_[b]->running.size();
  }
  /// Requests swapped out of backend `b`, waiting to come back.
  [[nodiscard]] std::size_t swapped_out(std::size_t b) const noexcept {
    return backends_[b]->swapped.size();
  }
  /// KV tokens reserved on backend `b` by its running requests (their growth included).
  [[nodiscard]] tokens reserved_kv(std::size_t b) const noexcept { return backends_[b]->reserved; }
  /// Whether backend `b`'s next plan_step() may plan anything: it holds requests waiting,
  /// running or swapped out, or releases to send, or submissions wait in the intake (which any
  /// backend may take). A host whose backends all say false may sleep until its next submit().
  /// O(intake shards); thread: the scheduler's.
  [[nodiscard]] bool has_work(std::size_t b) const noexcept {
    const backend_state& s = *backends_[b];
    return !s.waiting.empty() || !s.running.empty() || !s.swapped.empty() ||
           !s.releases.empty() || intake_.pending();
  }
  /// Requests taken in and not yet ended, on every backend.
  [[nodiscard]] std::size_t live_requests() const noexcept { return index_.size(); }
  /// Backend `b`'s estimator with its online correction (observe_step() fed by every step).
  [[nodiscard]] const online_step_correction& estimator(std::size_t b) const noexcept {
    return backends_[b]->estimator;
  }
  /// The request `id` as the scheduler holds it, or nullptr.
  [[nodiscard]] const request* find(request_id id) const noexcept {
    const std::optional<std::uint32_t> slot = index_.find(id);
    return slot ? &slots_[*slot].r : nullptr;
  }
  /// The KV eviction ratio planned for request `id` (0 when none or unknown).
  [[nodiscard]] double planned_eviction(request_id id) const noexcept {
    const std::optional<std::uint32_t> slot = index_.find(id);
    return slot ? slots_[*slot].alpha : 0.0;
  }
  /// The configuration, as validated. Thread-safe (immutable after construction).
  [[nodiscard]] const scheduler_config& config() const noexcept { return config_; }
  /// The policy. Thread-safe (immutable after construction).
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }

 private:
  enum class slot_state : std::uint8_t { free, waiting, running, swapped };

  struct tracked {
    request r;
    slot_state state = slot_state::free;
    std::uint32_t backend = 0;
    std::uint32_t generation = 0;  // bumped when the slot is freed: stale plan entries skip it
    std::uint64_t sequence = 0;
    std::optional<time_point> deadline;  // r.effective_deadline(), cached: read every step
    typename waiting_queue<Policy>::handle handle{};
    tokens output_mean;     // predicted output length, capped
    tokens output_bound;    // predicted output bound, capped: the growth reserved
    tokens reserved;        // KV reserved on its backend while running
    tokens prefill_target;  // tokens to prefill: the prompt (plus generated after recompute)
    tokens prefilled;       // of prefill_target
    tokens kept_prompt;     // prompt KV entries held (less than the prompt once evicted)
    double alpha = 0.0;     // planned eviction ratio
    bool eviction_pending = false;
    // Waiting again after a recompute preemption: its backend may still keep per-request state
    // (not KV), so ending it while it waits must release it there too.
    bool known_to_backend = false;
    int failed_steps = 0;
    seconds service{0};  // predicted isolated service time on its backend (queued work)
  };

  // One computed sequence of a plan: the slot it belongs to, and the slot's generation then.
  struct plan_entry {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
  };

  // A waiting request taken as a candidate for admission in this step.
  struct candidate {
    std::uint32_t slot = 0;
    tokens chunk;  // its first prefill chunk
    tokens need;   // the KV it reserves
  };

  // A running request's deadline as consolidation checks it: finishing its remaining `steps`
  // steps, each of the new step time, after one step of `extra` seconds, by `left` seconds.
  struct deadline_constraint {
    double left = 0.0;
    double steps = 0.0;
  };

  struct backend_state {
    backend_state(model_backend& b, const step_time_estimator& e, const Policy& policy,
                  const scheduler_config& config)
        : backend(&b),
          estimator(e, config.step_time_learning),
          solver(e, request_table_options{.max_tokens = config.solver_max_tokens}),
          waiting(policy, config.max_requests) {
      const backend_capabilities& caps = b.capabilities();
      const std::size_t batch = caps.max_batch_size > 0
                                    ? static_cast<std::size_t>(caps.max_batch_size)
                                    : std::size_t{256};
      running.reserve(config.max_requests);
      swapped.reserve(config.max_requests);
      releases.reserve(config.max_requests);
      prefill_entries.reserve(config.max_requests);
      decode_entries.reserve(config.max_requests);
      kv.reserve(config.max_requests);
      batch_kv.reserve(config.max_requests);
      constraints.reserve(config.max_requests);
      picked.reserve(config.max_requests);
      candidates.reserve(batch);
      prefilling.reserve(config.max_requests);
      plan.releases.reserve(config.max_requests);
      plan.preemptions.reserve(batch);
      plan.swap_ins.reserve(batch);
      plan.evictions.reserve(batch);
      plan.prefills.reserve(batch);
      plan.decodes.reserve(batch);
      result.outcomes.reserve(batch);
      // A full batch's throughput over a single sequence's, at a typical KV length: how much
      // faster than one-at-a-time the queued work drains (placement's wait estimate).
      const std::vector<tokens> one(1, tokens(512));
      const std::vector<tokens> full(batch, tokens(512));
      const double t1 = e.decode_time(one).count();
      const double tb = e.decode_time(full).count();
      concurrency =
          t1 > 0.0 && tb > 0.0 ? std::max(1.0, static_cast<double>(batch) * t1 / tb) : 1.0;
      decode_step = seconds(std::max(t1, 0.0));
    }

    model_backend* backend;
    online_step_correction estimator;
    time_budget_solver solver;
    waiting_queue<Policy> waiting;
    std::vector<std::uint32_t> running;  // admitted slots, in admission order
    std::vector<std::uint32_t> swapped;  // swapped-out slots, oldest first
    std::vector<request_id> releases;    // to release in the next plan
    tokens reserved{0};                  // KV reserved by running requests
    seconds queued_work{0};              // predicted isolated service of the waiting requests
    double concurrency = 1.0;
    seconds decode_step{0};  // the last planned decode step (placement's service estimate)
    step_plan plan;
    step_result result;
    std::vector<plan_entry> prefill_entries;  // the slot of each of `plan`'s prefills...
    std::vector<plan_entry> decode_entries;   // ...and decodes, for complete_step()
    std::vector<tokens> kv;                   // scratch: the planned decode set's KV lengths
    std::vector<tokens> batch_kv;             // scratch: the decode set with this step's admissions
    std::vector<deadline_constraint> constraints;  // scratch: consolidation
    std::vector<std::uint32_t> picked;             // scratch: a static batch's members
    std::vector<candidate> candidates;             // scratch: this step's admissions
    std::vector<std::uint32_t> prefilling;         // scratch: running slots still prefilling
    seconds base_prefill{0};  // the base estimator's time for the plan's prefills...
    seconds base_decode{0};   // ...and decodes (the estimator's online update)
    seconds predicted{0};
    bool in_flight = false;
    bool decodes_deferred = false;  // the last plan ran whole prompts only (decodes_block())
  };

  // The scheduler's clock never goes backwards: a host clock that jumped back would order events
  // wrongly and make latencies (first token minus admission, say) negative.
  time_point monotone(time_point now) noexcept {
    latest_ = std::max(latest_, now);
    return latest_;
  }

  static const scheduler_config& validated(const scheduler_config& c) {
    c.validate();
    return c;
  }

  void emit(request_event_kind kind, const request& r, std::size_t backend, time_point now,
            request_event_reason reason = request_event_reason::none) noexcept {
    if (observer_ == nullptr) return;
    observer_->on_event(
        request_event{.kind = kind, .id = r.id, .reason = reason, .backend = backend, .at = now},
        r);
  }

  // ---- intake ---------------------------------------------------------------------------------

  void take_in(time_point now) noexcept {
    // A drain limited by the free slots may leave requests in the intake whose cancellations
    // it delivers now: those are deferred and tried again next time. Only as many cancellations
    // are drained as the deferred list has room for; the rest wait in the intake (whose
    // cancel() says queue_full when that is full), so none is dropped.
    const std::size_t room = free_slots_.size();
    const std::size_t deferred = deferred_cancels_.size();
    const drain_counts c = intake_.drain(
        room, deferred_cancels_.capacity() - deferred,
        [&](request&& r) noexcept { accept(std::move(r), now); },
        [&](request_id id) noexcept { cancel_now(id, now); });
    drain_limited_ = c.requests == room;
    // Not limited: every request submitted before this drain's cancellations was delivered, so
    // the ids this drain deferred are unknown for good (ignored, as cancel() promises).
    if (!drain_limited_) {
      deferred_cancels_.erase(deferred_cancels_.begin() + static_cast<std::ptrdiff_t>(deferred),
                              deferred_cancels_.end());
    }
    // Cancellations deferred by earlier drains: retried once more, kept while still unknown.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < deferred; ++i) {
      const request_id id = deferred_cancels_[i];
      if (index_.find(id)) {
        cancel_now(id, now);
      } else if (drain_limited_) {
        deferred_cancels_[kept++] = id;
      }
    }
    deferred_cancels_.erase(deferred_cancels_.begin() + static_cast<std::ptrdiff_t>(kept),
                            deferred_cancels_.begin() + static_cast<std::ptrdiff_t>(deferred));
  }

  [[nodiscard]] queued_request queued_view(const tracked& t) const noexcept {
    queued_request q = make_queued_request(t.r, t.sequence, t.service);
    q.tag = static_cast<std::uint32_t>(&t - slots_.data());
    return q;
  }

  // The KV a running request of `t`'s shape reserves on a backend with `caps`.
  [[nodiscard]] tokens reservation(const tracked& t, const backend_capabilities& caps) const {
    tokens growth = t.output_bound;
    if (!caps.can_preempt_recompute && !caps.can_preempt_swap) {
      growth = t.r.max_new_tokens ? *t.r.max_new_tokens : config_.max_output_tokens;
    }
    return std::max(t.r.prompt_tokens + growth, t.prefill_target + tokens(1));
  }

  void accept(request&& r, time_point now) noexcept {
    if (backends_.empty()) {
      emit(request_event_kind::rejected, r, 0, now, request_event_reason::no_backend);
      return;
    }
    if (index_.find(r.id)) {
      emit(request_event_kind::rejected, r, 0, now, request_event_reason::duplicate_id);
      return;
    }
    const std::uint32_t slot = free_slots_.back();
    tracked& t = slots_[slot];
    t.r = std::move(r);
    t.r.progress = request_progress{};
    t.sequence = next_sequence_++;
    set_output_lengths(t);
    t.prefill_target = t.r.prompt_tokens;
    t.prefilled = tokens(0);
    t.kept_prompt = t.r.prompt_tokens;
    t.alpha = 0.0;
    t.eviction_pending = false;
    t.known_to_backend = false;
    t.failed_steps = 0;

    // Placement: the predicted wait and service on every backend that can hold the request.
    options_.clear();
    option_backend_.clear();
    for (std::size_t b = 0; b < backends_.size(); ++b) {
      backend_state& s = *backends_[b];
      const backend_capabilities& caps = s.backend->capabilities();
      if (reservation(t, caps) > caps.kv_capacity || !prefill_fits_a_step(t, caps)) continue;
      options_.push_back({.device = s.backend->capabilities().device,
                          .wait = predicted_wait(s),
                          .service = isolated_service(s, t)});
      option_backend_.push_back(b);
    }
    if (options_.empty()) {
      emit(request_event_kind::rejected, t.r, 0, now, request_event_reason::too_long);
      return;
    }
    if (t.r.effective_deadline() && config_.admission != admission_mode::accept &&
        !admit_deadline(t, now)) {
      return;
    }
    t.deadline = t.r.effective_deadline();  // after admission control, which may change it

    const placement_decision d = place_request(
        options_,
        {.deadline = t.deadline, .priority = t.r.priority, .output_bound = t.output_bound},
        config_.offload, now);
    const std::size_t b = option_backend_[d.backend];
    backend_state& s = *backends_[b];
    t.backend = static_cast<std::uint32_t>(b);
    t.service = options_[d.backend].service;
    const std::optional<typename waiting_queue<Policy>::handle> h = s.waiting.push(queued_view(t));
    if (!h) {  // cannot happen: every queue holds max_requests and the slots are that many
      emit(request_event_kind::rejected, t.r, b, now, request_event_reason::too_long);
      return;
    }
    free_slots_.pop_back();
    const bool inserted = index_.insert(t.r.id, slot);
    RTLM_ASSERT(inserted);
    static_cast<void>(inserted);
    t.handle = *h;
    t.state = slot_state::waiting;
    s.queued_work += t.service;
    emit(request_event_kind::queued, t.r, b, now);
  }

  // Whether a backend that prefills a prompt whole (static batches, or no chunked prefill) can
  // take `t`'s in one step of its max_step_tokens; a backend that chunks always can.
  [[nodiscard]] static bool prefill_fits_a_step(const tracked& t,
                                                const backend_capabilities& caps) noexcept {
    const bool whole = caps.batching == batching_mode::static_batch || !caps.can_chunk_prefill;
    return !whole || caps.max_step_tokens.count() <= 0 || t.prefill_target <= caps.max_step_tokens;
  }

  // How long a request placed on `s` now is predicted to wait: its queued work over its batch
  // concurrency. Placement, admission control and consolidation all read it.
  [[nodiscard]] static seconds predicted_wait(const backend_state& s) noexcept {
    return s.queued_work / s.concurrency;
  }
  // Saturated: the predicted wait has reached offload.saturated_wait (the GPUs' "saturated" of
  // CPU offloading's rule 2, also where admission sheds load and consolidation stops).
  [[nodiscard]] bool saturated(const backend_state& s) const noexcept {
    return predicted_wait(s) >= config_.offload.saturated_wait;
  }

  // The output lengths planned for `t` from its prediction (or the configured default), at
  // least 1 and at most max_new_tokens.
  void set_output_lengths(tracked& t) const noexcept {
    const tokens cap = t.r.max_new_tokens ? *t.r.max_new_tokens : tokens(0);
    const auto capped = [&](tokens n) {
      n = std::max(n, tokens(1));
      return cap.count() > 0 ? std::min(n, cap) : n;
    };
    if (t.r.predicted_length) {
      const double mean = std::ceil(t.r.predicted_length->mean_tokens);
      t.output_mean = capped(tokens(static_cast<tokens::rep>(std::min(mean, 1e12))));
      t.output_bound = capped(std::max(t.r.predicted_length->upper_bound, t.output_mean));
    } else {
      t.output_mean = capped(config_.default_output_tokens);
      t.output_bound = t.output_mean;
    }
  }

  // `t`'s predicted service on backend `s` run alone: its prefill and a decode step per token of
  // its output bound still to come.
  [[nodiscard]] static seconds isolated_service(const backend_state& s, const tracked& t) noexcept {
    const tokens left = std::max(t.output_bound - t.r.progress.generated, tokens(1));
    return s.estimator.prefill_time(t.prefill_target, tokens(0)) +
           s.decode_step * static_cast<double>(left.count());
  }

  // Admission control: can any backend meet `t`'s deadline alone, at alpha_max where it can
  // evict, for the output length config_.admission_length says? If not, applies
  // config_.admission and returns whether the request stays.
  bool admit_deadline(tracked& t, time_point now) noexcept {
    const time_point deadline = *t.r.effective_deadline();
    request_event_reason worst = request_event_reason::deadline_passed;
    seconds shortest{std::numeric_limits<double>::infinity()};
    for (const std::size_t b : option_backend_) {
      const backend_state& s = *backends_[b];
      const double alpha = s.backend->capabilities().can_evict_kv ? config_.alpha_max : 0.0;
      const bool expected =
          config_.admission_length == admission_basis::expected_length || saturated(s);
      time_budget_problem judged = time_budget_problem::until(
          deadline, now, t.r.prompt_tokens, expected ? t.output_mean : tokens(1), alpha);
      if (config_.admission_at_current_pace) {
        // At the pace the backend runs now: after its predicted wait, every step as slow as its
        // last one over this request's own step alone.
        const double alone = s.solver.table().decode_run_time(t.r.prompt_tokens, tokens(1)).count();
        const double pace =
            !s.running.empty() && alone > 0.0 ? std::max(1.0, s.predicted.count() / alone) : 1.0;
        judged.budget = (judged.budget - predicted_wait(s)) / pace;
      }
      const time_budget_plan plan = s.solver.solve(judged);
      if (plan.feasible()) return true;
      // The relaxed deadline (relax_deadline) is for the expected length, whatever was judged.
      const time_budget_problem p =
          time_budget_problem::until(deadline, now, t.r.prompt_tokens, t.output_mean, alpha);
      shortest = std::min(shortest, s.solver.worst_case(p, 0.0));
      const request_event_reason reason = reason_of(plan.shortfall);
      if (static_cast<int>(reason) > static_cast<int>(worst)) worst = reason;
    }
    switch (config_.admission) {
      case admission_mode::accept:  // not checked (accept() skips the check)
        return true;
      case admission_mode::reject:
        emit(request_event_kind::rejected, t.r, 0, now, worst);
        return false;
      case admission_mode::downgrade:
        t.r.deadline.reset();
        t.r.time_budget.reset();
        t.r.priority = priority_class::background;
        emit(request_event_kind::downgraded, t.r, 0, now, worst);
        return true;
      case admission_mode::relax_deadline:
        t.r.time_budget.reset();
        t.r.deadline = add_saturated(now, shortest * config_.relaxed_deadline_factor);
        emit(request_event_kind::deadline_relaxed, t.r, 0, now, worst);
        return true;
    }
    return false;
  }

  static request_event_reason reason_of(budget_shortfall s) noexcept {
    switch (s) {
      case budget_shortfall::deadline_passed:
        return request_event_reason::deadline_passed;
      case budget_shortfall::prefill_too_long:
        return request_event_reason::prefill_too_long;
      case budget_shortfall::eviction_too_weak:
      case budget_shortfall::none:
        break;
    }
    return request_event_reason::eviction_too_weak;
  }

  void release_slot(std::uint32_t slot) noexcept {
    tracked& t = slots_[slot];
    index_.erase(t.r.id);
    t.state = slot_state::free;
    ++t.generation;
    free_slots_.push_back(slot);
  }

  // Removes running/swapped slot `slot` from backend `s`'s lists and frees its KV.
  void leave_backend(backend_state& s, std::uint32_t slot) noexcept {
    tracked& t = slots_[slot];
    if (t.state == slot_state::running) {
      s.running.erase(std::find(s.running.begin(), s.running.end(), slot));
      s.reserved -= t.reserved;
    } else if (t.state == slot_state::swapped) {
      s.swapped.erase(std::find(s.swapped.begin(), s.swapped.end(), slot));
    }
    s.releases.push_back(t.r.id);
  }

  void cancel_now(request_id id, time_point now) noexcept {
    const std::optional<std::uint32_t> slot = index_.find(id);
    if (!slot) {  // finished, rejected, never seen, or still in the intake behind a full table
      // take_in() drains no more cancellations than this list has room for.
      RTLM_ASSERT(deferred_cancels_.size() < deferred_cancels_.capacity());
      deferred_cancels_.push_back(id);
      return;
    }
    tracked& t = slots_[*slot];
    backend_state& s = *backends_[t.backend];
    if (t.state == slot_state::waiting) {
      s.waiting.erase(t.handle);
      s.queued_work -= t.service;
      if (t.known_to_backend) s.releases.push_back(t.r.id);
    } else {
      leave_backend(s, *slot);
    }
    emit(request_event_kind::cancelled, t.r, t.backend, now);
    release_slot(*slot);
  }

  // ---- planning -------------------------------------------------------------------------------

  // KV entries a decoding request holds: its prompt (after eviction) and every generated token
  // but the last, which is the next decode's input (and the step appends it).
  [[nodiscard]] static tokens kv_of(const tracked& t) noexcept {
    const tokens fed = t.prefill_target - t.r.prompt_tokens;  // generated tokens re-prefilled
    const tokens later = std::max(t.r.progress.generated - fed - tokens(1), tokens(0));
    return t.kept_prompt + fed + later;
  }
  [[nodiscard]] bool prefilling(const tracked& t) const noexcept {
    return t.prefilled < t.prefill_target;
  }
  // Decode steps `t` still needs, by its bound (at least 1 while it runs).
  [[nodiscard]] double remaining_steps(const tracked& t) const noexcept {
    const tokens left = t.output_bound - t.r.progress.generated;
    return static_cast<double>(std::max<tokens::rep>(left.count(), 1));
  }

  void build_plan(std::size_t b, time_point now) noexcept {
    backend_state& s = *backends_[b];
    step_plan& plan = s.plan;
    plan.clear();
    s.prefill_entries.clear();
    s.decode_entries.clear();
    s.kv.clear();
    const backend_capabilities& caps = s.backend->capabilities();
    std::size_t max_batch = caps.max_batch_size > 0 ? static_cast<std::size_t>(caps.max_batch_size)
                                                    : std::numeric_limits<std::size_t>::max();
    // Every sequence of a step computes at least one new token, so a backend's max_step_tokens
    // bounds its batch too (else the decodes alone could exceed it).
    if (caps.max_step_tokens.count() > 0) {
      max_batch = std::min(max_batch, static_cast<std::size_t>(caps.max_step_tokens.count()));
    }
    tokens budget =
        caps.max_step_tokens.count() > 0 ? caps.max_step_tokens : config_.max_step_tokens;

    plan.releases.assign(s.releases.begin(), s.releases.end());
    s.releases.clear();

    // Requests that outgrew their reservation reserve what they hold plus the next token
    // (complete_step grows it); when the KV is over-committed, the least urgent running requests
    // make room.
    while (s.reserved > caps.kv_capacity && s.running.size() > 1 &&
           preempt_least_urgent(s, b, now)) {
    }
    if (config_.preempt_for_priority) make_room_for_priority(s, b, now, max_batch);

    // One pass over the batch (its slots are scattered: one pass, few cache misses): evictions
    // planned at admission, once the prompt is in the KV cache; the decode set (every running
    // request whose prefill is complete); the deadlines consolidation protects.
    s.prefilling.clear();
    s.constraints.clear();
    for (const std::uint32_t slot : s.running) {
      tracked& t = slots_[slot];
      add_constraint(s, t, now);
      if (prefilling(t)) {
        s.prefilling.push_back(slot);
        continue;
      }
      if (t.eviction_pending) {
        t.eviction_pending = false;
        const tokens kept = kept_tokens_for_ratio(t.r.prompt_tokens, t.alpha);
        plan.evictions.push_back({.id = t.r.id, .ratio = t.alpha, .kept_tokens = kept});
        t.kept_prompt = kept;
        t.r.progress.kv_eviction_ratio = t.alpha;
      }
      plan.decodes.push_back({.id = t.r.id, .kv_length = kv_of(t)});
      s.decode_entries.push_back({slot, t.generation});
      s.kv.push_back(kv_of(t));
      budget -= tokens(1);
    }
    // Prefills already under way continue, oldest first, within the token budget.
    for (const std::uint32_t slot : s.prefilling) {
      const tracked& t = slots_[slot];
      if (budget <= tokens(0)) break;
      const tokens chunk = std::min(t.prefill_target - t.prefilled, budget);
      plan.prefills.push_back({.id = t.r.id,
                               .new_tokens = chunk,
                               .cached_tokens = t.prefilled,
                               .final_chunk = t.prefilled + chunk == t.prefill_target});
      s.prefill_entries.push_back({slot, t.generation});
      budget -= chunk;
    }
    // Swapped-out requests come back first, oldest first, while their KV fits (and, under
    // preemption for priority, while no waiting request outranks them).
    while (!s.swapped.empty() && s.running.size() < max_batch && budget > tokens(0)) {
      const std::uint32_t slot = s.swapped.front();
      tracked& t = slots_[slot];
      if (config_.preempt_for_priority && !s.waiting.empty() &&
          outranks(slots_[s.waiting.top_tag()], policy_key(policy_, queued_view(t)))) {
        break;
      }
      const tokens need = std::max(reservation(t, caps), kv_of(t) + tokens(1));
      if (s.reserved + need > caps.kv_capacity) break;
      s.swapped.erase(s.swapped.begin());
      t.state = slot_state::running;
      t.reserved = need;
      s.reserved += need;
      s.running.push_back(slot);
      plan.swap_ins.push_back(t.r.id);
      add_constraint(s, t, now);
      plan.decodes.push_back({.id = t.r.id, .kv_length = kv_of(t)});
      s.decode_entries.push_back({slot, t.generation});
      s.kv.push_back(kv_of(t));
      budget -= tokens(1);
    }

    // The decode part of this step is known now (admissions only prefill in it); admit() reuses it.
    s.base_decode = plan.decodes.empty() ? seconds(0) : s.estimator.base().decode_time(s.kv);
    const bool defer = !s.decodes_deferred && decodes_block(s, max_batch, budget);
    admit(s, b, now, max_batch, defer ? caps.max_step_tokens : budget);
    // A step that admitted the blocked prompt runs prefills only; its decodes run in the next.
    s.decodes_deferred = defer && !plan.prefills.empty();
    if (s.decodes_deferred) {
      plan.decodes.clear();
      s.decode_entries.clear();
      s.kv.clear();
      s.base_decode = seconds(0);
    }

    s.base_prefill = seconds(0);
    for (const prefill_assignment& p : plan.prefills) {
      s.base_prefill += s.estimator.base().prefill_time(p.new_tokens, p.cached_tokens);
    }
    s.predicted = s.estimator.step_time(s.base_prefill, plan.prefills.size(), s.base_decode);
    if (!plan.decodes.empty()) s.decode_step = s.base_decode * s.estimator.decode_factor();
  }

  // Whether this step's decodes keep the next admission out on a backend that prefills prompts
  // whole under its own token limit: the prompt fits the limit but not what the decodes leave of
  // it. Then the step runs prefills only (as vLLM without chunked prefill does), never two steps
  // in a row; otherwise the prompt, and every request behind it, would wait for the batch to
  // drain.
  [[nodiscard]] bool decodes_block(const backend_state& s, std::size_t max_batch,
                                   tokens budget) const noexcept {
    const backend_capabilities& caps = s.backend->capabilities();
    if (caps.batching == batching_mode::static_batch || caps.can_chunk_prefill ||
        caps.max_step_tokens.count() <= 0 || s.plan.decodes.empty() || s.waiting.empty() ||
        s.running.size() >= max_batch) {
      return false;
    }
    const tracked& head = slots_[s.waiting.top_tag()];
    return head.prefill_target > budget && head.prefill_target <= caps.max_step_tokens &&
           s.reserved + reservation(head, caps) <= caps.kv_capacity;
  }

  // The slot behind the plan's i-th computed sequence (plan order: prefills, then decodes).
  [[nodiscard]] static const plan_entry& entry_at(const backend_state& s, std::size_t i) noexcept {
    const std::size_t p = s.prefill_entries.size();
    return i < p ? s.prefill_entries[i] : s.decode_entries[i - p];
  }

  // The running request the policy serves last among those the backend can preempt (a request
  // still prefilling can only be recomputed): its place in s.running and its key.
  struct preemption_victim {
    std::size_t index = 0;
    virtual_time key{};
  };
  [[nodiscard]] std::optional<preemption_victim> least_urgent(
      const backend_state& s) const noexcept {
    const backend_capabilities& caps = s.backend->capabilities();
    std::optional<preemption_victim> victim;
    for (std::size_t i = 0; i < s.running.size(); ++i) {
      const tracked& t = slots_[s.running[i]];
      const bool can = prefilling(t) ? caps.can_preempt_recompute
                                     : caps.can_preempt_swap || caps.can_preempt_recompute;
      if (!can) continue;
      const virtual_time k = policy_key(policy_, queued_view(t));
      if (!victim || k > victim->key ||
          (k == victim->key && t.sequence > slots_[s.running[victim->index]].sequence)) {
        victim = preemption_victim{.index = i, .key = k};
      }
    }
    return victim;
  }

  // Preempts the running request served last by the policy: swap when the backend can (no
  // work lost), else recompute (back to waiting; its prompt and output are prefilled again).
  // False when no request can be preempted.
  bool preempt_least_urgent(backend_state& s, std::size_t b, time_point now) noexcept {
    const std::optional<preemption_victim> victim = least_urgent(s);
    if (!victim) return false;
    preempt(s, b, now, victim->index);
    return true;
  }

  // Preemption for priority (scheduler_config::preempt_for_priority): while the first waiting
  // request finds the batch or the KV full and outranks the least urgent running request by the
  // margin, that one is preempted. Each pass frees one place, so at most one pass per running
  // request.
  void make_room_for_priority(backend_state& s, std::size_t b, time_point now,
                              std::size_t max_batch) noexcept {
    const backend_capabilities& caps = s.backend->capabilities();
    if (caps.batching == batching_mode::static_batch) return;
    for (std::size_t passes = s.running.size(); passes > 0 && !s.waiting.empty(); --passes) {
      const tracked& head = slots_[s.waiting.top_tag()];
      const tokens need = reservation(head, caps);
      if (need > caps.kv_capacity) return;  // no preemption could make it fit
      if (s.running.size() < max_batch && s.reserved + need <= caps.kv_capacity) return;
      const std::optional<preemption_victim> victim = least_urgent(s);
      if (!victim || !outranks(head, victim->key)) return;
      preempt(s, b, now, victim->index);
    }
  }

  // Whether waiting request `t` ranks ahead of `key` by more than the preemption margin.
  [[nodiscard]] bool outranks(const tracked& t, virtual_time key) const noexcept {
    return policy_key(policy_, queued_view(t)) + seconds(config_.priority_preemption_margin) < key;
  }

  void preempt(backend_state& s, std::size_t b, time_point now, std::size_t index) noexcept {
    const backend_capabilities& caps = s.backend->capabilities();
    const std::uint32_t slot = s.running[index];
    tracked& t = slots_[slot];
    s.running.erase(s.running.begin() + static_cast<std::ptrdiff_t>(index));
    s.reserved -= t.reserved;
    t.reserved = tokens(0);
    const bool swap = caps.can_preempt_swap && !prefilling(t);
    s.plan.preemptions.push_back(
        {.id = t.r.id, .mode = swap ? preemption_mode::swap : preemption_mode::recompute});
    if (swap) {
      t.state = slot_state::swapped;
      s.swapped.push_back(slot);
    } else {
      // Recompute: the prompt and the tokens generated so far are prefilled again, whole (the
      // eviction, if any, is not applied again: the request is late already).
      t.prefill_target = t.r.prompt_tokens + t.r.progress.generated;
      t.prefilled = tokens(0);
      t.kept_prompt = t.r.prompt_tokens;
      t.eviction_pending = false;
      t.known_to_backend = true;
      t.r.progress.prefilled = tokens(0);
      t.r.progress.kv_eviction_ratio = 0.0;
      t.state = slot_state::waiting;
      t.service = isolated_service(s, t);  // what is left of it, re-prefill included
      t.handle = *s.waiting.push(queued_view(t));
      s.queued_work += t.service;
    }
    emit(request_event_kind::preempted, t.r, b, now);
  }

  // A running request's deadline, for dynamic consolidation: it must still fit its remaining
  // steps after the batch grows. (One already predicted to miss is not protected at others'
  // expense, see admit(); the host's overrun policy deals with it.)
  void add_constraint(backend_state& s, const tracked& t, time_point now) const noexcept {
    if (!t.deadline) return;
    s.constraints.push_back({.left = std::chrono::duration<double>(*t.deadline - now).count(),
                             .steps = remaining_steps(t)});
  }

  void admit(backend_state& s, std::size_t b, time_point now, std::size_t max_batch,
             tokens budget) noexcept {
    const backend_capabilities& caps = s.backend->capabilities();
    if (caps.batching == batching_mode::static_batch) {
      if (s.running.empty()) admit_static_batch(s, b, now, max_batch, budget);
      return;
    }
    // 1. Candidates in policy order while the KV, the batch and the token budget allow.
    s.candidates.clear();
    s.batch_kv.assign(s.kv.begin(), s.kv.end());
    tokens reserved = s.reserved;
    bool prefill_planned = !s.plan.prefills.empty();
    bool any_deadline = false;
    // Where the budget is the scheduler's own (the backend sets no limit), a backend that
    // prefills whole prompts takes the step's first prompt whatever its length, beside the
    // decodes: held back, it would wait for the batch to drain.
    const bool whole_first = !caps.can_chunk_prefill && caps.max_step_tokens.count() <= 0;
    while (!s.waiting.empty() && s.running.size() + s.candidates.size() < max_batch &&
           (budget > tokens(0) || (whole_first && !prefill_planned))) {
      const std::uint32_t slot = s.waiting.top_tag();
      const tracked& t = slots_[slot];
      const tokens need = reservation(t, caps);
      if (reserved + need > caps.kv_capacity) break;
      const tokens todo = t.prefill_target;
      tokens chunk = std::min(todo, budget);
      if (!caps.can_chunk_prefill && chunk < todo) {
        if (prefill_planned || !whole_first) break;  // see decodes_block() for a backend's limit
        chunk = todo;
      }
      s.waiting.pop();
      s.candidates.push_back({.slot = slot, .chunk = chunk, .need = need});
      s.batch_kv.push_back(t.r.prompt_tokens + tokens(1));
      reserved += need;
      budget -= chunk;
      prefill_planned = true;
      any_deadline = any_deadline || t.deadline.has_value();
    }
    if (s.candidates.empty()) return;

    // 2. Dynamic consolidation: the largest k such that admitting the first k candidates keeps
    //    every running request's deadline that holds now: their prefill lengthens this step, and
    //    each new sequence every later decode step. (A candidate's own deadline passed admission
    //    control; eviction, planned below, is what keeps it.) Monotone in k, so a binary search;
    //    each probe costs one O(batch) decode-time estimate. A candidate that cannot wait is
    //    admitted whatever it costs (must_admit()): holding it back would only move the miss
    //    from a running request to it, and holding requests back without limit would starve
    //    the batch under overload while the queue grows.
    std::size_t k = s.candidates.size();
    double step_with_k = 0.0;
    // A saturated backend holds nothing back: there, a smaller batch only moves misses into the
    // growing queue.
    if (config_.consolidate && !saturated(s) && (!s.constraints.empty() || any_deadline)) {
      const double current = config_.bound_level > 0.0
                                 ? decode_seconds(s, std::span(s.batch_kv).first(s.kv.size()))
                                 : s.base_decode.count() * s.estimator.decode_factor();
      const auto keeps = [&](std::size_t n) {
        step_with_k = decode_seconds(s, std::span(s.batch_kv).first(s.kv.size() + n));
        double extra = 0.0;
        for (std::size_t i = 0; i < n; ++i) extra += prefill_seconds(s, s.candidates[i].chunk);
        const auto held = [&](const deadline_constraint& c) {
          return c.steps * current > c.left || extra + c.steps * step_with_k <= c.left;
        };
        return std::all_of(s.constraints.begin(), s.constraints.end(), held);
      };
      if (!keeps(k)) {
        std::size_t lo = 0;  // admitted whatever keeps(lo) says: the candidates that cannot wait
        for (std::size_t i = 0; i < k; ++i) {
          if (must_admit(s, slots_[s.candidates[i].slot], now, current)) lo = i + 1;
        }
        std::size_t hi = k;  // keeps(hi) fails
        while (hi - lo > 1) {
          const std::size_t mid = lo + (hi - lo) / 2;
          (keeps(mid) ? lo : hi) = mid;
        }
        k = lo;
        if (k > 0) keeps(k);  // leaves step_with_k at the admitted batch's step time
      }
    }

    // 3. Admit the first k; the rest go back to the queue, in their order (same keys).
    for (std::size_t i = 0; i < s.candidates.size(); ++i) {
      const candidate& c = s.candidates[i];
      tracked& t = slots_[c.slot];
      if (i >= k) {
        t.handle = *s.waiting.push(queued_view(t));
        continue;
      }
      s.queued_work -= t.service;
      t.state = slot_state::running;
      t.reserved = c.need;
      s.reserved += c.need;
      s.running.push_back(c.slot);
      plan_eviction(s, t, now, step_with_k);
      s.plan.prefills.push_back({.id = t.r.id,
                                 .new_tokens = c.chunk,
                                 .cached_tokens = tokens(0),
                                 .final_chunk = c.chunk == t.prefill_target});
      s.prefill_entries.push_back({c.slot, t.generation});
      emit(request_event_kind::admitted, t.r, b, now);
    }
  }

  // Whether consolidation must admit `t` now: it has waited the default relative deadline
  // already (so consolidation holds nobody back for longer), or its deadline can still be met
  // but not after one more step: its prefill and bounded output, at the current decode step
  // time `step`, fit now and no longer after waiting one such step.
  [[nodiscard]] bool must_admit(const backend_state& s, const tracked& t, time_point now,
                                double step) const noexcept {
    const double waited = std::chrono::duration<double>(now - t.r.arrival).count();
    if (waited >= config_.policies.earliest_deadline_first.default_relative_deadline.count()) {
      return true;
    }
    if (!t.deadline) return false;
    const double left = std::chrono::duration<double>(*t.deadline - now).count();
    const double service = prefill_seconds(s, t.prefill_target) + remaining_steps(t) * step;
    return service <= left && left < service + step;
  }

  // Decode and prefill times for planning: expected, or the calibrated bound at bound_level.
  [[nodiscard]] double decode_seconds(const backend_state& s,
                                      std::span<const tokens> kv) const noexcept {
    if (kv.empty()) return 0.0;
    const double level = config_.bound_level;
    return (level > 0.0 ? s.estimator.decode_upper_bound(kv, level) : s.estimator.decode_time(kv))
        .count();
  }
  [[nodiscard]] double prefill_seconds(const backend_state& s, tokens n) const noexcept {
    const double level = config_.bound_level;
    return (level > 0.0 ? s.estimator.prefill_upper_bound(n, tokens(0), level)
                        : s.estimator.prefill_time(n, tokens(0)))
        .count();
  }

  // TimeBill's rule at admission, for a backend that can evict: the least eviction ratio whose
  // worst case meets the deadline, with the solver's batch-1 times scaled by how much slower
  // this batch's decode steps are than a lone sequence's. The eviction is planned after the
  // prefill (build_plan).
  void plan_eviction(backend_state& s, tracked& t, time_point now, double batch_step) noexcept {
    t.alpha = 0.0;
    const std::optional<time_point> deadline = t.deadline;
    if (!deadline || !s.backend->capabilities().can_evict_kv || config_.alpha_max <= 0.0) return;
    if (t.r.progress.generated > tokens(0)) return;  // a re-admitted request keeps its plan
    const std::array<tokens, 1> alone = {t.r.prompt_tokens + tokens(1)};
    const double lone_step = s.estimator.decode_time(alone).count();
    const double slowdown = lone_step > 0.0 ? std::max(1.0, batch_step / lone_step) : 1.0;
    time_budget_problem p = time_budget_problem::until(*deadline, now, t.r.prompt_tokens,
                                                       t.output_bound, config_.alpha_max);
    p.budget = p.budget / slowdown;
    const time_budget_plan plan = s.solver.solve(p);
    // Infeasible even at alpha_max: evict alpha_max anyway, the most the budget allows.
    t.alpha = plan.alpha;
    t.eviction_pending = t.alpha > 0.0;
  }

  // Static batching: the head request and the waiting requests of similar predicted length
  // (within config_.similar_length_ratio), so no sequence idles long after the others finished.
  void admit_static_batch(backend_state& s, std::size_t b, time_point now, std::size_t max_batch,
                          tokens budget) noexcept {
    if (s.waiting.empty()) return;
    const backend_capabilities& caps = s.backend->capabilities();
    const std::uint32_t head = s.waiting.top_tag();
    const auto head_length = static_cast<double>(slots_[head].output_mean.count());
    const double ratio = config_.similar_length_ratio;
    // The head first, then similar ones in the order the heap holds them (collected first:
    // taking one erases it from the heap being scanned).
    s.picked.clear();
    const auto take = [&](std::uint32_t slot) {
      tracked& t = slots_[slot];
      const tokens need = reservation(t, caps);
      if (s.running.size() >= max_batch || s.reserved + need > caps.kv_capacity) return;
      if (!s.running.empty() && t.prefill_target > budget) return;
      s.waiting.erase(t.handle);
      s.queued_work -= t.service;
      t.state = slot_state::running;
      t.reserved = need;
      s.reserved += need;
      s.running.push_back(slot);
      s.plan.prefills.push_back({.id = t.r.id,
                                 .new_tokens = t.prefill_target,
                                 .cached_tokens = tokens(0),
                                 .final_chunk = true});
      s.prefill_entries.push_back({slot, t.generation});
      budget -= t.prefill_target;
      emit(request_event_kind::admitted, t.r, b, now);
    };
    take(head);
    s.waiting.for_each([&](const queued_request& q) {
      const std::uint32_t slot = q.tag;
      const auto length = static_cast<double>(slots_[slot].output_mean.count());
      if (slot != head && length <= head_length * ratio && length * ratio >= head_length) {
        s.picked.push_back(slot);
      }
    });
    for (const std::uint32_t slot : s.picked) take(slot);
  }

  // ---- completion -----------------------------------------------------------------------------

  [[nodiscard]] bool current(const plan_entry& e) const noexcept {
    const tracked& t = slots_[e.slot];
    return t.generation == e.generation && t.state == slot_state::running;
  }

  void fail_step(std::size_t b, time_point now) noexcept {
    backend_state& s = *backends_[b];
    for (std::size_t i = 0; i < s.plan.computed(); ++i) {
      const plan_entry& e = entry_at(s, i);
      if (!current(e)) continue;
      tracked& t = slots_[e.slot];
      affected_.push_back(t.r.id);
      if (++t.failed_steps < config_.max_failed_steps) continue;
      leave_backend(s, e.slot);
      emit(request_event_kind::failed, t.r, b, now, request_event_reason::backend_failure);
      release_slot(e.slot);
    }
  }

  std::size_t apply_outcomes(std::size_t b, const step_result& result, time_point now) noexcept {
    backend_state& s = *backends_[b];
    std::size_t finished = 0;
    for (std::size_t i = 0; i < s.plan.computed(); ++i) {
      const plan_entry& e = entry_at(s, i);
      if (!current(e)) continue;  // cancelled while the step ran
      tracked& t = slots_[e.slot];
      const request_outcome& o = result.outcomes[i];
      t.failed_steps = 0;
      bool emits = true;
      if (i < s.plan.prefills.size()) {
        const prefill_assignment& p = s.plan.prefills[i];
        t.prefilled += p.new_tokens;
        t.r.progress.prefilled = std::min(t.prefilled, t.r.prompt_tokens);
        emits = p.final_chunk;
      }
      if (emits) {
        t.r.progress.generated += o.generated;
        if (o.generated.count() > 0 && !t.r.progress.first_token_time) {
          t.r.progress.first_token_time = now;
        }
      }
      const bool capped = t.r.max_new_tokens && t.r.progress.generated >= *t.r.max_new_tokens;
      if (o.finished || capped) {
        ++finished;
        leave_backend(s, e.slot);
        emit(request_event_kind::finished, t.r, b, now);
        release_slot(e.slot);
        continue;
      }
      // An overrun past the reservation reserves what the request holds plus its next token.
      if (!prefilling(t)) {
        const tokens need = std::max(t.reserved, kv_of(t) + tokens(1));
        s.reserved += need - t.reserved;
        t.reserved = need;
      }
    }
    return finished;
  }

  scheduler_config config_;
  Policy policy_;
  request_intake intake_;
  detail::request_index index_;
  std::vector<tracked> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::unique_ptr<backend_state>> backends_;
  std::vector<placement_option> options_;     // scratch: placement
  std::vector<std::size_t> option_backend_;   // scratch: the backend of each option
  std::vector<request_id> affected_;          // scratch: a failed step's requests
  std::vector<request_id> deferred_cancels_;  // cancellations of requests not yet taken in
  bool drain_limited_ = false;                // the last drain stopped at the free slots
  scheduler_observer* observer_ = nullptr;
  std::uint64_t next_sequence_ = 0;
  time_point latest_ = time_point::min();  // the latest `now` given: see monotone()
};

#ifndef RTLM_HEADER_ONLY
// The compiled library instantiates the run-time-policy scheduler once (src/scheduler.cpp).
extern template class basic_scheduler<any_scheduling_policy>;
#endif

/// The scheduler with its policy chosen at run time from scheduler_config::policy.
class scheduler : public basic_scheduler<any_scheduling_policy> {
 public:
  explicit scheduler(const scheduler_config& config = {})
      : basic_scheduler(make_policy(config.policy, config.policies), config) {}
};

}  // namespace rtlm
