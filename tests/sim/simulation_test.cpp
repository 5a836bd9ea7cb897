// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/simulation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/sim/serving_metrics.hpp"
#include "rtlm/sim/svg_plot.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;

// Uniform (0, 1) numbers from SplitMix64: the same on every platform.
class uniform_source {
 public:
  explicit uniform_source(std::uint64_t seed) : state_(seed) {}
  double next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    z ^= z >> 31U;
    return (static_cast<double>(z >> 11U) + 0.5) / 9007199254740992.0;
  }

 private:
  std::uint64_t state_;
};

// Poisson arrivals at `rate` per second.
rtlm::sim::trace poisson_trace(std::size_t n, double rate, rtlm::tokens prompt, rtlm::tokens output,
                               std::uint64_t seed) {
  uniform_source u(seed);
  rtlm::sim::trace t;
  double now = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    t.requests.push_back({.arrival = now, .prompt = prompt, .output = output});
    now += -std::log(u.next()) / rate;
  }
  return t;
}

rtlm::sim::backend_spec single_server(const rtlm::step_time_estimator& e) {
  rtlm::sim::backend_spec b;
  b.config.capabilities.name = "server";
  b.config.capabilities.kv_capacity = 1'000'000_tok;
  b.config.capabilities.max_batch_size = 1;
  b.config.capabilities.can_preempt_recompute = true;
  b.estimator = &e;
  return b;
}

TEST(simulation, an_md1_queue_has_the_pollaczek_khinchine_mean_wait) {
  // One server, one request at a time, each a single 100 ms prefill step (one output token):
  // M/D/1 with rho = 0.5. Mean wait in queue = rho * D / (2 (1 - rho)) = 50 ms.
  rtlm::test::linear_estimator e;
  e.prefill_fixed = 0.100;
  e.prefill_per_token = 0.0;
  rtlm::sim::simulation_config config;
  config.scheduler.policy = rtlm::policy_kind::first_come_first_served;
  config.backends = {single_server(e)};
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  const rtlm::sim::trace t = poisson_trace(40'000, 5.0, 10_tok, 1_tok, 7);
  const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config);
  const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(r);
  ASSERT_EQ(m.finished, t.requests.size());
  double wait = 0.0;
  for (const rtlm::sim::request_record& rec : r.records) wait += rec.admitted - rec.arrival;
  wait /= static_cast<double>(r.records.size());
  // 40,000 arrivals: the estimate's standard error is about 1 ms; 5 ms is 5 standard errors.
  EXPECT_NEAR(wait, 0.050, 0.005);
  EXPECT_NEAR(m.mean_latency, 0.150, 0.005);
  EXPECT_NEAR(m.utilization, 0.5, 0.02);
}

// A mixed workload: two GPUs and a CPU, tight KV (preemption), deadlines (some rejected).
rtlm::sim::simulation_config mixed_config(const rtlm::step_time_estimator& gpu,
                                          const rtlm::step_time_estimator& cpu) {
  rtlm::sim::simulation_config config;
  config.scheduler.policy = rtlm::policy_kind::least_laxity_first;
  for (int i = 0; i < 2; ++i) {
    rtlm::sim::backend_spec b;
    b.config.capabilities.name = i == 0 ? "gpu0" : "gpu1";
    b.config.capabilities.kv_capacity = 6'000_tok;
    b.config.capabilities.max_batch_size = 16;
    b.config.capabilities.can_chunk_prefill = true;
    b.config.capabilities.can_evict_kv = true;
    b.config.capabilities.can_preempt_recompute = true;
    b.config.capabilities.can_preempt_swap = i == 0;
    b.config.noise.decode = {0.9, 1.0, 1.1};
    b.config.noise.prefill = {0.95, 1.05};
    b.estimator = &gpu;
    config.backends.push_back(b);
  }
  rtlm::sim::backend_spec c;
  c.config.capabilities.name = "cpu";
  c.config.capabilities.device = rtlm::device_kind::cpu;
  c.config.capabilities.kv_capacity = 20'000_tok;
  c.config.capabilities.max_batch_size = 4;
  c.config.capabilities.can_preempt_recompute = true;
  c.estimator = &cpu;
  config.backends.push_back(c);
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::slack;
  config.deadlines.slack = 3.0;
  config.predict = [](std::size_t i, const rtlm::sim::trace_request& q) {
    // A noisy predictor: off by up to a factor of two either way.
    const double factor = 0.5 + static_cast<double>((i * 7919) % 100) / 66.0;
    const double mean = std::max(1.0, factor * static_cast<double>(q.output.count()));
    return std::optional<rtlm::length_estimate>(
        rtlm::length_estimate{.mean_tokens = mean,
                              .upper_bound = rtlm::tokens(static_cast<std::int64_t>(2 * mean)),
                              .bound_coverage = 0.9,
                              .uncertainty = 0.5});
  };
  return config;
}

