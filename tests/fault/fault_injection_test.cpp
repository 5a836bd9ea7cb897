// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
// Fault injection: the scheduler driven through a backend that throws, returns garbage, stalls or
// forgets requests, and by a clock that jumps backwards. Whatever the fault, every test ends with
// the same conservation check: each accepted request ended exactly once (finished, rejected,
// failed or cancelled), nothing is left live, and event times never went backwards.
#include "rtlm/testing/faulty_backend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/budget/request_time_table.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::request_event_kind;
using rtlm::request_event_reason;
using rtlm::request_id;
using rtlm::step_status;
using rtlm::testing::fault;

constexpr rtlm::time_point t0{};

rtlm::time_point at(double s) {
  return t0 + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(s));
}

bool is_ending(request_event_kind k) {
  switch (k) {
    case request_event_kind::finished:
    case request_event_kind::rejected:
    case request_event_kind::failed:
    case request_event_kind::cancelled:
      return true;
    case request_event_kind::queued:
    case request_event_kind::downgraded:
    case request_event_kind::deadline_relaxed:
    case request_event_kind::admitted:
    case request_event_kind::preempted:
    case request_event_kind::relegated:
      return false;
  }
  return false;
}

// Every event, and each request's endings.
struct ledger final : rtlm::scheduler_observer {
  struct entry {
    rtlm::request_event event;
    rtlm::request_progress progress;
  };
  std::vector<entry> events;
  std::map<request_id, int> endings;
  std::map<request_id, rtlm::request_event> last_ending;

  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    events.push_back({e, r.progress});
    if (!is_ending(e.kind)) return;
    ++endings[e.id];
    last_ending[e.id] = e;
  }
  [[nodiscard]] std::optional<rtlm::request_event> ending(std::uint64_t id) const {
    const auto it = last_ending.find(request_id{id});
    if (it == last_ending.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::optional<entry> last(std::uint64_t id, request_event_kind kind) const {
    std::optional<entry> out;
    for (const entry& e : events)
      if (e.event.id == request_id{id} && e.event.kind == kind) out = e;
    return out;
  }
};

rtlm::testing::fake_backend_config fake_config() {
  rtlm::testing::fake_backend_config c;
  c.capabilities.name = "gpu0";
  c.capabilities.kv_capacity = 100'000_tok;
  c.default_output_length = 4_tok;
  return c;
}

class fault_injection_test : public ::testing::Test {
 protected:
  void make(rtlm::scheduler_config config = {}) {
    config.max_requests = 64;
    config.intake_capacity = 64;
    config.cancel_capacity = 16;
    config.intake_shards = 1;
    config.solver_max_tokens = 4096_tok;
    scheduler_.emplace(config);
    scheduler_->add_backend(faulty_, estimator_);
    scheduler_->set_observer(&ledger_);
  }

  // Submits request `id` with a `prompt`-token prompt that finishes after `output` tokens.
  void submit(std::uint64_t id, rtlm::tokens prompt = 10_tok, rtlm::tokens output = 4_tok) {
    rtlm::request r;
    r.id = request_id{id};
    r.prompt_tokens = prompt;
    r.arrival = now_;
    ASSERT_EQ(scheduler_->submit(r), rtlm::submit_status::accepted);
    accepted_.insert(r.id);
    fake_.set_output_length(r.id, output);
  }

  // One step at the current time; time moves on by the measured step time, or by 10 ms when the
  // step failed (the host still spent time on it).
  rtlm::step_report step() {
    const rtlm::step_report report = scheduler_->step(0, now_);
    if (report.status != step_status::ok) {
      EXPECT_EQ(report.measured.count(), 0.0);
      EXPECT_FALSE(report.error.empty());
    }
    const rtlm::seconds spent =
        report.status == step_status::ok ? report.measured : rtlm::seconds(0.010);
    now_ += std::chrono::duration_cast<rtlm::duration>(spent);
    return report;
  }

  // Steps until nothing is live (twice in a row: the second step sends the last releases);
  // fails the test rather than looping forever.
  void drain(int limit = 1000) {
    int idle = 0;
    int i = 0;
    for (; i < limit && idle < 2; ++i) {
      step();
      idle = scheduler_->live_requests() == 0 ? idle + 1 : 0;
    }
    ASSERT_LT(i, limit) << "the scheduler did not drain";
  }

  // The conservation check every test ends with.
  void expect_conserved() {
    for (const request_id id : accepted_) {
      const auto it = ledger_.endings.find(id);
      EXPECT_TRUE(it != ledger_.endings.end() && it->second == 1)
          << "request " << rtlm::to_integer(id) << " ended "
          << (it == ledger_.endings.end() ? 0 : it->second) << " times";
    }
    for (const auto& [id, n] : ledger_.endings) {
      EXPECT_TRUE(accepted_.contains(id)) << "an ending for unknown request " << to_integer(id);
    }
    EXPECT_EQ(scheduler_->live_requests(), 0U);
    EXPECT_EQ(scheduler_->waiting(0), 0U);
    EXPECT_EQ(scheduler_->running(0), 0U);
    EXPECT_EQ(scheduler_->swapped_out(0), 0U);
    EXPECT_EQ(scheduler_->reserved_kv(0), 0_tok);
    EXPECT_EQ(fake_.kv_tokens_in_use(), 0_tok);  // every release reached the backend
    rtlm::time_point previous = rtlm::time_point::min();
    for (const ledger::entry& e : ledger_.events) {
      EXPECT_GE(e.event.at, previous) << "event times went backwards";
      previous = e.event.at;
      if (e.progress.first_token_time) {
        EXPECT_LE(*e.progress.first_token_time, e.event.at);
      }
    }
  }

  rtlm::test::linear_estimator estimator_;
  rtlm::testing::fake_backend fake_{fake_config()};
  rtlm::testing::faulty_backend faulty_{fake_};
  std::optional<rtlm::scheduler> scheduler_;
  ledger ledger_;
  std::set<request_id> accepted_;
  rtlm::time_point now_ = t0;
};

// ---- exceptions ---------------------------------------------------------------------------------

TEST_F(fault_injection_test, a_std_exception_fails_the_step_and_the_retry_succeeds) {
  make();
  submit(1);
  submit(2);
  step();
  faulty_.inject_next(fault::throw_std);
  const rtlm::step_report report = step();
  EXPECT_EQ(report.status, step_status::backend_failure);
  EXPECT_EQ(report.error, "faulty_backend: injected failure");
  EXPECT_EQ(std::vector<request_id>(report.affected.begin(), report.affected.end()),
            (std::vector<request_id>{request_id{1}, request_id{2}}));
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::finished);
  EXPECT_EQ(ledger_.last(1, request_event_kind::finished)->progress.generated, 4_tok);
}

