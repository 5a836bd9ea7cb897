// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/detail/enum_names.hpp"

namespace rtlm::testing {

/// What a faulty_backend does wrong in one step.
enum class fault {
  none,               ///< the step runs as the inner backend runs it
  throw_std,          ///< run_step throws std::runtime_error
  throw_non_std,      ///< run_step throws an exception not derived from std::exception
  negative_time,      ///< the result's step_time is -1 s
  nan_time,           ///< the result's step_time is NaN
  infinite_time,      ///< the result's step_time is +infinity
  huge_time,          ///< the result's step_time is 1e30 s: finite, past what rtlm::duration holds
  extra_tokens,       ///< the first outcome reports max_tokens_per_outcome + 1 tokens
  unknown_id,         ///< the first outcome's id is one the plan does not hold
  missing_outcome,    ///< the last outcome is left out
  duplicate_outcome,  ///< the first outcome is reported twice (the result has one too many)
  replaced_outcome,   ///< the second outcome repeats the first (the count is right, an id is not)
  stall,              ///< the step runs and reports stall_factor() times the inner's step time
};

/// The name of `f`, equal to its enumerator ("nan_time"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(fault f) noexcept {
  return detail::enum_name(
      f, {"none", "throw_std", "throw_non_std", "negative_time", "nan_time", "infinite_time",
          "huge_time", "extra_tokens", "unknown_id", "missing_outcome", "duplicate_outcome",
          "replaced_outcome", "stall"});
}

/// What faulty_backend throws for fault::throw_non_std: deliberately not a std::exception.
struct non_std_failure {
  int code = 0;
};

/// A model_backend that wraps another (usually a fake_backend) and misbehaves on the steps a test
/// scripts: it throws, returns garbage, stalls, or silently forgets a request. For fault-injection
/// tests of the scheduler and of hosts' own step loops. Not thread-safe, like every backend.
///
/// A step that throws or returns garbage fails in its forward pass: the inner backend applies the
/// plan's releases, preemptions, swap-ins and evictions (as a runtime does before the forward
/// pass, in the order model_backend documents) but computes nothing, which is what the scheduler
/// assumes of a failed step (its computed work is planned again). The scheduler then sends those
/// control operations again, and the inner backend takes the repeats as no-ops (model_backend's
/// failure semantics; fake_backend does). A stalled step runs whole. A forgotten request
/// (drop()) makes every later step that computes it fail the same way, with its outcome missing
/// from the result. run_step() is never called with an empty plan, so such a plan is not a step
/// here: it neither counts in steps() nor takes a scripted fault.
///
/// @code
/// rtlm::testing::fake_backend fake;
/// rtlm::testing::faulty_backend faulty(fake);
/// faulty.inject(2, rtlm::testing::fault::nan_time);  // the third step reports NaN seconds
/// scheduler.add_backend(faulty, estimator);
/// @endcode
class faulty_backend final : public model_backend {
 public:
  /// Wraps `inner`, which must outlive this backend; its capabilities are this backend's.
  explicit faulty_backend(model_backend& inner) : inner_(&inner) {}

  [[nodiscard]] const backend_capabilities& capabilities() const noexcept override {
    return inner_->capabilities();
  }

  /// Scripts fault `f` for step `step` (0-based, counting every run_step call: every non-empty
  /// plan).
  void inject(std::size_t step, fault f) { script_[step] = f; }
  /// Scripts fault `f` for the next step.
  void inject_next(fault f) { script_[steps_] = f; }
  /// Scripts fault `f` for every step from the next on (until clear_faults()).
  void inject_always(fault f) { always_ = f; }
  /// Removes every scripted fault (forgotten requests stay forgotten).
  void clear_faults() {
    script_.clear();
    always_ = fault::none;
  }
  /// How much longer than the inner backend's a stalled step reports; 1000 by default.
  void set_stall_factor(double factor) noexcept { stall_factor_ = factor; }
  [[nodiscard]] double stall_factor() const noexcept { return stall_factor_; }
  /// Forgets request `id` from the next step on: no later result has an outcome for it.
  void drop(request_id id) { dropped_.insert(id); }