rtlm::sim::trace mixed_trace() {
  uniform_source u(11);
  rtlm::sim::trace t;
  double now = 0.0;
  for (std::size_t i = 0; i < 1500; ++i) {
    const auto prompt = static_cast<std::int64_t>(20 + 1500 * u.next());
    const auto output = static_cast<std::int64_t>(1 + 300 * u.next() * u.next());
    t.requests.push_back(
        {.arrival = now, .prompt = rtlm::tokens(prompt), .output = rtlm::tokens(output)});
    now += -std::log(u.next()) / 20.0;
  }
  return t;
}

// A deadline set on the predicted length is what a client could state at arrival; on the true
// length it would hand every deadline-ordered policy the answer.
TEST(simulation, a_deadline_on_the_predicted_length_ignores_the_true_one) {
  rtlm::test::linear_estimator e;
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 10_tok, .output = 50_tok},
                {.arrival = 1.0, .prompt = 10_tok, .output = 7_tok}};
  rtlm::sim::simulation_config config;
  config.backends.push_back(single_server(e));
  config.deadlines = {.rule = rtlm::sim::deadline_rule::kind::slo,
                      .ttft = rtlm::seconds(2.0),
                      .tpot = rtlm::seconds(0.1)};
  config.predict = [](std::size_t, const rtlm::sim::trace_request&) {
    return std::optional<rtlm::length_estimate>(
        rtlm::length_estimate{.mean_tokens = 20.4, .upper_bound = 40_tok, .bound_coverage = 0.9});
  };
  const rtlm::sim::simulation_result truth = rtlm::sim::simulate(t, config);
  EXPECT_DOUBLE_EQ(truth.records[0].deadline, 0.0 + 2.0 + 0.1 * 49);
  EXPECT_DOUBLE_EQ(truth.records[1].deadline, 1.0 + 2.0 + 0.1 * 6);
  config.deadlines.on_predicted_length = true;
  const rtlm::sim::simulation_result predicted = rtlm::sim::simulate(t, config);
  EXPECT_DOUBLE_EQ(predicted.records[0].deadline, 0.0 + 2.0 + 0.1 * 19);  // 20.4 rounds to 20
  EXPECT_DOUBLE_EQ(predicted.records[1].deadline, 1.0 + 2.0 + 0.1 * 19);
  // An oracle's run judged against its competitors' deadlines: the basis, not its prediction.
  config.deadline_basis = [](std::size_t, const rtlm::sim::trace_request&) {
    return std::optional<rtlm::length_estimate>(
        rtlm::length_estimate{.mean_tokens = 30, .upper_bound = 40_tok, .bound_coverage = 0.9});
  };
  EXPECT_DOUBLE_EQ(rtlm::sim::simulate(t, config).records[0].deadline, 2.0 + 0.1 * 29);
  config.deadline_basis = nullptr;
  config.predict = nullptr;  // without a prediction, the true length
  EXPECT_DOUBLE_EQ(rtlm::sim::simulate(t, config).records[0].deadline, 2.0 + 0.1 * 49);
}

