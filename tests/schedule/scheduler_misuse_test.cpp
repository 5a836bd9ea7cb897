// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
// Misuse of the scheduler fails loudly and leaves it intact: calls back into it from its own
// observer or backend, calls from a second thread while one is inside, times off the timeline,
// a backend that never makes progress, KV that outgrows the backend, results that break the plan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rtlm/core/usage_error.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::request_event_kind;
using rtlm::request_event_reason;
using rtlm::request_id;
using rtlm::step_status;

constexpr rtlm::time_point t0{};

rtlm::request make_request(std::uint64_t id, rtlm::tokens prompt) {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = prompt;
  r.arrival = t0;
  return r;
}

rtlm::scheduler_config small_config() {
  rtlm::scheduler_config c;
  c.max_requests = 64;
  c.intake_capacity = 64;
  c.intake_shards = 1;
  c.solver_max_tokens = 4096_tok;
  c.policy = rtlm::policy_kind::first_come_first_served;
  return c;
}

// Counts each request's endings (finished, rejected, failed, cancelled) and keeps the last
// reason; may run a hook inside on_event (which must not throw).
struct ending_counter : rtlm::scheduler_observer {
  std::map<std::uint64_t, int> endings;
  std::map<std::uint64_t, request_event_reason> reasons;
  std::map<std::uint64_t, request_event_kind> kinds;
  std::function<void()> hook;
  void on_event(const rtlm::request_event& e, const rtlm::request& /*r*/) noexcept override {
    const bool ends =
        e.kind == request_event_kind::finished || e.kind == request_event_kind::rejected ||
        e.kind == request_event_kind::failed || e.kind == request_event_kind::cancelled;
    if (ends) {
      ++endings[rtlm::to_integer(e.id)];
      reasons[rtlm::to_integer(e.id)] = e.reason;
      kinds[rtlm::to_integer(e.id)] = e.kind;
    }
    if (hook) hook();
  }
};

// A backend that runs `inner` and, before each step, runs `before` (a call back into the
// scheduler, or a wait).
class hooked_backend final : public rtlm::model_backend {
 public:
  explicit hooked_backend(rtlm::testing::fake_backend& inner) : inner_(inner) {}
  [[nodiscard]] const rtlm::backend_capabilities& capabilities() const noexcept override {
    return inner_.capabilities();
  }
  std::function<void()> before;

 private:
  void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
    if (before) before();
    if (inner_.execute(plan, result) != step_status::ok) {
      throw std::runtime_error(inner_.last_error());
    }
  }
  rtlm::testing::fake_backend& inner_;
};

// A backend whose steps succeed and never emit a token.
class stalled_backend final : public rtlm::model_backend {
 public:
  [[nodiscard]] const rtlm::backend_capabilities& capabilities() const noexcept override {
    return caps_;
  }

 private:
  void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
    for (const rtlm::prefill_assignment& p : plan.prefills) result.outcomes.push_back({.id = p.id});
    for (const rtlm::decode_assignment& d : plan.decodes) result.outcomes.push_back({.id = d.id});
    result.step_time = rtlm::seconds(0.01);
  }
  rtlm::backend_capabilities caps_{.name = "stalled", .kv_capacity = 100'000_tok};
};

rtlm::testing::fake_backend_config fake_config(rtlm::tokens kv, bool can_preempt = true) {
  rtlm::testing::fake_backend_config c;
  c.capabilities.kv_capacity = kv;
  c.capabilities.can_preempt_recompute = can_preempt;
  c.capabilities.can_preempt_swap = can_preempt;
  c.default_output_length = 4_tok;
  return c;
}

// Steps backend 0 until nothing is live (at most `limit` steps); returns the steps taken.
int drain(rtlm::scheduler& s, rtlm::time_point& now, int limit = 10'000) {
  int steps = 0;
  for (; steps < limit && (s.live_requests() > 0 || s.has_work(0)); ++steps) {
    static_cast<void>(s.step(0, now));
    now += std::chrono::milliseconds(10);
  }
  return steps;
}