TEST_F(fault_injection_test, a_non_std_exception_is_caught_as_well) {
  make();
  submit(1);
  faulty_.inject_next(fault::throw_non_std);
  const rtlm::step_report report = step();
  EXPECT_EQ(report.status, step_status::backend_failure);
  EXPECT_EQ(report.error, "run_step threw a non-standard exception");
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::finished);
}

TEST_F(fault_injection_test, a_backend_that_always_throws_fails_each_request_once) {
  rtlm::scheduler_config config;
  config.max_failed_steps = 3;
  make(config);
  submit(1);
  submit(2);
  faulty_.inject_always(fault::throw_std);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(step().status, step_status::backend_failure);
  EXPECT_EQ(scheduler_->live_requests(), 0U);
  for (const std::uint64_t id : {1U, 2U}) {
    EXPECT_EQ(ledger_.ending(id)->kind, request_event_kind::failed);
    EXPECT_EQ(ledger_.ending(id)->reason, request_event_reason::backend_failure);
  }
  // Once the backend recovers the scheduler serves again, and the failed requests' releases
  // (of requests the backend never saw) do no harm.
  faulty_.clear_faults();
  submit(3);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(3)->kind, request_event_kind::finished);
}

TEST_F(fault_injection_test, a_cancel_during_a_failing_step_ends_the_request_once) {
  rtlm::scheduler_config config;
  config.max_failed_steps = 1;
  make(config);
  submit(1);
  step();
  faulty_.inject_next(fault::throw_std);
  const rtlm::step_plan& plan = scheduler_->plan_step(0, now_);
  rtlm::step_result result;
  const step_status status = faulty_.execute(plan, result);
  scheduler_->cancel(request_id{1});  // arrives while the step runs: too late, it fails first
  EXPECT_EQ(scheduler_->complete_step(0, status, result, now_).status,
            step_status::backend_failure);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::failed);
}

