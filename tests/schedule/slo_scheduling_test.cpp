// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// The scheduler serving TTFT and TPOT objectives, SLO classes, relegation and fairness between
// tenants, end to end over a fake backend timed by the estimator the scheduler plans with.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::request_event_kind;
using rtlm::request_event_reason;
using rtlm::request_id;

constexpr rtlm::time_point t0{};

double since_start(rtlm::time_point t) { return std::chrono::duration<double>(t - t0).count(); }

// Every event in order, with the request's progress and tenant at the time.
struct recorder final : rtlm::scheduler_observer {
  struct entry {
    rtlm::request_event event;
    rtlm::request_progress progress;
    std::uint32_t tenant = 0;
  };
  std::vector<entry> events;
  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    events.push_back({e, r.progress, r.tenant});
  }
  [[nodiscard]] std::vector<request_id> ids(request_event_kind kind) const {
    std::vector<request_id> out;
    for (const entry& e : events) {
      if (e.event.kind == kind) out.push_back(e.event.id);
    }
    return out;
  }
  [[nodiscard]] std::optional<entry> last(request_id id, request_event_kind kind) const {
    std::optional<entry> out;
    for (const entry& e : events) {
      if (e.event.id == id && e.event.kind == kind) out = e;
    }
    return out;
  }
};

rtlm::request make_request(std::uint64_t id, rtlm::tokens prompt) {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = prompt;
  r.arrival = t0;
  return r;
}

rtlm::length_estimate exactly(double mean) {
  return {.mean_tokens = mean,
          .upper_bound = rtlm::tokens(static_cast<std::int64_t>(mean)),
          .bound_coverage = 0.9};
}

// A scheduler over one fake backend whose steps take what the scheduler's estimator predicts,
// so that the plan's timing is exact.
class slo_test : public ::testing::Test {
 protected:
  // A fresh scheduler at time 0 with no events recorded (tests that compare two runs make two).
  void make(rtlm::scheduler_config config, int max_batch = 0) {
    events_.events.clear();
    now_ = t0;
    config.max_requests = 256;
    config.intake_capacity = 256;
    config.intake_shards = 1;
    config.solver_max_tokens = 4096_tok;
    config.max_step_tokens = 2048_tok;
    rtlm::testing::fake_backend_config b;
    b.capabilities.name = "gpu0";
    b.capabilities.kv_capacity = 1'000'000_tok;
    b.capabilities.max_batch_size = max_batch;
    b.default_output_length = 4_tok;
    const rtlm::test::linear_estimator* e = &estimator_;
    b.step_time = [e](const rtlm::step_plan& p) {
      double t = 0.0;
      for (const rtlm::prefill_assignment& a : p.prefills) {
        t += e->prefill_time(a.new_tokens, a.computed_tokens).count();
      }
      if (!p.decodes.empty()) {
        std::vector<rtlm::tokens> kv;
        for (const rtlm::decode_assignment& d : p.decodes) kv.push_back(d.kv_length);
        t += e->decode_time(kv).count();
      }
      return rtlm::seconds(t);
    };
    backend_.emplace(std::move(b));
    scheduler_.emplace(config);
    scheduler_->add_backend(*backend_, estimator_);
    scheduler_->set_observer(&events_);
  }

  void submit(rtlm::request r, rtlm::tokens output) {
    backend_->set_output_length(r.id, output);
    ASSERT_EQ(scheduler_->submit(r), rtlm::submit_status::accepted);
  }

  void run_to_completion(int limit = 20000) {
    for (int i = 0, idle = 0; i < limit && idle < 2; ++i) {
      const rtlm::step_report report = scheduler_->step(0, now_);
      ASSERT_EQ(report.status, rtlm::step_status::ok) << report.error;
      now_ += std::chrono::duration_cast<rtlm::duration>(report.measured);
      idle = scheduler_->live_requests() == 0 ? idle + 1 : 0;
    }
  }

  // Request `id`'s time per output token after the first, seconds.
  [[nodiscard]] double tpot(std::uint64_t id) const {
    const auto done = events_.last(request_id{id}, request_event_kind::finished);
    EXPECT_TRUE(done.has_value());
    if (!done) return std::numeric_limits<double>::quiet_NaN();
    const double first = since_start(*done->progress.first_token_time);
    const auto n = static_cast<double>(done->progress.generated.count());
    return (since_start(done->event.at) - first) / (n - 1.0);
  }

  rtlm::test::linear_estimator estimator_;
  std::optional<rtlm::testing::fake_backend> backend_;
  std::optional<rtlm::scheduler> scheduler_;
  recorder events_;
  rtlm::time_point now_ = t0;
};