// KV on demand (vLLM V1) runs every request at once where reserving the predicted bound runs one
// at a time: four prompts of 100 tokens with bounds of 1,000 on a KV of 1,200 tokens.
TEST(simulation, kv_on_demand_runs_what_a_predicted_bound_holds_back) {
  rtlm::test::linear_estimator e;
  rtlm::sim::trace t;
  for (int i = 0; i < 4; ++i)
    t.requests.push_back({.arrival = 0.0, .prompt = 100_tok, .output = 20_tok});
  rtlm::sim::simulation_config config;
  config.backends.push_back(single_server(e));
  config.backends[0].config.capabilities.kv_capacity = 1'200_tok;
  config.backends[0].config.capabilities.max_batch_size = 8;
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  config.scheduler.policy = rtlm::policy_kind::first_come_first_served;
  config.predict = [](std::size_t, const rtlm::sim::trace_request&) {
    return std::optional<rtlm::length_estimate>(
        rtlm::length_estimate{.mean_tokens = 500, .upper_bound = 1'000_tok, .bound_coverage = 0.9});
  };
  const auto admitted_at_start = [&](rtlm::kv_reservation rule) {
    config.scheduler.kv_rule = rule;
    const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config);
    std::size_t n = 0;
    for (const rtlm::sim::request_record& x : r.records) {
      EXPECT_TRUE(x.finished());
      n += x.admitted == 0.0 ? 1 : 0;
    }
    return n;
  };
  EXPECT_EQ(admitted_at_start(rtlm::kv_reservation::predicted_bound), 1U);
  EXPECT_EQ(admitted_at_start(rtlm::kv_reservation::on_demand), 4U);
}

TEST(simulation, every_arrival_ends_exactly_once) {
  rtlm::test::linear_estimator gpu;
  gpu.decode_per_kv = 0.000002;
  rtlm::test::linear_estimator cpu;
  cpu.decode_fixed = 0.05;
  cpu.prefill_per_token = 0.001;
  const rtlm::sim::trace t = mixed_trace();
  const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, mixed_config(gpu, cpu));
  ASSERT_EQ(r.records.size(), t.requests.size());
  std::size_t finished = 0;
  std::size_t rejected = 0;
  for (const rtlm::sim::request_record& rec : r.records) {
    ASSERT_TRUE(rec.finished() || rec.outcome == rtlm::request_event_kind::rejected)
        << "request " << rec.index << " ended as " << rtlm::to_string(rec.outcome);
    if (rec.finished()) {
      ++finished;
      EXPECT_GE(rec.first_token, rec.arrival);
      EXPECT_GE(rec.finish, rec.first_token);
      EXPECT_GE(rec.admitted, rec.arrival);
    } else {
      ++rejected;
    }
  }
  EXPECT_EQ(r.repeated_endings, 0U);
  EXPECT_EQ(finished + rejected, t.requests.size());
  EXPECT_GT(finished, t.requests.size() / 2);
}

TEST(simulation, evictions_are_recorded_and_averaged) {
  // Long prompts whose KV dominates the decode step, and deadlines at 0.9x the isolated time:
  // only eviction meets them.
  rtlm::test::linear_estimator gpu;
  gpu.decode_per_kv = 0.00001;
  rtlm::sim::trace t;
  for (int i = 0; i < 10; ++i) {
    t.requests.push_back({.arrival = 5.0 * i, .prompt = 2000_tok, .output = 100_tok});
  }
  rtlm::sim::simulation_config c;
  c.backends.push_back(single_server(gpu));
  c.backends.back().config.capabilities.can_evict_kv = true;
  c.deadlines.slack = 0.9;
  const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, c);
  double sum = 0.0;
  std::size_t finished = 0;
  for (const rtlm::sim::request_record& rec : r.records) {
    ASSERT_TRUE(rec.finished());
    EXPECT_GT(rec.eviction_ratio, 0.0);
    EXPECT_LT(rec.eviction_ratio, 1.0);
    EXPECT_TRUE(rec.on_time());
    sum += rec.eviction_ratio;
    ++finished;
  }
  EXPECT_DOUBLE_EQ(rtlm::sim::summarize(r).mean_eviction, sum / static_cast<double>(finished));
}

// One sequence at a time, true lengths as predictions, shortest-predicted-first with preemption
// for priority: a 1,000-token request starts alone, a 2-token one arrives a second later,
// outranks it by nearly 10 s of key and takes its place once.
rtlm::sim::simulation_result preempted_once(bool swap, double swap_seconds_per_token) {
  static const rtlm::test::linear_estimator e;
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 100_tok, .output = 1000_tok},
                {.arrival = 1.0, .prompt = 100_tok, .output = 2_tok}};
  rtlm::sim::simulation_config c;
  c.scheduler.policy = rtlm::policy_kind::shortest_predicted_first;
  c.scheduler.preempt_for_priority = true;
  c.backends = {single_server(e)};
  c.backends[0].config.capabilities.can_preempt_swap = swap;
  c.backends[0].config.swap_seconds_per_token = swap_seconds_per_token;
  c.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  c.predict = rtlm::sim::true_length;
  return rtlm::sim::simulate(t, c);
}

