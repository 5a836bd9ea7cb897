// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Speed of the scheduler (docs/scheduling.md; docs/methods.md, 'Speed benchmarks').
//
// Intake (target >= 5 million submits/s in aggregate from 2 threads):
// - BM_intake_submit_then_drain: one thread submits a batch and drains it, as a scheduler
//   step would see it; items = requests through the intake.
// - BM_intake_submit_concurrent/threads:N: N producer threads submit while a background thread
//   drains continuously (as the scheduler would); items = accepted submits, over wall time.
//   A submit refused as queue_full is retried and counted once, when accepted.
//
// Step planning (target <= 20 us per plan with 256 running and 10,000 waiting, every policy):
// - BM_plan_step/<policy>: rtlm::scheduler::plan_step() on one backend with the estimator
//   fitted to the committed H100 Llama-3.1-8B profile; 256 requests run, 10,000 wait, a third
//   carry deadlines. Between timed plans the step completes (about 8 requests finish) and as
//   many new requests are submitted, so each plan also takes in, places and admits ~8
//   requests. Manual time: only plan_step() is timed.
// - BM_plan_step_fixed_fcfs: the same with FCFS as a compile-time policy (basic_scheduler).
// - BM_plan_step_slo: the same under R5's scheduling (docs/scheduling.md, "Service-level
//   objectives"): least laxity on TTFT slack, steps planned to the TPOT targets, relegation,
//   and VTC between 4 tenants; 3 requests in 10 interactive (TTFT 0.5 s, TPOT 50 ms), the
//   rest batch (600 s).
// - BM_priority_queue_fcfs_baseline: the least a step plan can do with std::priority_queue:
//   list the 256 running as decodes, retire ~8, pop ~8 admissions, push ~8 arrivals.

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/schedule/request_intake.hpp"
#include "rtlm/schedule/scheduler.hpp"

namespace {

// A cheap request: no prompt text, so the intake is measured, not a string allocation.
rtlm::request make_request(std::uint64_t id) {
  rtlm::request r;
  r.id = rtlm::request_id{id};
  r.prompt_tokens = rtlm::tokens(512);
  return r;
}

void BM_intake_submit_then_drain(benchmark::State& state) {
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  rtlm::request_intake intake(static_cast<std::size_t>(batch));
  std::uint64_t id = 0;
  std::uint64_t drained = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    for (std::uint64_t i = 0; i < batch; ++i) {
      rtlm::request r = make_request(id++);
      benchmark::DoNotOptimize(intake.submit(r));
    }
    drained += intake
                   .drain([](rtlm::request&& r) noexcept { benchmark::DoNotOptimize(r.id); },
                          [](rtlm::request_id) noexcept {})
                   .requests;
  }
  if (drained != static_cast<std::size_t>(state.iterations()) * batch)
    state.SkipWithError("a request was lost");
  state.SetItemsProcessed(static_cast<std::int64_t>(drained));
}
BENCHMARK(BM_intake_submit_then_drain)->Arg(1)->Arg(64)->Arg(1024);

// Shared by the producer threads of one BM_intake_submit_concurrent run; set up and torn down by
// thread 0 (Google Benchmark starts and stops the threads' loops together).
struct concurrent_fixture {
  rtlm::request_intake intake{std::size_t{1} << 16};
  std::atomic<bool> stop{false};
  std::thread drainer;
};
std::unique_ptr<concurrent_fixture> fixture;

void BM_intake_submit_concurrent(benchmark::State& state) {
  if (state.thread_index() == 0) {
    fixture = std::make_unique<concurrent_fixture>();
    fixture->drainer = std::thread([f = fixture.get()] {
      while (!f->stop.load(std::memory_order_relaxed)) {
        const rtlm::drain_counts c =
            f->intake.drain([](rtlm::request&& r) noexcept { benchmark::DoNotOptimize(r.id); },
                            [](rtlm::request_id) noexcept {});
        if (c.requests == 0) std::this_thread::yield();
      }
    });
  }
  // Distinct ids per thread: the thread index in the top bits.
  std::uint64_t id = static_cast<std::uint64_t>(state.thread_index()) << 48U;
  std::int64_t full = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    rtlm::request r = make_request(id++);
    while (fixture->intake.submit(r) != rtlm::submit_status::accepted) {
      ++full;
      std::this_thread::yield();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["queue_full_retries"] =
      benchmark::Counter(static_cast<double>(full), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    fixture->stop.store(true, std::memory_order_relaxed);
    fixture->drainer.join();
    fixture.reset();
  }
}
BENCHMARK(BM_intake_submit_concurrent)->Threads(1)->Threads(2)->UseRealTime();

// Two producer threads submit 65,536 requests each, started together, into an intake with room
// for all of them (argument: its shards); the scheduler's drain runs after the timed part. This
// is the producer side that host threads see: submits per second in aggregate, over the wall
// time of both threads.
void BM_intake_two_producers(benchmark::State& state) {
  constexpr std::uint64_t per_thread = 65'536;
  rtlm::request_intake intake(2 * per_thread, 1024, static_cast<std::size_t>(state.range(0)));
  std::uint64_t id = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::atomic<std::uint64_t> refused{0};
    const auto produce = [&](std::uint64_t first) {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      std::uint64_t full = 0;
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        rtlm::request r = make_request(first + i);
        if (intake.submit(r) != rtlm::submit_status::accepted) ++full;
      }
      refused.fetch_add(full);
    };
    std::thread a(produce, id);
    std::thread b(produce, id + per_thread);
    while (ready.load() < 2) {
    }
    const auto start = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    a.join();
    b.join();
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    id += 2 * per_thread;
    const rtlm::drain_counts c =
        intake.drain([](rtlm::request&&) noexcept {}, [](rtlm::request_id) noexcept {});
    if (refused.load() != 0 || c.requests != 2 * per_thread) {
      state.SkipWithError("a submit was refused or a request lost");
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(2 * per_thread));
}
BENCHMARK(BM_intake_two_producers)->Arg(1)->Arg(2)->UseManualTime();

