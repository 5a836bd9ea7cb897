// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The scheduler driven by a sequence of operations decoded from the input: submits (of valid
// and malformed requests, with or without TTFT and TPOT targets, SLO classes and tenants, under
// relegation, steps sized to TPOT targets and fairness between tenants), cancels, steps run by fake
// backends, prediction updates, and, unless the input asks for honest backends only, steps
// completed directly with garbage results (unknown ids, extra or missing outcomes, NaN or negative
// step times, prefill times that are garbage or longer than the step, failure statuses). Backends
// sometimes time their prefills apart.
//
// Misuse is mixed in: an observer that calls the scheduler's step functions back from inside an
// event, a backend that does so from inside its step, and a second thread that steps while the
// first is inside a backend. Each such call must be refused with rtlm::usage_error and change
// nothing.
//
// Checked: the per-step path never crashes or throws (but for the refusals above); no plan
// reserves more KV than its backend has; the observer's events follow each
// request's life (queued once, then admitted/preempted while live, then exactly one of
// finished, cancelled or failed); every accepted submission ends up accounted for exactly once
// (rejected, finished, cancelled, failed, or still live); the scheduler's counts agree; and
// with honest backends every plan keeps the step_plan contract the fake backend enforces.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "rtlm/backend/model_backend.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/core/request.hpp"
#include "rtlm/core/usage_error.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"

namespace {

using rtlm::request_event_kind;
using rtlm::request_id;
using rtlm::seconds;
using rtlm::step_status;
using rtlm::tokens;
using rtlm::fuzz::byte_source;

// Few ids, so that duplicates and cancels hit.
constexpr std::uint64_t id_count = 12;
// Submissions accepted per input stay below the scheduler's table, so the table never fills up
// and the last step takes in every one of them.
constexpr std::size_t max_requests = 64;
constexpr std::size_t max_accepted = 48;
constexpr std::size_t max_operations = 400;

// Each request's life as the observer sees it, and the counts the final check compares.
struct ledger final : rtlm::scheduler_observer {
  struct life {
    bool live = false;
    std::size_t queued = 0;
    std::size_t rejected = 0;
    std::size_t ended = 0;  // finished, cancelled, failed or shed from the queue
  };
  std::map<std::uint64_t, life> lives;
  // When set, every event tries to call the scheduler back, which must refuse.
  rtlm::scheduler* calls_back = nullptr;
  std::size_t refusals = 0;

  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    RTLM_FUZZ_CHECK(e.id == r.id);
    if (calls_back != nullptr) call_back(e);
    life& l = lives[rtlm::to_integer(e.id)];
    switch (e.kind) {
      case request_event_kind::queued:
        RTLM_FUZZ_CHECK(!l.live);
        l.live = true;
        ++l.queued;
        return;
      case request_event_kind::rejected:
        if (l.live && e.reason == rtlm::request_event_reason::slo_unattainable) {
          // Shed by relegation at the head of its queue: the end of a queued request.
          l.live = false;
          ++l.ended;
          return;
        }
        // A duplicate is refused while the request it duplicates lives; others are not live.
        RTLM_FUZZ_CHECK(l.live == (e.reason == rtlm::request_event_reason::duplicate_id));
        ++l.rejected;
        return;
      case request_event_kind::downgraded:
      case request_event_kind::deadline_relaxed:
        RTLM_FUZZ_CHECK(!l.live);  // admission control runs before the request is queued
        return;
      case request_event_kind::admitted:
      case request_event_kind::preempted:
      case request_event_kind::relegated:
        RTLM_FUZZ_CHECK(l.live);
        return;
      case request_event_kind::finished:
      case request_event_kind::cancelled:
      case request_event_kind::failed:
        RTLM_FUZZ_CHECK(l.live);
        l.live = false;
        ++l.ended;
        return;
    }
    RTLM_FUZZ_CHECK(false);  // an event kind out of range
  }