// ---- garbage results ----------------------------------------------------------------------------

struct garbage_case {
  fault injected;
  const char* why;  // the check the result fails, as the step report names it
};

void PrintTo(const garbage_case& c, std::ostream* os) {
  *os << rtlm::testing::to_string(c.injected);
}

class garbage_test : public fault_injection_test,
                     public ::testing::WithParamInterface<garbage_case> {};

// Through step(): execute() catches the garbage; the step is failed and planned again, the
// estimator learns nothing from it, and no token of it is counted.
TEST_P(garbage_test, a_garbage_result_is_an_invalid_step_that_is_planned_again) {
  make();
  submit(1);
  submit(2);
  step();
  const std::size_t observed = scheduler_->estimator(0).observed_steps();
  faulty_.inject_next(GetParam().injected);
  const rtlm::step_report report = step();
  EXPECT_EQ(report.status, step_status::invalid_result);
  EXPECT_EQ(report.error, GetParam().why);
  EXPECT_EQ(report.affected.size(), 2U);
  EXPECT_EQ(scheduler_->estimator(0).observed_steps(), observed);
  drain();
  expect_conserved();
  for (const std::uint64_t id : {1U, 2U}) {
    EXPECT_EQ(ledger_.ending(id)->kind, request_event_kind::finished);
    EXPECT_EQ(ledger_.last(id, request_event_kind::finished)->progress.generated, 4_tok);
  }
}

// Through complete_step() with the host's own verdict "ok": the scheduler runs the same checks.
TEST_P(garbage_test, a_host_that_passes_garbage_as_ok_gets_invalid_result) {
  make();
  submit(1);
  submit(2);
  step();
  faulty_.inject_next(GetParam().injected);
  const rtlm::step_plan& plan = scheduler_->plan_step(0, now_);
  rtlm::step_result result;
  static_cast<void>(faulty_.execute(plan, result));  // the host ignores what execute() said
  const rtlm::step_report report = scheduler_->complete_step(0, step_status::ok, result, now_);
  EXPECT_EQ(report.status, step_status::invalid_result);
  EXPECT_EQ(report.error, GetParam().why);
  EXPECT_EQ(report.measured.count(), 0.0);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.last(1, request_event_kind::finished)->progress.generated, 4_tok);
}

// A host that completes a step it never planned (or completes one twice) is told, and nothing
// changes: the requests run as if the call had not happened.
TEST_F(fault_injection_test, completing_a_step_that_is_not_in_flight_is_invalid) {
  make();
  submit(1);
  const rtlm::step_result none;
  const rtlm::step_report before = scheduler_->complete_step(0, step_status::ok, none, now_);
  EXPECT_EQ(before.status, step_status::invalid_result);
  EXPECT_EQ(before.error,
            "no step in flight on this backend (complete_step() without plan_step())");
  EXPECT_EQ(before.computed, 0U);
  EXPECT_TRUE(before.affected.empty());
  step();
  const rtlm::step_report twice = scheduler_->complete_step(0, step_status::ok, none, now_);
  EXPECT_EQ(twice.status, step_status::invalid_result);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.last(1, request_event_kind::finished)->progress.generated, 4_tok);
}