constexpr std::size_t running_target = 256;
constexpr std::size_t waiting_target = 10'000;

const rtlm::fitted_roofline_estimator& h100_estimator() {
  static const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
      rtlm::step_featurizer{rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                            rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())},
      rtlm::load_profile_csv(RTLM_BENCHMARK_DATA_DIR "/profiles/h100_llama-3.1-8b.csv"));
  return fit.estimator;
}

// A backend the benchmark never executes: it only declares what a large H100 deployment can do.
class declared_backend final : public rtlm::model_backend {
 public:
  declared_backend() {
    caps_.name = "h100";
    caps_.kv_capacity = rtlm::tokens(std::int64_t{1} << 40);
    caps_.max_batch_size = static_cast<int>(running_target);
    caps_.max_step_tokens = rtlm::tokens(8192);
    caps_.can_chunk_prefill = true;
    caps_.can_evict_kv = true;
    caps_.can_preempt_recompute = true;
    caps_.can_preempt_swap = true;
  }
  const rtlm::backend_capabilities& capabilities() const noexcept override { return caps_; }

 private:
  void run_step(const rtlm::step_plan& /*plan*/, rtlm::step_result& /*result*/) override {}
  rtlm::backend_capabilities caps_;
};

rtlm::request bench_request(std::uint64_t id, rtlm::time_point now, bool classes) {
  rtlm::request r;
  r.id = rtlm::request_id{id};
  r.arrival = now;
  r.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(16 + (id * 7919) % 1024));
  const auto mean = static_cast<double>(20 + (id * 104729) % 600);
  r.predicted_length =
      rtlm::length_estimate{.mean_tokens = mean,
                            .upper_bound = rtlm::tokens(static_cast<rtlm::tokens::rep>(2 * mean)),
                            .bound_coverage = 0.9,
                            .uncertainty = 0.1 * static_cast<double>(id % 10)};
  if (id % 3 == 0) r.deadline = now + std::chrono::seconds(30 + id % 60);
  if (classes) {
    r.slo_class = id % 10 < 3 ? 0 : 1;
    r.tenant = static_cast<std::uint32_t>(id % 4);
  }
  return r;
}

// The outcome of `plan` as a backend would report it: every sequence makes a token; about one
// decode in 32 finishes.
void synthesize(const rtlm::step_plan& plan, rtlm::step_result& result, std::uint64_t step) {
  result.clear();
  for (const rtlm::prefill_assignment& p : plan.prefills) {
    result.outcomes.push_back(
        {.id = p.id, .generated = rtlm::tokens(p.final_chunk ? 1 : 0), .finished = false});
  }
  for (const rtlm::decode_assignment& d : plan.decodes) {
    const bool done = (rtlm::to_integer(d.id) + step) % 32 == 0;
    result.outcomes.push_back({.id = d.id, .generated = rtlm::tokens(1), .finished = done});
  }
  result.step_time = rtlm::seconds(0.02);
}

template <class Scheduler>
void run_plan_benchmark(benchmark::State& state, Scheduler& s, bool classes = false) {
  declared_backend backend;
  s.add_backend(backend, h100_estimator());
  rtlm::time_point now{};
  std::uint64_t next_id = 0;
  rtlm::step_result result;
  result.outcomes.reserve(2 * running_target);
  std::uint64_t step = 0;
  // Keeps the scheduler at 256 running + 10,000 waiting: submits what finished (the next plan
  // takes them in), plus 8 so that each plan also places and admits new requests.
  const auto top_up = [&] {
    for (std::size_t k = 0; k + s.live_requests() < running_target + waiting_target + 8; ++k) {
      rtlm::request r = bench_request(next_id++, now, classes);
      if (s.submit(r) != rtlm::submit_status::accepted) break;
    }
  };
  for (int i = 0; i < 200; ++i) {  // warm-up: fill the queue and the batch
    top_up();
    synthesize(s.plan_step(0, now), result, step++);
    s.complete_step(0, rtlm::step_status::ok, result, now);
    now += std::chrono::milliseconds(20);
  }
  std::size_t admitted = 0;
  std::size_t running_sum = 0;
  std::size_t waiting_sum = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    top_up();
    const auto start = std::chrono::steady_clock::now();
    const rtlm::step_plan& plan = s.plan_step(0, now);
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    admitted += plan.prefills.size();
    running_sum += s.running(0);
    waiting_sum += s.waiting(0);
    synthesize(plan, result, step++);
    s.complete_step(0, rtlm::step_status::ok, result, now);
    now += std::chrono::milliseconds(20);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["running"] = static_cast<double>(running_sum) / n;
  state.counters["waiting"] = static_cast<double>(waiting_sum) / n;
  state.counters["prefills"] = static_cast<double>(admitted) / n;
}