  /// Steps attempted (run_step calls), failed or not.
  [[nodiscard]] std::size_t steps() const noexcept { return steps_; }
  /// Steps that ran with an injected fault (stalls included).
  [[nodiscard]] std::size_t faults_injected() const noexcept { return injected_; }

 private:
  void run_step(const step_plan& plan, step_result& result) override {
    const fault f = take_fault();
    if (f == fault::none && !computes_dropped(plan)) {
      run_inner(plan, result);
      return;
    }
    ++injected_;
    if (f == fault::stall) {
      run_inner(plan, result);
      result.step_time *= stall_factor_;
      return;
    }
    apply_memory_operations(plan);
    if (f == fault::throw_std) throw std::runtime_error("faulty_backend: injected failure");
    if (f == fault::throw_non_std) throw non_std_failure{42};
    answer_as_planned(plan, result);
    corrupt(f, capabilities().max_tokens_per_outcome, result);
  }

  fault take_fault() {
    const std::size_t step = steps_++;
    const auto it = script_.find(step);
    if (it == script_.end()) return always_;
    const fault f = it->second;
    script_.erase(it);
    return f;
  }

  [[nodiscard]] bool computes_dropped(const step_plan& plan) const {
    if (dropped_.empty()) return false;
    for (const prefill_assignment& p : plan.prefills)
      if (dropped_.contains(p.id)) return true;
    for (const decode_assignment& d : plan.decodes)
      if (dropped_.contains(d.id)) return true;
    return false;
  }

  void run_inner(const step_plan& plan, step_result& result) {
    if (inner_->execute(plan, result) != step_status::ok) {
      throw std::runtime_error(inner_->last_error());
    }
  }

  // The plan without its forward pass, run on the inner backend.
  void apply_memory_operations(const step_plan& plan) {
    memory_only_ = plan;
    memory_only_.prefills.clear();
    memory_only_.decodes.clear();
    if (!memory_only_.empty()) run_inner(memory_only_, scratch_);
  }

  // The result a well-behaved step of `plan` would report, no request finishing; forgotten
  // requests are left out.
  void answer_as_planned(const step_plan& plan, step_result& result) const {
    const auto add = [&](request_id id, tokens generated) {
      if (!dropped_.contains(id)) result.outcomes.push_back({.id = id, .generated = generated});
    };
    for (const prefill_assignment& p : plan.prefills) add(p.id, tokens(p.final_chunk ? 1 : 0));
    for (const decode_assignment& d : plan.decodes) add(d.id, tokens(1));
    result.step_time = seconds(0.010);
  }

  // Breaks `result` as `f` says; `most` is the tokens an outcome may carry.
  static void corrupt(fault f, tokens most, step_result& result) {
    auto& out = result.outcomes;
    switch (f) {
      case fault::negative_time:
        result.step_time = seconds(-1.0);
        break;
      case fault::nan_time:
        result.step_time = seconds(std::numeric_limits<double>::quiet_NaN());
        break;
      case fault::infinite_time:
        result.step_time = seconds(std::numeric_limits<double>::infinity());
        break;
      case fault::huge_time:
        result.step_time = seconds(1e30);
        break;
      case fault::extra_tokens:
        if (!out.empty()) out.front().generated = most + tokens(1);
        break;
      case fault::unknown_id:
        if (!out.empty()) out.front().id = request_id{std::numeric_limits<std::uint64_t>::max()};
        break;
      case fault::missing_outcome:
        if (!out.empty()) out.pop_back();
        break;
      case fault::duplicate_outcome:
        if (!out.empty()) out.push_back(out.front());
        break;
      case fault::replaced_outcome:
        if (out.size() > 1) out[1] = out[0];
        break;
      case fault::none:  // a forgotten request's step: its outcome is already missing
      case fault::throw_std:
      case fault::throw_non_std:
      case fault::stall:
        break;
    }
  }

  model_backend* inner_;
  std::map<std::size_t, fault> script_;
  fault always_ = fault::none;
  double stall_factor_ = 1000.0;
  std::set<request_id> dropped_;
  std::size_t steps_ = 0;
  std::size_t injected_ = 0;
  step_plan memory_only_;
  step_result scratch_;
};

}  // namespace rtlm::testing