  void call_back(const rtlm::request_event& e) noexcept {
    try {
      switch (rtlm::to_integer(e.id) % 3) {
        case 0:
          calls_back->plan_step(e.backend, e.at);
          break;
        case 1:
          calls_back->step(e.backend, e.at);
          break;
        default:
          calls_back->update_prediction(e.id, {});
          break;
      }
      RTLM_FUZZ_CHECK(false);  // a call from inside an event ran
    } catch (const rtlm::usage_error&) {
      ++refusals;
    } catch (...) {
      RTLM_FUZZ_CHECK(false);  // refused with the wrong exception
    }
  }
};

// A fake backend with a hook run at the start of each step: a call back into the scheduler, or a
// second thread's. The hook checks its own refusals, so an honest step still succeeds.
class relay_backend final : public rtlm::model_backend {
 public:
  explicit relay_backend(const rtlm::testing::fake_backend_config& config) : fake(config) {}
  [[nodiscard]] const rtlm::backend_capabilities& capabilities() const noexcept override {
    return fake.capabilities();
  }
  rtlm::testing::fake_backend fake;
  std::function<void()> hook;

 private:
  void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
    if (hook) std::exchange(hook, nullptr)();
    if (fake.execute(plan, result) != step_status::ok) throw std::runtime_error(fake.last_error());
  }
};

// Runs `call` and checks that the scheduler refused it as misuse.
template <class Call>
void expect_refused(Call&& call) noexcept {
  try {
    call();
    RTLM_FUZZ_CHECK(false);  // a misused call ran
  } catch (const rtlm::usage_error&) {
  } catch (...) {
    RTLM_FUZZ_CHECK(false);  // refused with the wrong exception
  }
}

rtlm::backend_capabilities capabilities_in(byte_source& in, std::size_t index) {
  rtlm::backend_capabilities c;
  c.name = index == 0 ? "gpu0" : "cpu0";
  c.device = index == 0 ? rtlm::device_kind::gpu : rtlm::device_kind::cpu;
  const std::uint8_t flags = in.u8();
  c.batching = (flags & 0xC0U) == 0xC0U ? rtlm::batching_mode::static_batch
                                        : rtlm::batching_mode::continuous;
  c.can_chunk_prefill = (flags & 1U) != 0;
  c.can_evict_kv = (flags & 2U) != 0;
  c.can_preempt_recompute = (flags & 4U) != 0;
  c.can_preempt_swap = (flags & 8U) != 0;
  c.kv_capacity = tokens(64 + static_cast<std::int64_t>(in.below(20000)));
  c.max_batch_size = static_cast<int>(in.below(9));  // 0: limited by KV only
  c.max_step_tokens =
      (flags & 0x10U) != 0 ? tokens(1 + static_cast<std::int64_t>(in.below(2048))) : tokens(0);
  return c;
}

rtlm::scheduler_config config_in(byte_source& in) {
  rtlm::scheduler_config c;
  c.policy = rtlm::all_policy_kinds[in.below(rtlm::all_policy_kinds.size())];
  c.max_requests = max_requests;
  c.intake_capacity = 16;
  c.cancel_capacity = 8;
  c.intake_shards = 1;
  c.solver_max_tokens = tokens(2048);
  c.max_step_tokens = tokens(1 + static_cast<std::int64_t>(in.below(4096)));
  c.default_output_tokens = tokens(1 + static_cast<std::int64_t>(in.below(300)));
  c.alpha_max = std::array{0.0, 0.5, 0.9}[in.below(3)];
  c.bound_level = in.flag() ? 0.9 : 0.0;
  c.max_failed_steps = 1 + static_cast<int>(in.below(3));
  c.admission = std::array{rtlm::admission_mode::accept, rtlm::admission_mode::reject,
                           rtlm::admission_mode::downgrade,
                           rtlm::admission_mode::relax_deadline}[in.below(4)];
  c.admission_length = in.flag() ? rtlm::admission_basis::expected_length
                                 : rtlm::admission_basis::expected_length_when_saturated;
  c.consolidate = in.flag();
  c.preempt_for_priority = in.flag();
  c.priority_preemption_margin = std::array{0.0, 1.0}[in.below(2)];
  c.offload.saturated_wait = seconds(static_cast<double>(in.below(4)));
  // Service-level objectives: two classes (one sheddable), each mode, and fairness between up
  // to three tenants.
  if (in.flag()) {
    c.slo.classes = {{.name = "chat", .ttft = seconds(0.05), .tpot = seconds(0.02)},
                     {.name = "batch", .time_budget = seconds(5.0), .sheddable = true}};
  }
  c.slo.relegation = std::array{rtlm::relegation_mode::off, rtlm::relegation_mode::demote,
                                rtlm::relegation_mode::shed_sheddable}[in.below(3)];
  c.slo.tpot_budget = in.flag();
  c.slo.ttft_first = in.flag();
  c.slo.min_prefill_tokens = tokens(static_cast<std::int64_t>(in.below(512)));
  c.fairness.tenants = in.below(4);
  return c;
}