rtlm::scheduler_config bench_config(rtlm::policy_kind kind) {
  rtlm::scheduler_config c;
  c.policy = kind;
  c.consolidate = true;  // the costlier path: every plan with a deadline at stake checks it
  c.max_requests = 16384;
  c.intake_capacity = 16384;
  return c;
}

void BM_plan_step(benchmark::State& state, rtlm::policy_kind kind) {
  rtlm::scheduler s(bench_config(kind));
  run_plan_benchmark(state, s);
}
BENCHMARK_CAPTURE(BM_plan_step, first_come_first_served, rtlm::policy_kind::first_come_first_served)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, priority_classes, rtlm::policy_kind::priority_classes)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, earliest_deadline_first, rtlm::policy_kind::earliest_deadline_first)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, shortest_prompt_first, rtlm::policy_kind::shortest_prompt_first)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, shortest_predicted_first,
                  rtlm::policy_kind::shortest_predicted_first)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, shortest_predicted_remaining,
                  rtlm::policy_kind::shortest_predicted_remaining)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, least_laxity_first, rtlm::policy_kind::least_laxity_first)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, uncertainty_aware_priority,
                  rtlm::policy_kind::uncertainty_aware_priority)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, gittins_index, rtlm::policy_kind::gittins_index)->UseManualTime();
BENCHMARK_CAPTURE(BM_plan_step, tail_inflated_expectation,
                  rtlm::policy_kind::tail_inflated_expectation)
    ->UseManualTime();

void BM_plan_step_fixed_fcfs(benchmark::State& state) {
  rtlm::basic_scheduler<rtlm::first_come_first_served> s(
      rtlm::first_come_first_served{}, bench_config(rtlm::policy_kind::first_come_first_served));
  run_plan_benchmark(state, s);
}
BENCHMARK(BM_plan_step_fixed_fcfs)->UseManualTime();

void BM_plan_step_slo(benchmark::State& state) {
  rtlm::scheduler_config c = bench_config(rtlm::policy_kind::least_laxity_first);
  c.slo.classes = {{.name = "interactive", .ttft = rtlm::seconds(0.5), .tpot = rtlm::seconds(0.05)},
                   {.name = "batch", .time_budget = rtlm::seconds(600.0)}};
  c.slo.relegation = rtlm::relegation_mode::demote;
  c.slo.tpot_budget = true;
  c.slo.ttft_first = true;
  c.fairness.tenants = 4;
  rtlm::scheduler s(c);
  run_plan_benchmark(state, s, true);
}
BENCHMARK(BM_plan_step_slo)->UseManualTime();

void BM_priority_queue_fcfs_baseline(benchmark::State& state) {
  using entry = std::pair<std::int64_t, std::uint64_t>;  // (arrival ns, id), earliest on top
  std::priority_queue<entry, std::vector<entry>, std::greater<>> waiting;
  std::vector<std::uint64_t> running;
  std::vector<rtlm::decode_assignment> decodes;
  std::vector<std::uint64_t> admitted;
  running.reserve(running_target);
  decodes.reserve(running_target);
  admitted.reserve(running_target);
  std::uint64_t next_id = 0;
  std::int64_t now = 0;
  for (std::size_t i = 0; i < waiting_target; ++i) waiting.emplace(now, next_id++);
  while (running.size() < running_target) {
    running.push_back(waiting.top().second);
    waiting.pop();
  }
  std::uint64_t step = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    const auto start = std::chrono::steady_clock::now();
    decodes.clear();
    std::size_t kept = 0;
    for (const std::uint64_t id : running) {  // retire the finished, list the rest
      if ((id + step) % 32 == 0) continue;
      running[kept++] = id;
      decodes.push_back({.id = rtlm::request_id{id}, .kv_length = rtlm::tokens(512)});
    }
    running.resize(kept);
    admitted.clear();
    while (running.size() < running_target && !waiting.empty()) {
      admitted.push_back(waiting.top().second);
      running.push_back(waiting.top().second);
      waiting.pop();
    }
    for (std::size_t k = 0; k < admitted.size(); ++k) waiting.emplace(now, next_id++);
    benchmark::DoNotOptimize(decodes.data());
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    ++step;
    now += 20'000'000;
  }
}
BENCHMARK(BM_priority_queue_fcfs_baseline)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