// An interactive request (TPOT target 30 ms, 60 tokens) while ten long prompts arrive behind
// it: a step that prefills 2,000 tokens takes 210 ms here.
class tpot_target_test : public slo_test {
 protected:
  void run(bool tpot_budget) {
    rtlm::scheduler_config config;
    config.policy = rtlm::policy_kind::first_come_first_served;
    config.admission = rtlm::admission_mode::accept;
    config.slo.tpot_budget = tpot_budget;
    config.slo.min_prefill_tokens = 256_tok;
    make(config);
    rtlm::request chat = make_request(1, 10_tok);
    chat.tpot_target = rtlm::seconds(0.030);
    chat.predicted_length = exactly(60);
    submit(chat, 60_tok);
    for (std::uint64_t id = 2; id <= 11; ++id) {
      rtlm::request long_prompt = make_request(id, 1500_tok);
      long_prompt.predicted_length = exactly(4);
      submit(long_prompt, 4_tok);
    }
    run_to_completion();
  }
};

TEST_F(tpot_target_test, the_step_budget_holds_a_tpot_target_the_default_budget_breaks) {
  run(false);
  EXPECT_GT(tpot(1), 0.030);  // the long prompts' chunks share its steps
  run(true);
  EXPECT_LE(tpot(1), 0.030);
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 11U);  // the prompts still run
}

TEST_F(slo_test, relegation_refuses_a_sheddable_class_and_demotes_the_others) {
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  config.slo.classes = {{.name = "chat", .ttft = rtlm::seconds(1e-3)},
                        {.name = "scrape", .ttft = rtlm::seconds(1e-3), .sheddable = true}};
  config.slo.relegation = rtlm::relegation_mode::shed_sheddable;
  make(config, 1);
  // A 100-token prompt takes 20 ms to prefill: neither class's 1 ms TTFT can be met.
  rtlm::request chat = make_request(1, 100_tok);
  chat.slo_class = 0;
  rtlm::request scrape = make_request(2, 100_tok);
  scrape.slo_class = 1;
  submit(chat, 4_tok);
  submit(scrape, 4_tok);
  submit(make_request(3, 100_tok), 4_tok);  // no objective: nothing to relegate
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::relegated), std::vector<request_id>{request_id{1}});
  const auto refused = events_.last(request_id{2}, request_event_kind::rejected);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->event.reason, request_event_reason::slo_unattainable);
  // The relegated request runs after the one that arrived after it.
  EXPECT_EQ(events_.ids(request_event_kind::admitted),
            (std::vector<request_id>{request_id{3}, request_id{1}}));
}

TEST_F(slo_test, demote_keeps_a_sheddable_request_and_off_relegates_nothing) {
  for (const auto mode : {rtlm::relegation_mode::demote, rtlm::relegation_mode::off}) {
    rtlm::scheduler_config config;
    config.slo.classes = {{.name = "scrape", .ttft = rtlm::seconds(1e-3), .sheddable = true}};
    config.slo.relegation = mode;
    make(config, 1);
    rtlm::request scrape = make_request(1, 100_tok);
    scrape.slo_class = 0;
    submit(scrape, 4_tok);
    run_to_completion();
    EXPECT_EQ(events_.ids(request_event_kind::relegated).size(),
              mode == rtlm::relegation_mode::demote ? 1U : 0U);
    EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 1U);
  }
}

TEST_F(slo_test, a_request_whose_ttft_passes_while_it_waits_is_relegated_at_the_head) {
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  config.slo.relegation = rtlm::relegation_mode::demote;
  make(config, 1);
  submit(make_request(1, 10_tok), 50_tok);  // holds the only place for 50 steps
  rtlm::request chat = make_request(2, 10_tok);
  chat.ttft_target = rtlm::seconds(0.2);  // 11 ms to prefill, but 50 steps of 10.5 ms first
  submit(chat, 4_tok);
  submit(make_request(3, 10_tok), 4_tok);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::relegated), std::vector<request_id>{request_id{2}});
  EXPECT_EQ(events_.ids(request_event_kind::admitted),
            (std::vector<request_id>{request_id{1}, request_id{3}, request_id{2}}));
}

TEST_F(slo_test, a_class_fills_the_objectives_its_request_leaves_unset) {
  rtlm::scheduler_config config;
  config.slo.classes = {
      {.name = "batch", .ttft = rtlm::seconds(2.0), .time_budget = rtlm::seconds(600.0)}};
  make(config);
  rtlm::request r = make_request(1, 10_tok);
  r.slo_class = 0;
  r.ttft_target = rtlm::seconds(0.5);  // its own, kept
  submit(r, 40_tok);
  scheduler_->plan_step(0, now_);
  const rtlm::request* held = scheduler_->find(request_id{1});
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->ttft_target, rtlm::seconds(0.5));
  EXPECT_EQ(held->time_budget, rtlm::seconds(600.0));
  EXPECT_FALSE(held->tpot_target.has_value());
}