// A length: mostly plausible, sometimes any 64-bit value (negative ones make a request invalid).
tokens length_in(byte_source& in, std::uint64_t plausible) {
  return in.u8() < 16 ? tokens(in.any_int())
                      : tokens(static_cast<std::int64_t>(in.below(plausible)));
}

rtlm::length_estimate estimate_in(byte_source& in) {
  return {.mean_tokens = in.mixed_double([](double u) { return 400 * u; }),
          .upper_bound = length_in(in, 1000),
          .bound_coverage = in.mixed_double([](double u) { return 0.5 + 0.49 * u; }),
          .uncertainty = in.mixed_double([](double u) { return 2 * u; })};
}

rtlm::request request_in(byte_source& in, rtlm::time_point now) {
  rtlm::request r;
  r.id = request_id{1 + in.below(id_count)};
  r.prompt_tokens = length_in(in, 3000);
  r.arrival = now;
  r.priority = static_cast<rtlm::priority_class>(in.below(4));
  const std::uint8_t parts = in.u8();
  if ((parts & 1U) != 0) {
    // Anything from now to the end of time (earlier ones make the request invalid).
    const std::int64_t room =
        std::numeric_limits<std::int64_t>::max() - now.time_since_epoch().count();
    const std::int64_t ahead =
        in.u8() < 32 ? in.any_int() % room : static_cast<std::int64_t>(in.below(20'000'000'000));
    r.deadline = now + rtlm::duration(ahead);
  }
  if ((parts & 2U) != 0) r.time_budget = seconds(in.mixed_double([](double u) { return 20 * u; }));
  if ((parts & 4U) != 0) r.max_new_tokens = length_in(in, 64);
  if ((parts & 8U) != 0) r.predicted_length = estimate_in(in);
  // Targets may be 0, negative or NaN (invalid); a class or tenant out of range is refused.
  if ((parts & 16U) != 0) r.ttft_target = seconds(in.mixed_double([](double u) { return u; }));
  if ((parts & 32U) != 0)
    r.tpot_target = seconds(in.mixed_double([](double u) { return 0.1 * u; }));
  if ((parts & 64U) != 0) r.slo_class = static_cast<std::uint32_t>(in.below(3));
  if ((parts & 128U) != 0) r.tenant = static_cast<std::uint32_t>(in.below(4));
  return r;
}

// The outcome of `plan` done right, then (sometimes) broken in one way.
void garbage_result_in(byte_source& in, const rtlm::step_plan& plan, rtlm::step_result& result) {
  result.clear();
  for (const rtlm::prefill_assignment& p : plan.prefills) {
    result.outcomes.push_back(
        {.id = p.id, .generated = tokens(p.final_chunk ? 1 : 0), .finished = in.u8() < 40});
  }
  for (const rtlm::decode_assignment& d : plan.decodes) {
    result.outcomes.push_back({.id = d.id, .generated = tokens(1), .finished = in.u8() < 40});
  }
  result.step_time = seconds(0.001 * static_cast<double>(in.below(100)));
  // Sometimes the prefills timed apart: a share of the step.
  if (!plan.prefills.empty() && in.flag())
    result.prefill_time = result.step_time * (static_cast<double>(in.below(101)) / 100.0);
  const std::uint8_t damage = in.u8();
  if (damage < 128) return;  // a clean result
  const auto victim = [&]() -> rtlm::request_outcome& {
    return result.outcomes[in.below(result.outcomes.size())];
  };
  switch (damage % 8) {
    case 0:
      result.step_time = seconds(in.any_double());
      if (in.flag()) result.prefill_time = seconds(in.any_double());
      break;
    case 1:
      result.outcomes.push_back({.id = request_id{in.bits(8)}, .generated = tokens(in.any_int())});
      break;
    case 2:
      if (!result.outcomes.empty()) result.outcomes.pop_back();
      break;
    case 3:
      if (!result.outcomes.empty()) victim().id = request_id{1 + in.below(id_count)};
      break;
    case 4:
      if (!result.outcomes.empty()) victim().generated = tokens(in.any_int());
      break;
    case 5:  // several tokens in a step (speculative decoding), a plausible count
      if (!result.outcomes.empty())
        victim().generated = tokens(static_cast<std::int64_t>(in.below(8)));
      break;
    case 6:
      if (!result.outcomes.empty()) victim().finished = !victim().finished;
      break;
    case 7:
      result.outcomes.clear();
      break;
  }
}

step_status status_in(byte_source& in) {
  const std::uint8_t s = in.u8();
  if (s < 200) return step_status::ok;
  return std::array{step_status::unsupported, step_status::backend_failure,
                    step_status::invalid_result}[s % 3];
}

void check_report(const rtlm::step_report& report, bool honest) {
  RTLM_FUZZ_CHECK(report.finished <= report.computed);
  RTLM_FUZZ_CHECK(report.status != step_status::ok || report.affected.empty());
  if (honest && report.status != step_status::ok) {
    // The fake backend refused the plan, or the scheduler refused the fake's result.
    std::fprintf(stderr, "step failed: %.*s\n",  // NOLINT(*-vararg)
                 static_cast<int>(report.error.size()), report.error.data());
    RTLM_FUZZ_CHECK(report.status == step_status::ok);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_source in({data, size});
  // Honest: every step runs on its fake backend, which checks each plan against the step_plan
  // contract, so any failed step is a scheduler bug. Otherwise steps may also be completed with
  // garbage, after which the fakes' view of the requests no longer matches the scheduler's.
  const bool honest = in.flag();
  const std::size_t backend_count = in.flag() ? 2 : 1;

  const rtlm::timebill_estimator estimator(
      {.a = 1e-9, .b = 5e-5, .c = 0.01, .p = 2e-6, .q = 0.008});
  std::vector<std::unique_ptr<relay_backend>> backends;
  rtlm::scheduler scheduler(config_in(in));
  for (std::size_t b = 0; b < backend_count; ++b) {
    rtlm::testing::fake_backend_config fake;
    fake.capabilities = capabilities_in(in, b);
    fake.default_output_length = tokens(1 + static_cast<std::int64_t>(in.below(16)));
    if (in.flag()) {  // a backend that times its prefills apart: 4 of its 10 ms
      fake.prefill_time = [](const rtlm::step_plan&) {
        return std::optional<seconds>(seconds(0.004));
      };
    }
    backends.push_back(std::make_unique<relay_backend>(fake));
    scheduler.add_backend(*backends.back(), estimator);
  }
  ledger events;
  if (in.u8() < 32) events.calls_back = &scheduler;
  scheduler.set_observer(&events);
  std::size_t threads = 0;  // second threads started: a few per input, they are slow

  rtlm::time_point now{};
  std::map<std::uint64_t, std::size_t> accepted;  // per id
  std::size_t accepted_total = 0;
  rtlm::step_result garbage;
  for (std::size_t op = 0; op < max_operations && !in.empty(); ++op) {
    const std::size_t b = in.below(backend_count);
    switch (in.u8() % 8) {
      case 0: {
        if (accepted_total == max_accepted) break;
        rtlm::request r = request_in(in, now);
        const std::uint64_t id = rtlm::to_integer(r.id);
        const tokens output = tokens(1 + static_cast<std::int64_t>(in.below(40)));
        bool well_formed = true;
        try {
          r.validate();
          scheduler.config().validate_request(r);
        } catch (const rtlm::error&) {
          well_formed = false;
        }
        const rtlm::submit_status status = scheduler.submit(r);
        RTLM_FUZZ_CHECK((status == rtlm::submit_status::invalid) == !well_formed);
        if (status == rtlm::submit_status::accepted) {
          ++accepted[id];
          ++accepted_total;
          for (auto& relay : backends) relay->fake.set_output_length(request_id{id}, output);
        }
        break;
      }
      case 1:
        static_cast<void>(scheduler.cancel(request_id{1 + in.below(id_count)}));
        break;
      case 2: {
        const rtlm::step_report report = scheduler.step(b, now);
        check_report(report, honest);
        now += std::chrono::duration_cast<rtlm::duration>(report.measured);
        break;
      }
      case 3: {
        if (honest) break;
        const rtlm::step_plan& plan = scheduler.plan_step(b, now);
        // A plan never reserves more KV than the backend has (step() asserts the same inside,
        // RTLM_ENABLE_ASSERT being on; between steps a decode's growth may exceed it).
        RTLM_FUZZ_CHECK(scheduler.reserved_kv(b) <=
                        backends[b]->capabilities().usable_kv_capacity());
        garbage_result_in(in, plan, garbage);
        check_report(scheduler.complete_step(b, status_in(in), garbage, now), false);
        break;
      }
      case 4:
        static_cast<void>(
            scheduler.update_prediction(request_id{1 + in.below(id_count)}, estimate_in(in)));
        break;
      case 5:
        now += std::chrono::milliseconds(in.below(2000));
        break;
      case 6:  // the backend calls the scheduler back from inside its step
        backends[b]->hook = [&scheduler, b, now] {
          expect_refused([&] { scheduler.step(b, now); });
          expect_refused([&] { scheduler.complete_step(b, step_status::ok, {}, now); });
        };
        break;
      case 7:  // a second thread steps while the first is inside the backend
        if (threads == 4) break;
        ++threads;
        backends[b]->hook = [&scheduler, b, now] {
          std::thread second([&] { expect_refused([&] { scheduler.plan_step(b, now); }); });
          second.join();
        };
        break;
    }
  }
  // One more step on each backend takes in whatever the intake still holds.
  for (std::size_t b = 0; b < backend_count; ++b) {
    check_report(scheduler.step(b, now), honest);
  }

  std::size_t live = 0;
  for (std::uint64_t id = 1; id <= id_count; ++id) {
    const ledger::life& l = events.lives[id];
    RTLM_FUZZ_CHECK(l.queued + l.rejected == accepted[id]);  // every submission taken in
    RTLM_FUZZ_CHECK(l.queued == l.ended + (l.live ? 1 : 0));
    RTLM_FUZZ_CHECK(l.live == (scheduler.find(request_id{id}) != nullptr));
    live += l.live ? 1 : 0;
  }
  RTLM_FUZZ_CHECK(scheduler.live_requests() == live);
  std::size_t held = 0;
  for (std::size_t b = 0; b < backend_count; ++b) {
    held += scheduler.waiting(b) + scheduler.running(b) + scheduler.swapped_out(b);
    RTLM_FUZZ_CHECK(scheduler.reserved_kv(b).count() >= 0);
  }
  RTLM_FUZZ_CHECK(held == live);
  return 0;
}