TEST(simulation, preemptions_are_counted_per_request_and_in_the_metrics) {
  for (const bool swap : {false, true}) {
    const rtlm::sim::simulation_result r = preempted_once(swap, 0.0);
    ASSERT_TRUE(r.records[0].finished() && r.records[1].finished())
        << swap << rtlm::to_string(r.records[0].outcome) << rtlm::to_string(r.records[1].outcome);
    EXPECT_EQ(r.records[0].preemptions, 1U) << swap;
    EXPECT_EQ(r.records[1].preemptions, 0U) << swap;
    EXPECT_LT(r.records[1].finish, r.records[0].finish) << swap;
    EXPECT_EQ(rtlm::sim::summarize(r).preemptions, 1U) << swap;
  }
}

TEST(simulation, a_swap_saves_the_recompute_and_costs_its_copy) {
  const double recomputed = preempted_once(false, 0.0).records[0].finish;
  const double free_swap = preempted_once(true, 0.0).records[0].finish;
  const double slow_swap = preempted_once(true, 0.001).records[0].finish;
  // The recompute prefills the prompt and the ~94 tokens made before the preemption again.
  EXPECT_LT(free_swap, recomputed);
  // The copy out and back of ~194 entries at 1 ms each.
  EXPECT_GT(slow_swap, free_swap + 0.3);
  EXPECT_LT(slow_swap, free_swap + 0.5);
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

TEST(simulation, the_same_inputs_give_the_same_run) {
  rtlm::test::linear_estimator gpu;
  gpu.decode_per_kv = 0.000002;
  rtlm::test::linear_estimator cpu;
  cpu.decode_fixed = 0.05;
  const rtlm::sim::trace t = mixed_trace();
  const rtlm::sim::simulation_result a = rtlm::sim::simulate(t, mixed_config(gpu, cpu));
  const rtlm::sim::simulation_result b = rtlm::sim::simulate(t, mixed_config(gpu, cpu));
  ASSERT_EQ(a.records.size(), b.records.size());
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.simulated_seconds, b.simulated_seconds);
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    const rtlm::sim::request_record& x = a.records[i];
    const rtlm::sim::request_record& y = b.records[i];
    ASSERT_TRUE(same(x.admitted, y.admitted) && same(x.first_token, y.first_token) &&
                same(x.finish, y.finish) && same(x.deadline, y.deadline) &&
                x.outcome == y.outcome && x.backend == y.backend)
        << i;
  }
}

TEST(simulation, configuration_errors_name_the_field) {
  rtlm::sim::simulation_config config;
  rtlm::sim::trace t;
  try {
    (void)rtlm::sim::simulate(t, config);
    ADD_FAILURE();
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "simulation_config.backends");
  }
  rtlm::test::linear_estimator e;
  config.backends = {single_server(e)};
  config.deadlines.slack = -1;
  try {
    (void)rtlm::sim::simulate(t, config);
    ADD_FAILURE();
  } catch (const rtlm::error& err) {
    EXPECT_EQ(err.field(), "deadline_rule.slack");
  }
}

TEST(simulation, a_bad_prediction_is_refused_with_its_request_and_field) {
  rtlm::test::linear_estimator e;
  rtlm::sim::simulation_config config;
  config.backends = {single_server(e)};
  config.predict = [](std::size_t i, const rtlm::sim::trace_request&) {
    // The second request's bound claims a coverage of 1: no calibrated bound has that.
    return std::optional<rtlm::length_estimate>(rtlm::length_estimate{
        .mean_tokens = 5, .upper_bound = 9_tok, .bound_coverage = i == 1 ? 1.0 : 0.9});
  };
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 10_tok, .output = 5_tok},
                {.arrival = 1.0, .prompt = 10_tok, .output = 5_tok}};
  try {
    (void)rtlm::sim::simulate(t, config);
    ADD_FAILURE() << "a coverage of 1 was accepted";
  } catch (const rtlm::error& err) {
    EXPECT_EQ(err.field(), "trace request 1: request.predicted_length.bound_coverage");
    EXPECT_EQ(err.value(), "1");
    EXPECT_EQ(err.requirement(), "must be in (0, 1)");
  }
}

// The field of the rtlm::error that simulate(t, config) throws ("" when it throws none).
std::string refusal_of(const rtlm::sim::trace& t, const rtlm::sim::simulation_config& config) {
  try {
    (void)rtlm::sim::simulate(t, config);
  } catch (const rtlm::error& e) {
    return e.field() + " = " + e.value() + ": " + e.requirement();
  }
  return "";
}