INSTANTIATE_TEST_SUITE_P(
    every_kind, garbage_test,
    ::testing::Values(
        garbage_case{fault::negative_time, "step_time is not a finite number >= 0"},
        garbage_case{fault::nan_time, "step_time is not a finite number >= 0"},
        garbage_case{fault::infinite_time, "step_time is not a finite number >= 0"},
        garbage_case{fault::huge_time, "step_time is longer than 1e9 s"},
        garbage_case{fault::extra_tokens,
                     "an outcome generated more tokens than max_tokens_per_outcome"},
        garbage_case{fault::unknown_id, "an outcome's id is out of plan order"},
        garbage_case{fault::missing_outcome,
                     "the number of outcomes differs from the number of computed requests"},
        garbage_case{fault::duplicate_outcome,
                     "the number of outcomes differs from the number of computed requests"},
        garbage_case{fault::replaced_outcome, "an outcome's id is out of plan order"}),
    [](const ::testing::TestParamInfo<garbage_case>& c) {
      return std::string(rtlm::testing::to_string(c.param.injected));
    });

TEST_F(fault_injection_test, garbage_on_every_step_fails_the_requests_after_max_failed_steps) {
  make();
  submit(1);
  faulty_.inject_always(fault::nan_time);
  drain(20);  // three failed steps, then a release: no endless retrying
  faulty_.clear_faults();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::failed);
}

// ---- stalls -------------------------------------------------------------------------------------

TEST_F(fault_injection_test, a_stalled_step_counts_but_does_not_teach_the_estimator) {
  make();
  submit(1, 10_tok, 8_tok);
  step();
  step();
  const double decode_factor = scheduler_->estimator(0).decode_factor();
  const std::size_t observed = scheduler_->estimator(0).observed_steps();
  faulty_.inject_next(fault::stall);
  const rtlm::step_report report = step();
  EXPECT_EQ(report.status, step_status::ok);
  EXPECT_GT(report.measured, 100.0 * report.predicted);  // 1000x the fake's 10 ms: 10 s
  // A 1000x outlier is ignored, so one stall does not make every later plan pessimistic.
  EXPECT_EQ(scheduler_->estimator(0).observed_steps(), observed);
  EXPECT_EQ(scheduler_->estimator(0).decode_factor(), decode_factor);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::finished);
}

TEST_F(fault_injection_test, a_stall_makes_deadlines_miss_but_loses_nothing) {
  make();
  rtlm::request r;
  r.id = request_id{1};
  r.prompt_tokens = 10_tok;
  r.deadline = at(1.0);
  ASSERT_EQ(scheduler_->submit(r), rtlm::submit_status::accepted);
  accepted_.insert(r.id);
  submit(2);
  faulty_.inject(1, fault::stall);
  drain();
  expect_conserved();
  // The host sees the miss in the finish time; the scheduler's job is that nothing is lost.
  EXPECT_GT(ledger_.ending(1)->at, at(1.0));
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::finished);
}

// A host watchdog that gives up on a stalled step and says backend_failure, although the runtime
// did finish the step: the scheduler plans the step's work again, which the runtime (that
// already did it) refuses, so the affected requests fail after max_failed_steps, once each.
TEST_F(fault_injection_test, a_timeout_verdict_on_a_step_that_ran_fails_its_requests_once) {
  make();
  submit(1);
  submit(2);
  step();
  faulty_.inject_next(fault::stall);
  const rtlm::step_plan& plan = scheduler_->plan_step(0, now_);
  rtlm::step_result result;
  ASSERT_EQ(faulty_.execute(plan, result), step_status::ok);
  ASSERT_GT(result.step_time, rtlm::seconds(1.0));  // the watchdog's limit: 100x the 10 ms
  now_ += std::chrono::seconds(1);
  const rtlm::step_report report =
      scheduler_->complete_step(0, step_status::backend_failure, result, now_);
  EXPECT_EQ(report.status, step_status::backend_failure);
  EXPECT_EQ(report.affected.size(), 2U);
  drain();
  expect_conserved();
  for (const std::uint64_t id : {1U, 2U}) {
    EXPECT_EQ(ledger_.ending(id)->kind, request_event_kind::failed);
    EXPECT_EQ(ledger_.ending(id)->reason, request_event_reason::backend_failure);
  }
}