TEST(scheduler_misuse, an_observer_calling_back_is_refused_and_nothing_is_corrupted) {
  rtlm::scheduler s(small_config());
  rtlm::testing::fake_backend fake(fake_config(100'000_tok));
  const rtlm::test::linear_estimator estimator;
  s.add_backend(fake, estimator);
  ending_counter events;
  std::vector<std::string> refusals;
  events.hook = [&] {
    try {
      s.plan_step(0, t0);  // what a host might try: plan again from inside an event
    } catch (const rtlm::usage_error& e) {
      refusals.emplace_back(e.what());
    }
    try {
      s.step(0, t0);
    } catch (const rtlm::usage_error& e) {
      refusals.emplace_back(e.what());
    }
  };
  s.set_observer(&events);
  for (std::uint64_t id = 1; id <= 20; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  }
  rtlm::time_point now = t0;
  drain(s, now);
  ASSERT_FALSE(refusals.empty());
  EXPECT_NE(refusals.front().find("rtlm::scheduler::plan_step: called from inside another call"),
            std::string::npos)
      << refusals.front();
  EXPECT_EQ(events.endings.size(), 20U);
  for (const auto& [id, n] : events.endings) {
    EXPECT_EQ(n, 1) << "request " << id;
    EXPECT_EQ(events.kinds[id], request_event_kind::finished) << "request " << id;
  }
  EXPECT_EQ(s.reserved_kv(0), 0_tok);
}

TEST(scheduler_misuse_death, an_observer_that_lets_the_refusal_escape_terminates_loudly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        rtlm::scheduler s(small_config());
        rtlm::testing::fake_backend fake(fake_config(100'000_tok));
        const rtlm::test::linear_estimator estimator;
        s.add_backend(fake, estimator);
        struct calls_back final : rtlm::scheduler_observer {
          rtlm::scheduler* s = nullptr;
          void on_event(const rtlm::request_event&, const rtlm::request&) noexcept override {
            s->plan_step(0, t0);  // throws usage_error inside noexcept: std::terminate
          }
        } observer;
        observer.s = &s;
        s.set_observer(&observer);
        rtlm::request r = make_request(1, 10_tok);
        s.submit(r);
        s.plan_step(0, t0);
      },
      "rtlm::scheduler::plan_step: called from inside another call");
}

TEST(scheduler_misuse, a_backend_calling_back_fails_its_step_with_the_message) {
  rtlm::scheduler s(small_config());
  rtlm::testing::fake_backend fake(fake_config(100'000_tok));
  hooked_backend backend(fake);
  const rtlm::test::linear_estimator estimator;
  s.add_backend(backend, estimator);
  ending_counter events;
  s.set_observer(&events);
  rtlm::request r = make_request(1, 10_tok);
  ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  backend.before = [&] { s.step(0, t0); };
  const rtlm::step_report failed = s.step(0, t0);
  EXPECT_EQ(failed.status, step_status::backend_failure);
  EXPECT_NE(std::string(failed.error).find("rtlm::scheduler::step: called from inside"),
            std::string::npos)
      << failed.error;
  backend.before = nullptr;
  rtlm::time_point now = t0;
  drain(s, now);
  EXPECT_EQ(events.endings[1], 1);
  EXPECT_EQ(events.kinds[1], request_event_kind::finished);
}

TEST(scheduler_misuse, concurrent_steps_from_a_second_thread_are_refused) {
  rtlm::scheduler s(small_config());
  rtlm::testing::fake_backend fake(fake_config(100'000_tok));
  hooked_backend backend(fake);
  const rtlm::test::linear_estimator estimator;
  s.add_backend(backend, estimator);
  ending_counter events;
  s.set_observer(&events);
  for (std::uint64_t id = 1; id <= 8; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  }
  // While the first thread's step is inside the backend, a second thread steps too.
  std::atomic<bool> inside{false};
  std::atomic<bool> tried{false};
  backend.before = [&] {
    inside = true;
    while (!tried) std::this_thread::yield();
  };
  std::string refusal;
  std::thread second([&] {
    while (!inside) std::this_thread::yield();
    for (const char* which : {"step", "plan_step", "complete_step", "update_prediction"}) {
      try {
        const std::string name = which;
        if (name == "step") s.step(0, t0);
        if (name == "plan_step") s.plan_step(0, t0);
        if (name == "complete_step") s.complete_step(0, step_status::ok, {}, t0);
        if (name == "update_prediction") s.update_prediction(request_id{1}, {});
        ADD_FAILURE() << which << " ran while another thread was inside";
      } catch (const rtlm::usage_error& e) {
        if (refusal.empty()) refusal = e.what();
      }
    }
    tried = true;
  });
  const rtlm::step_report first = s.step(0, t0);
  second.join();
  EXPECT_EQ(first.status, step_status::ok) << first.error;
  EXPECT_NE(refusal.find("rtlm::scheduler::step: called while another thread is inside"),
            std::string::npos)
      << refusal;
  backend.before = nullptr;
  rtlm::time_point now = t0;
  drain(s, now);
  EXPECT_EQ(events.endings.size(), 8U);
  for (const auto& [id, n] : events.endings) EXPECT_EQ(n, 1) << "request " << id;
  EXPECT_EQ(s.reserved_kv(0), 0_tok);
}

TEST(scheduler_misuse, times_off_the_timeline_and_unknown_backends_are_named) {
  rtlm::scheduler s(small_config());
  rtlm::testing::fake_backend fake(fake_config(100'000_tok));
  const rtlm::test::linear_estimator estimator;
  s.add_backend(fake, estimator);
  const auto field_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return "";
  };
  EXPECT_EQ(field_of([&] { s.plan_step(0, rtlm::time_point::max()); }), "now");
  EXPECT_EQ(field_of([&] { s.step(0, rtlm::time_point::min()); }), "now");
  EXPECT_EQ(field_of([&] { s.complete_step(0, step_status::ok, {}, rtlm::time_point::max()); }),
            "now");
  EXPECT_EQ(field_of([&] { s.step(1, t0); }), "backend");
  // Nothing changed: the scheduler still serves.
  rtlm::request r = make_request(1, 10_tok);
  r.arrival = rtlm::time_point(std::chrono::hours(24 * 365 * 200));  // 200 years on
  EXPECT_EQ(s.submit(r), rtlm::submit_status::invalid);
  EXPECT_EQ(rtlm::invalid_request_field(r), "request.arrival");
  r.arrival = t0;
  EXPECT_EQ(s.submit(r), rtlm::submit_status::accepted);
  rtlm::time_point now = t0;
  drain(s, now);
  EXPECT_EQ(s.live_requests(), 0U);
}

TEST(scheduler_misuse, a_backend_that_never_makes_progress_fails_the_request) {
  rtlm::scheduler_config config = small_config();
  config.max_stalled_steps = 5;
  rtlm::scheduler s(config);
  stalled_backend backend;
  const rtlm::test::linear_estimator estimator;
  s.add_backend(backend, estimator);
  ending_counter events;
  s.set_observer(&events);
  rtlm::request r = make_request(1, 10_tok);
  ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  rtlm::time_point now = t0;
  // The prefill's step and three decodes emit nothing: still running; the fifth step fails it.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(s.step(0, now).status, step_status::ok);
  EXPECT_EQ(s.running(0), 1U);
  const rtlm::step_plan& last = s.plan_step(0, now);
  ASSERT_EQ(last.decodes.size(), 1U);
  rtlm::step_result result;
  result.outcomes.push_back({.id = request_id{1}});
  result.step_time = rtlm::seconds(0.01);
  s.complete_step(0, step_status::ok, result, now);
  EXPECT_EQ(s.running(0), 0U);
  EXPECT_EQ(events.endings[1], 1);
  EXPECT_EQ(events.kinds[1], request_event_kind::failed);
  EXPECT_EQ(events.reasons[1], request_event_reason::no_progress);
  EXPECT_EQ(s.plan_step(0, now).releases, std::vector<request_id>{request_id{1}});
}

TEST(scheduler_misuse, kv_that_outgrows_the_backend_is_never_planned) {
  // No prediction: the scheduler reserves 10 + 100 tokens (256 where it can preempt); the answer
  // runs to 5,000 on a backend of 1,000, and beside it a request that fits.
  for (const bool can_preempt : {true, false}) {
    rtlm::scheduler_config config = small_config();
    config.max_output_tokens = 100_tok;  // the growth reserved where it cannot preempt
    rtlm::scheduler s(config);
    rtlm::testing::fake_backend fake(fake_config(1000_tok, can_preempt));
    const rtlm::test::linear_estimator estimator;
    s.add_backend(fake, estimator);
    ending_counter events;
    s.set_observer(&events);
    rtlm::request big = make_request(1, 10_tok);
    ASSERT_EQ(s.submit(big), rtlm::submit_status::accepted);
    fake.set_output_length(request_id{1}, 5000_tok);
    rtlm::request small = make_request(2, 10_tok);
    ASSERT_EQ(s.submit(small), rtlm::submit_status::accepted);
    fake.set_output_length(request_id{2}, 50_tok);
    rtlm::time_point now = t0;
    for (int i = 0; i < 3000 && (i == 0 || s.live_requests() > 0); ++i) {
      const rtlm::step_plan& plan = s.plan_step(0, now);
      rtlm::tokens planned_kv = 0_tok;
      for (const rtlm::decode_assignment& d : plan.decodes) planned_kv += d.kv_length + 1_tok;
      ASSERT_LE(planned_kv, 1000_tok) << "step " << i << (can_preempt ? "" : " (no preemption)");
      ASSERT_LE(s.reserved_kv(0), 1000_tok);
      rtlm::step_result result;
      const step_status status = fake.execute(plan, result);
      ASSERT_EQ(status, step_status::ok) << fake.last_error();  // the fake enforces its KV too
      s.complete_step(0, status, result, now);
      now += std::chrono::milliseconds(10);
    }
    EXPECT_EQ(events.endings[1], 1);
    EXPECT_EQ(events.kinds[1], request_event_kind::failed);
    EXPECT_EQ(events.reasons[1], request_event_reason::kv_exhausted);
    EXPECT_EQ(events.kinds[2], request_event_kind::finished);
  }
}

TEST(scheduler_misuse, a_finish_on_a_non_final_prefill_chunk_is_an_invalid_result) {
  rtlm::scheduler_config config = small_config();
  config.max_step_tokens = 64_tok;  // a 100-token prompt takes two chunks
  rtlm::scheduler s(config);
  rtlm::testing::fake_backend fake(fake_config(100'000_tok));
  const rtlm::test::linear_estimator estimator;
  s.add_backend(fake, estimator);
  rtlm::request r = make_request(1, 100_tok);
  ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  const rtlm::step_plan& plan = s.plan_step(0, t0);
  ASSERT_EQ(plan.prefills.size(), 1U);
  ASSERT_FALSE(plan.prefills[0].final_chunk);
  rtlm::step_result result;
  result.outcomes.push_back({.id = request_id{1}, .generated = 0_tok, .finished = true});
  result.step_time = rtlm::seconds(0.01);
  const rtlm::step_report report = s.complete_step(0, step_status::ok, result, t0);
  EXPECT_EQ(report.status, step_status::invalid_result);
  EXPECT_EQ(report.error, "a non-final prefill chunk says finished");
  EXPECT_EQ(s.live_requests(), 1U);  // not taken as a finish
}

}  // namespace