TEST(simulation, times_beyond_the_clocks_bound_are_refused_naming_the_request) {
  // The clock counts int64 nanoseconds (9.2e9 s); rtlm bounds absolute times to 4e9 s and
  // durations to 1e9 s. Beyond them a time once wrapped around into garbage with no error.
  rtlm::test::linear_estimator e;
  rtlm::sim::simulation_config config;
  config.backends = {single_server(e)};
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 10_tok, .output = 5_tok},
                {.arrival = 1e10, .prompt = 10_tok, .output = 5_tok}};
  EXPECT_THAT(refusal_of(t, config),
              testing::StartsWith("trace request 1: arrival = 10000000000: must be seconds in "
                                  "[0, 4e9]"));
  t.requests[1].arrival = std::nan("");
  EXPECT_THAT(refusal_of(t, config), testing::StartsWith("trace request 1: arrival = nan"));
  t.requests[1].arrival = 4e9 - 100.0;  // within the bound, with time to finish
  EXPECT_EQ(refusal_of(t, config), "");
  t.requests[1].arrival = 4e9;  // valid, but its steps would take the clock past 4e9 s
  EXPECT_THAT(refusal_of(t, config), testing::StartsWith("simulation clock = "));
  t.requests[0].arrival = 2.0;  // out of order
  t.requests[1].arrival = 1.0;
  EXPECT_EQ(refusal_of(t, config),
            "trace request 1: arrival = 1: must not be before the previous request's (2)");
  t.requests[0].arrival = 0.0;
  t.requests[1].output = 0_tok;
  EXPECT_EQ(refusal_of(t, config), "trace request 1: output = 0: must be >= 1");
  t.requests[1].output = 5_tok;

  // A deadline more than 1e9 s after its arrival, or beyond 4e9 s.
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::slo;
  config.deadlines.ttft = rtlm::seconds(1e9);
  config.deadlines.tpot = rtlm::seconds(1.0);
  EXPECT_THAT(refusal_of(t, config), testing::StartsWith("trace request 0: deadline = "));
  config.deadlines.ttft = rtlm::seconds(1.0);
  t.requests[1].arrival = 4e9 - 2.0;
  EXPECT_THAT(refusal_of(t, config), testing::StartsWith("trace request 1: deadline = "));
  t.requests[1].arrival = 1.0;
  EXPECT_EQ(refusal_of(t, config), "");
  // A rule whose own numbers are out of range is refused before anything runs.
  config.deadlines.ttft = rtlm::seconds(2e9);
  EXPECT_EQ(refusal_of(t, config), "deadline_rule.ttft = 2000000000: must be at most 1e9 seconds");
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::slack;
  config.deadlines.slack = 1e300;
  EXPECT_EQ(refusal_of(t, config), "deadline_rule.slack = 1e+300: must be at most 1e9");
}

TEST(simulation, a_clock_that_would_pass_the_bound_is_an_error) {
  // Steps of 5e8 s (valid: the step-result check allows up to 1e9 s), one request at a time: the
  // ninth step would end beyond 4e9 s.
  rtlm::test::linear_estimator e;
  e.prefill_fixed = 5e8;
  e.prefill_per_token = 0.0;
  rtlm::sim::simulation_config config;
  config.backends = {single_server(e)};
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  rtlm::sim::trace t;
  for (int i = 0; i < 10; ++i)
    t.requests.push_back({.arrival = 0.0, .prompt = 1_tok, .output = 1_tok});
  EXPECT_THAT(refusal_of(t, config),
              testing::StartsWith("simulation clock = 4500000000 s: must stay"));
  t.requests.resize(8);
  EXPECT_EQ(refusal_of(t, config), "");
}

TEST(sim_svg_plot, a_full_disk_is_an_error_naming_the_file_and_the_reason) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  rtlm::sim::svg_plot plot("x", "y");
  plot.add_series("a", {{0.0, 1.0}, {1.0, 2.0}});
  try {
    plot.write("/dev/full", "title");
    ADD_FAILURE() << "a write to /dev/full succeeded";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.value(), "/dev/full");
    EXPECT_EQ(e.requirement(), "cannot be written: No space left on device");
  }
}

