// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Speed of the time-budget solver (docs/time-budget.md): one solve, closed form and numeric,
// over a spread of prompts, length bounds and budgets, plus an in-flight replan and the table
// build. Solves sit on the per-request path; the table is built once per estimator.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

const rtlm::profile& measured() {
  static const rtlm::profile p =
      rtlm::load_profile_csv(RTLM_BENCHMARK_DATA_DIR "/profiles/h100_llama-3.1-8b.csv");
  return p;
}

const rtlm::fitted_roofline_estimator& rtlm_model() {
  static const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
      rtlm::step_featurizer{rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                            rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())},
      measured());
  return fit.estimator;
}

const rtlm::time_budget_solver& solver() {
  static const rtlm::time_budget_solver s(rtlm_model(), {.level = 0.99});
  return s;
}

// 1024 problems mixing the solver's outcomes: no eviction, some, and infeasible.
const std::vector<rtlm::time_budget_problem>& problems() {
  static const std::vector<rtlm::time_budget_problem> all = [] {
    std::vector<rtlm::time_budget_problem> v;
    v.reserve(1024);
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::int64_t> prompt(16, 32000);
    std::uniform_int_distribution<std::int64_t> bound(2, 4000);
    std::uniform_real_distribution<double> budget(1.0, 40.0);
    for (int i = 0; i < 1024; ++i) {
      rtlm::time_budget_problem p;
      p.budget = rtlm::seconds(budget(rng));
      p.prompt_tokens = rtlm::tokens(prompt(rng));
      p.length_bound = rtlm::tokens(bound(rng));
      v.push_back(p);
    }
    return v;
  }();
  return all;
}

void timebill_closed_form_solve(benchmark::State& state) {
  const rtlm::timebill_coefficients c = rtlm::fit_timebill_estimator(measured()).coefficients();
  const auto& p = problems();
  std::size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(rtlm::solve_time_budget(c, p[i]));
    i = (i + 1) & 1023U;
  }
}
BENCHMARK(timebill_closed_form_solve);

void rtlm_numeric_solve(benchmark::State& state) {
  const rtlm::time_budget_solver& s = solver();
  const auto& p = problems();
  std::size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(s.solve(p[i]));
    i = (i + 1) & 1023U;
  }
}
BENCHMARK(rtlm_numeric_solve);

void rtlm_best_effort_solve(benchmark::State& state) {
  const rtlm::time_budget_solver& s = solver();
  const auto& p = problems();
  rtlm::length_distribution d;
  std::vector<double> edges;
  std::vector<double> probability;
  edges.reserve(65);
  probability.reserve(64);
  for (int k = 0; k <= 64; ++k) edges.push_back(64.0 * k);
  for (int k = 0; k < 64; ++k) probability.push_back(1.0 + k % 7);
  d.assign(edges, probability);
  std::size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(s.solve_best_effort(p[i], d));
    i = (i + 1) & 1023U;
  }
}
BENCHMARK(rtlm_best_effort_solve);

void in_flight_replan(benchmark::State& state) {
  const rtlm::request_time_table& t = solver().table();
  std::int64_t kv = 100;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(rtlm::replan_at_checkpoint(t, {.remaining = rtlm::seconds(5.0),
                                                            .kv_tokens = rtlm::tokens(kv),
                                                            .remaining_bound = rtlm::tokens(700),
                                                            .min_kv_tokens = rtlm::tokens(64),
                                                            .can_evict = true}));
    kv = kv % 30000 + 397;
  }
}
BENCHMARK(in_flight_replan);

void request_time_table_build(benchmark::State& state) {
  const rtlm::fitted_roofline_estimator& e = rtlm_model();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(rtlm::request_time_table(e, {.level = 0.99}));
  }
}
BENCHMARK(request_time_table_build)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