// ---- a forgotten request ------------------------------------------------------------------------

// The backend silently forgets request 1 mid-decode: every step that computes it lacks its
// outcome. The whole step is invalid (the scheduler cannot tell which outcome is missing), so the
// requests sharing those steps fail after max_failed_steps; one that joined later survives.
TEST_F(fault_injection_test, a_forgotten_request_fails_with_its_batch_and_the_rest_goes_on) {
  make();
  submit(1, 10_tok, 50_tok);
  submit(2, 10_tok, 50_tok);
  step();
  step();
  faulty_.drop(request_id{1});
  EXPECT_EQ(step().status, step_status::invalid_result);
  submit(3);  // admitted into the failing steps, but fails fewer than max_failed_steps of them
  EXPECT_EQ(step().status, step_status::invalid_result);
  EXPECT_EQ(step().status, step_status::invalid_result);
  drain();
  expect_conserved();
  EXPECT_EQ(ledger_.ending(1)->kind, request_event_kind::failed);
  EXPECT_EQ(ledger_.ending(2)->kind, request_event_kind::failed);
  EXPECT_EQ(ledger_.ending(3)->kind, request_event_kind::finished);
}

// ---- control operations sent again after a failed step ------------------------------------------

// The scheduler does not know which of a failed step's releases, preemptions, swap-ins and
// evictions took effect, so it sends them again in its next plan. A failed step here applies
// them (faulty_backend fails in the forward pass), the repeat is a no-op, and the fake ends where
// one that ran the plan once ends: every request holds the same KV and output.
TEST(fault_injection_control, operations_of_a_failed_step_sent_again_change_nothing) {
  const request_id a{1};
  const request_id b{2};
  const request_id c{3};
  const request_id d{4};
  const request_id e{5};
  rtlm::step_plan setup;
  for (const request_id id : {a, b, c, d, e})
    setup.prefills.push_back({.id = id, .new_tokens = 100_tok, .computed_tokens = 0_tok});
  rtlm::step_plan swap_out;
  swap_out.preemptions = {{.id = e, .mode = rtlm::preemption_mode::swap}};
  // Every kind of control operation, then the forward pass over what is left.
  rtlm::step_plan plan;
  plan.releases = {d};
  plan.preemptions = {{.id = a, .mode = rtlm::preemption_mode::swap},
                      {.id = b, .mode = rtlm::preemption_mode::recompute}};
  plan.swap_ins = {e};
  plan.evictions = {{.id = c, .eviction_ratio = 0.5, .kept_tokens = 50_tok}};
  plan.decodes = {{.id = c, .kv_length = 50_tok}, {.id = e, .kv_length = 100_tok}};

  rtlm::testing::fake_backend once(fake_config());
  rtlm::testing::fake_backend twice(fake_config());
  rtlm::testing::faulty_backend faulty(twice);
  rtlm::step_result result;
  for (rtlm::model_backend* backend :
       {static_cast<rtlm::model_backend*>(&once), static_cast<rtlm::model_backend*>(&faulty)}) {
    ASSERT_EQ(backend->execute(setup, result), step_status::ok) << backend->last_error();
    ASSERT_EQ(backend->execute(swap_out, result), step_status::ok) << backend->last_error();
  }
  ASSERT_EQ(once.execute(plan, result), step_status::ok) << once.last_error();

  for (const fault f : {fault::throw_std, fault::nan_time, fault::extra_tokens}) {
    faulty.inject_next(f);
    EXPECT_NE(faulty.execute(plan, result), step_status::ok) << to_string(f);
  }
  // After three failures the plan, sent a fourth time with its control operations, runs whole.
  ASSERT_EQ(faulty.execute(plan, result), step_status::ok) << faulty.last_error();
  for (const request_id id : {a, b, c, d, e}) {
    EXPECT_EQ(twice.holds(id), once.holds(id)) << rtlm::to_integer(id);
    EXPECT_EQ(twice.kv_tokens(id), once.kv_tokens(id)) << rtlm::to_integer(id);
    EXPECT_EQ(twice.generated(id), once.generated(id)) << rtlm::to_integer(id);
  }
  EXPECT_EQ(twice.kv_tokens_in_use(), once.kv_tokens_in_use());
  EXPECT_EQ(twice.kv_tokens(c), 51_tok);  // evicted to 50, then one decode
  EXPECT_EQ(twice.kv_tokens(e), 101_tok);
  EXPECT_FALSE(twice.holds(d));
}