TEST(simulation_mix, classes_and_tenants_are_drawn_per_request_the_same_for_every_policy) {
  rtlm::test::linear_estimator e;
  rtlm::sim::simulation_config config;
  config.backends = {single_server(e)};
  config.backends[0].config.capabilities.max_batch_size = 8;
  config.scheduler.slo.classes = {
      {.name = "chat", .ttft = rtlm::seconds(0.5), .tpot = rtlm::seconds(0.05)},
      {.name = "batch", .time_budget = rtlm::seconds(600.0)}};
  config.mix = {.class_shares = {0.3, 0.7}, .tenant_shares = {10.0, 1.0}, .seed = 3};
  const rtlm::sim::trace t = poisson_trace(4000, 50.0, 10_tok, 4_tok, 5);
  const rtlm::sim::simulation_result a = rtlm::sim::simulate(t, config);
  config.scheduler.policy = rtlm::policy_kind::earliest_deadline_first;
  const rtlm::sim::simulation_result b = rtlm::sim::simulate(t, config);
  std::size_t chat = 0;
  std::size_t light = 0;
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    const rtlm::sim::request_record& r = a.records[i];
    ASSERT_EQ(r.slo_class, b.records[i].slo_class);
    ASSERT_EQ(r.tenant, b.records[i].tenant);
    if (r.slo_class == 0) {
      ++chat;
      EXPECT_EQ(r.ttft_target, 0.5);  // the class's defaults, recorded
      EXPECT_EQ(r.tpot_target, 0.05);
      EXPECT_TRUE(std::isnan(r.deadline));
    } else {
      ASSERT_EQ(r.slo_class, 1U);
      EXPECT_TRUE(std::isnan(r.ttft_target));
      EXPECT_NEAR(r.deadline, r.arrival + 600.0, 1e-6);  // the clock keeps nanoseconds
    }
    light += r.tenant;
  }
  // 4,000 draws: the shares within 4 standard errors.
  EXPECT_NEAR(static_cast<double>(chat) / 4000.0, 0.3, 4 * std::sqrt(0.3 * 0.7 / 4000));
  EXPECT_NEAR(static_cast<double>(light) / 4000.0, 1.0 / 11.0, 4 * std::sqrt(10.0 / 121.0 / 4000));
}

TEST(simulation_mix, a_bad_share_or_too_many_tenants_is_named) {
  const auto field_of = [](const rtlm::sim::request_mix& m, std::size_t classes) {
    try {
      m.validate(classes);
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return std::string("none");
  };
  EXPECT_EQ(field_of({.class_shares = {0.5, -1.0}}, 2), "request_mix.class_shares[1]");
  EXPECT_EQ(field_of({.class_shares = {0.5, 0.5}}, 1), "request_mix.class_shares");
  EXPECT_EQ(field_of({.class_shares = {0.0, 0.0}}, 2), "request_mix.class_shares");
  EXPECT_EQ(field_of({.tenant_shares = {1.0, std::nan("")}}, 0), "request_mix.tenant_shares[1]");
  EXPECT_EQ(field_of({.tenant_shares = std::vector<double>(65, 1.0)}, 0),
            "request_mix.tenant_shares");
  EXPECT_EQ(field_of({.class_shares = {1.0}, .tenant_shares = {2.0, 1.0}}, 1), "none");
}

TEST(simulation_mix, vtc_gives_a_flooded_light_tenant_its_share) {
  // Two tenants at 10:1 demand, twice what one request at a time serves: FCFS serves them in
  // proportion to demand, VTC the light tenant all it asks (max-min fair).
  rtlm::test::linear_estimator e;
  rtlm::sim::simulation_config config;
  config.scheduler.policy = rtlm::policy_kind::first_come_first_served;
  config.backends = {single_server(e)};
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  config.mix = {.tenant_shares = {10.0, 1.0}, .seed = 1};
  // Each request: a 10 ms + 1 ms prefill, then 9 decodes of 10.5 ms: about 0.1 s, so 20 per
  // second is twice the capacity.
  const rtlm::sim::trace t = poisson_trace(2000, 20.0, 10_tok, 10_tok, 9);
  const double window = t.requests.back().arrival;
  const auto jain = [&](std::size_t tenants) {
    config.scheduler.fairness.tenants = tenants;
    const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config);
    return rtlm::sim::fairness_of(r, 1.0, 2.0, window).jain;
  };
  const double fcfs = jain(0);
  const double vtc = jain(2);
  EXPECT_LT(fcfs, 0.9);
  EXPECT_GT(vtc, 0.99);
}

}  // namespace