TEST_F(slo_test, submit_refuses_objectives_classes_and_tenants_that_cannot_be) {
  rtlm::scheduler_config config;
  config.slo.classes = {{.name = "chat"}};
  config.fairness.tenants = 2;
  make(config);
  const auto refused = [&](rtlm::request r, const std::string& field) {
    EXPECT_EQ(scheduler_->submit(r), rtlm::submit_status::invalid) << field;
    try {
      r.validate();
      scheduler_->config().validate_request(r);
      ADD_FAILURE() << field << " was not refused";
    } catch (const rtlm::error& e) {
      EXPECT_EQ(e.field(), field);
    }
  };
  rtlm::request r = make_request(1, 10_tok);
  r.tpot_target = rtlm::seconds(0.0);
  refused(r, "request.tpot_target");
  r = make_request(1, 10_tok);
  r.ttft_target = rtlm::seconds(std::numeric_limits<double>::quiet_NaN());
  refused(r, "request.ttft_target");
  r = make_request(1, 10_tok);
  r.slo_class = 1;
  refused(r, "request.slo_class");
  r = make_request(1, 10_tok);
  r.tenant = 2;
  refused(r, "request.tenant");
  r = make_request(1, 10_tok);
  r.slo_class = 0;
  r.tenant = 1;
  EXPECT_EQ(scheduler_->submit(r), rtlm::submit_status::accepted);
}

TEST(slo_config, names_the_field_of_a_bad_class_or_setting) {
  const auto field_of = [](const rtlm::scheduler_config& c) {
    try {
      c.validate();
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return std::string("none");
  };
  rtlm::scheduler_config c;
  c.slo.classes = {{.name = ""}};
  EXPECT_EQ(field_of(c), "scheduler_config.slo.classes[0].name");
  c.slo.classes = {{.name = "a"}, {.name = "a"}};
  EXPECT_EQ(field_of(c), "scheduler_config.slo.classes[1].name");
  c.slo.classes = {{.name = "a", .tpot = rtlm::seconds(0.0)}};
  EXPECT_EQ(field_of(c), "scheduler_config.slo.classes[0].tpot");
  c.slo.classes = {{.name = "a", .time_budget = rtlm::seconds(-1.0)}};
  EXPECT_EQ(field_of(c), "scheduler_config.slo.classes[0].time_budget");
  c.slo.classes.clear();
  c.slo.tpot_headroom = 0.0;
  EXPECT_EQ(field_of(c), "scheduler_config.slo.tpot_headroom");
  c.slo.tpot_headroom = 0.9;
  c.fairness.tenants = 65;
  EXPECT_EQ(field_of(c), "scheduler_config.fairness.tenants");
  c.fairness.tenants = 2;
  c.fairness.tenant_weights = {1.0};
  EXPECT_EQ(field_of(c), "scheduler_config.fairness.tenant_weights");
  c.fairness.tenant_weights = {1.0, 0.0};
  EXPECT_EQ(field_of(c), "scheduler_config.fairness.tenant_weights[1]");
  c.fairness.tenant_weights.clear();
  c.fairness.decode_weight = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(field_of(c), "scheduler_config.fairness.decode_weight");
}

// A heavy tenant floods a batch of one with 40 requests before a light tenant's 10 arrive; each
// request costs U = 10 prompt + 2 x 10 output = 30 virtual tokens.
class tenant_fairness_test : public slo_test {
 protected:
  // The largest gap between the tenants' service (virtual tokens admitted so far, each request
  // charged whole when admitted) while both have requests waiting.
  double largest_gap(bool fair) {
    rtlm::scheduler_config config;
    config.policy = rtlm::policy_kind::first_come_first_served;
    if (fair) config.fairness.tenants = 2;
    make(config, 1);
    std::uint64_t id = 1;
    for (int i = 0; i < 40; ++i) submit(request_of(id++, 0), 10_tok);
    for (int i = 0; i < 10; ++i) submit(request_of(id++, 1), 10_tok);
    run_to_completion();
    std::map<std::uint32_t, double> service;
    std::map<std::uint32_t, int> admitted;
    double gap = 0.0;
    for (const recorder::entry& e : events_.events) {
      if (e.event.kind != request_event_kind::admitted) continue;
      service[e.tenant] += 30.0;
      ++admitted[e.tenant];
      if (admitted[1] < 10) gap = std::max(gap, std::abs(service[0] - service[1]));
    }
    EXPECT_EQ(admitted[0], 40);
    EXPECT_EQ(admitted[1], 10);
    return gap;
  }
  static rtlm::request request_of(std::uint64_t id, std::uint32_t tenant) {
    rtlm::request r = make_request(id, 10_tok);
    r.tenant = tenant;
    return r;
  }
};

TEST_F(tenant_fairness_test, a_backlogged_light_tenant_gets_its_share_within_twice_a_request) {
  // VTC's bound: backlogged tenants' service differs by at most 2 U.
  EXPECT_LE(largest_gap(true), 2 * 30.0);
  EXPECT_GT(largest_gap(false), 2 * 30.0 * 10);  // FCFS serves the flood first
}

}  // namespace