// ---- a clock that jumps backwards ---------------------------------------------------------------

TEST_F(fault_injection_test, a_clock_that_jumps_backwards_does_not_reorder_events) {
  make();
  now_ = at(5.0);
  submit(1, 10_tok, 6_tok);
  step();  // admitted at 5 s
  // The host's clock jumps back by 4 s between plan and completion, then again before a step.
  const rtlm::step_plan& plan = scheduler_->plan_step(0, at(5.5));
  rtlm::step_result result;
  ASSERT_EQ(faulty_.execute(plan, result), step_status::ok);
  EXPECT_EQ(scheduler_->complete_step(0, step_status::ok, result, at(1.5)).status, step_status::ok);
  now_ = at(0.5);
  submit(2, 10_tok, 3_tok);
  drain();
  expect_conserved();  // event times never went backwards
  const auto admitted = ledger_.last(2, request_event_kind::admitted);
  ASSERT_TRUE(admitted);
  EXPECT_GE(admitted->event.at, at(5.5));  // the scheduler's time stayed at its latest
  const auto done = ledger_.last(1, request_event_kind::finished);
  ASSERT_TRUE(done && done->progress.first_token_time);
  EXPECT_GE(*done->progress.first_token_time, at(5.0));  // not before its admission
}

TEST_F(fault_injection_test, every_step_at_an_earlier_time_still_drains) {
  make();
  now_ = at(100.0);
  for (std::uint64_t id = 1; id <= 4; ++id) submit(id);
  for (int i = 0; i < 200 && scheduler_->live_requests() > 0; ++i) {
    scheduler_->step(0, now_);
    now_ -= std::chrono::milliseconds(1);  // a clock running backwards
  }
  drain();
  expect_conserved();
}

// ---- single-stream replanning with a broken measurement -----------------------------------------

TEST(fault_injection, a_nan_or_negative_time_left_stops_an_in_flight_request) {
  const rtlm::request_time_table table(
      [](rtlm::tokens) { return rtlm::seconds(0); },
      [](rtlm::tokens kv) { return rtlm::seconds(0.01 + 1e-4 * static_cast<double>(kv.count())); },
      {.max_tokens = 8192_tok, .cell = 1_tok});
  for (const double left :
       {std::numeric_limits<double>::quiet_NaN(), -1.0, -std::numeric_limits<double>::infinity()}) {
    const rtlm::replan_decision d =
        rtlm::replan_at_checkpoint(table, {.remaining = rtlm::seconds(left),
                                           .kv_tokens = 1000_tok,
                                           .remaining_bound = 100_tok,
                                           .can_evict = true});
    EXPECT_EQ(d.action, rtlm::replan_action::stop) << left;
    EXPECT_EQ(d.max_more_tokens, 0_tok) << left;
  }
}

}  // namespace
